/* Unit tests for src/smtp/smtp_data: DATA/BDAT decoding, dot-unstuffing,
 * bare CR/LF, limits, and the SMTP smuggling sequences of
 * conformance/smtp/smuggling/cases.json. */
#include "harness.h"

#include <stdlib.h>

#include "smtp/smtp_data.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif
/* the shared conformance data sits beside the work tree (DESIGN §7) */
#define CASES_JSON SOURCE_ROOT "/../shared/conformance/smtp/smuggling/cases.json"

static const struct smtp_data_limits lim_norm = { SMTP_DATA_LINE_MAX, 0, SMTP_BARE_NORMALIZE };
static const struct smtp_data_limits lim_rej = { SMTP_DATA_LINE_MAX, 0, SMTP_BARE_REJECT };

struct run {
	struct smtp_data d;
	struct buf out;
	size_t consumed;
};

/* Feed in[0..len) in pieces of `step` octets (0 = one go) until done. */
static void run_feed(struct run *r, const struct smtp_data_limits *lim,
		     bool bdat, const char *in, size_t len, size_t step)
{
	buf_init(&r->out);
	smtp_data_init(&r->d, lim, bdat);
	r->consumed = 0;
	while (r->consumed < len && !r->d.done) {
		size_t n = step == 0 || len - r->consumed < step ? len - r->consumed : step;
		size_t used = smtp_data_feed(&r->d, in + r->consumed, n, &r->out);

		CHECK(used <= n);
		CHECK(used == n || r->d.done);
		r->consumed += used;
	}
}

/* True when every CR is followed by LF and every LF preceded by CR. */
static bool only_crlf(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->ptr[i] == '\r' && (i + 1 >= b->len || b->ptr[i + 1] != '\n'))
			return false;
		if (b->ptr[i] == '\n' && (i == 0 || b->ptr[i - 1] != '\r'))
			return false;
	}
	return true;
}

static bool buf_has(const struct buf *b, const char *needle)
{
	return b->len > 0 && memmem(b->ptr, b->len, needle, strlen(needle)) != NULL;
}

static bool same_run(const struct run *a, const struct run *b)
{
	return a->consumed == b->consumed && a->d.done == b->d.done &&
	       a->d.bare_newline == b->d.bare_newline &&
	       a->d.line_too_long == b->d.line_too_long &&
	       a->d.too_big == b->d.too_big && a->d.size == b->d.size &&
	       a->out.len == b->out.len &&
	       (a->out.len == 0 || memcmp(a->out.ptr, b->out.ptr, a->out.len) == 0);
}

TEST(simple_message)
{
	static const char in[] = "Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n";
	struct run r;

	run_feed(&r, &lim_norm, false, in, sizeof(in) - 1, 0);
	CHECK(r.d.done);
	CHECK_INTEQ(r.consumed, sizeof(in) - 1 - 6);
	CHECK_STREQ(buf_cstr(&r.out), "Subject: x\r\n\r\nhello\r\n");
	CHECK(r.d.size == r.out.len);
	CHECK(!r.d.bare_newline && !r.d.line_too_long && !r.d.too_big);
	/* after done, nothing more is consumed */
	CHECK_INTEQ(smtp_data_feed(&r.d, "x", 1, &r.out), 0);
	buf_free(&r.out);
}

