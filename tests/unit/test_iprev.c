/* Unit tests for src/mailauth/iprev: forward-confirmed reverse DNS
 * (RFC 8601 §3) and its results (§2.7.3), driven by a table resolver. */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "mailauth/iprev.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* type 0 with data "TEMPFAIL": every lookup of name fails temporarily. */
struct rr {
	int type;
	const char *name;
	const char *data;
};

static const struct rr zone[] = {
	/* 192.0.2.1: confirmed */
	{ DNSQ_PTR, "1.2.0.192.in-addr.arpa", "mail.example.com." },
	{ DNSQ_A, "mail.example.com", "192.0.2.1" },
	{ DNSQ_AAAA, "mail.example.com", "2001:db8::1" },
	/* 192.0.2.2: PTR to a name with other addresses */
	{ DNSQ_PTR, "2.2.0.192.in-addr.arpa", "other.example.com" },
	{ DNSQ_A, "other.example.com", "192.0.2.99" },
	/* 192.0.2.3: the second name confirms */
	{ DNSQ_PTR, "3.2.0.192.in-addr.arpa", "nx.example.com" },
	{ DNSQ_PTR, "3.2.0.192.in-addr.arpa", "Good.Example.COM." },
	{ DNSQ_A, "good.example.com", "192.0.2.3" },
	/* 192.0.2.4: PTR lookup fails */
	{ 0, "4.2.0.192.in-addr.arpa", "TEMPFAIL" },
	/* 192.0.2.5: forward lookup fails, nothing else matches */
	{ DNSQ_PTR, "5.2.0.192.in-addr.arpa", "slow.example.com" },
	{ DNSQ_PTR, "5.2.0.192.in-addr.arpa", "other.example.com" },
	{ 0, "slow.example.com", "TEMPFAIL" },
	/* 192.0.2.6: the name exists, no PTR records (NODATA) */
	{ DNSQ_TXT, "6.2.0.192.in-addr.arpa", "x" },
	/* 192.0.2.7: unusable PTR names only */
	{ DNSQ_PTR, "7.2.0.192.in-addr.arpa", "bad name.example" },
	{ DNSQ_PTR, "7.2.0.192.in-addr.arpa", "." },
	/* 192.0.2.8: forward lookup fails but a later name confirms */
	{ DNSQ_PTR, "8.2.0.192.in-addr.arpa", "slow.example.com" },
	{ DNSQ_PTR, "8.2.0.192.in-addr.arpa", "eight.example.com" },
	{ DNSQ_A, "eight.example.com", "192.0.2.77" },
	{ DNSQ_A, "eight.example.com", "192.0.2.8" },
	/* 2001:db8::1 */
	{ DNSQ_PTR, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	  "mail.example.com" },
	/* 192.0.2.9: a name with IPv6 only: an IPv4 client cannot match */
	{ DNSQ_PTR, "9.2.0.192.in-addr.arpa", "v6.example.com" },
	{ DNSQ_AAAA, "v6.example.com", "::ffff:192.0.2.9" },
	/* 192.0.2.10: twelve names, the match is the 11th: ignored */
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n1.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n2.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n3.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n4.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n5.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n6.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n7.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n8.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n9.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n10.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n11.example" },
	{ DNSQ_PTR, "10.2.0.192.in-addr.arpa", "n12.example" },
	{ DNSQ_A, "n11.example", "192.0.2.10" },
	{ 0, NULL, NULL },
};

struct run {
	unsigned asked;
	char *rr[16];
};

static struct dnsq_answer answer(struct run *run, const struct dnsq *q)
{
	struct dnsq_answer a = { .rcode = DNSQ_NXDOMAIN, .rr = run->rr };

	run->asked++;
	for (const struct rr *z = zone; z->name != NULL; z++) {
		if (!str_ieq(z->name, q->name))
			continue;
		if (z->type == 0)
			return (struct dnsq_answer){ .rcode = DNSQ_TEMPFAIL };
		if (a.rcode == DNSQ_NXDOMAIN)
			a.rcode = DNSQ_NODATA;
		if (z->type == q->type && a.n < N(run->rr)) {
			run->rr[a.n++] = (char *)z->data;
			a.rcode = DNSQ_OK;
		}
	}
	return a;
}

