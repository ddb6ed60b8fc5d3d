/* Unit tests for src/mail/codec: base64, quoted-printable and Q decoding,
 * each incremental decoder fed in one call and one byte at a time. */
#include "harness.h"

#include "mail/codec.h"

struct codec_case {
	const char *in;
	const char *out;	/* expected output (NUL-free in these tables) */
	int ret;		/* expected *_finish / decode result */
};

static const struct codec_case b64_cases[] = {
	{ "", "", 0 },
	{ "TWFu", "Man", 0 },
	{ "TWE=", "Ma", 0 },
	{ "TQ==", "M", 0 },
	{ "TW\r\nFu\r\n", "Man", 0 },			/* line breaks skipped */
	{ " T W F u ", "Man", 0 },
	{ "aGVsbG8gd29ybGQ=", "hello world", 0 },
	{ "aGVsbG8*gd29ybGQ=", "hello world", -1 },	/* bad byte skipped */
	{ "TWE", "Ma", -1 },				/* cut quantum salvaged */
	{ "TQ", "M", -1 },
	{ "T", "", -1 },
	{ "TQ==TWFu", "M", -1 },			/* data after the end */
	{ "TQ==\r\n", "M", 0 },
	{ "TQ===", "M", 0 },
	{ "////", "\xff\xff\xff", 0 },
	{ "+++=", "\xfb\xef", 0 },
};

static const struct codec_case qp_cases[] = {
	{ "", "", 0 },
	{ "hello", "hello", 0 },
	{ "a=3Db", "a=b", 0 },
	{ "a=3db", "a=b", 0 },				/* lower case accepted */
	{ "caf=C3=A9", "caf\xc3\xa9", 0 },
	{ "soft=\r\nbreak", "softbreak", 0 },
	{ "soft=\nbreak", "softbreak", 0 },
	{ "soft= \t\r\nbreak", "softbreak", 0 },	/* padding after '=' */
	{ "line  \r\nnext", "line\r\nnext", 0 },	/* trailing ws dropped */
	{ "line \t\nnext", "line\r\nnext", 0 },		/* bare LF -> CRLF */
	{ "a b\r\n", "a b\r\n", 0 },
	{ "tail   ", "tail", 0 },
	{ "end=", "end", 0 },
	{ "a =\r\nb", "a b", 0 },			/* ws before '=' is text */
	{ "bad=ZZ", "bad=ZZ", -1 },
	{ "bad=4", "bad=4", -1 },
	{ "bad=4G", "bad=4G", -1 },
	{ "bad= x", "bad= x", -1 },
	{ "bare\rcr", "bare\rcr", 0 },
	{ "cr at end\r", "cr at end\r", 0 },
	{ "=\r", "=\r", -1 },
	{ "x=\rz", "x=\rz", -1 },
	{ "=41=42\r\n=43", "AB\r\nC", 0 },
};

static const struct codec_case q_cases[] = {
	{ "a_b", "a b", 0 },
	{ "=E9t=E9", "\xe9t\xe9", 0 },
	{ "x=4", "x=4", -1 },
	{ "x=", "x=", -1 },
	{ "x=G1", "x=G1", -1 },
	{ "", "", 0 },
};

static void check_b64(const struct codec_case *c)
{
	struct buf one = BUF_INIT, bytes = BUF_INIT;
	struct codec_b64 st;
	size_t len = strlen(c->in);
	int ret;

	codec_b64_init(&st);
	codec_b64_decode(&st, c->in, len, &one);
	CHECK_INTEQ(codec_b64_finish(&st, &one), c->ret);
	codec_b64_init(&st);
	for (size_t i = 0; i < len; i++)
		codec_b64_decode(&st, c->in + i, 1, &bytes);
	ret = codec_b64_finish(&st, &bytes);
	CHECK_INTEQ(ret, c->ret);
	CHECK_STREQ(buf_cstr(&one), c->out);
	CHECK_STREQ(buf_cstr(&bytes), c->out);
	if (strcmp(buf_cstr(&one), c->out) != 0)
		fprintf(stderr, "  base64 input: %s\n", c->in);
	buf_free(&one);
	buf_free(&bytes);
}

static void check_qp(const struct codec_case *c)
{
	struct buf one = BUF_INIT, bytes = BUF_INIT;
	struct codec_qp st;
	size_t len = strlen(c->in);

	codec_qp_init(&st);
	codec_qp_decode(&st, c->in, len, &one);
	CHECK_INTEQ(codec_qp_finish(&st, &one), c->ret);
	codec_qp_init(&st);
	for (size_t i = 0; i < len; i++)
		codec_qp_decode(&st, c->in + i, 1, &bytes);
	CHECK_INTEQ(codec_qp_finish(&st, &bytes), c->ret);
	CHECK_STREQ(buf_cstr(&one), c->out);
	CHECK_STREQ(buf_cstr(&bytes), c->out);
	if (strcmp(buf_cstr(&one), c->out) != 0)
		fprintf(stderr, "  qp input: %s\n", c->in);
	buf_free(&one);
	buf_free(&bytes);
}

TEST(base64_table)
{
	for (size_t i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++)
		check_b64(&b64_cases[i]);
}

TEST(qp_table)
{
	for (size_t i = 0; i < sizeof(qp_cases) / sizeof(qp_cases[0]); i++)
		check_qp(&qp_cases[i]);
}

TEST(q_table)
{
	for (size_t i = 0; i < sizeof(q_cases) / sizeof(q_cases[0]); i++) {
		struct buf out = BUF_INIT;

		CHECK_INTEQ(codec_q_decode(q_cases[i].in, strlen(q_cases[i].in),
					   &out), q_cases[i].ret);
		CHECK_STREQ(buf_cstr(&out), q_cases[i].out);
		buf_free(&out);
	}
}

/* Every byte value survives a base64 round trip through a known encoding,
 * and NULs in the output are kept (length, not strlen). */
TEST(base64_binary)
{
	static const char enc[] = "AAECA/8A";	/* 00 01 02 03 ff 00 */
	static const unsigned char want[] = { 0, 1, 2, 3, 0xff, 0 };
	struct buf out = BUF_INIT;

	CHECK_INTEQ(codec_b64_decode_all(enc, strlen(enc), &out), 0);
	CHECK_INTEQ(out.len, sizeof(want));
	CHECK(out.len == sizeof(want) && memcmp(out.ptr, want, out.len) == 0);
	buf_free(&out);
}

/* A run of white space longer than the hold-back buffer is flushed as
 * content rather than growing without bound. */
TEST(qp_long_whitespace)
{
	struct buf out = BUF_INIT;
	struct codec_qp st;
	char in[CODEC_QP_WS_MAX * 2 + 2];

	memset(in, ' ', sizeof(in));
	in[sizeof(in) - 2] = 'x';
	in[sizeof(in) - 1] = '\n';
	codec_qp_init(&st);
	codec_qp_decode(&st, in, sizeof(in), &out);
	CHECK_INTEQ(codec_qp_finish(&st, &out), 0);
	CHECK_INTEQ(out.len, sizeof(in) + 1);	/* LF became CRLF */
	CHECK(out.len > 2 && out.ptr[out.len - 3] == 'x');
	buf_free(&out);
}

int main(void)
{
	RUN(base64_table);
	RUN(qp_table);
	RUN(q_table);
	RUN(base64_binary);
	RUN(qp_long_whitespace);
	return test_summary();
}
