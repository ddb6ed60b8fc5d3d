/* Unit tests for src/dns: name escaping and rdata conversion from
 * hand-built ub_result arrays, then the resolver itself on answers that
 * libunbound gives from its built-in zones (localhost, invalid.) while
 * its forwarder is a loopback UDP socket that never answers, so nothing
 * leaves the machine and timeouts can be produced at will. */
#include "harness.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "dns/dns.h"
#include "dns/dns_conv.h"

/* ---- dns_qname_escape ---- */

static const struct {
	const char *in, *out;	/* out NULL: refused */
} qname_cases[] = {
	{ "example.org", "example.org." },
	{ "example.org.", "example.org." },
	{ "_dmarc.Example.ORG", "_dmarc.Example.ORG." },
	{ "sel._domainkey.x-y.example", "sel._domainkey.x-y.example." },
	{ "a+b.example", "a\\043b.example." },
	{ "a\\b.example", "a\\092b.example." },
	{ "\"q\";(x)@$.example", "\\034q\\034\\059\\040x\\041\\064\\036.example." },
	{ "*.example", "\\042.example." },
	{ "", NULL },
	{ ".", NULL },
	{ "..", NULL },
	{ "a..b", NULL },
	{ ".a", NULL },
	{ "a b.example", NULL },
	{ "a\tb.example", NULL },
	{ "a\x7f.example", NULL },
	{ "caf\xc3\xa9.example", NULL },
	{ "a\r\n.example", NULL },
};

TEST(qname_escape_table)
{
	char out[DNS_QNAME_ESC_MAX];
	const char *why;

	for (size_t i = 0; i < sizeof(qname_cases) / sizeof(*qname_cases); i++) {
		int r = dns_qname_escape(qname_cases[i].in, out, &why);
		if (qname_cases[i].out == NULL) {
			CHECK_INTEQ(r, -1);
		} else {
			CHECK_INTEQ(r, 0);
			CHECK_STREQ(out, qname_cases[i].out);
		}
	}
}

TEST(qname_escape_lengths)
{
	char name[300], out[DNS_QNAME_ESC_MAX];
	const char *why;

	memset(name, 'a', 63);	/* longest label */
	memcpy(name + 63, ".example", 9);
	CHECK_INTEQ(dns_qname_escape(name, out, &why), 0);
	memset(name, 'a', 64);
	memcpy(name + 64, ".example", 9);
	CHECK_INTEQ(dns_qname_escape(name, out, &why), -1);
	CHECK_STREQ(why, "label longer than 63 bytes");
	/* 253 characters of 63+1 label groups: the longest name. */
	for (int i = 0; i < 253; i++)
		name[i] = i % 64 == 63 ? '.' : 'b';
	name[253] = '\0';
	CHECK_INTEQ(dns_qname_escape(name, out, &why), 0);
	name[253] = 'b';
	name[254] = '\0';
	CHECK_INTEQ(dns_qname_escape(name, out, &why), -1);
	/* Every byte escaped: the output buffer bound is exact. */
	for (int i = 0; i < 253; i++)
		name[i] = i % 64 == 63 ? '.' : '+';
	name[253] = '\0';
	CHECK_INTEQ(dns_qname_escape(name, out, &why), 0);
	CHECK(strlen(out) < DNS_QNAME_ESC_MAX);
}

/* ---- dns_answer_convert ---- */

#define RD(s) { s, sizeof(s) - 1 }

struct rd {
	const char *p;
	int len;
};

