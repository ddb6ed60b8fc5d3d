/* dnscheck: the judging half of `mailkeep dns check` (issue 6 §3).
 *
 * The network half (cli_dns.c) asks DNS and probes the listeners as a
 * receiving server would and hands the answers, as struct dnsq_answer and
 * small fact structs, to these pure functions. Each appends items to a
 * report: PASS, WARN or FAIL, a check name, a detail and, unless PASS, the
 * fix: what to change, with the exact record to publish (made by
 * dnsrecords.h, the same text `dns records` prints).
 *
 *   struct dnscheck_report r = { 0 };
 *   dnscheck_mx(&r, &facts);  dnscheck_spf_records(&r, ...); ...
 *   dnscheck_report_text(&r, &out);  or dnscheck_report_json(&r, &out);
 *   exit(dnscheck_report_failed(&r) ? 1 : 0);
 *
 * Strings from DNS or certificates are quoted as printable ASCII (others
 * '?') before they reach a report, and control bytes and invalid UTF-8 are
 * replaced in every item, so hostile data cannot drive a terminal or
 * break the JSON. */
#ifndef MK_DNSCHECK_H
#define MK_DNSCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "cli/dnsrecords.h"
#include "lib/buf.h"
#include "mailauth/dnsq.h"
#include "mailauth/spf.h"

#define DNSCHECK_CERT_MIN_DAYS 14	/* a certificate expiring sooner fails */
#define DNSCHECK_MAX_MX 16		/* MX records judged; more ignored */
#define DNSCHECK_TEXT_MAX 512		/* bytes of DNS text quoted in a detail */
#define DNSCHECK_STS_POLICY_MAX 65536	/* bytes of a policy file read */

enum dnscheck_status { DNSCHECK_PASS, DNSCHECK_WARN, DNSCHECK_FAIL };

struct dnscheck_item {
	enum dnscheck_status status;
	char *check;	/* "mx", "spf", "dkim:SEL", "fcrdns:IP", "tls:smtp" ... */
	char *domain;	/* the mail domain, or NULL for host checks */
	char *detail;
	char *fix;	/* NULL for PASS */
};

struct dnscheck_report {
	struct dnscheck_item *v;
	size_t n;
};

