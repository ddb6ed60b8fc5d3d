/* dns_tool: ask lib_dns questions from the command line, for the
 * integration tests against a real authoritative server (dnsworld.py).
 *
 *   dns_tool [-f FWD]... [-r RESOLV_CONF] [-a TRUST_ANCHOR] [-t MS] [-S] [-v]
 *            TYPE NAME...
 *
 * All names are asked at once through the event loop (-S: one after the
 * other with dns_query_sync()); the answers print in argument order:
 *
 *   name=mx.example.org type=MX rcode=ok secure=no n=1
 *   rr=10 mail.example.org
 *
 * Bytes outside printable ASCII, and '\', print as \xNN. Exit 0 when every
 * question got an answer (of any rcode), 1 when the resolver cannot be set
 * up, 2 on usage errors. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#define TOOL_MAX_FORWARDERS 8

struct job {
	struct dnsq q;
	struct buf out;
	int *left;
};

static const struct {
	const char *name;
	int type;
} types[] = {
	{ "A", DNSQ_A }, { "AAAA", DNSQ_AAAA }, { "MX", DNSQ_MX },
	{ "TXT", DNSQ_TXT }, { "PTR", DNSQ_PTR },
};

static int parse_type(const char *s)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (str_ieq(s, types[i].name))
			return types[i].type;
	if (str_to_u64(s, &v) == 0 && v > 0 && v < 65536)
		return (int)v;
	return -1;
}

static void put_escaped(struct buf *b, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf_appendc(b, (char)c);
		else
			buf_printf(b, "\\x%02x", c);
	}
}

static void format_answer(struct job *j, const struct dnsq_answer *a,
			  bool secure)
{
	buf_appends(&j->out, "name=");
	put_escaped(&j->out, j->q.name, strlen(j->q.name));
	buf_printf(&j->out, " type=%s rcode=%s secure=%s n=%zu\n",
		   dnsq_type_name(j->q.type), dnsq_rcode_name(a->rcode),
		   secure ? "yes" : "no", a->n);
	for (size_t i = 0; i < a->n; i++) {
		buf_appends(&j->out, "rr=");
		put_escaped(&j->out, a->rr[i],
			    a->rr_len ? a->rr_len[i] : strlen(a->rr[i]));
		buf_appendc(&j->out, '\n');
	}
}

static void on_answer(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct job *j = arg;

	format_answer(j, a, secure);
	--*j->left;
}

static int run_async(struct dns *d, struct event_base *base,
		     struct job *jobs, int n)
{
	int left = n;
	uint64_t id;

	for (int i = 0; i < n; i++) {
		jobs[i].left = &left;
		if (dns_query(d, &jobs[i].q, on_answer, &jobs[i], &id) < 0) {
			fprintf(stderr, "dns_tool: dns_query refused\n");
			return -1;
		}
	}
	while (left > 0)
		event_base_loop(base, EVLOOP_ONCE);
	return 0;
}

static void run_sync(struct dns *d, struct job *jobs, int n)
{
	for (int i = 0; i < n; i++) {
		struct dnsq_answer a;
		bool secure;
		dns_query_sync(d, &jobs[i].q, &a, &secure);
		format_answer(&jobs[i], &a, secure);
		dns_answer_free(&a);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: dns_tool [-f FWD]... [-r RESOLV_CONF] "
		"[-a TRUST_ANCHOR] [-t MS] [-S] [-v] TYPE NAME...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *fwd[TOOL_MAX_FORWARDERS + 1] = { NULL };
	struct dns_config cfg = { .forwarders = fwd };
	int nfwd = 0, opt, type, n, rc = 0;
	bool sync = false;
	uint64_t ms;
	const char *error;

	log_init("dns_tool");
	while ((opt = getopt(argc, argv, "f:r:a:t:Sv")) != -1) {
		switch (opt) {
		case 'f':
			if (nfwd == TOOL_MAX_FORWARDERS)
				return usage();
			fwd[nfwd++] = optarg;
			break;
		case 'r':
			cfg.resolv_conf = optarg;
			break;
		case 'a':
			cfg.trust_anchor_file = optarg;
			break;
		case 't':
			if (str_to_u64(optarg, &ms) < 0 || ms > 1000000)
				return usage();
			cfg.timeout_ms = (unsigned)ms;
			break;
		case 'S':
			sync = true;
			break;
		case 'v':
			log_set_level(LOGL_DEBUG);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 2 || (type = parse_type(argv[optind])) < 0)
		return usage();
	n = argc - optind - 1;
	struct job *jobs = xcalloc((size_t)n, sizeof(*jobs));
	for (int i = 0; i < n; i++) {
		jobs[i].q.type = type;
		if (str_copy(jobs[i].q.name, sizeof(jobs[i].q.name),
			     argv[optind + 1 + i]) < 0) {
			fprintf(stderr, "dns_tool: name too long\n");
			return 2;
		}
	}
	struct event_base *base = sync ? NULL : event_base_new();
	struct dns *d = dns_new(base, &cfg, &error);
	if (d == NULL) {
		fprintf(stderr, "dns_tool: %s\n", error);
		return 1;
	}
	if (sync)
		run_sync(d, jobs, n);
	else if (run_async(d, base, jobs, n) < 0)
		rc = 1;
	for (int i = 0; i < n; i++) {
		fputs(buf_cstr(&jobs[i].out), stdout);
		buf_free(&jobs[i].out);
	}
	dns_free(d);
	if (base != NULL)
		event_base_free(base);
	free(jobs);
	return rc;
}
