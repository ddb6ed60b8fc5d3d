/* smtp_data: the DATA/BDAT stream decoder, a byte-driven state machine
 * with a fast path for runs of ordinary text.
 *
 * States (DATA mode):
 *   LINE_START  after a real CRLF (or at the start): '.' is special
 *   DOT         "<CRLF>." seen: CR may start the terminator, else unstuff
 *   DOT_CR      "<CRLF>.<CR>" seen: LF ends the data, anything else
 *               makes that CR bare
 *   TEXT        inside a line, or after a bare CR/LF (not a line start)
 *   CR          a CR waiting for its LF (kept across feed() calls)
 * BDAT mode uses LINE_START, TEXT and CR only. */
#include "smtp/smtp_data.h"

#include <string.h>

enum smtp_data_state {
	ST_LINE_START,
	ST_DOT,
	ST_DOT_CR,
	ST_TEXT,
	ST_CR,
};

void smtp_data_init(struct smtp_data *d, const struct smtp_data_limits *lim,
		    bool bdat)
{
	memset(d, 0, sizeof(*d));
	d->lim = *lim;
	d->bdat = bdat;
	d->state = ST_LINE_START;
}

/* Append decoded bytes; past max_size only count them, so the output is
 * exactly the first max_size decoded bytes however the input was split. */
static void data_emit(struct smtp_data *d, const char *p, size_t n,
		      struct buf *out)
{
	uint64_t room = UINT64_MAX;

	if (d->lim.max_size != 0)
		room = d->size < d->lim.max_size ? d->lim.max_size - d->size : 0;
	if (n > room)
		d->too_big = true;
	buf_append(out, p, n > room ? (size_t)room : n);
	d->size += n;
}

/* n more octets on the current line; the CRLF (2) is counted in advance. */
static void data_line_add(struct smtp_data *d, size_t n)
{
	d->line_len += n;
	if (d->lim.max_line != 0 && d->line_len + 2 > d->lim.max_line)
		d->line_too_long = true;
}

/* RFC 5321 §2.3.8: CR and LF only occur together as CRLF. A bare one is
 * flagged; the next octet is NOT at a line start (no dot handling). */
static void data_bare(struct smtp_data *d, char c, struct buf *out)
{
	d->bare_newline = true;
	if (d->lim.bare == SMTP_BARE_NORMALIZE)
		data_emit(d, "\r\n", 2, out);
	else
		data_emit(d, &c, 1, out);
	d->line_len = 0;
	d->state = ST_TEXT;
}

/* One octet inside a line. */
static void data_text_byte(struct smtp_data *d, char c, struct buf *out)
{
	d->state = ST_TEXT;
	if (c == '\r') {
		d->state = ST_CR;
	} else if (c == '\n') {
		data_bare(d, '\n', out);
	} else {
		data_line_add(d, 1);
		data_emit(d, &c, 1, out);
	}
}

/* One octet in any state but TEXT's fast path. */
static void data_step(struct smtp_data *d, char c, struct buf *out)
{
	switch (d->state) {
	case ST_LINE_START:
		/* RFC 5321 §4.5.2: a leading '.' is stuffing or the terminator */
		if (c == '.' && !d->bdat)
			d->state = ST_DOT;
		else
			data_text_byte(d, c, out);
		break;
	case ST_DOT:
		if (c == '\r')
			d->state = ST_DOT_CR;
		else
			data_text_byte(d, c, out);	/* the dot is dropped */
		break;
	case ST_DOT_CR:
		if (c == '\n') {
			d->done = true;		/* §4.1.1.4 <CRLF>.<CRLF> */
			break;
		}
		data_bare(d, '\r', out);	/* dropped dot, bare CR */
		data_text_byte(d, c, out);
		break;
	case ST_CR:
		if (c == '\n') {
			data_emit(d, "\r\n", 2, out);
			d->line_len = 0;
			d->state = ST_LINE_START;
			break;
		}
		data_bare(d, '\r', out);
		data_text_byte(d, c, out);
		break;
	default:
		data_text_byte(d, c, out);
		break;
	}
}

/* Length of the run of octets other than CR and LF at in[0..len). */
static size_t data_text_run(const char *in, size_t len)
{
	size_t n = 0;

	while (n < len && in[n] != '\r' && in[n] != '\n')
		n++;
	return n;
}

size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      struct buf *out)
{
	size_t i = 0, n;

	while (i < len && !d->done) {
		if (d->state == ST_TEXT &&
		    (n = data_text_run(in + i, len - i)) > 0) {
			data_line_add(d, n);
			data_emit(d, in + i, n, out);
			i += n;
			continue;
		}
		data_step(d, in[i++], out);
	}
	return i;
}

void smtp_data_finish_bdat(struct smtp_data *d, struct buf *out)
{
	if (d->state == ST_CR)
		data_bare(d, '\r', out);
	if (d->state == ST_TEXT && d->line_len > 0)
		data_emit(d, "\r\n", 2, out);
	d->line_len = 0;
	d->state = ST_LINE_START;
}
