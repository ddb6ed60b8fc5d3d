/* dns: libunbound contexts driven from a libevent loop.
 *
 * Each question is a struct dns_pending on a list, with a timer. It ends
 * in exactly one of three ways, and is unlinked and freed before the
 * user's callback runs (so the callback may ask or cancel freely):
 *   answer   libunbound's callback, from ub_process() on ub_fd readable;
 *   timeout  the timer: ub_cancel(), then TEMPFAIL;
 *   cancel   dns_cancel()/dns_free(): ub_cancel(), no callback.
 * After ub_cancel() libunbound never calls back for that query. Names
 * refused by dns_qname_escape() get NXDOMAIN through the same timer, fired
 * at once, so even they are answered from the loop. */
#include "dns/dns.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#include "daemon/conf/config.h"
#include "dns/dns_conv.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define DNS_CLASS_IN 1

struct dns_pending {
	struct dns *d;
	uint64_t id;
	int ub_id;		/* 0: not sent, `local` is the answer */
	enum dnsq_rcode local;
	struct dnsq q;		/* for the callback's logs */
	dns_cb *cb;
	void *arg;
	struct event *timer;
	struct dns_pending *prev, *next;
};

struct dns {
	struct ub_ctx *ctx;
	struct event_base *base;
	struct event *ev_fd;	/* ub_fd(): answers are waiting */
	unsigned timeout_ms;
	uint64_t last_id;
	unsigned npending;
	struct dns_pending *pending;
};

/* One line per answer at debug level; timeouts at info. reason: NULL or
 * a static string. */
static void qlog(const char *what, const struct dnsq *q,
		 enum dnsq_rcode rcode, bool secure, const char *reason)
{
	enum log_level level = strcmp(what, "timeout") == 0 ? LOGL_INFO :
			       LOGL_DEBUG;
	char safe[DNSQ_NAME_MAX * 4 + 1];

	if (log_get_level() < level)
		return;
	log_msg(level, "event=dns-%s type=%s name=%s rcode=%s secure=%s%s%s%s", what,
		dnsq_type_name(q->type),
		log_safe(safe, sizeof(safe), q->name,
			 (unsigned)strlen(q->name)),
		dnsq_rcode_name(rcode), secure ? "yes" : "no",
		reason ? " reason=\"" : "", reason ? reason : "",
		reason ? "\"" : "");
}

/* A DNSSEC validation failure: worth an operator's look (RFC 4035 §5.5). */
static void log_bogus(const struct dnsq *q, const char *why)
{
	char safe_name[DNSQ_NAME_MAX * 4 + 1], safe_why[512];

	why = why != NULL ? why : "?";
	log_warn("event=dns dnssec=bogus type=%s name=%s reason=\"%s\"",
		 dnsq_type_name(q->type),
		 log_safe(safe_name, sizeof(safe_name), q->name,
			  (unsigned)strlen(q->name)),
		 log_safe(safe_why, sizeof(safe_why), why,
			  (unsigned)strlen(why)));
}

/* ---- setup ---- */

static int set_option(struct ub_ctx *ctx, const char *opt, const char *val)
{
	int err = ub_ctx_set_option(ctx, opt, val);

	if (err != 0)
		log_error("event=dns option=%s value=%s error=\"%s\"", opt, val,
			  ub_strerror(err));
	return err == 0 ? 0 : -1;
}

/* Options for a resolver with forwarders (or resolv.conf): those are
 * ours (a test world, a local unbound), so they may sit on loopback and
 * may answer what libunbound otherwise answers itself: the loopback
 * reverse zone (FCrDNS of 127.0.0.x), the RFC 6303 private and
 * documentation reverse zones (unsigned there, so not validated), and
 * RFC 6761 "test.". An empty "transparent" zone replaces a built-in
 * one and passes every question on ("nodefault" is mis-parsed by
 * ub_ctx_set_option() in 1.17). */
static const struct {
	const char *opt, *val;
} forward_options[] = {
	{ "do-not-query-localhost:", "no" },
	{ "unblock-lan-zones:", "yes" },
	{ "insecure-lan-zones:", "yes" },
	{ "local-zone:", "127.in-addr.arpa. transparent" },
	{ "local-zone:", "test. transparent" },
};

