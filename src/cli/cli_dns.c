/* cli_dns: `mailkeep dns records [DOMAIN]`, `mailkeep dns check [DOMAIN]
 * [--json]` and its alias `mailkeep check` (issue 6 §2, §3).
 *
 * This file turns the configuration, the public addresses and the DKIM
 * keys of mailkeep.db into the facts of dnsrecords.h (the "plan"), which
 * `dns records` prints and `dns check` (cli_dnscheck.c) compares the
 * world with, so the two commands always agree. */
#include "cli/cli_dns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/netaddr.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim.h"

static const char usage_text[] =
	"dns records [DOMAIN] | dns check [DOMAIN] [--json]";

/* ---- addresses and domains ---- */

void cli_dns_addrs(const struct config *cfg, struct cli_dns_addrs *a)
{
	struct userdb_strv found = { NULL, 0 };

	memset(a, 0, sizeof(*a));
	if (cfg->publish_addresses.n > 0) {
		a->v = xcalloc(cfg->publish_addresses.n, sizeof(*a->v));
		for (size_t i = 0; i < cfg->publish_addresses.n; i++)
			a->v[a->n++] = xstrdup(cfg->publish_addresses.v[i]);
		a->source = "[publish] public_addresses";
		return;
	}
	cli_probe_addresses(&found);
	a->v = found.v;
	a->n = found.n;
	a->source = "found on the network interfaces";
}

void cli_dns_addrs_free(struct cli_dns_addrs *a)
{
	struct userdb_strv sv = { a->v, a->n };

	userdb_strv_free(&sv);
	memset(a, 0, sizeof(*a));
}

static void strv_add(struct userdb_strv *sv, const char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[sv->n++] = xstrdup(s);
}

