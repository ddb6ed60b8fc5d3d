/* Unit tests for src/imap: BODY, BODYSTRUCTURE, ENVELOPE and quoting.
 *
 *   test_imap_bodystructure               built-in tables
 *   test_imap_bodystructure DOVECOT.txt   also Dovecot's tables (generated
 *                                         by mime_suite_gen.py dovecot)
 *
 * Every message is checked as written (LF) and with CRLF line ends: IMAP
 * sizes count CRLF, so both must give the same strings. */
#include "harness.h"
#include "suite_io.h"

#include "imap/imap_bodystructure.h"
#include "imap/imap_envelope.h"
#include "imap/imap_quote.h"
#include "mail/mime.h"

/* BODY or BODYSTRUCTURE of the root of msg[0..len). */
static void structure_of(const char *msg, size_t len, bool ext,
			 const struct mime_limits *lim, struct buf *out)
{
	struct mime_message m;

	mime_parse(&m, msg, len, lim);
	buf_reset(out);
	imap_bodystructure_write(&m, m.root, ext, out);
	mime_message_free(&m);
}

static void envelope_of(const char *msg, size_t len, struct buf *out)
{
	struct mime_message m;

	mime_parse(&m, msg, len, NULL);
	buf_reset(out);
	imap_envelope_write(msg, m.root->body_off, out);
	mime_message_free(&m);
}

/* Compare in both line-end forms; print the message once on failure. */
static int check_structure(const char *msg, size_t len, bool ext,
			   const struct mime_limits *lim, const char *want)
{
	struct buf out = BUF_INIT;
	size_t clen;
	char *crlf = suite_crlf(msg, len, &clen);
	int bad = 0;

	structure_of(msg, len, ext, lim, &out);
	if (strcmp(buf_cstr(&out), want) != 0) {
		fprintf(stderr, "LF %s:\n  got  %s\n  want %s\n",
			ext ? "BODYSTRUCTURE" : "BODY", buf_cstr(&out), want);
		bad = 1;
	}
	structure_of(crlf, clen, ext, lim, &out);
	if (strcmp(buf_cstr(&out), want) != 0) {
		fprintf(stderr, "CRLF %s:\n  got  %s\n  want %s\n",
			ext ? "BODYSTRUCTURE" : "BODY", buf_cstr(&out), want);
		bad = 1;
	}
	free(crlf);
	buf_free(&out);
	return bad;
}

static int check_envelope(const char *msg, size_t len, const char *want)
{
	struct buf out = BUF_INIT;
	size_t clen;
	char *crlf = suite_crlf(msg, len, &clen);
	int bad = 0;

	envelope_of(msg, len, &out);
	if (strcmp(buf_cstr(&out), want) != 0)
		bad = 1;
	if (bad)
		fprintf(stderr, "ENVELOPE:\n  got  %s\n  want %s\n", buf_cstr(&out), want);
	envelope_of(crlf, clen, &out);
	if (strcmp(buf_cstr(&out), want) != 0) {
		fprintf(stderr, "CRLF ENVELOPE:\n  got  %s\n  want %s\n", buf_cstr(&out), want);
		bad = 1;
	}
	free(crlf);
	buf_free(&out);
	return bad;
}

struct bs_case {
	const char *msg;
	const char *body;		/* NULL: not checked */
	const char *bodystructure;
	unsigned max_depth, max_parts;	/* 0: default */
};

