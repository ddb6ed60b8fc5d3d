/* dmarc_from: the author domains of a From field (RFC 5322 §3.4, §3.6.2;
 * group syntax per RFC 6854; RFC 6532 UTF-8 taken as atext), for DMARC
 * (RFC 7489 §6.6.1). A small lexer (CFWS skipped, comments nested,
 * quoted-pairs honoured) feeds a parser of address-list: only the domains
 * matter, display names and local parts are checked for shape and
 * dropped. Encoded words (RFC 2047) are atoms here and need no decoding.
 * Pure: no I/O, no allocation. */
#include <string.h>

#include "lib/str.h"
#include "mailauth/dmarc.h"

enum tok_kind {
	T_END,
	T_ATOM,		/* a run of atext (and UTF-8) */
	T_QUOTED,	/* a quoted-string */
	T_LITERAL,	/* a domain-literal [...] */
	T_SPECIAL,	/* one of < > : ; @ , . */
	T_ERROR,
};

struct lexer {
	const char *s;
	size_t len, pos;
	const char *error;
};

struct token {
	enum tok_kind kind;
	const char *p;
	size_t n;
	char c;		/* the special */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5322 §3.2.3 atext, plus the octets of UTF-8 (RFC 6532 §3.2). */
static bool is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>[]:;@\\,.\"", c) == NULL;
}

static enum tok_kind lex_error(struct lexer *lx, const char *error)
{
	lx->error = error;
	return T_ERROR;
}

/* Skip FWS and (nested) comments, §3.2.2. */
static bool skip_cfws(struct lexer *lx)
{
	size_t depth = 0;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];

		if (depth > 0 && c == '\\') {
			lx->pos += 2;		/* quoted-pair */
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_space(c))
			return true;
		lx->pos++;
	}
	if (depth > 0) {
		lx->error = "unterminated comment";
		return false;
	}
	return true;
}

/* A quoted-string or domain-literal up to the closing character. */
static enum tok_kind lex_delimited(struct lexer *lx, struct token *t,
				   char close, enum tok_kind kind)
{
	size_t i = lx->pos + 1;

	while (i < lx->len && lx->s[i] != close) {
		if (lx->s[i] == '\\')
			i++;
		else if (kind == T_LITERAL && lx->s[i] == '[')
			return lex_error(lx, "'[' inside a domain literal");
		i++;
	}
	if (i >= lx->len)
		return lex_error(lx, kind == T_QUOTED ? "unterminated quoted string"
				 : "unterminated domain literal");
	t->p = lx->s + lx->pos;
	t->n = i + 1 - lx->pos;
	lx->pos = i + 1;
	return kind;
}

static enum tok_kind lex_next(struct lexer *lx, struct token *t)
{
	char c;
	size_t start;

