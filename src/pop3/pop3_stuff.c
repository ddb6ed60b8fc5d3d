/* pop3_stuff: CRLF, byte-stuffing and the TOP cut for RETR and TOP. */
#include "pop3/pop3_stuff.h"

#include <string.h>

void pop3_stuff_init(struct pop3_stuff *st, bool top, uint32_t lines)
{
	memset(st, 0, sizeof(*st));
	st->top = top;
	st->lines_left = lines;
	st->in_header = true;
	st->line_start = true;
}

bool pop3_stuff_done(const struct pop3_stuff *st)
{
	return st->done;
}

/* A line ended (its LF is out): count it for TOP. */
static void end_line(struct pop3_stuff *st)
{
	bool empty = st->line_len == 0 || (st->line_len == 1 && st->prev_cr);

	st->line_start = true;
	st->prev_cr = false;
	st->line_len = 0;
	if (st->in_header) {
		/* RFC 1939 §7 TOP: the header, the blank line, then n lines */
		if (empty)
			st->in_header = false;
		if (empty && st->top && st->lines_left == 0)
			st->done = true;
		return;
	}
	if (st->top && --st->lines_left == 0)
		st->done = true;
}

void pop3_stuff_feed(struct pop3_stuff *st, const void *data, size_t len,
		     struct buf *out)
{
	const char *p = data;

	while (len > 0 && !st->done) {
		const char *lf;
		size_t n;

		if (st->line_start) {
			/* RFC 1939 §3: byte-stuff a leading termination octet */
			if (*p == '.')
				buf_appendc(out, '.');
			st->line_start = false;
		}
		lf = memchr(p, '\n', len);
		n = lf != NULL ? (size_t)(lf - p) : len;
		buf_append(out, p, n);
		if (n > 0)
			st->prev_cr = p[n - 1] == '\r';
		st->line_len += n;
		p += n;
		len -= n;
		if (lf == NULL)
			break;
		buf_append(out, st->prev_cr ? "\n" : "\r\n", st->prev_cr ? 1 : 2);
		p++;
		len--;
		end_line(st);
	}
}

void pop3_stuff_finish(struct pop3_stuff *st, struct buf *out)
{
	if (!st->line_start)
		buf_append(out, st->prev_cr ? "\n" : "\r\n", st->prev_cr ? 1 : 2);
	buf_append(out, ".\r\n", 3);
	st->line_start = true;
	st->done = true;
}
