/* store_cache: what the index caches per message, computed once from the
 * message bytes: the IMAP ENVELOPE, BODY and BODYSTRUCTURE values (the
 * src/imap writers over the src/mail MIME tree) and the decoded text the
 * full-text index holds:
 *   header text  every header field as "Name: value" with RFC 2047 words
 *                decoded (for SEARCH TEXT);
 *   body text    the bodies of text/ * parts, transfer encoding undone and
 *                the charset converted to UTF-8 (raw bytes when iconv does
 *                not know it), plus the header text of attached
 *                message/rfc822 parts (for SEARCH BODY and TEXT).
 * Texts are valid UTF-8 (invalid bytes become U+FFFD) without NULs, and
 * are cut at a limit; the index then scans the file for that message.
 * store_cache_compute is pure; store_cache_fd maps a file. Internal. */
#ifndef MK_STORE_CACHE_H
#define MK_STORE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Decoded text bytes indexed per message (header and body together);
 * a larger message is searched by decoding its file. */
#define STORE_FTS_TEXT_MAX (4u * 1024 * 1024)
/* Encoded bytes decoded per step while the text limit is checked. */
#define STORE_CACHE_DECODE_CHUNK (64 * 1024)

/* What to compute. */
enum store_cache_what {
	STORE_CACHE_STRUCTURE = 1 << 0,	/* ENVELOPE, BODY, BODYSTRUCTURE */
	STORE_CACHE_TEXT = 1 << 1,	/* header and body text */
};

struct store_cache {
	struct buf envelope;
	struct buf body;		/* BODY */
	struct buf bodystructure;
	struct buf hdr_text;
	struct buf body_text;
	bool has_structure, has_text;	/* what was computed */
	bool text_full;			/* nothing was cut */
};

void store_cache_init(struct store_cache *c);
void store_cache_free(struct store_cache *c);
/* Fill c from the message data[0..len) with what (enum store_cache_what),
 * texts cut at text_max bytes (0: no limit). */
void store_cache_compute(struct store_cache *c, const char *data, size_t len,
			 unsigned what, size_t text_max);
/* The same from the file behind fd (mapped read-only); -1 if it cannot be
 * read. */
int store_cache_fd(struct store_cache *c, int fd, unsigned what,
		   size_t text_max, const char **error_r);

#endif
