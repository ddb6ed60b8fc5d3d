/* rfc2047: header text to UTF-8.
 *
 * RFC 2047 encoded words (=?charset?B|Q?text?=) are decoded and converted to
 * UTF-8 with glibc iconv; RFC 2231 §5 "charset*language" names are
 * accepted. Lenient like real clients: encoded words glued to text, folded
 * in the middle, or split inside a multi-byte character (adjacent words of
 * one charset are joined before conversion) all decode. A word whose
 * charset iconv does not know is left as it was. Invalid bytes become
 * U+FFFD, so the output is always valid UTF-8. Pure: no I/O. */
#ifndef MK_MAIL_RFC2047_H
#define MK_MAIL_RFC2047_H

#include <stddef.h>

#include "lib/buf.h"

/* Longest charset name looked at; longer ones are unknown charsets. */
#define RFC2047_CHARSET_MAX 64

/* Unfold an unstructured header value (RFC 5322 §2.2.3: a fold and the
 * white space around it become one space; ends trimmed) and decode its
 * encoded words (RFC 2047 §6.2: white space between two words vanishes). */
void rfc2047_decode(const char *in, size_t len, struct buf *out);
/* Convert len bytes in charset to UTF-8 appended to out; -1 (nothing
 * appended) if iconv does not know the charset. */
int rfc2047_convert(const char *charset, size_t charset_len, const void *in,
		    size_t len, struct buf *out);
/* Append in as UTF-8, each invalid byte replaced by U+FFFD. */
void rfc2047_utf8_append(const void *in, size_t len, struct buf *out);

#endif
