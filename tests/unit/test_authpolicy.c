/* Unit tests for src/mailauth/authpolicy: the accept / junk / reject
 * decision from the verdicts (issue 4 §6) as a table, and the exact
 * Authentication-Results and Received-SPF fields built from them. */
#include "harness.h"

#include <stdbool.h>
#include <string.h>

#include "lib/buf.h"
#include "mailauth/authpolicy.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct dkim_result dkim_pass = {
	.status = DKIM_PASS, .domain = "sender.test", .selector = "sel",
	.identity = "@sender.test", .algorithm = "rsa-sha256",
	.header_b = "AbCdEfGh",
};
static const struct dkim_result dkim_fail = {
	.status = DKIM_FAIL, .reason = "body hash mismatch",
	.domain = "other.test", .selector = "s2", .identity = "@other.test",
	.algorithm = "ed25519-sha256", .header_b = "12345678",
};
static const struct dkim_result dkim_pending = {
	.status = DKIM_PENDING, .domain = "slow.test", .selector = "s",
	.identity = "@slow.test", .algorithm = "rsa-sha256",
};

enum dm { DM_NONE_EVAL, DM_PASS, DM_FAIL_REJECT, DM_FAIL_QUAR, DM_FAIL_NONE,
	  DM_FAIL_PCT, DM_TEMPERROR };

static struct dmarc_verdict verdict(enum dm d)
{
	struct dmarc_verdict v = {
		.result = DMARC_FAIL, .from_domain = "sender.test",
		.p = DMARC_POLICY_REJECT, .sp = DMARC_POLICY_REJECT,
		.policy = DMARC_POLICY_REJECT,
		.disposition = DMARC_POLICY_REJECT, .pct = 100,
	};

	switch (d) {
	case DM_PASS:
		v.result = DMARC_PASS;
		v.disposition = DMARC_POLICY_NONE;
		break;
	case DM_FAIL_QUAR:
		v.p = v.sp = v.policy = v.disposition = DMARC_POLICY_QUARANTINE;
		break;
	case DM_FAIL_NONE:
		v.p = v.sp = v.policy = v.disposition = DMARC_POLICY_NONE;
		break;
	case DM_FAIL_PCT:	/* p=reject; pct= sampled this one out */
		v.disposition = DMARC_POLICY_NONE;
		break;
	case DM_TEMPERROR:
		v.result = DMARC_TEMPERROR;
		v.disposition = DMARC_POLICY_NONE;
		break;
	default:
		break;
	}
	return v;
}

struct decide_case {
	enum dm dmarc;
	enum spf_result spf;
	bool dkim_ok;		/* a passing signature besides a failing one */
	bool dmarc_reject, junk;	/* options */
	enum authpolicy_action want;
};

static const struct decide_case decide_cases[] = {
	{ DM_PASS, SPF_PASS, true, true, true, AUTHPOLICY_ACCEPT },
	{ DM_NONE_EVAL, SPF_NONE, false, true, true, AUTHPOLICY_ACCEPT },
	{ DM_FAIL_REJECT, SPF_FAIL, false, true, true, AUTHPOLICY_REJECT },
	{ DM_FAIL_REJECT, SPF_PASS, false, true, false, AUTHPOLICY_REJECT },
	/* reject switched off: still junk under the junk rule */
	{ DM_FAIL_REJECT, SPF_PASS, false, false, true, AUTHPOLICY_JUNK },
	{ DM_FAIL_REJECT, SPF_PASS, false, false, false, AUTHPOLICY_ACCEPT },
	{ DM_FAIL_QUAR, SPF_NONE, false, true, true, AUTHPOLICY_JUNK },
	{ DM_FAIL_QUAR, SPF_NONE, false, true, false, AUTHPOLICY_ACCEPT },
	{ DM_FAIL_NONE, SPF_SOFTFAIL, false, true, true, AUTHPOLICY_ACCEPT },
	{ DM_FAIL_PCT, SPF_NONE, false, true, true, AUTHPOLICY_ACCEPT },
	{ DM_TEMPERROR, SPF_NONE, false, true, true, AUTHPOLICY_ACCEPT },
	/* SPF fail (-all) without a DKIM pass */
	{ DM_FAIL_NONE, SPF_FAIL, false, true, true, AUTHPOLICY_JUNK },
	{ DM_NONE_EVAL, SPF_FAIL, false, true, true, AUTHPOLICY_JUNK },
	{ DM_NONE_EVAL, SPF_FAIL, true, true, true, AUTHPOLICY_ACCEPT },
	{ DM_NONE_EVAL, SPF_FAIL, false, true, false, AUTHPOLICY_ACCEPT },
	{ DM_NONE_EVAL, SPF_SOFTFAIL, false, true, true, AUTHPOLICY_ACCEPT },
	{ DM_PASS, SPF_FAIL, true, true, true, AUTHPOLICY_ACCEPT },
};

TEST(decide_table)
{
	for (size_t i = 0; i < N(decide_cases); i++) {
		const struct decide_case *c = &decide_cases[i];
		struct dmarc_verdict v = verdict(c->dmarc);
		const struct dkim_result *dk[] = { &dkim_fail, &dkim_pass };
		struct authpolicy_input in = {
			.have_ip = true, .ip = "192.0.2.1", .spf = c->spf,
			.dkim = dk, .ndkim = c->dkim_ok ? 2 : 1,
			.dmarc = c->dmarc == DM_NONE_EVAL ? NULL : &v,
		};
		struct authpolicy_options o = { c->dmarc_reject, c->junk };
		const char *why = NULL;
		enum authpolicy_action a = authpolicy_decide(&in, &o, &why);

		if (a != c->want)
			fprintf(stderr, "decide case %zu\n", i);
		CHECK_INTEQ(a, c->want);
		CHECK(why != NULL && *why != '\0');
	}
}

