/* spf_record: parsing one SPF record into terms (RFC 7208 §4.5, §4.6, §5,
 * §6, §7.1), and the IP address / CIDR helpers the mechanisms use.
 * Pure functions over buffers; used by the evaluator, tests and fuzzers. */
#ifndef MK_SPF_RECORD_H
#define MK_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

/* A client or network address; IPv4 is family 4 in b[0..3]. */
struct spf_ip {
	int family;		/* 4 or 6 */
	uint8_t b[16];
};

struct spf_term {
	enum spf_mech mech;
	char qual;		/* '+', '-', '~' or '?' */
	const char *spec;	/* domain-spec, NULL when absent */
	int cidr4, cidr6;	/* prefix lengths (defaults 32 and 128) */
	struct spf_ip net;	/* ip4/ip6 network */
	size_t off, len;	/* the term's text in spf_record.text */
};

struct spf_record {
	char *text;		/* the record as published */
	char *work;		/* tokenised copy the spec pointers point into */
	struct spf_term *terms;	/* the directives, in order */
	size_t nterms;
	const char *redirect;	/* redirect= domain-spec or NULL */
	const char *exp;	/* exp= domain-spec or NULL */
};

/* Does a TXT record start with the version "v=spf1" (any case) followed by
 * a space or its end? (§4.5) */
bool spf_record_is_spf1(const char *txt, size_t len);
/* Parse a whole v=spf1 record; any syntax error anywhere is an error
 * (§4.6). On error *erroff_r is the offset of the offending term. */
int spf_record_parse(const char *txt, size_t len, struct spf_record **rec_r,
		     const char **error_r, size_t *erroff_r);
void spf_record_free(struct spf_record *rec);
/* Is s a syntactically valid domain-spec (§7.1: macro-string ending in
 * "." toplabel or a macro-expand)? */
bool spf_domain_spec_valid(const char *s, size_t len, const char **error_r);

/* Parse an address as text; IPv4-mapped IPv6 becomes IPv4 (§5 ¶9). */
int spf_ip_parse(const char *s, size_t len, struct spf_ip *ip);
/* ip4-network: exactly four decimal octets, no leading zeros (§5.6). */
int spf_ip4_parse_strict(const char *s, size_t len, struct spf_ip *ip);
/* Same family and the first prefix bits equal. */
bool spf_ip_match(const struct spf_ip *ip, const struct spf_ip *net,
		  unsigned prefix);

#endif
