/* tlsa: TLSA records (RFC 6698 §2) from the presentation text the
 * resolver gives ("USAGE SELECTOR MTYPE HEX", dns_conv.c) into their
 * fields, and which of them an SMTP client may use (RFC 7672 §3.1).
 * Pure: no I/O, no OpenSSL; unit-tested and fuzzed on its own. */
#ifndef MK_TLSA_H
#define MK_TLSA_H

#include <stddef.h>
#include <stdint.h>

/* Longest certificate association data accepted, bytes: a full
 * certificate (matching type 0) fits with room to spare. Longer records
 * are refused (and so unusable). */
#define TLSA_DATA_MAX 16384

/* RFC 7218 acronyms of the parameters. */
enum tlsa_usage {
	TLSA_PKIX_TA = 0,
	TLSA_PKIX_EE = 1,
	TLSA_DANE_TA = 2,
	TLSA_DANE_EE = 3,
};
enum tlsa_selector { TLSA_SEL_CERT = 0, TLSA_SEL_SPKI = 1 };
enum tlsa_mtype { TLSA_FULL = 0, TLSA_SHA256 = 1, TLSA_SHA512 = 2 };

struct tlsa_rr {
	uint8_t usage, selector, mtype;
	unsigned char *data;		/* binary, len bytes (heap) */
	size_t len;
};

/* Parse text[0..len) into *rr (free with tlsa_free()); -1 with a static
 * reason in *error_r on anything else than three decimal octets and an
 * even, non-empty run of hex digits, single-space separated. */
int tlsa_parse(const char *text, size_t len, struct tlsa_rr *rr,
	       const char **error_r);
void tlsa_free(struct tlsa_rr *rr);
/* NULL when rr can authenticate an SMTP server (RFC 7672 §3.1: DANE-TA
 * or DANE-EE, a known selector and matching type, a digest of the right
 * length), else a static reason why it is unusable. */
const char *tlsa_unusable(const struct tlsa_rr *rr);
/* "dane-ta", "dane-ee", "pkix-ta", "pkix-ee" or "usage-other", for logs. */
const char *tlsa_usage_name(unsigned usage);

#endif
