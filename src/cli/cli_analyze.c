/* cli_analyze: `mailkeep analyze [FILE] [--ip ADDR] [--helo NAME]
 * [--mail-from ADDR] [--verbose]` (issue 4 §7).
 *
 * Judges a saved message as the smtp process would judge it arriving from
 * ADDR: iprev and SPF (RFC 7208) when --ip is given, every DKIM signature
 * (RFC 6376), DMARC (RFC 7489); then the decision and the exact
 * Authentication-Results (RFC 8601) and Received-SPF fields, through the
 * same evaluators and the same rule (mailauth/authpolicy.h). The message
 * is read as the smtp process stores it: bare CR or LF become CRLF (RFC
 * 5321 §2.3.8, bare_newline = normalize) and an unterminated last line
 * gets its CRLF, as DATA always has one. DNS follows the [dns] settings;
 * without a configuration file: /etc/resolv.conf, and this machine's host
 * name as the authserv-id. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dns/dns.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/authpolicy.h"
#include "mailauth/authres.h"

static const char usage_text[] =
	"analyze [FILE] [--ip ADDR] [--helo NAME] [--mail-from ADDR] [--verbose]";

#define ANALYZE_READ_CHUNK (64 * 1024)
/* The smtp process refuses a header section larger than this (552). */
#define ANALYZE_MAX_HEADER (1024 * 1024)
#define ANALYZE_HOST_MAX 256

struct analyze_args {
	const char *file;	/* NULL or "-": standard input */
	const char *ip, *helo, *mail_from;
	bool verbose;
};

struct analyze {
	/* settings */
	struct config cfg;
	bool have_cfg;
	char host[ANALYZE_HOST_MAX];	/* gethostname() without a config */
	const char *hostname, *authserv_id;
	struct authpolicy_options policy;
	struct dns *dns;
	/* the message */
	struct dkim_verify *dkim;
	struct buf hdr;			/* the header section, until it ends */
	bool in_header, header_too_big, pending_cr, last_lf;
	uint64_t size;
	struct dmarc_from from;
	bool from_bad;
	unsigned forged;		/* A-R fields claiming our authserv-id */
	/* the verdicts */
	struct iprev *iprev;
	enum iprev_result iprev_result;
	struct spf_eval *spf;
	enum spf_result spf_result;
	size_t ndkim;
	const struct dkim_result *dkim_res[DKIM_MAX_SIGNATURES];
	struct dmarc_eval *dmarc;
};

/* ---- arguments ---- */

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* "<a@b>" and "<>" as given to MAIL FROM are accepted too. */
static const char *bare_address(const char *s)
{
	static char out[1024];
	size_t n = strlen(s);

	if (n < 2 || s[0] != '<' || s[n - 1] != '>' || n - 1 > sizeof(out))
		return s;
	memcpy(out, s + 1, n - 2);
	out[n - 2] = '\0';
	return out;
}