int cli_dns_domains(struct cli_env *env, const char *only,
		    struct userdb_strv *out)
{
	struct userdb_strv table = { NULL, 0 };
	const char *error = NULL;
	char lower[DNSQ_NAME_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (only != NULL) {
		bool ok = str_copy(lower, sizeof(lower), only) == 0;
		str_lower(lower);
		if (!ok || userdb_domain_is_local(env->db, lower) != 1) {
			cli_fail("%s is not a local domain", only);
			return -1;
		}
		strv_add(out, lower);
		return 0;
	}
	for (size_t i = 0; i < env->cfg.domains.n; i++)
		strv_add(out, env->cfg.domains.v[i]);
	if (userdb_domain_list(env->db, &table, &error) < 0) {
		cli_fail("%s", error);
		return -1;
	}
	for (size_t i = 0; i < table.n; i++)
		strv_add(out, table.v[i]);
	userdb_strv_free(&table);
	return 0;
}

void cli_dns_host(struct cli_env *env, const struct cli_dns_addrs *a,
		  struct dnsrec_host *h)
{
	h->hostname = env->cfg.hostname;
	h->addrs = (const char *const *)a->v;
	h->naddrs = a->n;
	/* a host name that is itself a mail domain has that domain's SPF */
	h->helo_spf = userdb_domain_is_local(env->db, env->cfg.hostname) == 0;
}

/* ---- one domain ---- */

static const char *keep(struct cli_dns_plan *p, const char *s)
{
	strv_add(&p->owned, s);
	return p->owned.v[p->owned.n - 1];
}

/* The report mailbox of an option: "" postmaster@DOMAIN, "none" NULL. */
static const char *rua_of(struct cli_dns_plan *p, const char *opt,
			  const char *domain)
{
	struct buf b = BUF_INIT;
	const char *s;

	if (strcmp(opt, "none") == 0)
		return NULL;
	if (*opt != '\0')
		return opt;
	buf_printf(&b, "postmaster@%s", domain);
	s = keep(p, b.ptr);
	buf_free(&b);
	return s;
}

/* The port of the first listen address of a service, 0 if off. */
static unsigned listen_port(const struct config *cfg, int svc)
{
	struct netaddr a;

	if (cfg->listen[svc].n == 0 ||
	    netaddr_parse_hostport(cfg->listen[svc].v[0], &a) < 0)
		return 0;
	return netaddr_port((const struct sockaddr *)&a.ss);
}

static void plan_srv(const struct config *cfg, struct dnsrec_domain *d)
{
	static const int svc[DNSREC_SRV_COUNT] = {
		SVC_SUBMISSION, SVC_SUBMISSIONS, SVC_IMAP, SVC_IMAPS, SVC_POP3,
		SVC_POP3S,
	};

	for (int s = 0; s < DNSREC_SRV_COUNT; s++)
		d->srv_port[s] = listen_port(cfg, svc[s]);
}

/* The record of a key file, or NULL with a note (and missing set when
 * the file is gone or is no key, rather than merely unreadable to us). */
static char *key_record(const char *path, struct buf *note, bool *missing)
{
	struct buf pem = BUF_INIT, rec = BUF_INIT;
	struct dkim_privkey *k = NULL;
	const char *error = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*missing = fd < 0 && errno != EACCES && errno != EPERM;
	if (fd < 0) {
		buf_printf(note, "%s: %s", path, strerror(errno));
	} else if (buf_read_fd(&pem, fd, CLI_DNS_KEY_FILE_MAX) < 0) {
		buf_printf(note, "%s: %s", path, strerror(errno));
	} else if ((k = dkim_privkey_load(pem.ptr, pem.len, &error)) == NULL) {
		buf_printf(note, "%s: %s", path, error);
		*missing = true;
	} else {
		dkim_privkey_record(k, &rec);
	}
	if (fd >= 0)
		close(fd);
	if (pem.len > 0)
		explicit_bzero(pem.ptr, pem.len);
	buf_free(&pem);
	dkim_privkey_free(k);
	return rec.len > 0 ? buf_detach(&rec) : NULL;
}

struct key_walk {
	struct cli_dns_plan *p;
	const char *domain;
};

static void add_key(void *ctx, const struct userdb_dkim_key *k)
{
	struct key_walk *w = ctx;
	struct cli_dns_plan *p = w->p;
	struct buf note = BUF_INIT;
	char *rec;
	size_t i = p->d.ndkim;

	if (strcmp(k->domain, w->domain) != 0)
		return;
	p->dkim = xrealloc(p->dkim, (i + 1) * sizeof(*p->dkim));
	p->dkim_missing = xrealloc(p->dkim_missing, (i + 1) * sizeof(bool));
	rec = key_record(k->path, &note, &p->dkim_missing[i]);
	p->dkim[i].selector = keep(p, k->selector);
	p->dkim[i].record = rec != NULL ? keep(p, rec) : NULL;
	p->dkim[i].note = note.len ? keep(p, note.ptr) : NULL;
	p->d.ndkim = i + 1;
	free(rec);
	buf_free(&note);
}

void cli_dns_plan(struct cli_env *env, const char *domain,
		  const struct cli_dns_addrs *a, struct cli_dns_plan *p)
{
	const struct config *cfg = &env->cfg;
	struct key_walk w = { p, domain };
	const char *error = NULL;

	memset(p, 0, sizeof(*p));
	p->d.domain = keep(p, domain);
	p->d.hostname = cfg->hostname;
	p->d.addrs = (const char *const *)a->v;
	p->d.naddrs = a->n;
	p->d.dmarc_policy = (enum dnsrec_dmarc)cfg->publish_dmarc_policy;
	p->d.dmarc_rua = rua_of(p, cfg->publish_dmarc_rua, domain);
	p->d.mta_sts = (enum dnsrec_sts)cfg->publish_mta_sts;
	p->d.tls_rpt_rua = rua_of(p, cfg->publish_tls_rpt_rua, domain);
	plan_srv(cfg, &p->d);
	if (userdb_dkim_list(env->db, add_key, &w, &error) < 0)
		cli_fail("DKIM keys of %s: %s", domain, error);
	p->d.dkim = p->dkim;
}

void cli_dns_plan_free(struct cli_dns_plan *p)
{
	free(p->dkim);
	free(p->dkim_missing);
	userdb_strv_free(&p->owned);
	memset(p, 0, sizeof(*p));
}

/* ---- dns records ---- */

int cli_dns_print_records(struct cli_env *env, const char *only, FILE *out)
{
	struct userdb_strv domains;
	struct cli_dns_addrs a;
	struct dnsrec_host h;
	struct buf text = BUF_INIT;

	if (cli_dns_domains(env, only, &domains) < 0)
		return CLI_EXIT_ERROR;
	cli_dns_addrs(&env->cfg, &a);
	cli_dns_host(env, &a, &h);
	buf_printf(&text, "; DNS records for %s, made by `mailkeep dns records` "
		   "(mailkeep %s).\n; Names are absolute (they end in a dot). "
		   "Public addresses:", only ? only : "every mail domain",
		   MAILKEEP_VERSION);
	for (size_t i = 0; i < a.n; i++)
		buf_printf(&text, "%s %s", i ? "," : "", a.v[i]);
	buf_printf(&text, "%s (%s).\n", a.n ? "" : " none known", a.source);
	dnsrec_host_text(&h, &text);
	for (size_t i = 0; i < domains.n; i++) {
		struct cli_dns_plan p;
		cli_dns_plan(env, domains.v[i], &a, &p);
		dnsrec_domain_text(&p.d, &text);
		cli_dns_plan_free(&p);
	}
	fputs(text.ptr, out);
	fflush(out);
	buf_free(&text);
	cli_dns_addrs_free(&a);
	userdb_strv_free(&domains);
	return CLI_EXIT_OK;
}

static int dns_records(struct cli_env *env, int argc, char **argv)
{
	if (argc == 1 && argv[0][0] == '-')
		return cli_usage(usage_text);
	return cli_dns_print_records(env, argc == 1 ? argv[0] : NULL, stdout);
}

static int dns_check(struct cli_env *env, int argc, char **argv)
{
	const char *only = NULL;
	bool json = false;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] != '-' && only == NULL)
			only = argv[i];
		else
			return cli_usage(usage_text);
	}
	return cli_dns_check(env, only, json);
}

static const struct cli_cmd dns_cmds[] = {
	{ "records", 0, 1, dns_records },
	{ "check", 0, 2, dns_check },
};

int cli_dns(const char *config_path, int argc, char **argv)
{
	return cli_dispatch(config_path, dns_cmds,
			    sizeof(dns_cmds) / sizeof(dns_cmds[0]), usage_text,
			    argc, argv);
}

int cli_check(const char *config_path, int argc, char **argv)
{
	char *args[4] = { "dns", "check", NULL, NULL };

	if (argc > 3)
		return cli_usage("check [DOMAIN] [--json]");
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	return cli_dispatch(config_path, dns_cmds,
			    sizeof(dns_cmds) / sizeof(dns_cmds[0]),
			    "check [DOMAIN] [--json]", argc + 1, args);
}
