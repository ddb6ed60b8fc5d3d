/* Unit tests for src/mail/rfc2047: encoded words, unfolding, charsets.
 *
 *   test_rfc2047                 built-in table
 *   test_rfc2047 HEADERS.txt     + Stalwart's unstructured-header vectors
 *                                  (mime_suite_gen.py headers) */
#include "harness.h"
#include "suite_io.h"

#include "mail/rfc2047.h"

struct dec_case {
	const char *in;
	const char *out;
};

static const struct dec_case dec_cases[] = {
	{ "plain text", "plain text" },
	{ "  lead and trail  ", "lead and trail" },
	{ "a\r\n b", "a b" },					/* unfold */
	{ "a \r\n\t b", "a b" },
	{ "two  spaces", "two  spaces" },			/* kept without a fold */
	{ "=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9" },
	{ "=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1*fr?q?caf=E9?=", "caf\xc3\xa9" },		/* RFC 2231 language */
	{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },		/* §6.2 */
	{ "=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab" },
	{ "x =?utf-8?q?a?= y", "x a y" },
	{ "=?utf-8?q?a_b?=", "a b" },
	/* a character split over two words of one charset */
	{ "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac" },
	{ "=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=", "\xe2\x82\xac" },
	/* different charsets are converted apart */
	{ "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xc3\xa9\xc3\xa9" },
	/* unknown charset: the word stays as it was */
	{ "=?x-no-such-charset?q?abc?= d", "=?x-no-such-charset?q?abc?= d" },
	{ "=?utf-8//TRANSLIT?q?x?=", "=?utf-8//TRANSLIT?q?x?=" },
	/* not encoded words */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?q?no end", "=?utf-8?q?no end" },
	{ "a=?b", "a=?b" },
	{ "=??q?x?=", "=??q?x?=" },
	/* invalid UTF-8 becomes U+FFFD */
	{ "bad \xff byte", "bad \xef\xbf\xbd byte" },
	{ "=?utf-8?q?=FF?=", "\xef\xbf\xbd" },
	{ "=?us-ascii?q?=E9?=", "\xef\xbf\xbd" },
	{ "=?iso-2022-jp?B?GyRCJEgbKEI=?=", "\xe3\x81\xa8" },
	{ "", "" },
};

TEST(decode_table)
{
	for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		struct buf out = BUF_INIT;

		rfc2047_decode(dec_cases[i].in, strlen(dec_cases[i].in), &out);
		CHECK_STREQ(buf_cstr(&out), dec_cases[i].out);
		buf_free(&out);
	}
}

TEST(convert)
{
	struct buf out = BUF_INIT;

	CHECK_INTEQ(rfc2047_convert("windows-1252", 12, "\x80", 1, &out), 0);
	CHECK_STREQ(buf_cstr(&out), "\xe2\x82\xac");
	CHECK_INTEQ(rfc2047_convert("nope", 4, "x", 1, &out), -1);
	CHECK_INTEQ(rfc2047_convert("", 0, "x", 1, &out), -1);
	CHECK_STREQ(buf_cstr(&out), "\xe2\x82\xac");
	buf_reset(&out);
	CHECK_INTEQ(rfc2047_convert("ks_c_5601-1987", 14, "\xb0\xa1", 2, &out), 0);
	CHECK_STREQ(buf_cstr(&out), "\xea\xb0\x80");		/* alias to CP949 */
	buf_reset(&out);
	rfc2047_utf8_append("a\xc3\x28" "b\xf0\x9f\x98\x80", 8, &out);
	CHECK_STREQ(buf_cstr(&out), "a\xef\xbf\xbd(b\xf0\x9f\x98\x80");
	buf_free(&out);
}

/* Many "=?" without a closing "?=": must stay linear (this would take
 * minutes if every "=?" searched the rest of the value). */
TEST(no_quadratic_scan)
{
	struct buf in = BUF_INIT, out = BUF_INIT;

	for (int i = 0; i < 200000; i++)
		buf_appends(&in, "=?a?q?");
	rfc2047_decode(in.ptr, in.len, &out);
	CHECK_INTEQ(out.len, in.len);
	buf_free(&in);
	buf_free(&out);
}

/* Where mail-parser's result differs from ours, and why. */
static const char *const unstructured_known[] = {
	/* mail-parser puts a space between text and a glued encoded word */
	"[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb3JpZ2luYWwgc3ViamVjdA==?=\n",
	"[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb\n 3JpZ2luYWwgc3ViamVjdA==?=\n",
	"[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb\r\n 3JpZ2luYWwgc3ViamVjdA==?=\r\n",
	/* an empty encoded word between text and text: mail-parser leaves a
	 * space on both sides, we keep the one that was written */
	"Some text =?utf-8?Q?\?=here\n",
	NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static const char *headers_path;

/* The Stalwart vectors hold the rest of the message after the field; we
 * cut at the first line that does not continue it. */
static size_t field_len(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' && i + 1 < len && s[i + 1] != ' ' && s[i + 1] != '\t')
			return i + 1;
	return len;
}

TEST(stalwart_unstructured)
{
	struct suite_line l = { 0 };
	unsigned pass = 0, known = 0, fail = 0;
	FILE *fp = fopen(headers_path, "r");

	CHECK(fp != NULL);
	while (fp != NULL && suite_next(fp, &l)) {
		struct buf out = BUF_INIT;
		bool same, k;

		if (strcmp(l.kw, "unstructured") != 0 || l.n != 2)
			continue;
		rfc2047_decode(l.f[0].s, field_len(l.f[0].s, l.f[0].len), &out);
		same = strcmp(buf_cstr(&out), l.f[1].s) == 0;
		k = in_list(unstructured_known, l.f[0].s);
		pass += same && !k;
		known += !same && k;
		if (same == k) {
			fail++;
			fprintf(stderr, "%s %s\n  ours   %s\n  theirs %s\n",
				same ? "now agrees (drop from the list):" : "MISMATCH",
				l.f[0].s, buf_cstr(&out), l.f[1].s);
		}
		buf_free(&out);
	}
	if (fp != NULL)
		fclose(fp);
	free(l.raw);
	printf("stalwart unstructured: %u agree, %u known differences, %u mismatches\n",
	       pass, known, fail);
	CHECK(fail == 0 && pass > 0);
}

int main(int argc, char **argv)
{
	RUN(decode_table);
	RUN(convert);
	RUN(no_quadratic_scan);
	if (argc > 1) {
		headers_path = argv[1];
		RUN(stalwart_unstructured);
	}
	return test_summary();
}