static const struct {
	const char *in;
	const char *out;	/* NULL: must not be done */
	bool bare;
} data_cases[] = {
	{ ".\r\n", "", false },
	{ "\r\n.\r\n", "\r\n", false },
	{ "..\r\n.\r\n", ".\r\n", false },
	{ "..leading\r\n.x\r\n...\r\nmid.dle.\r\n.\r\n", ".leading\r\nx\r\n..\r\nmid.dle.\r\n", false },
	{ "a\nb\r\n.\r\n", "a\r\nb\r\n", true },
	{ "a\rb\r\n.\r\n", "a\r\nb\r\n", true },
	{ "a\r\r\nb\r\n.\r\n", "a\r\n\r\nb\r\n", true },
	{ "a\n\r\n.\r\n", "a\r\n\r\n", true },
	{ "\n.\r\n", NULL, true },		/* a dot after bare LF is no line start */
	{ "\n..\r\n.\r\n", "\r\n..\r\n", true },	/* ...and is not unstuffed */
	{ "a\r\n.\n.\r\n", NULL, true },
	{ "a\r\n.\nb\r\n.\r\n", "a\r\n\r\nb\r\n", true },	/* stuffed dot, bare LF */
	{ "a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n", true },
	{ "a\r\n.\r\r\n.\r\n", "a\r\n\r\n\r\n", true },
	{ "a\r\n.a\r\n.\r\n", "a\r\na\r\n", false },
	{ "a\r\n. \r\n.\r\n", "a\r\n \r\n", false },
	{ "no end\r\n", NULL, false },
	{ "no end\r\n.", NULL, false },
	{ "no end\r\n.\r", NULL, false },
};

TEST(data_table)
{
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		size_t len = strlen(data_cases[i].in);
		struct run r, r1;

		run_feed(&r, &lim_norm, false, data_cases[i].in, len, 0);
		run_feed(&r1, &lim_norm, false, data_cases[i].in, len, 1);
		CHECK(same_run(&r, &r1));
		CHECK_INTEQ(r.d.done, data_cases[i].out != NULL);
		CHECK_INTEQ(r.d.bare_newline, data_cases[i].bare);
		CHECK_INTEQ(r.consumed, len);
		if (data_cases[i].out != NULL)
			CHECK_STREQ(buf_cstr(&r.out), data_cases[i].out);
		CHECK(only_crlf(&r.out));
		if (r.d.done != (data_cases[i].out != NULL))
			fprintf(stderr, "  case %zu\n", i);
		buf_free(&r.out);
		buf_free(&r1.out);
	}
}

/* NUL is data: "\r\n\0.\r\n" has no line-start dot. */
TEST(nul_is_data)
{
	static const char in[] = "a\r\n\0.\r\n.\r\nX";
	struct run r;

	run_feed(&r, &lim_norm, false, in, sizeof(in) - 1, 0);
	CHECK(r.d.done);
	CHECK_INTEQ(r.consumed, sizeof(in) - 2);
	CHECK_INTEQ(r.out.len, 7);
	CHECK(r.out.len == 7 && memcmp(r.out.ptr, "a\r\n\0.\r\n", 7) == 0);
	CHECK(!r.d.bare_newline);
	buf_free(&r.out);
}

TEST(reject_mode_keeps_bytes)
{
	static const char in[] = "a\nb\rc\r\n\n.\r\n.\r\n";
	struct run r, r1;

	run_feed(&r, &lim_rej, false, in, sizeof(in) - 1, 0);
	run_feed(&r1, &lim_rej, false, in, sizeof(in) - 1, 1);
	CHECK(same_run(&r, &r1));
	CHECK(r.d.done);
	CHECK(r.d.bare_newline);
	CHECK_STREQ(buf_cstr(&r.out), "a\nb\rc\r\n\n.\r\n");
	buf_free(&r.out);
	buf_free(&r1.out);
}

TEST(crlf_split_across_feeds)
{
	struct smtp_data d;
	struct buf out = BUF_INIT;
	static const char *parts[] = { "abc\r", "\n", ".", "\r", "\n" };

	smtp_data_init(&d, &lim_norm, false);
	for (size_t i = 0; i < 5; i++)
		CHECK_INTEQ(smtp_data_feed(&d, parts[i], 1 + (i == 0) * 3, &out),
			    1 + (i == 0) * 3);
	CHECK(d.done);
	CHECK(!d.bare_newline);
	CHECK_STREQ(buf_cstr(&out), "abc\r\n");
	buf_free(&out);
}

