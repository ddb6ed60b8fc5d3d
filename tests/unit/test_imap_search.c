/* Unit tests for src/imap/imap_search: every search key of RFC 3501 /
 * RFC 9051, MODSEQ (RFC 7162), "$" (RFC 5182), groups, dates, limits and
 * the SEARCH commands of the James MPT scripts, parsed through
 * imap_parser first as the server will. */
#include "harness.h"

#include <stdlib.h>

#include "imap/imap_parser.h"
#include "imap/imap_search.h"

struct scase {
	const char *keys;	/* after "t SEARCH " */
	const char *want;	/* the dump, or "!reason-substring" */
};

static const struct scase cases[] = {
	{ "ALL", "(AND (ALL))" },
	{ "answered deleted DRAFT Flagged SEEN RECENT",
	  "(AND (FLAG ANSWERED) (FLAG DELETED) (FLAG DRAFT) (FLAG FLAGGED) "
	  "(FLAG SEEN) (FLAG RECENT))" },
	{ "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
	  "(AND (NOT (FLAG ANSWERED)) (NOT (FLAG DELETED)) (NOT (FLAG DRAFT)) "
	  "(NOT (FLAG FLAGGED)) (NOT (FLAG SEEN)))" },
	{ "NEW OLD", "(AND (AND (FLAG RECENT) (NOT (FLAG SEEN))) (NOT (FLAG RECENT)))" },
	{ "BCC a CC \"b c\" FROM {3}\r\nd e SUBJECT \"\" TO NIL",
	  "(AND (HEADER Bcc \"a\") (HEADER Cc \"b c\") (HEADER From \"d e\") "
	  "(HEADER Subject \"\") (HEADER To \"NIL\"))" },
	{ "HEADER Delivered-To example.org HEADER \"X-Spam\" \"\"",
	  "(AND (HEADER Delivered-To \"example.org\") (HEADER X-Spam \"\"))" },
	{ "BODY \"limping sway\" TEXT o",
	  "(AND (BODY \"limping sway\") (TEXT \"o\"))" },
	{ "KEYWORD $Forwarded UNKEYWORD Junk",
	  "(AND (KEYWORD \"$Forwarded\") (NOT (KEYWORD \"Junk\")))" },
	{ "BEFORE 1-Feb-1994 ON \"29-feb-2000\" SINCE 01-JAN-1970",
	  "(AND (BEFORE 1994-02-01) (ON 2000-02-29) (SINCE 1970-01-01))" },
	{ "SENTBEFORE 31-Dec-1969 SENTON 8-Apr-2008 SENTSINCE 31-Dec-9999",
	  "(AND (SENTBEFORE 1969-12-31) (SENTON 2008-04-08) "
	  "(SENTSINCE 9999-12-31))" },
	{ "SAVEDBEFORE 1-Mar-2020 SAVEDON 2-Mar-2020 SAVEDSINCE 3-Mar-2020 "
	  "SAVEDATESUPPORTED",
	  "(AND (SAVEDBEFORE 2020-03-01) (SAVEDON 2020-03-02) "
	  "(SAVEDSINCE 2020-03-03) (SAVEDATESUPPORTED))" },
	{ "LARGER 1000 SMALLER 0", "(AND (LARGER 1000) (SMALLER 0))" },
	{ "LARGER 9223372036854775807", "(AND (LARGER 9223372036854775807))" },
	{ "1,3:5 *:10 $ UID 1:* UID $",
	  "(AND (SEQ 1,3:5) (SEQ *:10) (SEQ $) (UID *:1) (UID $))" },
	{ "NOT NOT SEEN", "(AND (NOT (NOT (FLAG SEEN))))" },
	{ "OR SEEN FLAGGED", "(AND (OR (FLAG SEEN) (FLAG FLAGGED)))" },
	{ "OR (FROM o TO o) (HEADER Delivered-To \"\" DRAFT) DELETED",
	  "(AND (OR (AND (HEADER From \"o\") (HEADER To \"o\")) "
	  "(AND (HEADER Delivered-To \"\") (FLAG DRAFT))) (FLAG DELETED))" },
	{ "((SEEN))", "(AND (AND (AND (FLAG SEEN))))" },
	{ "MODSEQ 0", "(AND (MODSEQ 0))" },
	{ "MODSEQ \"/flags/\\\\draft\" all 620162338",
	  "(AND (MODSEQ 620162338 \"/flags/\\draft\" 3))" },
	{ "MODSEQ \"/flags/$Junk\" PRIV 5", "(AND (MODSEQ 5 \"/flags/$Junk\" 1))" },
	{ "MODSEQ \"/flags/x\" shared 5", "(AND (MODSEQ 5 \"/flags/x\" 2))" },
	/* errors */
	{ "BOGUS", "!Unknown search key" },
	{ "\"ALL\"", "!Unknown search key" },
	{ "0", "!Unknown search key" },
	{ "1:", "!Unknown search key" },
	{ "FROM", "!Missing search argument" },
	{ "OR SEEN", "!Missing search argument" },
	{ "NOT", "!Missing search argument" },
	{ "FROM (a)", "!Invalid search string" },
	{ "HEADER \"a b\" x", "!Invalid header field name" },
	{ "HEADER From: x", "!Invalid header field name" },
	{ "HEADER \"\" x", "!Invalid header field name" },
	{ "KEYWORD \\Seen", "!Invalid keyword" },
	{ "KEYWORD \"foo\"", "!Invalid keyword" },
	{ "KEYWORD a*", "!Invalid keyword" },
	{ "BEFORE 1-Feb-94", "!Invalid search date" },
	{ "BEFORE 30-Feb-2000", "!Invalid search date" },
	{ "BEFORE 29-Feb-1900", "!Invalid search date" },
	{ "BEFORE 0-Feb-2000", "!Invalid search date" },
	{ "BEFORE 123-Feb-2000", "!Invalid search date" },
	{ "BEFORE 1-Fev-2000", "!Invalid search date" },
	{ "BEFORE 1-Feb-2000x", "!Invalid search date" },
	{ "BEFORE 1/Feb/2000", "!Invalid search date" },
	{ "BEFORE -Feb-2000", "!Invalid search date" },
	{ "BEFORE 1-Feb-20a0", "!Invalid search date" },
	{ "LARGER x", "!Invalid number" },
	{ "LARGER -1", "!Invalid number" },
	{ "LARGER \"5\"", "!Invalid number" },
	{ "LARGER 9223372036854775808", "!Invalid number" },
	{ "UID 0", "!Invalid sequence set" },
	{ "UID 4294967296", "!Invalid sequence set" },
	{ "UID \"1\"", "!Invalid sequence set" },
	{ "UID ALL", "!Invalid sequence set" },
	{ "MODSEQ \"/flags/x\" 5", "!Invalid MODSEQ entry type" },
	{ "MODSEQ \"/flags/x\" mine 5", "!Invalid MODSEQ entry type" },
	{ "MODSEQ \"/other\" all 5", "!Invalid MODSEQ entry name" },
	{ "MODSEQ", "!Missing search argument" },
	{ "()", "!Empty search key list" },
	{ "(SEEN) ()", "!Empty search key list" },
	{ "SEEN (FROM)", "!Missing search argument" },
};

