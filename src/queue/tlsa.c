/* tlsa: parsing and usability of TLSA records (RFC 6698, RFC 7672). */
#include "queue/tlsa.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

/* Digest lengths of the matching types (RFC 6698 §2.1.3). */
#define TLSA_SHA256_LEN 32
#define TLSA_SHA512_LEN 64

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A decimal octet then one space, at text[*off]: 0..255, at most three
 * digits. */
static int octet(const char *text, size_t len, size_t *off, uint8_t *out)
{
	unsigned v = 0;
	size_t o = *off, digits = 0;

	while (o < len && text[o] >= '0' && text[o] <= '9' && digits < 4) {
		v = v * 10 + (unsigned)(text[o++] - '0');
		digits++;
	}
	if (digits == 0 || digits > 3 || v > 255 || o >= len || text[o] != ' ')
		return -1;
	*out = (uint8_t)v;
	*off = o + 1;
	return 0;
}

static int hex_data(const char *text, size_t len, struct tlsa_rr *rr,
		    const char **error_r)
{
	if (len == 0 || len % 2 != 0) {
		*error_r = len == 0 ? "no association data" :
			   "odd number of hex digits";
		return -1;
	}
	if (len / 2 > TLSA_DATA_MAX) {
		*error_r = "association data too long";
		return -1;
	}
	rr->data = xmalloc(len / 2);
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
		if (hi < 0 || lo < 0) {
			*error_r = "not a hex digit in the association data";
			tlsa_free(rr);
			return -1;
		}
		rr->data[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	rr->len = len / 2;
	return 0;
}

int tlsa_parse(const char *text, size_t len, struct tlsa_rr *rr,
	       const char **error_r)
{
	size_t off = 0;

	memset(rr, 0, sizeof(*rr));
	if (octet(text, len, &off, &rr->usage) < 0 ||
	    octet(text, len, &off, &rr->selector) < 0 ||
	    octet(text, len, &off, &rr->mtype) < 0) {
		*error_r = "expected USAGE SELECTOR MTYPE as numbers 0-255";
		return -1;
	}
	return hex_data(text + off, len - off, rr, error_r);
}

void tlsa_free(struct tlsa_rr *rr)
{
	free(rr->data);
	rr->data = NULL;
	rr->len = 0;
}

/* RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP. */
const char *tlsa_unusable(const struct tlsa_rr *rr)
{
	if (rr->usage == TLSA_PKIX_TA || rr->usage == TLSA_PKIX_EE)
		return "PKIX usage, unusable for SMTP (RFC 7672 section 3.1.3)";
	if (rr->usage != TLSA_DANE_TA && rr->usage != TLSA_DANE_EE)
		return "unknown certificate usage";
	if (rr->selector != TLSA_SEL_CERT && rr->selector != TLSA_SEL_SPKI)
		return "unknown selector";
	if (rr->mtype > TLSA_SHA512)
		return "unknown matching type";
	if ((rr->mtype == TLSA_SHA256 && rr->len != TLSA_SHA256_LEN) ||
	    (rr->mtype == TLSA_SHA512 && rr->len != TLSA_SHA512_LEN))
		return "digest length does not match the matching type";
	if (rr->len == 0)
		return "no association data";
	return NULL;
}

const char *tlsa_usage_name(unsigned usage)
{
	static const char *const names[] = {
		"pkix-ta", "pkix-ee", "dane-ta", "dane-ee"
	};

	return usage < 4 ? names[usage] : "usage-other";
}
