/* dmarc_eval: DMARC evaluation (RFC 7489 §6.6) as a resumable state
 * machine over DNS answers, one Author Domain after the other:
 *
 *   FROM    TXT _dmarc.<From domain>                    (§6.6.3 steps 1-2)
 *   ORG     TXT _dmarc.<organisational domain>, if the first set is empty
 *   DECIDE  identifier alignment (§3.1), pass/fail (§4.2), p/sp (§6.3)
 *   EXISTS  A, AAAA, MX of the From domain, only when a failing message
 *           used the organisational record and it has np= (RFC 9091 §2.1)
 *
 * then pct= sampling (§6.6.4) and, for several From domains, the most
 * strict policy among the checks that fail (§6.6.1). Answers are cached
 * per evaluation, so From domains sharing a record ask once. At most
 * DMARC_MAX_AUTHOR_DOMAINS * 5 questions are asked. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dmarc.h"

enum dom_phase {
	DP_FROM,
	DP_ORG,
	DP_DECIDE,
	DP_EXISTS,
	DP_DONE,
};

struct dmarc_cached {
	int type;
	char name[DMARC_DOMAIN_BUF];
	enum dnsq_rcode rcode;
	size_t n;
	char **rr;
	size_t *len;
};

struct dmarc_domain {
	char name[DMARC_DOMAIN_BUF];	/* the Author Domain */
	char org[DMARC_DOMAIN_BUF];	/* its organisational domain */
	enum dom_phase phase;
	struct dmarc_record rec;
	bool nonexistent;		/* RFC 9091 §2.1 */
	unsigned exists_next;		/* A, AAAA, MX */
	struct dmarc_verdict v;
	char reason[200];
};

struct dkim_in {
	char *domain;
	bool pass;
};

struct dmarc_eval {
	struct dmarc_domain dom[DMARC_MAX_AUTHOR_DOMAINS];
	size_t ndom, cur;
	enum spf_result spf;
	char *spf_domain;
	struct dkim_in *dkim;
	size_t ndkim;
	unsigned (*rand100)(void *arg);
	void *rand_arg;

	struct dmarc_cached *cache;
	size_t ncache, cache_cap;
	struct dnsq q;
	bool waiting;
	unsigned queries;