static const struct conv_case {
	const char *what;
	int type, err, rcode, havedata, secure, bogus;
	struct rd rd[4];	/* up to the first {NULL} */
	enum dnsq_rcode want;
	const char *want_rr[4];
	size_t want_len[4];	/* 0: strlen(want_rr) */
} conv_cases[] = {
	{ "two A", DNSQ_A, 0, 0, 1, 0, 0,
	  { RD("\xc0\x00\x02\x01"), RD("\x0a\x00\x00\xff") },
	  DNSQ_OK, { "192.0.2.1", "10.0.0.255" }, { 0 } },
	{ "A of 5 bytes", DNSQ_A, 0, 0, 1, 0, 0,
	  { RD("\xc0\x00\x02\x01\x01") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "AAAA", DNSQ_AAAA, 0, 0, 1, 1, 0,
	  { RD("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01") },
	  DNSQ_OK, { "2001:db8::1" }, { 0 } },
	{ "AAAA of 4 bytes", DNSQ_AAAA, 0, 0, 1, 0, 0,
	  { RD("\x20\x01\x0d\xb8") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "MX", DNSQ_MX, 0, 0, 1, 0, 0,
	  { RD("\x00\x0a\x04mail\x07""example\x03org\x00"),
	    RD("\xff\xff\x02mx\x07""example\x03org\x00") },
	  DNSQ_OK, { "10 mail.example.org", "65535 mx.example.org" }, { 0 } },
	{ "null MX (RFC 7505)", DNSQ_MX, 0, 0, 1, 0, 0,
	  { RD("\x00\x00\x00") }, DNSQ_OK, { "0 ." }, { 0 } },
	{ "MX too short", DNSQ_MX, 0, 0, 1, 0, 0,
	  { RD("\x00\x0a") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "MX name then garbage", DNSQ_MX, 0, 0, 1, 0, 0,
	  { RD("\x00\x0a\x02mx\x00zz") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "MX name unterminated", DNSQ_MX, 0, 0, 1, 0, 0,
	  { RD("\x00\x0a\x02mx\x03or") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "MX compression pointer", DNSQ_MX, 0, 0, 1, 0, 0,
	  { RD("\x00\x0a\xc0\x0c") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "PTR", DNSQ_PTR, 0, 0, 1, 0, 0,
	  { RD("\x04host\x07""example\x00") }, DNSQ_OK,
	  { "host.example" }, { 0 } },
	{ "PTR with a dot inside a label: skipped", DNSQ_PTR, 0, 0, 1, 0, 0,
	  { RD("\x03""a.b\x07""example\x00"), RD("\x02ok\x00") }, DNSQ_OK,
	  { "ok" }, { 0 } },
	{ "PTR with a space only: nodata", DNSQ_PTR, 0, 0, 1, 0, 0,
	  { RD("\x03""a b\x00") }, DNSQ_NODATA, { NULL }, { 0 } },
	{ "PTR label of 64", DNSQ_PTR, 0, 0, 1, 0, 0,
	  { RD("\x40""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x00") },
	  DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "TXT strings joined with no space", DNSQ_TXT, 0, 0, 1, 0, 0,
	  { RD("\x07v=spf1 \x04-all"), RD("\x03one") }, DNSQ_OK,
	  { "v=spf1 -all", "one" }, { 0 } },
	{ "TXT with a NUL", DNSQ_TXT, 0, 0, 1, 0, 0,
	  { RD("\x03""a\0b") }, DNSQ_OK, { "a\0b" }, { 3 } },
	{ "TXT empty string", DNSQ_TXT, 0, 0, 1, 0, 0,
	  { RD("\x00") }, DNSQ_OK, { "" }, { 0 } },
	{ "TXT length past the end", DNSQ_TXT, 0, 0, 1, 0, 0,
	  { RD("\x05""ab") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "TXT without strings", DNSQ_TXT, 0, 0, 1, 0, 0,
	  { { "", 0 } }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "one bad record spoils all", DNSQ_TXT, 0, 0, 1, 0, 0,
	  { RD("\x02ok"), RD("\x09short") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "other type (SRV): raw rdata", 33, 0, 0, 1, 0, 0,
	  { RD("\x03\x01\x01\xab\x00") }, DNSQ_OK, { "\x03\x01\x01\xab\x00" },
	  { 5 } },
	{ "TLSA as U S M hex (RFC 6698 2.2)", DNSQ_TLSA, 0, 0, 1, 0, 0,
	  { RD("\x03\x01\x01\xab\x00"), RD("\x02\x00\x02\x0f") }, DNSQ_OK,
	  { "3 1 1 ab00", "2 0 2 0f" }, { 0 } },
	{ "TLSA without data: nothing usable", DNSQ_TLSA, 0, 0, 1, 0, 0,
	  { RD("\x03\x01\x01") }, DNSQ_NODATA, { NULL }, { 0 } },
	{ "NXDOMAIN", DNSQ_A, 0, 3, 0, 0, 0, { { NULL, 0 } }, DNSQ_NXDOMAIN,
	  { NULL }, { 0 } },
	{ "NOERROR, no data", DNSQ_A, 0, 0, 0, 0, 0, { { NULL, 0 } },
	  DNSQ_NODATA, { NULL }, { 0 } },
	{ "SERVFAIL", DNSQ_A, 0, 2, 0, 0, 0, { { NULL, 0 } }, DNSQ_TEMPFAIL,
	  { NULL }, { 0 } },
	{ "REFUSED", DNSQ_TXT, 0, 5, 0, 0, 0, { { NULL, 0 } }, DNSQ_TEMPFAIL,
	  { NULL }, { 0 } },
	{ "bogus DNSSEC with data", DNSQ_A, 0, 0, 1, 0, 1,
	  { RD("\xc0\x00\x02\x01") }, DNSQ_TEMPFAIL, { NULL }, { 0 } },
	{ "libunbound error", DNSQ_A, -2, 0, 0, 0, 0, { { NULL, 0 } },
	  DNSQ_TEMPFAIL, { NULL }, { 0 } },
};

/* A ub_result as libunbound's fill_res() builds it. */
static void fake_result(struct ub_result *r, char **data, int *len,
			const struct conv_case *c)
{
	int n = 0;

	memset(r, 0, sizeof(*r));
	for (; n < 4 && c->rd[n].p != NULL; n++) {
		data[n] = (char *)c->rd[n].p;
		len[n] = c->rd[n].len;
	}
	data[n] = NULL;
	len[n] = 0;
	r->qtype = c->type;
	r->data = data;
	r->len = len;
	r->rcode = c->rcode;
	r->havedata = c->havedata;
	r->nxdomain = c->rcode == 3;
	r->secure = c->secure;
	r->bogus = c->bogus;
}

static void check_conv(const struct conv_case *c)
{
	struct ub_result r;
	char *data[5];
	int len[5];
	struct dnsq_answer a;
	size_t want_n = 0;

	fake_result(&r, data, len, c);
	dns_answer_convert(&a, c->type, c->err, c->err ? NULL : &r);
	while (want_n < 4 && c->want_rr[want_n] != NULL)
		want_n++;
	if (a.rcode != c->want || a.n != want_n)
		fprintf(stderr, "case: %s\n", c->what);
	CHECK_INTEQ(a.rcode, c->want);
	CHECK_INTEQ(a.n, want_n);
	for (size_t i = 0; i < a.n && i < want_n; i++) {
		size_t wl = c->want_len[i] ? c->want_len[i] :
			strlen(c->want_rr[i]);
		CHECK_INTEQ(a.rr_len[i], wl);
		CHECK(memcmp(a.rr[i], c->want_rr[i], wl) == 0);
		CHECK(a.rr[i][wl] == '\0');
	}
	CHECK(dns_result_secure(c->err, c->err ? NULL : &r) ==
	      (c->secure && !c->bogus && !c->err));
	dns_answer_free(&a);
	CHECK(a.n == 0 && a.rr == NULL);
}

TEST(answer_convert_table)
{
	for (size_t i = 0; i < sizeof(conv_cases) / sizeof(*conv_cases); i++)
		check_conv(&conv_cases[i]);
}

TEST(answer_convert_long_name)
{
	/* 128 labels of one byte: 257 bytes on the wire, over RFC 1035's 255. */
	unsigned char rd[300];
	char *data[2] = { (char *)rd, NULL };
	int len[2] = { 0, 0 };
	struct ub_result r = { .data = data, .len = len, .havedata = 1 };
	struct dnsq_answer a;
	size_t o = 0;

	for (int i = 0; i < 128; i++) {
		rd[o++] = 1;
		rd[o++] = 'x';
	}
	rd[o++] = 0;
	len[0] = (int)o;
	dns_answer_convert(&a, DNSQ_PTR, 0, &r);
	CHECK_INTEQ(a.rcode, DNSQ_TEMPFAIL);
	len[0] = (int)o - 4;	/* 126 labels: 253 bytes, fits */
	rd[o - 5] = 0;
	dns_answer_convert(&a, DNSQ_PTR, 0, &r);
	CHECK_INTEQ(a.rcode, DNSQ_OK);
	CHECK_INTEQ(a.n, 1);
	CHECK_INTEQ(a.n ? a.rr_len[0] : 0, 251);
	dns_answer_free(&a);
}

TEST(answer_convert_canon)
{
	unsigned char rd[4] = { 127, 0, 0, 1 };
	char *data[2] = { (char *)rd, NULL };
	int len[2] = { 4, 0 };
	char qname[] = "mx.b.test", alias[] = "smtp.b.test.",
	     same[] = "MX.B.Test.";
	struct ub_result r = { .qname = qname, .data = data, .len = len,
			       .havedata = 1 };
	struct dnsq_answer a;

	dns_answer_convert(&a, DNSQ_A, 0, &r);	/* no canonname */
	CHECK(a.rcode == DNSQ_OK && a.canon == NULL);
	dns_answer_free(&a);
	r.canonname = same;			/* the question's own name */
	dns_answer_convert(&a, DNSQ_A, 0, &r);
	CHECK(a.canon == NULL);
	dns_answer_free(&a);
	r.canonname = alias;			/* followed a CNAME: no dot */
	dns_answer_convert(&a, DNSQ_A, 0, &r);
	CHECK_STREQ(a.canon != NULL ? a.canon : "", "smtp.b.test");
	dns_answer_free(&a);
	CHECK(a.canon == NULL);
	r.havedata = 0;				/* NODATA: no name kept */
	dns_answer_convert(&a, DNSQ_A, 0, &r);
	CHECK(a.rcode == DNSQ_NODATA && a.canon == NULL);
	dns_answer_free(&a);
}

/* ---- the resolver, answered by libunbound's built-in zones ---- */

static int total_calls;	/* of on_answer(), all questions */

struct got {
	int calls;
	enum dnsq_rcode rcode;
	size_t n;
	char rr0[64];
	bool secure;
	struct dns *requery;	/* ask again from inside the callback */
	struct got *next_got;
};

static void on_answer(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct got *g = arg;
	uint64_t id;

	g->calls++;
	total_calls++;
	g->rcode = a->rcode;
	g->n = a->n;
	g->secure = secure;
	if (a->n > 0)
		snprintf(g->rr0, sizeof(g->rr0), "%s", a->rr[0]);
	if (g->requery != NULL) {
		struct dnsq q = { DNSQ_AAAA, "localhost" };
		CHECK_INTEQ(dns_query(g->requery, &q, on_answer, g->next_got,
				      &id), 0);
	}
}

/* A loopback UDP socket that reads nothing: the black-hole forwarder. */
static int blackhole(char *fwd, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		return -1;
	snprintf(fwd, size, "127.0.0.1@%u", ntohs(sin.sin_port));
	return fd;
}

struct world {
	struct event_base *base;
	struct dns *dns;
	int hole;
	char fwd[64];
};

static bool world_open(struct world *w, unsigned timeout_ms)
{
	const char *fwds[2] = { w->fwd, NULL };
	struct dns_config cfg = { .forwarders = fwds, .timeout_ms = timeout_ms };
	const char *error = NULL;

	w->hole = blackhole(w->fwd, sizeof(w->fwd));
	w->base = event_base_new();
	w->dns = dns_new(w->base, &cfg, &error);
	if (w->dns == NULL)
		fprintf(stderr, "dns_new: %s\n", error);
	return w->hole >= 0 && w->dns != NULL;
}

static void world_close(struct world *w)
{
	dns_free(w->dns);
	event_base_free(w->base);
	close(w->hole);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until *calls reaches want or limit_ms pass. */
static void run_until(struct world *w, const int *calls, int want,
		      int limit_ms)
{
	long long end = mono_ms() + limit_ms;
	struct timeval tick = { 0, 20000 };

	while (*calls < want && mono_ms() < end) {
		event_base_loopexit(w->base, &tick);
		event_base_dispatch(w->base);
	}
}

static const struct {
	int type;
	const char *name;
	enum dnsq_rcode want;
	const char *rr0;
} local_cases[] = {
	{ DNSQ_A, "localhost", DNSQ_OK, "127.0.0.1" },
	{ DNSQ_AAAA, "localhost.", DNSQ_OK, "::1" },
	{ DNSQ_MX, "localhost", DNSQ_NODATA, NULL },
	{ DNSQ_TXT, "no.such.invalid", DNSQ_NXDOMAIN, NULL },
	{ DNSQ_PTR, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.ip6.arpa", DNSQ_OK, "localhost" },
	{ DNSQ_A, "spaced name.example", DNSQ_NXDOMAIN, NULL },
	{ DNSQ_A, "a..example", DNSQ_NXDOMAIN, NULL },
};
#define NLOCAL (sizeof(local_cases) / sizeof(*local_cases))

TEST(async_local_answers)
{
	struct world w;
	struct got got[NLOCAL];
	int before = total_calls;
	uint64_t id, last = 0;

	memset(got, 0, sizeof(got));
	if (!world_open(&w, 3000)) {
		CHECK(!"world_open");
		return;
	}
	for (size_t i = 0; i < NLOCAL; i++) {
		struct dnsq q = { .type = local_cases[i].type };
		snprintf(q.name, sizeof(q.name), "%s", local_cases[i].name);
		CHECK_INTEQ(dns_query(w.dns, &q, on_answer, &got[i], &id), 0);
		CHECK(id > last);
		last = id;
	}
	CHECK_INTEQ(dns_pending(w.dns), NLOCAL);
	CHECK_INTEQ(got[5].calls, 0);	/* refused names: not re-entrant */
	run_until(&w, &total_calls, before + (int)NLOCAL, 5000);
	for (size_t i = 0; i < NLOCAL; i++) {
		CHECK_INTEQ(got[i].calls, 1);
		CHECK_INTEQ(got[i].rcode, local_cases[i].want);
		CHECK(!got[i].secure);
		if (local_cases[i].rr0 != NULL)
			CHECK_STREQ(got[i].rr0, local_cases[i].rr0);
	}
	CHECK_INTEQ(dns_pending(w.dns), 0);
	world_close(&w);
}

TEST(async_timeout_and_cancel)
{
	struct world w;
	struct got slow = { 0 }, cancelled = { 0 }, refused = { 0 };
	struct dnsq q = { DNSQ_TXT, "example.org" };
	struct dnsq bad = { DNSQ_TXT, "bad name" };
	uint64_t id_slow, id_cancel, id_refused;
	long long start = mono_ms();

	if (!world_open(&w, 300)) {
		CHECK(!"world_open");
		return;
	}
	CHECK_INTEQ(dns_query(w.dns, &q, on_answer, &slow, &id_slow), 0);
	CHECK_INTEQ(dns_query(w.dns, &q, on_answer, &cancelled, &id_cancel), 0);
	CHECK_INTEQ(dns_query(w.dns, &bad, on_answer, &refused, &id_refused), 0);
	dns_cancel(w.dns, id_cancel);
	dns_cancel(w.dns, id_refused);
	dns_cancel(w.dns, 999999);	/* unknown: ignored */
	CHECK_INTEQ(dns_pending(w.dns), 1);
	run_until(&w, &slow.calls, 1, 5000);
	CHECK_INTEQ(slow.calls, 1);
	CHECK_INTEQ(slow.rcode, DNSQ_TEMPFAIL);
	CHECK(mono_ms() - start >= 250);
	run_until(&w, &cancelled.calls, 1, 400);	/* give them a chance */
	CHECK_INTEQ(cancelled.calls, 0);
	CHECK_INTEQ(refused.calls, 0);
	CHECK_INTEQ(dns_pending(w.dns), 0);
	world_close(&w);
}

TEST(async_query_from_callback_and_free_pending)
{
	struct world w;
	struct got second = { 0 }, first = { 0 }, orphan = { 0 };
	struct dnsq q = { DNSQ_A, "localhost" };
	struct dnsq slow = { DNSQ_TXT, "example.net" };
	uint64_t id;

	if (!world_open(&w, 5000)) {
		CHECK(!"world_open");
		return;
	}
	first.requery = w.dns;
	first.next_got = &second;
	CHECK_INTEQ(dns_query(w.dns, &q, on_answer, &first, &id), 0);
	CHECK_INTEQ(dns_query(w.dns, &slow, on_answer, &orphan, &id), 0);
	run_until(&w, &second.calls, 1, 3000);
	CHECK_INTEQ(first.calls, 1);
	CHECK_INTEQ(second.calls, 1);
	CHECK_STREQ(second.rr0, "::1");
	CHECK_INTEQ(dns_pending(w.dns), 1);
	world_close(&w);	/* frees the pending one: no callback, no leak */
	CHECK_INTEQ(orphan.calls, 0);
}

TEST(sync_queries)
{
	struct world w;
	struct dnsq q = { DNSQ_A, "localhost" };
	struct dnsq far = { DNSQ_MX, "example.com" };
	struct dnsq bad = { DNSQ_MX, "x\x01y" };
	struct dnsq_answer a;
	bool secure = true;
	long long start;

	if (!world_open(&w, 200)) {
		CHECK(!"world_open");
		return;
	}
	dns_query_sync(w.dns, &q, &a, &secure);
	CHECK_INTEQ(a.rcode, DNSQ_OK);
	CHECK_INTEQ(a.n, 1);
	CHECK_STREQ(a.n ? a.rr[0] : NULL, "127.0.0.1");
	CHECK(!secure);
	dns_answer_free(&a);
	start = mono_ms();
	dns_query_sync(w.dns, &far, &a, &secure);
	CHECK_INTEQ(a.rcode, DNSQ_TEMPFAIL);
	CHECK(mono_ms() - start >= 150);
	dns_query_sync(w.dns, &bad, &a, &secure);
	CHECK_INTEQ(a.rcode, DNSQ_NXDOMAIN);
	world_close(&w);
}

TEST(new_rejects_bad_settings)
{
	const char *bad_fwd[] = { "not-an-address", NULL };
	const char *ok_fwd[] = { "127.0.0.1@5353", "::1", NULL };
	char ta[] = "/tmp/test_dns_ta_XXXXXX";
	int fd = mkstemp(ta);
	const char *error = NULL;
	struct dns *d;
	struct dns_config cfg = { .forwarders = bad_fwd };

	CHECK(dns_new(NULL, &cfg, &error) == NULL);
	CHECK_STREQ(error, "invalid DNS forwarder address");
	cfg.forwarders = ok_fwd;
	cfg.timeout_ms = 5;
	CHECK(dns_new(NULL, &cfg, &error) == NULL);
	CHECK_STREQ(error, "DNS timeout out of range");
	cfg.timeout_ms = 0;
	cfg.trust_anchor_file = "/nonexistent/root.key";
	CHECK(dns_new(NULL, &cfg, &error) == NULL);
	CHECK_STREQ(error, "cannot read the DNSSEC trust anchor file");
	CHECK(fd >= 0 && write(fd, "garbage here\n", 13) == 13);
	cfg.trust_anchor_file = ta;
	CHECK(dns_new(NULL, &cfg, &error) == NULL);
	CHECK_STREQ(error, "libunbound rejected the DNS settings");
	cfg.trust_anchor_file = NULL;
	d = dns_new(NULL, &cfg, &error);
	CHECK(d != NULL);
	if (d != NULL) {	/* without an event base: sync only */
		struct dnsq q = { DNSQ_A, "localhost" };
		uint64_t id;
		CHECK_INTEQ(dns_query(d, &q, on_answer, NULL, &id), -1);
	}
	dns_free(d);
	close(fd);
	unlink(ta);
}

int main(void)
{
	RUN(qname_escape_table);
	RUN(qname_escape_lengths);
	RUN(answer_convert_table);
	RUN(answer_convert_long_name);
	RUN(answer_convert_canon);
	RUN(async_local_answers);
	RUN(async_timeout_and_cancel);
	RUN(async_query_from_callback_and_free_pending);
	RUN(sync_queries);
	RUN(new_rejects_bad_settings);
	return test_summary();
}
