/* Unit tests for mtasts_policy: RFC 8461 TXT records, policy files and
 * MX pattern matching. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "smtp/mtasts_policy.h"

struct txt_case {
	const char *rec;
	enum mtasts_txt want;
	const char *id;
};

static const struct txt_case txt_cases[] = {
	{ "v=STSv1; id=20160831085700Z;", MTASTS_TXT_OK, "20160831085700Z" },
	{ "v=STSv1;id=1", MTASTS_TXT_OK, "1" },
	{ "v=STSv1 ;  id=abc ; ext=foo.bar", MTASTS_TXT_OK, "abc" },
	{ "v=STSv1; ext_1=x; id=Z9", MTASTS_TXT_OK, "Z9" },
	{ "v=STSv1; id=12345678901234567890123456789012", MTASTS_TXT_OK,
	  "12345678901234567890123456789012" },
	{ "v=STSv1; id=123456789012345678901234567890123", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1; id=", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1; id=a-b", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1;", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1; id=1; id=2", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1 id=1", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1; noequals; id=1", MTASTS_TXT_BAD, NULL },
	{ "v=STSv1; id=1; x=a=b", MTASTS_TXT_BAD, NULL },
	{ "v=STSv10; id=1", MTASTS_TXT_OTHER, NULL },
	{ "v=spf1 -all", MTASTS_TXT_OTHER, NULL },
	{ "v=stsv1; id=1", MTASTS_TXT_OTHER, NULL },
	{ "", MTASTS_TXT_OTHER, NULL },
	{ " v=STSv1; id=1", MTASTS_TXT_OTHER, NULL },
};

TEST(txt_table)
{
	for (size_t i = 0; i < sizeof(txt_cases) / sizeof(txt_cases[0]); i++) {
		const struct txt_case *c = &txt_cases[i];
		char id[MTASTS_ID_MAX + 1] = "";
		const char *why = NULL;
		enum mtasts_txt t = mtasts_txt_parse(c->rec, strlen(c->rec), id, &why);

		CHECK_INTEQ(t, c->want);
		if (c->want == MTASTS_TXT_OK)
			CHECK_STREQ(id, c->id);
		if (c->want == MTASTS_TXT_BAD)
			CHECK(why != NULL);
	}
}

TEST(txt_select)
{
	const char *one[] = { "v=spf1 -all", "v=STSv1; id=7" };
	const char *two[] = { "v=STSv1; id=7", "v=STSv1; id=8" };
	const char *bad[] = { "v=STSv1; id=!", "other" };
	const char *none[] = { "hello" };
	char id[MTASTS_ID_MAX + 1] = "";
	const char *why = NULL;

	CHECK_INTEQ(mtasts_txt_select(one, NULL, 2, id, &why), 1);
	CHECK_STREQ(id, "7");
	CHECK_INTEQ(mtasts_txt_select(two, NULL, 2, id, &why), -1);
	CHECK_INTEQ(mtasts_txt_select(bad, NULL, 2, id, &why), -1);
	CHECK_INTEQ(mtasts_txt_select(none, NULL, 1, id, &why), 0);
	CHECK_INTEQ(mtasts_txt_select(none, NULL, 0, id, &why), 0);
}

struct policy_case {
	const char *text;
	int rc;
	enum mtasts_mode mode;
	uint64_t max_age;
	const char *mx;		/* comma-joined */
};

static const struct policy_case policy_cases[] = {
	{ "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	  "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
	  0, MTASTS_MODE_ENFORCE, 604800,
	  "mail.example.com,*.example.net,backupmx.example.com" },
	{ "version: STSv1\nmode: testing\nmx: MX.B.test\nmax_age: 86400",
	  0, MTASTS_MODE_TESTING, 86400, "mx.b.test" },
	{ "version:STSv1\nmode:none\nmax_age:0\n", 0, MTASTS_MODE_NONE, 0, "" },
	{ "version: STSv1  \nmode: enforce\t\nmx: a.b\nmax_age: 99999999999\n",
	  -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 9999999999\n",
	  0, MTASTS_MODE_ENFORCE, MTASTS_MAX_AGE_MAX, "a.b" },
	/* unknown keys ignored; the first of a repeated key wins */
	{ "version: STSv1\nfoo: bar\nmode: testing\nmode: enforce\nmx: a.b\n"
	  "max_age: 10\nmax_age: 20\n", 0, MTASTS_MODE_TESTING, 10, "a.b" },
	{ "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: stsv1\nmode: enforce\nmx: a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "mode: enforce\nmx: a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmx: a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: \n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: *.*.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: -a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "version: STSv1\nmode enforce\nmx: a.b\nmax_age: 1\n", -1, 0, 0, NULL },
	{ "<html>not found</html>", -1, 0, 0, NULL },
	{ "", -1, 0, 0, NULL },
};

static void join_mx(const struct mtasts_policy *p, char *out, size_t size)
{
	*out = '\0';
	for (size_t i = 0; i < p->nmx; i++) {
		if (i > 0)
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, p->mx[i], size - strlen(out) - 1);
	}
}

