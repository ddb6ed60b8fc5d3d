/* smtp_parse: SMTP command lines and MAIL/RCPT/BDAT/EHLO arguments.
 *
 * Leniency follows Postfix where RFC 5321 clients commonly deviate:
 * spaces after "FROM:"/"TO:", several spaces between parameters and
 * trailing spaces are accepted. A path without angle brackets
 * ("MAIL FROM:a@b") is refused (501 5.1.7), as RFC 5321 §4.1.2 requires. */
#include "smtp/smtp_parse.h"

#include <string.h>

#include "lib/str.h"

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_CMD_HELO }, { "EHLO", SMTP_CMD_EHLO },
	{ "MAIL", SMTP_CMD_MAIL }, { "RCPT", SMTP_CMD_RCPT },
	{ "DATA", SMTP_CMD_DATA }, { "BDAT", SMTP_CMD_BDAT },
	{ "RSET", SMTP_CMD_RSET }, { "NOOP", SMTP_CMD_NOOP },
	{ "QUIT", SMTP_CMD_QUIT }, { "HELP", SMTP_CMD_HELP },
	{ "VRFY", SMTP_CMD_VRFY }, { "EXPN", SMTP_CMD_EXPN },
	{ "STARTTLS", SMTP_CMD_STARTTLS }, { "AUTH", SMTP_CMD_AUTH },
};

static int smtp_fail(struct smtp_error *err, int code, const char *status,
		     const char *text)
{
	err->code = code;
	err->status = status;
	err->text = text;
	return -1;
}

#define SMTP_FAIL_SYNTAX(err) smtp_fail(err, 501, "5.5.4", "Syntax error in parameters")
#define SMTP_FAIL_VALUE(err) smtp_fail(err, 501, "5.5.4", "Invalid parameter value")

/* "MAIL FROM:" / "RCPT TO:": the keyword belongs to the verb (RFC 5321 §4.1.1.2-3). */
static void smtp_command_keyword(struct smtp_command *cmd, const char *kw)
{
	const char *a = cmd->arg;

	while (*a == ' ')
		a++;
	if (!str_iprefix(a, kw)) {
		/* arg "" so that a caller ignoring the flag still fails with 501 */
		cmd->syntax_error = true;
		cmd->arg = "";
		return;
	}
	a += strlen(kw);
	while (*a == ' ')
		a++;
	cmd->arg = a;
}

/* RFC 5321 §4.1.1: verb [SP argument]; verbs are case-insensitive. */
int smtp_command_parse(char *line, size_t len, struct smtp_command *cmd)
{
	size_t vlen;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = SMTP_CMD_UNKNOWN;
	cmd->verb_text = "";
	cmd->arg = "";
	if (len == 0 || memchr(line, '\0', len) != NULL)
		return -1;
	vlen = strcspn(line, " ");
	if (vlen == 0)
		return -1;
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)line[i] >= 0x80)
			return -1;
	if (line[vlen] == ' ') {
		line[vlen] = '\0';
		cmd->arg = line + vlen + 1;
	}
	cmd->verb_text = line;
	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (str_ieq(line, smtp_verbs[i].name))
			cmd->verb = smtp_verbs[i].verb;
	if (cmd->verb == SMTP_CMD_MAIL)
		smtp_command_keyword(cmd, "FROM:");
	else if (cmd->verb == SMTP_CMD_RCPT)
		smtp_command_keyword(cmd, "TO:");
	return 0;
}

static int smtp_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;	/* RFC says upper case; be liberal */
	return -1;
}

/* RFC 3461 §4: xtext = *( xchar / hexchar ), xchar = %d33-42 / %d44-60 / %d62-126,
 * hexchar = "+" 2HEXDIG. */
int smtp_xtext_decode(const char *in, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int hi, lo;

		if (c == '+') {
			if (len - i < 3 ||
			    (hi = smtp_hexval((unsigned char)in[i + 1])) < 0 ||
			    (lo = smtp_hexval((unsigned char)in[i + 2])) < 0)
				return -1;
			buf_appendc(out, (char)(hi * 16 + lo));
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		} else {
			buf_appendc(out, (char)c);
		}
	}
	return 0;
}

