/* spf_eval: check_host() (RFC 7208 §4) as a resumable evaluator: the
 * frames, their phases (record lookup, terms, redirect, explanation), the
 * processing limits (§4.6.4) and the public API of spf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/spf_eval_int.h"
#include "mailauth/spf_macro.h"

#define SPF_DEFAULT_EXP "%{c} is not allowed to send mail for %{d}"

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = {
		[SPF_NONE] = "none", [SPF_NEUTRAL] = "neutral",
		[SPF_PASS] = "pass", [SPF_FAIL] = "fail",
		[SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror",
		[SPF_PERMERROR] = "permerror", [SPF_NEED_DNS] = "need-dns",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* Reasons and explanations end up in logs, headers and SMTP replies, and
 * carry values from DNS and the client: keep them printable ASCII. */
void spf_printable(struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->ptr[i] < 0x20 || b->ptr[i] > 0x7e)
			b->ptr[i] = '?';
	}
}

void spf_set_reason(struct spf_eval *e, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&e->reason);
	va_start(ap, fmt);
	buf_vprintf(&e->reason, fmt, ap);
	va_end(ap);
	spf_printable(&e->reason);
}

struct spf_frame *spf_top(struct spf_eval *e)
{
	return &e->frames[e->depth - 1];
}

void spf_frame_push(struct spf_eval *e, const char *domain)
{
	struct spf_frame *f;

	if (e->depth >= SPF_MAX_DEPTH)	/* the term limit makes this a bug */
		abort();
	f = &e->frames[e->depth++];
	memset(f, 0, sizeof(*f));
	str_copy(f->domain, sizeof(f->domain), domain);
	f->phase = PH_FETCH;
}

/* The top frame has its result r: return it to the including frame, or
 * end the evaluation (after the explanation for a fail, §6.2). */
static void frame_finish(struct spf_eval *e, enum spf_result r)
{
	struct spf_frame *f = spf_top(e);

	if (r == SPF_NONE && f->redirected) {	/* §6.1 */
		spf_set_reason(e, "redirect target %s has no SPF record",
			       f->domain);
		r = SPF_PERMERROR;
	}
	if (e->depth > 1) {
		spf_record_free(f->rec);
		e->depth--;
		f = spf_top(e);
		f->child = r;
		f->child_done = true;
		return;
	}
	e->result = r;
	if (r == SPF_FAIL && f->rec != NULL)
		f->phase = PH_EXP;
	else
		e->done = true;
}

/* §4.6.4: include a mx ptr exists and redirect count, at most 10. */
static bool count_dns_term(struct spf_eval *e, struct spf_frame *f)
{
	if (f->counted)
		return true;
	f->counted = true;
	if (++e->dns_terms <= SPF_MAX_DNS_TERMS)
		return true;
	spf_set_reason(e, "more than %d DNS-querying terms (at %s)",
		       SPF_MAX_DNS_TERMS, f->domain);
	return false;
}

/* §4.3: a check_host() <domain> must be a multi-label domain name. */
static bool check_domain_ok(const char *d)
{
	return d[0] != '[' && strchr(d, '.') != NULL && spf_name_valid(d);
}

/* §4.5: exactly one TXT record starting "v=spf1". */
static void select_record(struct spf_eval *e, struct spf_frame *f,
			  const struct spf_cached *a)
{
	size_t found = 0, k = 0, erroff;
	const char *error;

	for (size_t i = 0; i < a->n; i++) {
		if (spf_record_is_spf1(a->rr[i], a->len[i]) && found++ == 0)
			k = i;
	}
	if (found == 0) {
		spf_set_reason(e, "no SPF record at %s", f->domain);
		frame_finish(e, SPF_NONE);
	} else if (found > 1) {
		spf_set_reason(e, "%zu SPF records at %s", found, f->domain);
		frame_finish(e, SPF_PERMERROR);
	} else if (spf_record_parse(a->rr[k], a->len[k], &f->rec, &error,
				    &erroff) < 0) {
		spf_set_reason(e, "%s: %s at \"%.*s\"", f->domain, error,
			       (int)strcspn(a->rr[k] + erroff, " "),
			       a->rr[k] + erroff);
		frame_finish(e, SPF_PERMERROR);
	} else {
		f->phase = PH_TERMS;
	}
}

/* §4.3, §4.4: the TXT records of the domain. */
static void frame_fetch(struct spf_eval *e, struct spf_frame *f)
{
	const struct spf_cached *a;

	if (!check_domain_ok(f->domain)) {
		spf_set_reason(e, "%s is not a valid domain name", f->domain);
		frame_finish(e, SPF_NONE);
		return;
	}
	if ((a = spf_lookup(e, DNSQ_TXT, f->domain)) == NULL)
		return;
	if (a->rcode == DNSQ_TEMPFAIL) {
		spf_set_reason(e, "DNS error looking up TXT %s", f->domain);
		frame_finish(e, SPF_TEMPERROR);
	} else if (a->rcode != DNSQ_OK) {
		spf_set_reason(e, "no SPF record at %s", f->domain);
		frame_finish(e, SPF_NONE);
	} else {
		select_record(e, f, a);
	}
}

