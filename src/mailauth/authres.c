/* authres: Authentication-Results (RFC 8601 §2.2) and Received-SPF
 * (RFC 7208 §9.1) header fields, and the authserv-id check of §5.
 *
 * A result is kept as a list of units ("dkim=pass", "(comment)",
 * "header.d=example.com") that are never split, so folding only happens
 * between units: each resinfo starts a line, and a unit that would cross
 * AUTHRES_FOLD_COLUMN goes to the next one. */
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/authres.h"

struct resinfo {
	char **unit;
	size_t n, cap;
};

struct authres {
	char *id;
	struct resinfo *ri;
	size_t n, cap;
};

/* RFC 2045 §5.1 tspecials: a token is 1* of the other printable ASCII. */
static bool is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 §3.2.3 atext. */
static bool is_atext(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!is_tchar((unsigned char)*s))
			return false;
	}
	return true;
}

/* dot-atom-text (§3.2.3): atext runs separated by single dots. */
static bool is_dot_atom(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* A byte as it may appear in a header: controls become '?'. */
static char safe_char(char c)
{
	return (c >= 0 && c < 0x20) || c == 0x7f ? '?' : c;
}

static void append_quoted(struct buf *b, const char *s)
{
	buf_appendc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_appendc(b, '\\');
		buf_appendc(b, safe_char(*s));
	}
	buf_appendc(b, '"');
}

/* RFC 2045 value: token / quoted-string. */
static void append_value(struct buf *b, const char *s)
{
	if (is_token(s))
		buf_appends(b, s);
	else
		append_quoted(b, s);
}

/* RFC 8601 §2.2 pvalue: value / [ [ local-part ] "@" ] domain-name. */
static void append_pvalue(struct buf *b, const char *s)
{
	const char *at = strrchr(s, '@');

	if (at != NULL && (at == s || is_dot_atom(s, (size_t)(at - s))) &&
	    is_dot_atom(at + 1, strlen(at + 1)))
		buf_appends(b, s);
	else
		append_value(b, s);
}

/* RFC 7208 §9.1: dot-atom / quoted-string. */
static void append_dot_atom(struct buf *b, const char *s)
{
	if (is_dot_atom(s, strlen(s)))
		buf_appends(b, s);
	else
		append_quoted(b, s);
}

/* RFC 5322 §3.2.2 comment, cut to AUTHRES_MAX_COMMENT characters. */
static void append_comment(struct buf *b, const char *s)
{
	size_t n = 0;

	buf_appendc(b, '(');
	for (; *s != '\0' && n < AUTHRES_MAX_COMMENT; s++, n++) {
		if (*s == '(' || *s == ')' || *s == '\\')
			buf_appendc(b, '\\');
		buf_appendc(b, safe_char(*s));
	}
	buf_appendc(b, ')');
}

struct authres *authres_new(const char *authserv_id)
{
	struct authres *ar = xcalloc(1, sizeof(*ar));

	ar->id = xstrdup(authserv_id);
	return ar;
}

static struct resinfo *ri_new(struct authres *ar)
{
	if (ar->n == ar->cap) {
		ar->cap = ar->cap ? ar->cap * 2 : 4;
		ar->ri = xrealloc(ar->ri, ar->cap * sizeof(*ar->ri));
	}
	memset(&ar->ri[ar->n], 0, sizeof(ar->ri[0]));
	return &ar->ri[ar->n++];
}

/* Move the contents of b into a new unit of r. */
static void ri_unit(struct resinfo *r, struct buf *b)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->unit = xrealloc(r->unit, r->cap * sizeof(*r->unit));
	}
	r->unit[r->n++] = buf_detach(b);
}

static void ri_method(struct resinfo *r, const char *method,
		      const char *result)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s=%s", method, result);
	ri_unit(r, &b);
}

static void ri_comment(struct resinfo *r, const char *text)
{
	struct buf b = BUF_INIT;

	if (text == NULL || *text == '\0')
		return;
	append_comment(&b, text);
	ri_unit(r, &b);
}

/* "ptype.property=pvalue", left out when value is NULL or empty. */
static void ri_prop(struct resinfo *r, const char *prop, const char *value)
{
	struct buf b = BUF_INIT;

	if (value == NULL || *value == '\0')
		return;
	buf_appends(&b, prop);
	buf_appendc(&b, '=');
	append_pvalue(&b, value);
	ri_unit(r, &b);
}

