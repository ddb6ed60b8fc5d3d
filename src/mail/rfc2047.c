/* rfc2047: encoded words (RFC 2047 §2, §4, §6.2) and charset conversion.
 *
 * The value is cut into tokens (white space, text, encoded word) in one
 * pass; the search for the "?=" that closes a word reuses its last result,
 * so a header full of "=?" stays linear. */
#include "mail/rfc2047.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "lib/str.h"
#include "mail/addr.h"
#include "mail/codec.h"

#define UTF8_REPLACEMENT "\xef\xbf\xbd"

void rfc2047_utf8_append(const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;
	size_t i = 0, start = 0, n;

	if (len == 0)
		return;		/* in may be NULL then */
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = mail_utf8_seq_len(p + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		buf_append(out, p + start, i - start);
		buf_appends(out, UTF8_REPLACEMENT);
		start = ++i;
	}
	buf_append(out, p + start, len - start);
}

/* Names that mail uses but glibc iconv spells differently. */
static const char *const charset_aliases[][2] = {
	{ "ks_c_5601-1987", "CP949" },
	{ "x-sjis", "SHIFT_JIS" },
	{ "x-gbk", "GBK" },
	{ "unicode-1-1-utf-7", "UTF-7" },
	{ "x-euc-jp", "EUC-JP" },
	{ "x-mac-roman", "MACINTOSH" },
};

/* Copy a charset name that is safe to hand to iconv_open (no "//"
 * suffixes, no odd bytes); false if it is not one. */
static bool charset_name(const char *cs, size_t len, char *dst, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)cs[i];

		if (c == '*')
			break;		/* RFC 2231 §5 language suffix */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("-_.:+()", c)))
			return false;
		if (n + 1 >= size)
			return false;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	if (n == 0)
		return false;
	for (size_t i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++)
		if (str_ieq(dst, charset_aliases[i][0]))
			return str_copy(dst, size, charset_aliases[i][1]) == 0;
	return true;
}

/* Text that is (or claims to be) ASCII or UTF-8 needs no iconv. */
static bool charset_is_utf8(const char *name)
{
	return str_ieq(name, "utf-8") || str_ieq(name, "utf8") ||
	       str_ieq(name, "us-ascii") || str_ieq(name, "ascii");
}

static void iconv_all(iconv_t cd, const char *in, size_t len, struct buf *out)
{
	char tmp[1024], *ip = (char *)in, *op;
	size_t ileft = len, oleft;

	while (ileft > 0) {
		op = tmp;
		oleft = sizeof(tmp);
		if (iconv(cd, &ip, &ileft, &op, &oleft) != (size_t)-1 ||
		    errno == E2BIG) {
			buf_append(out, tmp, sizeof(tmp) - oleft);
			continue;
		}
		buf_append(out, tmp, sizeof(tmp) - oleft);
		buf_appends(out, UTF8_REPLACEMENT);
		if (errno != EILSEQ)
			break;	/* EINVAL: cut sequence at the end */
		ip++;
		ileft--;
	}
}

int rfc2047_convert(const char *charset, size_t charset_len, const void *in,
		    size_t len, struct buf *out)
{
	char name[RFC2047_CHARSET_MAX + 1];
	iconv_t cd;

	if (!charset_name(charset, charset_len, name, sizeof(name)))
		return -1;
	if (len == 0)
		return 0;
	if (charset_is_utf8(name)) {
		rfc2047_utf8_append(in, len, out);
		return 0;
	}
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return -1;
	iconv_all(cd, in, len, out);
	iconv_close(cd);
	return 0;
}

/* One encoded word found in the value. */
struct ew {
	const char *charset;
	size_t charset_len;
	char encoding;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t end;		/* index just past "?=" */
};

enum tok { TOK_NONE, TOK_TEXT, TOK_EW };

struct decoder {
	const char *in;
	size_t len;
	size_t close_pos;	/* cached position of the next "?=" */
	struct buf *out;
	struct buf pending;	/* decoded bytes of adjacent words */
	char charset[RFC2047_CHARSET_MAX + 1];	/* ... in this charset */
	bool have_pending;
	enum tok prev;		/* last token written (or pending) */
	size_t ws_start, ws_end;	/* white space not yet written */
};

/* Next "?=" at or after pos, or len. */
static size_t find_close(struct decoder *d, size_t pos)
{
	const char *p;

	if (d->close_pos != (size_t)-1 && d->close_pos >= pos)
		return d->close_pos;
	p = pos < d->len ? memmem(d->in + pos, d->len - pos, "?=", 2) : NULL;
	d->close_pos = p != NULL ? (size_t)(p - d->in) : d->len;
	return d->close_pos;
}