static const struct bs_case bs_cases[] = {
	/* No header at all: text/plain us-ascii, 7bit. */
	{ "\nhello\n",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1",
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL", 0, 0 },
	/* Content-Transfer-Encoding without MIME-Version or Content-Type is
	 * not MIME (Dovecot), so it does not count. */
	{ "Subject: x\nContent-Transfer-Encoding: base64\n\naGk=\n", NULL,
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL", 0, 0 },
	/* Broken Content-Type: RFC 2045 §5.2 default. */
	{ "MIME-Version: 1.0\nContent-Type: text\n\nx\n", NULL,
	  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL", 0, 0 },
	/* Case kept, RFC 2231 continuation joined and decoded. */
	{ "MIME-Version: 1.0\nContent-Type: Application/PDF;\n name*0*=utf-8''%E2%82%AC;\n name*1=\".pdf\"\n"
	  "Content-Disposition: attachment; filename=\"a \\\"b\\\".pdf\"\n\nx",
	  NULL,
	  "\"Application\" \"PDF\" (\"name\" {7}\r\n\xe2\x82\xac.pdf) NIL NIL \"7bit\" 1 NIL "
	  "(\"attachment\" (\"filename\" \"a \\\"b\\\".pdf\")) NIL NIL", 0, 0 },
	/* A multipart without a boundary parameter has no parts. */
	{ "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--x\n\nhi\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\"",
	  NULL, 0, 0 },
	/* multipart/digest: parts default to message/rfc822. */
	{ "MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nb\n--d--\n",
	  "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) 2) \"digest\"",
	  NULL, 0, 0 },
	/* Depth limit: the inner multipart becomes application/octet-stream. */
	{ "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n"
	  "--b\n\nbody\n--b--\n--a--\n",
	  NULL,
	  "(\"application\" \"octet-stream\" (\"boundary\" \"b\") NIL NIL \"7bit\" 18 NIL NIL NIL NIL) "
	  "\"mixed\" (\"boundary\" \"a\") NIL NIL NIL", 2, 0 },
	/* Depth limit on message/rfc822. */
	{ "Content-Type: message/rfc822\n\nSubject: hi\n\nbody\n",
	  "\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 21 (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1) 3",
	  NULL, 2, 0 },
	{ "Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nSubject: hi\n\nbody\n",
	  "\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 53 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	  "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 21) 5",
	  NULL, 2, 0 },
	/* Part limit: no boundary is recognised once it is reached. */
	{ "Content-Type: multipart/mixed; boundary=p\n\n--p\n\none\n--p\n\ntwo\n--p--\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 24 5) \"mixed\"",
	  NULL, 0, 2 },
	/* An outer boundary ends an inner part, even inside its header. */
	{ "Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/alternative; boundary=in\n\n"
	  "--in\nContent-Type: text/html\n--out\nContent-Type: image/gif\n\nGIF\n--out--\n",
	  "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"alternative\")"
	  "(\"image\" \"gif\" NIL NIL NIL \"7bit\" 3) \"mixed\"",
	  NULL, 0, 0 },
	/* Boundary prefix match: "--b2" belongs to b2, not b (longest wins),
	 * and trailing text after a boundary is ignored. */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b junk\nContent-Type: multipart/mixed; boundary=b2\n\n"
	  "--b2\n\nx\n--b2--\n--b--\n",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\") \"mixed\"",
	  NULL, 0, 0 },
	/* Content-Language list, location, MD5 and description with a fold. */
	{ "MIME-Version: 1.0\nContent-Type: text/plain; charset=\"UTF-8\"\nContent-Language: en (English), de\n"
	  "Content-Location: http://x/\nContent-MD5: abc=\nContent-Description: two\n lines\n\nx\n",
	  NULL,
	  "\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL \"two lines\" \"7bit\" 3 1 \"abc=\" NIL (\"en\" \"de\") \"http://x/\"", 0, 0 },
};

TEST(bodystructure_table)
{
	for (size_t i = 0; i < sizeof(bs_cases) / sizeof(bs_cases[0]); i++) {
		const struct bs_case *c = &bs_cases[i];
		struct mime_limits lim;
		int bad = 0;

		mime_limits_default(&lim);
		if (c->max_depth)
			lim.max_depth = c->max_depth;
		if (c->max_parts)
			lim.max_parts = c->max_parts;
		if (c->body != NULL)
			bad |= check_structure(c->msg, strlen(c->msg), false, &lim, c->body);
		if (c->bodystructure != NULL)
			bad |= check_structure(c->msg, strlen(c->msg), true, &lim,
					       c->bodystructure);
		CHECK(!bad);
		if (bad)
			fprintf(stderr, "  (built-in case %zu)\n", i);
	}
}

struct env_case {
	const char *hdr;
	const char *envelope;
};

static const struct env_case env_cases[] = {
	{ "Subject: =?utf-8?q?caf=C3=A9?=\n  folded\n\n",
	  "NIL {28}\r\n=?utf-8?q?caf=C3=A9?= folded NIL NIL NIL NIL NIL NIL NIL NIL" },
	{ "From: \"Doe, J\\\"ohn\" <j@x>\nTo: undisclosed-recipients:;\n\n",
	  "NIL NIL (({10}\r\nDoe, J\"ohn NIL \"j\" \"x\")) (({10}\r\nDoe, J\"ohn NIL \"j\" \"x\")) "
	  "(({10}\r\nDoe, J\"ohn NIL \"j\" \"x\")) ((NIL NIL \"undisclosed-recipients\" NIL)"
	  "(NIL NIL NIL NIL)) NIL NIL NIL NIL" },
	{ "From: Whomever\nTo: Real Name\nCc: <>\n\n",
	  "NIL NIL ((NIL NIL \"Whomever\" \"MISSING_DOMAIN\")) ((NIL NIL \"Whomever\" \"MISSING_DOMAIN\")) "
	  "((NIL NIL \"Whomever\" \"MISSING_DOMAIN\")) ((\"Real Name\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	  "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL NIL" },
	/* Two From fields merge; the last Subject wins. */
	{ "From: a@b\nSubject: one\nFrom: c@d\nSubject: two\n\n",
	  "NIL \"two\" ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
	  "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL" },
	{ "To: a@[192.0.2.1], \"quoted local\"@x (comment)\n\n",
	  "NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"[192.0.2.1]\")(\"comment\" NIL \"quoted local\" \"x\")) NIL NIL NIL NIL" },
};

TEST(envelope_table)
{
	for (size_t i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
		int bad = check_envelope(env_cases[i].hdr, strlen(env_cases[i].hdr),
					 env_cases[i].envelope);

		CHECK(!bad);
		if (bad)
			fprintf(stderr, "  (built-in envelope case %zu)\n", i);
	}
}

TEST(quote)
{
	struct buf b = BUF_INIT;

	imap_quote_nstring(&b, NULL);
	buf_appendc(&b, ' ');
	imap_quote_string(&b, "a\"b\\", 4);
	buf_appendc(&b, ' ');
	imap_quote_string(&b, "\"\"\"\"\"", 5);		/* 5 escapes: literal */
	buf_appendc(&b, ' ');
	imap_quote_nstring_nolf(&b, "a\r\n b\nc\r\n");
	buf_appendc(&b, ' ');
	imap_quote_human(&b, "  x \t y  ", 9);
	buf_appendc(&b, ' ');
	imap_quote_human(&b, " \t ", 3);
	CHECK_STREQ(buf_cstr(&b), "NIL \"a\\\"b\\\\\" {5}\r\n\"\"\"\"\" \"a b c\" {3}\r\nx y \"\"");
	buf_free(&b);
}

/* The Dovecot tables (argv[1]): every line must pass. */
static const char *dovecot_path;

TEST(dovecot_tables)
{
	struct suite_line l = { 0 };
	unsigned pass = 0, fail = 0;
	FILE *fp = fopen(dovecot_path, "r");
	int bad;

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	while (suite_next(fp, &l)) {
		if (strcmp(l.kw, "bs") == 0 && l.n == 3) {
			bad = check_structure(l.f[0].s, l.f[0].len, false, NULL, l.f[1].s);
			bad |= check_structure(l.f[0].s, l.f[0].len, true, NULL, l.f[2].s);
		} else if (strcmp(l.kw, "env") == 0 && l.n == 2) {
			bad = check_envelope(l.f[0].s, l.f[0].len, l.f[1].s);
		} else {
			continue;
		}
		if (bad)
			fail++;
		else
			pass++;
	}
	fclose(fp);
	free(l.raw);
	printf("dovecot tables: %u passed, %u failed\n", pass, fail);
	CHECK(fail == 0 && pass > 0);
}

int main(int argc, char **argv)
{
	RUN(bodystructure_table);
	RUN(envelope_table);
	RUN(quote);
	if (argc > 1) {
		dovecot_path = argv[1];
		RUN(dovecot_tables);
	}
	return test_summary();
}
