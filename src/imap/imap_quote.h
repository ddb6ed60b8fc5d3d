/* imap_quote: IMAP string output (RFC 3501 §4.3, §9 string / nstring).
 *
 * A string is written quoted when that is safe and short (no CR, LF, NUL
 * or 8-bit byte, at most IMAP_QUOTE_MAX_ESCAPES '"' or '\'), otherwise as
 * a literal {n}CRLF..., the same choice Dovecot makes, so responses match
 * what IMAP clients already see. Pure: appends to a struct buf. */
#ifndef MK_IMAP_QUOTE_H
#define MK_IMAP_QUOTE_H

#include <stddef.h>

#include "lib/buf.h"

/* More quoted-specials than this: a literal is shorter. */
#define IMAP_QUOTE_MAX_ESCAPES 4

/* string: s[0..len) quoted or as a literal. */
void imap_quote_string(struct buf *out, const char *s, size_t len);
/* nstring: NIL for NULL, else the C string s. */
void imap_quote_nstring(struct buf *out, const char *s);
/* nstring of a header value with its folds removed: a line break before
 * white space (or at the end) vanishes, any other becomes one space. */
void imap_quote_nstring_nolf(struct buf *out, const char *s);
/* String for humans (ENVELOPE subject and names): white space runs become
 * one space, the ends are trimmed; written as a literal when that changed
 * anything or it holds '"', '\' or 8-bit bytes (Dovecot does the same). */
void imap_quote_human(struct buf *out, const char *s, size_t len);

#endif
