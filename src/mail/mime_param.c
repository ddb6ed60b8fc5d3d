/* mime_param: Content-Type / Content-Disposition / Content-Language /
 * Content-Transfer-Encoding values, with RFC 2231 parameter continuation,
 * charset and language (see mime_param.h for the leniency rules). */
#include "mail/mime_param.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/codec.h"
#include "mail/rfc2047.h"

struct cursor {
	const char *p;
	size_t len;
	size_t pos;
};

/* A parameter as written, before RFC 2231 processing. */
struct raw_param {
	char *name;		/* NUL-terminated, arena */
	const char *value;	/* arena, value_len bytes (may hold NULs) */
	size_t value_len;
};

/* One name*N[*] section. */
struct section {
	const char *base;	/* name without the "*N[*]" suffix */
	size_t base_len;
	unsigned long idx;
	bool extended;
	const struct raw_param *raw;
};

bool mime_is_token_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 §3.2.3 atext, 8-bit bytes accepted. */
static bool is_atext(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* Skip white space, folds and (nested) comments, RFC 5322 §3.2.2 CFWS;
 * an unterminated comment runs to the end. */
static void skip_cfws(struct cursor *c)
{
	unsigned depth = 0;

	for (; c->pos < c->len; c->pos++) {
		char ch = c->p[c->pos];

		if (depth > 0) {
			if (ch == '\\' && c->pos + 1 < c->len)
				c->pos++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
		} else if (ch == '(') {
			depth = 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
			return;
		}
	}
}

static size_t take_token(struct cursor *c)
{
	size_t start = c->pos;

	while (c->pos < c->len && mime_is_token_char((unsigned char)c->p[c->pos]))
		c->pos++;
	return c->pos - start;
}

/* RFC 5322 §3.2.4 quoted-string at c->pos ('"'): quoted pairs unescaped,
 * folds (CR, LF) dropped. Unterminated: runs to the end of the value. */
static void take_quoted(struct cursor *c, struct buf *out)
{
	for (c->pos++; c->pos < c->len; c->pos++) {
		char ch = c->p[c->pos];

		if (ch == '"') {
			c->pos++;
			return;
		}
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '\\' && c->pos + 1 < c->len &&
		    c->p[c->pos + 1] != '\r' && c->p[c->pos + 1] != '\n')
			ch = c->p[++c->pos];
		buf_appendc(out, ch);
	}
}

/* Unquoted values are read past tspecials ("boundary=a:b", "type=a/b" are
 * common), up to ';', white space, a comment or a quote. */
static bool is_value_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != ';' && c != '(' && c != '"';
}

/* Parameter value: quoted-string, token, or (a common mistake) an unquoted
 * encoded word "=?...?=" taken up to ';' or white space. */
static void take_value(struct cursor *c, struct buf *out)
{
	size_t start = c->pos;

	buf_append(out, "", 0);
	if (c->pos >= c->len)
		return;
	if (c->p[c->pos] == '"') {
		take_quoted(c, out);
		return;
	}
	if (c->p[c->pos] == '=') {
		while (c->pos < c->len && strchr("; \t\r\n", c->p[c->pos]) == NULL)
			c->pos++;
		buf_append(out, c->p + start, c->pos - start);
		return;
	}
	while (c->pos < c->len && is_value_char((unsigned char)c->p[c->pos]))
		c->pos++;
	buf_append(out, c->p + start, c->pos - start);
}

/* One "attribute = value" (after the ';'); false (and nothing added, the
 * cursor somewhere inside) if broken. */
static bool take_param(struct mime_arena *a, struct cursor *c,
		       struct raw_param *rp)
{
	struct buf value = BUF_INIT;
	size_t start, n;

	skip_cfws(c);
	start = c->pos;
	n = take_token(c);
	if (n == 0)
		return false;
	skip_cfws(c);
	if (c->pos >= c->len || c->p[c->pos] != '=')
		return false;
	c->pos++;
	skip_cfws(c);
	take_value(c, &value);
	skip_cfws(c);
	rp->name = mime_arena_strndup(a, c->p + start, n);
	rp->value = mime_arena_alloc(a, value.len + 1);
	memcpy((char *)rp->value, value.ptr, value.len);
	rp->value_len = value.len;
	buf_free(&value);
	return true;
}

