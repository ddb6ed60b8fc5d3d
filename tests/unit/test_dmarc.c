/* Unit tests for src/mailauth DMARC: record parsing (RFC 7489 §6.3,
 * §6.4), From-field author domains (RFC 5322 §3.4, §3.6.2, RFC 6854),
 * organisational domain and alignment (§3.1, §3.2), and the resumable
 * evaluator (§6.6) driven by a table resolver: discovery, p/sp/np, pct
 * sampling, several From domains (§6.6.1), DNS errors. The external
 * conformance data runs in dmarc_suite.c. */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "mailauth/dmarc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *txt;
	enum dmarc_parse want;
	enum dmarc_policy p, sp;
	unsigned pct;
	size_t nrua;
} record_cases[] = {
	{ "v=DMARC1; p=none", DMARC_REC_OK, DMARC_POLICY_NONE,
	  DMARC_POLICY_NONE, 100, 0 },
	{ "v=DMARC1;p=reject;", DMARC_REC_OK, DMARC_POLICY_REJECT,
	  DMARC_POLICY_REJECT, 100, 0 },
	{ "V = DMARC1 ;\tP = Quarantine ; SP=none; pct=20", DMARC_REC_OK,
	  DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE, 20, 0 },
	{ "v=DMARC1; p=reject; pct=0", DMARC_REC_OK, DMARC_POLICY_REJECT,
	  DMARC_POLICY_REJECT, 0, 0 },
	/* invalid optional values fall back to the defaults (§6.3) */
	{ "v=DMARC1; p=reject; pct=500; adkim=x; aspf=; fo=2; ri=-1",
	  DMARC_REC_OK, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 100, 0 },
	{ "v=DMARC1; p=reject; pct=1000", DMARC_REC_OK, DMARC_POLICY_REJECT,
	  DMARC_POLICY_REJECT, 100, 0 },
	{ "v=DMARC1; p=none; foo=bar; buzz; ; =x", DMARC_REC_OK,
	  DMARC_POLICY_NONE, DMARC_POLICY_NONE, 100, 0 },
	/* p= anywhere after v= */
	{ "v=DMARC1; rua=mailto:a@example.com; p=quarantine", DMARC_REC_OK,
	  DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, 100, 1 },
	/* the first of a repeated tag counts */
	{ "v=DMARC1; p=none; p=reject", DMARC_REC_OK, DMARC_POLICY_NONE,
	  DMARC_POLICY_NONE, 100, 0 },
	{ "v=DMARC1; p=none; rua=mailto:a@example.com, mailto:b@example.com!10m,"
	  " bogus, ftp://x.example", DMARC_REC_OK, DMARC_POLICY_NONE,
	  DMARC_POLICY_NONE, 100, 3 },
	/* §6.6.3 step 6: no valid p=, or an invalid sp= */
	{ "v=DMARC1", DMARC_REC_NO_POLICY, DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, 100, 0 },
	{ "v=DMARC1; pct=100", DMARC_REC_NO_POLICY, DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, 100, 0 },
	{ "v=DMARC1; p=n", DMARC_REC_NO_POLICY, DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, 100, 0 },
	{ "v=DMARC1; p=none; sp=bob", DMARC_REC_NO_POLICY, DMARC_POLICY_NONE,
	  DMARC_POLICY_UNSET, 100, 0 },
	{ "v=DMARC1; p=bob; rua=mailto:r@example.com", DMARC_REC_NO_POLICY,
	  DMARC_POLICY_UNSET, DMARC_POLICY_UNSET, 100, 1 },
	/* not DMARC records at all (§6.6.3 step 2) */
	{ "", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
	{ "v=DMARC2; p=none", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
	{ "v=dmarc1; p=none", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
	{ "v=DMARC1p=none", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
	{ " v=DMARC1; p=none", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
	{ "p=none; v=DMARC1", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
	{ "v=spf1 -all", DMARC_REC_NOT_DMARC, 0, 0, 100, 0 },
};

TEST(record_parse)
{
	for (size_t i = 0; i < N(record_cases); i++) {
		struct dmarc_record rec;
		const char *error;
		enum dmarc_parse got = dmarc_record_parse(record_cases[i].txt,
			strlen(record_cases[i].txt), &rec, &error);
		bool ok = got == record_cases[i].want;

		if (ok && got != DMARC_REC_NOT_DMARC)
			ok = rec.p == record_cases[i].p &&
			     rec.pct == record_cases[i].pct &&
			     rec.nrua == record_cases[i].nrua &&
			     (got != DMARC_REC_OK || rec.sp == record_cases[i].sp);
		if (!ok)
			fprintf(stderr, "record case %zu: %s -> %d (%s)\n", i,
				record_cases[i].txt, got, error ? error : "");
		CHECK(ok);
		dmarc_record_clear(&rec);
	}
}

TEST(record_tags)
{
	struct dmarc_record rec;
	const char *error;
	const char *txt = "v=DMARC1; p=reject; sp=quarantine; np=none; "
		"adkim=s; aspf=S; fo=1:d : s; ri=3600; "
		"ruf=mailto:f@example.com!2k";

	CHECK_INTEQ(dmarc_record_parse(txt, strlen(txt), &rec, &error),
		    DMARC_REC_OK);
	CHECK_INTEQ(rec.np, DMARC_POLICY_NONE);
	CHECK(rec.np_given);
	CHECK_INTEQ(rec.adkim, DMARC_ALIGN_STRICT);
	CHECK_INTEQ(rec.aspf, DMARC_ALIGN_STRICT);
	CHECK_INTEQ(rec.fo, DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S);
	CHECK_INTEQ(rec.ri, 3600);
	CHECK_INTEQ(rec.nruf, 1);
	CHECK_STREQ(rec.ruf[0], "mailto:f@example.com!2k");
	dmarc_record_clear(&rec);

	txt = "v=DMARC1; p=none; fo=1:; ri=99999999999; np=maybe";
	CHECK_INTEQ(dmarc_record_parse(txt, strlen(txt), &rec, &error),
		    DMARC_REC_OK);
	CHECK_INTEQ(rec.fo, DMARC_FO_0);
	CHECK_INTEQ(rec.ri, 86400);
	CHECK(!rec.np_given);
	CHECK_INTEQ(rec.np, DMARC_POLICY_NONE);	/* = sp = p */
	CHECK_INTEQ(rec.adkim, DMARC_ALIGN_RELAXED);
	CHECK(error != NULL);
	dmarc_record_clear(&rec);

	/* NUL bytes and non-ASCII make values invalid, not the record */
	CHECK_INTEQ(dmarc_record_parse("v=DMARC1; p=none; pct=5\0000", 25,
				       &rec, &error), DMARC_REC_OK);
	CHECK_INTEQ(rec.pct, 100);
	dmarc_record_clear(&rec);
	CHECK_STREQ(dmarc_policy_name(DMARC_POLICY_QUARANTINE), "quarantine");
}

TEST(record_limits)
{
	struct dmarc_record rec;
	const char *error;
	struct buf b = BUF_INIT;

	buf_appends(&b, "v=DMARC1; p=none; rua=");
	for (int i = 0; i < 20; i++)
		buf_printf(&b, "%smailto:r%d@example.com", i ? "," : "", i);
	CHECK_INTEQ(dmarc_record_parse(b.ptr, b.len, &rec, &error),
		    DMARC_REC_OK);
	CHECK_INTEQ(rec.nrua, DMARC_MAX_URIS);
	dmarc_record_clear(&rec);
	buf_reset(&b);
	buf_appends(&b, "v=DMARC1; p=none; x=");
	while (b.len <= DMARC_MAX_RECORD_LEN)
		buf_appendc(&b, 'x');
	CHECK_INTEQ(dmarc_record_parse(b.ptr, b.len, &rec, &error),
		    DMARC_REC_NOT_DMARC);
	dmarc_record_clear(&rec);
	buf_free(&b);
}

/* value -> the domains, "|"-separated; NULL: a parse error. */
static const struct {
	const char *value;
	const char *domains;
} from_cases[] = {
	{ "Test User <test@example.com>", "example.com" },
	{ "test@Example.COM", "example.com" },
	{ "\"Test, User\" <test@example.com>", "example.com" },
	{ "Bad User <spoof@example.org>,Test User <test@example.com>",
	  "example.org|example.com" },
	{ "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.de>", "example.de" },
	{ "=?UTF-8?B?w4TDpMOk?= <x@example.net>", "example.net" },
	{ "(comment) a@b.example (another (nested \\) ) one)", "b.example" },
	{ "John Q. Public <jqp@example.com>", "example.com" },
	{ "Friends: a@x.example, B <b@Y.example>;", "x.example|y.example" },
	{ "undisclosed-recipients:;", "" },
	{ "", "" },
	{ "<@route.example,@r2.example:user@example.com>", "example.com" },
	{ "user@example.com.", "example.com" },
	{ "\"quoted local\"@example.com", "example.com" },
	{ "a.b@c . example", "c.example" },
	{ "a@b.example,\r\n c@d.example", "b.example|d.example" },
	{ ", a@b.example,", "b.example" },
	{ "J\xc3\xb6rg <j@m\xc3\xbc" "nchen.example>", "m\xc3\xbc" "nchen.example" },
	{ "Mixed: a@x.example;, c@z.example", "x.example|z.example" },
	/* errors */
	{ "Test User", NULL },
	{ "a@[192.0.2.1]", NULL },
	{ "<a@b.example", NULL },
	{ "a@b.example <c@d.example>", NULL },
	{ "attacker@evil.example <victim@bank.example>", NULL },
	{ "(unterminated a@b.example", NULL },
	{ "\"unterminated <a@b.example>", NULL },
	{ "Group: a@b.example", NULL },
	{ "G1: G2: a@b.example;;", NULL },
	{ "<>", NULL },
	{ "a@", NULL },
	{ "@example.com", NULL },
	{ "a@b..example", NULL },
	{ "a@b.example\x01", NULL },
	{ "a@b.example)", NULL },
	{ "a b <c>", NULL },
	{ "<a@b.example>>", NULL },
};

static void join_domains(const struct dmarc_from *f, struct buf *out)
{
	for (size_t i = 0; i < f->n; i++) {
		if (i > 0)
			buf_appendc(out, '|');
		buf_appends(out, f->domain[i]);
	}
}

TEST(from_parse)
{
	for (size_t i = 0; i < N(from_cases); i++) {
		struct dmarc_from f = { 0 };
		struct buf got = BUF_INIT;
		const char *error = NULL;
		int r = dmarc_from_parse(from_cases[i].value,
					 strlen(from_cases[i].value), &f, &error);
		bool ok;

		join_domains(&f, &got);
		ok = from_cases[i].domains == NULL ?
			(r == -1 && error != NULL && f.n == 0) :
			(r == 0 && strcmp(buf_cstr(&got), from_cases[i].domains) == 0);
		if (!ok)
			fprintf(stderr, "from case %zu: [%s] -> %d %s (%s)\n", i,
				from_cases[i].value, r, buf_cstr(&got),
				error ? error : "");
		CHECK(ok);
		buf_free(&got);
	}
}

TEST(from_accumulates_and_limits)
{
	struct dmarc_from f = { 0 };
	struct buf b = BUF_INIT;
	const char *error;

	CHECK_INTEQ(dmarc_from_parse("a@one.example", 13, &f, &error), 0);
	CHECK_INTEQ(dmarc_from_parse("b@two.example", 13, &f, &error), 0);
	CHECK_INTEQ(f.n, 2);
	/* a failed field leaves what was there */
	CHECK_INTEQ(dmarc_from_parse("c@three.example, bad", 20, &f, &error), -1);
	CHECK_INTEQ(f.n, 2);
	memset(&f, 0, sizeof(f));
	for (int i = 0; i <= DMARC_FROM_MAX; i++)
		buf_printf(&b, "%su%d@d%d.example", i ? "," : "", i, i);
	CHECK_INTEQ(dmarc_from_parse(b.ptr, b.len, &f, &error), -1);
	buf_reset(&b);
	buf_appends(&b, "a@");
	for (int i = 0; i < 26; i++)
		buf_appends(&b, "abcdefghi.");
	buf_appends(&b, "example");
	CHECK_INTEQ(dmarc_from_parse(b.ptr, b.len, &f, &error), -1);
	buf_free(&b);
}

/* The organisational domain; NULL: none. */
static const struct {
	const char *in, *org;
} org_cases[] = {
	{ "example.com", "example.com" },
	{ "Mail.Example.COM", "example.com" },
	{ "a.b.example.co.uk", "example.co.uk" },
	{ "example.com.", "example.com" },
	{ "com", NULL },
	{ "co.uk", NULL },
	{ "a..example.com", NULL },
	{ ".example.com", NULL },
	{ "", NULL },
	{ "exa mple.com", NULL },
};

TEST(org_domain)
{
	char out[DMARC_DOMAIN_BUF];

	for (size_t i = 0; i < N(org_cases); i++) {
		int r = dmarc_org_domain(org_cases[i].in, out);

		if (org_cases[i].org == NULL) {
			CHECK_INTEQ(r, -1);
		} else {
			CHECK_INTEQ(r, 0);
			CHECK_STREQ(out, org_cases[i].org);
		}
	}
}

static const struct {
	const char *from, *auth;
	enum dmarc_align mode;
	bool aligned;
} align_cases[] = {
	{ "example.com", "EXAMPLE.com", DMARC_ALIGN_STRICT, true },
	{ "example.com", "mail.example.com", DMARC_ALIGN_STRICT, false },
	{ "example.com", "mail.example.com", DMARC_ALIGN_RELAXED, true },
	{ "a.example.co.uk", "b.example.co.uk", DMARC_ALIGN_RELAXED, true },
	{ "example.co.uk", "other.co.uk", DMARC_ALIGN_RELAXED, false },
	{ "co.uk", "example.co.uk", DMARC_ALIGN_RELAXED, false },
	{ "example.com", "example.com.evil.example", DMARC_ALIGN_RELAXED, false },
	{ "example.com", "", DMARC_ALIGN_RELAXED, false },
	{ "example.com", NULL, DMARC_ALIGN_RELAXED, false },
};

TEST(alignment)
{
	for (size_t i = 0; i < N(align_cases); i++) {
		bool got = dmarc_aligned(align_cases[i].from, align_cases[i].auth,
					 align_cases[i].mode);

		if (got != align_cases[i].aligned)
			fprintf(stderr, "align case %zu\n", i);
		CHECK(got == align_cases[i].aligned);
	}
}

/* ---- the evaluator over a table resolver ---- */

/* A zone entry: type 0 with data "TEMPFAIL" fails every type of name. */
struct rr {
	int type;
	const char *name;
	const char *data;
};

struct run {
	const struct rr *zone;
	unsigned asked;
	char *rr[16];
};

static struct dnsq_answer zone_answer(struct run *run, const struct dnsq *q)
{
	struct dnsq_answer a = { .rcode = DNSQ_NXDOMAIN, .rr = run->rr };

	run->asked++;
	for (const struct rr *z = run->zone; z != NULL && z->name != NULL; z++) {
		if (!str_ieq(z->name, q->name))
			continue;
		if (z->type == 0) {
			a.rcode = DNSQ_TEMPFAIL;
			a.n = 0;
			return a;
		}
		if (a.rcode == DNSQ_NXDOMAIN)
			a.rcode = DNSQ_NODATA;
		if (z->type == q->type && a.n < N(run->rr)) {
			run->rr[a.n++] = (char *)z->data;
			a.rcode = DNSQ_OK;
		}
	}
	return a;
}

static unsigned fixed_rand(void *arg)
{
	return *(unsigned *)arg;
}

struct eval_case {
	const char *name;
	const char *from;		/* raw From value */
	enum spf_result spf;
	const char *spf_domain;
	const char *dkim_pass;		/* a d= that passed, or NULL */
	const char *dkim_fail;		/* a d= that failed, or NULL */
	unsigned rand;			/* what the pct sampler returns */
	const struct rr *zone;
	enum dmarc_result want;
	const char *header_from;
	enum dmarc_policy policy, disposition;
	bool org_record;
	unsigned questions;
};

static const struct rr zone_main[] = {
	{ DNSQ_TXT, "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine" },
	{ DNSQ_TXT, "_dmarc.example.com", "some other TXT" },
	{ DNSQ_TXT, "_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s" },
	{ DNSQ_TXT, "_dmarc.nop.example", "v=DMARC1; sp=reject" },
	{ DNSQ_TXT, "_dmarc.nop.example.com", "v=DMARC1; p=bogus" },
	{ DNSQ_TXT, "_dmarc.rua.example", "v=DMARC1; p=bogus; rua=mailto:r@rua.example" },
	{ DNSQ_TXT, "_dmarc.two.example", "v=DMARC1; p=none" },
	{ DNSQ_TXT, "_dmarc.two.example", "v=DMARC1; p=reject" },
	{ DNSQ_TXT, "_dmarc.pct.example", "v=DMARC1; p=reject; pct=50" },
	{ DNSQ_TXT, "_dmarc.pctq.example", "v=DMARC1; p=quarantine; pct=0" },
	{ DNSQ_TXT, "_dmarc.np.example", "v=DMARC1; p=none; sp=quarantine; np=reject" },
	{ DNSQ_A, "www.np.example", "192.0.2.1" },
	{ DNSQ_MX, "mx-only.np.example", "10 mx.np.example" },
	{ 0, "tmp.np.example", "TEMPFAIL" },
	{ 0, "_dmarc.tmp.example", "TEMPFAIL" },
	{ 0, "_dmarc.example.net", "TEMPFAIL" },
	{ DNSQ_TXT, "_dmarc.none.example", "v=DMARC1; p=none" },
	{ DNSQ_TXT, "_dmarc.quar.example", "v=DMARC1; p=quarantine" },
	{ DNSQ_TXT, "_dmarc.sub.example.com", "v=DMARC1; p=none" },
	{ 0, NULL, NULL },
};

static const struct eval_case eval_cases[] = {
	{ "dkim relaxed pass", "A <a@example.com>", SPF_NONE, NULL,
	  "mail.example.com", NULL, 0, zone_main, DMARC_PASS, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_NONE, false, 1 },
	{ "spf relaxed pass", "a@example.com", SPF_PASS, "bounce.example.com",
	  NULL, "example.com", 0, zone_main, DMARC_PASS, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_NONE, false, 1 },
	{ "spf softfail is no pass", "a@example.com", SPF_SOFTFAIL,
	  "example.com", NULL, NULL, 0, zone_main, DMARC_FAIL, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, 1 },
	{ "unaligned pass", "a@example.com", SPF_PASS, "example.org",
	  "example.org", NULL, 0, zone_main, DMARC_FAIL, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, 1 },
	{ "strict dkim", "a@strict.example", SPF_NONE, NULL,
	  "mail.strict.example", NULL, 0, zone_main, DMARC_FAIL,
	  "strict.example", DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, 1 },
	{ "strict spf", "a@strict.example", SPF_PASS, "STRICT.example.", NULL,
	  NULL, 0, zone_main, DMARC_PASS, "strict.example",
	  DMARC_POLICY_REJECT, DMARC_POLICY_NONE, false, 1 },
	{ "subdomain uses sp=", "a@x.y.example.com", SPF_NONE, NULL, NULL,
	  "x.y.example.com", 0, zone_main, DMARC_FAIL, "x.y.example.com",
	  DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, true, 2 },
	{ "subdomain own record", "a@sub.example.com", SPF_NONE, NULL, NULL,
	  NULL, 0, zone_main, DMARC_FAIL, "sub.example.com",
	  DMARC_POLICY_NONE, DMARC_POLICY_NONE, false, 1 },
	{ "no record", "a@example.org", SPF_PASS, "example.org", NULL, NULL,
	  0, zone_main, DMARC_NONE, "example.org", DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, false, 1 },
	{ "no p, no rua: not applied, no org fallback", "a@nop.example.com",
	  SPF_NONE, NULL, NULL, NULL, 0, zone_main, DMARC_NONE,
	  "nop.example.com", DMARC_POLICY_UNSET, DMARC_POLICY_UNSET, false, 1 },
	{ "record without p", "a@nop.example", SPF_NONE, NULL, NULL, NULL, 0,
	  zone_main, DMARC_NONE, "nop.example", DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, false, 1 },
	{ "invalid p with rua acts as p=none", "a@rua.example", SPF_NONE, NULL,
	  NULL, NULL, 0, zone_main, DMARC_FAIL, "rua.example",
	  DMARC_POLICY_NONE, DMARC_POLICY_NONE, false, 1 },
	{ "two records: not applied", "a@two.example", SPF_NONE, NULL, NULL,
	  NULL, 0, zone_main, DMARC_NONE, "two.example", DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, false, 1 },
	{ "pct sampled in", "a@pct.example", SPF_NONE, NULL, NULL, NULL, 49,
	  zone_main, DMARC_FAIL, "pct.example", DMARC_POLICY_REJECT,
	  DMARC_POLICY_REJECT, false, 1 },
	{ "pct sampled out", "a@pct.example", SPF_NONE, NULL, NULL, NULL, 50,
	  zone_main, DMARC_FAIL, "pct.example", DMARC_POLICY_REJECT,
	  DMARC_POLICY_QUARANTINE, false, 1 },
	{ "pct=0 quarantine", "a@pctq.example", SPF_NONE, NULL, NULL, NULL, 0,
	  zone_main, DMARC_FAIL, "pctq.example", DMARC_POLICY_QUARANTINE,
	  DMARC_POLICY_NONE, false, 1 },
	{ "np: non-existent", "a@gone.np.example", SPF_NONE, NULL, NULL, NULL,
	  0, zone_main, DMARC_FAIL, "gone.np.example", DMARC_POLICY_REJECT,
	  DMARC_POLICY_REJECT, true, 3 },
	{ "np: exists (A)", "a@www.np.example", SPF_NONE, NULL, NULL, NULL, 0,
	  zone_main, DMARC_FAIL, "www.np.example", DMARC_POLICY_QUARANTINE,
	  DMARC_POLICY_QUARANTINE, true, 3 },
	{ "np: exists (MX only)", "a@mx-only.np.example", SPF_NONE, NULL,
	  NULL, NULL, 0, zone_main, DMARC_FAIL, "mx-only.np.example",
	  DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, true, 5 },
	{ "np: DNS error counts as existing", "a@tmp.np.example", SPF_NONE,
	  NULL, NULL, NULL, 0, zone_main, DMARC_FAIL, "tmp.np.example",
	  DMARC_POLICY_QUARANTINE, DMARC_POLICY_QUARANTINE, true, 3 },
	{ "np: pass needs no lookup", "a@gone.np.example", SPF_PASS,
	  "np.example", NULL, NULL, 0, zone_main, DMARC_PASS,
	  "gone.np.example", DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE, true, 2 },
	{ "temperror", "a@tmp.example", SPF_PASS, "tmp.example", NULL, NULL, 0,
	  zone_main, DMARC_TEMPERROR, "tmp.example", DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, false, 1 },
	{ "temperror at the org domain", "a@sub.example.net", SPF_NONE, NULL,
	  NULL, NULL, 0, zone_main, DMARC_TEMPERROR, "sub.example.net",
	  DMARC_POLICY_UNSET, DMARC_POLICY_UNSET, false, 2 },
	/* §6.6.1: several author domains */
	{ "multi: one fails", "a@none.example, b@example.com", SPF_NONE, NULL,
	  "none.example", NULL, 0, zone_main, DMARC_FAIL, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, 2 },
	{ "multi: strictest failure", "a@quar.example, b@example.com, "
	  "c@none.example", SPF_NONE, NULL, NULL, NULL, 0, zone_main,
	  DMARC_FAIL, "example.com", DMARC_POLICY_REJECT, DMARC_POLICY_REJECT,
	  false, 3 },
	{ "multi: all pass", "a@example.com, b@mail.example.com", SPF_NONE,
	  NULL, "example.com", NULL, 0, zone_main, DMARC_PASS, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_NONE, false, 2 },
	{ "multi: pass and none", "a@example.org, b@example.com", SPF_NONE,
	  NULL, "example.com", NULL, 0, zone_main, DMARC_PASS, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_NONE, false, 2 },
	{ "multi: same domain once", "a@example.com, b@EXAMPLE.com", SPF_NONE,
	  NULL, NULL, NULL, 0, zone_main, DMARC_FAIL, "example.com",
	  DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, false, 1 },
	{ "multi: shared org record asked once", "a@x.example.com, "
	  "b@y.example.com", SPF_NONE, NULL, NULL, NULL, 0, zone_main,
	  DMARC_FAIL, "x.example.com", DMARC_POLICY_QUARANTINE,
	  DMARC_POLICY_QUARANTINE, true, 3 },
	{ "no From domain", "undisclosed-recipients:;", SPF_PASS, "example.com",
	  NULL, NULL, 0, zone_main, DMARC_PERMERROR, NULL, DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, false, 0 },
	{ "public suffix From", "a@co.uk", SPF_NONE, NULL, NULL, NULL, 0,
	  zone_main, DMARC_NONE, "co.uk", DMARC_POLICY_UNSET,
	  DMARC_POLICY_UNSET, false, 1 },
};

/* Drive one evaluation to its end over the zone. */
static const struct dmarc_verdict *drive(struct dmarc_eval *e, struct run *run)
{
	struct dnsq q;
	struct dnsq_answer a;
	int guard = 0;

	while (dmarc_eval_step(e, &q) == DMARC_NEED_DNS && guard++ < 100) {
		a = zone_answer(run, &q);
		dmarc_eval_answer(e, &a);
	}
	return dmarc_eval_verdict(e);
}

static bool eval_one(const struct eval_case *c)
{
	struct dmarc_from from = { 0 };
	struct dmarc_dkim dkim[2];
	struct dmarc_input in = { .from = &from, .spf = c->spf,
		.spf_domain = c->spf_domain, .dkim = dkim,
		.rand100 = fixed_rand, .rand_arg = (void *)&c->rand };
	struct run run = { .zone = c->zone };
	const struct dmarc_verdict *v;
	struct dmarc_eval *e;
	const char *error;
	bool ok;

	if (c->dkim_pass != NULL)
		dkim[in.ndkim++] = (struct dmarc_dkim){ c->dkim_pass, true };
	if (c->dkim_fail != NULL)
		dkim[in.ndkim++] = (struct dmarc_dkim){ c->dkim_fail, false };
	if (dmarc_from_parse(c->from, strlen(c->from), &from, &error) < 0)
		return false;
	e = dmarc_eval_new(&in);
	v = drive(e, &run);
	ok = v != NULL && v->result == c->want &&
	     (c->header_from == NULL ? v->from_domain == NULL :
	      (v->from_domain != NULL && strcmp(v->from_domain, c->header_from) == 0)) &&
	     (c->want != DMARC_PASS && c->want != DMARC_FAIL ? true :
	      v->policy == c->policy && v->disposition == c->disposition &&
	      v->org_record == c->org_record) &&
	     run.asked == c->questions && dmarc_eval_queries(e) == run.asked;
	if (!ok && v != NULL)
		fprintf(stderr, "eval \"%s\": %s from=%s policy=%s dis=%s org=%d "
			"asked=%u (%s)\n", c->name, dmarc_result_name(v->result),
			v->from_domain ? v->from_domain : "-",
			dmarc_policy_name(v->policy),
			dmarc_policy_name(v->disposition), v->org_record, run.asked,
			v->reason ? v->reason : "");
	dmarc_eval_free(e);
	return ok;
}

TEST(eval_table)
{
	for (size_t i = 0; i < N(eval_cases); i++)
		CHECK(eval_one(&eval_cases[i]));
}

TEST(eval_details)
{
	struct dmarc_from from = { 0 };
	struct dmarc_dkim dkim = { "mail.example.com", true };
	struct dmarc_input in = { .from = &from, .spf = SPF_PASS,
		.spf_domain = "example.com", .dkim = &dkim, .ndkim = 1 };
	struct run run = { .zone = zone_main };
	const struct dmarc_verdict *v;
	struct dmarc_eval *e;
	const char *error;

	CHECK_INTEQ(dmarc_from_parse("a@example.com", 13, &from, &error), 0);
	e = dmarc_eval_new(&in);
	CHECK(dmarc_eval_verdict(e) == NULL);
	v = drive(e, &run);
	CHECK(v != NULL && v->spf_aligned && v->dkim_aligned);
	CHECK(v != NULL && v->p == DMARC_POLICY_REJECT &&
	      v->sp == DMARC_POLICY_QUARANTINE && v->pct == 100);
	CHECK_STREQ(v != NULL ? v->policy_domain : NULL, "example.com");
	CHECK(v != NULL && strstr(v->reason, "aligned") != NULL);
	dmarc_eval_free(e);

	/* more distinct author domains than evaluated */
	memset(&from, 0, sizeof(from));
	for (int i = 0; i <= DMARC_MAX_AUTHOR_DOMAINS; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "a@d%d.example", i);
		CHECK_INTEQ(dmarc_from_parse(addr, strlen(addr), &from, &error), 0);
	}
	e = dmarc_eval_new(&in);
	v = drive(e, &run);
	CHECK(v != NULL && v->result == DMARC_PERMERROR);
	dmarc_eval_free(e);
	/* an answer with nothing asked is ignored */
	e = dmarc_eval_new(&in);
	dmarc_eval_answer(e, &(struct dnsq_answer){ .rcode = DNSQ_NXDOMAIN });
	CHECK_INTEQ(dmarc_eval_queries(e), 0);
	dmarc_eval_free(e);
	CHECK_STREQ(dmarc_result_name(DMARC_TEMPERROR), "temperror");
}

int main(void)
{
	RUN(record_parse);
	RUN(record_tags);
	RUN(record_limits);
	RUN(from_parse);
	RUN(from_accumulates_and_limits);
	RUN(org_domain);
	RUN(alignment);
	RUN(eval_table);
	RUN(eval_details);
	return test_summary();
}