static enum spf_result qualifier_result(char qual)
{
	switch (qual) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

static bool is_dns_term(enum spf_mech m)
{
	return m != SPF_MECH_ALL && m != SPF_MECH_IP4 && m != SPF_MECH_IP6;
}

/* Evaluate terms[f->next]; false to stop this step. */
static bool term_step(struct spf_eval *e, struct spf_frame *f)
{
	const struct spf_term *t = &f->rec->terms[f->next];
	enum spf_mres r;

	if (is_dns_term(t->mech) && !count_dns_term(e, f)) {
		frame_finish(e, SPF_PERMERROR);
		return false;
	}
	r = spf_mech_eval(e, t);
	switch (r) {
	case M_WAIT:
		return false;
	case M_MATCH:
		spf_set_reason(e, "%s matched %.*s", f->domain, (int)t->len,
			       f->rec->text + t->off);
		frame_finish(e, qualifier_result(t->qual));
		return false;
	case M_TEMPERROR:
	case M_PERMERROR:
		frame_finish(e, r == M_TEMPERROR ? SPF_TEMPERROR : SPF_PERMERROR);
		return false;
	case M_VOID:
		if (++e->void_lookups > SPF_MAX_VOID_LOOKUPS) {
			spf_set_reason(e, "more than %d void lookups (at %.*s)",
				       SPF_MAX_VOID_LOOKUPS, (int)t->len,
				       f->rec->text + t->off);
			frame_finish(e, SPF_PERMERROR);
			return false;
		}
		break;
	default:
		break;
	}
	f->next++;
	f->counted = false;
	f->child_done = false;
	return true;
}

/* §4.6.2: mechanisms in order until one matches. */
static void frame_terms(struct spf_eval *e, struct spf_frame *f)
{
	while (f->next < f->rec->nterms) {
		if (!term_step(e, f))
			return;
	}
	f->phase = PH_REDIRECT;
}

/* §6.1: nothing matched; follow redirect=, else neutral (§4.7). */
static void frame_redirect(struct spf_eval *e, struct spf_frame *f)
{
	char target[SPF_NAME_BUF];
	const char *error;
	enum spf_mres r;

	if (f->rec->redirect == NULL) {
		spf_set_reason(e, "no mechanism matched at %s", f->domain);
		frame_finish(e, SPF_NEUTRAL);
		return;
	}
	if (!count_dns_term(e, f)) {
		frame_finish(e, SPF_PERMERROR);
		return;
	}
	r = spf_target(e, f->rec->redirect, target, &error);
	if (r == M_WAIT)
		return;
	if (r != M_OK) {
		if (r == M_BADNAME)
			spf_set_reason(e, "redirect target is not a domain name");
		else
			spf_set_reason(e, "%s in \"%s\"", error, f->rec->redirect);
		frame_finish(e, SPF_PERMERROR);
		return;
	}
	spf_record_free(f->rec);
	memset(f, 0, sizeof(*f));
	str_copy(f->domain, sizeof(f->domain), target);
	f->phase = PH_FETCH;
	f->redirected = true;
}

/* §6.2: the exp= text into out, when the record has a usable one: any
 * problem with it (macros, DNS, not exactly one TXT record, non-ASCII)
 * only means falling back to the default. */
static enum spf_mres exp_text(struct spf_eval *e, struct spf_frame *f,
			      struct buf *out)
{
	char target[SPF_NAME_BUF];
	const struct spf_cached *a;
	const char *error;
	enum spf_mres r;