static bool ip_valid(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static int parse_args(struct analyze_args *o, int argc, char **argv)
{
	const char *v;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
			o->verbose = true;
		else if ((v = opt_value(argc, argv, &i, "--ip")) != NULL)
			o->ip = v;
		else if ((v = opt_value(argc, argv, &i, "--helo")) != NULL)
			o->helo = v;
		else if ((v = opt_value(argc, argv, &i, "--mail-from")) != NULL)
			o->mail_from = bare_address(v);
		else if (o->file == NULL &&
			 (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			o->file = argv[i];
		else
			return cli_usage(usage_text);
	}
	if (o->ip != NULL && !ip_valid(o->ip)) {
		cli_fail("--ip %s: not an IPv4 or IPv6 address", o->ip);
		return CLI_EXIT_USAGE;
	}
	if (o->ip != NULL && (o->helo == NULL || *o->helo == '\0') &&
	    (o->mail_from == NULL || *o->mail_from == '\0')) {
		cli_fail("--ip needs --helo or --mail-from (the SPF identity)");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* ---- settings ---- */

/* The configuration, or the defaults when the file does not exist. */
static int load_config(struct analyze *a, const char *path)
{
	struct buf err = BUF_INIT;

	a->policy.dmarc_reject = a->policy.junk = true;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		if (gethostname(a->host, sizeof(a->host)) < 0 || !*a->host)
			str_copy(a->host, sizeof(a->host), "localhost");
		a->host[sizeof(a->host) - 1] = '\0';
		a->hostname = a->authserv_id = a->host;
		return 0;
	}
	if (config_load(&a->cfg, path, &err) < 0) {
		cli_fail("%s", buf_cstr(&err));
		buf_free(&err);
		return -1;
	}
	a->have_cfg = true;
	a->hostname = a->cfg.hostname;
	a->authserv_id = *a->cfg.checks_authserv_id ?
			 a->cfg.checks_authserv_id : a->cfg.hostname;
	a->policy.dmarc_reject = a->cfg.checks_dmarc_reject;
	a->policy.junk = a->cfg.checks_junk;
	return 0;
}

/* The resolver with the [dns] settings, as the smtp process makes it. */
static int open_dns(struct analyze *a)
{
	struct dns_config dc = { .resolv_conf = "/etc/resolv.conf" };
	const char *why = NULL;

	a->dns = a->have_cfg ? dns_new_configured(NULL, &a->cfg, &why) :
			       dns_new(NULL, &dc, &why);
	if (a->dns != NULL)
		return 0;
	cli_fail("cannot set up DNS: %s", why);
	return -1;
}

/* ---- reading the message ---- */

/* Each field of the header section (a line and its WSP-led continuation
 * lines, split as the smtp process splits them): From for DMARC, and
 * Authentication-Results fields the server would remove (RFC 8601 §5). */
static void header_fields(struct analyze *a, const char *p, size_t n)
{
	const char *why = NULL;
	size_t i = 0;

	while (i < n) {
		size_t start = i;
		do {
			const char *nl = memchr(p + i, '\n', n - i);
			i = nl ? (size_t)(nl - p) + 1 : n;
		} while (i < n && (p[i] == ' ' || p[i] == '\t'));
		if (authres_is_ours(p + start, i - start, a->authserv_id))
			a->forged++;
		else if (i - start >= 5 && str_nieq(p + start, "from:", 5) &&
			 dmarc_from_parse(p + start + 5, i - start - 5, &a->from,
					  &why) < 0)
			a->from_bad = true;
	}
}

/* Normalised bytes: to DKIM, and the header section until its end. */
static void route(struct analyze *a, const char *p, size_t n)
{
	const char *end;

	dkim_verify_feed(a->dkim, p, n);
	a->size += n;
	if (n > 0)
		a->last_lf = p[n - 1] == '\n';
	if (!a->in_header || a->header_too_big || n == 0)
		return;
	buf_append(&a->hdr, p, n);
	if (a->hdr.len >= 2 && a->hdr.ptr[0] == '\r' && a->hdr.ptr[1] == '\n')
		end = a->hdr.ptr;	/* no header fields at all */
	else if ((end = memmem(a->hdr.ptr, a->hdr.len, "\r\n\r\n", 4)) != NULL)
		end += 2;
	if (end == NULL) {
		a->header_too_big = a->hdr.len > ANALYZE_MAX_HEADER;
		return;
	}
	header_fields(a, a->hdr.ptr, (size_t)(end - a->hdr.ptr));
	a->in_header = false;
	buf_free(&a->hdr);
}

/* RFC 5321 §2.3.8: a bare CR or LF is written as CRLF; pending_cr holds
 * a CR until the next byte says whether it is bare. */
static void normalise(struct analyze *a, const char *p, size_t n,
		      struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t run = i;

		while (run < n && p[run] != '\r' && p[run] != '\n')
			run++;
		if (run > i) {
			if (a->pending_cr)
				buf_append(out, "\r\n", 2);	/* bare CR */
			a->pending_cr = false;
			buf_append(out, p + i, run - i);
		}
		if (run == n)
			break;
		/* LF (after a CR or bare), or a CR after a bare CR */
		if (p[run] == '\n' || a->pending_cr)
			buf_append(out, "\r\n", 2);
		a->pending_cr = p[run] == '\r';
		i = run + 1;
	}
}

/* Read the message from fd into the verifier and the header reader. */
static int read_message(struct analyze *a, int fd, const char *name)
{
	char *in = xmalloc(ANALYZE_READ_CHUNK);
	struct buf out = BUF_INIT;
	ssize_t n;

	a->in_header = true;
	while ((n = read(fd, in, ANALYZE_READ_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf_reset(&out);
		normalise(a, in, (size_t)n, &out);
		route(a, out.ptr, out.len);
	}
	free(in);
	buf_free(&out);
	if (n < 0) {
		cli_fail("%s: %s", name, strerror(errno));
		return -1;
	}
	/* DATA always ends its last line with CRLF */
	if (a->pending_cr || !a->last_lf)
		route(a, "\r\n", 2);
	a->pending_cr = false;
	if (a->in_header && !a->header_too_big)	/* all header */
		header_fields(a, a->hdr.ptr, a->hdr.len);
	a->in_header = false;
	return 0;
}

static int open_message(const struct analyze_args *o)
{
	int fd;

	if (o->file == NULL || strcmp(o->file, "-") == 0)
		return STDIN_FILENO;
	fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		cli_fail("%s: %s", o->file, strerror(errno));
	return fd;
}

/* ---- the evaluators, driven with blocking DNS questions ---- */

static void ask(struct analyze *a, const struct dnsq *q, struct dnsq_answer *ans)
{
	bool secure;

	memset(ans, 0, sizeof(*ans));
	dns_query_sync(a->dns, q, ans, &secure);
}

static void run_iprev(struct analyze *a, const char *ip)
{
	struct dnsq q;
	struct dnsq_answer ans;

	a->iprev = iprev_new(ip);
	while ((a->iprev_result = iprev_step(a->iprev, &q)) == IPREV_NEED_DNS) {
		ask(a, &q, &ans);
		iprev_answer(a->iprev, &ans);
		dns_answer_free(&ans);
	}
}

/* check_host() for MAIL FROM, or postmaster@HELO for the null sender
 * (RFC 7208 §2.4), with our host name as %{r}. */
static void run_spf(struct analyze *a, const struct analyze_args *o)
{
	struct dnsq q;
	struct dnsq_answer ans;

	a->spf = spf_eval_new(o->ip, o->mail_from ? o->mail_from : "", o->helo,
			      a->hostname);
	while ((a->spf_result = spf_eval_step(a->spf, &q)) == SPF_NEED_DNS) {
		ask(a, &q, &ans);
		spf_eval_answer(a->spf, &ans);
		dns_answer_free(&ans);
	}
}

static void run_dkim(struct analyze *a)
{
	struct dnsq_answer ans;

	a->ndkim = dkim_verify_end(a->dkim);
	if (a->ndkim > DKIM_MAX_SIGNATURES)	/* the default limit: never */
		a->ndkim = DKIM_MAX_SIGNATURES;
	for (size_t i = 0; i < a->ndkim; i++) {
		const struct dnsq *q = dkim_verify_query(a->dkim, i);
		if (q != NULL) {
			ask(a, q, &ans);
			dkim_verify_key_answer(a->dkim, i, &ans);
			dns_answer_free(&ans);
		}
		a->dkim_res[i] = dkim_verify_result(a->dkim, i);
	}
}

/* DMARC over the From domains, the SPF and the DKIM results (RFC 7489
 * §4.2), with the same input as the smtp process gives it. */
static void run_dmarc(struct analyze *a)
{
	struct dmarc_dkim dk[DKIM_MAX_SIGNATURES];
	struct dmarc_input in;
	struct dnsq q;
	struct dnsq_answer ans;

	memset(&in, 0, sizeof(in));
	for (size_t i = 0; i < a->ndkim; i++) {
		dk[i].domain = a->dkim_res[i]->domain;
		dk[i].pass = a->dkim_res[i]->status == DKIM_PASS;
	}
	if (a->from_bad)
		a->from.n = 0;	/* permerror: no usable author domain */
	in.from = &a->from;
	in.spf = a->spf ? a->spf_result : SPF_NONE;
	in.spf_domain = a->spf ? spf_eval_domain(a->spf) : NULL;
	in.dkim = dk;
	in.ndkim = a->ndkim;
	a->dmarc = dmarc_eval_new(&in);
	while (dmarc_eval_step(a->dmarc, &q) == DMARC_NEED_DNS) {
		ask(a, &q, &ans);
		dmarc_eval_answer(a->dmarc, &ans);
		dns_answer_free(&ans);
	}
}

/* ---- output ---- */

static void print_comment(const char *text)
{
	if (text != NULL && *text != '\0')
		printf(" (%s)", text);
}

static void print_ip_checks(const struct analyze *a,
			    const struct analyze_args *o)
{
	const char *exp;

	if (a->spf == NULL) {
		printf("iprev: not checked (no --ip)\nspf: not checked (no --ip)\n");
		return;
	}
	printf("iprev: %s", iprev_result_name(a->iprev_result));
	print_comment(iprev_reason(a->iprev));
	printf(" ip=%s", iprev_ip(a->iprev));
	if (iprev_host(a->iprev) != NULL)
		printf(" host=%s", iprev_host(a->iprev));
	printf("\nspf: %s", spf_result_name(a->spf_result));
	print_comment(spf_eval_reason(a->spf));
	printf(" identity=%s domain=%s",
	       o->mail_from && *o->mail_from ? "mailfrom" : "helo",
	       spf_eval_domain(a->spf));
	if ((exp = spf_eval_explanation(a->spf)) != NULL)
		printf(" explanation=\"%s\"", exp);
	printf("\n");
}

static void print_dkim(const struct analyze *a)
{
	if (a->ndkim == 0)
		printf("dkim: none (no signature)\n");
	for (size_t i = 0; i < a->ndkim; i++) {
		const struct dkim_result *r = a->dkim_res[i];
		printf("dkim: %s", authpolicy_dkim_result(r->status));
		if (r->status != DKIM_PASS)
			print_comment(r->reason);
		printf(" d=%s s=%s a=%s i=%s", r->domain, r->selector,
		       r->algorithm, r->identity);
		if (r->key_bits > 0)
			printf(" bits=%u", r->key_bits);
		if (r->testing)
			printf(" testing=yes");
		if (r->partial_body)
			printf(" body=partial");
		printf("\n");
	}
	if (dkim_verify_ignored(a->dkim) > 0)
		printf("dkim: %zu more signatures not evaluated (limit %d)\n",
		       dkim_verify_ignored(a->dkim), DKIM_MAX_SIGNATURES);
}

static void print_dmarc(const struct dmarc_verdict *v)
{
	printf("dmarc: %s", dmarc_result_name(v->result));
	print_comment(v->reason);
	if (v->result == DMARC_PASS || v->result == DMARC_FAIL)
		printf(" p=%s sp=%s pct=%u disposition=%s",
		       dmarc_policy_name(v->policy), dmarc_policy_name(v->sp),
		       v->pct, dmarc_policy_name(v->disposition));
	if (v->from_domain != NULL)
		printf(" header.from=%s", v->from_domain);
	if (v->policy_domain != NULL)
		printf(" record=_dmarc.%s", v->policy_domain);
	printf("\n");
}

/* Is the client in [smtp] relay_networks (then its mail is not judged)? */
static bool relay_client(const struct analyze *a, const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	struct netaddr_cidr net;

	if (!a->have_cfg || ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return false;
	for (size_t i = 0; i < a->cfg.smtp_relay_networks.n; i++)
		if (netaddr_parse_cidr(a->cfg.smtp_relay_networks.v[i], &net) == 0 &&
		    netaddr_cidr_match(&net, (const struct sockaddr *)&ss))
			return true;
	return false;
}

static void print_action(const struct analyze *a, const struct analyze_args *o,
			 const struct authpolicy_input *in)
{
	const char *why = NULL;
	enum authpolicy_action act = authpolicy_decide(in, &a->policy, &why);

	if (a->have_cfg && !a->cfg.checks_enabled)
		printf("action: accept ([checks] enabled = no: mail is not judged)\n");
	else if (relay_client(a, o->ip))
		printf("action: accept (%s is in [smtp] relay_networks: its mail "
		       "is not judged)\n", o->ip);
	else if (a->header_too_big)
		printf("action: reject (header section over %d bytes)\nreply: "
		       "552 5.3.4 Error: message header section too large\n",
		       ANALYZE_MAX_HEADER);
	else
		printf("action: %s (%s)\n%s%s", authpolicy_action_name(act), why,
		       act == AUTHPOLICY_REJECT ? "reply: " : "",
		       act == AUTHPOLICY_REJECT ? AUTHPOLICY_REJECT_REPLY "\n" : "");
	if (a->forged > 0)
		printf("removed: %u Authentication-Results field%s claiming our "
		       "authserv-id %s (forged, RFC 8601 §5)\n", a->forged,
		       a->forged == 1 ? "" : "s", a->authserv_id);
}

/* The fields as the server adds them, with LF line ends for the terminal. */
static void print_fields(const struct analyze *a,
			 const struct authpolicy_input *in)
{
	struct buf out = BUF_INIT;

	authpolicy_headers(in, a->authserv_id, a->hostname, &out);
	printf("\n");
	for (size_t i = 0; i < out.len; i++)
		if (out.ptr[i] != '\r' || i + 1 >= out.len || out.ptr[i + 1] != '\n')
			putchar(out.ptr[i]);
	buf_free(&out);
}

static void report(const struct analyze *a, const struct analyze_args *o)
{
	const struct dmarc_verdict *dv = dmarc_eval_verdict(a->dmarc);
	struct authpolicy_input in = {
		.have_ip = a->spf != NULL, .ip = o->ip,
		.iprev = a->iprev_result,
		.iprev_host = a->iprev ? iprev_host(a->iprev) : NULL,
		.spf = a->spf ? a->spf_result : SPF_NONE,
		.mail_from = o->mail_from ? o->mail_from : "", .helo = o->helo,
		.spf_reason = a->spf ? spf_eval_reason(a->spf) : NULL,
		.dkim = a->dkim_res, .ndkim = a->ndkim, .dmarc = dv,
	};

	print_ip_checks(a, o);
	print_dkim(a);
	print_dmarc(dv);
	print_action(a, o, &in);
	print_fields(a, &in);
}

/* ---- the command ---- */

static void analyze_free(struct analyze *a)
{
	iprev_free(a->iprev);
	spf_eval_free(a->spf);
	dkim_verify_free(a->dkim);
	dmarc_eval_free(a->dmarc);
	dns_free(a->dns);
	buf_free(&a->hdr);
	if (a->have_cfg)
		config_free(&a->cfg);
}

static int analyze_run(struct analyze *a, const struct analyze_args *o,
		       const char *config_path)
{
	int fd, rc;

	if (load_config(a, config_path) < 0)
		return CLI_EXIT_ERROR;
	if ((fd = open_message(o)) < 0)
		return CLI_EXIT_ERROR;
	a->dkim = dkim_verify_new(NULL);
	dkim_verify_set_time(a->dkim, (long long)time(NULL));
	rc = read_message(a, fd, o->file ? o->file : "standard input");
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0 || open_dns(a) < 0)
		return CLI_EXIT_ERROR;
	if (o->ip != NULL) {
		run_iprev(a, o->ip);
		run_spf(a, o);
	}
	run_dkim(a);
	run_dmarc(a);
	report(a, o);
	return CLI_EXIT_OK;
}

int cli_analyze(const char *config_path, int argc, char **argv)
{
	struct analyze_args o;
	struct analyze a;
	int rc;

	if ((rc = parse_args(&o, argc, argv)) != 0)
		return rc;
	memset(&a, 0, sizeof(a));
	log_init("analyze");
	log_set_level(o.verbose ? LOGL_DEBUG : LOGL_WARN);
	rc = analyze_run(&a, &o, config_path);
	analyze_free(&a);
	return rc;
}
