/* spf_macro: SPF macro-string syntax and expansion (RFC 7208 §7).
 * A macro-string is a run of tokens: literals, the escapes %% %_ %-, and
 * macros %{letter digits r delimiters}. One tokenizer serves both the
 * syntax check (record parsing) and the expansion. */
#include "mailauth/spf_macro.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "mailauth/spf.h"

/* Largest useful DIGIT transformer: more parts than a name can have. */
#define MACRO_MAX_DIGITS 255

enum mtok_kind { MT_LITERAL, MT_ESCAPE, MT_MACRO };

struct mtok {
	enum mtok_kind kind;
	size_t len;		/* bytes of input consumed */
	char ch;		/* MT_LITERAL: the byte; MT_MACRO: the letter */
	const char *esc;	/* MT_ESCAPE: the expansion */
	unsigned digits;	/* MT_MACRO: right-hand parts kept, 0 = all */
	bool reverse;
	const char *delims;	/* MT_MACRO: delimiter characters */
	size_t ndelims;
};

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* §7.1: macro-letter, with c r t only in explanations. */
static bool letter_ok(char letter, int flags)
{
	char l = lower(letter);

	if (l == '\0')
		return false;
	if (strchr("slodipvh", l) != NULL)
		return true;
	return flags != SPF_MACRO_DOMAIN && strchr("crt", l) != NULL;
}

/* delimiter = "." / "-" / "+" / "," / "/" / "_" / "=" */
static bool is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* Parse "%{" letter transformers *delimiter "}" at s (s[0] == '%'). */
static int mtok_macro(const char *s, size_t len, int flags, struct mtok *t,
		      const char **error_r)
{
	size_t i = 2;

	if (len < 3 || !letter_ok(s[2], flags)) {
		*error_r = "unknown or misplaced macro letter";
		return -1;
	}
	t->kind = MT_MACRO;
	t->ch = s[i++];
	t->digits = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		t->digits = t->digits * 10 + (unsigned)(s[i] - '0');
		if (t->digits > MACRO_MAX_DIGITS)
			t->digits = MACRO_MAX_DIGITS;
	}
	if (i > 3 && t->digits == 0) {
		*error_r = "macro digit transformer must be nonzero";
		return -1;
	}
	t->reverse = i < len && lower(s[i]) == 'r';
	if (t->reverse)
		i++;
	t->delims = s + i;
	while (i < len && is_delim(s[i]))
		i++;
	t->ndelims = (size_t)(s + i - t->delims);
	if (i >= len || s[i] != '}') {
		*error_r = "malformed macro";
		return -1;
	}
	t->len = i + 1;
	return 0;
}

/* The next token of s[0..len), len > 0. */
static int mtok_next(const char *s, size_t len, int flags, struct mtok *t,
		     const char **error_r)
{
	unsigned char c = (unsigned char)s[0];

	if (c != '%') {
		/* macro-literal = %x21-24 / %x26-7E; SP in explain-string */
		if ((c < 0x21 || c > 0x7e) && !(c == ' ' && flags == SPF_MACRO_EXP)) {
			*error_r = "invalid character in macro-string";
			return -1;
		}
		t->kind = MT_LITERAL;
		t->ch = (char)c;
		t->len = 1;
		return 0;
	}
	t->kind = MT_ESCAPE;
	t->len = 2;
	switch (len > 1 ? s[1] : '\0') {
	case '%':
		t->esc = "%";
		return 0;
	case '_':
		t->esc = " ";
		return 0;
	case '-':
		t->esc = "%20";
		return 0;
	case '{':
		return mtok_macro(s, len, flags, t, error_r);
	}
	*error_r = "'%' not followed by '{', '%', '_' or '-'";
	return -1;
}

int spf_macro_check(const char *s, size_t len, int flags, bool *ends_macro_r,
		    const char **error_r)
{
	struct mtok t = { .kind = MT_LITERAL };

	for (size_t i = 0; i < len; i += t.len) {
		if (mtok_next(s + i, len - i, flags, &t, error_r) < 0)
			return -1;
	}
	if (ends_macro_r != NULL)
		*ends_macro_r = len > 0 && t.kind != MT_LITERAL;
	return 0;
}

static const char *letter_value(const struct spf_macro_ctx *ctx, char letter)
{
	switch (lower(letter)) {
	case 's': return ctx->s;
	case 'l': return ctx->l;
	case 'o': return ctx->o;
	case 'd': return ctx->d;
	case 'i': return ctx->i;
	case 'p': return ctx->p;
	case 'v': return ctx->v;
	case 'h': return ctx->h;
	case 'c': return ctx->c;
	case 'r': return ctx->r;
	case 't': return ctx->t;
	}
	return NULL;
}

