/* Unit tests for src/imap/imap_section: section-spec parsing, part
 * numbering, BODY[section]<partial> bytes with LF -> CRLF, BINARY. */
#include "harness.h"

#include "imap/imap_section.h"

/* LF line ends on purpose: IMAP must see CRLF. */
static const char test_msg[] =
	"From: a@b\n"
	"Subject: test\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=x\n"
	"\n"
	"preamble\n"
	"--x\n"
	"Content-Type: text/plain\n"
	"\n"
	"part one\n"
	"--x\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: inner\n"
	"X-Other: y\n"
	"  folded\n"
	"Content-Type: multipart/alternative; boundary=y\n"
	"\n"
	"--y\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"aGVs\n"
	"bG8=\n"
	"--y\n"
	"\n"
	"t\x00o\n"
	"--y--\n"
	"--x--\n";

static const char inner_hdr[] =
	"Subject: inner\r\nX-Other: y\r\n  folded\r\n"
	"Content-Type: multipart/alternative; boundary=y\r\n\r\n";

struct fetch_case {
	const char *spec;
	const char *partial;	/* NULL: none */
	const char *want;	/* NULL: the whole message with CRLF */
};

static const struct fetch_case fetch_cases[] = {
	{ "", NULL, NULL },
	{ "", "<0.4>", "From" },
	{ "", "<9.1>", "\r" },		/* the CR added before LF */
	{ "", "<10.1>", "\n" },
	{ "", "<9.4>", "\r\nSu" },
	{ "", "<100000.5>", "" },
	{ "HEADER", NULL, "From: a@b\r\nSubject: test\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/mixed; boundary=x\r\n\r\n" },
	{ "header.fields (subject FROM)", NULL, "From: a@b\r\nSubject: test\r\n\r\n" },
	{ "HEADER.FIELDS.NOT (From Subject Content-Type)", NULL, "MIME-Version: 1.0\r\n\r\n" },
	{ "HEADER.FIELDS (X-Nothing)", NULL, "\r\n" },
	{ "1", NULL, "part one" },
	{ "1", "<5.100>", "one" },
	{ "1.MIME", NULL, "Content-Type: text/plain\r\n\r\n" },
	{ "1.HEADER", NULL, "" },		/* not message/rfc822 */
	{ "1.1", NULL, "part one" },		/* "1" of a leaf is itself */
	{ "1.2", NULL, "" },
	{ "3", NULL, "" },
	{ "2.HEADER", NULL, inner_hdr },
	{ "2.HEADER.FIELDS (\"X-OTHER\")", NULL, "X-Other: y\r\n  folded\r\n\r\n" },
	{ "2.HEADER.FIELDS.NOT (content-type subject)", NULL, "X-Other: y\r\n  folded\r\n\r\n" },
	{ "2.MIME", NULL, "Content-Type: message/rfc822\r\n\r\n" },
	{ "2.1", NULL, "aGVs\r\nbG8=" },
	{ "2.1.MIME", NULL, "Content-Transfer-Encoding: base64\r\n\r\n" },
	{ "2.1.1", NULL, "aGVs\r\nbG8=" },	/* "1" of a leaf is itself */
	{ "2.2", NULL, "t\x80o" },		/* NUL sent as 0x80 */
	{ "2.2.MIME", NULL, "\r\n" },
	{ "2.3", NULL, "" },
	{ "2.TEXT", NULL, "--y\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n"
	  "--y\r\n\r\nt\x80o\r\n--y--\r\n" },	/* epilogue: the LF before --x-- */
};

/* The section as a client would receive it. */
static void fetch(const struct mime_message *m, const struct fetch_case *c,
		  struct buf *out)
{
	struct imap_section sec;
	struct imap_section_data d;
	const char *err;
	uint64_t off = 0, len = UINT64_MAX;

	CHECK_INTEQ(imap_section_parse(c->spec, strlen(c->spec), &sec, &err), 0);
	if (c->partial != NULL) {
		CHECK_INTEQ(imap_section_parse_partial(c->partial, strlen(c->partial),
						       &sec, &err), 0);
		off = sec.partial_off;
		len = sec.partial_len;
	}
	imap_section_resolve(m, &sec, &d);
	if (c->partial == NULL)
		CHECK_INTEQ(imap_section_size(m, &d), strlen(c->want ? c->want : ""));
	imap_section_write(m, &d, off, len, out);
	imap_section_data_free(&d);
	imap_section_free(&sec);
}

