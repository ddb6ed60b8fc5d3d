/* dkim_tags: tag-list parsing (RFC 6376 §3.2) and the value syntaxes used
 * inside DKIM-Signature fields and key records. */
#include "dkim_tags.h"

#include <string.h>

#include "lib/b64.h"
#include "lib/str.h"

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* VALCHAR is %x21-3A / %x3C-7E; 8-bit bytes are let through for the
 * UTF-8 values of RFC 8616 (each tag's own syntax then decides). */
static bool is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

/* Length of the whitespace at s[i]: WSP, and CRLF only when followed by
 * WSP (FWS, §2.8); 0 if none. */
static size_t fws(const char *s, size_t len, size_t i)
{
	size_t j = i;

	for (;;) {
		if (j < len && is_wsp((unsigned char)s[j]))
			j++;
		else if (j + 2 < len && s[j] == '\r' && s[j + 1] == '\n' &&
			 is_wsp((unsigned char)s[j + 2]))
			j += 3;
		else
			return j - i;
	}
}

static int fail(const char **error_r, const char *why)
{
	if (error_r != NULL)
		*error_r = why;
	return -1;
}

/* tag-name = ALPHA *ALNUMPUNC */
static int parse_name(const char *s, size_t len, size_t *i,
		      struct dkim_tag *t)
{
	size_t start = *i;

	if (start >= len || !is_alpha((unsigned char)s[start]))
		return -1;
	while (*i < len && (is_alpha((unsigned char)s[*i]) ||
			    is_digit((unsigned char)s[*i]) || s[*i] == '_'))
		(*i)++;
	t->name = s + start;
	t->name_len = *i - start;
	return 0;
}

/* tag-value = [ tval *( 1*(WSP / FWS) tval ) ], up to ';' or the end. */
static int parse_value(const char *s, size_t len, size_t *i,
		       struct dkim_tag *t)
{
	size_t j = *i, end;

	t->raw_off = j;
	j += fws(s, len, j);
	t->value = s + j;
	end = j;
	while (j < len && s[j] != ';') {
		size_t w = fws(s, len, j);

		if (w > 0) {
			j += w;
			continue;
		}
		if (!is_valchar((unsigned char)s[j]))
			return -1;
		end = ++j;
	}
	t->value_len = (size_t)(s + end - t->value);
	t->raw_len = j - t->raw_off;
	*i = j;
	return 0;
}

static const struct dkim_tag *find(const struct dkim_taglist *t,
				   const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == len &&
		    memcmp(t->tag[i].name, name, len) == 0)
			return &t->tag[i];
	return NULL;
}

/* tag-list = tag-spec *( ";" tag-spec ) [ ";" ] (§3.2) */
int dkim_tags_parse(const char *s, size_t len, struct dkim_taglist *out,
		    const char **error_r)
{
	size_t i = 0;

	out->n = 0;
	for (;;) {
		struct dkim_tag t;

		i += fws(s, len, i);
		if (i == len)
			break;
		if (out->n == DKIM_TAGS_MAX)
			return fail(error_r, "too many tags");
		if (parse_name(s, len, &i, &t) < 0)
			return fail(error_r, "bad tag name");
		i += fws(s, len, i);
		if (i == len || s[i] != '=')
			return fail(error_r, "tag without '='");
		i++;
		if (parse_value(s, len, &i, &t) < 0)
			return fail(error_r, "bad character in tag value");
		if (find(out, t.name, t.name_len) != NULL)
			return fail(error_r, "duplicate tag");
		out->tag[out->n++] = t;
		if (i == len)
			break;
		i++;	/* the ';' */
	}
	if (out->n == 0)
		return fail(error_r, "empty tag list");
	return 0;
}

const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *t,
				     const char *name)
{
	return find(t, name, strlen(name));
}

bool dkim_tag_is(const struct dkim_tag *t, const char *word)
{
	size_t n = strlen(word);

	return t->value_len == n && str_nieq(t->value, word, n);
}

static bool is_space(unsigned char c)
{
	return is_wsp(c) || c == '\r' || c == '\n';
}