static int setup_forwarders(struct ub_ctx *ctx, const struct dns_config *cfg,
			    const char **error_r)
{
	const char *const *fwd = cfg->forwarders;
	bool forwarding = (fwd != NULL && fwd[0] != NULL) ||
			  cfg->resolv_conf != NULL;

	for (size_t i = 0; forwarding &&
	     i < sizeof(forward_options) / sizeof(forward_options[0]); i++) {
		if (set_option(ctx, forward_options[i].opt,
			       forward_options[i].val) < 0) {
			*error_r = "libunbound rejected a forwarding option";
			return -1;
		}
	}
	for (; fwd != NULL && *fwd != NULL; fwd++) {
		int err = ub_ctx_set_fwd(ctx, *fwd);
		if (err != 0) {
			log_error("event=dns forwarder=%s error=\"%s\"", *fwd,
				  ub_strerror(err));
			*error_r = "invalid DNS forwarder address";
			return -1;
		}
	}
	if (cfg->resolv_conf != NULL &&
	    ub_ctx_resolvconf(ctx, cfg->resolv_conf) != 0) {
		*error_r = "cannot read the resolv.conf file";
		return -1;
	}
	return 0;
}

static int setup_trust_anchor(struct ub_ctx *ctx, const char *file,
			      const char **error_r)
{
	FILE *f;

	if (file == NULL)
		return 0;
	/* libunbound reads the file only at its first query: check now. */
	if ((f = fopen(file, "r")) == NULL) {
		log_error("event=dns trust_anchor=%s error=\"%s\"", file,
			  strerror(errno));
		*error_r = "cannot read the DNSSEC trust anchor file";
		return -1;
	}
	fclose(f);
	if (ub_ctx_add_ta_file(ctx, file) != 0) {
		*error_r = "cannot use the DNSSEC trust anchor file";
		return -1;
	}
	return 0;
}

/* Make libunbound apply its configuration now (trust anchors parsed,
 * modules set up) with a question its built-in localhost zone answers,
 * so a bad setting fails dns_new() instead of every query later. */
static int setup_probe(struct ub_ctx *ctx, const char **error_r)
{
	struct ub_result *r = NULL;
	int err = ub_resolve(ctx, "localhost.", DNSQ_A, DNS_CLASS_IN, &r);

	if (r != NULL)
		ub_resolve_free(r);
	if (err != 0) {
		log_error("event=dns-setup error=\"%s\"", ub_strerror(err));
		*error_r = "libunbound rejected the DNS settings";
		return -1;
	}
	return 0;
}

/* A mail server asks a few hundred names a minute, not a recursive
 * resolver's load: small caches and few sockets keep the resolver thread
 * to a few hundred KiB (libunbound's defaults are sized for a busy
 * resolver: 4 MiB caches, 4096 outgoing sockets). */
static int setup_memory(struct ub_ctx *ctx, const char **error_r)
{
	static const char *const opts[][2] = {
		{ "outgoing-range:", "64" },
		{ "msg-cache-size:", "256k" },
		{ "rrset-cache-size:", "512k" },
		{ "key-cache-size:", "128k" },
		{ "neg-cache-size:", "64k" },
		{ "infra-cache-numhosts:", "256" },
		{ "msg-buffer-size:", "8192" },
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (set_option(ctx, opts[i][0], opts[i][1]) < 0) {
			*error_r = "libunbound rejected a memory setting";
			return -1;
		}
	}
	return 0;
}

static int setup_ctx(struct ub_ctx *ctx, const struct dns_config *cfg,
		     const char **error_r)
{
	/* A thread, not a forked process: nothing of ours is copied. */
	if (ub_ctx_async(ctx, 1) != 0) {
		*error_r = "libunbound has no thread support";
		return -1;
	}
	if (setup_memory(ctx, error_r) < 0 || setup_forwarders(ctx, cfg, error_r) < 0 ||
	    setup_trust_anchor(ctx, cfg->trust_anchor_file, error_r) < 0)
		return -1;
	return setup_probe(ctx, error_r);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	int err = ub_process(d->ctx);

	if (err != 0)
		log_error("event=dns-process error=\"%s\"", ub_strerror(err));
}

