/* outbound_mtasts: MTA-STS (RFC 8461) for outbound delivery.
 *
 * Before the MX query of a job (§5.1): TXT _mta-sts.DOMAIN is asked and
 * the cached policy (queue.db, spool_mtasts.c) looked up:
 *
 *   TXT id = cached id, cache fresh     use the cache
 *   TXT id differs, or cache expired    fetch (mtasts_fetch.c); on failure
 *                                       a still-fresh cached policy is kept
 *   no (valid) TXT record               a fresh cached policy is kept, else none
 *
 * A cached policy in use is also fetched again in the background when
 * mtasts_refresh_due() says so (§5.1: keep it warm), at most once an hour
 * per domain while those fetches fail. Jobs to one domain share one fetch
 * in flight. Under mode enforce, MX
 * hosts the policy does not list are dropped (§4.1) and TLS verified
 * against [outbound] ca_file with the MX host name is required (§4.2),
 * where DANE does not apply (§2: DANE wins, outbound_dane.c asks us
 * only then). Mode testing delivers as usual and logs what would have
 * failed. The relay host gets no MTA-STS. */
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "queue/mtasts_fetch.h"
#include "queue/outbound_int.h"
#include "queue/spool_mtasts.h"

/* Addresses of mta-sts.DOMAIN handed to libcurl, at most. */
#define MTASTS_ADDRS_MAX 8
/* Seconds before a failed background refresh of a domain is tried again. */
#define REFRESH_RETRY 3600

struct sts_fetch;

/* Per job. */
struct outbound_mtasts {
	void (*then)(struct job *j);
	struct mtasts_policy pol;	/* mode NONE: no policy applies */
	char id[MTASTS_ID_MAX + 1];
	struct sts_fetch *waiting;	/* the shared fetch it waits for */
	bool fail_logged;		/* one mta-sts-fail line per connection */
};

/* One fetch in flight for a domain and the jobs waiting for it. */
struct sts_fetch {
	struct sts_fetch *next;
	char domain[DNSQ_NAME_MAX + 1];
	char id[MTASTS_ID_MAX + 1];		/* from the TXT record */
	struct job **waiters;
	size_t nwaiters;
	char *addrs[MTASTS_ADDRS_MAX + 1];	/* NULL-terminated */
	size_t naddrs, dns_pending;
	bool started;
	bool refresh;		/* started to refresh a cached policy */
	struct mtasts_fetch *fetch;
};

/* The domains whose policy was refreshed in the last REFRESH_RETRY
 * seconds without success (or is being refreshed). */
struct sts_attempt {
	struct sts_attempt *next;
	time_t at;
	char domain[];
};

static struct sts_fetch *fetches;
static struct sts_attempt *attempts;

/* ---- applying a policy ---- */

static void sts_log(const struct job *j, const char *source)
{
	log_info("queue=%s event=mta-sts domain=%s mode=%s id=%s source=%s",
		 j->qid, j->domain, mtasts_mode_name(j->sts->pol.mode),
		 j->sts->id, source);
}

/* Parse text as j's policy; false when it is not a valid policy. */
static bool sts_apply(struct job *j, const char *id, const struct buf *text,
		      const char *source)
{
	const char *why = NULL;

	mtasts_policy_free(&j->sts->pol);
	if (mtasts_policy_parse(text->ptr != NULL ? text->ptr : "", text->len,
				&j->sts->pol, &why) < 0)
		return false;
	str_copy(j->sts->id, sizeof(j->sts->id), id);
	sts_log(j, source);
	return true;
}

static bool cache_fresh(const struct spool_mtasts *c, int found, time_t now)
{
	return found == 1 && c->expires > now;
}

static void sts_continue(struct job *j)
{
	j->sts->then(j);
}

/* ---- the shared fetch ---- */

static void fetch_unlink(struct sts_fetch *f)
{
	for (struct sts_fetch **p = &fetches; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			return;
		}
}

/* The fetch in flight for domain: of policy id, or any when id is NULL. */
static struct sts_fetch *fetch_find(const char *domain, const char *id)
{
	for (struct sts_fetch *f = fetches; f != NULL; f = f->next)
		if (strcmp(f->domain, domain) == 0 &&
		    (id == NULL || strcmp(f->id, id) == 0))
			return f;
	return NULL;
}

