/* iprev: forward-confirmed reverse DNS of the connecting address, the
 * "iprev" method of RFC 8601 §3, as a resumable evaluator without I/O
 * (driven like spf.h):
 *
 *   struct iprev *v = iprev_new("192.0.2.1");
 *   while ((r = iprev_step(v, &q)) == IPREV_NEED_DNS)
 *           iprev_answer(v, resolve(&q));
 *
 * The PTR names of the address are looked up (A for IPv4, AAAA for
 * IPv6), at most IPREV_MAX_NAMES of them, until one has the address.
 * Results (RFC 8601 §2.7.3):
 *   pass       a PTR name resolves back to the address;
 *   fail       PTR names exist, but none resolves back to it (forward
 *              lookups answered NXDOMAIN, NODATA or other addresses);
 *   temperror  the PTR lookup failed temporarily, or a forward lookup did
 *              and no other name matched;
 *   permerror  no PTR data (NXDOMAIN or NODATA), or an unusable address:
 *              §2.7.3 lists "no PTR data are published" under permerror,
 *              not fail. */
#ifndef MK_IPREV_H
#define MK_IPREV_H

#include "mailauth/dnsq.h"

/* PTR names checked; further ones are ignored (as SPF does, RFC 7208
 * §4.6.4), which bounds an evaluation to 11 questions. */
#define IPREV_MAX_NAMES 10

enum iprev_result {
	IPREV_PASS,
	IPREV_FAIL,
	IPREV_TEMPERROR,
	IPREV_PERMERROR,
	IPREV_NEED_DNS,	/* not a result: iprev_step() wants an answer */
};

struct iprev;

/* Start for an IPv4 or IPv6 address in text form (IPv4-mapped IPv6 is
 * taken as IPv4). An unparsable address gives permerror at the first step. */
struct iprev *iprev_new(const char *ip);
/* Run until a DNS answer is needed (IPREV_NEED_DNS, *q filled) or done. */
enum iprev_result iprev_step(struct iprev *v, struct dnsq *q);
/* The answer to the question of the last IPREV_NEED_DNS. */
void iprev_answer(struct iprev *v, const struct dnsq_answer *a);
/* The address in canonical text form ("" if it did not parse). */
const char *iprev_ip(const struct iprev *v);
/* The confirmed host name after a pass, else NULL. */
const char *iprev_host(const struct iprev *v);
/* Short printable-ASCII text saying why, for logs and header comments. */
const char *iprev_reason(const struct iprev *v);
void iprev_free(struct iprev *v);

/* "pass" "fail" "temperror" "permerror". */
const char *iprev_result_name(enum iprev_result r);

#endif