TEST(line_length)
{
	struct buf in = BUF_INIT;
	struct run r;

	/* 998 octets + CRLF = 1000: fine */
	for (int i = 0; i < 998; i++)
		buf_appendc(&in, 'x');
	buf_appends(&in, "\r\n.\r\n");
	run_feed(&r, &lim_norm, false, in.ptr, in.len, 0);
	CHECK(r.d.done && !r.d.line_too_long);
	buf_free(&r.out);
	/* the stuffed dot does not count (RFC 5321 §4.5.3.1.6) */
	buf_reset(&in);
	buf_appendc(&in, '.');
	for (int i = 0; i < 998; i++)
		buf_appendc(&in, '.');
	buf_appends(&in, "\r\n.\r\n");
	run_feed(&r, &lim_norm, false, in.ptr, in.len, 7);
	CHECK(r.d.done && !r.d.line_too_long);
	CHECK_INTEQ(r.out.len, 1000);
	buf_free(&r.out);
	/* 999 + CRLF: too long, output continues */
	buf_reset(&in);
	buf_appends(&in, "short\r\n");
	for (int i = 0; i < 999; i++)
		buf_appendc(&in, 'x');
	buf_appends(&in, "\r\nafter\r\n.\r\n");
	run_feed(&r, &lim_norm, false, in.ptr, in.len, 0);
	CHECK(r.d.done && r.d.line_too_long);
	CHECK(buf_has(&r.out, "\r\nafter\r\n"));
	buf_free(&r.out);
	/* a line that never ends is flagged before its CRLF */
	buf_reset(&in);
	for (int i = 0; i < 5000; i++)
		buf_appendc(&in, 'y');
	run_feed(&r, &lim_norm, false, in.ptr, in.len, 100);
	CHECK(!r.d.done && r.d.line_too_long);
	buf_free(&r.out);
	/* max_line 0 = unlimited */
	{
		struct smtp_data_limits unl = { 0, 0, SMTP_BARE_NORMALIZE };

		run_feed(&r, &unl, false, in.ptr, in.len, 0);
		CHECK(!r.d.line_too_long);
		buf_free(&r.out);
	}
	buf_free(&in);
}

TEST(size_limit)
{
	struct smtp_data_limits lim = { SMTP_DATA_LINE_MAX, 10, SMTP_BARE_NORMALIZE };
	static const char big[] = "0123456789abcdef\r\n.\r\nNEXT";
	static const char fits[] = "01234567\r\n.\r\n";
	struct run r, r1;

	run_feed(&r, &lim, false, big, sizeof(big) - 1, 0);
	run_feed(&r1, &lim, false, big, sizeof(big) - 1, 1);
	CHECK(same_run(&r, &r1));
	CHECK(r.d.done && r.d.too_big);
	CHECK_INTEQ(r.consumed, sizeof(big) - 1 - 4);
	CHECK_INTEQ(r.out.len, 10);
	CHECK(r.d.size == 18);	/* keeps counting past the limit */
	buf_free(&r.out);
	buf_free(&r1.out);
	run_feed(&r, &lim, false, fits, sizeof(fits) - 1, 0);
	CHECK(r.d.done && !r.d.too_big);
	CHECK(r.d.size == 10);
	buf_free(&r.out);
}

TEST(bdat_mode)
{
	static const char in[] = "a\r\n.\r\n..b\r\nc";
	struct run r, r1;

	run_feed(&r, &lim_norm, true, in, sizeof(in) - 1, 0);
	run_feed(&r1, &lim_norm, true, in, sizeof(in) - 1, 1);
	CHECK(same_run(&r, &r1));
	CHECK(!r.d.done);
	CHECK_INTEQ(r.consumed, sizeof(in) - 1);
	CHECK_STREQ(buf_cstr(&r.out), "a\r\n.\r\n..b\r\nc");
	smtp_data_finish_bdat(&r.d, &r.out);
	CHECK_STREQ(buf_cstr(&r.out), "a\r\n.\r\n..b\r\nc\r\n");
	CHECK(!r.d.bare_newline);
	buf_free(&r.out);
	buf_free(&r1.out);
}