/* The next item of a colon-separated list, trimmed; false at the end. */
static bool list_next(const char *p, size_t len, size_t *pos,
		      struct dkim_span *item)
{
	size_t i = *pos, end;

	if (i > len)
		return false;
	end = i;
	while (end < len && p[end] != ':')
		end++;
	*pos = end + 1;
	while (i < end && is_space((unsigned char)p[i]))
		i++;
	while (end > i && is_space((unsigned char)p[end - 1]))
		end--;
	item->p = p + i;
	item->len = end - i;
	return true;
}

int dkim_list_split(const char *p, size_t len, struct dkim_span *items,
		    size_t max, size_t *n_out)
{
	struct dkim_span item;
	size_t pos = 0, n = 0;

	while (list_next(p, len, &pos, &item)) {
		if (item.len == 0 || n == max)
			return -1;
		items[n++] = item;
	}
	*n_out = n;
	return 0;
}

bool dkim_list_has(const char *p, size_t len, const char *word)
{
	struct dkim_span item;
	size_t pos = 0, n = strlen(word);

	while (list_next(p, len, &pos, &item))
		if (item.len == n && str_nieq(item.p, word, n))
			return true;
	return false;
}


/* base64string (§2.4, RFC 2045 §6.8): whitespace anywhere, "=" padding
 * only at the end of the last quantum. */
int dkim_b64_decode(const char *s, size_t len, unsigned char *out,
		    size_t cap, size_t *out_len)
{
	uint32_t q = 0;
	unsigned n = 0, pad = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v = c == '=' ? 0 : b64_value(c);

		if (is_space(c))
			continue;
		if (v < 0 || (pad > 0 && c != '=') || (c == '=' && ++pad > 2))
			return -1;
		q = q << 6 | (uint32_t)v;
		if (++n < 4)
			continue;
		if (o + 3 - pad > cap)
			return -1;
		for (unsigned k = 0; k < 3 - pad; k++)
			out[o++] = (unsigned char)(q >> (16 - 8 * k));
		n = 0;
		q = 0;
	}
	if (n != 0)
		return -1;
	*out_len = o;
	return 0;
}

void dkim_b64_encode(const unsigned char *p, size_t n, struct buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";

	buf_reserve(out, (n + 2) / 3 * 4);
	out->ptr[out->len] = '\0';	/* terminated even when n == 0 */
	for (size_t i = 0; i < n; i += 3) {
		uint32_t q = (uint32_t)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			q |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			q |= p[i + 2];
		buf_appendc(out, tab[q >> 18 & 63]);
		buf_appendc(out, tab[q >> 12 & 63]);
		buf_appendc(out, left > 1 ? tab[q >> 6 & 63] : '=');
		buf_appendc(out, left > 2 ? tab[q & 63] : '=');
	}
}

int dkim_number(const char *p, size_t len, unsigned max_digits,
		uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > max_digits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static bool label_ok(const char *p, size_t len, bool selector)
{
	if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' &&
		    !(selector && c == '_'))
			return false;
	}
	return true;
}

/* domain-name = sub-domain *( "." sub-domain ), RFC 5321 §4.1.2 labels */
bool dkim_domain_ok(const char *p, size_t len, bool selector)
{
	size_t start = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (!label_ok(p + start, i - start, selector))
			return false;
		start = i + 1;
	}
	return true;
}


/* dkim-quoted-printable (§2.11): "=" 2HEXDIG encodes one octet; folding
 * whitespace is ignored. */
int dkim_qp_decode(const char *p, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		int hi, lo;

		if (is_space(c))
			continue;
		if (c != '=') {
			buf_appendc(out, (char)c);
			continue;
		}
		if (i + 2 >= len)
			return -1;
		hi = hex_value((unsigned char)p[i + 1]);
		lo = hex_value((unsigned char)p[i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		buf_appendc(out, (char)(hi << 4 | lo));
		i += 2;
	}
	return 0;
}

void dkim_text_copy(char *out, size_t size, const char *p, size_t len,
		    bool lower)
{
	size_t n = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c > 0x7e)
			c = '?';
		else if (lower && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		out[n++] = (char)c;
	}
	out[n] = '\0';
}
