/* Unit tests for src/queue/mx: MX ordering, implicit and null MX, loops,
 * IP-literal exchanges, family preference and caps. */
#include "harness.h"

#include <arpa/inet.h>

#include "queue/mx.h"

/* Deterministic "random": always the last candidate, or always the first. */
static unsigned pick_last(void *arg, unsigned n) { (void)arg; return n - 1; }
static unsigned pick_first(void *arg, unsigned n) { (void)arg; return 0; }

static struct dnsq_answer ans(enum dnsq_rcode rcode, char **rr, size_t n)
{
	struct dnsq_answer a = { rcode, n, rr, NULL, NULL };
	return a;
}

static void names_of(const struct mx_list *l, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		strncat(out, l->hosts[i].name, size - strlen(out) - 1);
		if (i + 1 < l->n)
			strncat(out, ",", size - strlen(out) - 1);
	}
}

struct mx_case {
	enum dnsq_rcode rcode;
	const char *rr[6];
	mx_random_fn *rnd;
	const char *self;
	size_t max;
	enum mx_status st;
	const char *want;	/* host names joined by ',' or the status code */
};

static const struct mx_case mx_cases[] = {
	{ DNSQ_OK, { "20 b.example.", "10 A.example.", "30 c.example" }, pick_first, NULL, 0,
	  MX_OK, "a.example,b.example,c.example" },
	/* equal preferences: the injected random decides (Fisher-Yates) */
	{ DNSQ_OK, { "10 x.", "10 y.", "10 z.", "5 first." }, pick_first, NULL, 0,
	  MX_OK, "first,y,z,x" },
	{ DNSQ_OK, { "10 x.", "10 y.", "10 z.", "5 first." }, pick_last, NULL, 0,
	  MX_OK, "first,x,y,z" },
	{ DNSQ_NODATA, { NULL }, NULL, NULL, 0, MX_OK, "dest.example" },
	{ DNSQ_OK, { "0 ." }, NULL, NULL, 0, MX_PERMFAIL, "5.1.10" },
	{ DNSQ_OK, { "0 .", "10 mx.dest.example." }, NULL, NULL, 0, MX_OK, "mx.dest.example" },
	{ DNSQ_NXDOMAIN, { NULL }, NULL, NULL, 0, MX_PERMFAIL, "5.1.2" },
	{ DNSQ_TEMPFAIL, { NULL }, NULL, NULL, 0, MX_TEMPFAIL, "4.4.3" },
	{ DNSQ_OK, { "x mx.", "70000 mx.", "10", "10 a b" }, NULL, NULL, 0, MX_TEMPFAIL, "4.4.3" },
	/* an IP literal exchange stays a name (its A lookup then fails) */
	{ DNSQ_OK, { "10 192.0.2.1" }, NULL, NULL, 0, MX_OK, "192.0.2.1" },
	/* loops: we are the best MX -> nothing left; a backup MX -> keep better ones */
	{ DNSQ_OK, { "10 me.example.", "20 other." }, NULL, "ME.example", 0, MX_PERMFAIL, "5.4.6" },
	{ DNSQ_OK, { "10 primary.", "20 me.example.", "20 peer.", "30 worse." }, pick_first,
	  "me.example", 0, MX_OK, "primary" },
	{ DNSQ_OK, { "1 a.", "2 b.", "3 c.", "4 d." }, NULL, NULL, 2, MX_OK, "a,b" },
};

TEST(mx_table)
{
	for (size_t i = 0; i < sizeof(mx_cases) / sizeof(mx_cases[0]); i++) {
		const struct mx_case *c = &mx_cases[i];
		size_t n = 0;
		struct dnsq_answer a;
		struct mx_options opt = { .max_hosts = c->max, .self = c->self, .random = c->rnd };
		struct mx_list l;
		const char *status, *err;
		char got[256];

		while (n < 6 && c->rr[n] != NULL)
			n++;
		a = ans(c->rcode, (char **)c->rr, n);
		enum mx_status st = mx_list_build("Dest.Example.", &a, &opt, &l, &status, &err);
		CHECK_INTEQ(st, c->st);
		if (st == MX_OK) {
			names_of(&l, got, sizeof(got));
			CHECK_STREQ(got, c->want);
			CHECK(l.hosts[0].implicit == (c->rcode == DNSQ_NODATA));
		} else {
			CHECK_STREQ(status, c->want);
			CHECK(err[0] != '\0');
			CHECK(l.n == 0 && l.hosts == NULL);
		}
		mx_list_free(&l);
	}
}