/* A new fetch of domain's policy id, in the list, not started. */
static struct sts_fetch *fetch_new(const char *domain, const char *id)
{
	struct sts_fetch *f = xcalloc(1, sizeof(*f));

	str_copy(f->domain, sizeof(f->domain), domain);
	str_copy(f->id, sizeof(f->id), id);
	f->next = fetches;
	fetches = f;
	return f;
}

static void fetch_resolve(struct sts_fetch *f);

/* Start f unless it runs already (it may end at once, in on_fetched). */
static void fetch_begin(struct sts_fetch *f)
{
	if (f->started)
		return;
	f->started = true;
	fetch_resolve(f);
}

static void fetch_free(struct sts_fetch *f)
{
	if (f->fetch != NULL)
		mtasts_fetch_cancel(f->fetch);
	for (size_t i = 0; i < f->naddrs; i++)
		free(f->addrs[i]);
	free(f->waiters);
	free(f);
}

/* A new policy was fetched: cache it (§5.1) and give it to the waiters. */
static bool fetched_store(struct sts_fetch *f, const struct buf *body,
			  const char **error_r)
{
	struct mtasts_policy p;
	struct spool_mtasts e;
	int rc;

	if (mtasts_policy_parse(body->ptr, body->len, &p, error_r) < 0)
		return false;
	memset(&e, 0, sizeof(e));
	str_copy(e.id, sizeof(e.id), f->id);
	e.policy = *body;
	e.fetched = time(NULL);
	e.expires = e.fetched + (time_t)p.max_age;
	mtasts_policy_free(&p);
	rc = spool_mtasts_put(outbound_spool, f->domain, &e, error_r);
	if (rc < 0)
		log_error("event=mta-sts domain=%s status=cache-failed reason=\"%s\"",
			  f->domain, *error_r);
	return true;
}

/* The fetch failed: the waiters keep a fresh cached policy, if any. */
static void fetch_failed(struct sts_fetch *f, struct job *j, const char *why)
{
	struct spool_mtasts c;
	int found = spool_mtasts_get(outbound_spool, f->domain, &c);
	bool kept = cache_fresh(&c, found, time(NULL)) &&
		    sts_apply(j, c.id, &c.policy, "cache");

	log_warn("queue=%s event=mta-sts domain=%s status=fetch-failed "
		 "reason=\"%s\" action=\"%s\"", j->qid, f->domain, why,
		 kept ? "the cached policy applies" : "no policy: opportunistic TLS");
	spool_mtasts_free(&c);
}

/* ---- background refresh (§5.1) ---- */

/* The link to domain's entry in attempts, NULL when it has none; entries
 * older than REFRESH_RETRY are dropped on the way. */
static struct sts_attempt **attempt_find(const char *domain, time_t now)
{
	struct sts_attempt **p = &attempts, *a;

	while ((a = *p) != NULL) {
		if (now - a->at >= REFRESH_RETRY) {
			*p = a->next;
			free(a);
			continue;
		}
		if (strcmp(a->domain, domain) == 0)
			return p;
		p = &a->next;
	}
	return NULL;
}

static void refresh_done(const struct sts_fetch *f, bool ok, const char *why)
{
	struct sts_attempt **p, *a;

	if (ok) {
		if ((p = attempt_find(f->domain, time(NULL))) != NULL) {
			a = *p;		/* refreshed: the next one when due */
			*p = a->next;
			free(a);
		}
		log_info("event=mta-sts domain=%s id=%s status=refreshed",
			 f->domain, f->id);
	} else {
		log_warn("event=mta-sts domain=%s id=%s status=refresh-failed "
			 "reason=\"%s\" action=\"the cached policy applies until "
			 "it expires; tried again in an hour\"", f->domain, f->id,
			 why != NULL ? why : "invalid policy");
	}
}

/* The policy of j's domain in the cache c, about to be used: fetch it
 * again without making j wait, when due and not tried lately. */