TEST(bdat_chunks)
{
	struct smtp_data d;
	struct buf out = BUF_INIT;

	/* CRLF split between chunks is a real CRLF */
	smtp_data_init(&d, &lim_norm, true);
	CHECK_INTEQ(smtp_data_feed(&d, "x\r", 2, &out), 2);
	CHECK_INTEQ(smtp_data_feed(&d, "\ny\r\n", 4, &out), 4);
	smtp_data_finish_bdat(&d, &out);
	CHECK_STREQ(buf_cstr(&out), "x\r\ny\r\n");
	CHECK(!d.bare_newline);
	/* a CR at the very end is bare */
	buf_reset(&out);
	smtp_data_init(&d, &lim_norm, true);
	smtp_data_feed(&d, "x\r", 2, &out);
	smtp_data_finish_bdat(&d, &out);
	CHECK(d.bare_newline);
	CHECK_STREQ(buf_cstr(&out), "x\r\n");
	/* bare LF in a chunk */
	buf_reset(&out);
	smtp_data_init(&d, &lim_norm, true);
	smtp_data_feed(&d, "x\ny", 3, &out);
	smtp_data_finish_bdat(&d, &out);
	CHECK(d.bare_newline);
	CHECK_STREQ(buf_cstr(&out), "x\r\ny\r\n");
	/* an empty message stays empty */
	buf_reset(&out);
	smtp_data_init(&d, &lim_norm, true);
	smtp_data_finish_bdat(&d, &out);
	CHECK_INTEQ(out.len, 0);
	buf_free(&out);
}

/* conformance/smtp/smuggling/cases.json, one test per case. */
static const struct {
	const char *name;
	const char *hex;
	const char *seq;
	size_t len;
	bool bare;
} smug_cases[] = {
	{ "lflf", "0a2e0a", "\n.\n", 3, true },
	{ "crcr", "0d2e0d", "\r.\r", 3, true },
	{ "crlf_bare", "0d2e0a", "\r.\n", 3, true },
	{ "lfcr", "0a2e0d", "\n.\r", 3, true },
	{ "lfcrlf", "0a2e0d0a", "\n.\r\n", 4, true },
	{ "crlflf", "0d0a2e0a", "\r\n.\n", 4, true },
	{ "crcrlf", "0d2e0d0a", "\r.\r\n", 4, true },
	{ "crlfcr", "0d0a2e0d", "\r\n.\r", 4, true },
	{ "crlf_crcrlf", "0d0a2e0d0d0a", "\r\n.\r\r\n", 6, true },
	{ "crcrlf_crcrlf", "0d0d0a2e0d0d0a", "\r\r\n.\r\r\n", 7, true },
	{ "nullbefore", "0d0a002e0d0a", "\r\n\0.\r\n", 6, false },
};
#define SMUG_N (sizeof(smug_cases) / sizeof(smug_cases[0]))

static const char smug_head[] =
	"From: a@example.org\r\nTo: b@example.net\r\nSubject: test\r\n\r\nbody line 1";
static const char smug_tail[] =
	"MAIL FROM:<smuggled@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
	"From: smuggled@example.org\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n"
	"\r\n.\r\n";
static const char smug_after[] = "QUIT\r\n";