struct dns *dns_new(struct event_base *base, const struct dns_config *cfg,
		    const char **error_r)
{
	unsigned timeout = cfg->timeout_ms ? cfg->timeout_ms :
				DNS_TIMEOUT_DEFAULT_MS;
	struct ub_ctx *ctx;
	struct dns *d;

	if (timeout < DNS_TIMEOUT_MIN_MS || timeout > DNS_TIMEOUT_MAX_MS) {
		*error_r = "DNS timeout out of range";
		return NULL;
	}
	if ((ctx = ub_ctx_create()) == NULL) {
		*error_r = "cannot create a libunbound context";
		return NULL;
	}
	if (setup_ctx(ctx, cfg, error_r) < 0) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->ctx = ctx;
	d->base = base;
	d->timeout_ms = timeout;
	if (base != NULL) {
		d->ev_fd = event_new(base, ub_fd(ctx), EV_READ | EV_PERSIST,
				     on_readable, d);
		if (d->ev_fd == NULL || event_add(d->ev_fd, NULL) != 0)
			fatal("dns: cannot watch the libunbound pipe");
	}
	return d;
}

struct dns *dns_new_configured(struct event_base *base,
			       const struct config *cfg, const char **error_r)
{
	struct dns_config dc;
	const char **fwd = xcalloc(cfg->dns_forwarders.n + 1, sizeof(*fwd));
	struct dns *d;

	for (size_t i = 0; i < cfg->dns_forwarders.n; i++)
		fwd[i] = cfg->dns_forwarders.v[i];
	memset(&dc, 0, sizeof(dc));
	dc.forwarders = fwd;
	dc.resolv_conf = cfg->dns_forwarders.n == 0 && *cfg->dns_resolv_conf ?
			 cfg->dns_resolv_conf : NULL;
	dc.trust_anchor_file = *cfg->dns_trust_anchor ? cfg->dns_trust_anchor :
			       NULL;
	dc.timeout_ms = (unsigned)cfg->dns_timeout * 1000;
	d = dns_new(base, &dc, error_r);
	free(fwd);
	return d;
}

/* ---- the pending list ---- */

static void pending_unlink(struct dns_pending *p)
{
	struct dns *d = p->d;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		d->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	d->npending--;
}

/* Unlink and free p, withdrawing its question from libunbound. */
static void pending_drop(struct dns_pending *p)
{
	if (p->ub_id != 0)
		(void)ub_cancel(p->d->ctx, p->ub_id);
	pending_unlink(p);
	event_free(p->timer);
	free(p);
}

/* Free p first, then hand the answer over. */
static void pending_deliver(struct dns_pending *p,
			    const struct dnsq_answer *a, bool secure)
{
	dns_cb *cb = p->cb;
	void *arg = p->arg;

	p->ub_id = 0;	/* answered: nothing left to cancel */
	pending_drop(p);
	cb(arg, a, secure);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_pending *p = arg;
	struct dnsq_answer a = { .rcode = p->local };

	if (p->ub_id != 0) {
		(void)ub_cancel(p->d->ctx, p->ub_id);
		p->ub_id = 0;
		a.rcode = DNSQ_TEMPFAIL;
		qlog("timeout", &p->q, a.rcode, false, NULL);
	}
	pending_deliver(p, &a, false);
}

/* libunbound's callback (ub_callback_type), from ub_process(). */
static void on_result(void *arg, int err, struct ub_result *r)
{
	struct dns_pending *p = arg;
	struct dnsq_answer a;
	bool secure = dns_result_secure(err, r);

	dns_answer_convert(&a, p->q.type, err, r);
	if (r != NULL && r->bogus)
		log_bogus(&p->q, r->why_bogus);
	qlog("answer", &p->q, a.rcode, secure, NULL);
	pending_deliver(p, &a, secure);
	dns_answer_free(&a);
	if (r != NULL)
		ub_resolve_free(r);
}

static struct dns_pending *pending_new(struct dns *d, const struct dnsq *q,
				       dns_cb *cb, void *arg)
{
	struct dns_pending *p = xcalloc(1, sizeof(*p));

	p->d = d;
	p->id = ++d->last_id;
	p->q = *q;
	p->cb = cb;
	p->arg = arg;
	if ((p->timer = evtimer_new(d->base, on_timer, p)) == NULL)
		fatal("dns: cannot create a timer");
	p->next = d->pending;
	if (d->pending != NULL)
		d->pending->prev = p;
	d->pending = p;
	d->npending++;
	return p;
}