TEST(fetch_table)
{
	struct mime_message m;
	struct buf crlf = BUF_INIT;

	mime_parse(&m, test_msg, sizeof(test_msg) - 1, NULL);
	mime_append_crlf(test_msg, sizeof(test_msg) - 1, &crlf);
	for (size_t i = 0; i < sizeof(fetch_cases) / sizeof(fetch_cases[0]); i++) {
		struct fetch_case c = fetch_cases[i];
		struct buf got = BUF_INIT;

		for (size_t j = 0; j < crlf.len; j++)
			if (crlf.ptr[j] == '\0')
				crlf.ptr[j] = (char)0x80;
		if (c.want == NULL)
			c.want = crlf.ptr;
		fetch(&m, &c, &got);
		CHECK_INTEQ(got.len, strlen(c.want));
		CHECK_STREQ(buf_cstr(&got), c.want);
		if (strcmp(buf_cstr(&got), c.want) != 0)
			fprintf(stderr, "  section [%s]%s\n", c.spec, c.partial ? c.partial : "");
		buf_free(&got);
	}
	buf_free(&crlf);
	mime_message_free(&m);
}

/* Every window <off.len> of BODY[] equals the same slice of the CRLF
 * message: partial arithmetic across inserted CRs. */
TEST(partial_windows)
{
	struct mime_message m;
	struct imap_section sec;
	struct imap_section_data d;
	struct buf crlf = BUF_INIT;
	const char *err;
	int bad = 0;

	mime_parse(&m, test_msg, sizeof(test_msg) - 1, NULL);
	mime_append_crlf(test_msg, sizeof(test_msg) - 1, &crlf);
	for (size_t j = 0; j < crlf.len; j++)
		if (crlf.ptr[j] == '\0')
			crlf.ptr[j] = (char)0x80;
	CHECK_INTEQ(imap_section_parse("", 0, &sec, &err), 0);
	imap_section_resolve(&m, &sec, &d);
	CHECK_INTEQ(imap_section_size(&m, &d), crlf.len);
	static const size_t lens[] = { 1, 2, 3, 4, 5, 6, 7, 50, 1000000 };

	for (size_t off = 0; off <= crlf.len; off++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			size_t len = lens[k];
			struct buf got = BUF_INIT;
			size_t want = off < crlf.len ? crlf.len - off : 0;

			want = want < len ? want : len;
			imap_section_write(&m, &d, off, len, &got);
			bad |= got.len != want ||
			       (want > 0 && memcmp(got.ptr, crlf.ptr + off, want) != 0);
			buf_free(&got);
		}
	}
	CHECK(!bad);
	imap_section_data_free(&d);
	buf_free(&crlf);
	mime_message_free(&m);
}

TEST(binary)
{
	struct mime_message m;
	struct imap_section sec;
	struct buf out = BUF_INIT;
	const char *err = NULL;

	mime_parse(&m, test_msg, sizeof(test_msg) - 1, NULL);
	CHECK_INTEQ(imap_section_parse("2.1", 3, &sec, &err), 0);
	CHECK_INTEQ(imap_section_binary(&m, &sec, &out, &err), 0);
	CHECK_STREQ(buf_cstr(&out), "hello");
	buf_reset(&out);
	CHECK_INTEQ(imap_section_parse_partial("<1.3>", 5, &sec, &err), 0);
	CHECK_INTEQ(imap_section_binary(&m, &sec, &out, &err), 0);
	CHECK_STREQ(buf_cstr(&out), "ell");
	buf_reset(&out);
	CHECK_INTEQ(imap_section_parse("2.2", 3, &sec, &err), 0);
	CHECK_INTEQ(imap_section_binary(&m, &sec, &out, &err), 0);
	CHECK(out.len == 3 && memcmp(out.ptr, "t\0o", 3) == 0);	/* NUL kept */
	buf_reset(&out);
	CHECK_INTEQ(imap_section_parse("9", 1, &sec, &err), 0);
	CHECK_INTEQ(imap_section_binary(&m, &sec, &out, &err), 0);
	CHECK_INTEQ(out.len, 0);
	CHECK_INTEQ(imap_section_parse("1.MIME", 6, &sec, &err), 0);
	CHECK_INTEQ(imap_section_binary(&m, &sec, &out, &err), -1);
	mime_message_free(&m);
	buf_free(&out);
}