/* All parameters as written. A missing ';' before "attribute=" is
 * forgiven; other garbage is skipped up to the next ';'. */
static unsigned take_params(struct mime_arena *a, struct cursor *c,
			    struct raw_param *out)
{
	unsigned n = 0;
	size_t start;

	skip_cfws(c);
	while (c->pos < c->len && n < MIME_PARAMS_MAX) {
		start = c->pos;
		if (c->p[c->pos] == ';')
			c->pos++;
		if (take_param(a, c, &out[n]))
			n++;
		else if (c->pos == start)
			c->pos++;	/* garbage: skip it (each byte once) */
	}
	return n;
}

static void percent_decode(const char *s, size_t len, struct buf *out)
{
	int hi, lo;

	buf_append(out, "", 0);
	for (size_t i = 0; i < len; i++) {
		hi = s[i] == '%' && i + 2 < len ? codec_hex_value((unsigned char)s[i + 1]) : -1;
		lo = hi >= 0 ? codec_hex_value((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			buf_appendc(out, s[i]);
			continue;
		}
		buf_appendc(out, (char)(hi << 4 | lo));
		i += 2;
	}
}

/* Bytes in charset (may be "") to UTF-8; unknown charsets pass as UTF-8. */
static void to_utf8(const char *cs, size_t cs_len, const struct buf *bytes,
		    struct buf *out)
{
	if (cs_len == 0 ||
	    rfc2047_convert(cs, cs_len, bytes->ptr, bytes->len, out) < 0)
		rfc2047_utf8_append(bytes->ptr, bytes->len, out);
}

/* RFC 2231 §4 "charset'language'%XX": where the text starts, or 0 when
 * the two quotes are missing (then the value is not decoded). */
static size_t ext_prefix(const char *v, size_t len, size_t *cs_len_r)
{
	const char *q1 = memchr(v, '\'', len), *q2;

	if (q1 == NULL)
		return 0;
	q2 = memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v));
	if (q2 == NULL)
		return 0;
	*cs_len_r = (size_t)(q1 - v);
	return (size_t)(q2 + 1 - v);
}

static char *decode_ext(struct mime_arena *a, const char *v, size_t len)
{
	struct buf bytes = BUF_INIT, out = BUF_INIT;
	size_t cs_len = 0, start = ext_prefix(v, len, &cs_len);
	char *ret;

	if (start == 0)
		return mime_arena_strndup(a, v, len);
	percent_decode(v + start, len - start, &bytes);
	to_utf8(v, cs_len, &bytes, &out);
	buf_append(&out, "", 0);
	ret = mime_arena_strndup(a, out.ptr, out.len);
	buf_free(&bytes);
	buf_free(&out);
	return ret;
}

static bool params_has(const struct mime_params *ps, const char *name,
		       size_t len)
{
	for (unsigned i = 0; i < ps->n; i++)
		if (strlen(ps->v[i].name) == len && str_nieq(ps->v[i].name, name, len))
			return true;
	return false;
}

/* Append unless a parameter of that name is already there (first wins). */
static void params_add(struct mime_arena *a, struct mime_params *ps,
		       const char *name, size_t name_len, const char *value)
{
	if (params_has(ps, name, name_len) || ps->n >= MIME_PARAMS_MAX)
		return;
	ps->v[ps->n].name = mime_arena_strndup(a, name, name_len);
	ps->v[ps->n].value = value;
	ps->n++;
}

/* Split "name*N", "name*N*" or "name*"; false for a plain name. */
static bool parse_section(const struct raw_param *rp, struct section *s)
{
	const char *star = strchr(rp->name, '*'), *p;
	char *end;

	if (star == NULL)
		return false;
	s->base = rp->name;
	s->base_len = (size_t)(star - rp->name);
	s->raw = rp;
	p = star;		/* "name*": the star marks an encoded value */
	s->idx = (unsigned long)-1;	/* not a section */
	if (p[1] >= '0' && p[1] <= '9') {
		s->idx = strtoul(p + 1, &end, 10);
		if (s->idx > UINT32_MAX)
			return false;
		p = end;
	}
	s->extended = *p == '*';
	if (s->extended)
		p++;
	return *p == '\0';
}