static void refresh_maybe(const struct job *j, const struct spool_mtasts *c)
{
	time_t now = time(NULL);
	struct sts_attempt *a;
	struct sts_fetch *f;

	if (!mtasts_refresh_due(c->fetched, c->expires, now) ||
	    attempt_find(j->domain, now) != NULL ||
	    fetch_find(j->domain, NULL) != NULL)  /* one in flight brings it */
		return;
	a = xmalloc(sizeof(*a) + strlen(j->domain) + 1);
	a->at = now;
	memcpy(a->domain, j->domain, strlen(j->domain) + 1);
	a->next = attempts;
	attempts = a;
	f = fetch_new(j->domain, c->id);
	f->refresh = true;
	log_info("queue=%s event=mta-sts domain=%s id=%s status=refreshing "
		 "fetched=%lld expires=%lld", j->qid, j->domain, c->id,
		 (long long)c->fetched, (long long)c->expires);
	fetch_begin(f);
}

static void on_fetched(void *arg, const struct buf *body, const char *error)
{
	struct sts_fetch *f = arg;
	const char *why = error;
	bool ok;

	f->fetch = NULL;	/* done: freed by mtasts_fetch */
	fetch_unlink(f);
	ok = body != NULL && fetched_store(f, body, &why);
	if (f->refresh)
		refresh_done(f, ok, why);
	/* then() may finish (and free) its job: the list is ours now */
	for (size_t i = 0; i < f->nwaiters; i++) {
		struct job *j = f->waiters[i];
		j->sts->waiting = NULL;
		if (!ok || !sts_apply(j, f->id, body, "fetch"))
			fetch_failed(f, j, why != NULL ? why : "invalid policy");
	}
	for (size_t i = 0; i < f->nwaiters; i++)
		sts_continue(f->waiters[i]);
	fetch_free(f);
}

static void fetch_start(struct sts_fetch *f)
{
	const char *why = "mta-sts host has no address";

	if (f->naddrs > 0)
		f->fetch = mtasts_fetch_start(proc_base, f->domain,
					      (const char *const *)f->addrs,
					      proc_cfg.outbound_ca_file, on_fetched,
					      f, &why);
	if (f->fetch == NULL)
		on_fetched(f, NULL, why);
}

static void on_host_addr(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct sts_fetch *f = arg;

	(void)secure;
	for (size_t i = 0; a->rcode == DNSQ_OK && i < a->n &&
	     f->naddrs < MTASTS_ADDRS_MAX; i++)
		f->addrs[f->naddrs++] = xstrdup(a->rr[i]);
	if (--f->dns_pending == 0)
		fetch_start(f);
}

/* A and AAAA of mta-sts.DOMAIN through the queue's resolver, then fetch. */
static void fetch_resolve(struct sts_fetch *f)
{
	static const int types[] = { DNSQ_A, DNSQ_AAAA };

	f->dns_pending = 1;
	for (size_t i = 0; i < 2; i++) {
		struct dnsq q = { types[i], "" };
		uint64_t id;
		if (snprintf(q.name, sizeof(q.name), "mta-sts.%s", f->domain) >=
		    (int)sizeof(q.name))
			break;
		f->dns_pending++;
		if (outbound_resolver() == NULL ||
		    dns_query(outbound_resolver(), &q, on_host_addr, f, &id) < 0)
			f->dns_pending--;
	}
	if (--f->dns_pending == 0)
		fetch_start(f);
}

/* Wait for the domain's policy fetch, starting it unless in flight. */
static void fetch_join(struct job *j, const char *id)
{
	struct sts_fetch *f = fetch_find(j->domain, id);

	if (f == NULL) {
		f = fetch_new(j->domain, id);
		log_debug("queue=%s event=mta-sts domain=%s status=fetching id=%s",
			  j->qid, j->domain, id);
	}
	f->waiters = xrealloc(f->waiters, (f->nwaiters + 1) * sizeof(*f->waiters));
	f->waiters[f->nwaiters++] = j;
	j->sts->waiting = f;
	fetch_begin(f);
}

/* ---- the TXT record and the cache (§5.1) ---- */

/* 1 and id: a valid record; else 0 (none, several, malformed, DNS error). */
static int txt_id(const struct dnsq_answer *a, char id[MTASTS_ID_MAX + 1])
{
	const char *why = NULL;

	if (a == NULL || a->rcode != DNSQ_OK)
		return 0;
	return mtasts_txt_select((const char *const *)a->rr, a->rr_len, a->n, id,
				 &why) == 1 ? 1 : 0;
}

