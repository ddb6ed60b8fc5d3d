/* imap_bodystructure: FETCH BODY and BODYSTRUCTURE values (RFC 3501
 * §7.4.2, §9 "body") of a parsed message.
 *
 * Output matches Dovecot's byte for byte (the oracle: the tables in
 * ../shared/conformance/imap/dovecot-lib-imap/bodystructure.json pass):
 * types and parameter names keep the case they were written in; text
 * parts get the default ("charset" "us-ascii") when they name none; sizes
 * and line counts count every line break as CRLF; a multipart without
 * parts shows one empty text/plain part; a part that a limit stopped
 * (mime.h) shows as application/octet-stream. Pure: the message bytes are
 * only read for the ENVELOPE of message/rfc822 parts. */
#ifndef MK_IMAP_BODYSTRUCTURE_H
#define MK_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>

#include "lib/buf.h"
#include "mail/mime.h"

/* Append the BODY (extended false) or BODYSTRUCTURE (extended true) value
 * of part, without the outer parentheses. */
void imap_bodystructure_write(const struct mime_message *msg,
			      const struct mime_part *part, bool extended,
			      struct buf *out);

#endif