	bool done;
	struct dmarc_verdict verdict;
	char reason[200];
};

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {
		[DMARC_NONE] = "none", [DMARC_PASS] = "pass",
		[DMARC_FAIL] = "fail", [DMARC_TEMPERROR] = "temperror",
		[DMARC_PERMERROR] = "permerror", [DMARC_NEED_DNS] = "need-dns",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* printf into a reason buffer, then keep it printable ASCII (it carries
 * names from the message into logs and header comments). */
static void set_reason(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_reason(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
	for (char *p = out; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	}
}

/* The cached answer to (type, name), or NULL with it made the question. */
static const struct dmarc_cached *lookup(struct dmarc_eval *e, int type,
					 const char *name)
{
	for (size_t i = 0; i < e->ncache; i++) {
		if (e->cache[i].type == type && str_ieq(e->cache[i].name, name))
			return &e->cache[i];
	}
	e->q.type = type;
	str_copy(e->q.name, sizeof(e->q.name), name);
	e->waiting = true;
	return NULL;
}

static void cache_add(struct dmarc_eval *e, const struct dnsq *q,
		      const struct dnsq_answer *a)
{
	struct dmarc_cached *c;

	if (e->ncache == e->cache_cap) {
		e->cache_cap = e->cache_cap ? e->cache_cap * 2 : 8;
		e->cache = xrealloc(e->cache, e->cache_cap * sizeof(*e->cache));
	}
	c = &e->cache[e->ncache++];
	memset(c, 0, sizeof(*c));
	c->type = q->type;
	str_copy(c->name, sizeof(c->name), q->name);
	c->rcode = a->rcode <= DNSQ_TEMPFAIL ? a->rcode : DNSQ_TEMPFAIL;
	if (c->rcode != DNSQ_OK || a->n == 0) {
		c->rcode = c->rcode == DNSQ_OK ? DNSQ_NODATA : c->rcode;
		return;
	}
	c->n = a->n;
	c->rr = xcalloc(a->n, sizeof(*c->rr));
	c->len = xcalloc(a->n, sizeof(*c->len));
	for (size_t i = 0; i < a->n; i++) {
		c->len[i] = a->rr_len != NULL ? a->rr_len[i] : strlen(a->rr[i]);
		c->rr[i] = xmalloc(c->len[i] + 1);
		memcpy(c->rr[i], a->rr[i], c->len[i]);
		c->rr[i][c->len[i]] = '\0';
	}
}

static void cache_free(struct dmarc_eval *e)
{
	for (size_t i = 0; i < e->ncache; i++) {
		for (size_t j = 0; j < e->cache[i].n; j++)
			free(e->cache[i].rr[j]);
		free(e->cache[i].rr);
		free(e->cache[i].len);
	}
	free(e->cache);
}

static void domain_finish(struct dmarc_domain *d, enum dmarc_result r)
{
	d->v.result = r;
	d->phase = DP_DONE;
}

enum select_result {
	SEL_FOUND,	/* d->rec holds the policy */
	SEL_NONE,	/* no DMARC record: try the organisational domain */
	SEL_UNUSABLE,	/* several, or one without a usable policy: DMARC
			 * is not applied (§6.6.3 steps 5 and 6) */
	SEL_TEMP,
	SEL_WAIT,
};

/* §6.6.3 steps 1-2 and 4-5: the TXT set at _dmarc.<name>, records not
 * starting with v=DMARC1 discarded; exactly one must remain. */
static enum select_result select_record(struct dmarc_eval *e,
					struct dmarc_domain *d,
					const char *name)
{
	char qname[DMARC_DOMAIN_BUF];
	const struct dmarc_cached *a;
	const char *error;
	size_t found = 0, k = 0;

	if (snprintf(qname, sizeof(qname), "_dmarc.%s", name) >=
	    (int)sizeof(qname))
		return SEL_NONE;	/* no such name can exist */
	if ((a = lookup(e, DNSQ_TXT, qname)) == NULL)
		return SEL_WAIT;
	if (a->rcode == DNSQ_TEMPFAIL) {
		set_reason(d->reason, sizeof(d->reason),
			   "DNS error looking up TXT %s", qname);
		return SEL_TEMP;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (dmarc_record_parse(a->rr[i], a->len[i], &d->rec, &error) !=
		    DMARC_REC_NOT_DMARC && found++ == 0)
			k = i;
		dmarc_record_clear(&d->rec);
	}
	if (found != 1) {
		set_reason(d->reason, sizeof(d->reason),
			   "%s DMARC records at %s",
			   found == 0 ? "no" : "multiple", qname);
		return found == 0 ? SEL_NONE : SEL_UNUSABLE;
	}
	if (dmarc_record_parse(a->rr[k], a->len[k], &d->rec, &error) ==
	    DMARC_REC_OK)
		return SEL_FOUND;
	/* §6.6.3 step 6: no valid p= (or an invalid sp=) */
	if (d->rec.nrua == 0) {
		set_reason(d->reason, sizeof(d->reason), "%s at %s",
			   error != NULL ? error : "invalid record", qname);
		return SEL_UNUSABLE;
	}
	d->rec.p = d->rec.sp = d->rec.np = DMARC_POLICY_NONE;
	return SEL_FOUND;
}

/* FROM and ORG: find the policy record. */
static void domain_fetch(struct dmarc_eval *e, struct dmarc_domain *d)
{
	bool org = d->phase == DP_ORG;

	switch (select_record(e, d, org ? d->org : d->name)) {
	case SEL_WAIT:
		return;
	case SEL_FOUND:
		d->v.org_record = org;
		d->v.policy_domain = org ? d->org : d->name;
		d->phase = DP_DECIDE;
		return;
	case SEL_TEMP:
		domain_finish(d, DMARC_TEMPERROR);
		return;
	case SEL_NONE:
		if (!org && strcmp(d->name, d->org) != 0) {
			d->phase = DP_ORG;	/* §6.6.3 step 3 */
			return;
		}
		domain_finish(d, DMARC_NONE);
		return;
	case SEL_UNUSABLE:
		domain_finish(d, DMARC_NONE);
		return;
	}
}

/* §3.1, §4.2: a pass of an aligned identifier. */
static void domain_align(struct dmarc_eval *e, struct dmarc_domain *d)
{
	d->v.spf_aligned = e->spf == SPF_PASS &&
		dmarc_aligned(d->name, e->spf_domain, d->rec.aspf);
	for (size_t i = 0; i < e->ndkim && !d->v.dkim_aligned; i++) {
		if (e->dkim[i].pass &&
		    dmarc_aligned(d->name, e->dkim[i].domain, d->rec.adkim)) {
			d->v.dkim_aligned = true;
			set_reason(d->reason, sizeof(d->reason),
				   "DKIM d=%s aligned with %s",
				   e->dkim[i].domain, d->name);
		}
	}
	if (d->v.spf_aligned && !d->v.dkim_aligned)
		set_reason(d->reason, sizeof(d->reason),
			   "SPF %s aligned with %s", e->spf_domain, d->name);
	if (!d->v.spf_aligned && !d->v.dkim_aligned)
		set_reason(d->reason, sizeof(d->reason),
			   "no aligned SPF or DKIM pass for %s", d->name);
}

/* §6.3 p=/sp=, RFC 9091 np=: the requested policy. */
static enum dmarc_policy requested_policy(const struct dmarc_domain *d)
{
	if (!d->v.org_record)
		return d->rec.p;
	return d->nonexistent ? d->rec.np : d->rec.sp;
}

/* §6.6.4: a failing message outside the pct= sample gets the next
 * weaker policy (reject -> quarantine, quarantine -> none). */
static enum dmarc_policy sampled(struct dmarc_eval *e,
				 const struct dmarc_domain *d)
{
	enum dmarc_policy p = d->v.policy;
	unsigned r;

	if (d->v.result != DMARC_FAIL)
		return DMARC_POLICY_NONE;
	if (p == DMARC_POLICY_NONE || d->rec.pct >= 100)
		return p;
	r = e->rand100 != NULL ? e->rand100(e->rand_arg) :
		arc4random_uniform(100);
	if (r < d->rec.pct)
		return p;
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE :
		DMARC_POLICY_NONE;
}

static void domain_policy(struct dmarc_eval *e, struct dmarc_domain *d)
{
	d->v.p = d->rec.p;
	d->v.sp = d->rec.sp;
	d->v.pct = d->rec.pct;
	d->v.policy = requested_policy(d);
	d->v.disposition = sampled(e, d);
	d->phase = DP_DONE;
}

static void domain_decide(struct dmarc_eval *e, struct dmarc_domain *d)
{
	domain_align(e, d);
	d->v.result = d->v.spf_aligned || d->v.dkim_aligned ? DMARC_PASS :
		DMARC_FAIL;
	if (d->v.result == DMARC_FAIL && d->v.org_record && d->rec.np_given)
		d->phase = DP_EXISTS;
	else
		domain_policy(e, d);
}

/* RFC 9091 §2.1: non-existent if A, AAAA and MX are all NXDOMAIN or
 * NODATA. A DNS error counts as existing: sp= then applies. */
static void domain_exists(struct dmarc_eval *e, struct dmarc_domain *d)
{
	static const int types[] = { DNSQ_A, DNSQ_AAAA, DNSQ_MX };
	const struct dmarc_cached *a;

	while (d->exists_next < 3) {
		if ((a = lookup(e, types[d->exists_next], d->name)) == NULL)
			return;
		if (a->rcode == DNSQ_OK || a->rcode == DNSQ_TEMPFAIL)
			break;
		if (a->rcode == DNSQ_NXDOMAIN) {
			d->exists_next = 3;	/* no name, no records */
			continue;
		}
		d->exists_next++;
	}
	d->nonexistent = d->exists_next >= 3;
	domain_policy(e, d);
}

static void domain_step(struct dmarc_eval *e, struct dmarc_domain *d)
{
	switch (d->phase) {
	case DP_FROM:
	case DP_ORG:
		domain_fetch(e, d);
		break;
	case DP_DECIDE:
		domain_decide(e, d);
		break;
	case DP_EXISTS:
		domain_exists(e, d);
		break;
	case DP_DONE:
		e->cur++;
		break;
	}
}

/* Rank for §6.6.1: fail (by disposition, then policy) before temperror,
 * permerror, pass and none. */
static int rank(const struct dmarc_verdict *v)
{
	switch (v->result) {
	case DMARC_FAIL:
		return 100 + 10 * (int)v->disposition + (int)v->policy;
	case DMARC_TEMPERROR:
		return 4;
	case DMARC_PERMERROR:
		return 3;
	case DMARC_PASS:
		return 2;
	default:
		return 1;
	}
}

/* §6.6.1: the most strict policy among the checks that fail. */
static void combine(struct dmarc_eval *e)
{
	const struct dmarc_domain *best = &e->dom[0];

	for (size_t i = 1; i < e->ndom; i++) {
		if (rank(&e->dom[i].v) > rank(&best->v))
			best = &e->dom[i];
	}
	e->verdict = best->v;
	e->verdict.reason = best->reason;
	e->done = true;
}

enum dmarc_result dmarc_eval_step(struct dmarc_eval *e, struct dnsq *q)
{
	while (!e->done) {
		if (e->waiting) {
			*q = e->q;
			return DMARC_NEED_DNS;
		}
		if (e->cur < e->ndom)
			domain_step(e, &e->dom[e->cur]);
		else
			combine(e);
	}
	return e->verdict.result;
}

void dmarc_eval_answer(struct dmarc_eval *e, const struct dnsq_answer *a)
{
	if (!e->waiting)
		return;
	cache_add(e, &e->q, a);
	e->waiting = false;
	e->queries++;
}

static void fail_early(struct dmarc_eval *e, const char *reason)
{
	set_reason(e->reason, sizeof(e->reason), "%s", reason);
	e->verdict.result = DMARC_PERMERROR;
	e->verdict.reason = e->reason;
	e->done = true;
}

/* Labels of 1..63 octets, 253 in all (the parser lower-cased it). */
static bool domain_ok(const char *s)
{
	size_t label = 0, len = strlen(s);

	if (len == 0 || len > DNSQ_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '.' && ++label > 63)
			return false;
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		}
	}
	return label > 0;
}