static void txt_decide(struct job *j, const struct dnsq_answer *a)
{
	char id[MTASTS_ID_MAX + 1] = "";
	struct spool_mtasts c;
	int found = spool_mtasts_get(outbound_spool, j->domain, &c);
	bool fresh = cache_fresh(&c, found, time(NULL));
	int have_txt = txt_id(a, id);

	if (have_txt && !(fresh && strcmp(c.id, id) == 0)) {
		spool_mtasts_free(&c);
		return fetch_join(j, id);
	}
	if (fresh && !sts_apply(j, c.id, &c.policy, "cache"))
		log_warn("queue=%s event=mta-sts domain=%s status=cache-invalid",
			 j->qid, j->domain);
	else if (fresh && have_txt)
		refresh_maybe(j, &c);
	spool_mtasts_free(&c);
	sts_continue(j);
}

static void on_txt(void *arg, const struct dnsq_answer *a, bool secure)
{
	(void)secure;
	txt_decide(arg, a);
}

void outbound_mtasts_lookup(struct job *j, void (*then)(struct job *j))
{
	struct dnsq q = { DNSQ_TXT, "" };
	uint64_t id;

	if (!proc_cfg.outbound_mta_sts || *j->domain == '\0')
		return then(j);
	j->sts = xcalloc(1, sizeof(*j->sts));
	j->sts->then = then;
	if (snprintf(q.name, sizeof(q.name), "_mta-sts.%s", j->domain) >=
	    (int)sizeof(q.name))
		return txt_decide(j, NULL);
	if (outbound_resolver() == NULL ||
	    dns_query(outbound_resolver(), &q, on_txt, j, &id) < 0)
		txt_decide(j, NULL);
}

/* ---- MX hosts (§4.1) ---- */

static bool sts_mode(const struct job *j, enum mtasts_mode m)
{
	return j->sts != NULL && j->sts->pol.mode == m;
}

int outbound_mtasts_filter_mx(struct job *j)
{
	size_t kept = 0;
	bool enforce = sts_mode(j, MTASTS_MODE_ENFORCE);
	struct buf t = BUF_INIT;

	if (!enforce && !sts_mode(j, MTASTS_MODE_TESTING))
		return 0;
	for (size_t i = 0; i < j->mx.n; i++) {
		const char *host = j->mx.hosts[i].name;
		if (mtasts_policy_allows(&j->sts->pol, host)) {
			j->mx.hosts[kept++] = j->mx.hosts[i];
			continue;
		}
		log_info("queue=%s event=%s domain=%s host=%s reason=\"MX host not "
			 "listed in the policy\"%s", j->qid, enforce ? "mta-sts-mx" :
			 "mta-sts-testing", j->domain, host,
			 enforce ? " action=skipped" : " action=\"tried anyway\"");
		if (!enforce)
			j->mx.hosts[kept++] = j->mx.hosts[i];
	}
	j->mx.n = kept;
	if (kept > 0)
		return 0;
	buf_printf(&t, "4.7.5 MTA-STS: the policy of %s (mode enforce, id %s) "
		   "lists none of its MX hosts", j->domain, j->sts->id);
	outbound_fail_all(j, false, "4.7.5", buf_cstr(&t));
	buf_free(&t);
	return -1;
}

/* ---- TLS (§4.2) ---- */

void outbound_mtasts_tls_policy(struct job *j)
{
	if (j->sts != NULL)
		j->sts->fail_logged = false;
	if (sts_mode(j, MTASTS_MODE_ENFORCE)) {
		j->tls_required = true;
		j->tls_auth = OUTBOUND_TLS_MTASTS;
	} else if (sts_mode(j, MTASTS_MODE_TESTING)) {
		j->tls_auth = OUTBOUND_TLS_MTASTS_TESTING;
	}
}

/* The trust store: [outbound] ca_file, else the system's; reloaded when
 * the option changes. NULL when it cannot be read (logged). */
static X509_STORE *trust_store(void)
{
	static X509_STORE *store;
	static char *loaded_from;
	const char *ca = proc_cfg.outbound_ca_file;

	if (store != NULL && strcmp(loaded_from, ca) == 0)
		return store;
	X509_STORE_free(store);
	free(loaded_from);
	store = X509_STORE_new();
	loaded_from = xstrdup(ca);
	if (store != NULL && (*ca != '\0' ? X509_STORE_load_file(store, ca) :
			      X509_STORE_set_default_paths(store)) == 1)
		return store;
	log_error("event=mta-sts status=failed reason=\"cannot load the trust "
		  "store %s\" action=\"hosts under an enforce policy are not "
		  "tried\"", *ca ? ca : "(system)");
	X509_STORE_free(store);
	store = NULL;
	free(loaded_from);
	loaded_from = NULL;
	return NULL;
}

