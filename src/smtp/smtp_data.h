/* smtp_data: incremental decoder of the DATA and BDAT message streams
 * (RFC 5321 §4.1.1.4, §4.5.2, §2.3.8; RFC 3030 §2).
 *
 * DATA ends only at a real <CRLF>.<CRLF>; a '.' after a bare CR or bare LF
 * is not at a line start (it neither ends the data nor is unstuffed), which
 * defeats SMTP smuggling. Bare CR/LF are flagged and, in normalize mode,
 * written as CRLF. Pure: no I/O; feed it any split of the input. */
#ifndef MK_SMTP_DATA_H
#define MK_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

enum smtp_bare_policy {
	SMTP_BARE_NORMALIZE,	/* bare CR / bare LF are written as CRLF */
	SMTP_BARE_REJECT,	/* written as received; the caller refuses the message */
};

#define SMTP_DATA_LINE_MAX 1000	/* RFC 5321 §4.5.3.1.6, counting CRLF */

struct smtp_data_limits {
	size_t max_line;	/* octets per line counting CRLF, not the stuffed dot; 0 = unlimited */
	uint64_t max_size;	/* decoded bytes; 0 = unlimited */
	enum smtp_bare_policy bare;
};

struct smtp_data {
	struct smtp_data_limits lim;
	bool bdat;		/* BDAT chunks: no dot handling, no terminator */
	int state;		/* internal (smtp_data.c) */
	size_t line_len;	/* octets of the current line so far */
	bool done;		/* DATA: the terminating CRLF.CRLF was consumed */
	bool bare_newline;	/* a bare CR or bare LF was seen */
	bool line_too_long;	/* a line exceeded lim.max_line */
	bool too_big;		/* size exceeded lim.max_size; output stopped at max_size bytes */
	uint64_t size;		/* decoded bytes so far; keeps counting past max_size */
};

/* Start a message; for DATA the stream begins at a line start (after "DATA" CRLF). */
void smtp_data_init(struct smtp_data *d, const struct smtp_data_limits *lim, bool bdat);
/* Decode input, appending to out; returns bytes consumed (DATA: stops right after CRLF.CRLF, sets done; BDAT: all). */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len, struct buf *out);
/* After the LAST chunk: a pending CR counts as bare, and an unterminated last line gets CRLF. */
void smtp_data_finish_bdat(struct smtp_data *d, struct buf *out);

#endif
