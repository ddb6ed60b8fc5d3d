/* outbound_dane: DANE for outbound SMTP (RFC 7672) and the TLS policy
 * hook of outbound connections.
 *
 * Resolution (outbound_conn.c) notes whether the MX answer and each
 * address answer were DNSSEC-validated; once the targets are known, the
 * TLSA records of every MX host whose MX and addresses were validated are
 * asked (`_PORT._tcp.HOST`, RFC 7672 §2.2, §3). When the host's addresses
 * came through CNAMEs (validated with them), the TLSA base domain is the
 * expanded name first and, only if that has securely no records, the MX
 * host name (RFC 7672 §2.2.2, RFC 7671 §7); the names the certificate may
 * carry under DANE-TA are then the base domain, the MX host name and the
 * domain (§3.2.2). Before connecting to a host, outbound_tls_policy()
 * picks its policy:
 *
 *   TLSA lookup failed (SERVFAIL, bogus)   skip the host, 4.7.5 (§2.2)
 *   validated TLSA with usable records     STARTTLS required, verified
 *                                          with OpenSSL's DANE (§3)
 *   otherwise (unsigned, none, unusable)   opportunistic STARTTLS (§2.2)
 *
 * The same three calls (policy, verify_setup, verified) are where MTA-STS
 * (RFC 8461) adds an `else if` branch: DANE first, MTA-STS only where DANE
 * does not apply (RFC 8461 §2).
 *
 * Not done: DANE for the relay host. */
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "queue/outbound_int.h"
#include "queue/tlsa.h"

/* Usable TLSA records kept per host; more are ignored (logged). */
#define OUTBOUND_DANE_RR_MAX 32

enum dane_state {
	DANE_NONE,		/* not asked, or nothing usable: opportunistic */
	DANE_TLSA,		/* usable validated records: verify against them */
	DANE_FAIL,		/* the lookup failed: do not deliver there */
};

/* The TLSA outcome of one MX host (and the callback argument). */
struct dane_host {
	struct job *j;
	size_t idx;
	const char *base;	/* the TLSA base domain asked last */
	bool expanded;		/* base is the CNAME-expanded name */
	enum dane_state state;
	struct tlsa_rr *rrs;	/* the usable records */
	size_t n;
};

struct outbound_dane {
	bool *addr_secure;	/* per j->addrs slot: validated */
	size_t naddr;
	struct dane_host *hosts;	/* per j->mx.hosts; NULL: not asked */
	size_t nhosts;
	size_t pending;
	void (*done)(struct job *j);
	const struct dane_host *cur;	/* the host being connected to */
};

static struct outbound_dane *dane_of(struct job *j)
{
	if (j->dane == NULL)
		j->dane = xcalloc(1, sizeof(*j->dane));
	return j->dane;
}

void outbound_dane_addr_secure(struct job *j, size_t slot, bool secure)
{
	struct outbound_dane *d = dane_of(j);

	if (d->addr_secure == NULL) {
		d->naddr = 2 * j->mx.n;
		d->addr_secure = xcalloc(d->naddr ? d->naddr : 1, sizeof(bool));
	}
	if (slot < d->naddr)
		d->addr_secure[slot] = secure;
}

/* The CNAME-expanded name of MX host i (its first address answer that
 * has one), or NULL when its addresses are the MX host name's own. */
static const char *host_canon(const struct job *j, size_t i)
{
	for (size_t k = 2 * i; k < 2 * i + 2 && k < j->dane->naddr; k++)
		if (j->addrs[k].rcode == DNSQ_OK && j->addrs[k].canon != NULL)
			return j->addrs[k].canon;
	return NULL;
}

/* RFC 7672 §2.2: every address answer of the host that gave addresses
 * was validated (and there was one). */
static bool host_secure(const struct job *j, size_t i)
{
	const struct outbound_dane *d = j->dane;
	bool any = false;

	for (size_t k = 2 * i; k < 2 * i + 2 && k < d->naddr; k++) {
		if (j->addrs[k].rcode != DNSQ_OK)
			continue;
		if (!d->addr_secure[k])
			return false;
		any = true;
	}
	return any;
}

/* Keep the usable records of a validated TLSA answer (RFC 7672 §3.1). */
static void tlsa_collect(struct job *j, struct dane_host *h,
			 const struct dnsq_answer *a)
{
	const char *host = j->mx.hosts[h->idx].name;

	h->rrs = xcalloc(OUTBOUND_DANE_RR_MAX, sizeof(*h->rrs));
	for (size_t i = 0; i < a->n; i++) {
		struct tlsa_rr rr;
		const char *why = NULL;
		size_t len = a->rr_len ? a->rr_len[i] : strlen(a->rr[i]);
		if (tlsa_parse(a->rr[i], len, &rr, &why) < 0 ||
		    (why = tlsa_unusable(&rr)) != NULL ||
		    (h->n == OUTBOUND_DANE_RR_MAX && (why = "too many records"))) {
			log_info("queue=%s event=dane-tlsa host=%s record=%zu "
				 "status=unusable reason=\"%s\"", j->qid, host, i, why);
			tlsa_free(&rr);
			continue;
		}
		h->rrs[h->n++] = rr;
	}
	h->state = h->n > 0 ? DANE_TLSA : DANE_NONE;
	log_info("queue=%s event=dane host=%s%s%s tlsa=%zu usable=%zu%s", j->qid,
		 host, h->expanded ? " base=" : "", h->expanded ? h->base : "",
		 a->n, h->n, h->n ? " tls=required" : " tls=opportunistic");
}

