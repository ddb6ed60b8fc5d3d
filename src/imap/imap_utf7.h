/* imap_utf7: modified UTF-7 mailbox names (RFC 3501 §5.1.3) and the
 * checks a mailbox name from a client must pass.
 *
 * Encoding is canonical and decoding strict, so that one mailbox has
 * exactly one spelling on the wire: a decoder input is refused when the
 * encoder would not have produced it (printable ASCII or "&" inside a
 * base64 run, two runs back to back, non-zero pad bits, a needless base64
 * character, an empty run other than "&-"), as well as for bad base64,
 * unpaired UTF-16 surrogates, U+0000, raw 8-bit or control bytes.
 * Pure: no I/O. The hierarchy separator ('/') is the caller's business. */
#ifndef MK_IMAP_UTF7_H
#define MK_IMAP_UTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Longest mailbox name accepted from a client, in bytes of either form. */
#define IMAP_MAILBOX_NAME_MAX 1024

/* Append the modified UTF-7 form of UTF-8 in[0..len) to out; -1 (out
 * unchanged) when in is not valid UTF-8 or holds U+0000. */
int imap_utf7_encode(const char *in, size_t len, struct buf *out,
		     const char **error_r);
/* Append the UTF-8 form of modified UTF-7 in[0..len) to out; -1 (out
 * unchanged) with a reason for anything but the canonical encoding. */
int imap_utf7_decode(const char *in, size_t len, struct buf *out,
		     const char **error_r);
/* True when in[0..len) is canonical modified UTF-7. */
bool imap_utf7_is_valid(const char *in, size_t len);
/* Check a (decoded, UTF-8) mailbox name from a client: not empty, at most
 * IMAP_MAILBOX_NAME_MAX bytes, valid UTF-8, no control characters, no
 * "..". -1 with a reason otherwise. */
int imap_utf7_name_check(const char *name, size_t len, const char **error_r);

#endif
