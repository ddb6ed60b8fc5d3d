/* mime: the MIME part tree of a message (RFC 2045, RFC 2046 §5).
 *
 * Input is a complete message in memory (read or mmap'ed from the store);
 * the parser does no I/O and never fails: malformed input gives the tree a
 * real server would show (Dovecot's rules are the reference, since IMAP
 * clients already live with them):
 *  - a boundary line is "--" + boundary at the start of a line, matched as
 *    a prefix, innermost multipart first, longest boundary wins; the line
 *    break before it belongs to the boundary (RFC 2046 §5.1.1);
 *  - an outer boundary ends every part inside it, even in a header;
 *  - Content-* fields count only in MIME parts: with MIME-Version, with a
 *    Content-Type, or inside a multipart; else the part is text/plain;
 *  - no (or a broken) Content-Type: text/plain, or message/rfc822 inside
 *    multipart/digest (RFC 2045 §5.2, RFC 2046 §5.1.5);
 *  - past a limit (depth, part count) the rest is kept as one leaf part,
 *    which IMAP shows as application/octet-stream.
 * Every part records the byte offsets of its header, body and end, and its
 * sizes as stored and as IMAP counts them (each bare LF counted as CRLF). */
#ifndef MK_MAIL_MIME_H
#define MK_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mail/mime_arena.h"
#include "mail/mime_param.h"

/* Defaults of struct mime_limits (limits on untrusted input). */
#define MIME_DEPTH_MAX 100		/* nesting of multipart/message parts */
#define MIME_PARTS_MAX 10000		/* parts in one message, root included */
#define MIME_HEADER_SCAN_MAX (1024 * 1024) /* header bytes read for Content-* */
/* Boundaries are cut to this length (RFC 2046 §5.1.1 allows 70; we keep a
 * margin, as Dovecot does); matching is by prefix, so they still match. */
#define MIME_BOUNDARY_MAX 80
/* A configured max_depth above this is cut to it (it bounds recursion). */
#define MIME_DEPTH_HARD_MAX 1000

struct mime_limits {
	unsigned max_depth;	/* a part at depth d holds parts if d+1 < this */
	unsigned max_parts;
	size_t max_header_scan;
};

struct mime_size {
	uint64_t physical;	/* bytes as stored */
	uint64_t virt;		/* bytes with every bare LF counted as CRLF */
	uint64_t lines;		/* LF count */
};

enum mime_part_flag {
	MIME_PART_MULTIPART = 1 << 0,	/* multipart/ *: children are its parts */
	MIME_PART_MESSAGE = 1 << 1,	/* message/rfc822: one child, the message */
	MIME_PART_TEXT = 1 << 2,	/* text/ * (or the text/plain default) */
	MIME_PART_IS_MIME = 1 << 3,	/* Content-* fields apply */
	MIME_PART_OVERFLOW = 1 << 4,	/* a limit stopped parsing inside */
	MIME_PART_DIGEST = 1 << 5,	/* multipart/digest */
};

struct mime_part {
	struct mime_part *parent, *next, *children;
	unsigned flags;
	unsigned nchildren;
	unsigned depth;			/* root 0 */
	size_t hdr_off;			/* header block start */
	size_t body_off;		/* body start (header incl. empty line before) */
	size_t end_off;			/* body end */
	struct mime_size header, body;
	/* Content-* fields (NULL when absent or not a MIME part); raw values
	 * keep their folds, IMAP output removes them. */
	const char *type, *subtype;	/* case as written */
	struct mime_params params;
	const char *encoding;		/* Content-Transfer-Encoding token */
	const char *id, *description, *md5, *location;
	const char *disposition;
	struct mime_params disp_params;
	const char **languages;
	unsigned nlanguages;
};

struct mime_message {
	const char *data;		/* not owned; must outlive the tree */
	size_t len;
	struct mime_part *root;
	unsigned nparts;
	bool overflow;			/* some limit was reached */
	struct mime_arena arena;
};

enum mime_cte {
	MIME_CTE_7BIT,
	MIME_CTE_8BIT,
	MIME_CTE_BINARY,
	MIME_CTE_QP,
	MIME_CTE_BASE64,
	MIME_CTE_UNKNOWN,
};

/* The defaults above. */
void mime_limits_default(struct mime_limits *l);
/* Parse data[0..len) into msg (limits NULL: defaults); free with
 * mime_message_free. Never fails. */
void mime_parse(struct mime_message *msg, const char *data, size_t len,
		const struct mime_limits *limits);
void mime_message_free(struct mime_message *msg);
/* The part's Content-Transfer-Encoding (absent: 7bit). */
enum mime_cte mime_part_cte(const struct mime_part *part);
/* Append the part's body with its transfer encoding undone (7bit/8bit
 * bodies with bare LFs get CRLF). -1 with a reason for an unknown encoding
 * (nothing appended) or damaged base64/quoted-printable (what could be
 * decoded is appended). */
int mime_part_decode(const struct mime_message *msg,
		     const struct mime_part *part, struct buf *out,
		     const char **error_r);
/* Append data[off..off+len) with every bare LF turned into CRLF. */
void mime_append_crlf(const char *data, size_t len, struct buf *out);
/* Sizes of data[from..to) (bare LF: the byte before it is not CR). */
void mime_range_size(const char *data, size_t from, size_t to,
		     struct mime_size *size);

#endif