static const struct {
	const char *ip;
	enum iprev_result want;
	const char *host;	/* confirmed name on pass */
	unsigned asked;
} cases[] = {
	{ "192.0.2.1", IPREV_PASS, "mail.example.com", 2 },
	{ "::ffff:192.0.2.1", IPREV_PASS, "mail.example.com", 2 },
	{ "2001:db8::1", IPREV_PASS, "mail.example.com", 2 },
	{ "2001:DB8:0::1", IPREV_PASS, "mail.example.com", 2 },
	{ "192.0.2.2", IPREV_FAIL, NULL, 2 },
	{ "192.0.2.3", IPREV_PASS, "good.example.com", 3 },
	{ "192.0.2.4", IPREV_TEMPERROR, NULL, 1 },
	{ "192.0.2.5", IPREV_TEMPERROR, NULL, 3 },
	{ "192.0.2.6", IPREV_PERMERROR, NULL, 1 },
	{ "192.0.2.7", IPREV_PERMERROR, NULL, 1 },
	{ "192.0.2.8", IPREV_PASS, "eight.example.com", 3 },
	{ "192.0.2.9", IPREV_FAIL, NULL, 2 },
	{ "192.0.2.10", IPREV_FAIL, NULL, 1 + IPREV_MAX_NAMES },
	{ "198.51.100.1", IPREV_PERMERROR, NULL, 1 },
	{ "not-an-ip", IPREV_PERMERROR, NULL, 0 },
	{ "192.0.2.256", IPREV_PERMERROR, NULL, 0 },
	{ "", IPREV_PERMERROR, NULL, 0 },
};

TEST(iprev_table)
{
	for (size_t i = 0; i < N(cases); i++) {
		struct iprev *v = iprev_new(cases[i].ip);
		struct run run = { 0 };
		struct dnsq q;
		struct dnsq_answer a;
		enum iprev_result r;
		const char *host;
		bool ok;

		while ((r = iprev_step(v, &q)) == IPREV_NEED_DNS &&
		       run.asked < 50) {
			a = answer(&run, &q);
			iprev_answer(v, &a);
		}
		host = iprev_host(v);
		ok = r == cases[i].want && run.asked == cases[i].asked &&
		     (cases[i].host == NULL ? host == NULL :
		      (host != NULL && strcmp(host, cases[i].host) == 0));
		if (!ok)
			fprintf(stderr, "iprev %s: %s asked=%u host=%s (%s)\n",
				cases[i].ip, iprev_result_name(r), run.asked,
				host ? host : "-", iprev_reason(v));
		CHECK(ok);
		CHECK(strlen(iprev_reason(v)) > 0);
		iprev_free(v);
	}
}

TEST(iprev_questions)
{
	struct iprev *v = iprev_new("2001:db8::abcd");
	struct dnsq q, q2;
	struct dnsq_answer nx = { .rcode = DNSQ_NXDOMAIN };

	CHECK_INTEQ(iprev_step(v, &q), IPREV_NEED_DNS);
	CHECK_INTEQ(q.type, DNSQ_PTR);
	CHECK_STREQ(q.name, "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	/* asking again repeats the outstanding question */
	CHECK_INTEQ(iprev_step(v, &q2), IPREV_NEED_DNS);
	CHECK_STREQ(q2.name, q.name);
	CHECK_STREQ(iprev_ip(v), "2001:db8::abcd");
	iprev_answer(v, &nx);
	CHECK_INTEQ(iprev_step(v, &q), IPREV_PERMERROR);
	/* late or extra answers are ignored */
	iprev_answer(v, &nx);
	CHECK_INTEQ(iprev_step(v, &q), IPREV_PERMERROR);
	iprev_free(v);

	v = iprev_new("::ffff:10.1.2.3");
	CHECK_INTEQ(iprev_step(v, &q), IPREV_NEED_DNS);
	CHECK_STREQ(q.name, "3.2.1.10.in-addr.arpa");
	CHECK_STREQ(iprev_ip(v), "10.1.2.3");
	iprev_free(v);
	CHECK_STREQ(iprev_result_name(IPREV_TEMPERROR), "temperror");
}

int main(void)
{
	RUN(iprev_table);
	RUN(iprev_questions);
	return test_summary();
}