static void smuggle_one(size_t k, const struct smtp_data_limits *lim)
{
	struct buf in = BUF_INIT;
	struct run r, r1;
	size_t msg_len;

	buf_appends(&in, smug_head);
	buf_append(&in, smug_cases[k].seq, smug_cases[k].len);
	buf_appends(&in, smug_tail);
	msg_len = in.len;
	buf_appends(&in, smug_after);
	run_feed(&r, lim, false, in.ptr, in.len, 0);
	run_feed(&r1, lim, false, in.ptr, in.len, 1);
	CHECK(same_run(&r, &r1));
	/* only the final real CRLF.CRLF ends the data */
	CHECK(r.d.done);
	CHECK_INTEQ(r.consumed, msg_len);
	CHECK(buf_has(&r.out, "body line 1"));
	CHECK(buf_has(&r.out, "MAIL FROM:<smuggled@example.org>\r\n"));
	CHECK(buf_has(&r.out, "smuggled body\r\n"));
	CHECK(!buf_has(&r.out, "QUIT"));
	CHECK_INTEQ(r.d.bare_newline, smug_cases[k].bare);
	if (lim->bare == SMTP_BARE_NORMALIZE)
		CHECK(only_crlf(&r.out));
	CHECK(r.out.len >= 2 && memcmp(r.out.ptr + r.out.len - 2, "\r\n", 2) == 0);
	if (!r.d.done || r.consumed != msg_len)
		fprintf(stderr, "  smuggling case %s\n", smug_cases[k].name);
	buf_free(&in);
	buf_free(&r.out);
	buf_free(&r1.out);
}