struct parse_case {
	const char *spec;
	int ret;
	unsigned nparts;
	enum imap_section_text text;
	unsigned nfields;
};

static const struct parse_case parse_cases[] = {
	{ "", 0, 0, IMAP_SECTION_BODY, 0 },
	{ "1.2.3", 0, 3, IMAP_SECTION_BODY, 0 },
	{ "TEXT", 0, 0, IMAP_SECTION_TEXT, 0 },
	{ "4.Mime", 0, 1, IMAP_SECTION_MIME, 0 },
	{ "1.HEADER.FIELDS (A \"B C\" D])", 0, 1, IMAP_SECTION_HEADER_FIELDS, 3 },
	{ "HEADER.FIELDS.NOT (A)", 0, 0, IMAP_SECTION_HEADER_FIELDS_NOT, 1 },
	{ "4294967295", 0, 1, IMAP_SECTION_BODY, 0 },
	{ "MIME", -1, 0, 0, 0 },		/* MIME needs a part */
	{ "0", -1, 0, 0, 0 },
	{ "01", -1, 0, 0, 0 },
	{ "1.", -1, 0, 0, 0 },
	{ ".1", -1, 0, 0, 0 },
	{ "1..2", -1, 0, 0, 0 },
	{ "1HEADER", -1, 0, 0, 0 },
	{ "1.HEADER.", -1, 0, 0, 0 },
	{ "4294967296", -1, 0, 0, 0 },
	{ "HEADER.FIELDS", -1, 0, 0, 0 },
	{ "HEADER.FIELDS ()", -1, 0, 0, 0 },
	{ "HEADER.FIELDS (A", -1, 0, 0, 0 },
	{ "HEADER.FIELDS (\"A)", -1, 0, 0, 0 },
	{ "HEADER.FIELDS (A  B)", -1, 0, 0, 0 },
	{ "HEADER.FIELDS (A) x", -1, 0, 0, 0 },
	{ "BODY", -1, 0, 0, 0 },
};

TEST(parse_table)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct imap_section sec;
		const char *err = NULL;
		int ret = imap_section_parse(c->spec, strlen(c->spec), &sec, &err);

		CHECK_INTEQ(ret, c->ret);
		if (ret != c->ret)
			fprintf(stderr, "  section [%s]\n", c->spec);
		if (ret == 0 && c->ret == 0) {
			CHECK_INTEQ(sec.nparts, c->nparts);
			CHECK_INTEQ(sec.text, c->text);
			CHECK_INTEQ(sec.nfields, c->nfields);
			imap_section_free(&sec);
		} else {
			CHECK(err != NULL);
		}
	}
}

TEST(parse_limits)
{
	struct imap_section sec;
	struct buf s = BUF_INIT;
	const char *err;

	for (int i = 0; i < IMAP_SECTION_DEPTH_MAX + 1; i++)
		buf_appends(&s, i ? ".1" : "1");
	CHECK_INTEQ(imap_section_parse(s.ptr, s.len, &sec, &err), -1);
	buf_reset(&s);
	buf_appends(&s, "HEADER.FIELDS (");
	for (int i = 0; i < IMAP_SECTION_FIELDS_MAX + 1; i++)
		buf_printf(&s, "%sF%d", i ? " " : "", i);
	buf_appends(&s, ")");
	CHECK_INTEQ(imap_section_parse(s.ptr, s.len, &sec, &err), -1);
	CHECK_INTEQ(sec.nfields, 0);		/* freed on error */
	CHECK_INTEQ(imap_section_parse_partial("<1.0>", 5, &sec, &err), -1);
	CHECK_INTEQ(imap_section_parse_partial("<1>", 3, &sec, &err), -1);
	CHECK_INTEQ(imap_section_parse_partial("<18446744073709551616.1>", 24, &sec, &err), -1);
	CHECK_INTEQ(imap_section_parse_partial("<18446744073709551615.1>", 24, &sec, &err), 0);
	buf_free(&s);
}

int main(void)
{
	RUN(fetch_table);
	RUN(partial_windows);
	RUN(binary);
	RUN(parse_table);
	RUN(parse_limits);
	return test_summary();
}
