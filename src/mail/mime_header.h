/* mime_header: RFC 5322 §2.2 header fields of one header block.
 *
 * Works on the raw bytes of a header block (as stored; CRLF or bare LF line
 * ends both accepted). Iteration yields each field with its name (trailing
 * white space before ':' removed), its raw value (after ':' and leading
 * white space, folds still inside, final line break excluded) and its byte
 * range, so IMAP HEADER.FIELDS can copy fields exactly. A line without ':'
 * is yielded with an empty name, like Dovecot, so no byte is lost.
 * Pure: no I/O, no allocation. */
#ifndef MK_MAIL_MIME_HEADER_H
#define MK_MAIL_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Longest field name taken as a name (RFC 5322 §2.1.1 line limit); a
 * longer "name" makes the whole line a value. */
#define MIME_HEADER_NAME_MAX 1000

struct mime_header_field {
	const char *name;	/* not NUL-terminated */
	size_t name_len;	/* 0: a line without ':' */
	const char *value;	/* raw, may contain folds */
	size_t value_len;
	size_t start;		/* offset of the field in the block */
	size_t end;		/* offset just past its final line break */
};

struct mime_header_iter {
	const char *data;
	size_t len;
	size_t pos;
};

/* Length of the header block at data: up to and including the empty line
 * that ends it, or len if there is none. */
size_t mime_header_block_len(const char *data, size_t len);
/* Iterate the fields of a header block (the empty line may be included). */
void mime_header_iter_init(struct mime_header_iter *it, const char *data,
			   size_t len);
/* Next field: 1, or 0 at the end of the block. */
int mime_header_next(struct mime_header_iter *it, struct mime_header_field *f);
/* First field called name (case-insensitive): 1 found, 0 not. */
int mime_header_find(const char *data, size_t len, const char *name,
		     struct mime_header_field *f);
/* Field name equality, ASCII case-insensitive. */
bool mime_header_name_is(const struct mime_header_field *f, const char *name);
/* Append value with every CR and LF removed (RFC 5322 §2.2.3 unfolding). */
void mime_header_unfold(const char *value, size_t len, struct buf *out);
/* Length of the line at data (through its LF, or to len). */
size_t mime_line_len(const char *data, size_t len);

#endif