	if (f->rec->exp == NULL)
		return M_NOMATCH;
	r = spf_target(e, f->rec->exp, target, &error);
	if (r != M_OK)
		return r;
	if ((a = spf_lookup(e, DNSQ_TXT, target)) == NULL)
		return M_WAIT;
	if (a->rcode != DNSQ_OK || a->n != 1)
		return M_NOMATCH;
	return spf_expand(e, a->rr[0], a->len[0], SPF_MACRO_EXP, out, &error);
}

/* The explanation of a top-level fail, then the evaluation is done. */
static void frame_exp(struct spf_eval *e, struct spf_frame *f)
{
	const char *error;
	enum spf_mres r = exp_text(e, f, &e->explanation);

	if (r != M_OK && r != M_WAIT)
		r = spf_expand(e, e->default_exp, strlen(e->default_exp),
			       SPF_MACRO_EXP, &e->explanation, &error);
	if (r == M_WAIT)
		return;
	spf_printable(&e->explanation);
	e->done = true;
}

/* Run the top frame until it waits for DNS, changes or finishes. */
static void run_once(struct spf_eval *e)
{
	struct spf_frame *f = spf_top(e);

	switch (f->phase) {
	case PH_FETCH:
		frame_fetch(e, f);
		break;
	case PH_TERMS:
		frame_terms(e, f);
		break;
	case PH_REDIRECT:
		frame_redirect(e, f);
		break;
	case PH_EXP:
		frame_exp(e, f);
		break;
	}
}

enum spf_result spf_eval_step(struct spf_eval *e, struct dnsq *q)
{
	while (!e->done) {
		if (e->waiting) {
			*q = e->q;
			return SPF_NEED_DNS;
		}
		run_once(e);
	}
	return e->result;
}

void spf_eval_answer(struct spf_eval *e, const struct dnsq_answer *a)
{
	if (!e->waiting)
		return;		/* no question outstanding: ignore */
	spf_cache_add(e, &e->q, a);
	e->waiting = false;
	e->queries++;
}

/* §4.3, §2.4: <sender> and its parts; the null sender is postmaster@helo,
 * a missing local-part is "postmaster". */
static void identity_init(struct spf_eval *e, const char *mail_from)
{
	const char *at = mail_from != NULL ? strrchr(mail_from, '@') : NULL;
	const char *domain;
	size_t n;

	if (mail_from == NULL || mail_from[0] == '\0') {
		e->local = xstrdup("postmaster");
		domain = e->helo;
	} else if (at == NULL || at == mail_from) {
		e->local = xstrdup("postmaster");
		domain = at != NULL ? at + 1 : mail_from;
	} else {
		e->local = xstrndup(mail_from, (size_t)(at - mail_from));
		domain = at + 1;
	}
	n = strlen(domain);
	if (n > 0 && domain[n - 1] == '.')
		n--;
	e->sender_domain = xstrndup(domain, n);
	e->sender = xmalloc(strlen(e->local) + n + 2);
	memcpy(e->sender, e->local, strlen(e->local));
	e->sender[strlen(e->local)] = '@';
	memcpy(e->sender + strlen(e->local) + 1, e->sender_domain, n + 1);
}

struct spf_eval *spf_eval_new(const char *ip, const char *mail_from,
			      const char *helo, const char *receiver_host)
{
	struct spf_eval *e = xcalloc(1, sizeof(*e));

	e->helo = xstrdup(helo != NULL ? helo : "");
	e->receiver = xstrdup(receiver_host != NULL && receiver_host[0] != '\0' ?
			      receiver_host : "unknown");
	e->default_exp = xstrdup(SPF_DEFAULT_EXP);
	spf_eval_set_time(e, (long long)time(NULL));
	identity_init(e, mail_from);
	if (ip == NULL || spf_ip_parse(ip, strlen(ip), &e->ip) < 0) {
		spf_set_reason(e, "invalid client address");
		e->result = SPF_PERMERROR;
		e->done = true;
		return e;
	}
	spf_macro_ip(&e->ip, e->ip_i, sizeof(e->ip_i), e->ip_c,
		     sizeof(e->ip_c), &e->ip_v);
	spf_macro_revname(&e->ip, e->revname, sizeof(e->revname));
	if (strlen(e->sender_domain) > DNSQ_NAME_MAX) {	/* §4.3 */
		spf_set_reason(e, "domain name too long");
		e->result = SPF_NONE;
		e->done = true;
		return e;
	}
	spf_frame_push(e, e->sender_domain);
	return e;
}

void spf_eval_set_time(struct spf_eval *e, long long unix_time)
{
	snprintf(e->time_str, sizeof(e->time_str), "%lld", unix_time);
}

void spf_eval_set_default_exp(struct spf_eval *e, const char *macro_string)
{
	free(e->default_exp);
	e->default_exp = xstrdup(macro_string);
}

const char *spf_eval_explanation(const struct spf_eval *e)
{
	if (!e->done || e->result != SPF_FAIL)
		return NULL;
	return buf_cstr(&e->explanation);
}

const char *spf_eval_reason(const struct spf_eval *e)
{
	return buf_cstr(&e->reason);
}

const char *spf_eval_domain(const struct spf_eval *e)
{
	return e->sender_domain;
}

unsigned spf_eval_queries(const struct spf_eval *e)
{
	return e->queries;
}

void spf_eval_free(struct spf_eval *e)
{
	if (e == NULL)
		return;
	for (unsigned i = 0; i < e->depth; i++)
		spf_record_free(e->frames[i].rec);
	spf_cache_free(e);
	spf_rdns_free(&e->rdns);
	buf_free(&e->reason);
	buf_free(&e->explanation);
	free(e->sender);
	free(e->local);
	free(e->sender_domain);
	free(e->helo);
	free(e->receiver);
	free(e->default_exp);
	free(e);
}