static void tlsa_ask(struct job *j, struct dane_host *h, const char *base);

static void on_tlsa(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct dane_host *h = arg;
	struct job *j = h->j;
	struct outbound_dane *d = j->dane;

	if (h->expanded && secure && (a->rcode == DNSQ_NXDOMAIN ||
				      a->rcode == DNSQ_NODATA)) {
		/* §2.2.2: none at the expanded name; the MX host name next */
		const char *host = j->mx.hosts[h->idx].name;
		log_debug("queue=%s event=dane host=%s base=%s tlsa=none "
			  "next=%s", j->qid, host, h->base, host);
		h->expanded = false;
		tlsa_ask(j, h, host);
	} else if (a->rcode == DNSQ_TEMPFAIL)	/* SERVFAIL, bogus, timeout */
		h->state = DANE_FAIL;
	else if (a->rcode == DNSQ_OK && secure)
		tlsa_collect(j, h, a);
	else if (a->rcode == DNSQ_OK)
		log_debug("queue=%s event=dane host=%s tlsa=insecure "
			  "tls=opportunistic", j->qid, j->mx.hosts[h->idx].name);
	if (--d->pending == 0)
		d->done(j);
}

/* Ask the TLSA records of an MX host at base (RFC 7672 §3:
 * _PORT._tcp.BASE). */
static void tlsa_ask(struct job *j, struct dane_host *h, const char *base)
{
	struct outbound_dane *d = j->dane;
	struct dnsq q = { DNSQ_TLSA, "" };
	uint64_t id;
	int n = snprintf(q.name, sizeof(q.name), "_%u._tcp.%s",
			 (unsigned)j->port, base);

	h->base = base;
	if (n < 0 || (size_t)n > DNSQ_NAME_MAX) {
		if (h->expanded) {	/* none can be there: the MX host name's */
			h->expanded = false;
			tlsa_ask(j, h, j->mx.hosts[h->idx].name);
		}
		return;		/* no such name can exist: no TLSA */
	}
	d->pending++;
	if (outbound_resolver() == NULL ||
	    dns_query(outbound_resolver(), &q, on_tlsa, h, &id) < 0) {
		d->pending--;
		h->state = DANE_FAIL;
	}
}

void outbound_dane_lookup(struct job *j, void (*done)(struct job *j))
{
	struct outbound_dane *d;

	/* RFC 7672 §2.2.1: an MX answer not validated makes no DANE */
	if (!proc_cfg.outbound_dane || *j->domain == '\0' || !j->mx_secure ||
	    j->dane == NULL || j->dane->addr_secure == NULL)
		return done(j);
	d = j->dane;
	d->done = done;
	d->nhosts = j->mx.n;
	d->hosts = xcalloc(d->nhosts ? d->nhosts : 1, sizeof(*d->hosts));
	d->pending = 1;		/* done() once, after every question is out */
	for (size_t i = 0; i < d->nhosts; i++) {
		struct dane_host *h = &d->hosts[i];
		const char *canon;
		h->j = j;
		h->idx = i;
		h->base = j->mx.hosts[i].name;
		if (!host_secure(j, i))
			continue;
		canon = host_canon(j, i);
		h->expanded = canon != NULL;
		tlsa_ask(j, h, canon != NULL ? canon : h->base);
	}
	if (--d->pending == 0)
		done(j);
}

void outbound_dane_free(struct job *j)
{
	struct outbound_dane *d = j->dane;

	if (d == NULL)
		return;
	for (size_t i = 0; d->hosts != NULL && i < d->nhosts; i++) {
		for (size_t k = 0; k < d->hosts[i].n; k++)
			tlsa_free(&d->hosts[i].rrs[k]);
		free(d->hosts[i].rrs);
	}
	free(d->hosts);
	free(d->addr_secure);
	free(d);
	j->dane = NULL;
}

/* --- the TLS policy hook --- */

static const struct dane_host *dane_host_of(const struct job *j,
					    const struct mx_target *t)
{
	const struct outbound_dane *d = j->dane;
	size_t i;

	if (d == NULL || d->hosts == NULL || t->host < j->mx.hosts)
		return NULL;
	i = (size_t)(t->host - j->mx.hosts);
	return i < d->nhosts ? &d->hosts[i] : NULL;
}

