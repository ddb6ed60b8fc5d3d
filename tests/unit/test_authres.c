/* Unit tests for src/mailauth/authres: Authentication-Results (RFC 8601
 * §2.2) and Received-SPF (RFC 7208 §9.1) formatting, quoting, folding,
 * header-injection safety, and the authserv-id check of RFC 8601 §5. */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "mailauth/authres.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct dmarc_verdict dmarc_pass = {
	.result = DMARC_PASS, .from_domain = "example.com",
	.p = DMARC_POLICY_REJECT, .sp = DMARC_POLICY_NONE,
	.policy = DMARC_POLICY_REJECT, .disposition = DMARC_POLICY_NONE,
};

TEST(full_field)
{
	struct authres *ar = authres_new("mx.example.org");
	struct authres_spf spf = { SPF_PASS, "192.0.2.1", "alice@example.com",
				   "mail.example.com", NULL };
	struct authres_dkim dkim = { "pass", "example.com", "@example.com",
				     "sel1", "rsa-sha256",
				     "dGhp cy9p\r\n\tc2E=signature", NULL };
	struct buf out = BUF_INIT;

	authres_add_iprev(ar, IPREV_PASS, "192.0.2.1", "mail.example.com");
	authres_add_spf(ar, &spf);
	authres_add_dkim(ar, &dkim);
	authres_add_dmarc(ar, &dmarc_pass);
	authres_format(ar, &out);
	CHECK_STREQ(buf_cstr(&out),
		"Authentication-Results: mx.example.org;\r\n"
		"\tiprev=pass (mail.example.com) policy.iprev=192.0.2.1;\r\n"
		"\tspf=pass smtp.mailfrom=alice@example.com;\r\n"
		"\tdkim=pass header.d=example.com header.i=@example.com header.s=sel1\r\n"
		"\theader.a=rsa-sha256 header.b=dGhpcy9p;\r\n"
		"\tdmarc=pass (p=REJECT sp=NONE dis=NONE) header.from=example.com\r\n"
		"\tpolicy.dmarc=reject\r\n");
	authres_free(ar);
	buf_free(&out);
}

TEST(no_result_and_ids)
{
	struct authres *ar = authres_new("mx.example.org");
	struct buf out = BUF_INIT;

	authres_format(ar, &out);
	CHECK_STREQ(buf_cstr(&out), "Authentication-Results: mx.example.org; none\r\n");
	authres_free(ar);
	buf_reset(&out);
	ar = authres_new("odd id/\"x\"");
	authres_format(ar, &out);
	CHECK_STREQ(buf_cstr(&out),
		    "Authentication-Results: \"odd id/\\\"x\\\"\"; none\r\n");
	authres_free(ar);
	buf_free(&out);
}

/* One resinfo alone, without the field name and folding. */
static void one(void (*add)(struct authres *, const void *), const void *arg,
		const char *want)
{
	struct authres *ar = authres_new("x");
	struct buf out = BUF_INIT;
	const char *prefix = "Authentication-Results: x;\r\n\t";
	const char *got;

	add(ar, arg);
	authres_format(ar, &out);
	got = buf_cstr(&out);
	CHECK(strncmp(got, prefix, strlen(prefix)) == 0);
	if (strncmp(got, prefix, strlen(prefix)) == 0)
		CHECK_STREQ(got + strlen(prefix), want);
	authres_free(ar);
	buf_free(&out);
}

static void add_spf(struct authres *ar, const void *p)
{
	authres_add_spf(ar, p);
}

static void add_dkim(struct authres *ar, const void *p)
{
	authres_add_dkim(ar, p);
}

static void add_dmarc(struct authres *ar, const void *p)
{
	authres_add_dmarc(ar, p);
}

static void add_iprev6(struct authres *ar, const void *p)
{
	authres_add_iprev(ar, IPREV_FAIL, p, NULL);
}

