/* dns_conv: the pure conversions between struct dnsq / struct dnsq_answer
 * and what libunbound takes and gives: question names escaped into the
 * presentation form ub_resolve() parses, and ub_result rdata (wire format)
 * turned into the presentation strings dnsq.h promises. No I/O, so unit
 * tests drive it with hand-built ub_result arrays. */
#ifndef MK_DNS_CONV_H
#define MK_DNS_CONV_H

#include <stdbool.h>

#include "mailauth/dnsq.h"

struct ub_result;

/* Longest escaped name: every byte as \DDD, a trailing dot, the NUL. */
#define DNS_QNAME_ESC_MAX (DNSQ_NAME_MAX * 4 + 2)
/* Longest label (RFC 1035 §2.3.4). */
#define DNS_LABEL_MAX 63

/* Escape a dnsq name for ub_resolve(); -1 (reason in *error_r) when the
 * name cannot be a DNS name: empty label, too long, or a space, control
 * or non-ASCII byte. The caller answers NXDOMAIN without sending. */
int dns_qname_escape(const char *name, char out[DNS_QNAME_ESC_MAX],
		     const char **error_r);
/* Fill *a from a libunbound result (r may be NULL when err != 0); the
 * records are owned by *a until dns_answer_free() (dns.h). */
void dns_answer_convert(struct dnsq_answer *a, int type, int err,
			const struct ub_result *r);
/* Was the result DNSSEC-validated (and not bogus)? */
bool dns_result_secure(int err, const struct ub_result *r);

#endif