#define SMUG_TEST(i, n)                         \
	TEST(smuggle_##n)                       \
	{                                       \
		CHECK_STREQ(smug_cases[i].name, #n); \
		smuggle_one(i, &lim_norm);      \
		smuggle_one(i, &lim_rej);       \
	}
SMUG_TEST(0, lflf)
SMUG_TEST(1, crcr)
SMUG_TEST(2, crlf_bare)
SMUG_TEST(3, lfcr)
SMUG_TEST(4, lfcrlf)
SMUG_TEST(5, crlflf)
SMUG_TEST(6, crcrlf)
SMUG_TEST(7, crlfcr)
SMUG_TEST(8, crlf_crcrlf)
SMUG_TEST(9, crcrlf_crcrlf)
SMUG_TEST(10, nullbefore)

/* The table above matches the conformance file: same names, same bytes,
 * same count. Fails if the file gains a case we do not test. */
TEST(smuggle_cases_match_json)
{
	FILE *f = fopen(CASES_JSON, "r");
	struct buf json = BUF_INIT;
	char chunk[4096], want[128];
	size_t n, count = 0;
	const char *p;

	CHECK(f != NULL);
	if (f == NULL) {
		fprintf(stderr, "  cannot open %s\n", CASES_JSON);
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&json, chunk, n);
	fclose(f);
	for (p = buf_cstr(&json); (p = strstr(p, "\"sequence_hex\"")) != NULL; p++)
		count++;
	CHECK_INTEQ(count, SMUG_N);
	for (size_t i = 0; i < SMUG_N; i++) {
		char hex[32];

		snprintf(want, sizeof(want), "\"name\": \"%s\"", smug_cases[i].name);
		p = strstr(buf_cstr(&json), want);
		CHECK(p != NULL);
		snprintf(want, sizeof(want), "\"sequence_hex\": \"%s\"", smug_cases[i].hex);
		CHECK(p != NULL && strstr(p, want) != NULL);
		for (size_t j = 0; j < smug_cases[i].len; j++)
			snprintf(hex + 2 * j, 3, "%02x", (unsigned char)smug_cases[i].seq[j]);
		CHECK_STREQ(hex, smug_cases[i].hex);
	}
	buf_free(&json);
}

/* A small deterministic PRNG (xorshift64*) for the property tests. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* Random CRLF-terminated lines without bare CR/LF; many start with dots. */
static void random_message(struct buf *msg)
{
	static const char alphabet[] = "..... abcXYZ\t:\x80\xff\x01";
	size_t lines = rng() % 20;

	for (size_t i = 0; i < lines; i++) {
		size_t n = rng() % 40;

		for (size_t j = 0; j < n; j++)
			buf_appendc(msg, alphabet[rng() % (sizeof(alphabet) - 1)]);
		buf_appends(msg, "\r\n");
	}
}

/* RFC 5321 §4.5.2 transparency: double a leading dot, then add CRLF.CRLF. */
static void stuff(const struct buf *msg, struct buf *wire)
{
	bool bol = true;

	for (size_t i = 0; i < msg->len; i++) {
		if (bol && msg->ptr[i] == '.')
			buf_appendc(wire, '.');
		buf_appendc(wire, msg->ptr[i]);
		bol = msg->ptr[i] == '\n';
	}
	buf_appends(wire, ".\r\n");
}

/* Feed at random split points. */
static void feed_random(struct run *r, const struct smtp_data_limits *lim,
			bool bdat, const struct buf *wire)
{
	buf_init(&r->out);
	smtp_data_init(&r->d, lim, bdat);
	r->consumed = 0;
	while (r->consumed < wire->len && !r->d.done) {
		size_t n = 1 + rng() % (wire->len - r->consumed);

		n = rng() % 2 ? (n > 3 ? 3 : n) : n;
		r->consumed += smtp_data_feed(&r->d, wire->ptr + r->consumed, n, &r->out);
	}
}

TEST(property_stuffed_round_trip)
{
	for (int iter = 0; iter < 2000; iter++) {
		struct buf msg = BUF_INIT, wire = BUF_INIT;
		struct run r;

		random_message(&msg);
		stuff(&msg, &wire);
		buf_appends(&wire, "MAIL FROM:<next@x>\r\n");
		feed_random(&r, &lim_norm, false, &wire);
		CHECK(r.d.done);
		CHECK_INTEQ(r.consumed, wire.len - 20);
		CHECK(r.out.len == msg.len &&
		      (msg.len == 0 || memcmp(r.out.ptr, msg.ptr, msg.len) == 0));
		CHECK(!r.d.bare_newline);
		CHECK(r.d.size == msg.len);
		buf_free(&msg);
		buf_free(&wire);
		buf_free(&r.out);
	}
}

/* Arbitrary bytes (bare CR/LF, dots, NUL): any split gives the same result. */
TEST(property_split_invariance)
{
	static const char alphabet[] = "\r\n.\r\n.a\0";
	struct smtp_data_limits lims[] = {
		{ 8, 0, SMTP_BARE_NORMALIZE }, { 8, 30, SMTP_BARE_REJECT },
	};

	for (int iter = 0; iter < 3000; iter++) {
		struct buf in = BUF_INIT;
		size_t n = rng() % 64;
		int m = iter & 1;
		bool bdat = (iter & 2) != 0;
		struct run a, b;

		for (size_t j = 0; j < n; j++)
			buf_appendc(&in, alphabet[rng() % (sizeof(alphabet) - 1)]);
		run_feed(&a, &lims[m], bdat, in.ptr, in.len, 0);
		feed_random(&b, &lims[m], bdat, &in);
		CHECK(same_run(&a, &b));
		if (m == 0)
			CHECK(only_crlf(&a.out));
		buf_free(&in);
		buf_free(&a.out);
		buf_free(&b.out);
	}
}

int main(void)
{
	RUN(simple_message);
	RUN(data_table);
	RUN(nul_is_data);
	RUN(reject_mode_keeps_bytes);
	RUN(crlf_split_across_feeds);
	RUN(line_length);
	RUN(size_limit);
	RUN(bdat_mode);
	RUN(bdat_chunks);
	RUN(smuggle_lflf);
	RUN(smuggle_crcr);
	RUN(smuggle_crlf_bare);
	RUN(smuggle_lfcr);
	RUN(smuggle_lfcrlf);
	RUN(smuggle_crlflf);
	RUN(smuggle_crcrlf);
	RUN(smuggle_crlfcr);
	RUN(smuggle_crlf_crcrlf);
	RUN(smuggle_crcrlf_crcrlf);
	RUN(smuggle_nullbefore);
	RUN(smuggle_cases_match_json);
	RUN(property_stuffed_round_trip);
	RUN(property_split_invariance);
	return test_summary();
}
