/* imap_utf7: modified UTF-7 (RFC 3501 §5.1.3), canonical encoder and
 * strict decoder, and the mailbox-name checks. */
#include "imap/imap_utf7.h"

#include <stdint.h>
#include <string.h>

/* RFC 3501 §5.1.3: modified BASE64 of RFC 2152 with ',' for '/'. */
static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int fail(const char **error_r, const char *why)
{
	if (error_r != NULL)
		*error_r = why;
	return -1;
}

/* §5.1.3: printable US-ASCII other than '&' stands for itself. */
static bool is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e && c != '&';
}

static int b64_value(unsigned char ch)
{
	const char *p = ch != '\0' ? strchr(b64_chars, ch) : NULL;

	return p != NULL ? (int)(p - b64_chars) : -1;
}

/* Decode one UTF-8 scalar value at in[*pos]; -1 for an invalid sequence
 * (overlong, surrogate, above U+10FFFF, truncated). */
static int utf8_next(const unsigned char *in, size_t len, size_t *pos,
		     uint32_t *cp)
{
	static const uint32_t min[4] = { 0, 0x80, 0x800, 0x10000 };
	unsigned char b = in[*pos];
	unsigned n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 :
		     (b & 0xf0) == 0xe0 ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 4;
	uint32_t c;

	if (n == 4 || len - *pos <= n)
		return -1;
	c = n == 0 ? b : b & (0x3f >> n);
	for (unsigned i = 1; i <= n; i++) {
		if ((in[*pos + i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (in[*pos + i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*pos += n + 1;
	*cp = c;
	return 0;
}

static void utf8_put(struct buf *out, uint32_t c)
{
	char s[4];
	size_t n;

	if (c < 0x80) {
		s[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		s[0] = (char)(0xc0 | c >> 6);
		n = 2;
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | c >> 12);
		n = 3;
	} else {
		s[0] = (char)(0xf0 | c >> 18);
		n = 4;
	}
	for (size_t i = 1; i < n; i++)
		s[i] = (char)(0x80 | ((c >> (6 * (n - 1 - i))) & 0x3f));
	buf_append(out, s, n);
}

/* The bit accumulator of one base64 run. */
struct b64_state {
	uint32_t bits;
	unsigned nbits;
};

static void b64_put16(struct buf *out, struct b64_state *st, uint32_t unit)
{
	st->bits = st->bits << 16 | unit;
	st->nbits += 16;
	while (st->nbits >= 6) {
		st->nbits -= 6;
		buf_appendc(out, b64_chars[(st->bits >> st->nbits) & 0x3f]);
	}
	st->bits &= (1u << st->nbits) - 1;
}

/* Close a base64 run: pad the last character with zero bits, then '-'. */
static void b64_close(struct buf *out, struct b64_state *st)
{
	if (st->nbits > 0)
		buf_appendc(out, b64_chars[(st->bits << (6 - st->nbits)) & 0x3f]);
	buf_appendc(out, '-');
	st->bits = st->nbits = 0;
}

int imap_utf7_encode(const char *in, size_t len, struct buf *out,
		     const char **error_r)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t start = out->len, pos = 0;
	struct b64_state st = { 0, 0 };
	bool shifted = false;
	uint32_t c;

	while (pos < len) {
		int ret = utf8_next(u, len, &pos, &c);

		if (ret < 0 || c == 0) {
			buf_truncate(out, start);
			return fail(error_r, ret < 0 ? "invalid UTF-8" : "NUL in name");
		}
		if (is_direct(c) || c == '&') {
			if (shifted)
				b64_close(out, &st);
			shifted = false;
			buf_append(out, c == '&' ? "&-" : (const char *)&u[pos - 1],
				   c == '&' ? 2 : 1);
			continue;
		}
		if (!shifted)
			buf_appendc(out, '&');
		shifted = true;
		if (c >= 0x10000) {	/* UTF-16 surrogate pair */
			b64_put16(out, &st, 0xd800 | ((c - 0x10000) >> 10));
			c = 0xdc00 | ((c - 0x10000) & 0x3ff);
		}
		b64_put16(out, &st, c);
	}
	if (shifted)
		b64_close(out, &st);
	return 0;
}

/* One UTF-16 unit of a base64 run; hi holds a pending high surrogate. */
static int decode_unit(uint32_t unit, uint32_t *hi, struct buf *out,
		       const char **error_r)
{
	if (*hi != 0) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return fail(error_r, "unpaired surrogate");
		utf8_put(out, 0x10000 + ((*hi - 0xd800) << 10) + (unit - 0xdc00));
		*hi = 0;
		return 0;
	}
	if (unit >= 0xd800 && unit <= 0xdbff) {
		*hi = unit;
		return 0;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return fail(error_r, "unpaired surrogate");
	if (unit == 0)
		return fail(error_r, "NUL in name");
	if (is_direct(unit) || unit == '&')
		return fail(error_r, "printable ASCII in base64 (not canonical)");
	utf8_put(out, unit);
	return 0;
}

/* Decode the base64 run at in[*pos] (after '&') through its '-'. */
static int decode_run(const char *in, size_t len, size_t *pos,
		      struct buf *out, const char **error_r)
{
	struct b64_state st = { 0, 0 };
	uint32_t hi = 0;
	size_t nchars = 0;
	int v;

	for (; *pos < len && in[*pos] != '-'; (*pos)++, nchars++) {
		if ((v = b64_value((unsigned char)in[*pos])) < 0)
			return fail(error_r, "invalid base64 character");
		st.bits = (st.bits << 6 | (uint32_t)v) & 0x3fffff;
		st.nbits += 6;
		if (st.nbits >= 16) {
			st.nbits -= 16;
			if (decode_unit((st.bits >> st.nbits) & 0xffff, &hi, out,
					error_r) < 0)
				return -1;
		}
	}
	if (*pos == len)
		return fail(error_r, "unterminated base64");
	(*pos)++;
	if (hi != 0)
		return fail(error_r, "unpaired surrogate");
	/* Canonical: fewer than 6 leftover bits, all zero (RFC 2152). */
	if (st.nbits >= 6 || (st.bits & ((1u << st.nbits) - 1)) != 0)
		return fail(error_r, "bad base64 padding (not canonical)");
	return nchars == 0 ? fail(error_r, "empty base64") : 0;
}

/* One step of the decoder at in[*pos]; *after_run tracks "-&" joins. */
static int decode_step(const char *in, size_t len, size_t *pos,
		       bool *after_run, struct buf *out, const char **error_r)
{
	unsigned char ch = (unsigned char)in[(*pos)++];

	if (ch == '&' && *pos < len && in[*pos] == '-') {
		buf_appendc(out, '&');
		(*pos)++;
	} else if (ch == '&') {
		if (*after_run)
			return fail(error_r, "adjacent base64 runs (not canonical)");
		*after_run = true;
		return decode_run(in, len, pos, out, error_r);
	} else if (is_direct(ch)) {
		buf_appendc(out, (char)ch);
	} else {
		return fail(error_r, ch >= 0x80 ? "8-bit byte in modified UTF-7" :
				     "control character in modified UTF-7");
	}
	*after_run = false;
	return 0;
}

int imap_utf7_decode(const char *in, size_t len, struct buf *out,
		     const char **error_r)
{
	size_t start = out->len, pos = 0;
	bool after_run = false;

	while (pos < len) {
		if (decode_step(in, len, &pos, &after_run, out, error_r) < 0) {
			buf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

bool imap_utf7_is_valid(const char *in, size_t len)
{
	struct buf tmp = BUF_INIT;
	const char *error;
	int ret = imap_utf7_decode(in, len, &tmp, &error);

	buf_free(&tmp);
	return ret == 0;
}

int imap_utf7_name_check(const char *name, size_t len, const char **error_r)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t pos = 0;
	uint32_t c;

	if (len == 0)
		return fail(error_r, "empty mailbox name");
	if (len > IMAP_MAILBOX_NAME_MAX)
		return fail(error_r, "mailbox name too long");
	while (pos < len) {
		if (utf8_next(u, len, &pos, &c) < 0)
			return fail(error_r, "mailbox name is not valid UTF-8");
		if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			return fail(error_r, "control character in mailbox name");
	}
	if (memmem(name, len, "..", 2) != NULL)
		return fail(error_r, "\"..\" in mailbox name");
	return 0;
}
