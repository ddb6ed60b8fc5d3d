/* imap_section: FETCH BODY[section]<partial> and BINARY[section]
 * (RFC 3501 §6.4.5, RFC 3516 §4.2) over a parsed message.
 *
 * A section resolves to a list of byte ranges of the stored message (plus,
 * for HEADER.FIELDS, the empty line that ends a header); IMAP sees them
 * with every bare LF sent as CRLF and NUL as 0x80 (literals cannot carry
 * NUL), and <partial> counts in those bytes. Part numbers follow
 * Dovecot: "1" of a non-multipart part is the part itself, a number past a
 * message/rfc822 part looks inside its message; a part that does not exist
 * gives an empty string, HEADER/TEXT of a part that is not message/rfc822
 * too. Pure: no I/O. */
#ifndef MK_IMAP_SECTION_H
#define MK_IMAP_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mail/mime.h"

/* Limits on the section text a client sends. */
#define IMAP_SECTION_DEPTH_MAX 100	/* part numbers in one section */
#define IMAP_SECTION_FIELDS_MAX 256	/* names in HEADER.FIELDS (...) */
#define IMAP_SECTION_FIELD_NAME_MAX 256	/* bytes of one such name */

enum imap_section_text {
	IMAP_SECTION_BODY,		/* [] the message, [1.2] a part's body */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

struct imap_section {
	uint32_t part[IMAP_SECTION_DEPTH_MAX];
	unsigned nparts;
	enum imap_section_text text;
	char *fields[IMAP_SECTION_FIELDS_MAX];	/* HEADER.FIELDS names */
	unsigned nfields;
	bool partial;
	uint64_t partial_off, partial_len;
};

struct imap_range {
	size_t off, len;		/* bytes of the stored message */
};

struct imap_section_data {
	struct imap_range *v;
	size_t n, cap;
	bool add_crlf;			/* then an empty line (HEADER.FIELDS) */
};

/* Parse the text between '[' and ']' ("", "1.2", "HEADER", "2.MIME",
 * "1.HEADER.FIELDS (From \"To\")"); names are atoms or quoted strings
 * (a literal must be unwrapped by the command parser first). */
int imap_section_parse(const char *s, size_t len, struct imap_section *sec,
		       const char **error_r);
/* Parse a partial "<origin.octets>" into sec. */
int imap_section_parse_partial(const char *s, size_t len,
			       struct imap_section *sec, const char **error_r);
void imap_section_free(struct imap_section *sec);
/* The part a section's numbers name (root for none), or NULL. */
const struct mime_part *imap_section_find_part(const struct mime_message *msg,
					       const uint32_t *part,
					       unsigned nparts);
/* The ranges making up the section (partial not applied). */
void imap_section_resolve(const struct mime_message *msg,
			  const struct imap_section *sec,
			  struct imap_section_data *out);
void imap_section_data_free(struct imap_section_data *d);
/* Size of the section as sent (before partial). */
uint64_t imap_section_size(const struct mime_message *msg,
			   const struct imap_section_data *d);
/* Append the section as sent, bytes [off, off+len) of it (partial). */
void imap_section_write(const struct mime_message *msg,
			const struct imap_section_data *d, uint64_t off,
			uint64_t len, struct buf *out);
/* BINARY[section]<partial> (RFC 3516): the part's content with its
 * transfer encoding undone (multipart and message parts and the whole
 * message as BODY[] sends them). -1 with a reason for an encoding we
 * cannot undo (the server answers NO [UNKNOWN-CTE]) or damaged data; a
 * part that does not exist is empty. BINARY.SIZE is the length before
 * partial: call with a section without partial. */
int imap_section_binary(const struct mime_message *msg,
			const struct imap_section *sec, struct buf *out,
			const char **error_r);

#endif