	memset(t, 0, sizeof(*t));
	if (!skip_cfws(lx))
		return t->kind = T_ERROR;
	if (lx->pos == lx->len)
		return t->kind = T_END;
	c = lx->s[lx->pos];
	if (c == '"')
		return t->kind = lex_delimited(lx, t, '"', T_QUOTED);
	if (c == '[')
		return t->kind = lex_delimited(lx, t, ']', T_LITERAL);
	if (strchr("<>:;@,.", c) != NULL && c != '\0') {
		t->c = c;
		lx->pos++;
		return t->kind = T_SPECIAL;
	}
	if (!is_atext((unsigned char)c))
		return t->kind = lex_error(lx, "invalid character");
	start = lx->pos;
	while (lx->pos < lx->len && is_atext((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	t->p = lx->s + start;
	t->n = lx->pos - start;
	return t->kind = T_ATOM;
}

static bool is_special(const struct token *t, char c)
{
	return t->kind == T_SPECIAL && t->c == c;
}

static int parse_fail(struct lexer *lx, const char *error)
{
	if (lx->error == NULL)
		lx->error = error;
	return -1;
}

/* domain = dot-atom / obs-domain (CFWS between atoms), §3.4.1; a final
 * dot is tolerated and dropped. Appends the lower-cased domain. */
static int parse_domain(struct lexer *lx, struct dmarc_from *out)
{
	char *d = out->domain[out->n];
	size_t len = 0, saved;
	struct token t;

	if (out->n >= DMARC_FROM_MAX)
		return parse_fail(lx, "too many From mailboxes");
	for (;;) {
		if (lex_next(lx, &t) == T_LITERAL)
			return parse_fail(lx, "domain literal in From");
		if (t.kind != T_ATOM)
			return parse_fail(lx, "invalid domain");
		if (len + t.n > DNSQ_NAME_MAX)
			return parse_fail(lx, "domain too long");
		memcpy(d + len, t.p, t.n);
		len += t.n;
		saved = lx->pos;
		if (lex_next(lx, &t) != T_SPECIAL || t.c != '.')
			break;
		saved = lx->pos;
		if (lex_next(lx, &t) != T_ATOM)
			break;		/* "example.com." */
		lx->pos = saved;
		d[len++] = '.';
	}
	lx->pos = saved;		/* unread the token after the domain */
	d[len] = '\0';
	str_lower(d);
	out->n++;
	return 0;
}

/* local-part "@" domain: words and dots, then '@' (§3.4.1). */
static int parse_addr_spec(struct lexer *lx, struct dmarc_from *out)
{
	struct token t;
	size_t words = 0;

	while (lex_next(lx, &t) == T_ATOM || t.kind == T_QUOTED ||
	       is_special(&t, '.'))
		words++;
	if (!is_special(&t, '@') || words == 0)
		return parse_fail(lx, "invalid address in angle brackets");
	return parse_domain(lx, out);
}

/* obs-route = obs-domain-list ":" (§4.4), after "<" and a seen "@". */
static int skip_route(struct lexer *lx)
{
	struct token t;

	while (lex_next(lx, &t) != T_END && t.kind != T_ERROR) {
		if (is_special(&t, ':'))
			return 0;
		if (!is_special(&t, '@') && !is_special(&t, ',') &&
		    !is_special(&t, '.') && t.kind != T_ATOM &&
		    t.kind != T_LITERAL)
			break;
	}
	return parse_fail(lx, "invalid route in angle brackets");
}

/* angle-addr after "<": [obs-route] addr-spec ">" (§3.4, §4.4). */
static int parse_angle(struct lexer *lx, struct dmarc_from *out)
{
	struct token t;
	size_t saved = lx->pos;

	if (lex_next(lx, &t) == T_SPECIAL && t.c == '@') {
		if (skip_route(lx) < 0)
			return -1;
	} else if (is_special(&t, '>')) {
		return parse_fail(lx, "empty address <>");
	} else {
		lx->pos = saved;
	}
	if (parse_addr_spec(lx, out) < 0)
		return -1;
	if (lex_next(lx, &t) != T_SPECIAL || t.c != '>')
		return parse_fail(lx, "expected '>'");
	return 0;
}

/* After a mailbox or a group: ',' (more), or the end of the list: ';'
 * in a group, the end of the field outside. */
static int after_item(struct lexer *lx, bool in_group, bool *more)
{
	struct token t;

	lex_next(lx, &t);
	*more = is_special(&t, ',');
	if (*more || (in_group ? is_special(&t, ';') : t.kind == T_END))
		return 0;
	if (in_group && t.kind == T_END)
		return parse_fail(lx, "unterminated group");
	return parse_fail(lx, "expected ',' after an address");
}

static int parse_list(struct lexer *lx, struct dmarc_from *out,
		      bool in_group);

/* One element of the list, its leading words already counted; t is the
 * token that ended the words. 1: the list ends here. */
static int parse_item(struct lexer *lx, struct dmarc_from *out,
		      bool in_group, size_t words, const struct token *t)
{
	bool more;

	if (is_special(t, '@')) {
		if (words == 0 || parse_domain(lx, out) < 0)
			return parse_fail(lx, "invalid address");
	} else if (is_special(t, '<')) {
		if (parse_angle(lx, out) < 0)
			return -1;
	} else if (is_special(t, ':') && !in_group && words > 0) {
		if (parse_list(lx, out, true) < 0)	/* RFC 6854 group */
			return -1;
	} else if (is_special(t, ',') && words == 0) {
		return 0;		/* obs-mbox-list: empty element */
	} else if (words == 0 &&
		   (in_group ? is_special(t, ';') : t->kind == T_END)) {
		return 1;
	} else if (in_group && t->kind == T_END) {
		return parse_fail(lx, "unterminated group");
	} else {
		return parse_fail(lx, words > 0 ? "mailbox without a domain"
				  : "invalid From syntax");
	}
	if (after_item(lx, in_group, &more) < 0)
		return -1;
	return more ? 0 : 1;
}

/* address-list (or the group-list of a group up to its ";"). */
static int parse_list(struct lexer *lx, struct dmarc_from *out,
		      bool in_group)
{
	struct token t;
	size_t words;
	int r;

	for (;;) {
		words = 0;
		while (lex_next(lx, &t) == T_ATOM || t.kind == T_QUOTED ||
		       is_special(&t, '.'))
			words++;
		if (t.kind == T_ERROR)
			return -1;
		r = parse_item(lx, out, in_group, words, &t);
		if (r < 0)
			return -1;
		if (r == 1)
			return 0;
	}
}

int dmarc_from_parse(const char *value, size_t len, struct dmarc_from *out,
		     const char **error_r)
{
	struct lexer lx = { .s = value, .len = len };
	size_t n0 = out->n;

	if (parse_list(&lx, out, false) < 0) {
		out->n = n0;
		*error_r = lx.error != NULL ? lx.error : "invalid From syntax";
		return -1;
	}
	return 0;
}