void authres_add_spf(struct authres *ar, const struct authres_spf *spf)
{
	struct resinfo *r = ri_new(ar);
	bool null_sender = spf->mail_from == NULL || *spf->mail_from == '\0';

	ri_method(r, "spf", spf_result_name(spf->result));
	ri_comment(r, spf->comment);
	if (null_sender)
		ri_prop(r, "smtp.helo", spf->helo);
	else
		ri_prop(r, "smtp.mailfrom", spf->mail_from);
}

/* §2.7.1 dkim results; anything else is reported as permerror. */
static const char *dkim_result(const char *r)
{
	static const char *const ok[] = {
		"none", "pass", "fail", "policy", "neutral", "temperror",
		"permerror",
	};

	for (size_t i = 0; r != NULL && i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (str_ieq(r, ok[i]))
			return ok[i];
	}
	return "permerror";
}

void authres_add_dkim(struct authres *ar, const struct authres_dkim *dkim)
{
	struct resinfo *r = ri_new(ar);
	char b[AUTHRES_HEADER_B_LEN + 1];
	size_t n = 0;

	ri_method(r, "dkim", dkim_result(dkim->result));
	ri_comment(r, dkim->comment);
	ri_prop(r, "header.d", dkim->d);
	ri_prop(r, "header.i", dkim->i);
	ri_prop(r, "header.s", dkim->s);
	ri_prop(r, "header.a", dkim->a);
	for (const char *p = dkim->b; p != NULL && *p != '\0' &&
	     n < AUTHRES_HEADER_B_LEN; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			b[n++] = *p;
	}
	b[n] = '\0';
	ri_prop(r, "header.b", b);
}

/* "REJECT" for the comment, as OpenDMARC and large receivers print it. */
static const char *policy_upper(enum dmarc_policy p)
{
	static const char *const names[] = {
		[DMARC_POLICY_UNSET] = "NONE", [DMARC_POLICY_NONE] = "NONE",
		[DMARC_POLICY_QUARANTINE] = "QUARANTINE",
		[DMARC_POLICY_REJECT] = "REJECT",
	};

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "NONE";
}

void authres_add_dmarc(struct authres *ar, const struct dmarc_verdict *v)
{
	struct resinfo *r = ri_new(ar);
	struct buf b = BUF_INIT;
	bool has_policy = v->result == DMARC_PASS || v->result == DMARC_FAIL;

	ri_method(r, "dmarc", dmarc_result_name(v->result));
	if (has_policy) {
		buf_printf(&b, "(p=%s sp=%s dis=%s)", policy_upper(v->p),
			   policy_upper(v->sp), policy_upper(v->disposition));
		ri_unit(r, &b);
	} else if (v->result != DMARC_NONE && v->reason != NULL) {
		buf_appends(&b, "reason=");	/* §2.2 reasonspec */
		append_value(&b, v->reason);
		ri_unit(r, &b);
	}
	ri_prop(r, "header.from", v->from_domain);
	if (has_policy)
		ri_prop(r, "policy.dmarc", dmarc_policy_name(v->policy));
}

void authres_add_iprev(struct authres *ar, enum iprev_result res,
		       const char *ip, const char *host)
{
	struct resinfo *r = ri_new(ar);

	ri_method(r, "iprev", iprev_result_name(res));
	ri_comment(r, host);
	ri_prop(r, "policy.iprev", ip);
}

/* Append unit, folding first when it would cross the fold column. */
static void fold_add(struct buf *out, size_t *col, const char *unit,
		     bool new_line)
{
	size_t len = strlen(unit);

	if (new_line || *col + 1 + len > AUTHRES_FOLD_COLUMN) {
		buf_appends(out, "\r\n\t");
		*col = 8;
	} else {
		buf_appendc(out, ' ');
		(*col)++;
	}
	buf_appends(out, unit);
	*col += len;
}

