/* codec: Content-Transfer-Encoding decoders (RFC 2045 §6.7 quoted-printable,
 * §6.8 base64) and the RFC 2047 "Q" word decoder.
 *
 * The body decoders are incremental state machines: feed any split of the
 * input (one byte at a time gives the same output as one call), then call
 * *_finish. They are lenient the way real mail needs: bad bytes are skipped
 * or passed through and counted, never fatal, so IMAP BINARY and SEARCH can
 * still show what there is; *_finish reports whether anything was wrong.
 * Pure: no I/O; output is appended to a struct buf. */
#ifndef MK_MAIL_CODEC_H
#define MK_MAIL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* Trailing white space kept back while we wait to see whether a line break
 * follows (RFC 2045 §6.7 rule 3 deletes it). Longer runs are flushed as
 * content: a limit on untrusted input, lines are meant to be <= 76. */
#define CODEC_QP_WS_MAX 256

struct codec_b64 {
	uint32_t acc;		/* pending bits, 6 per symbol */
	unsigned nsym;		/* symbols in acc (0-3) */
	bool padded;		/* saw '=': the data has ended */
	unsigned long invalid;	/* bytes outside the alphabet (not white space) */
};

enum codec_qp_state {
	CODEC_QP_TEXT,
	CODEC_QP_CR,		/* saw CR */
	CODEC_QP_EQ,		/* saw '=' */
	CODEC_QP_EQ_HEX,	/* saw '=' and one hex digit */
	CODEC_QP_EQ_WS,		/* saw '=' then white space */
	CODEC_QP_EQ_CR,		/* saw '=' [white space] CR */
};

struct codec_qp {
	enum codec_qp_state state;
	char hex;			/* first digit in CODEC_QP_EQ_HEX */
	char ws[CODEC_QP_WS_MAX];	/* held-back white space */
	size_t nws;
	unsigned long invalid;		/* malformed '=' sequences */
};

/* Start a base64 decode. */
void codec_b64_init(struct codec_b64 *st);
/* Decode a chunk; white space and other non-alphabet bytes are skipped. */
void codec_b64_decode(struct codec_b64 *st, const void *in, size_t len,
		      struct buf *out);
/* End of data: -1 when bytes were invalid or the last quantum was cut. */
int codec_b64_finish(struct codec_b64 *st, struct buf *out);

/* Start a quoted-printable decode. */
void codec_qp_init(struct codec_qp *st);
/* Decode a chunk; every line break (CRLF or bare LF) comes out as CRLF. */
void codec_qp_decode(struct codec_qp *st, const void *in, size_t len,
		     struct buf *out);
/* End of data: -1 when malformed '=' sequences were seen. */
int codec_qp_finish(struct codec_qp *st, struct buf *out);

/* RFC 2047 §4.2 "Q" encoded-text ('_' is a space, =XX an octet); -1 when
 * something was malformed (it is copied through). */
int codec_q_decode(const char *in, size_t len, struct buf *out);
/* Whole-buffer base64 decode (RFC 2047 §4.1 "B"); -1 as codec_b64_finish. */
int codec_b64_decode_all(const char *in, size_t len, struct buf *out);

/* Value of a hex digit, either case, or -1. */
int codec_hex_value(unsigned char c);

#endif
