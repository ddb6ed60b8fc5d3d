/* smtp_checks: SPF, iprev, DKIM and DMARC for incoming mail. */
#include "smtp/smtp_checks.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/proc.h"
#include "dns/dns.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/authpolicy.h"
#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"
#include "mailauth/iprev.h"
#include "mailauth/spf.h"
#include "smtp/smtp_server.h"
#include "smtp/smtp_session.h"

enum check_kind { CK_SPF, CK_IPREV, CK_DKIM, CK_DMARC };

/* One evaluator waiting for (at most) one DNS answer. */
struct check_run {
	struct smtp_checks *c;
	enum check_kind kind;
	size_t index;		/* DKIM signature */
	uint64_t query;
	bool waiting;
};

struct smtp_checks {
	struct smtp_session *s;
	/* per connection */
	struct iprev *iprev;
	struct check_run iprev_run;
	enum iprev_result iprev_result;
	bool iprev_done;
	/* per transaction */
	struct spf_eval *spf;
	struct check_run spf_run;
	enum spf_result spf_result;
	bool spf_done;
	struct dkim_verify *dkim;
	struct check_run *dkim_runs;
	size_t ndkim, dkim_pending;
	struct dmarc_from from;
	bool from_bad;
	struct dmarc_eval *dmarc;
	struct check_run dmarc_run;
	bool dmarc_done;
	bool ending;		/* the session waits for the verdicts */
	bool in_end;		/* inside smtp_checks_end: no callback */
};

static struct dns *resolver;

static bool resolver_stale;	/* the configuration changed since */

/* The resolver is made on first use, not at start: an idle server holds
 * no resolver thread and caches (about 1 MiB). */
static struct dns *get_resolver(void)
{
	const char *why = NULL;
	struct dns *next;

	if (resolver != NULL && (!resolver_stale || dns_pending(resolver) > 0))
		return resolver;	/* a new configuration waits for a quiet moment */
	next = dns_new_configured(proc_base, &proc_cfg, &why);
	if (next == NULL) {
		log_error("event=dns status=failed reason=\"%s\" action=\"%s\"", why,
			  resolver ? "keeping the previous resolver" :
				     "mail is accepted without SPF/DKIM/DMARC checks");
		resolver_stale = false;	/* do not retry on every message */
		return resolver;
	}
	dns_free(resolver);	/* nothing pending on it (checked above) */
	resolver = next;
	resolver_stale = false;
	return resolver;
}

void smtp_checks_setup(void)
{
	resolver_stale = true;
}

bool smtp_checks_wanted(const struct smtp_session *s)
{
	return proc_cfg.checks_enabled && s->service == SVC_SMTP &&
	       !smtp_server_relay_allowed(s);
}

static struct smtp_checks *checks_of(struct smtp_session *s)
{
	if (s->checks == NULL) {
		s->checks = xcalloc(1, sizeof(*s->checks));
		s->checks->s = s;
	}
	return s->checks;
}

static void advance(struct smtp_checks *c);
static void run(struct check_run *r);

static void on_answer(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct check_run *r = arg;
	struct smtp_checks *c = r->c;

	(void)secure;
	r->waiting = false;
	switch (r->kind) {
	case CK_SPF:
		spf_eval_answer(c->spf, a);
		break;
	case CK_IPREV:
		iprev_answer(c->iprev, a);
		break;
	case CK_DMARC:
		dmarc_eval_answer(c->dmarc, a);
		break;
	case CK_DKIM:
		dkim_verify_key_answer(c->dkim, r->index, a);
		c->dkim_pending--;
		advance(c);
		return;
	}
	run(r);
}

/* Ask q for r; a refused question counts as a temporary DNS failure. */
static void ask(struct check_run *r, const struct dnsq *q)
{
	if (dns_query(resolver, q, on_answer, r, &r->query) == 0) {
		r->waiting = true;
		return;
	}
	struct dnsq_answer fail = { .rcode = DNSQ_TEMPFAIL };
	on_answer(r, &fail, false);
}

