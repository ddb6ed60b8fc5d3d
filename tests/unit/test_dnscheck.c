/* Unit tests for src/cli/dnscheck*: the judging half of `dns check`.
 * Answers are built from tables; each case asserts the status and the
 * words of the detail and of the fix. */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "cli/dnscheck.h"
#include "mailauth/dkim.h"
#include "mailauth/spf.h"

static const char *const ours[] = { "127.0.0.2" };

static struct dnsrec_domain want(void)
{
	struct dnsrec_domain d = {
		.domain = "example.org", .hostname = "mx.example.org",
		.addrs = ours, .naddrs = 1,
		.dmarc_policy = DNSREC_DMARC_QUARANTINE,
		.dmarc_rua = "postmaster@example.org",
		.mta_sts = DNSREC_STS_TESTING,
		.tls_rpt_rua = "postmaster@example.org",
	};
	return d;
}

/* An answer: rcode, then the records, NULL-terminated. */
static struct dnsq_answer ans(enum dnsq_rcode rc, ...)
{
	struct dnsq_answer a = { .rcode = rc };
	const char *s;
	va_list ap;

	a.rr = calloc(16, sizeof(*a.rr));
	va_start(ap, rc);
	while ((s = va_arg(ap, const char *)) != NULL && a.n < 16)
		a.rr[a.n++] = strdup(s);
	va_end(ap);
	return a;
}

static void ans_free(struct dnsq_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rr[i]);
	free(a->rr);
	memset(a, 0, sizeof(*a));
}

/* The last item has status st and its detail and fix hold the words
 * (a word starting with '!' must not be in the detail). */
static bool last_is(const struct dnscheck_report *r, enum dnscheck_status st,
		    const char *check, const char *detail, const char *fix)
{
	const struct dnscheck_item *it;

	if (r->n == 0)
		return false;
	it = &r->v[r->n - 1];
	if (it->status != st || strcmp(it->check, check) != 0 ||
	    (detail && strstr(it->detail, detail) == NULL) ||
	    (fix && (it->fix == NULL || strstr(it->fix, fix) == NULL)) ||
	    (st == DNSCHECK_PASS && it->fix != NULL)) {
		fprintf(stderr, "  got: %s %s %s | fix: %s\n",
			dnscheck_status_name(it->status), it->check, it->detail,
			it->fix ? it->fix : "(none)");
		return false;
	}
	return true;
}

TEST(report_formats)
{
	struct dnscheck_report r = { 0 };
	struct buf t = BUF_INIT, j = BUF_INIT;

	dnscheck_add(&r, DNSCHECK_PASS, "mx", "example.org", "ignored", "fine %d", 1);
	CHECK(!dnscheck_report_failed(&r));
	dnscheck_add(&r, DNSCHECK_FAIL, "spf", NULL, "do this:\nrec \"x\"",
		     "bad \x1b[31m \"q\" \xc2\xa7 \xff\xc2");
	CHECK(dnscheck_report_failed(&r));
	dnscheck_report_text(&r, &t);
	CHECK_STREQ(buf_cstr(&t),
		    "PASS  mx              example.org: fine 1\n"
		    "FAIL  spf             bad ?[31m \"q\" \xc2\xa7 ??\n"
		    "      fix: do this:\n"
		    "           rec \"x\"\n");
	dnscheck_report_json(&r, &j);
	CHECK_STREQ(buf_cstr(&j),
		    "[\n {\"check\": \"mx\", \"domain\": \"example.org\", "
		    "\"status\": \"pass\", \"detail\": \"fine 1\", \"fix\": null},\n"
		    " {\"check\": \"spf\", \"domain\": null, \"status\": \"fail\", "
		    "\"detail\": \"bad ?[31m \\\"q\\\" \xc2\xa7 ??\", \"fix\": "
		    "\"do this:\\nrec \\\"x\\\"\"}\n]\n");
	dnscheck_report_free(&r);
	buf_free(&t);
	buf_free(&j);
}

