/* b64: character values for the decoders of base64 (RFC 4648 §4, the
 * alphabet of MIME and DKIM) and of hexadecimal digits. */
#ifndef MK_B64_H
#define MK_B64_H

/* 0..63 for a base64 alphabet character, -1 for anything else
 * (padding "=" included: callers treat it themselves). */
int b64_value(unsigned char c);
/* 0..15 for 0-9, A-F, a-f; -1 for anything else. */
int hex_value(unsigned char c);

#endif