TEST(methods)
{
	struct authres_spf helo = { SPF_SOFTFAIL, "192.0.2.1", "",
				    "mail.example.com", "no (match) here\\" };
	struct authres_spf odd = { SPF_FAIL, "192.0.2.1",
				   "\"a b\"@example.com", NULL, NULL };
	struct authres_dkim bad = { "bogus", "ex\"ample.com", NULL, NULL,
				    NULL, "ab/+=", "1024-bit key" };
	struct dmarc_verdict none = { .result = DMARC_NONE,
				      .from_domain = "example.org" };
	struct dmarc_verdict perm = { .result = DMARC_PERMERROR,
				      .reason = "no RFC5322.From domain" };
	struct dmarc_verdict fail = {
		.result = DMARC_FAIL, .from_domain = "sub.example.net",
		.p = DMARC_POLICY_NONE, .sp = DMARC_POLICY_REJECT,
		.policy = DMARC_POLICY_REJECT,
		.disposition = DMARC_POLICY_QUARANTINE,
	};

	one(add_spf, &helo, "spf=softfail (no \\(match\\) here\\\\) "
	    "smtp.helo=mail.example.com\r\n");
	one(add_spf, &odd, "spf=fail smtp.mailfrom=\"\\\"a b\\\"@example.com\"\r\n");
	one(add_dkim, &bad, "dkim=permerror (1024-bit key) "
	    "header.d=\"ex\\\"ample.com\"\r\n\theader.b=\"ab/+=\"\r\n");
	one(add_dmarc, &none, "dmarc=none header.from=example.org\r\n");
	one(add_dmarc, &perm, "dmarc=permerror reason=\"no RFC5322.From domain\"\r\n");
	one(add_dmarc, &fail, "dmarc=fail (p=NONE sp=REJECT dis=QUARANTINE)\r\n"
	    "\theader.from=sub.example.net policy.dmarc=reject\r\n");
	one(add_iprev6, "2001:db8::1", "iprev=fail policy.iprev=\"2001:db8::1\"\r\n");
}

/* Hostile values never end the field: no CR/LF outside the folds, which
 * are always CRLF + TAB. */
static bool folds_only(const char *s)
{
	const char *end = s + strlen(s) - 2;

	for (const char *p = s; p < end; p++) {
		if ((*p == '\r' || *p == '\n') &&
		    !(p[0] == '\r' && p[1] == '\n' && p[2] == '\t'))
			return false;
		if (*p == '\r')
			p++;
	}
	return strcmp(end, "\r\n") == 0;
}

TEST(injection)
{
	struct authres *ar = authres_new("mx.example.org\r\nX-Evil: 1");
	struct authres_spf spf = { SPF_PASS, "192.0.2.1",
				   "a@example.com\r\nX-Evil: 2", "h",
				   "reason\r\nX-Evil: 3" };
	struct authres_dkim dkim = { "pass", "example.com\nX-Evil: 4", NULL,
				     "s\r", NULL, NULL, "(\r\n)" };
	struct buf out = BUF_INIT;

	authres_add_spf(ar, &spf);
	authres_add_dkim(ar, &dkim);
	authres_add_iprev(ar, IPREV_PASS, "1.2.3.4", "host\r\nX-Evil: 5");
	authres_format(ar, &out);
	CHECK(folds_only(buf_cstr(&out)));
	CHECK(strstr(buf_cstr(&out), "\nX-Evil") == NULL);
	buf_reset(&out);
	authres_received_spf(&spf, "mx\r\n.example.org", &out);
	CHECK(folds_only(buf_cstr(&out)));
	CHECK(strstr(buf_cstr(&out), "\nX-Evil") == NULL);
	authres_free(ar);
	buf_free(&out);
}

TEST(folding)
{
	struct authres *ar = authres_new("mx.example.org");
	struct authres_dkim dkim = { "pass", "a-rather-long-signing-domain.example.com",
				     "someone@a-rather-long-signing-domain.example.com",
				     "selector-2024-with-a-long-name", "ed25519-sha256",
				     "abcdefghijkl", "a comment that is long too" };
	struct buf out = BUF_INIT;
	size_t col = 0, lines = 1;

	authres_add_dkim(ar, &dkim);
	authres_add_dkim(ar, &dkim);
	authres_format(ar, &out);
	for (const char *p = buf_cstr(&out); *p != '\0'; p++) {
		if (*p == '\n') {
			CHECK(p[1] == '\t' || p[1] == '\0');
			lines++;
			col = 0;
		} else if (*p != '\r') {
			col += *p == '\t' ? 8 : 1;
			CHECK(col <= AUTHRES_FOLD_COLUMN);
		}
	}
	CHECK(lines >= 7);
	CHECK(folds_only(buf_cstr(&out)));
	authres_free(ar);
	buf_free(&out);
}