TEST(addresses)
{
	struct dnscheck_report r = { 0 };

	dnscheck_addresses(&r, NULL, 0, "found on the network interfaces");
	CHECK(last_is(&r, DNSCHECK_FAIL, "addresses", "no public address",
		      "public_addresses ="));
	dnscheck_addresses(&r, ours, 1, "configured");
	CHECK(last_is(&r, DNSCHECK_PASS, "addresses", "127.0.0.2 (configured)", NULL));
	dnscheck_report_free(&r);
}

TEST(mx_parse)
{
	char host[64];
	unsigned pref;

	CHECK_INTEQ(dnscheck_mx_parse("10 mx.example.org.", &pref, host, sizeof(host)), 0);
	CHECK_INTEQ(pref, 10);
	CHECK_STREQ(host, "mx.example.org");
	CHECK_INTEQ(dnscheck_mx_parse("0 .", &pref, host, sizeof(host)), 0);
	CHECK_STREQ(host, ".");
	CHECK_INTEQ(dnscheck_mx_parse("mx.example.org", &pref, host, sizeof(host)), -1);
	CHECK_INTEQ(dnscheck_mx_parse("10", &pref, host, sizeof(host)), -1);
	CHECK_INTEQ(dnscheck_mx_parse("70000 a.b", &pref, host, sizeof(host)), -1);
	CHECK_INTEQ(dnscheck_mx_parse("10 ", &pref, host, sizeof(host)), -1);
}

/* One MX target with the given answers; the judgement of it. */
static void mx_case(struct dnscheck_report *r, const struct dnsrec_domain *w,
		    struct dnsq_answer mx, const char *host,
		    struct dnsq_answer cname, struct dnsq_answer a)
{
	struct dnscheck_mx_target t = { .host = host, .pref = 10, .cname = cname,
					.a = a, .aaaa = { .rcode = DNSQ_NODATA } };
	struct dnscheck_mx_facts f = { .want = w, .mx = mx, .targets = &t,
				       .ntargets = host != NULL };

	dnscheck_mx(r, &f);
	ans_free(&f.mx);
	ans_free(&t.cname);
	ans_free(&t.a);
}

TEST(mx_cases)
{
	struct dnsrec_domain w = want();
	struct dnscheck_report r = { 0 };
	const char *fix = "example.org. 3600 IN MX 10 mx.example.org.";

	mx_case(&r, &w, ans(DNSQ_OK, "10 mx.example.org", NULL), "mx.example.org",
		ans(DNSQ_NODATA, NULL), ans(DNSQ_OK, "127.0.0.2", NULL));
	CHECK(last_is(&r, DNSCHECK_PASS, "mx", "mx.example.org -> 127.0.0.2", NULL));
	mx_case(&r, &w, ans(DNSQ_NXDOMAIN, NULL), NULL, ans(DNSQ_NODATA, NULL),
		ans(DNSQ_NODATA, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "mx", "no MX record", fix));
	CHECK(strstr(r.v[r.n - 1].fix, "mx.example.org. 3600 IN A 127.0.0.2") != NULL);
	mx_case(&r, &w, ans(DNSQ_OK, "0 .", NULL), ".", ans(DNSQ_NODATA, NULL),
		ans(DNSQ_NODATA, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "mx", "null MX", fix));
	mx_case(&r, &w, ans(DNSQ_OK, "10 127.0.0.2.", NULL), "127.0.0.2",
		ans(DNSQ_NXDOMAIN, NULL), ans(DNSQ_NXDOMAIN, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "mx", "is an IP address", "RFC 5321"));
	/* CNAME rdata comes as a wire-format name */
	mx_case(&r, &w, ans(DNSQ_OK, "10 mail.example.org", NULL), "mail.example.org",
		ans(DNSQ_OK, "\002mx\007example\003org", NULL),
		ans(DNSQ_OK, "127.0.0.2", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "mx", "is a CNAME (an alias of "
		      "mx.example.org)", "RFC 2181"));
	mx_case(&r, &w, ans(DNSQ_OK, "10 mx.elsewhere.test", NULL), "mx.elsewhere.test",
		ans(DNSQ_NODATA, NULL), ans(DNSQ_OK, "192.0.2.9", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "mx", "no MX host is this server", fix));
	w.naddrs = 0;
	mx_case(&r, &w, ans(DNSQ_OK, "10 mx.example.org", NULL), "mx.example.org",
		ans(DNSQ_NODATA, NULL), ans(DNSQ_OK, "127.0.0.2", NULL));
	CHECK(last_is(&r, DNSCHECK_WARN, "mx", "addresses are unknown", NULL));
	dnscheck_report_free(&r);
}

