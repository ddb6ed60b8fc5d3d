/* imap_envelope: the IMAP ENVELOPE of a message (RFC 3501 §7.4.2).
 *
 * Built from the raw header block, exactly as Dovecot writes it (the tables
 * in ../shared/conformance/imap/dovecot-lib-imap/envelope.json pass):
 * fields stay raw (no RFC 2047 decoding), Sender and Reply-To fall back to
 * From, several address fields of one kind merge into one list, the last
 * Date/Subject/In-Reply-To/Message-ID field wins. Pure: no I/O. */
#ifndef MK_IMAP_ENVELOPE_H
#define MK_IMAP_ENVELOPE_H

#include <stddef.h>

#include "lib/buf.h"

/* Append the ENVELOPE of the header block hdr[0..len), without the outer
 * parentheses: date subject from sender reply-to to cc bcc in-reply-to
 * message-id. */
void imap_envelope_write(const char *hdr, size_t len, struct buf *out);

#endif