TEST(names)
{
	CHECK_STREQ(authpolicy_action_name(AUTHPOLICY_ACCEPT), "accept");
	CHECK_STREQ(authpolicy_action_name(AUTHPOLICY_JUNK), "junk");
	CHECK_STREQ(authpolicy_action_name(AUTHPOLICY_REJECT), "reject");
	CHECK_STREQ(authpolicy_dkim_result(DKIM_PENDING), "temperror");
	CHECK_STREQ(authpolicy_dkim_result(DKIM_PASS), "pass");
	CHECK_STREQ(authpolicy_dkim_result(DKIM_PERMERROR), "permerror");
	CHECK(strncmp(AUTHPOLICY_REJECT_REPLY, "550 5.7.1 ", 10) == 0);
}

TEST(headers_full)
{
	struct dmarc_verdict v = verdict(DM_PASS);
	const struct dkim_result *dk[] = { &dkim_pass, &dkim_fail, &dkim_pending };
	struct authpolicy_input in = {
		.have_ip = true, .ip = "192.0.2.1", .iprev = IPREV_PASS,
		.iprev_host = "mail.sender.test", .spf = SPF_PASS,
		.mail_from = "alice@sender.test", .helo = "mail.sender.test",
		.spf_reason = "matched ip4:192.0.2.0/24", .dkim = dk, .ndkim = 3,
		.dmarc = &v,
	};
	struct buf out = BUF_INIT;

	authpolicy_headers(&in, "mx.example.org", "mx.example.org", &out);
	CHECK_STREQ(buf_cstr(&out),
		"Authentication-Results: mx.example.org;\r\n"
		"\tiprev=pass (mail.sender.test) policy.iprev=192.0.2.1;\r\n"
		"\tspf=pass (matched ip4:192.0.2.0/24) smtp.mailfrom=alice@sender.test;\r\n"
		"\tdkim=pass header.d=sender.test header.i=@sender.test header.s=sel\r\n"
		"\theader.a=rsa-sha256 header.b=AbCdEfGh;\r\n"
		"\tdkim=fail (body hash mismatch) header.d=other.test\r\n"
		"\theader.i=@other.test header.s=s2 header.a=ed25519-sha256\r\n"
		"\theader.b=12345678;\r\n"
		"\tdkim=temperror header.d=slow.test header.i=@slow.test header.s=s\r\n"
		"\theader.a=rsa-sha256;\r\n"
		"\tdmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=sender.test\r\n"
		"\tpolicy.dmarc=reject\r\n"
		"Received-SPF: pass (mx.example.org: matched ip4:192.0.2.0/24)\r\n"
		"\tclient-ip=192.0.2.1; envelope-from=\"alice@sender.test\";\r\n"
		"\thelo=mail.sender.test; receiver=mx.example.org; identity=mailfrom;\r\n");
	buf_free(&out);
}

/* No client address: no iprev, no SPF, no Received-SPF; no signature
 * is "dkim=none (no signature)". */
TEST(headers_without_ip)
{
	struct dmarc_verdict v = verdict(DM_FAIL_REJECT);
	struct authpolicy_input in = { .spf = SPF_NONE, .dmarc = &v };
	struct buf out = BUF_INIT;

	authpolicy_headers(&in, "mx.example.org", "ignored", &out);
	CHECK_STREQ(buf_cstr(&out),
		"Authentication-Results: mx.example.org;\r\n"
		"\tdkim=none (no signature);\r\n"
		"\tdmarc=fail (p=REJECT sp=REJECT dis=REJECT) header.from=sender.test\r\n"
		"\tpolicy.dmarc=reject\r\n");
	buf_reset(&out);
	in.dmarc = NULL;
	authpolicy_headers(&in, "mx.example.org", "ignored", &out);
	CHECK_STREQ(buf_cstr(&out),
		"Authentication-Results: mx.example.org;\r\n"
		"\tdkim=none (no signature)\r\n");
	buf_free(&out);
}

/* The null sender: SPF is about the HELO identity. */
TEST(headers_null_sender)
{
	const struct dkim_result *dk[] = { &dkim_pass };
	struct authpolicy_input in = {
		.have_ip = true, .ip = "2001:db8::1", .iprev = IPREV_PERMERROR,
		.spf = SPF_FAIL, .mail_from = "", .helo = "mail.sender.test",
		.dkim = dk, .ndkim = 1,
	};
	struct buf out = BUF_INIT;
	const char *got;

	authpolicy_headers(&in, "mx.example.org", "mx.example.org", &out);
	got = buf_cstr(&out);
	CHECK(strstr(got, "\tiprev=permerror policy.iprev=\"2001:db8::1\";\r\n") != NULL);
	CHECK(strstr(got, "\tspf=fail smtp.helo=mail.sender.test;\r\n") != NULL);
	CHECK(strstr(got, "Received-SPF: fail (mx.example.org: fail) "
		     "client-ip=\"2001:db8::1\";\r\n") != NULL);
	CHECK(strstr(got, "identity=helo;") != NULL);
	CHECK(strstr(got, "envelope-from") == NULL);
	buf_free(&out);
}

int main(void)
{
	RUN(decide_table);
	RUN(names);
	RUN(headers_full);
	RUN(headers_without_ip);
	RUN(headers_null_sender);
	return test_summary();
}
