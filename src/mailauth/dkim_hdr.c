/* dkim_hdr: incremental header-section reader and field store. */
#include "dkim_hdr.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

enum {
	ST_LINE_START,	/* at the start of a line */
	ST_START_CR,	/* a CR at the start of a line: the empty line? */
	ST_LINE,	/* inside a line */
	ST_CR,		/* a CR inside a line */
};

void dkim_hdr_init(struct dkim_hdr *h, const struct dkim_limits *lim)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->raw);
	h->max_fields = lim->max_header_fields;
	h->max_field_len = lim->max_field_len;
	h->max_bytes = lim->max_header_bytes;
	h->state = ST_LINE_START;
}

void dkim_hdr_free(struct dkim_hdr *h)
{
	buf_free(&h->raw);
	free(h->f);
	h->f = NULL;
	h->n = h->cap = 0;
}

static void append(struct dkim_hdr *h, const char *p, size_t n)
{
	if (h->overflow || !h->open)
		return;
	if (h->raw.len - h->cur + n > h->max_field_len ||
	    h->raw.len + n > h->max_bytes) {
		buf_truncate(&h->raw, h->cur);	/* drop the partial field */
		h->open = false;
		h->overflow = true;
		return;
	}
	buf_append(&h->raw, p, n);
}

/* The name is what comes before the colon, without trailing WSP
 * (RFC 5322 §4.5 obsolete syntax); a field with no colon, or one that
 * starts with whitespace, has none and is never selected. */
static size_t name_length(const char *f, size_t len)
{
	const char *colon = memchr(f, ':', len);
	size_t n;

	if (colon == NULL || len == 0 || f[0] == ' ' || f[0] == '\t' ||
	    f[0] == '\r')
		return 0;
	n = (size_t)(colon - f);
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	return n;
}

static void close_field(struct dkim_hdr *h)
{
	struct dkim_field *f;

	if (!h->open)
		return;
	h->open = false;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 32;
		h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
	}
	f = &h->f[h->n++];
	f->off = h->cur;
	f->len = h->raw.len - h->cur;
	f->name_len = name_length(h->raw.ptr + f->off, f->len);
}

static void open_field(struct dkim_hdr *h)
{
	close_field(h);
	if (h->overflow)
		return;
	if (h->n >= h->max_fields) {
		h->overflow = true;
		return;
	}
	h->open = true;
	h->cur = h->raw.len;
}

/* One byte; returns true when it ended the header section. */
static bool step(struct dkim_hdr *h, char c)
{
	switch (h->state) {
	case ST_LINE_START:
		if (c == '\r' || c == '\n') {
			h->state = ST_START_CR;
			return c == '\n';	/* a bare LF empty line */
		}
		if ((c == ' ' || c == '\t') && h->open)
			append(h, "\r\n", 2);	/* a continuation line */
		else
			open_field(h);
		break;
	case ST_START_CR:
		if (c == '\n')
			return true;
		open_field(h);		/* a bare CR starts a line */
		append(h, "\r", 1);
		h->state = ST_LINE;
		return step(h, c);
	case ST_CR:
		if (c == '\n') {
			h->state = ST_LINE_START;
			return false;
		}
		append(h, "\r", 1);
		h->state = ST_LINE;
		return step(h, c);
	default:
		break;
	}
	if (c == '\r')
		h->state = ST_CR;
	else if (c == '\n')
		h->state = ST_LINE_START;
	else {
		append(h, &c, 1);
		h->state = ST_LINE;
	}
	return false;
}

size_t dkim_hdr_feed(struct dkim_hdr *h, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !h->done) {
		if (h->state == ST_LINE) {
			size_t run = 0;

			while (i + run < n && p[i + run] != '\r' &&
			       p[i + run] != '\n')
				run++;
			append(h, p + i, run);
			i += run;
			if (i == n)
				break;
		}
		if (step(h, p[i++])) {
			close_field(h);
			h->done = true;
		}
	}
	return i;
}

void dkim_hdr_finish(struct dkim_hdr *h)
{
	if (h->done)
		return;
	if (h->state == ST_CR)
		append(h, "\r", 1);
	close_field(h);
	h->done = true;
}

const char *dkim_hdr_text(const struct dkim_hdr *h, size_t i)
{
	return h->raw.ptr + h->f[i].off;
}

bool dkim_hdr_is(const struct dkim_hdr *h, size_t i, const char *name,
		 size_t len)
{
	return h->f[i].name_len == len && len > 0 &&
	       str_nieq(dkim_hdr_text(h, i), name, len);
}

size_t dkim_hdr_count(const struct dkim_hdr *h, const char *name, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		if (dkim_hdr_is(h, i, name, len))
			n++;
	return n;
}