/* Parse "t SEARCH <keys>\r\n" and the keys. */
static char *search(const char *keys, size_t keys_len, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, false);
	struct imap_search_node *root = NULL;
	struct buf line = BUF_INIT;
	const char *error = NULL;
	size_t used, pos = 0;
	enum imap_parse_status st;

	buf_appends(&line, "t SEARCH ");
	buf_append(&line, keys, keys_len);
	buf_appends(&line, "\r\n");
	do {
		st = imap_parser_feed(p, line.ptr + pos, line.len - pos, &used);
		pos += used;
	} while (st == IMAP_PARSE_CONTINUE);
	if (st != IMAP_PARSE_DONE) {
		buf_appends(out, "parse error");
	} else if (imap_search_parse(imap_parser_command(p)->args,
				     imap_parser_command(p)->count, &root,
				     &error) < 0) {
		buf_printf(out, "!%s", error);
	} else {
		imap_search_dump(root, out);
		imap_search_free(root);
	}
	buf_free(&line);
	imap_parser_free(p);
	return out->ptr;
}

TEST(table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf out = BUF_INIT;
		search(cases[i].keys, strlen(cases[i].keys), &out);
		CHECK_STREQ(buf_cstr(&out), cases[i].want);
		buf_free(&out);
	}
}

TEST(nul_in_string)
{
	static const char keys[] = "FROM ~{3}\r\na\0b";
	struct buf out = BUF_INIT;

	CHECK_STREQ(search(keys, sizeof(keys) - 1, &out), "!NUL in search string");
	buf_free(&out);
}