/* ---- asking ---- */

int dns_query(struct dns *d, const struct dnsq *q, dns_cb *cb, void *arg,
	      uint64_t *id_r)
{
	char qname[DNS_QNAME_ESC_MAX];
	const char *why;
	struct dns_pending *p;
	struct timeval tv = { d->timeout_ms / 1000,
			      (d->timeout_ms % 1000) * 1000 };

	if (d->base == NULL)
		return -1;	/* dns_new(NULL, ...): sync only */
	if (d->npending >= DNS_MAX_PENDING) {
		log_warn("event=dns-refused reason=\"too many questions\" pending=%u",
			 d->npending);
		return -1;
	}
	p = pending_new(d, q, cb, arg);
	*id_r = p->id;
	if (dns_qname_escape(q->name, qname, &why) < 0) {
		p->local = DNSQ_NXDOMAIN;	/* dnsq.h: never sent */
		qlog("refused", q, DNSQ_NXDOMAIN, false, why);
		event_active(p->timer, EV_TIMEOUT, 1);
		return 0;
	}
	int err = ub_resolve_async(d->ctx, qname, q->type, DNS_CLASS_IN, p,
				   on_result, &p->ub_id);
	if (err != 0) {
		log_error("event=dns-resolve error=\"%s\"", ub_strerror(err));
		p->ub_id = 0;
		pending_drop(p);
		return -1;
	}
	evtimer_add(p->timer, &tv);
	return 0;
}

void dns_cancel(struct dns *d, uint64_t id)
{
	for (struct dns_pending *p = d->pending; p != NULL; p = p->next) {
		if (p->id == id) {
			pending_drop(p);
			return;
		}
	}
}

/* ---- waiting (dns_query_sync) ---- */

struct sync_state {
	bool done;
	bool secure;
	int type;
	struct dnsq_answer *a;
};

static void on_sync_result(void *arg, int err, struct ub_result *r)
{
	struct sync_state *st = arg;

	dns_answer_convert(st->a, st->type, err, r);
	st->secure = dns_result_secure(err, r);
	st->done = true;
	if (r != NULL)
		ub_resolve_free(r);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll ub_fd and run ub_process() until st is answered, or the time is
 * up: then the question is cancelled (no callback can follow). */
static void sync_wait(struct dns *d, struct sync_state *st, int ub_id)
{
	long long deadline = now_ms() + d->timeout_ms;
	struct pollfd pfd = { .fd = ub_fd(d->ctx), .events = POLLIN };

	while (!st->done) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			(void)ub_cancel(d->ctx, ub_id);
			st->a->rcode = DNSQ_TEMPFAIL;
			return;
		}
		if (poll(&pfd, 1, (int)left) > 0)
			(void)ub_process(d->ctx);
	}
}

void dns_query_sync(struct dns *d, const struct dnsq *q,
		    struct dnsq_answer *a, bool *secure_r)
{
	char qname[DNS_QNAME_ESC_MAX];
	const char *why;
	struct sync_state st = { .type = q->type, .a = a };
	int ub_id = 0, err;

	memset(a, 0, sizeof(*a));
	*secure_r = false;
	if (dns_qname_escape(q->name, qname, &why) < 0) {
		a->rcode = DNSQ_NXDOMAIN;
		qlog("refused", q, a->rcode, false, why);
		return;
	}
	err = ub_resolve_async(d->ctx, qname, q->type, DNS_CLASS_IN, &st,
			       on_sync_result, &ub_id);
	if (err != 0) {
		log_error("event=dns-resolve error=\"%s\"", ub_strerror(err));
		a->rcode = DNSQ_TEMPFAIL;
		return;
	}
	sync_wait(d, &st, ub_id);
	*secure_r = st.done && st.secure;
	qlog(st.done ? "answer" : "timeout", q, a->rcode, *secure_r, NULL);
}

unsigned dns_pending(const struct dns *d)
{
	return d->npending;
}

void dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	while (d->pending != NULL)
		pending_drop(d->pending);
	if (d->ev_fd != NULL)
		event_free(d->ev_fd);
	ub_ctx_delete(d->ctx);
	free(d);
}