/* RFC 2047 §2: "=?" charset "?" encoding "?" encoded-text "?=". */
static bool parse_ew(struct decoder *d, size_t pos, struct ew *w)
{
	const char *in = d->in;
	size_t i = pos + 2, close;

	if (pos + 1 >= d->len || in[pos] != '=' || in[pos + 1] != '?')
		return false;
	w->charset = in + i;
	while (i < d->len && in[i] != '?' && (unsigned char)in[i] > ' ' &&
	       in[i] != 0x7f && i - pos < RFC2047_CHARSET_MAX * 2)
		i++;
	w->charset_len = (size_t)(in + i - w->charset);
	if (w->charset_len == 0 || i + 2 >= d->len || in[i + 2] != '?')
		return false;
	w->encoding = (char)(in[i + 1] & ~0x20);
	if (w->encoding != 'B' && w->encoding != 'Q')
		return false;
	i += 3;
	close = find_close(d, i);
	if (close >= d->len)
		return false;
	w->text = in + i;
	w->text_len = close - i;
	w->end = close + 2;
	return true;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Bytes with folds (CR/LF and the white space after them) removed: an
 * encoded word folded in its middle is still one word. */
static void append_unfolded(const char *p, size_t len, struct buf *dst)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\r' && p[i] != '\n') {
			buf_appendc(dst, p[i]);
			continue;
		}
		while (i + 1 < len && is_wsp(p[i + 1]))
			i++;
	}
	buf_append(dst, "", 0);
}

static void flush_pending(struct decoder *d)
{
	if (!d->have_pending)
		return;
	if (rfc2047_convert(d->charset, strlen(d->charset), d->pending.ptr,
			    d->pending.len, d->out) < 0)
		rfc2047_utf8_append(d->pending.ptr, d->pending.len, d->out);
	buf_reset(&d->pending);
	d->have_pending = false;
}

/* The held white space: one space if it holds a fold, else as written. */
static void write_space(struct decoder *d)
{
	const char *ws = d->in + d->ws_start;
	size_t n = d->ws_end - d->ws_start;

	if (n > 0 && d->prev != TOK_NONE) {
		if (memchr(ws, '\n', n) != NULL || memchr(ws, '\r', n) != NULL)
			buf_appendc(d->out, ' ');
		else
			buf_append(d->out, ws, n);
	}
	d->ws_start = d->ws_end = 0;
}

static bool charset_known(const char *name)
{
	iconv_t cd;

	if (charset_is_utf8(name))
		return true;
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

/* Decode one word into the pending bytes; false if its charset is unknown
 * (the caller then keeps the word as text). */
static bool add_ew(struct decoder *d, const struct ew *w)
{
	char name[RFC2047_CHARSET_MAX + 1];
	struct buf text = BUF_INIT;

	if (!charset_name(w->charset, w->charset_len, name, sizeof(name)))
		return false;
	if (!(d->have_pending && str_ieq(name, d->charset)) &&
	    !charset_known(name))
		return false;
	if (d->prev == TOK_EW)
		d->ws_start = d->ws_end = 0;	/* §6.2: dropped */
	if (d->have_pending && !str_ieq(name, d->charset))
		flush_pending(d);
	write_space(d);
	append_unfolded(w->text, w->text_len, &text);
	if (w->encoding == 'B')
		(void)codec_b64_decode_all(text.ptr, text.len, &d->pending);
	else
		(void)codec_q_decode(text.ptr, text.len, &d->pending);
	buf_free(&text);
	(void)str_copy(d->charset, sizeof(d->charset), name);
	d->have_pending = true;
	d->prev = TOK_EW;
	return true;
}

static void add_text(struct decoder *d, const char *p, size_t len)
{
	struct buf tmp = BUF_INIT;

	flush_pending(d);
	write_space(d);
	append_unfolded(p, len, &tmp);
	rfc2047_utf8_append(tmp.ptr, tmp.len, d->out);
	buf_free(&tmp);
	d->prev = TOK_TEXT;
}

/* End of a text token: white space or the start of an encoded word. */
static size_t text_end(struct decoder *d, size_t i, struct ew *w)
{
	for (i++; i < d->len && !is_wsp(d->in[i]); i++)
		if (d->in[i] == '=' && parse_ew(d, i, w))
			break;
	return i;
}

void rfc2047_decode(const char *in, size_t len, struct buf *out)
{
	struct decoder d = { .in = in, .len = len, .close_pos = (size_t)-1,
			     .out = out, .pending = BUF_INIT };
	struct ew w;
	size_t i = 0, end;

	buf_append(out, "", 0);
	while (i < len) {
		if (is_wsp(in[i])) {
			for (d.ws_start = i; i < len && is_wsp(in[i]); i++)
				;
			d.ws_end = i;
			continue;
		}
		if (parse_ew(&d, i, &w) && add_ew(&d, &w)) {
			i = w.end;
			continue;
		}
		end = parse_ew(&d, i, &w) ? w.end : text_end(&d, i, &w);
		add_text(&d, in + i, end - i);
		i = end;
	}
	flush_pending(&d);
	buf_free(&d.pending);
}