TEST(dates)
{
	int32_t d = 12345;

	CHECK_INTEQ(imap_search_parse_date("1-Jan-1970", 10, &d), 0);
	CHECK_INTEQ(d, 0);
	CHECK_INTEQ(imap_search_parse_date("1-Feb-1994", 10, &d), 0);
	CHECK_INTEQ(d, 8797);
	CHECK_INTEQ(imap_search_parse_date("29-Feb-2000", 11, &d), 0);
	CHECK_INTEQ(d, 11016);
	CHECK_INTEQ(imap_search_parse_date("31-Dec-1969", 11, &d), 0);
	CHECK_INTEQ(d, -1);
	CHECK_INTEQ(imap_search_parse_date("01-Jan-0001", 11, &d), 0);
	CHECK_INTEQ(d, -719162);
	CHECK_INTEQ(imap_search_parse_date("31-dec-9999", 11, &d), 0);
	CHECK_INTEQ(d, 2932896);
	CHECK_INTEQ(imap_search_parse_date("", 0, &d), -1);
	CHECK_INTEQ(imap_search_parse_date("1-Feb-1994", 9, &d), -1);
	CHECK_INTEQ(imap_search_parse_date("31-Apr-2020", 11, &d), -1);
	CHECK_INTEQ(imap_search_parse_date("29-Feb-2023", 11, &d), -1);
	CHECK_INTEQ(imap_search_parse_date("29-Feb-2024", 11, &d), 0);
}

/* Limits: nesting and key count are bounded. */
TEST(limits)
{
	struct buf keys = BUF_INIT, out = BUF_INIT;

	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX - 1; i++)
		buf_appends(&keys, "NOT ");
	buf_appends(&keys, "SEEN");
	search(keys.ptr, keys.len, &out);
	CHECK(out.ptr[0] == '(');
	buf_reset(&out);
	buf_reset(&keys);
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX; i++)
		buf_appends(&keys, "NOT ");
	buf_appends(&keys, "SEEN");
	CHECK_STREQ(search(keys.ptr, keys.len, &out), "!Search keys nested too deep");
	buf_reset(&out);
	buf_reset(&keys);
	for (int i = 0; i < IMAP_SEARCH_KEYS_MAX; i++)
		buf_appends(&keys, "SEEN ");
	search(keys.ptr, keys.len, &out);
	CHECK(out.ptr[0] == '(');
	buf_reset(&out);
	buf_appends(&keys, "SEEN");
	CHECK_STREQ(search(keys.ptr, keys.len, &out), "!Too many search keys");
	buf_free(&keys);
	buf_free(&out);
}

/* The SEARCH and UID SEARCH commands of the James MPT scripts. */
#define MPT_DIR SOURCE_ROOT "/../shared/conformance/imap/james-mpt/scripts"

TEST(james_mpt_searches)
{
	FILE *f = popen("cat " MPT_DIR "/*.test 2>/dev/null", "r");
	char line[8192];
	unsigned n = 0, bad = 0;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = strstr(line, " SEARCH ");
		struct buf out = BUF_INIT;

		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "C: ", 3) != 0 || s == NULL ||
		    strstr(line, "CHARSET") || strstr(line, "RETURN"))
			continue;
		n++;
		search(s + 8, strlen(s + 8), &out);
		if (out.ptr[0] != '(') {
			fprintf(stderr, "  %s: %s\n", line, out.ptr);
			bad++;
		}
		buf_free(&out);
	}
	pclose(f);
	if (n == 0) {
		printf("james-mpt scripts not found: skipped\n");
		return;
	}
	printf("james-mpt: %u SEARCH commands\n", n);
	CHECK(n >= 100);
	CHECK_INTEQ(bad, 0);
}

int main(void)
{
	RUN(table);
	RUN(nul_in_string);
	RUN(dates);
	RUN(limits);
	RUN(james_mpt_searches);
	return test_summary();
}
