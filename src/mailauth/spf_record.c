/* spf_record: parse one SPF record (RFC 7208 §4.5, §4.6, §5, §6, §7.1).
 * The record is checked as a whole before anything is evaluated: a syntax
 * error in any term makes the record a permerror (§4.6). Terms are split
 * on SP in a private copy, so the domain-specs are C strings in it. */
#include "mailauth/spf_record.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/spf.h"
#include "mailauth/spf_macro.h"

/* What follows a mechanism name (§5). */
enum mech_arg {
	ARG_NONE,		/* all */
	ARG_SPEC,		/* include, exists: ":" domain-spec */
	ARG_SPEC_OPT_CIDR,	/* a, mx: [":" domain-spec] [dual-cidr-length] */
	ARG_SPEC_OPT,		/* ptr: [":" domain-spec] */
	ARG_IP4,		/* ":" ip4-network [ip4-cidr-length] */
	ARG_IP6,		/* ":" ip6-network [ip6-cidr-length] */
};

static const struct {
	const char *name;
	enum spf_mech mech;
	enum mech_arg arg;
} mech_table[] = {
	{ "all", SPF_MECH_ALL, ARG_NONE },
	{ "include", SPF_MECH_INCLUDE, ARG_SPEC },
	{ "a", SPF_MECH_A, ARG_SPEC_OPT_CIDR },
	{ "mx", SPF_MECH_MX, ARG_SPEC_OPT_CIDR },
	{ "ptr", SPF_MECH_PTR, ARG_SPEC_OPT },
	{ "ip4", SPF_MECH_IP4, ARG_IP4 },
	{ "ip6", SPF_MECH_IP6, ARG_IP6 },
	{ "exists", SPF_MECH_EXISTS, ARG_SPEC },
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool spf_record_is_spf1(const char *txt, size_t len)
{
	return len >= 6 && str_nieq(txt, "v=spf1", 6) &&
	       (len == 6 || txt[6] == ' ');
}

/* §7.1: toplabel = ( *alphanum ALPHA *alphanum ) /
 *                  ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel_valid(const char *s, size_t len)
{
	bool alpha = false, dash = false;

	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			dash = true;
		else if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

/* §7.1: domain-spec = macro-string domain-end,
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
bool spf_domain_spec_valid(const char *s, size_t len, const char **error_r)
{
	bool ends_macro;
	size_t dot;

	if (len == 0) {
		*error_r = "empty domain-spec";
		return false;
	}
	if (len > 1 && s[len - 1] == '.')	/* toplabel [ "." ] */
		len--;
	if (spf_macro_check(s, len, SPF_MACRO_DOMAIN, &ends_macro, error_r) < 0)
		return false;
	if (ends_macro)
		return true;
	for (dot = len; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || !toplabel_valid(s + dot, len - dot)) {
		*error_r = "domain-spec does not end in a valid top label";
		return false;
	}
	return true;
}