TEST(fcrdns_cases)
{
	struct dnscheck_report r = { 0 };
	struct dnsq_answer ptr, fwd;
	const char *req = "2.0.0.127.in-addr.arpa. IN PTR mx.example.org.";

	ptr = ans(DNSQ_OK, "MX.example.org.", NULL);
	fwd = ans(DNSQ_OK, "127.0.0.9", "127.0.0.2", NULL);
	dnscheck_fcrdns(&r, "127.0.0.2", "mx.example.org", &ptr, &fwd);
	CHECK(last_is(&r, DNSCHECK_PASS, "fcrdns:127.0.0.2", "-> mx.example.org ->", NULL));
	ans_free(&ptr);
	ptr = ans(DNSQ_NXDOMAIN, NULL);
	dnscheck_fcrdns(&r, "127.0.0.2", "mx.example.org", &ptr, &fwd);
	CHECK(last_is(&r, DNSCHECK_FAIL, "fcrdns:127.0.0.2", "no PTR record", req));
	ans_free(&ptr);
	ptr = ans(DNSQ_OK, "host-2.provider.test", NULL);
	dnscheck_fcrdns(&r, "127.0.0.2", "mx.example.org", &ptr, &fwd);
	CHECK(last_is(&r, DNSCHECK_FAIL, "fcrdns:127.0.0.2", "is host-2.provider.test, "
		      "not mx.example.org", req));
	ans_free(&ptr);
	ans_free(&fwd);
	ptr = ans(DNSQ_OK, "mx.example.org", NULL);
	fwd = ans(DNSQ_OK, "127.0.0.3", NULL);
	dnscheck_fcrdns(&r, "127.0.0.2", "mx.example.org", &ptr, &fwd);
	CHECK(last_is(&r, DNSCHECK_FAIL, "fcrdns:127.0.0.2", "does not resolve back",
		      "mx.example.org. 3600 IN A 127.0.0.2"));
	ans_free(&ptr);
	ans_free(&fwd);
	/* IPv6: the same address in another text form still matches */
	ptr = ans(DNSQ_OK, "mx.example.org", NULL);
	fwd = ans(DNSQ_OK, "2001:db8:0:0::5", NULL);
	dnscheck_fcrdns(&r, "2001:db8::5", "mx.example.org", &ptr, &fwd);
	CHECK(last_is(&r, DNSCHECK_PASS, "fcrdns:2001:db8::5", NULL, NULL));
	ans_free(&ptr);
	ans_free(&fwd);
	dnscheck_report_free(&r);
}

TEST(spf_records)
{
	struct dnsrec_domain w = want();
	struct dnscheck_report r = { 0 };
	struct dnsq_answer a;

	a = ans(DNSQ_OK, "google-site-verification=x", "V=SPF1 mx -all", NULL);
	CHECK_INTEQ(dnscheck_spf_records(&r, &w, &a), 0);
	CHECK_INTEQ(r.n, 0);
	ans_free(&a);
	a = ans(DNSQ_OK, "v=spf1 mx -all", "v=spf1 a -all", NULL);
	CHECK_INTEQ(dnscheck_spf_records(&r, &w, &a), -1);
	CHECK(last_is(&r, DNSCHECK_FAIL, "spf", "2 SPF records", "merge them"));
	CHECK(strstr(r.v[r.n - 1].fix, "example.org. 3600 IN TXT \"v=spf1 mx -all\""));
	ans_free(&a);
	a = ans(DNSQ_OK, "v=spf10 mx", "hello", NULL);
	CHECK_INTEQ(dnscheck_spf_records(&r, &w, &a), -1);
	CHECK(last_is(&r, DNSCHECK_FAIL, "spf", "no SPF record", "v=spf1 mx -all"));
	ans_free(&a);
	a = ans(DNSQ_TEMPFAIL, NULL);
	CHECK_INTEQ(dnscheck_spf_records(&r, &w, &a), -1);
	CHECK(last_is(&r, DNSCHECK_FAIL, "spf", "DNS error", NULL));
	ans_free(&a);
	dnscheck_report_free(&r);
}