static int job_index(void)
{
	static int idx = -1;

	if (idx < 0)
		idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return idx;
}

static void fail_log(struct job *j, const char *why)
{
	if (j->sts->fail_logged)
		return;
	j->sts->fail_logged = true;
	log_warn("queue=%s event=mta-sts-fail domain=%s host=%s relay=%s "
		 "reason=\"%s\" action=\"next MX host; the mail stays queued\"",
		 j->qid, j->domain, j->host, j->relay, why);
}

/* Enforce: the handshake stops at the first verification error, after
 * saying why. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(ctx,
					      SSL_get_ex_data_X509_STORE_CTX_idx());
	struct job *j = ssl != NULL ? SSL_get_ex_data(ssl, job_index()) : NULL;
	struct buf why = BUF_INIT;

	if (!ok && j != NULL && j->sts != NULL) {
		buf_printf(&why, "certificate not verified: %s",
			   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		fail_log(j, buf_cstr(&why));
		buf_free(&why);
	}
	return ok;
}

int outbound_mtasts_verify_setup(struct job *j, SSL *ssl)
{
	X509_STORE *st = trust_store();
	bool enforce = j->tls_auth == OUTBOUND_TLS_MTASTS;

	if (st == NULL)
		return enforce ? -1 : 0;
	if (SSL_set1_verify_cert_store(ssl, st) != 1 ||
	    SSL_set1_host(ssl, j->host) != 1 ||
	    SSL_set_ex_data(ssl, job_index(), j) != 1)
		return -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (enforce) {	/* §4.2: TLS 1.2 or later, PKIX, the MX host's name */
		if (SSL_set_min_proto_version(ssl, TLS1_2_VERSION) != 1)
			return -1;
		SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_cb);
	}
	return 0;
}

bool outbound_mtasts_verified(struct job *j, SSL *ssl, struct buf *why)
{
	long res = SSL_get_verify_result(ssl);
	const char *err = X509_verify_cert_error_string(res);

	if (res == X509_V_OK && SSL_get0_peer_certificate(ssl) != NULL) {
		j->tls_verified = "mta-sts";
		return true;
	}
	if (res == X509_V_OK)
		err = "no certificate";
	if (j->tls_auth == OUTBOUND_TLS_MTASTS_TESTING) {
		log_info("queue=%s event=mta-sts-testing domain=%s host=%s id=%s "
			 "reason=\"certificate not verified: %s\" action=\"sent "
			 "anyway (mode testing)\"", j->qid, j->domain, j->host,
			 j->sts->id, err);
		j->tls_verified = "no";
		return true;
	}
	j->tls_verified = "failed";
	buf_printf(why, "4.7.5 MTA-STS: certificate not verified: %s", err);
	fail_log(j, buf_cstr(why) + 6);
	return false;
}

void outbound_mtasts_cleartext(const struct job *j)
{
	if (j->tls_auth != OUTBOUND_TLS_MTASTS_TESTING || j->sts == NULL)
		return;
	log_info("queue=%s event=mta-sts-testing domain=%s host=%s id=%s "
		 "reason=\"no STARTTLS\" action=\"sent anyway (mode testing)\"",
		 j->qid, j->domain, j->host, j->sts->id);
}

/* ---- lifetime ---- */

void outbound_mtasts_free(struct job *j)
{
	struct outbound_mtasts *s = j->sts;
	struct sts_fetch *f;

	if (s == NULL)
		return;
	if ((f = s->waiting) != NULL) {
		for (size_t i = 0; i < f->nwaiters; i++)
			if (f->waiters[i] == j)
				f->waiters[i] = f->waiters[--f->nwaiters];
	}
	mtasts_policy_free(&s->pol);
	free(s);
	j->sts = NULL;
}

void outbound_mtasts_shutdown(void)
{
	while (fetches != NULL) {
		struct sts_fetch *f = fetches;
		fetches = f->next;
		fetch_free(f);		/* its DNS questions die with the resolver */
	}
	while (attempts != NULL) {
		struct sts_attempt *a = attempts;
		attempts = a->next;
		free(a);
	}
	mtasts_fetch_shutdown();
}