/* "/" prefix length: "0" or 1-9 followed by digits, at most max (§5.6). */
static int cidr_parse(const char *s, size_t len, int max, int *out)
{
	int v = 0;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Strip a trailing "/" digits from s[0..*len) into *cidr, if there is one;
 * "//" before it when ip6 is set. Returns -1 for a bad prefix length. */
static int cidr_suffix(char *s, size_t *len, bool ip6, int *cidr)
{
	size_t i = *len, need = ip6 ? 2 : 1;

	while (i > 0 && is_digit(s[i - 1]))
		i--;
	if (i == *len || i < need || s[i - 1] != '/' ||
	    (ip6 && s[i - 2] != '/'))
		return 0;
	if (!ip6 && i >= 2 && s[i - 2] == '/')
		return 0;
	if (cidr_parse(s + i, *len - i, ip6 ? 128 : 32, cidr) < 0)
		return -1;
	*len = i - need;
	s[*len] = '\0';
	return 0;
}

/* a, mx, ptr, include, exists: the optional or required domain-spec and,
 * for a and mx, the dual-cidr-length (§5.3, §5.4). */
static int arg_spec(char *rest, enum mech_arg arg, struct spf_term *t,
		    const char **error_r)
{
	size_t len = strlen(rest);

	if (arg == ARG_SPEC_OPT_CIDR &&
	    (cidr_suffix(rest, &len, true, &t->cidr6) < 0 ||
	     cidr_suffix(rest, &len, false, &t->cidr4) < 0)) {
		*error_r = "invalid CIDR prefix length";
		return -1;
	}
	if (len == 0 && arg != ARG_SPEC)
		return 0;
	if (rest[0] != ':') {
		*error_r = arg == ARG_SPEC ? "mechanism needs ':' domain-spec" :
					     "unexpected text after mechanism";
		return -1;
	}
	if (!spf_domain_spec_valid(rest + 1, len - 1, error_r))
		return -1;
	t->spec = rest + 1;
	return 0;
}

/* ip4 / ip6: ":" network [ "/" prefix ] (§5.6). */
static int arg_ip(char *rest, bool ip6, struct spf_term *t,
		  const char **error_r)
{
	char *slash, *net = rest + 1;
	int rc;

	if (rest[0] != ':') {
		*error_r = "ip4/ip6 needs ':' and a network";
		return -1;
	}
	slash = strchr(net, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (cidr_parse(slash + 1, strlen(slash + 1), ip6 ? 128 : 32,
			       ip6 ? &t->cidr6 : &t->cidr4) < 0) {
			*error_r = "invalid CIDR prefix length";
			return -1;
		}
	}
	if (ip6) {
		t->net.family = 6;
		rc = inet_pton(AF_INET6, net, t->net.b) == 1 ? 0 : -1;
	} else {
		rc = spf_ip4_parse_strict(net, strlen(net), &t->net);
	}
	if (rc < 0)
		*error_r = ip6 ? "invalid ip6 network" : "invalid ip4 network";
	return rc;
}

/* directive = [ qualifier ] mechanism; name is the mechanism name. */
static int directive_parse(char *name, size_t namelen, char qual,
			   struct spf_term *t, const char **error_r)
{
	size_t i;

	for (i = 0; i < sizeof(mech_table) / sizeof(mech_table[0]); i++) {
		if (strlen(mech_table[i].name) == namelen &&
		    str_nieq(name, mech_table[i].name, namelen))
			break;
	}
	if (i == sizeof(mech_table) / sizeof(mech_table[0])) {
		*error_r = "unknown mechanism";
		return -1;
	}
	t->mech = mech_table[i].mech;
	t->qual = qual;
	t->cidr4 = 32;
	t->cidr6 = 128;
	switch (mech_table[i].arg) {
	case ARG_NONE:
		if (name[namelen] != '\0') {
			*error_r = "\"all\" takes no argument";
			return -1;
		}
		return 0;
	case ARG_IP4:
	case ARG_IP6:
		return arg_ip(name + namelen, mech_table[i].arg == ARG_IP6, t,
			      error_r);
	default:
		return arg_spec(name + namelen, mech_table[i].arg, t, error_r);
	}
}

/* modifier = redirect / explanation / unknown-modifier (§6, §A). */
static int modifier_parse(struct spf_record *rec, const char *name,
			  size_t namelen, const char *value, const char **error_r)
{
	const char **slot = NULL;

	if (namelen == 8 && str_nieq(name, "redirect", 8))
		slot = &rec->redirect;
	else if (namelen == 3 && str_nieq(name, "exp", 3))
		slot = &rec->exp;
	if (slot == NULL)	/* unknown modifiers are ignored, if valid */
		return spf_macro_check(value, strlen(value), SPF_MACRO_ANY,
				       NULL, error_r);
	if (*slot != NULL) {
		*error_r = "redirect= or exp= appears twice";	/* §6 */
		return -1;
	}
	if (!spf_domain_spec_valid(value, strlen(value), error_r))
		return -1;
	*slot = value;
	return 0;
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static size_t name_len(const char *s)
{
	size_t n = 0;

	if (!is_alpha(s[0]))
		return 0;
	while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '-' ||
	       s[n] == '_' || s[n] == '.')
		n++;
	return n;
}

/* One term: tok is NUL-terminated in the work copy, at offset off. */
static int term_parse(struct spf_record *rec, char *tok, size_t off,
		      const char **error_r)
{
	bool has_qual = tok[0] != '\0' && strchr("+-~?", tok[0]) != NULL;
	char qual = has_qual ? tok[0] : '+';
	char *name = tok + has_qual;
	size_t n = name_len(name);
	struct spf_term *t = &rec->terms[rec->nterms];

	if (n == 0) {
		*error_r = "term does not start with a name";
		return -1;
	}
	if (name[n] == '=') {
		if (has_qual) {
			*error_r = "qualifier before a modifier";
			return -1;
		}
		name[n] = '\0';
		return modifier_parse(rec, name, n, name + n + 1, error_r);
	}
	t->off = off;
	t->len = strlen(tok);
	if (directive_parse(name, n, qual, t, error_r) < 0)
		return -1;
	rec->nterms++;
	return 0;
}

/* §3.1, §4.6.1: only SP separates terms; everything else is VCHAR. */
static int check_chars(const char *txt, size_t len, size_t *erroff_r,
		       const char **error_r)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c >= 0x20 && c <= 0x7e)
			continue;
		while (i > 0 && txt[i - 1] != ' ')
			i--;
		*erroff_r = i;
		*error_r = "non-ASCII or control character in record";
		return -1;
	}
	return 0;
}

