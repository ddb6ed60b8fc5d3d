/* pop3_parse: the pure parts of the POP3 server (RFC 1939, RFC 2449,
 * RFC 5034): line framing with a length limit, the command-line parser
 * (keyword and up to two arguments, numbers strictly decimal and range
 * checked) and the client lines of an AUTH exchange. No I/O: the session
 * feeds bytes in, unit tests and the fuzzer feed them too, in any split
 * down to one byte at a time. */
#ifndef MK_POP3_PARSE_H
#define MK_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* RFC 2449 §4: a command line is at most 255 octets with its CRLF. */
#define POP3_LINE_MAX 255
/* One AUTH continuation line: base64 of a SASL response of up to 4096
 * bytes (SASL_RESPONSE_MAX) fits; RFC 5034 §4 lifts the 255 limit there. */
#define POP3_SASL_LINE_MAX 8192
/* RFC 2449 §3 keyword = 3*4VCHAR; RFC 1939 §7 keywords are 3-4 chars. */
#define POP3_KEYWORD_MAX 4

/* --- line framing --- */

enum pop3_line_status {
	POP3_LINE_MORE,		/* everything consumed, no line end yet */
	POP3_LINE_DONE,		/* a line is ready: pop3_line_text() */
	POP3_LINE_TOO_LONG,	/* a line over the limit ended; it was skipped */
};

/* Collects one line at a time. The terminator is LF with an optional CR
 * before it (a bare LF is accepted the way deployed servers do). */
struct pop3_line {
	struct buf text;	/* the line without CR LF, NUL-terminated */
	size_t max;		/* octets of a line counting CRLF */
	bool overflow;		/* over max: skipping to the line end */
	bool done;		/* the last feed returned POP3_LINE_DONE */
};

void pop3_line_init(struct pop3_line *l, size_t max);
void pop3_line_free(struct pop3_line *l);
/* Change the limit for the next line (command vs. AUTH response). */
void pop3_line_set_max(struct pop3_line *l, size_t max);
/* Forget a partial line (input discarded at STLS). */
void pop3_line_reset(struct pop3_line *l);
/* Consume data up to and including the first line end; *used_r says how
 * much was taken. After DONE the line stays readable until the next feed. */
enum pop3_line_status pop3_line_feed(struct pop3_line *l, const void *data,
				     size_t len, size_t *used_r);
/* The finished line, NUL-terminated (it may hold NUL bytes too: len is
 * authoritative); the caller may modify it in place. */
char *pop3_line_text(struct pop3_line *l, size_t *len_r);

/* --- commands --- */

enum pop3_verb {
	POP3_CMD_USER, POP3_CMD_PASS, POP3_CMD_APOP, POP3_CMD_AUTH,
	POP3_CMD_CAPA, POP3_CMD_STLS, POP3_CMD_QUIT, POP3_CMD_STAT,
	POP3_CMD_LIST, POP3_CMD_RETR, POP3_CMD_DELE, POP3_CMD_NOOP,
	POP3_CMD_RSET, POP3_CMD_TOP, POP3_CMD_UIDL,
	POP3_CMD_COUNT
};

struct pop3_command {
	enum pop3_verb verb;
	unsigned nargs;
	const char *arg[2];	/* NUL-terminated, point into the line */
	size_t arglen[2];
	/* numeric arguments (LIST, RETR, DELE, TOP, UIDL): arg[i] as a value;
	 * a message number is >= 1, TOP's line count may be 0 */
	uint32_t num[2];
};

/* Parse one command line (without CRLF, modified in place). 0, or -1 with
 * the text for "-ERR <text>" in *error_r; *unknown_r tells an unknown
 * keyword from a known one used wrongly. PASS takes the rest of the line
 * verbatim as its one argument (RFC 1939 §7: it may hold spaces). */
int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd,
		       bool *unknown_r, const char **error_r);
/* The keyword of a verb, upper-case ("USER"). */
const char *pop3_verb_name(enum pop3_verb verb);

/* --- AUTH (RFC 5034) --- */

enum pop3_sasl_status {
	POP3_SASL_DATA,		/* a response, decoded into out */
	POP3_SASL_CANCEL,	/* "*": the client gave up (RFC 5034 §4) */
	POP3_SASL_BAD,		/* not base64: the exchange fails */
};

/* The optional initial response of "AUTH mech ir": "=" is an empty one,
 * anything else must be base64. */
enum pop3_sasl_status pop3_sasl_initial(const char *arg, size_t len,
					struct buf *out);
/* A continuation line: "*" cancels, else base64 (empty = empty response).
 * Base64 is strict (sasl_b64_decode: padded, no blanks). */
enum pop3_sasl_status pop3_sasl_line(const char *line, size_t len,
				     struct buf *out);

#endif
