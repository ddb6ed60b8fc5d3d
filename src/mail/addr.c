/* addr: RFC 5321 §4.1.2 Path / Mailbox parser with RFC 6531 UTF-8.
 *
 * Strict where the RFC is clear, real-world where it is not:
 *  - local part up to MAIL_LOCAL_MAX (255) octets, not 64 (SRS, VERP);
 *  - an empty local part ("" quoted) is refused, so is a trailing dot on
 *    the domain and any General-address-literal ("[tag:...]");
 *  - the obsolete source route "@a,@b:" is syntax-checked and dropped
 *    (RFC 5321 §4.1.1.3, Appendix C).
 * The parser works on (pointer, length): NUL and control bytes are plain
 * invalid characters, never terminators. */
#include "mail/addr.h"

#include <arpa/inet.h>
#include <string.h>

#include "lib/str.h"

struct addr_cursor {
	const unsigned char *s;
	size_t len;
	size_t pos;
	unsigned flags;
	const char *error;
	bool utf8;		/* saw a non-ASCII sequence */
};

/* Longest address literal content we look at ("IPv6:" + an IPv6 text). */
#define ADDR_LITERAL_MAX 64

static int addr_fail(struct addr_cursor *c, const char *error)
{
	c->error = error;
	return -1;
}

static bool addr_is_let_dig(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/* RFC 5322 §3.2.3 atext. */
static bool addr_is_atext(unsigned char ch)
{
	if (addr_is_let_dig(ch))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

static bool addr_is_cont(unsigned char ch)
{
	return (ch & 0xC0) == 0x80;
}

/* RFC 3629 §4 UTF8-2 / UTF8-3 / UTF8-4, with the exact second-octet ranges
 * that exclude overlong forms, surrogates and code points over U+10FFFF. */
size_t mail_utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (!addr_is_cont(p[i]))
			return 0;
	return need;
}

/* Accept one UTF-8 sequence at the cursor (RFC 6531 §3.3 UTF8-non-ascii);
 * returns its length or 0 with c->error set. */
static size_t addr_take_utf8(struct addr_cursor *c)
{
	size_t k;

	if (!(c->flags & MAIL_ADDR_ALLOW_UTF8)) {
		c->error = "Non-ASCII address requires SMTPUTF8";
		return 0;
	}
	k = mail_utf8_seq_len(c->s + c->pos, c->len - c->pos);
	if (k == 0)
		c->error = "Invalid UTF-8 in address";
	else
		c->utf8 = true;
	return k;
}

static int addr_local_put(struct addr_cursor *c, struct mail_addr *out,
			  size_t *n, const unsigned char *p, size_t k)
{
	if (*n + k > MAIL_LOCAL_MAX)
		return addr_fail(c, "Local part too long");
	memcpy(out->local + *n, p, k);
	*n += k;
	out->local[*n] = '\0';
	return 0;
}

/* RFC 5321 §4.1.2 Dot-string = Atom *("." Atom) */
static int addr_dot_string(struct addr_cursor *c, struct mail_addr *out)
{
	size_t n = 0, k;
	bool need_atom = true;

	while (c->pos < c->len) {
		unsigned char ch = c->s[c->pos];

		if (ch == '.' && need_atom)
			return addr_fail(c, "Invalid dot in local part");
		if (ch == '.' || addr_is_atext(ch))
			k = 1;
		else if (ch < 0x80)
			break;
		else if ((k = addr_take_utf8(c)) == 0)
			return -1;
		if (addr_local_put(c, out, &n, c->s + c->pos, k) < 0)
			return -1;
		need_atom = ch == '.';
		c->pos += k;
	}
	if (n == 0)
		return addr_fail(c, "Empty local part");
	if (need_atom)
		return addr_fail(c, "Invalid dot in local part");
	return 0;
}

/* RFC 5321 §4.1.2 Quoted-string: qtextSMTP / quoted-pairSMTP (%d92 %d32-126) */
static int addr_quoted(struct addr_cursor *c, struct mail_addr *out)
{
	size_t n = 0, k;

	c->pos++;
	while (c->pos < c->len) {
		unsigned char ch = c->s[c->pos];

		if (ch == '"') {
			c->pos++;
			return n == 0 ? addr_fail(c, "Empty local part") : 0;
		}
		if (ch == '\\') {
			if (c->pos + 1 >= c->len || c->s[c->pos + 1] < 32 ||
			    c->s[c->pos + 1] > 126)
				return addr_fail(c, "Invalid quoted-pair in local part");
			c->pos++;
			k = 1;
		} else if (ch >= 32 && ch <= 126) {
			k = 1;
		} else if (ch < 0x80) {
			return addr_fail(c, "Invalid character in quoted local part");
		} else if ((k = addr_take_utf8(c)) == 0) {
			return -1;
		}
		if (addr_local_put(c, out, &n, c->s + c->pos, k) < 0)
			return -1;
		c->pos += k;
	}
	return addr_fail(c, "Unterminated quoted local part");
}

static int addr_local(struct addr_cursor *c, struct mail_addr *out)
{
	if (c->pos < c->len && c->s[c->pos] == '"')
		return addr_quoted(c, out);
	return addr_dot_string(c, out);
}

/* RFC 5321 §2.3.5 Domain: sub-domain = Let-dig [Ldh-str], labels <= 63,
 * RFC 1035 total <= 253 in text form; RFC 6531 §3.3 allows U-labels
 * (checked here as valid UTF-8 only; IDNA rules are the resolver's). */
static bool addr_domain_valid_n(const unsigned char *d, size_t n, bool utf8)
{
	size_t label = 0, k;

	if (n == 0 || n > MAIL_HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i += k) {
		unsigned char ch = d[i];

		k = 1;
		if (ch == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (ch >= 0x80) {
			if (!utf8 || (k = mail_utf8_seq_len(d + i, n - i)) == 0)
				return false;
		} else if (ch == '-') {
			if (label == 0)
				return false;
		} else if (!addr_is_let_dig(ch)) {
			return false;
		}
		label += k;
		if (label > MAIL_LABEL_MAX)
			return false;
	}
	return label > 0 && d[n - 1] != '-';
}

bool mail_domain_valid(const char *domain, bool allow_utf8)
{
	return addr_domain_valid_n((const unsigned char *)domain,
				   strlen(domain), allow_utf8);
}

/* RFC 5321 §4.1.3 address-literal; d includes the brackets. Returns NULL
 * when valid, else the reason. */
static const char *addr_literal_check(const unsigned char *d, size_t n)
{
	char tmp[ADDR_LITERAL_MAX + 1];
	unsigned char bin[16];
	size_t inner;

	if (n < 3 || d[n - 1] != ']' || n - 2 > ADDR_LITERAL_MAX)
		return "Invalid address literal";
	inner = n - 2;
	memcpy(tmp, d + 1, inner);
	tmp[inner] = '\0';
	if (memchr(tmp, '\0', inner) != NULL)
		return "Invalid address literal";
	if (str_nieq(tmp, "IPv6:", 5))
		return inet_pton(AF_INET6, tmp + 5, bin) == 1 ?
			NULL : "Invalid IPv6 address literal";
	if (strchr(tmp, ':') != NULL)
		return "Unsupported address literal";
	return inet_pton(AF_INET, tmp, bin) == 1 ?
		NULL : "Invalid IPv4 address literal";
}

/* A hostname domain; non-ASCII needs ALLOW_UTF8 (reported as such). */
static int addr_hostname(struct addr_cursor *c, const unsigned char *d, size_t n)
{
	bool utf8 = false;

	for (size_t i = 0; i < n; i++)
		utf8 |= d[i] >= 0x80;
	if (utf8 && !(c->flags & MAIL_ADDR_ALLOW_UTF8))
		return addr_fail(c, "Non-ASCII address requires SMTPUTF8");
	if (!addr_domain_valid_n(d, n, utf8))
		return addr_fail(c, "Invalid domain");
	c->utf8 |= utf8;
	return 0;
}

/* The domain part: everything from the cursor up to `stop` (or the end of
 * input when stop is '\0'). */
static int addr_domain(struct addr_cursor *c, struct mail_addr *out, char stop)
{
	const unsigned char *d = c->s + c->pos;
	size_t n = 0;
	const char *err;

	while (c->pos + n < c->len && (stop == '\0' || d[n] != stop))
		n++;
	if (n == 0)
		return addr_fail(c, "Missing domain");
	if (n > MAIL_DOMAIN_MAX || (d[0] != '[' && n > MAIL_HOSTNAME_MAX))
		return addr_fail(c, "Domain too long");
	if (d[0] == '[') {
		if ((err = addr_literal_check(d, n)) != NULL)
			return addr_fail(c, err);
		out->literal = true;
	} else if (addr_hostname(c, d, n) < 0) {
		return -1;
	}
	memcpy(out->domain, d, n);
	out->domain[n] = '\0';
	c->pos += n;
	return 0;
}

/* RFC 5321 §4.1.2 A-d-l = At-domain *( "," At-domain ) ":" — checked, ignored. */
static int addr_source_route(struct addr_cursor *c)
{
	for (;;) {
		size_t start, n = 0;

		if (c->pos >= c->len || c->s[c->pos] != '@')
			return addr_fail(c, "Invalid source route");
		start = ++c->pos;
		while (c->pos < c->len && c->s[c->pos] != ',' &&
		       c->s[c->pos] != ':' && c->s[c->pos] != '>') {
			c->pos++;
			n++;
		}
		if (!addr_domain_valid_n(c->s + start, n,
					 c->flags & MAIL_ADDR_ALLOW_UTF8) ||
		    c->pos >= c->len || c->s[c->pos] == '>')
			return addr_fail(c, "Invalid source route");
		if (c->s[c->pos++] == ':')
			return 0;
	}
}

/* After the local part: "@" domain, or nothing when ALLOW_NODOMAIN. */
static int addr_after_local(struct addr_cursor *c, struct mail_addr *out,
			    char stop)
{
	bool at_end = c->pos >= c->len || (stop != '\0' && c->s[c->pos] == stop);

	if (at_end) {
		if (!(c->flags & MAIL_ADDR_ALLOW_NODOMAIN))
			return addr_fail(c, c->pos >= c->len && stop != '\0' ?
					 "Missing '>'" : "Missing domain");
		return 0;
	}
	if (c->s[c->pos] != '@')
		return addr_fail(c, "Invalid character in local part");
	c->pos++;
	return addr_domain(c, out, stop);
}

static void addr_cursor_init(struct addr_cursor *c, const char *s, size_t len,
			     unsigned flags)
{
	memset(c, 0, sizeof(*c));
	c->s = (const unsigned char *)s;
	c->len = len;
	c->flags = flags;
}

static int addr_done(struct addr_cursor *c, struct mail_addr *out, int ret,
		     const char **error_r)
{
	if (ret < 0) {
		if (error_r != NULL)
			*error_r = c->error;
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->utf8 = c->utf8;
	return 0;
}

/* RFC 5321 §4.1.2 Path = "<" [ A-d-l ":" ] Mailbox ">", Reverse-path also "<>". */
int mail_path_parse(const char *s, size_t len, unsigned flags,
		    struct mail_addr *out, size_t *end_r, const char **error_r)
{
	struct addr_cursor c;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	addr_cursor_init(&c, s, len, flags);
	if (len == 0 || s[0] != '<') {
		ret = addr_fail(&c, "Address must be in angle brackets");
		return addr_done(&c, out, ret, error_r);
	}
	c.pos = 1;
	if (len >= 2 && s[1] == '>') {
		if (!(flags & MAIL_ADDR_ALLOW_NULL))
			ret = addr_fail(&c, "Null address not allowed here");
		out->null = true;
		*end_r = 2;
		return addr_done(&c, out, ret, error_r);
	}
	if (c.pos < len && s[c.pos] == '@')
		ret = addr_source_route(&c);
	if (ret == 0)
		ret = addr_local(&c, out);
	if (ret == 0)
		ret = addr_after_local(&c, out, '>');
	if (ret == 0 && c.pos >= len)
		ret = addr_fail(&c, "Missing '>'");
	if (ret == 0)
		*end_r = c.pos + 1;
	return addr_done(&c, out, ret, error_r);
}

int mail_addr_parse(const char *s, size_t len, unsigned flags,
		    struct mail_addr *out, const char **error_r)
{
	struct addr_cursor c;
	int ret;

	memset(out, 0, sizeof(*out));
	addr_cursor_init(&c, s, len, flags);
	if (len == 0) {
		out->null = true;
		ret = (flags & MAIL_ADDR_ALLOW_NULL) ? 0 :
			addr_fail(&c, "Empty address");
		return addr_done(&c, out, ret, error_r);
	}
	ret = addr_local(&c, out);
	if (ret == 0)
		ret = addr_after_local(&c, out, '\0');
	return addr_done(&c, out, ret, error_r);
}

/* True when the unquoted local part can be written as a Dot-string. */
static bool addr_local_is_dot_string(const char *local)
{
	const unsigned char *p = (const unsigned char *)local;
	size_t n = strlen(local);

	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.' && p[i + 1] == '.')
			return false;
		if (p[i] != '.' && p[i] < 0x80 && !addr_is_atext(p[i]))
			return false;
	}
	return true;
}

void mail_addr_format(const struct mail_addr *a, struct buf *out)
{
	if (a->null)
		return;
	if (addr_local_is_dot_string(a->local)) {
		buf_appends(out, a->local);
	} else {
		buf_appendc(out, '"');
		for (const char *p = a->local; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_appendc(out, '\\');
			buf_appendc(out, *p);
		}
		buf_appendc(out, '"');
	}
	if (a->domain[0] != '\0') {
		buf_appendc(out, '@');
		buf_appends(out, a->domain);
	}
}