static size_t count_terms(const char *s)
{
	size_t n = 0;

	for (size_t i = 0; s[i] != '\0'; i++)
		n += s[i] != ' ' && (i == 0 || s[i - 1] == ' ');
	return n;
}

int spf_record_parse(const char *txt, size_t len, struct spf_record **rec_r,
		     const char **error_r, size_t *erroff_r)
{
	struct spf_record *rec;
	size_t i = 6;

	*rec_r = NULL;
	*erroff_r = 0;
	if (len > SPF_MAX_RECORD_LEN) {
		*error_r = "record too long";
		return -1;
	}
	if (!spf_record_is_spf1(txt, len)) {
		*error_r = "not a v=spf1 record";
		return -1;
	}
	if (check_chars(txt, len, erroff_r, error_r) < 0)
		return -1;
	rec = xcalloc(1, sizeof(*rec));
	rec->text = xstrndup(txt, len);
	rec->work = xstrndup(txt, len);
	rec->terms = xcalloc(count_terms(rec->work), sizeof(*rec->terms));
	while (i < len) {
		size_t start, end;

		for (start = i; start < len && txt[start] == ' '; start++)
			;
		for (end = start; end < len && txt[end] != ' '; end++)
			;
		i = end;
		if (start == end)
			break;
		rec->work[end] = '\0';
		if (term_parse(rec, rec->work + start, start, error_r) < 0) {
			*erroff_r = start;
			spf_record_free(rec);
			return -1;
		}
	}
	*rec_r = rec;
	return 0;
}

void spf_record_free(struct spf_record *rec)
{
	if (rec == NULL)
		return;
	free(rec->text);
	free(rec->work);
	free(rec->terms);
	free(rec);
}

int spf_ip4_parse_strict(const char *s, size_t len, struct spf_ip *ip)
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t start;
		unsigned v = 0;

		if (k > 0 && (i >= len || s[i++] != '.'))
			return -1;
		start = i;
		while (i < len && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		/* qnum: 0-255, no leading zero */
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return -1;
		ip->b[k] = (uint8_t)v;
	}
	if (i != len)
		return -1;
	ip->family = 4;
	return 0;
}

int spf_ip_parse(const char *s, size_t len, struct spf_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };
	char tmp[64];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, ip->b) == 1) {
		ip->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, ip->b) != 1)
		return -1;
	ip->family = 6;
	if (memcmp(ip->b, mapped, sizeof(mapped)) == 0) {
		/* §5 ¶9: an IPv4-mapped IPv6 address is IPv4 */
		memmove(ip->b, ip->b + 12, 4);
		memset(ip->b + 4, 0, 12);
		ip->family = 4;
	}
	return 0;
}

bool spf_ip_match(const struct spf_ip *ip, const struct spf_ip *net,
		  unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;
	unsigned max = ip->family == 4 ? 32 : 128;

	if (ip->family != net->family || prefix > max)
		return false;
	if (memcmp(ip->b, net->b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((ip->b[bytes] ^ net->b[bytes]) & (0xff00u >> bits) & 0xff) == 0;
}