void smtp_xtext_encode(const char *in, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 33 || c > 126 || c == '+' || c == '=') {
			buf_appendc(out, '+');
			buf_appendc(out, hex[c >> 4]);
			buf_appendc(out, hex[c & 15]);
		} else {
			buf_appendc(out, (char)c);
		}
	}
}

/* One esmtp-param: keyword ["=" value] (RFC 5321 §4.1.2, RFC 6531 §3.3). */
struct smtp_param {
	const char *kw;
	size_t kwlen;
	const char *val;	/* NULL when no "=" */
	size_t vallen;
};

static bool smtp_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool smtp_keyword_valid(const char *kw, size_t n)
{
	if (n == 0 || !smtp_alnum((unsigned char)kw[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!smtp_alnum((unsigned char)kw[i]) && kw[i] != '-')
			return false;
	return true;
}

/* esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii) */
static bool smtp_value_valid(const char *v, size_t n)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t k;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i += k) {
		k = 1;
		if (p[i] >= 0x80)
			k = mail_utf8_seq_len(p + i, n - i);
		else if (p[i] < 33 || p[i] == '=' || p[i] > 126)
			return false;
		if (k == 0)
			return false;
	}
	return true;
}

/* Next space-separated parameter from *pp: 1 found, 0 end, -1 bad syntax. */
static int smtp_next_param(const char **pp, struct smtp_param *p)
{
	const char *s = *pp, *eq;
	size_t n;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 0;
	n = strcspn(s, " ");
	*pp = s + n;
	eq = memchr(s, '=', n);
	p->kw = s;
	p->kwlen = eq != NULL ? (size_t)(eq - s) : n;
	p->val = eq != NULL ? eq + 1 : NULL;
	p->vallen = eq != NULL ? n - p->kwlen - 1 : 0;
	if (!smtp_keyword_valid(p->kw, p->kwlen))
		return -1;
	if (p->val != NULL && !smtp_value_valid(p->val, p->vallen))
		return -1;
	return 1;
}

static bool smtp_val_is(const struct smtp_param *p, const char *word)
{
	return p->vallen == strlen(word) && str_nieq(p->val, word, p->vallen);
}

typedef int smtp_param_fn(const struct smtp_param *p, unsigned ext, void *out,
			  struct smtp_error *err);

struct smtp_param_def {
	const char *name;
	unsigned ext;		/* any of these advertised makes it known */
	bool has_value;		/* "=value" required (true) or forbidden */
	smtp_param_fn *fn;
};

/* Walk the parameters against a table: unknown or not advertised -> 555,
 * repeated -> 501 (RFC 5321 §4.1.1.11 and the extension RFCs). */
static int smtp_parse_params(const char *s, const struct smtp_param_def *defs,
			     size_t ndefs, unsigned ext, void *out,
			     struct smtp_error *err)
{
	struct smtp_param p;
	unsigned seen = 0;
	size_t i;
	int r;

	while ((r = smtp_next_param(&s, &p)) > 0) {
		for (i = 0; i < ndefs; i++)
			if (strlen(defs[i].name) == p.kwlen &&
			    str_nieq(p.kw, defs[i].name, p.kwlen))
				break;
		if (i == ndefs || (defs[i].ext & ext) == 0)
			return smtp_fail(err, 555, "5.5.4", "Unsupported parameter");
		if (seen & (1u << i))
			return smtp_fail(err, 501, "5.5.4", "Duplicate parameter");
		seen |= 1u << i;
		if ((p.val != NULL) != defs[i].has_value)
			return SMTP_FAIL_VALUE(err);
		if (defs[i].fn(&p, ext, out, err) < 0)
			return -1;
	}
	return r < 0 ? SMTP_FAIL_SYNTAX(err) : 0;
}

/* RFC 1870 §3: SIZE=1*20DIGIT; a value over 2^64-1 saturates (the caller answers 552). */
static int smtp_mail_size(const struct smtp_param *p, unsigned ext, void *o,
			  struct smtp_error *err)
{
	struct smtp_mail_args *out = o;
	uint64_t v = 0;