/* Step an evaluator until it needs DNS or has its result. */
static void run(struct check_run *r)
{
	struct smtp_checks *c = r->c;
	struct dnsq q;

	switch (r->kind) {
	case CK_SPF:
		c->spf_result = spf_eval_step(c->spf, &q);
		if (c->spf_result == SPF_NEED_DNS)
			return ask(r, &q);
		c->spf_done = true;
		break;
	case CK_IPREV:
		c->iprev_result = iprev_step(c->iprev, &q);
		if (c->iprev_result == IPREV_NEED_DNS)
			return ask(r, &q);
		c->iprev_done = true;
		break;
	case CK_DMARC:
		if (dmarc_eval_step(c->dmarc, &q) == DMARC_NEED_DNS)
			return ask(r, &q);
		c->dmarc_done = true;
		break;
	case CK_DKIM:
		break;
	}
	advance(c);
}

static void cancel(struct check_run *r)
{
	if (r->waiting)
		dns_cancel(resolver, r->query);
	r->waiting = false;
}

void smtp_checks_mail(struct smtp_session *s)
{
	struct smtp_checks *c;

	if (!smtp_checks_wanted(s) || get_resolver() == NULL)
		return;
	c = checks_of(s);
	smtp_checks_reset(s);
	if (c->iprev == NULL) {
		c->iprev = iprev_new(s->ip);
		c->iprev_run = (struct check_run){ c, CK_IPREV, 0, 0, false };
		run(&c->iprev_run);
	}
	c->spf = spf_eval_new(s->ip, s->env.sender, s->helo, proc_cfg.hostname);
	c->spf_run = (struct check_run){ c, CK_SPF, 0, 0, false };
	run(&c->spf_run);
}

void smtp_checks_data_begin(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c == NULL || c->spf == NULL)
		return;
	c->dkim = dkim_verify_new(NULL);
	dkim_verify_set_time(c->dkim, (long long)time(NULL));
	memset(&c->from, 0, sizeof(c->from));
	c->from_bad = false;
}

void smtp_checks_data(struct smtp_session *s, const char *p, size_t n)
{
	if (s->checks != NULL && s->checks->dkim != NULL)
		dkim_verify_feed(s->checks->dkim, p, n);
}

void smtp_checks_header_field(struct smtp_session *s, const char *f, size_t n)
{
	struct smtp_checks *c = s->checks;
	const char *why = NULL;

	if (c == NULL || c->dkim == NULL || n < 5 || !str_nieq(f, "from:", 5))
		return;
	if (dmarc_from_parse(f + 5, n - 5, &c->from, &why) < 0)
		c->from_bad = true;
}

static unsigned dkim_passes(struct smtp_checks *c, struct dmarc_dkim *out,
			    size_t max)
{
	unsigned n = 0;

	for (size_t i = 0; i < c->ndkim && n < max; i++) {
		const struct dkim_result *r = dkim_verify_result(c->dkim, i);
		out[n].domain = r->domain;
		out[n].pass = r->status == DKIM_PASS;
		n++;
	}
	return n;
}

static void start_dmarc(struct smtp_checks *c)
{
	struct dmarc_dkim dk[DKIM_MAX_SIGNATURES];
	struct dmarc_input in;

	memset(&in, 0, sizeof(in));
	in.from = &c->from;
	in.spf = c->spf_result;
	in.spf_domain = spf_eval_domain(c->spf);
	in.dkim = dk;
	in.ndkim = dkim_passes(c, dk, DKIM_MAX_SIGNATURES);
	if (c->from_bad)
		c->from.n = 0;	/* permerror: no usable author domain */
	c->dmarc = dmarc_eval_new(&in);
	c->dmarc_run = (struct check_run){ c, CK_DMARC, 0, 0, false };
	run(&c->dmarc_run);
}

/* Called whenever an evaluator is done: go on when everything is. */
static void advance(struct smtp_checks *c)
{
	if (!c->ending || !c->spf_done || !c->iprev_done || c->dkim_pending > 0)
		return;
	if (c->dmarc == NULL) {
		start_dmarc(c);
		return;
	}
	if (!c->dmarc_done || c->in_end)
		return;
	c->ending = false;
	smtp_msg_checked(c->s);
}

static bool all_done(const struct smtp_checks *c)
{
	return c->spf_done && c->iprev_done && c->dkim_pending == 0 &&
	       c->dmarc_done;
}

bool smtp_checks_end(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c == NULL || c->dkim == NULL)
		return false;
	c->ndkim = dkim_verify_end(c->dkim);
	c->dkim_runs = xcalloc(c->ndkim ? c->ndkim : 1, sizeof(*c->dkim_runs));
	c->ending = true;
	c->in_end = true;
	for (size_t i = 0; i < c->ndkim; i++) {
		const struct dnsq *q = dkim_verify_query(c->dkim, i);
		c->dkim_runs[i] = (struct check_run){ c, CK_DKIM, i, 0, false };
		if (q == NULL)
			continue;
		c->dkim_pending++;
		ask(&c->dkim_runs[i], q);
	}
	advance(c);
	c->in_end = false;
	if (all_done(c)) {
		c->ending = false;
		return false;
	}
	return true;
}

