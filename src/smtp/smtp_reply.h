/* smtp_reply: incremental parser for SMTP server replies (RFC 5321 §4.2),
 * single- and multi-line, with the RFC 2034 enhanced status code of the
 * first line picked out. Pure: fed bytes, no I/O; any split of the input
 * (one byte at a time included) gives the same replies. */
#ifndef MK_SMTP_REPLY_H
#define MK_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* RFC 5321 §4.5.3.1.5 says 512 octets; real servers send longer lines. */
#define SMTP_REPLY_LINE_MAX 2048
/* Lines in one multi-line reply (EHLO answers are ~20). */
#define SMTP_REPLY_LINES_MAX 128
#define SMTP_ENH_MAX 16

struct smtp_reply {
	int code;			/* 200..599 (first digit 2-5) */
	char enh[SMTP_ENH_MAX];		/* "5.1.1" if the first line has one, else "" */
	unsigned nlines;
	struct buf text;		/* the lines' text after "NNN-"/"NNN ", joined by '\n' */
};

enum smtp_reply_status {
	SMTP_REPLY_MORE,	/* all input consumed, no complete reply yet */
	SMTP_REPLY_DONE,	/* a reply is complete in p->reply */
	SMTP_REPLY_ERROR,	/* malformed input: the connection is unusable */
};

struct smtp_reply_parser {
	struct buf line;	/* the current incomplete line */
	struct smtp_reply reply;
	bool done;		/* reply is complete: the next feed starts a new one */
	bool failed;
};

void smtp_reply_parser_init(struct smtp_reply_parser *p);
void smtp_reply_parser_free(struct smtp_reply_parser *p);
/* Consume bytes up to the end of one reply; *used says how many. DONE leaves
 * the reply in p->reply until the next call; ERROR is sticky. */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply_parser *p,
				       const char *data, size_t len,
				       size_t *used, const char **error_r);
/* Append the reply as one line for logs and DSNs: "550 5.1.1 No such user"
 * (lines joined by a space, control characters replaced by '?'). */
void smtp_reply_oneline(const struct smtp_reply *r, struct buf *out);
/* The class of a code: 2, 3, 4 or 5. */
static inline int smtp_reply_class(int code) { return code / 100; }

#endif