TEST(mx_default_random_keeps_preference_order)
{
	char *rr[] = { "20 b.", "10 a1.", "10 a2.", "30 c." };
	struct dnsq_answer a = ans(DNSQ_OK, rr, 4);
	struct mx_options opt = { 0 };
	struct mx_list l;
	const char *s, *e;
	int seen_a2_first = 0;

	for (int k = 0; k < 64; k++) {
		CHECK_INTEQ(mx_list_build("d", &a, &opt, &l, &s, &e), MX_OK);
		CHECK_INTEQ(l.n, 4);
		CHECK(l.hosts[0].pref == 10 && l.hosts[1].pref == 10);
		CHECK_STREQ(l.hosts[2].name, "b");
		seen_a2_first += strcmp(l.hosts[0].name, "a2") == 0;
		mx_list_free(&l);
	}
	CHECK(seen_a2_first > 0 && seen_a2_first < 64);	/* both orders happen */
}

TEST(mx_targets_family_and_failures)
{
	struct mx_host h1 = { "mx1", 10, false }, h2 = { "mx2", 20, false };
	char *a1[] = { "192.0.2.1", "not-an-address", "2001:db8::9" };
	char *aaaa1[] = { "2001:db8::1" };
	struct dnsq_answer A1 = ans(DNSQ_OK, a1, 3), AAAA1 = ans(DNSQ_OK, aaaa1, 1);
	struct dnsq_answer nx = ans(DNSQ_NXDOMAIN, NULL, 0), tf = ans(DNSQ_TEMPFAIL, NULL, 0);
	struct mx_options v6 = { 0 }, v4 = { .family = MX_FAMILY_ANY_V4_FIRST };
	struct mx_options only4 = { .family = MX_FAMILY_V4_ONLY }, cap1 = { .max_hosts = 1 };
	struct mx_targets t;
	const char *s, *e;

	mx_targets_init(&t, &v6);
	mx_targets_add(&t, &h1, &A1, &AAAA1, &v6);
	CHECK_INTEQ(t.n, 2);
	CHECK_STREQ(t.t[0].addr, "2001:db8::1");
	CHECK(t.t[0].family == AF_INET6 && t.t[0].host == &h1);
	CHECK_STREQ(t.t[1].addr, "192.0.2.1");	/* the v6 text in an A answer is dropped */
	mx_targets_free(&t);

	mx_targets_init(&t, &v4);
	mx_targets_add(&t, &h1, &A1, &AAAA1, &v4);
	CHECK_STREQ(t.t[0].addr, "192.0.2.1");
	CHECK_INTEQ(mx_targets_finish(&t, &s, &e), MX_OK);
	mx_targets_free(&t);

	mx_targets_init(&t, &only4);
	mx_targets_add(&t, &h1, NULL, &AAAA1, &only4);
	CHECK_INTEQ(t.n, 0);
	CHECK_INTEQ(mx_targets_finish(&t, &s, &e), MX_PERMFAIL);
	CHECK_STREQ(s, "5.4.4");
	mx_targets_free(&t);

	/* an IP-literal MX looked up as a name: NXDOMAIN, nothing to try */
	mx_targets_init(&t, &v6);
	mx_targets_add(&t, &h1, &nx, &nx, &v6);
	CHECK_INTEQ(mx_targets_finish(&t, &s, &e), MX_PERMFAIL);
	mx_targets_add(&t, &h2, &tf, &nx, &v6);
	CHECK_INTEQ(mx_targets_finish(&t, &s, &e), MX_TEMPFAIL);
	CHECK_STREQ(s, "4.4.3");
	mx_targets_add(&t, &h2, &A1, NULL, &v6);
	CHECK_INTEQ(mx_targets_finish(&t, &s, &e), MX_OK);
	mx_targets_free(&t);

	mx_targets_init(&t, &cap1);
	mx_targets_add(&t, &h1, &A1, &AAAA1, &cap1);
	mx_targets_add(&t, &h2, &A1, &AAAA1, &cap1);
	CHECK_INTEQ(t.n, 1);
	mx_targets_free(&t);
}

int main(void)
{
	RUN(mx_table);
	RUN(mx_default_random_keeps_preference_order);
	RUN(mx_targets_family_and_failures);
	return test_summary();
}