TEST(policy_table)
{
	for (size_t i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		const struct policy_case *c = &policy_cases[i];
		struct mtasts_policy p;
		const char *why = NULL;
		char mx[512];
		int rc = mtasts_policy_parse(c->text, strlen(c->text), &p, &why);

		CHECK_INTEQ(rc, c->rc);
		if (rc != c->rc)
			fprintf(stderr, "  case %zu: %s\n", i, why ? why : "ok");
		if (rc == 0 && c->rc == 0) {
			CHECK_INTEQ(p.mode, c->mode);
			CHECK(p.max_age == c->max_age);
			join_mx(&p, mx, sizeof(mx));
			CHECK_STREQ(mx, c->mx);
		}
		if (rc < 0)
			CHECK(why != NULL && p.nmx == 0 && p.mx == NULL);
		mtasts_policy_free(&p);
	}
}

/* The same policy byte by byte up to each length: never a crash, and only
 * the whole text (or a prefix ending after the last field) parses. */
TEST(policy_prefixes)
{
	const char *text = "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5\n";
	size_t n = strlen(text), ok = 0;

	for (size_t len = 0; len <= n; len++) {
		struct mtasts_policy p;
		const char *why = NULL;
		if (mtasts_policy_parse(text, len, &p, &why) == 0)
			ok++;
		mtasts_policy_free(&p);
	}
	CHECK(ok == 2);		/* "max_age: 5" without and with the LF */
}

TEST(policy_limits)
{
	char *big = malloc(MTASTS_POLICY_MAX + 2);
	struct mtasts_policy p;
	const char *why = NULL;
	char many[8192] = "version: STSv1\nmode: enforce\nmax_age: 1\n";

	memset(big, '\n', MTASTS_POLICY_MAX + 1);
	CHECK(mtasts_policy_parse(big, MTASTS_POLICY_MAX + 1, &p, &why) < 0);
	free(big);
	for (int i = 0; i <= MTASTS_MX_MAX; i++)
		strncat(many, "mx: a.example\n", sizeof(many) - strlen(many) - 1);
	CHECK(mtasts_policy_parse(many, strlen(many), &p, &why) < 0);
	CHECK_STREQ(why, "too many mx: lines");
	CHECK(mtasts_policy_parse("version: STSv1\0\nmode: none\nmax_age: 1", 37,
				  &p, &why) < 0);
}

struct match_case {
	const char *pattern, *host;
	bool want;
};

static const struct match_case match_cases[] = {
	{ "mx.example.com", "mx.example.com", true },
	{ "mx.example.com", "MX.Example.COM.", true },
	{ "mx.example.com", "mx2.example.com", false },
	{ "*.example.net", "mx1.example.net", true },
	{ "*.example.net", "MX1.EXAMPLE.NET.", true },
	{ "*.example.net", "example.net", false },
	{ "*.example.net", "a.b.example.net", false },
	{ "*.example.net", ".example.net", false },
	{ "*.example.net", "mx1.example.org", false },
	{ "example.net", "mx.example.net", false },
	{ "mx.example.com", "", false },
};

TEST(match_table)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		CHECK(mtasts_mx_match(c->pattern, c->host) == c->want);
	}
}

TEST(policy_allows)
{
	const char *text = "version: STSv1\nmode: enforce\nmx: mx.b.test\n"
			   "mx: *.c.test\nmax_age: 5\n";
	struct mtasts_policy p;
	const char *why = NULL;

	CHECK(mtasts_policy_parse(text, strlen(text), &p, &why) == 0);
	CHECK(mtasts_policy_allows(&p, "mx.b.test"));
	CHECK(mtasts_policy_allows(&p, "x.c.test"));
	CHECK(!mtasts_policy_allows(&p, "mx.evil.test"));
	CHECK_STREQ(mtasts_mode_name(p.mode), "enforce");
	mtasts_policy_free(&p);
}

TEST(refresh_due)
{
	const time_t t = 1700000000, week = 7 * 86400;

	/* a week's policy: refreshed a day after its fetch, not before */
	CHECK(!mtasts_refresh_due(t, t + week, t));
	CHECK(!mtasts_refresh_due(t, t + week, t + 86399));
	CHECK(mtasts_refresh_due(t, t + week, t + 86400));
	/* an hour's policy: after half an hour */
	CHECK(!mtasts_refresh_due(t, t + 3600, t + 1799));
	CHECK(mtasts_refresh_due(t, t + 3600, t + 1800));
	/* a year's policy (the cap): still a day */
	CHECK(mtasts_refresh_due(t, t + 31557600, t + 86400));
	CHECK(!mtasts_refresh_due(t, t + 31557600, t + 3600));
	/* max_age 0 or a clock set back: due at once, never negative waits */
	CHECK(mtasts_refresh_due(t, t, t));
	CHECK(!mtasts_refresh_due(t, t + week, t - 100));
}

int main(void)
{
	RUN(txt_table);
	RUN(txt_select);
	RUN(policy_table);
	RUN(policy_prefixes);
	RUN(policy_limits);
	RUN(match_table);
	RUN(policy_allows);
	RUN(refresh_due);
	return test_summary();
}