/* Run the real evaluator over a table of TXT/A/MX answers. */
static enum spf_result run_spf(const char *ip, const char *const *names,
			       const char *const *records, size_t n,
			       struct dnscheck_report *r)
{
	struct dnsrec_domain w = want();
	struct spf_eval *e = spf_eval_new(ip, "postmaster@example.org",
					  "mx.example.org", "mx.example.org");
	enum spf_result res;
	struct dnsq q;

	while ((res = spf_eval_step(e, &q)) == SPF_NEED_DNS) {
		struct dnsq_answer a = ans(DNSQ_NXDOMAIN, NULL);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(q.name, names[i]) == 0 &&
			    (q.type == DNSQ_TXT) == (strncmp(records[i], "v=", 2) == 0)) {
				a.rcode = DNSQ_OK;
				a.rr[a.n++] = strdup(records[i]);
			}
		}
		if (a.rcode == DNSQ_NXDOMAIN && q.type != DNSQ_TXT)
			a.rcode = DNSQ_NODATA;
		spf_eval_answer(e, &a);
		ans_free(&a);
	}
	dnscheck_spf_result(r, &w, ip, res, spf_eval_reason(e), spf_eval_queries(e));
	spf_eval_free(e);
	return res;
}

TEST(spf_results_from_the_evaluator)
{
	static const char *const n1[] = { "example.org", "example.org",
					  "mx.example.org" };
	static const char *const r1[] = { "v=spf1 mx -all", "10 mx.example.org",
					  "127.0.0.2" };
	static const char *const n2[] = { "example.org" };
	static const char *const r2[] = { "v=spf1 ip4:192.0.2.1 -all" };
	const char *n3[13], *r3[13];
	char names[12][32];
	struct buf big = BUF_INIT;
	struct dnscheck_report r = { 0 };

	CHECK_INTEQ(run_spf("127.0.0.2", n1, r1, 3, &r), SPF_PASS);
	CHECK(last_is(&r, DNSCHECK_PASS, "spf", "127.0.0.2: pass", NULL));
	CHECK_INTEQ(run_spf("127.0.0.2", n2, r2, 1, &r), SPF_FAIL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "spf", "not allowed to send", "v=spf1 mx -all"));
	/* eleven includes: over the RFC 7208 §4.6.4 limit before the mx */
	buf_appends(&big, "v=spf1");
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof(names[i]), "i%d.example.org", i);
		buf_printf(&big, " include:%s", names[i]);
		n3[i + 1] = names[i];
		r3[i + 1] = "v=spf1 -all";
	}
	buf_appends(&big, " mx -all");
	n3[0] = "example.org";
	r3[0] = big.ptr;
	CHECK_INTEQ(run_spf("127.0.0.2", n3, r3, 12, &r), SPF_PERMERROR);
	CHECK(last_is(&r, DNSCHECK_FAIL, "spf", "over the lookup limit of 10",
		      "write addresses as ip4:/ip6:"));
	{
		struct dnsrec_domain w = want();
		dnscheck_spf_result(&r, &w, "127.0.0.2", SPF_PERMERROR,
				    "example.org: unknown mechanism at \"foo\"", 1);
		CHECK(last_is(&r, DNSCHECK_FAIL, "spf", "permerror: example.org",
			      "the record is invalid"));
	}
	dnscheck_report_free(&r);
	buf_free(&big);
}

