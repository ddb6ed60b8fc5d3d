/* cli_dnscheck: the network half of `mailkeep dns check` (issue 6 §3).
 *
 * Asks DNS through the same resolver as the daemon (src/dns, the [dns]
 * settings), as a receiving server would: MX and its targets, PTR and the
 * host name's addresses, the TXT records, SPF evaluated by the daemon's own
 * evaluator for each public address; probes the TLS listeners and the
 * MTA-STS policy server; and hands every answer to dnscheck.h, which
 * judges. The plan (cli_dns.c) says what should be there. */
#include "cli/cli_dns.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim.h"

struct check {
	struct cli_env *env;
	struct dns *dns;
	struct cli_dns_addrs addrs;
	struct dnscheck_report report;
};

/* The resolver with the [dns] settings, as the smtp process makes it. */
static int open_dns(struct check *c)
{
	const char *why = NULL;

	c->dns = dns_new_configured(NULL, &c->env->cfg, &why);
	if (c->dns == NULL)
		cli_fail("cannot set up DNS: %s", why);
	return c->dns != NULL ? 0 : -1;
}

/* One blocking question; free the answer with dns_answer_free(). */
static void ask(struct check *c, int type, const char *name,
		struct dnsq_answer *a)
{
	struct dnsq q = { .type = type };
	bool secure;

	memset(a, 0, sizeof(*a));
	if (str_copy(q.name, sizeof(q.name), name) < 0) {
		a->rcode = DNSQ_NXDOMAIN;
		return;
	}
	dns_query_sync(c->dns, &q, a, &secure);
}

/* ---- host checks ---- */

static void check_fcrdns(struct check *c)
{
	const char *host = c->env->cfg.hostname;
	char rev[DNSREC_REVERSE_MAX];

	for (size_t i = 0; i < c->addrs.n; i++) {
		const char *ip = c->addrs.v[i];
		struct dnsq_answer ptr, fwd;

		if (dnsrec_reverse_name(ip, rev) < 0)
			continue;
		ask(c, DNSQ_PTR, rev, &ptr);
		ask(c, strchr(ip, ':') ? DNSQ_AAAA : DNSQ_A, host, &fwd);
		dnscheck_fcrdns(&c->report, ip, host, &ptr, &fwd);
		dns_answer_free(&ptr);
		dns_answer_free(&fwd);
	}
}

/* The services whose certificate a remote side sees. */
static void check_tls(struct check *c)
{
	static const int svc[] = { SVC_SMTP, SVC_IMAP, SVC_IMAPS };
	const struct config *cfg = &c->env->cfg;

	for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
		struct dnscheck_tls_probe p;
		struct buf addr = BUF_INIT;

		if (cfg->listen[svc[i]].n == 0)
			continue;
		cli_probe_tls(config_service_name(svc[i]), cfg->listen[svc[i]].v[0],
			      cfg->hostname, &p, &addr);
		dnscheck_tls(&c->report, &p, cfg->hostname, time(NULL));
		X509_free(p.leaf);
		buf_free(&addr);
	}
}

static void check_dnsbl(struct check *c)
{
	const struct strlist *zones = &c->env->cfg.publish_dnsbl;
	char name[DNSQ_NAME_MAX + 1];

	for (size_t z = 0; z < zones->n; z++) {
		for (size_t i = 0; i < c->addrs.n; i++) {
			struct dnsq_answer a;
			if (dnscheck_dnsbl_name(c->addrs.v[i], zones->v[z], name) < 0)
				continue;	/* IPv6: lists are IPv4 */
			ask(c, DNSQ_A, name, &a);
			dnscheck_dnsbl(&c->report, c->addrs.v[i], zones->v[z], &a);
			dns_answer_free(&a);
		}
	}
}

/* ---- domain checks ---- */

#define DNSQ_CNAME 5	/* RFC 1035 §3.2.2; answered as raw rdata */