/* Append an item (strings copied, made printable); fix may be NULL. */
void dnscheck_add(struct dnscheck_report *r, enum dnscheck_status st,
		  const char *check, const char *domain, const char *fix,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "PASS  check  detail" lines, "      fix: ..." under WARN and FAIL. */
void dnscheck_report_text(const struct dnscheck_report *r, struct buf *out);
/* One JSON array of {check, domain, status, detail, fix}. */
void dnscheck_report_json(const struct dnscheck_report *r, struct buf *out);
bool dnscheck_report_failed(const struct dnscheck_report *r);
void dnscheck_report_free(struct dnscheck_report *r);
/* "PASS" "WARN" "FAIL". */
const char *dnscheck_status_name(enum dnscheck_status st);

/* ---- the server's addresses ---- */

/* naddrs 0: FAIL with the fix to set [publish] public_addresses; else a
 * PASS naming them and where they came from ("configured", "found on the
 * network interfaces"). */
void dnscheck_addresses(struct dnscheck_report *r, const char *const *addrs,
			size_t naddrs, const char *source);

/* ---- MX (RFC 5321 §5.1, RFC 2181 §10.3, RFC 7505) ---- */

/* "PREF NAME" of an MX answer: 0, or -1 if it does not parse. */
int dnscheck_mx_parse(const char *rr, unsigned *pref, char *host,
		      size_t size);

/* What the network half learnt about one MX target. */
struct dnscheck_mx_target {
	const char *host;		/* as in the MX record, no final dot */
	unsigned pref;
	struct dnsq_answer cname;	/* CNAME question (type 5), raw rdata */
	struct dnsq_answer a, aaaa;
};

struct dnscheck_mx_facts {
	const struct dnsrec_domain *want;	/* what `dns records` says */
	struct dnsq_answer mx;
	const struct dnscheck_mx_target *targets;	/* one per parsed MX */
	size_t ntargets;
};

void dnscheck_mx(struct dnscheck_report *r, const struct dnscheck_mx_facts *f);

/* ---- forward-confirmed reverse DNS ---- */

/* ptr: the PTR answer for ip; fwd: the A (IPv4) or AAAA (IPv6) answer
 * for hostname, the name the SMTP banner and HELO use. */
void dnscheck_fcrdns(struct dnscheck_report *r, const char *ip,
		     const char *hostname, const struct dnsq_answer *ptr,
		     const struct dnsq_answer *fwd);

/* ---- SPF (RFC 7208) ---- */

/* The TXT answer of the domain: exactly one "v=spf1" record (§4.5).
 * Returns 0 when there is one (then evaluate it), -1 after a FAIL. */
int dnscheck_spf_records(struct dnscheck_report *r,
			 const struct dnsrec_domain *want,
			 const struct dnsq_answer *txt);
/* The result of check_host() for ip with the evaluator: reason from
 * spf_eval_reason(), queries from spf_eval_queries(). */
void dnscheck_spf_result(struct dnscheck_report *r,
			 const struct dnsrec_domain *want, const char *ip,
			 enum spf_result res, const char *reason,
			 unsigned queries);

/* ---- DKIM (RFC 6376 §3.6) ---- */

/* One selector: key is the want->dkim entry (record NULL: key_missing
 * says whether the file is gone or only unreadable to us); txt the
 * answer at SELECTOR._domainkey.DOMAIN. */
void dnscheck_dkim(struct dnscheck_report *r,
		   const struct dnsrec_domain *want,
		   const struct dnsrec_dkim *key, bool key_missing,
		   const struct dnsq_answer *txt);

/* ---- DMARC (RFC 7489 §6.6.3) ---- */

void dnscheck_dmarc(struct dnscheck_report *r,
		    const struct dnsrec_domain *want,
		    const struct dnsq_answer *txt);

/* ---- MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) ---- */

/* txt: the answer at _mta-sts.DOMAIN; policy: the fetched policy file
 * (NULL when it could not be fetched, fetch_error says why). Nothing is
 * added when want->mta_sts is off. */
void dnscheck_mta_sts(struct dnscheck_report *r,
		      const struct dnsrec_domain *want,
		      const struct dnsq_answer *txt, const char *policy,
		      size_t policy_len, const char *fetch_error);
/* txt: the answer at _smtp._tls.DOMAIN; skipped when want->tls_rpt_rua
 * is NULL. */
void dnscheck_tls_rpt(struct dnscheck_report *r,
		      const struct dnsrec_domain *want,
		      const struct dnsq_answer *txt);

/* ---- certificates on the listeners ---- */

/* A probe of one listener: error set when it could not be reached or TLS
 * not started; else leaf is the server certificate and verify the
 * chain's X509_V_* result against the system's trusted roots. */
struct dnscheck_tls_probe {
	const char *service;	/* "smtp", "imap", "imaps" */
	const char *address;	/* where we connected */
	const char *error;
	X509 *leaf;
	long verify;
};

void dnscheck_tls(struct dnscheck_report *r, const struct dnscheck_tls_probe *p,
		  const char *hostname, time_t now);

/* ---- DNSBL ---- */

/* REVERSED-IPv4.ZONE into out[DNSQ_NAME_MAX + 1]; -1 for a non-IPv4
 * address or a name too long. */
int dnscheck_dnsbl_name(const char *ip, const char *zone, char *out);
/* a: the A answer for that name (127.0.0.x listed, NXDOMAIN not). */
void dnscheck_dnsbl(struct dnscheck_report *r, const char *ip,
		    const char *zone, const struct dnsq_answer *a);

#endif