/* §6.6.1: the distinct Author Domains, at most DMARC_MAX_AUTHOR_DOMAINS. */
static int add_domains(struct dmarc_eval *e, const struct dmarc_from *from)
{
	struct dmarc_domain *d;
	size_t j;

	for (size_t i = 0; i < from->n; i++) {
		for (j = 0; j < e->ndom; j++) {
			if (str_ieq(e->dom[j].name, from->domain[i]))
				break;
		}
		if (j < e->ndom)
			continue;
		if (e->ndom == DMARC_MAX_AUTHOR_DOMAINS || !domain_ok(from->domain[i]))
			return -1;
		d = &e->dom[e->ndom++];
		str_copy(d->name, sizeof(d->name), from->domain[i]);
		str_lower(d->name);
		if (dmarc_org_domain(d->name, d->org) < 0)
			str_copy(d->org, sizeof(d->org), d->name);
		d->v.from_domain = d->name;
	}
	return 0;
}

struct dmarc_eval *dmarc_eval_new(const struct dmarc_input *in)
{
	struct dmarc_eval *e = xcalloc(1, sizeof(*e));

	e->spf = in->spf;
	e->spf_domain = xstrdup(in->spf_domain != NULL ? in->spf_domain : "");
	e->dkim = xcalloc(in->ndkim + 1, sizeof(*e->dkim));
	for (size_t i = 0; i < in->ndkim; i++) {
		if (in->dkim[i].domain == NULL)
			continue;
		e->dkim[e->ndkim].domain = xstrdup(in->dkim[i].domain);
		e->dkim[e->ndkim++].pass = in->dkim[i].pass;
	}
	e->rand100 = in->rand100;
	e->rand_arg = in->rand_arg;
	if (in->from == NULL || in->from->n == 0)
		fail_early(e, "no RFC5322.From domain");
	else if (add_domains(e, in->from) < 0)
		fail_early(e, e->ndom == DMARC_MAX_AUTHOR_DOMAINS ?
			   "too many RFC5322.From domains" :
			   "invalid RFC5322.From domain");
	return e;
}

const struct dmarc_verdict *dmarc_eval_verdict(const struct dmarc_eval *e)
{
	return e->done ? &e->verdict : NULL;
}

unsigned dmarc_eval_queries(const struct dmarc_eval *e)
{
	return e->queries;
}

void dmarc_eval_free(struct dmarc_eval *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->ndom; i++)
		dmarc_record_clear(&e->dom[i].rec);
	for (size_t i = 0; i < e->ndkim; i++)
		free(e->dkim[i].domain);
	free(e->dkim);
	free(e->spf_domain);
	cache_free(e);
	free(e);
}