static void check_mx(struct check *c, const struct dnsrec_domain *want)
{
	struct dnscheck_mx_target t[DNSCHECK_MAX_MX];
	struct dnscheck_mx_facts f = { .want = want, .targets = t };
	char hosts[DNSCHECK_MAX_MX][DNSQ_NAME_MAX + 1];

	ask(c, DNSQ_MX, want->domain, &f.mx);
	for (size_t i = 0; f.mx.rcode == DNSQ_OK && i < f.mx.n &&
	     f.ntargets < DNSCHECK_MAX_MX; i++) {
		struct dnscheck_mx_target *x = &t[f.ntargets];
		memset(x, 0, sizeof(*x));
		if (dnscheck_mx_parse(f.mx.rr[i], &x->pref, hosts[f.ntargets],
				      sizeof(hosts[0])) < 0)
			continue;
		x->host = hosts[f.ntargets++];
		if (strcmp(x->host, ".") == 0)
			continue;
		ask(c, DNSQ_CNAME, x->host, &x->cname);
		ask(c, DNSQ_A, x->host, &x->a);
		ask(c, DNSQ_AAAA, x->host, &x->aaaa);
	}
	dnscheck_mx(&c->report, &f);
	for (size_t i = 0; i < f.ntargets; i++) {
		dns_answer_free(&t[i].cname);
		dns_answer_free(&t[i].a);
		dns_answer_free(&t[i].aaaa);
	}
	dns_answer_free(&f.mx);
}

/* check_host() as a receiver runs it for mail from postmaster@DOMAIN
 * sent by ip with our host name in HELO (RFC 7208 §4). */
static void eval_spf(struct check *c, const struct dnsrec_domain *want,
		     const char *ip)
{
	struct buf from = BUF_INIT;
	struct spf_eval *e;
	enum spf_result r;
	struct dnsq q;
	struct dnsq_answer a;
	bool secure;

	buf_printf(&from, "postmaster@%s", want->domain);
	e = spf_eval_new(ip, from.ptr, want->hostname, want->hostname);
	while ((r = spf_eval_step(e, &q)) == SPF_NEED_DNS) {
		memset(&a, 0, sizeof(a));
		dns_query_sync(c->dns, &q, &a, &secure);
		spf_eval_answer(e, &a);
		dns_answer_free(&a);
	}
	dnscheck_spf_result(&c->report, want, ip, r, spf_eval_reason(e),
			    spf_eval_queries(e));
	spf_eval_free(e);
	buf_free(&from);
}

static void check_spf(struct check *c, const struct dnsrec_domain *want)
{
	struct dnsq_answer txt;
	int one;

	ask(c, DNSQ_TXT, want->domain, &txt);
	one = dnscheck_spf_records(&c->report, want, &txt);
	dns_answer_free(&txt);
	for (size_t i = 0; one == 0 && i < c->addrs.n; i++)
		eval_spf(c, want, c->addrs.v[i]);
}

static void check_dkim(struct check *c, const struct cli_dns_plan *p)
{
	char name[DNSQ_NAME_MAX + 1];

	if (p->d.ndkim == 0)
		dnscheck_add(&c->report, DNSCHECK_FAIL, "dkim", p->d.domain,
			     "make keys: mailkeep dkim genkey DOMAIN SELECTOR, and "
			     "publish the record it prints", "no DKIM key: mail "
			     "from this domain is not signed");
	for (size_t i = 0; i < p->d.ndkim; i++) {
		struct dnsq_answer txt = { .rcode = DNSQ_NXDOMAIN };
		if (p->dkim[i].record != NULL &&
		    dkim_key_name(p->dkim[i].selector, p->d.domain, name) == 0)
			ask(c, DNSQ_TXT, name, &txt);
		dnscheck_dkim(&c->report, &p->d, &p->dkim[i], p->dkim_missing[i],
			      &txt);
		dns_answer_free(&txt);
	}
}

/* TXT at PREFIX.DOMAIN. */
static void ask_txt(struct check *c, const char *prefix, const char *domain,
		    struct dnsq_answer *a)
{
	struct buf name = BUF_INIT;