static int section_cmp(const void *x, const void *y)
{
	const struct section *a = x, *b = y;
	size_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
	int r = strncasecmp(a->base, b->base, n);

	if (r != 0)
		return r;
	if (a->base_len != b->base_len)
		return a->base_len < b->base_len ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool same_base(const struct section *a, const struct section *b)
{
	return a->base_len == b->base_len && str_nieq(a->base, b->base, a->base_len);
}

/* RFC 2231 §3/§4.1: sections 0..n-1 joined; the charset of section 0
 * applies to the whole value, converted once so split characters join. */
static char *join_sections(struct mime_arena *a, const struct section *s,
			   unsigned n)
{
	struct buf bytes = BUF_INIT, out = BUF_INIT;
	const char *cs = "";
	size_t cs_len = 0, start;
	char *ret;

	buf_append(&bytes, "", 0);
	for (unsigned i = 0; i < n; i++) {
		const char *v = s[i].raw->value;
		size_t len = s[i].raw->value_len;

		if (!s[i].extended) {
			buf_append(&bytes, v, len);
			continue;
		}
		start = i == 0 ? ext_prefix(v, len, &cs_len) : 0;
		if (i == 0)
			cs = v;
		percent_decode(v + start, len - start, &bytes);
	}
	to_utf8(cs, cs_len, &bytes, &out);
	buf_append(&out, "", 0);
	ret = mime_arena_strndup(a, out.ptr, out.len);
	buf_free(&bytes);
	buf_free(&out);
	return ret;
}

/* A group with a missing or repeated index: each section is its own
 * parameter "name*N" (what Dovecot does too). */
static void add_sections_apart(struct mime_arena *a, struct mime_params *ps,
			       const struct section *s, unsigned n)
{
	struct buf name = BUF_INIT;

	for (unsigned i = 0; i < n; i++) {
		const struct raw_param *rp = s[i].raw;

		buf_reset(&name);
		buf_append(&name, s[i].base, s[i].base_len);
		buf_printf(&name, "*%lu", s[i].idx);
		params_add(a, ps, name.ptr, name.len, s[i].extended ?
			   decode_ext(a, rp->value, rp->value_len) :
			   mime_arena_strndup(a, rp->value, rp->value_len));
	}
	buf_free(&name);
}

static void add_indexed(struct mime_arena *a, struct mime_params *ps,
			struct section *s, unsigned n)
{
	unsigned i, j;

	qsort(s, n, sizeof(*s), section_cmp);
	for (i = 0; i < n; i = j) {
		bool contiguous = true;

		for (j = i; j < n && same_base(&s[i], &s[j]); j++)
			contiguous &= s[j].idx == j - i;
		if (contiguous)
			params_add(a, ps, s[i].base, s[i].base_len,
				   join_sections(a, s + i, j - i));
		else
			add_sections_apart(a, ps, s + i, j - i);
	}
}

/* RFC 2231 processing of the raw list into ps. */
static void finish_params(struct mime_arena *a, const struct raw_param *raw,
			  unsigned n, struct mime_params *ps)
{
	struct section *sec = xcalloc(n ? n : 1, sizeof(*sec));
	unsigned nsec = 0;

	ps->v = n ? mime_arena_alloc(a, n * sizeof(*ps->v)) : NULL;
	ps->n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct section s;

		if (raw[i].name[0] == '*')
			continue;	/* no name left once the '*' goes */
		if (!parse_section(&raw[i], &s))
			params_add(a, ps, raw[i].name, strlen(raw[i].name),
				   mime_arena_strndup(a, raw[i].value, raw[i].value_len));
		else if (s.idx == (unsigned long)-1)
			params_add(a, ps, s.base, s.base_len,
				   decode_ext(a, raw[i].value, raw[i].value_len));
		else
			sec[nsec++] = s;
	}
	add_indexed(a, ps, sec, nsec);
	free(sec);
	if (ps->n == 0)
		ps->v = NULL;
}

static void parse_params(struct mime_arena *a, struct cursor *c,
			 struct mime_params *ps)
{
	struct raw_param *raw = xcalloc(MIME_PARAMS_MAX, sizeof(*raw));
	unsigned n = take_params(a, c, raw);

