/* dns: the resolver of a process, over libunbound (DESIGN §3).
 *
 * Questions and answers are the struct dnsq / struct dnsq_answer of the
 * mail-authentication evaluators, so an evaluator's SPF_NEED_DNS goes
 * straight to dns_query() and the callback's answer straight back:
 *
 *   struct dns *d = dns_new(base, &cfg, &error);
 *   dns_query(d, &q, on_answer, session, &id);   (on_answer runs later,
 *   ...                                            from the event loop)
 *   dns_free(d);
 *
 * libunbound works in one background thread of its own; answers come back
 * through its pipe (ub_fd) into the event loop, so callbacks always run on
 * the loop's thread, never inside dns_query(). With a trust anchor, answers
 * are DNSSEC-validated: `secure` says so, and bogus answers are TEMPFAIL.
 * Create the resolver in the process that uses it, after any fork(). */
#ifndef MK_DNS_H
#define MK_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "mailauth/dnsq.h"

struct event_base;
struct dns;

/* Per-question time limit: defaults and the range dns_new() accepts. */
#define DNS_TIMEOUT_DEFAULT_MS 10000u
#define DNS_TIMEOUT_MIN_MS 100u
#define DNS_TIMEOUT_MAX_MS 120000u
/* Questions outstanding at once; more are refused (dns_query() = -1). */
#define DNS_MAX_PENDING 10000u

struct dns_config {
	/* "IP" or "IP@PORT" ("127.0.0.1@5353", "::1@53"), NULL-terminated.
	 * NULL or empty, and no resolv_conf: full recursion from the root. */
	const char *const *forwarders;
	/* Also forward to the nameservers of this file ("/etc/resolv.conf"). */
	const char *resolv_conf;
	/* DS or DNSKEY records in zone-file form ("/usr/share/dns/root.key");
	 * NULL: no DNSSEC validation, every answer insecure. */
	const char *trust_anchor_file;
	/* 0: DNS_TIMEOUT_DEFAULT_MS. */
	unsigned timeout_ms;
};

/* An answer, valid only during the call (copy what is kept); secure means
 * DNSSEC-validated (an OK, NXDOMAIN or NODATA that was proven). */
typedef void dns_cb(void *arg, const struct dnsq_answer *a, bool secure);

/* A resolver answering through base (NULL: dns_query_sync() only); NULL
 * with a static reason in *error_r on a bad setting or unreadable file. */
struct dns *dns_new(struct event_base *base, const struct dns_config *cfg,
		    const char **error_r);
/* A resolver with the [dns] settings of cfg: its forwarders, else its
 * resolv_conf, its trust anchor and time limit (daemon and CLI alike). */
struct config;
struct dns *dns_new_configured(struct event_base *base,
			       const struct config *cfg, const char **error_r);
/* Ask q; cb runs exactly once from the event loop unless dns_cancel(*id_r)
 * comes first. Names that cannot be DNS names (dnsq.h) are answered
 * NXDOMAIN without being sent. -1 (no callback) when DNS_MAX_PENDING are
 * outstanding, there is no event base, or libunbound refused (logged). */
int dns_query(struct dns *d, const struct dnsq *q, dns_cb *cb, void *arg,
	      uint64_t *id_r);
/* Forget a question: its callback will not run. Unknown ids are ignored. */
void dns_cancel(struct dns *d, uint64_t id);
/* Ask q and wait for the answer (CLI use): *a owned by the caller, free it
 * with dns_answer_free(). Answers of pending dns_query() questions that
 * arrive meanwhile are delivered to their callbacks from inside. */
void dns_query_sync(struct dns *d, const struct dnsq *q,
		    struct dnsq_answer *a, bool *secure_r);
/* Free the records of an answer from dns_query_sync() (rcode kept). */
void dns_answer_free(struct dnsq_answer *a);
/* Number of questions outstanding. */
unsigned dns_pending(const struct dns *d);
/* Cancel everything outstanding (no callbacks) and free. Not from a cb. */
void dns_free(struct dns *d);

#endif