	buf_printf(&name, "%s.%s", prefix, domain);
	ask(c, DNSQ_TXT, name.ptr, a);
	buf_free(&name);
}

/* The policy file from the address our resolver gives for mta-sts.DOMAIN
 * (libcurl's own resolver would bypass the [dns] settings). */
static int fetch_policy(struct check *c, const char *domain, struct buf *body,
			struct buf *error)
{
	struct buf host = BUF_INIT;
	struct dnsq_answer a;
	int rc = -1;

	buf_printf(&host, "mta-sts.%s", domain);
	ask(c, DNSQ_A, host.ptr, &a);
	if (a.rcode != DNSQ_OK) {
		dns_answer_free(&a);
		ask(c, DNSQ_AAAA, host.ptr, &a);
	}
	if (a.rcode == DNSQ_OK)
		rc = cli_probe_https(host.ptr, "/.well-known/mta-sts.txt", a.rr[0],
				     body, error);
	else
		buf_printf(error, "%s has no address in DNS", host.ptr);
	dns_answer_free(&a);
	buf_free(&host);
	return rc;
}

static void check_mta_sts(struct check *c, const struct dnsrec_domain *want)
{
	struct dnsq_answer txt;
	struct buf body = BUF_INIT, error = BUF_INIT;
	bool got = false;

	if (want->mta_sts == DNSREC_STS_OFF)
		return;
	ask_txt(c, "_mta-sts", want->domain, &txt);
	if (txt.rcode == DNSQ_OK)
		got = fetch_policy(c, want->domain, &body, &error) == 0;
	dnscheck_mta_sts(&c->report, want, &txt, got ? buf_cstr(&body) : NULL,
			 body.len, buf_cstr(&error));
	dns_answer_free(&txt);
	buf_free(&body);
	buf_free(&error);
}

static void check_domain(struct check *c, const char *domain)
{
	struct cli_dns_plan p;
	struct dnsq_answer txt;

	cli_dns_plan(c->env, domain, &c->addrs, &p);
	check_mx(c, &p.d);
	check_spf(c, &p.d);
	check_dkim(c, &p);
	ask_txt(c, "_dmarc", domain, &txt);
	dnscheck_dmarc(&c->report, &p.d, &txt);
	dns_answer_free(&txt);
	check_mta_sts(c, &p.d);
	if (p.d.tls_rpt_rua != NULL) {
		ask_txt(c, "_smtp._tls", domain, &txt);
		dnscheck_tls_rpt(&c->report, &p.d, &txt);
		dns_answer_free(&txt);
	}
	cli_dns_plan_free(&p);
}

int cli_dns_check(struct cli_env *env, const char *only, bool json)
{
	struct check c = { .env = env };
	struct userdb_strv domains;
	struct buf out = BUF_INIT;
	int rc;

	if (cli_dns_domains(env, only, &domains) < 0)
		return CLI_EXIT_ERROR;
	if (open_dns(&c) < 0) {
		userdb_strv_free(&domains);
		return CLI_EXIT_ERROR;
	}
	cli_dns_addrs(&env->cfg, &c.addrs);
	dnscheck_addresses(&c.report, (const char *const *)c.addrs.v, c.addrs.n,
			   c.addrs.source);
	for (size_t i = 0; i < domains.n; i++)
		check_domain(&c, domains.v[i]);
	check_fcrdns(&c);
	check_tls(&c);
	check_dnsbl(&c);
	if (json)
		dnscheck_report_json(&c.report, &out);
	else
		dnscheck_report_text(&c.report, &out);
	fputs(buf_cstr(&out), stdout);
	rc = dnscheck_report_failed(&c.report) ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	buf_free(&out);
	dnscheck_report_free(&c.report);
	cli_dns_addrs_free(&c.addrs);
	userdb_strv_free(&domains);
	dns_free(c.dns);
	return rc;
}