	finish_params(a, raw, n, ps);
	free(raw);
}

/* "attribute=" at the cursor: a parameter whose ';' was forgotten
 * ("multipart/mixed boundary=x" is common enough to honour). */
static bool param_follows(const struct cursor *c)
{
	struct cursor t = *c;

	if (take_token(&t) == 0)
		return false;
	skip_cfws(&t);
	return t.pos < t.len && t.p[t.pos] == '=';
}

int mime_content_type_parse(struct mime_arena *a, const char *value,
			    size_t len, const char **type_r,
			    const char **subtype_r, struct mime_params *params)
{
	struct cursor c = { value, len, 0 };
	size_t t, tn, s, sn;

	params->v = NULL;
	params->n = 0;
	skip_cfws(&c);
	t = c.pos;
	tn = take_token(&c);
	skip_cfws(&c);
	if (tn == 0 || c.pos >= len || value[c.pos] != '/')
		return -1;
	c.pos++;
	skip_cfws(&c);
	s = c.pos;
	sn = take_token(&c);
	skip_cfws(&c);
	if (sn == 0 || (c.pos < len && value[c.pos] != ';' && !param_follows(&c)))
		return -1;
	*type_r = mime_arena_strndup(a, value + t, tn);
	*subtype_r = mime_arena_strndup(a, value + s, sn);
	parse_params(a, &c, params);
	return 0;
}

void mime_disposition_parse(struct mime_arena *a, const char *value,
			    size_t len, const char **disposition_r,
			    struct mime_params *params)
{
	struct cursor c = { value, len, 0 };
	size_t start, n;

	*disposition_r = NULL;
	params->v = NULL;
	params->n = 0;
	skip_cfws(&c);
	start = c.pos;
	n = take_token(&c);
	if (n == 0)
		return;
	*disposition_r = mime_arena_strndup(a, value + start, n);
	parse_params(a, &c, params);
}

const char *mime_encoding_parse(struct mime_arena *a, const char *value,
				size_t len)
{
	struct cursor c = { value, len, 0 };
	size_t start, n;

	skip_cfws(&c);
	start = c.pos;
	n = take_token(&c);
	skip_cfws(&c);
	if (n == 0 || c.pos != len)
		return NULL;
	return mime_arena_strndup(a, value + start, n);
}

const char *mime_location_parse(struct mime_arena *a, const char *value,
				size_t len)
{
	char *out = mime_arena_alloc(a, len + 1);
	size_t n = 0;
	unsigned depth = 0;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		char ch = value[i];

		if ((depth > 0 || quoted) && ch == '\\' && i + 1 < len) {
			if (quoted)
				out[n++] = value[i + 1];
			i++;
		} else if (depth > 0) {
			depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
		} else if (ch == '"') {
			quoted = !quoted;
		} else if (ch == '(' && !quoted) {
			depth = 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
			out[n++] = ch;
		}
	}
	out[n] = '\0';
	return n > 0 ? out : NULL;
}

const char **mime_language_parse(struct mime_arena *a, const char *value,
				 size_t len, unsigned *n_r)
{
	const char **v = mime_arena_alloc(a, MIME_LANGUAGES_MAX * sizeof(*v));
	struct cursor c = { value, len, 0 };
	size_t start;

	*n_r = 0;
	skip_cfws(&c);
	while (c.pos < len && *n_r < MIME_LANGUAGES_MAX) {
		for (start = c.pos; c.pos < len && is_atext((unsigned char)value[c.pos]); c.pos++)
			;
		if (c.pos == start)
			break;
		v[(*n_r)++] = mime_arena_strndup(a, value + start, c.pos - start);
		skip_cfws(&c);
		if (c.pos >= len || value[c.pos] != ',')
			break;
		c.pos++;
		skip_cfws(&c);
	}
	return *n_r > 0 ? v : NULL;
}

const char *mime_params_get(const struct mime_params *params, const char *name)
{
	for (unsigned i = 0; i < params->n; i++)
		if (str_ieq(params->v[i].name, name))
			return params->v[i].value;
	return NULL;
}