/* ---- DKIM ---- */

struct key {
	struct dkim_privkey *k;
	struct buf rec;
};

static struct key make_key(enum dkim_keytype t)
{
	struct key k = { dkim_privkey_generate(t, 1024, NULL), BUF_INIT };

	dkim_privkey_record(k.k, &k.rec);
	return k;
}

static void key_free(struct key *k)
{
	dkim_privkey_free(k->k);
	buf_free(&k->rec);
}

static void dkim_case(struct dnscheck_report *r, const struct dnsrec_dkim *key,
		      bool missing, struct dnsq_answer txt)
{
	struct dnsrec_domain w = want();

	dnscheck_dkim(r, &w, key, missing, &txt);
	ans_free(&txt);
}

TEST(dkim_cases)
{
	struct key rsa = make_key(DKIM_KEY_RSA), other = make_key(DKIM_KEY_RSA);
	struct key ed = make_key(DKIM_KEY_ED25519);
	struct dnsrec_dkim k = { "sel", rsa.rec.ptr, NULL };
	struct dnsrec_dkim ke = { "sel", ed.rec.ptr, NULL };
	struct dnscheck_report r = { 0 };
	const char *pub = "sel._domainkey.example.org. 3600 IN TXT";
	char *cut = strndup(rsa.rec.ptr, 200), *spaced;
	struct buf b = BUF_INIT;

	dkim_case(&r, &k, false, ans(DNSQ_OK, "v=spf1 -all", rsa.rec.ptr, NULL));
	CHECK(last_is(&r, DNSCHECK_PASS, "dkim:sel", "matches the private key (rsa 1024", NULL));
	dkim_case(&r, &ke, false, ans(DNSQ_OK, ed.rec.ptr, NULL));
	CHECK(last_is(&r, DNSCHECK_PASS, "dkim:sel", "ed25519", NULL));
	/* folding whitespace inside p= is allowed (RFC 6376 §3.6.1) */
	buf_append(&b, rsa.rec.ptr, 60);
	buf_appends(&b, " \t ");
	buf_appends(&b, rsa.rec.ptr + 60);
	spaced = strdup(b.ptr);
	dkim_case(&r, &k, false, ans(DNSQ_OK, spaced, NULL));
	CHECK(last_is(&r, DNSCHECK_PASS, "dkim:sel", NULL, NULL));
	dkim_case(&r, &k, false, ans(DNSQ_OK, cut, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "truncated", pub));
	dkim_case(&r, &k, false, ans(DNSQ_OK, other.rec.ptr, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "different key", pub));
	dkim_case(&r, &k, false, ans(DNSQ_OK, "v=DKIM1; k=rsa; p=", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "revoked", pub));
	dkim_case(&r, &k, false, ans(DNSQ_OK, "v=DKIM1; k=rsa; p=@@@@", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "base64", pub));
	dkim_case(&r, &k, false, ans(DNSQ_NXDOMAIN, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "not published", pub));
	/* the right p= in a record that cannot be used */
	buf_reset(&b);
	buf_printf(&b, "v=DKIM1; k=ed25519; %s", strstr(rsa.rec.ptr, "p="));
	dkim_case(&r, &k, false, ans(DNSQ_OK, b.ptr, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "unusable", pub));
	k.record = NULL;
	k.note = "/d/sel.key: No such file or directory";
	dkim_case(&r, &k, true, ans(DNSQ_NXDOMAIN, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dkim:sel", "missing", "dkim genkey example.org sel"));
	k.note = "/d/sel.key: Permission denied";
	dkim_case(&r, &k, false, ans(DNSQ_NXDOMAIN, NULL));
	CHECK(last_is(&r, DNSCHECK_WARN, "dkim:sel", "Permission denied", "as root"));
	dnscheck_report_free(&r);
	key_free(&rsa);
	key_free(&other);
	key_free(&ed);
	free(cut);
	free(spaced);
	buf_free(&b);
}

/* ---- DMARC, MTA-STS, TLS-RPT ---- */

static void dmarc_case(struct dnscheck_report *r, struct dnsq_answer txt)
{
	struct dnsrec_domain w = want();

	dnscheck_dmarc(r, &w, &txt);
	ans_free(&txt);
}

TEST(dmarc_cases)
{
	struct dnscheck_report r = { 0 };
	const char *fix = "_dmarc.example.org. 3600 IN TXT \"v=DMARC1; "
			  "p=quarantine; rua=mailto:postmaster@example.org\"";

	dmarc_case(&r, ans(DNSQ_OK, "v=DMARC1; p=reject; rua=mailto:d@example.org", NULL));
	CHECK(last_is(&r, DNSCHECK_PASS, "dmarc", "p=reject rua=mailto:d@example.org", NULL));
	dmarc_case(&r, ans(DNSQ_NXDOMAIN, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dmarc", "no DMARC record", fix));
	dmarc_case(&r, ans(DNSQ_OK, "some-verification=1", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dmarc", "no DMARC record", fix));
	dmarc_case(&r, ans(DNSQ_OK, "v=DMARC1; p=none", NULL));
	CHECK(last_is(&r, DNSCHECK_WARN, "dmarc", "p=none", "p=quarantine"));
	dmarc_case(&r, ans(DNSQ_OK, "v=DMARC1; p=bogus", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dmarc", "malformed", fix));
	dmarc_case(&r, ans(DNSQ_OK, "v=DMARC1 p=reject", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dmarc", "malformed", fix));
	dmarc_case(&r, ans(DNSQ_OK, "v=DMARC1; p=reject", "v=DMARC1; p=none", NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dmarc", "2 DMARC records", "single"));
	dmarc_case(&r, ans(DNSQ_TEMPFAIL, NULL));
	CHECK(last_is(&r, DNSCHECK_FAIL, "dmarc", "DNS error", NULL));
	dnscheck_report_free(&r);
}

static void sts_case(struct dnscheck_report *r, enum dnsrec_sts mode,
		     struct dnsq_answer txt, const char *policy)
{
	struct dnsrec_domain w = want();

	w.mta_sts = mode;
	dnscheck_mta_sts(r, &w, &txt, policy, policy ? strlen(policy) : 0,
			 "connection refused");
	ans_free(&txt);
}

TEST(mta_sts_cases)
{
	struct dnscheck_report r = { 0 };
	const char *good = "version: STSv1\r\nmode: testing\r\nmx: mx.example.org\r\n"
			   "max_age: 86400\r\n";

	sts_case(&r, DNSREC_STS_OFF, ans(DNSQ_NXDOMAIN, NULL), NULL);
	CHECK_INTEQ(r.n, 0);
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_NXDOMAIN, NULL), NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "mta-sts", "no MTA-STS record",
		      "_mta-sts.example.org. 3600 IN TXT \"v=STSv1; id="));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=", NULL), NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "mta-sts", "no valid id=", NULL));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=1", "v=STSv1; id=2", NULL), NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "mta-sts", "2 MTA-STS records", NULL));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=20261122", NULL), NULL);
	CHECK(last_is(&r, DNSCHECK_WARN, "mta-sts", "could not be fetched "
		      "(connection refused)", "mode: testing"));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=20261122", NULL), good);
	CHECK(last_is(&r, DNSCHECK_PASS, "mta-sts", "mode testing", NULL));
	sts_case(&r, DNSREC_STS_ENFORCE, ans(DNSQ_OK, "v=STSv1; id=20261122", NULL), good);
	CHECK(last_is(&r, DNSCHECK_FAIL, "mta-sts", "mode: testing, [publish] "
		      "mta_sts is enforce", "mode: enforce"));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=x", NULL),
		 "version: STSv1\nmode: testing\nmx: *.example.org\nmax_age: 600\n");
	CHECK(last_is(&r, DNSCHECK_PASS, "mta-sts", NULL, NULL));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=x", NULL),
		 "version: STSv1\nmode: testing\nmx: mail.example.net\nmax_age: 600\n");
	CHECK(last_is(&r, DNSCHECK_FAIL, "mta-sts", "no mx: line matches", NULL));
	sts_case(&r, DNSREC_STS_TESTING, ans(DNSQ_OK, "v=STSv1; id=x", NULL),
		 "version: STSv1\nmode: testing\nmx: mx.example.org\n");
	CHECK(last_is(&r, DNSCHECK_FAIL, "mta-sts", "max_age", NULL));
	dnscheck_report_free(&r);
}

TEST(tls_rpt_cases)
{
	struct dnsrec_domain w = want();
	struct dnscheck_report r = { 0 };
	struct dnsq_answer a;

	a = ans(DNSQ_OK, "v=TLSRPTv1; rua=mailto:postmaster@example.org", NULL);
	dnscheck_tls_rpt(&r, &w, &a);
	CHECK(last_is(&r, DNSCHECK_PASS, "tls-rpt", "postmaster@example.org", NULL));
	ans_free(&a);
	a = ans(DNSQ_OK, "v=TLSRPTv1;rua=mailto:tls@example.net", NULL);
	dnscheck_tls_rpt(&r, &w, &a);
	CHECK(last_is(&r, DNSCHECK_WARN, "tls-rpt", "mailto:tls@example.net, not", NULL));
	ans_free(&a);
	a = ans(DNSQ_OK, "v=TLSRPTv1", NULL);
	dnscheck_tls_rpt(&r, &w, &a);
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls-rpt", "no rua=", NULL));
	ans_free(&a);
	a = ans(DNSQ_NXDOMAIN, NULL);
	dnscheck_tls_rpt(&r, &w, &a);
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls-rpt", "no TLS-RPT record",
		      "_smtp._tls.example.org. 3600 IN TXT \"v=TLSRPTv1; "
		      "rua=mailto:postmaster@example.org\""));
	ans_free(&a);
	/* no tls_rpt_rua: skipped entirely, nothing added */
	w.tls_rpt_rua = NULL;
	a = ans(DNSQ_NXDOMAIN, NULL);
	{
		size_t before = r.n;
		dnscheck_tls_rpt(&r, &w, &a);
		CHECK_INTEQ(r.n, before);
	}
	ans_free(&a);
	dnscheck_report_free(&r);
}

/* ---- certificates ---- */

#define DAY 86400L

/* A certificate for name valid from now+from_days to now+to_days,
 * self-signed, or signed by ca. */
static X509 *make_cert(const char *name, long from_days, long to_days,
		       EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	char san[128];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * DAY);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * DAY);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) :
			     X509_get_subject_name(x));
	snprintf(san, sizeof(san), "DNS:%s", name);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, ca ? ca : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ca_key ? ca_key : key, EVP_sha256());
	return x;
}

