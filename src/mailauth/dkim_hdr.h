/* dkim_hdr: an incremental reader of the message header section that keeps
 * every header field (RFC 5322 §2.2) for the DKIM hashes, bounded by the
 * limits; it stops at the empty line so the caller streams the body on.
 * Line ends are CRLF; a bare LF is taken as CRLF (stored as CRLF). */
#ifndef MK_DKIM_HDR_H
#define MK_DKIM_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"

struct dkim_field {
	size_t off;		/* into raw */
	size_t len;		/* name to end of value, no final CRLF */
	size_t name_len;	/* without WSP before the colon; 0: none */
};

struct dkim_hdr {
	struct buf raw;		/* the fields, back to back */
	struct dkim_field *f;
	size_t n, cap;
	size_t max_fields, max_field_len, max_bytes;
	int state;
	size_t cur;		/* raw offset of the open field */
	bool open;		/* a field is being read */
	bool done;		/* the empty line was seen: the body follows */
	bool overflow;		/* over a limit: later fields were dropped */
};

void dkim_hdr_init(struct dkim_hdr *h, const struct dkim_limits *lim);
/* Read header bytes; returns how many were used: all of them, or fewer
 * when the header ends (done is then true and the rest is body). */
size_t dkim_hdr_feed(struct dkim_hdr *h, const char *p, size_t n);
/* The message ended (perhaps without an empty line): close the last field. */
void dkim_hdr_finish(struct dkim_hdr *h);
void dkim_hdr_free(struct dkim_hdr *h);

/* Field i's text, and whether its name is name[len] (case-insensitive). */
const char *dkim_hdr_text(const struct dkim_hdr *h, size_t i);
bool dkim_hdr_is(const struct dkim_hdr *h, size_t i, const char *name,
		 size_t len);
/* Number of fields called name[len]. */
size_t dkim_hdr_count(const struct dkim_hdr *h, const char *name, size_t len);

#endif