static void dane_fail_log(const struct job *j, const char *why)
{
	log_warn("queue=%s event=dane-fail host=%s relay=%s reason=\"%s\" "
		 "action=\"next MX host; the mail stays queued\"", j->qid, j->host,
		 j->relay, why);
}

int outbound_tls_policy(struct job *j, const struct mx_target *t)
{
	const struct dane_host *h = dane_host_of(j, t);

	j->tls_required = false;
	j->tls_auth = OUTBOUND_TLS_OPPORTUNISTIC;
	j->tls_verified = NULL;
	if (j->dane != NULL)
		j->dane->cur = h;
	if (h != NULL && h->state == DANE_FAIL) {	/* RFC 7672 §2.2 */
		const char *why = "TLSA lookup failed (DNS error or DNSSEC bogus)";
		dane_fail_log(j, why);
		buf_reset(&j->last_error);
		buf_printf(&j->last_error, "%s: 4.7.5 DANE: %s", j->relay, why);
		j->last_perm = false;
		return -1;
	}
	if (h != NULL && h->state == DANE_TLSA) {
		j->tls_required = true;
		j->tls_auth = OUTBOUND_TLS_DANE;
	} else {	/* MTA-STS (RFC 8461 §2: only where DANE does not apply) */
		outbound_mtasts_tls_policy(j);
	}
	return 0;
}

/* OpenSSL's DANE (RFC 7671/7672) for the current host's records. */
static int dane_setup(struct job *j, SSL *ssl)
{
	static SSL_CTX *enabled;	/* SSL_CTX_dane_enable() done once */
	const struct dane_host *h = j->dane->cur;
	size_t usable = 0;

	if (enabled != outbound_tls_ctx) {
		if (SSL_CTX_dane_enable(outbound_tls_ctx) <= 0)
			return -1;
		enabled = outbound_tls_ctx;
	}
	/* §3.2.2: reference identifiers, the TLSA base domain (the expanded
	 * name after CNAMEs), the MX host name and the domain */
	if (SSL_dane_enable(ssl, h->base) <= 0)
		return -1;
	if (strcasecmp(j->host, h->base) != 0 && SSL_add1_host(ssl, j->host) != 1)
		return -1;
	if (strcasecmp(j->domain, h->base) != 0 &&
	    strcasecmp(j->domain, j->host) != 0 && SSL_add1_host(ssl, j->domain) != 1)
		return -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* §3.1.1: DANE-EE checks neither names nor validity dates */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < h->n; i++) {
		const struct tlsa_rr *rr = &h->rrs[i];
		int r = SSL_dane_tlsa_add(ssl, rr->usage, rr->selector, rr->mtype,
					  rr->data, rr->len);
		if (r < 0)
			return -1;
		usable += r > 0;
	}
	if (usable == 0) {	/* §2.2: all unusable after all: unauthenticated */
		log_info("queue=%s event=dane host=%s usable=0 tls=opportunistic",
			 j->qid, j->host);
		j->tls_auth = OUTBOUND_TLS_OPPORTUNISTIC;
	}
	return 0;
}

int outbound_tls_verify_setup(struct job *j, SSL *ssl)
{
	if (j->tls_auth == OUTBOUND_TLS_DANE)
		return dane_setup(j, ssl);
	else if (j->tls_auth == OUTBOUND_TLS_MTASTS ||	/* PKIX, MX name */
		 j->tls_auth == OUTBOUND_TLS_MTASTS_TESTING)
		return outbound_mtasts_verify_setup(j, ssl);
	return 0;
}

/* §3: the chain matched a record (DANE-TA also checks names and dates). */
static bool dane_verified(struct job *j, SSL *ssl, struct buf *why)
{
	long res = SSL_get_verify_result(ssl);
	uint8_t usage = 0;

	if (res == X509_V_OK &&
	    SSL_get0_dane_tlsa(ssl, &usage, NULL, NULL, NULL, NULL) >= 0) {
		j->tls_verified = usage == TLSA_DANE_EE ? "dane-ee" : "dane-ta";
		return true;
	}
	j->tls_verified = "failed";
	buf_printf(why, "4.7.5 DANE: certificate not verified: %s",
		   res != X509_V_OK ? X509_verify_cert_error_string(res) :
		   "no TLSA record matched");
	dane_fail_log(j, buf_cstr(why) + 6);
	return false;
}

bool outbound_tls_verified(struct job *j, SSL *ssl, struct buf *why)
{
	if (j->tls_auth == OUTBOUND_TLS_DANE)
		return dane_verified(j, ssl, why);
	else if (j->tls_auth == OUTBOUND_TLS_MTASTS ||
		 j->tls_auth == OUTBOUND_TLS_MTASTS_TESTING)
		return outbound_mtasts_verified(j, ssl, why);
	j->tls_verified = "no";
	return true;
}