static void tls_case(struct dnscheck_report *r, X509 *leaf, long verify,
		     const char *error)
{
	struct dnscheck_tls_probe p = { "smtp", "127.0.0.1:25", error, leaf,
					verify };

	dnscheck_tls(r, &p, "mx.example.org", time(NULL));
	X509_free(leaf);
}

TEST(tls_cases)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *cakey = EVP_EC_gen("P-256");
	X509 *ca = make_cert("Test CA", -1, 3650, cakey, NULL, NULL);
	struct dnscheck_report r = { 0 };

	tls_case(&r, make_cert("mx.example.org", -1, 90, key, ca, cakey), X509_V_OK, NULL);
	CHECK(last_is(&r, DNSCHECK_PASS, "tls:smtp", "trusted, valid until", NULL));
	tls_case(&r, make_cert("mx.example.org", -1, 90, key, NULL, NULL),
		 X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, NULL);
	CHECK(last_is(&r, DNSCHECK_WARN, "tls:smtp", "self-signed", "certbot certonly "
		      "--standalone -d mx.example.org"));
	/* self-signed is also recognised without the verify code */
	tls_case(&r, make_cert("mx.example.org", -1, 90, key, NULL, NULL),
		 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, NULL);
	CHECK(last_is(&r, DNSCHECK_WARN, "tls:smtp", "self-signed", NULL));
	tls_case(&r, make_cert("mx.example.org", -1, 90, key, ca, cakey),
		 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, NULL);
	CHECK(last_is(&r, DNSCHECK_WARN, "tls:smtp", "does not verify", "fullchain.pem"));
	tls_case(&r, make_cert("mx.example.org", -30, -2, key, ca, cakey),
		 X509_V_ERR_CERT_HAS_EXPIRED, NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls:smtp", "expired on", "certbot"));
	tls_case(&r, make_cert("www.example.org", -1, 90, key, ca, cakey), X509_V_OK, NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls:smtp", "issued for www.example.org, "
		      "not mx.example.org", "-d mx.example.org"));
	tls_case(&r, make_cert("mx.example.org", -80, 5, key, ca, cakey), X509_V_OK, NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls:smtp", "expires in 5 days", "certbot renew"));
	tls_case(&r, make_cert("mx.example.org", 2, 90, key, ca, cakey), X509_V_OK, NULL);
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls:smtp", "not valid before", NULL));
	tls_case(&r, make_cert("*.example.org", -1, 90, key, ca, cakey), X509_V_OK, NULL);
	CHECK(last_is(&r, DNSCHECK_PASS, "tls:smtp", NULL, NULL));
	tls_case(&r, NULL, 0, "Connection refused");
	CHECK(last_is(&r, DNSCHECK_FAIL, "tls:smtp", "not reachable: Connection refused",
		      "port 25"));
	dnscheck_report_free(&r);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

/* ---- DNSBL ---- */

TEST(dnsbl_cases)
{
	struct dnscheck_report r = { 0 };
	char name[DNSQ_NAME_MAX + 1];
	struct dnsq_answer a;

	CHECK_INTEQ(dnscheck_dnsbl_name("192.0.2.7", "bl.test", name), 0);
	CHECK_STREQ(name, "7.2.0.192.bl.test");
	CHECK_INTEQ(dnscheck_dnsbl_name("2001:db8::1", "bl.test", name), -1);
	a = ans(DNSQ_NXDOMAIN, NULL);
	dnscheck_dnsbl(&r, "192.0.2.7", "bl.test", &a);
	CHECK(last_is(&r, DNSCHECK_PASS, "dnsbl:bl.test", "not listed", NULL));
	ans_free(&a);
	a = ans(DNSQ_OK, "127.0.0.2", NULL);
	dnscheck_dnsbl(&r, "192.0.2.7", "bl.test", &a);
	CHECK(last_is(&r, DNSCHECK_FAIL, "dnsbl:bl.test", "192.0.2.7 is listed "
		      "(127.0.0.2)", "ask bl.test to remove 192.0.2.7"));
	ans_free(&a);
	a = ans(DNSQ_OK, "127.255.255.254", NULL);
	dnscheck_dnsbl(&r, "192.0.2.7", "bl.test", &a);
	CHECK(last_is(&r, DNSCHECK_WARN, "dnsbl:bl.test", "not a listing", "resolver"));
	ans_free(&a);
	a = ans(DNSQ_TEMPFAIL, NULL);
	dnscheck_dnsbl(&r, "192.0.2.7", "bl.test", &a);
	CHECK(last_is(&r, DNSCHECK_WARN, "dnsbl:bl.test", "DNS error", NULL));
	ans_free(&a);
	dnscheck_report_free(&r);
}

int main(void)
{
	RUN(report_formats);
	RUN(addresses);
	RUN(mx_parse);
	RUN(mx_cases);
	RUN(fcrdns_cases);
	RUN(spf_records);
	RUN(spf_results_from_the_evaluator);
	RUN(dkim_cases);
	RUN(dmarc_cases);
	RUN(mta_sts_cases);
	RUN(tls_rpt_cases);
	RUN(tls_cases);
	RUN(dnsbl_cases);
	return test_summary();
}