	if (p->vallen > SMTP_SIZE_DIGITS)
		return SMTP_FAIL_VALUE(err);
	for (size_t i = 0; i < p->vallen; i++) {
		unsigned char ch = (unsigned char)p->val[i];
		unsigned d;

		if (ch < '0' || ch > '9')
			return SMTP_FAIL_VALUE(err);
		d = (unsigned)(ch - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	out->size = v;
	return 0;
}

/* RFC 6152 §3 BODY=7BIT|8BITMIME, RFC 3030 §3 BODY=BINARYMIME. */
static int smtp_mail_body(const struct smtp_param *p, unsigned ext, void *o,
			  struct smtp_error *err)
{
	struct smtp_mail_args *out = o;

	if (smtp_val_is(p, "7BIT"))
		out->body = SMTP_BODY_7BIT;
	else if (smtp_val_is(p, "8BITMIME") && (ext & SMTP_EXT_8BITMIME))
		out->body = SMTP_BODY_8BITMIME;
	else if (smtp_val_is(p, "BINARYMIME") && (ext & SMTP_EXT_BINARYMIME))
		out->body = SMTP_BODY_BINARYMIME;
	else if (smtp_val_is(p, "8BITMIME") || smtp_val_is(p, "BINARYMIME"))
		return smtp_fail(err, 555, "5.5.4", "Unsupported BODY type");
	else
		return SMTP_FAIL_VALUE(err);
	return 0;
}

/* RFC 6531 §3.4: SMTPUTF8 takes no value. */
static int smtp_mail_smtputf8(const struct smtp_param *p, unsigned ext, void *o,
			      struct smtp_error *err)
{
	((struct smtp_mail_args *)o)->smtputf8 = true;
	return 0;
}

/* RFC 3461 §4.3: RET=FULL|HDRS */
static int smtp_mail_ret(const struct smtp_param *p, unsigned ext, void *o,
			 struct smtp_error *err)
{
	struct smtp_mail_args *out = o;

	if (smtp_val_is(p, "FULL"))
		out->ret = SMTP_RET_FULL;
	else if (smtp_val_is(p, "HDRS"))
		out->ret = SMTP_RET_HDRS;
	else
		return SMTP_FAIL_VALUE(err);
	return 0;
}

/* Decode an xtext value into dst[size]; decoded octets must be printable
 * (>= 0x20, not DEL) so no NUL or control reaches logs or headers. */
static int smtp_xtext_to(const struct smtp_param *p, char *dst, size_t size,
			 struct smtp_error *err)
{
	struct buf b = BUF_INIT;
	int ret = 0;

	if (smtp_xtext_decode(p->val, p->vallen, &b) < 0 || b.len >= size)
		ret = SMTP_FAIL_VALUE(err);
	for (size_t i = 0; ret == 0 && i < b.len; i++)
		if ((unsigned char)b.ptr[i] < 0x20 || b.ptr[i] == 0x7f)
			ret = SMTP_FAIL_VALUE(err);
	if (ret == 0)
		str_copy(dst, size, buf_cstr(&b));
	buf_free(&b);
	return ret;
}

/* RFC 3461 §4.4: ENVID=xtext, at most 100 characters (decoded, printable ASCII). */
static int smtp_mail_envid(const struct smtp_param *p, unsigned ext, void *o,
			   struct smtp_error *err)
{
	struct smtp_mail_args *out = o;

	if (smtp_xtext_to(p, out->envid, sizeof(out->envid), err) < 0)
		return -1;
	for (const char *c = out->envid; *c != '\0'; c++)
		if ((unsigned char)*c > 126)
			return SMTP_FAIL_VALUE(err);
	return 0;
}

/* RFC 4954 §5: AUTH=xtext(mailbox) or AUTH=<> */
static int smtp_mail_auth(const struct smtp_param *p, unsigned ext, void *o,
			  struct smtp_error *err)
{
	struct smtp_mail_args *out = o;

	return smtp_xtext_to(p, out->auth, sizeof(out->auth), err);
}

static const struct smtp_param_def smtp_mail_params[] = {
	{ "SIZE", SMTP_EXT_SIZE, true, smtp_mail_size },
	{ "BODY", SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME, true, smtp_mail_body },
	{ "SMTPUTF8", SMTP_EXT_SMTPUTF8, false, smtp_mail_smtputf8 },
	{ "RET", SMTP_EXT_DSN, true, smtp_mail_ret },
	{ "ENVID", SMTP_EXT_DSN, true, smtp_mail_envid },
	{ "AUTH", SMTP_EXT_AUTH, true, smtp_mail_auth },
};

/* The path, then SP or the end of the argument. Addresses are always
 * parsed with UTF-8 allowed so that a missing SMTPUTF8 gets its own code. */
static int smtp_parse_path(const char *arg, unsigned flags, const char *status,
			   struct mail_addr *addr, const char **rest,
			   struct smtp_error *err)
{
	const char *why = "Bad address syntax";
	size_t end;

	if (mail_path_parse(arg, strlen(arg), flags | MAIL_ADDR_ALLOW_UTF8,
			    addr, &end, &why) < 0)
		return smtp_fail(err, 501, status, why);
	if (arg[end] != '\0' && arg[end] != ' ')
		return SMTP_FAIL_SYNTAX(err);
	*rest = arg + end;
	return 0;
}

/* RFC 5321 §4.1.1.2: MAIL FROM:<reverse-path> [SP mail-parameters] */
int smtp_parse_mail(const char *arg, unsigned ext, struct smtp_mail_args *out,
		    struct smtp_error *err)
{
	const char *rest;

	memset(out, 0, sizeof(*out));
	if (smtp_parse_path(arg, MAIL_ADDR_ALLOW_NULL, "5.1.7", &out->from,
			    &rest, err) < 0)
		return -1;
	if (smtp_parse_params(rest, smtp_mail_params,
			      sizeof(smtp_mail_params) / sizeof(smtp_mail_params[0]),
			      ext, out, err) < 0)
		return -1;
	/* RFC 6531 §3.5: a UTF-8 address without SMTPUTF8 */
	if (out->from.utf8 && !out->smtputf8)
		return smtp_fail(err, 553, "5.6.7", "SMTPUTF8 required for a non-ASCII address");
	return 0;
}

/* RFC 3461 §4.1: NOTIFY=NEVER / 1#(SUCCESS / FAILURE / DELAY) */
static int smtp_rcpt_notify(const struct smtp_param *p, unsigned ext, void *o,
			    struct smtp_error *err)
{
	static const struct { const char *name; unsigned bit; } words[] = {
		{ "NEVER", SMTP_NOTIFY_NEVER }, { "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE }, { "DELAY", SMTP_NOTIFY_DELAY },
	};
	const size_t nwords = sizeof(words) / sizeof(words[0]);
	struct smtp_rcpt_args *out = o;
	size_t i = 0;

	while (i <= p->vallen) {
		size_t n = strcspn(p->val + i, ", ");
		size_t w;

		if (i + n > p->vallen)
			n = p->vallen - i;
		for (w = 0; w < nwords; w++)
			if (strlen(words[w].name) == n &&
			    str_nieq(p->val + i, words[w].name, n))
				break;
		if (w == nwords)
			return SMTP_FAIL_VALUE(err);
		out->notify |= words[w].bit;
		i += n + 1;
	}
	if ((out->notify & SMTP_NOTIFY_NEVER) && out->notify != SMTP_NOTIFY_NEVER)
		return SMTP_FAIL_VALUE(err);
	return 0;
}

/* RFC 3461 §4.2: ORCPT=addr-type ";" xtext, at most 500 characters. */
static int smtp_rcpt_orcpt(const struct smtp_param *p, unsigned ext, void *o,
			   struct smtp_error *err)
{
	struct smtp_rcpt_args *out = o;
	const char *semi = memchr(p->val, ';', p->vallen);
	struct smtp_param addr;
	size_t tlen;

	if (p->vallen > SMTP_ORCPT_MAX || semi == NULL || semi == p->val)
		return SMTP_FAIL_VALUE(err);
	tlen = (size_t)(semi - p->val);
	for (size_t i = 0; i < tlen; i++)
		if (!smtp_alnum((unsigned char)p->val[i]) && p->val[i] != '-')
			return SMTP_FAIL_VALUE(err);
	memcpy(out->orcpt, p->val, tlen + 1);
	addr = *p;
	addr.val = semi + 1;
	addr.vallen = p->vallen - tlen - 1;
	if (addr.vallen == 0)
		return SMTP_FAIL_VALUE(err);
	return smtp_xtext_to(&addr, out->orcpt + tlen + 1,
			     sizeof(out->orcpt) - tlen - 1, err);
}

static const struct smtp_param_def smtp_rcpt_params[] = {
	{ "NOTIFY", SMTP_EXT_DSN, true, smtp_rcpt_notify },
	{ "ORCPT", SMTP_EXT_DSN, true, smtp_rcpt_orcpt },
};

/* RFC 5321 §4.1.1.3: RCPT TO:<forward-path> / <Postmaster> [SP rcpt-parameters] */
int smtp_parse_rcpt(const char *arg, unsigned ext, bool smtputf8,
		    struct smtp_rcpt_args *out, struct smtp_error *err)
{
	const char *rest;

	memset(out, 0, sizeof(*out));
	if (smtp_parse_path(arg, MAIL_ADDR_ALLOW_NODOMAIN, "5.1.3", &out->to,
			    &rest, err) < 0)
		return -1;
	if (out->to.domain[0] == '\0' && !str_ieq(out->to.local, "postmaster"))
		return smtp_fail(err, 501, "5.1.3", "Missing domain");
	if (smtp_parse_params(rest, smtp_rcpt_params,
			      sizeof(smtp_rcpt_params) / sizeof(smtp_rcpt_params[0]),
			      ext, out, err) < 0)
		return -1;
	if (out->to.utf8 && !smtputf8)
		return smtp_fail(err, 553, "5.6.7", "SMTPUTF8 required for a non-ASCII address");
	return 0;
}

/* RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [SP end-marker], chunk-size = 1*DIGIT */
int smtp_parse_bdat(const char *arg, uint64_t *size, bool *last,
		    struct smtp_error *err)
{
	size_t n = strspn(arg, "0123456789");
	char digits[SMTP_SIZE_DIGITS + 1];
	const char *rest = arg + n;

	*size = 0;
	*last = false;
	if (n == 0 || n > SMTP_SIZE_DIGITS)
		return smtp_fail(err, 501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
	memcpy(digits, arg, n);
	digits[n] = '\0';
	if (str_to_u64(digits, size) < 0)
		return smtp_fail(err, 501, "5.5.4", "Chunk size too large");
	if (*rest == ' ') {
		while (*rest == ' ')
			rest++;
		if (str_nieq(rest, "LAST", 4)) {
			*last = true;
			rest += 4;
		}
		while (*rest == ' ')
			rest++;
	}
	if (*rest != '\0')
		return smtp_fail(err, 501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
	return 0;
}

/* RFC 5321 §4.1.1.1: EHLO SP ( Domain / address-literal ). Lenient like
 * real servers: the first token of printable ASCII is taken as given. */
int smtp_parse_helo(const char *arg, char *out, size_t outsize,
		    struct smtp_error *err)
{
	size_t n;

	while (*arg == ' ')
		arg++;
	n = strcspn(arg, " ");
	if (n == 0)
		return smtp_fail(err, 501, "5.5.4", "Syntax: EHLO hostname");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 33 || (unsigned char)arg[i] > 126)
			return smtp_fail(err, 501, "5.5.4", "Invalid character in hostname");
	if (n > SMTP_HELO_MAX || n >= outsize)
		return smtp_fail(err, 501, "5.5.4", "Hostname too long");
	memcpy(out, arg, n);
	out[n] = '\0';
	return 0;
}