/* §7.3: upper-case macros are URL-escaped; unreserved stays as it is. */
static void append_part(struct buf *out, const char *p, size_t n, bool url)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!url || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_appendc(out, (char)c);
			continue;
		}
		buf_appendc(out, '%');
		buf_appendc(out, hex[c >> 4]);
		buf_appendc(out, hex[c & 15]);
	}
}

/* Does the macro split its value at c? (default delimiter ".") */
static bool splits_at(const struct mtok *t, char c)
{
	if (t->ndelims == 0)
		return c == '.';
	return c != '\0' && memchr(t->delims, c, t->ndelims) != NULL;
}

/* Split v on the delimiters into parts[] {offset, length}; returns how
 * many (a value without delimiters is one part). */
static size_t split_parts(const char *v, const struct mtok *t,
			  size_t (*parts)[2])
{
	size_t n = 0, start = 0;

	for (size_t i = 0;; i++) {
		if (v[i] != '\0' && !splits_at(t, v[i]))
			continue;
		parts[n][0] = start;
		parts[n][1] = i - start;
		n++;
		if (v[i] == '\0')
			return n;
		start = i + 1;
	}
}

/* §7.3: split, optionally reverse, keep the right-most digits parts, join
 * with ".", URL-escape for upper-case letters. */
static void expand_macro(const struct mtok *t, const char *v, struct buf *out)
{
	size_t count = 1, n, first;
	size_t (*parts)[2];
	bool url = t->ch >= 'A' && t->ch <= 'Z';

	for (const char *p = v; *p != '\0'; p++)
		count += splits_at(t, *p);
	parts = xmalloc(count * sizeof(*parts));
	n = split_parts(v, t, parts);
	first = (t->digits != 0 && t->digits < n) ? n - t->digits : 0;
	for (size_t k = first; k < n; k++) {
		size_t j = t->reverse ? n - 1 - k : k;

		if (k > first)
			buf_appendc(out, '.');
		append_part(out, v + parts[j][0], parts[j][1], url);
	}
	free(parts);
}

enum spf_macro_status spf_macro_expand(const char *s, size_t len, int flags,
				       const struct spf_macro_ctx *ctx,
				       struct buf *out, const char **error_r)
{
	size_t start = out->len;
	struct mtok t;

	/* a syntax error anywhere wins over asking for %{p} */
	if (spf_macro_check(s, len, flags, NULL, error_r) < 0)
		return SPF_MACRO_ERROR;
	for (size_t i = 0; i < len; i += t.len) {
		if (mtok_next(s + i, len - i, flags, &t, error_r) < 0)
			return SPF_MACRO_ERROR;
		if (t.kind == MT_LITERAL) {
			buf_appendc(out, t.ch);
		} else if (t.kind == MT_ESCAPE) {
			buf_appends(out, t.esc);
		} else {
			const char *v = letter_value(ctx, t.ch);

			if (v == NULL && lower(t.ch) == 'p') {
				buf_truncate(out, start);
				return SPF_MACRO_NEED_P;
			}
			expand_macro(&t, v != NULL ? v : "", out);
		}
		if (out->len - start > SPF_MAX_EXPANSION) {
			buf_truncate(out, start);
			*error_r = "macro expansion too long";
			return SPF_MACRO_ERROR;
		}
	}
	return SPF_MACRO_OK;
}

void spf_macro_ip(const struct spf_ip *ip, char *i, size_t isize, char *c,
		  size_t csize, const char **v)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	if (ip->family == 4) {
		snprintf(i, isize, "%u.%u.%u.%u", ip->b[0], ip->b[1], ip->b[2],
			 ip->b[3]);
		snprintf(c, csize, "%s", i);
		*v = "in-addr";
		return;
	}
	/* §7.3: "i" is the dot-format nibbles; upper-case hex as the suite
	 * and pyspf expect (the case of hex digits is not significant). */
	for (int n = 0; n < 32 && k + 2 < isize; n++) {
		unsigned nib = n % 2 ? ip->b[n / 2] & 15 : ip->b[n / 2] >> 4;

		if (n > 0)
			i[k++] = '.';
		i[k++] = hex[nib];
	}
	i[k] = '\0';
	if (inet_ntop(AF_INET6, ip->b, c, (socklen_t)csize) == NULL)
		snprintf(c, csize, "unknown");
	*v = "ip6";
}

void spf_macro_revname(const struct spf_ip *ip, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	struct buf b = BUF_INIT;

	if (ip->family == 4) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", ip->b[3],
			 ip->b[2], ip->b[1], ip->b[0]);
		return;
	}
	for (int n = 31; n >= 0; n--) {
		buf_appendc(&b, hex[n % 2 ? ip->b[n / 2] & 15 : ip->b[n / 2] >> 4]);
		buf_appendc(&b, '.');
	}
	buf_appends(&b, "ip6.arpa");
	snprintf(out, size, "%s", buf_cstr(&b));
	buf_free(&b);
}