void authres_format(const struct authres *ar, struct buf *out)
{
	size_t start = out->len, col;

	buf_appends(out, "Authentication-Results: ");
	append_value(out, ar->id);
	col = out->len - start;
	if (ar->n == 0)
		buf_appends(out, "; none");	/* §2.2 no-result */
	for (size_t i = 0; i < ar->n; i++) {
		buf_appendc(out, ';');
		for (size_t j = 0; j < ar->ri[i].n; j++)
			fold_add(out, &col, ar->ri[i].unit[j], j == 0);
	}
	buf_appends(out, "\r\n");
}

void authres_free(struct authres *ar)
{
	if (ar == NULL)
		return;
	for (size_t i = 0; i < ar->n; i++) {
		for (size_t j = 0; j < ar->ri[i].n; j++)
			free(ar->ri[i].unit[j]);
		free(ar->ri[i].unit);
	}
	free(ar->ri);
	free(ar->id);
	free(ar);
}

/* One "key=value;" unit of Received-SPF. */
static void spf_kv(struct resinfo *r, const char *key, const char *value)
{
	struct buf b = BUF_INIT;

	if (value == NULL || *value == '\0')
		return;
	buf_printf(&b, "%s=", key);
	append_dot_atom(&b, value);
	buf_appendc(&b, ';');
	ri_unit(r, &b);
}

void authres_received_spf(const struct authres_spf *spf, const char *receiver,
			  struct buf *out)
{
	struct resinfo r = { 0 };
	struct buf b = BUF_INIT;
	bool null_sender = spf->mail_from == NULL || *spf->mail_from == '\0';
	size_t start = out->len, col;

	buf_printf(&b, "%s: %s", receiver, spf->comment != NULL ?
		   spf->comment : spf_result_name(spf->result));
	ri_comment(&r, buf_cstr(&b));
	buf_free(&b);
	spf_kv(&r, "client-ip", spf->ip);
	spf_kv(&r, "envelope-from", spf->mail_from);
	spf_kv(&r, "helo", spf->helo);
	spf_kv(&r, "receiver", receiver);
	spf_kv(&r, "identity", null_sender ? "helo" : "mailfrom");
	buf_printf(out, "Received-SPF: %s", spf_result_name(spf->result));
	col = out->len - start;
	for (size_t i = 0; i < r.n; i++) {
		fold_add(out, &col, r.unit[i], false);
		free(r.unit[i]);
	}
	free(r.unit);
	buf_appends(out, "\r\n");
}

/* Skip CFWS (RFC 5322 §3.2.2; nested comments, quoted-pairs, folding);
 * returns len on an unterminated comment. */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
	size_t depth = 0;

	for (; i < len; i++) {
		if (depth > 0 && s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && s[i] != ' ' && s[i] != '\t' &&
			 s[i] != '\r' && s[i] != '\n')
			return i;
	}
	return len;
}

/* The authserv-id (RFC 2045 value) at s[i] into id; false if none. */
static bool read_id(const char *s, size_t len, size_t i,
		    char id[DNSQ_NAME_MAX + 2])
{
	size_t n = 0;

	if (i < len && s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && ++i == len)
				return false;
			if (n == DNSQ_NAME_MAX + 1)
				return false;
			id[n++] = s[i];
		}
		if (i == len)
			return false;
	} else {
		for (; i < len && is_tchar((unsigned char)s[i]); i++) {
			if (n == DNSQ_NAME_MAX + 1)
				return false;
			id[n++] = s[i];
		}
	}
	if (n > 0 && id[n - 1] == '.')
		n--;
	id[n] = '\0';
	return n > 0;
}

bool authres_is_ours(const char *field, size_t len, const char *authserv_id)
{
	static const char name[] = "Authentication-Results";
	char id[DNSQ_NAME_MAX + 2];
	size_t i = sizeof(name) - 1, n = strlen(authserv_id);

	if (len < i || !str_nieq(field, name, i))
		return false;
	while (i < len && (field[i] == ' ' || field[i] == '\t'))
		i++;			/* obs-optional WSP before ':' */
	if (i == len || field[i] != ':')
		return false;
	i = skip_cfws(field, len, i + 1);
	if (!read_id(field, len, i, id))
		return false;
	if (n > 0 && authserv_id[n - 1] == '.')
		n--;
	return strlen(id) == n && str_nieq(id, authserv_id, n);
}