/* The verdicts as authpolicy reads them; res holds the DKIM results. */
static void policy_input(struct smtp_checks *c, const struct dmarc_verdict *dv,
			 const struct dkim_result **res,
			 struct authpolicy_input *in)
{
	struct smtp_session *s = c->s;

	for (size_t i = 0; i < c->ndkim && i < DKIM_MAX_SIGNATURES; i++)
		res[i] = dkim_verify_result(c->dkim, i);
	*in = (struct authpolicy_input){
		.have_ip = true, .ip = s->ip, .iprev = c->iprev_result,
		.iprev_host = iprev_host(c->iprev), .spf = c->spf_result,
		.mail_from = s->env.sender, .helo = s->helo,
		.spf_reason = spf_eval_reason(c->spf), .dkim = res,
		.ndkim = c->ndkim < DKIM_MAX_SIGNATURES ? c->ndkim :
			 DKIM_MAX_SIGNATURES,
		.dmarc = dv,
	};
}

static void log_verdicts(struct smtp_checks *c, const struct dmarc_verdict *dv,
			 const char *action)
{
	struct buf dk = BUF_INIT;

	for (size_t i = 0; i < c->ndkim; i++) {
		const struct dkim_result *r = dkim_verify_result(c->dkim, i);
		buf_printf(&dk, "%s%s(d=%s)", i ? "," : "",
			   authpolicy_dkim_result(r->status), r->domain);
	}
	log_info("session=%s queue=%s event=checks iprev=%s spf=%s dkim=%s "
		 "dmarc=%s from=%s action=%s", c->s->id, c->s->env.qid,
		 iprev_result_name(c->iprev_result), spf_result_name(c->spf_result),
		 dk.len ? buf_cstr(&dk) : "none",
		 dv ? dmarc_result_name(dv->result) : "none",
		 dv && dv->from_domain ? dv->from_domain : "-", action);
	buf_free(&dk);
}

void smtp_checks_result(struct smtp_session *s, struct smtp_verdict *v)
{
	struct smtp_checks *c = s->checks;
	const struct dkim_result *res[DKIM_MAX_SIGNATURES];
	const struct authpolicy_options opts = {
		proc_cfg.checks_dmarc_reject, proc_cfg.checks_junk
	};
	const struct dmarc_verdict *dv;
	struct authpolicy_input in;
	enum authpolicy_action act;

	v->reject = NULL;
	v->junk = false;
	buf_init(&v->headers);
	if (c == NULL || c->dkim == NULL || !all_done(c))
		return;
	dv = dmarc_eval_verdict(c->dmarc);
	policy_input(c, dv, res, &in);
	act = authpolicy_decide(&in, &opts, NULL);
	v->reject = act == AUTHPOLICY_REJECT ? AUTHPOLICY_REJECT_REPLY : NULL;
	v->junk = act == AUTHPOLICY_JUNK;
	authpolicy_headers(&in, *proc_cfg.checks_authserv_id ?
			   proc_cfg.checks_authserv_id : proc_cfg.hostname,
			   proc_cfg.hostname, &v->headers);
	log_verdicts(c, dv, authpolicy_action_name(act));
}

void smtp_checks_reset(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c == NULL)
		return;
	cancel(&c->spf_run);
	cancel(&c->dmarc_run);
	for (size_t i = 0; c->dkim_runs && i < c->ndkim; i++)
		cancel(&c->dkim_runs[i]);
	spf_eval_free(c->spf);
	dkim_verify_free(c->dkim);
	dmarc_eval_free(c->dmarc);
	free(c->dkim_runs);
	c->spf = NULL;
	c->dkim = NULL;
	c->dmarc = NULL;
	c->dkim_runs = NULL;
	c->ndkim = c->dkim_pending = 0;
	c->spf_done = c->dmarc_done = c->ending = false;
}

void smtp_checks_free(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c == NULL)
		return;
	smtp_checks_reset(s);
	cancel(&c->iprev_run);
	iprev_free(c->iprev);
	free(c);
	s->checks = NULL;
}
