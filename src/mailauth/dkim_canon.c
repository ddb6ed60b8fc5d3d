/* dkim_canon: simple and relaxed canonicalisation (RFC 6376 §3.4). */
#include "dkim_canon.h"

#include <string.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* §3.4.2: lower-case the name, unfold, squeeze WSP runs to one SP, drop
 * WSP at the end of the value and around the colon. */
static void relaxed_header(const char *f, size_t len, struct buf *out)
{
	bool in_name = true, sp = false, started = false;

	buf_reserve(out, len + 2);
	out->ptr[out->len] = '\0';	/* terminated even if nothing comes */
	for (size_t i = 0; i < len; i++) {
		char c = f[i];

		if (c == '\r' && i + 1 < len && f[i + 1] == '\n') {
			i++;	/* unfold: the WSP after it stays */
			continue;
		}
		if (is_wsp(c)) {
			sp = started;
			continue;
		}
		if (in_name && c == ':') {
			buf_appendc(out, ':');
			in_name = false;
			sp = started = false;
			continue;
		}
		if (sp)
			buf_appendc(out, ' ');
		sp = false;
		started = true;
		buf_appendc(out, in_name ? lower(c) : c);
	}
}

/* §3.4.1 simple: the field exactly as it is. */
void dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
		       bool crlf, struct buf *out)
{
	if (c == DKIM_CANON_RELAXED)
		relaxed_header(field, len, out);
	else
		buf_append(out, field, len);
	if (crlf)
		buf_append(out, "\r\n", 2);
}

void dkim_body_init(struct dkim_body *b, enum dkim_canon c,
		    dkim_body_out_fn *out, void *ctx)
{
	b->canon = c;
	b->out = out;
	b->ctx = ctx;
	b->empty_lines = 0;
	b->total = 0;
	b->cr = b->wsp = b->in_line = false;
	b->n = 0;
}

static void flush(struct dkim_body *b)
{
	if (b->n == 0)
		return;
	b->out(b->ctx, b->pend, b->n);
	b->total += b->n;
	b->n = 0;
}

static void put(struct dkim_body *b, char c)
{
	if (b->n == sizeof(b->pend))
		flush(b);
	b->pend[b->n++] = c;
}

static void put_crlf(struct dkim_body *b)
{
	put(b, '\r');
	put(b, '\n');
}

/* A byte of line content. Empty lines are held back until content shows
 * they are not at the end of the body (§3.4.3, §3.4.4). */
static void line_byte(struct dkim_body *b, char c)
{
	if (b->canon == DKIM_CANON_RELAXED && is_wsp(c)) {
		b->wsp = true;	/* §3.4.4: runs become one SP, none at EOL */
		return;
	}
	if (!b->in_line) {
		for (; b->empty_lines > 0; b->empty_lines--)
			put_crlf(b);
		b->in_line = true;
	}
	if (b->wsp)
		put(b, ' ');
	b->wsp = false;
	put(b, c);
}

static void line_end(struct dkim_body *b)
{
	b->wsp = false;
	if (b->in_line)
		put_crlf(b);
	else
		b->empty_lines++;
	b->in_line = false;
}

/* Bytes of line content without CR, LF, SP or HTAB: copied as they are. */
static size_t plain_run(struct dkim_body *b, const char *p, size_t n)
{
	size_t k = 0;

	while (k < n && p[k] != '\r' && p[k] != '\n' && p[k] != ' ' &&
	       p[k] != '\t')
		k++;
	if (k == 0)
		return 0;
	line_byte(b, p[0]);
	for (size_t i = 1; i < k;) {
		size_t room = sizeof(b->pend) - b->n, m = k - i < room ? k - i : room;
		if (m == 0) {
			flush(b);
			continue;
		}
		memcpy(b->pend + b->n, p + i, m);
		b->n += m;
		i += m;
	}
	return k;
}

void dkim_body_feed(struct dkim_body *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		size_t k;

		if (!b->cr && (k = plain_run(b, p + i, n - i)) > 0) {
			i += k - 1;
			continue;
		}

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				line_end(b);
				continue;
			}
			line_byte(b, '\r');	/* a bare CR is data */
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			line_end(b);
		else
			line_byte(b, c);
	}
}

/* A last line without CRLF gets one; trailing empty lines go. The simple
 * canonical form of an empty body is CRLF, the relaxed one is empty. */
void dkim_body_end(struct dkim_body *b)
{
	if (b->cr) {
		b->cr = false;
		line_byte(b, '\r');
	}
	if (b->in_line)
		line_end(b);
	b->empty_lines = 0;
	flush(b);
	if (b->canon == DKIM_CANON_SIMPLE && b->total == 0) {
		put_crlf(b);
		flush(b);
	}
}
