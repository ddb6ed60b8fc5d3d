/* dkim_canon: the "simple" and "relaxed" canonicalisation algorithms
 * (RFC 6376 §3.4). Header fields are canonicalised whole; the body is a
 * byte-at-a-time state machine that keeps no more than a counter of
 * pending empty lines, so a body of any size streams through it. */
#ifndef MK_DKIM_CANON_H
#define MK_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"

/* Append the canonical form of one header field (name, colon, value
 * with its folding CRLFs, no final CRLF) to out, then CRLF if crlf. */
void dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
		       bool crlf, struct buf *out);

/* Receives canonical body bytes. */
typedef void dkim_body_out_fn(void *ctx, const char *p, size_t n);

#define DKIM_BODY_CHUNK 512	/* output is passed on in pieces this big */

struct dkim_body {
	enum dkim_canon canon;
	dkim_body_out_fn *out;
	void *ctx;
	uint64_t empty_lines;	/* empty lines not yet known to be inner */
	uint64_t total;		/* canonical bytes passed on so far */
	bool cr;		/* the last byte was a CR */
	bool wsp;		/* relaxed: whitespace run not yet written */
	bool in_line;		/* the current line has content */
	size_t n;
	char pend[DKIM_BODY_CHUNK];
};

void dkim_body_init(struct dkim_body *b, enum dkim_canon c,
		    dkim_body_out_fn *out, void *ctx);
/* Raw body bytes, any split points (CRLF line ends; a bare LF ends a
 * line too, a bare CR is data). */
void dkim_body_feed(struct dkim_body *b, const char *p, size_t n);
/* End of body: the trailing empty-line rules (§3.4.3, §3.4.4). */
void dkim_body_end(struct dkim_body *b);

#endif
