/* pop3_stuff: a message as RETR and TOP send it (RFC 1939 §3, §7): every
 * line ends in CRLF (a bare LF in the stored file gets its CR), a line
 * that starts with "." gets a second one (byte-stuffing), and the
 * termination ".CRLF" follows; TOP n stops after the header, the blank
 * line and n body lines. Pure and incremental: the session reads the
 * message file in chunks and feeds them here, in any split. */
#ifndef MK_POP3_STUFF_H
#define MK_POP3_STUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct pop3_stuff {
	bool top;		/* TOP: stop after lines_left body lines */
	uint32_t lines_left;
	bool in_header;		/* before the blank line ending the header */
	bool line_start;	/* the next byte begins a line */
	bool prev_cr;		/* the last byte of this line was CR */
	size_t line_len;	/* bytes of the current line so far */
	bool done;		/* TOP has all it wants: the rest is ignored */
};

/* RETR: top false; TOP n: top true, lines n. */
void pop3_stuff_init(struct pop3_stuff *st, bool top, uint32_t lines);
/* Encode data into out (appended). */
void pop3_stuff_feed(struct pop3_stuff *st, const void *data, size_t len,
		     struct buf *out);
/* TOP has what it wants: no need to read further. */
bool pop3_stuff_done(const struct pop3_stuff *st);
/* After the last byte: end an unterminated last line, then ".CRLF". */
void pop3_stuff_finish(struct pop3_stuff *st, struct buf *out);

#endif