TEST(received_spf)
{
	struct authres_spf spf = { SPF_PASS, "192.0.2.1", "alice@example.com",
				   "mail.example.com",
				   "example.com matched ip4:192.0.2.0/24" };
	struct authres_spf nul = { SPF_NONE, "2001:db8::1", NULL, "helo.example",
				   NULL };
	struct buf out = BUF_INIT;

	authres_received_spf(&spf, "mx.example.org", &out);
	CHECK_STREQ(buf_cstr(&out),
		"Received-SPF: pass (mx.example.org: example.com matched ip4:192.0.2.0/24)\r\n"
		"\tclient-ip=192.0.2.1; envelope-from=\"alice@example.com\";\r\n"
		"\thelo=mail.example.com; receiver=mx.example.org; identity=mailfrom;\r\n");
	buf_reset(&out);
	authres_received_spf(&nul, "mx.example.org", &out);
	CHECK_STREQ(buf_cstr(&out),
		"Received-SPF: none (mx.example.org: none) client-ip=\"2001:db8::1\";\r\n"
		"\thelo=helo.example; receiver=mx.example.org; identity=helo;\r\n");
	buf_free(&out);
}

static const struct {
	const char *field;
	bool ours;
} ours_cases[] = {
	{ "Authentication-Results: mx.example.org; spf=pass", true },
	{ "authentication-results:MX.Example.ORG;dkim=pass", true },
	{ "Authentication-Results : mx.example.org; none", true },
	{ "Authentication-Results:\r\n\t(forged (nested) comment)\r\n "
	  "mx.example.org 1; spf=pass", true },
	{ "Authentication-Results: \"mx.example.org\"; spf=pass", true },
	{ "Authentication-Results: \"mx.exa\\mple.org\"; spf=pass", true },
	{ "Authentication-Results: mx.example.org.; spf=pass", true },
	{ "Authentication-Results: mx.example.org", true },
	{ "Authentication-Results: other.example.org; spf=pass", false },
	{ "Authentication-Results: mx.example.org.evil; spf=pass", false },
	{ "Authentication-Results: example.org; spf=pass", false },
	{ "Authentication-Results: x mx.example.org; spf=pass", false },
	{ "Authentication-Results: (mx.example.org) x; spf=pass", false },
	{ "Authentication-Results: (unterminated mx.example.org", false },
	{ "Authentication-Results: \"mx.example.org; spf=pass", false },
	{ "Authentication-Results-X: mx.example.org; spf=pass", false },
	{ "ARC-Authentication-Results: i=1; mx.example.org; spf=pass", false },
	{ "X-Authentication-Results: mx.example.org", false },
	{ "Authentication-Results: ; spf=pass", false },
	{ "Authentication-Results", false },
	{ "", false },
};

TEST(is_ours)
{
	for (size_t i = 0; i < N(ours_cases); i++) {
		bool got = authres_is_ours(ours_cases[i].field,
					   strlen(ours_cases[i].field),
					   "mx.example.org");

		if (got != ours_cases[i].ours)
			fprintf(stderr, "is_ours case %zu: %s\n", i,
				ours_cases[i].field);
		CHECK(got == ours_cases[i].ours);
	}
	/* our id given with a trailing dot; the length bounds the field */
	CHECK(authres_is_ours("Authentication-Results: mx.example.org", 38,
			      "MX.example.org."));
	CHECK(!authres_is_ours("Authentication-Results: mx.example.org", 30,
			       "mx.example.org"));
}

int main(void)
{
	RUN(full_field);
	RUN(no_result_and_ids);
	RUN(methods);
	RUN(injection);
	RUN(folding);
	RUN(received_spf);
	RUN(is_ours);
	return test_summary();
}
