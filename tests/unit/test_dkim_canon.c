/* Unit tests for DKIM canonicalisation (RFC 6376 §3.4, with the §3.4.5
 * example) and the incremental header reader, each fed in one go, one byte
 * at a time and split at every point. */
#include "harness.h"

#include <openssl/evp.h>

#include "lib/buf.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_crypto.h"
#include "mailauth/dkim_hdr.h"
#include "mailauth/dkim_tags.h"
#include "test_dkim_util.h"

static const struct {
	const char *field, *simple, *relaxed;
} header_cases[] = {
	{ "Subject:  Hello   World \t", "Subject:  Hello   World \t",
	  "subject:Hello World" },
	{ "SUBJECT \t: x", "SUBJECT \t: x", "subject:x" },
	{ "X: a\r\n\tb\r\n c", "X: a\r\n\tb\r\n c", "x:a b c" },
	{ "X:\r\n value", "X:\r\n value", "x:value" },
	{ "X:", "X:", "x:" },
	{ "X: \r\n ", "X: \r\n ", "x:" },
	{ "X: a\rb", "X: a\rb", "x:a\rb" },
	{ "To: <a@b>,\r\n  <c@d>", "To: <a@b>,\r\n  <c@d>", "to:<a@b>, <c@d>" },
	{ "Sub ject: x", "Sub ject: x", "sub ject:x" },
	{ "X-8: caf\xc3\xa9  ", "X-8: caf\xc3\xa9  ", "x-8:caf\xc3\xa9" },
	{ "X: a:b : c", "X: a:b : c", "x:a:b : c" },
};

TEST(header_canon)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
	     i++) {
		const char *f = header_cases[i].field;

		buf_reset(&b);
		dkim_canon_header(DKIM_CANON_SIMPLE, f, strlen(f), false, &b);
		CHECK_STREQ(buf_cstr(&b), header_cases[i].simple);
		buf_reset(&b);
		dkim_canon_header(DKIM_CANON_RELAXED, f, strlen(f), true, &b);
		buf_truncate(&b, b.len - 2);
		CHECK_STREQ(buf_cstr(&b), header_cases[i].relaxed);
	}
	buf_free(&b);
}

static const struct {
	const char *raw, *simple, *relaxed;
} body_cases[] = {
	{ "", "\r\n", "" },
	{ "\r\n", "\r\n", "" },
	{ "\r\n\r\n\r\n", "\r\n", "" },
	{ "a", "a\r\n", "a\r\n" },
	{ "a\r\n", "a\r\n", "a\r\n" },
	{ "a\r\n\r\n", "a\r\n", "a\r\n" },
	{ "a \t b  \r\n", "a \t b  \r\n", "a b\r\n" },
	{ " a\r\n", " a\r\n", " a\r\n" },
	{ "a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "a\r\n  \r\n\r\n", "a\r\n  \r\n", "a\r\n" },
	{ "a\r\n \r\nb", "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "a\nb\n", "a\r\nb\r\n", "a\r\nb\r\n" },
	{ "a\rb\r\n", "a\rb\r\n", "a\rb\r\n" },
	{ "a\r", "a\r\r\n", "a\r\r\n" },
	{ "\r", "\r\r\n", "\r\r\n" },
	{ "\t\r\n", "\t\r\n", "" },
	{ " \r\nx", " \r\nx\r\n", "\r\nx\r\n" },
	{ "x \r\r\n", "x \r\r\n", "x \r\r\n" },
	{ "\r\n\r\nx\r\n", "\r\n\r\nx\r\n", "\r\n\r\nx\r\n" },
};

static void collect(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

/* Canonicalise raw in pieces: split at cut (0: none), or byte by byte. */
static void body(enum dkim_canon c, const char *raw, size_t len, size_t cut,
		 bool bytewise, struct buf *out)
{
	struct dkim_body b;

	buf_reset(out);
	dkim_body_init(&b, c, collect, out);
	if (bytewise) {
		for (size_t i = 0; i < len; i++)
			dkim_body_feed(&b, raw + i, 1);
	} else {
		dkim_body_feed(&b, raw, cut);
		dkim_body_feed(&b, raw + cut, len - cut);
	}
	dkim_body_end(&b);
	CHECK(b.total == out->len);
}

static bool body_case(enum dkim_canon c, const char *raw, const char *want)
{
	struct buf out = BUF_INIT;
	size_t len = strlen(raw);
	bool ok = true;

	for (size_t cut = 0; cut <= len; cut++) {
		body(c, raw, len, cut, false, &out);
		ok &= strcmp(buf_cstr(&out), want) == 0;
	}
	body(c, raw, len, 0, true, &out);
	ok &= strcmp(buf_cstr(&out), want) == 0;
	buf_free(&out);
	return ok;
}

TEST(body_canon)
{
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		bool s = body_case(DKIM_CANON_SIMPLE, body_cases[i].raw,
				   body_cases[i].simple);
		bool r = body_case(DKIM_CANON_RELAXED, body_cases[i].raw,
				   body_cases[i].relaxed);

		if (!s || !r)
			fprintf(stderr, "body case %zu: simple %d relaxed %d\n",
				i, s, r);
		CHECK(s);
		CHECK(r);
	}
}

/* Bodies longer than the output chunk, with runs of empty lines and
 * whitespace that straddle it. */
TEST(body_canon_long)
{
	struct buf raw = BUF_INIT, want_s = BUF_INIT, want_r = BUF_INIT;
	struct buf out = BUF_INIT;

	for (int i = 0; i < 300; i++) {
		buf_printf(&raw, "line %d   with\t \tspace  \r\n", i);
		buf_printf(&want_s, "line %d   with\t \tspace  \r\n", i);
		buf_printf(&want_r, "line %d with space\r\n", i);
		if (i % 50 == 0) {
			buf_appends(&raw, "\r\n\r\n  \r\n");
			buf_appends(&want_s, "\r\n\r\n  \r\n");
			buf_appends(&want_r, "\r\n\r\n\r\n");
		}
	}
	buf_appends(&raw, "\r\n \r\n\r\n");
	buf_appends(&want_s, "\r\n \r\n");
	body(DKIM_CANON_SIMPLE, raw.ptr, raw.len, raw.len / 3, false, &out);
	CHECK(out.len == want_s.len && memcmp(out.ptr, want_s.ptr, out.len) == 0);
	body(DKIM_CANON_RELAXED, raw.ptr, raw.len, 0, true, &out);
	CHECK(out.len == want_r.len && memcmp(out.ptr, want_r.ptr, out.len) == 0);
	buf_free(&raw);
	buf_free(&want_s);
	buf_free(&want_r);
	buf_free(&out);
}

static void read_header(struct dkim_hdr *h, const char *msg, size_t len,
			size_t step, size_t *body_off)
{
	struct dkim_limits lim;
	size_t off = 0;

	dkim_limits_default(&lim);
	dkim_hdr_init(h, &lim);
	while (off < len && !h->done) {
		size_t n = step == 0 || len - off < step ? len - off : step;

		off += dkim_hdr_feed(h, msg + off, n);
	}
	dkim_hdr_finish(h);
	*body_off = off;
}

static void field(const struct dkim_hdr *h, size_t i, struct buf *out)
{
	buf_reset(out);
	buf_append(out, dkim_hdr_text(h, i), h->f[i].len);
}

/* RFC 6376 §3.4.5: the example, both algorithms, header and body. */
TEST(rfc6376_example)
{
	static const char msg[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n"
				  " C \r\nD \t E\r\n\r\n\r\n";
	struct dkim_hdr h;
	struct buf b = BUF_INIT, f = BUF_INIT;
	size_t off;

	for (size_t step = 0; step < 3; step++) {
		read_header(&h, msg, strlen(msg), step, &off);
		CHECK_INTEQ(h.n, 2);
		CHECK_INTEQ(off, 22);
		buf_reset(&b);
		for (size_t i = 0; i < h.n; i++) {
			field(&h, i, &f);
			dkim_canon_header(DKIM_CANON_RELAXED, f.ptr, f.len, true,
					  &b);
		}
		CHECK_STREQ(buf_cstr(&b), "a:X\r\nb:Y Z\r\n");
		buf_reset(&b);
		for (size_t i = 0; i < h.n; i++) {
			field(&h, i, &f);
			dkim_canon_header(DKIM_CANON_SIMPLE, f.ptr, f.len, true,
					  &b);
		}
		CHECK_STREQ(buf_cstr(&b), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
		dkim_hdr_free(&h);
	}
	CHECK(body_case(DKIM_CANON_RELAXED, msg + 22, " C\r\nD E\r\n"));
	CHECK(body_case(DKIM_CANON_SIMPLE, msg + 22, " C \r\nD \t E\r\n"));
	buf_free(&b);
	buf_free(&f);
}

TEST(header_reader)
{
	static const char msg[] = "From: a@b\nSubject: x\r\n y\r\n"
				  "From blah\r\n\tcont\r\nX :\r\n\nbody\r\n";
	struct dkim_hdr h, h1;
	struct buf f = BUF_INIT;
	size_t off, off1;

	read_header(&h, msg, strlen(msg), 0, &off);
	read_header(&h1, msg, strlen(msg), 1, &off1);
	CHECK_INTEQ(h.n, 4);
	CHECK_INTEQ(off, strlen(msg) - 6);
	CHECK_INTEQ(off1, off);
	CHECK(h1.n == h.n && h1.raw.len == h.raw.len &&
	      memcmp(h1.raw.ptr, h.raw.ptr, h.raw.len) == 0);
	field(&h, 1, &f);
	CHECK_STREQ(buf_cstr(&f), "Subject: x\r\n y");
	field(&h, 2, &f);
	CHECK_STREQ(buf_cstr(&f), "From blah\r\n\tcont");
	CHECK_INTEQ(h.f[2].name_len, 0);	/* no colon: never selected */
	CHECK_INTEQ(h.f[3].name_len, 1);	/* "X :" */
	CHECK(dkim_hdr_is(&h, 0, "FROM", 4));
	CHECK(!dkim_hdr_is(&h, 2, "From blah", 9));
	CHECK_INTEQ(dkim_hdr_count(&h, "from", 4), 1);
	CHECK(h.done && !h.overflow);
	dkim_hdr_free(&h);
	dkim_hdr_free(&h1);
	/* no empty line: the header runs to the end, the body is empty */
	read_header(&h, "A: 1\r\nB: 2", 10, 0, &off);
	CHECK_INTEQ(h.n, 2);
	field(&h, 1, &f);
	CHECK_STREQ(buf_cstr(&f), "B: 2");
	dkim_hdr_free(&h);
	/* an empty header: the body starts at once */
	read_header(&h, "\r\nA: 1\r\n", 8, 1, &off);
	CHECK_INTEQ(h.n, 0);
	CHECK_INTEQ(off, 2);
	dkim_hdr_free(&h);
	buf_free(&f);
}

TEST(header_reader_limits)
{
	struct dkim_limits lim;
	struct dkim_hdr h;
	struct buf msg = BUF_INIT;

	dkim_limits_default(&lim);
	lim.max_header_fields = 3;
	lim.max_field_len = 20;
	lim.max_header_bytes = 40;
	dkim_hdr_init(&h, &lim);
	dkim_hdr_feed(&h, "A: 1\r\nB: 2\r\nC: 3\r\n", 18);
	CHECK(!h.overflow);
	dkim_hdr_feed(&h, "D: 4\r\n\r\n", 8);
	CHECK(h.overflow && h.done);
	CHECK_INTEQ(h.n, 3);
	dkim_hdr_free(&h);
	dkim_hdr_init(&h, &lim);
	buf_appends(&msg, "A: 1\r\nB: 0123456789\r\n 0123456789\r\n\r\n");
	dkim_hdr_feed(&h, msg.ptr, msg.len);
	buf_reset(&msg);
	CHECK(h.overflow && h.done);
	CHECK_INTEQ(h.n, 1);
	dkim_hdr_free(&h);
	lim.max_header_fields = 100;
	dkim_hdr_init(&h, &lim);
	for (int i = 0; i < 20; i++)
		buf_appends(&msg, "A: 1\r\n");
	buf_appends(&msg, "\r\n");
	CHECK_INTEQ(dkim_hdr_feed(&h, msg.ptr, msg.len), msg.len);
	CHECK(h.overflow && h.done && h.raw.len <= 40);
	dkim_hdr_free(&h);
	buf_free(&msg);
}

/* The body hashes of rfc6376.msg given in the conformance README §2a,
 * and the l= limit. */
TEST(known_body_hashes)
{
	struct buf raw = BUF_INIT, msg = BUF_INIT, b64 = BUF_INIT;
	struct dkim_bodyhash *bh[3];
	const char *body_start;
	unsigned char want[32];
	unsigned wlen;

	if (!dkim_data_present() || !read_data("dkimpy/rfc6376.msg", &raw))
		return;
	to_crlf(raw.ptr, raw.len, &msg);
	body_start = strstr(msg.ptr, "\r\n\r\n") + 4;
	bh[0] = dkim_bodyhash_new(DKIM_CANON_SIMPLE, DKIM_ED25519_SHA256,
				  UINT64_MAX);
	bh[1] = dkim_bodyhash_new(DKIM_CANON_RELAXED, DKIM_RSA_SHA256,
				  UINT64_MAX);
	bh[2] = dkim_bodyhash_new(DKIM_CANON_SIMPLE, DKIM_RSA_SHA256, 5);
	for (const char *p = body_start; *p; p++)
		for (int i = 0; i < 3; i++)
			dkim_bodyhash_feed(bh[i], p, 1);
	for (int i = 0; i < 3; i++)
		dkim_bodyhash_end(bh[i]);
	dkim_b64_encode(bh[0]->digest, bh[0]->digest_len, &b64);
	CHECK_STREQ(buf_cstr(&b64), "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
	buf_reset(&b64);
	dkim_b64_encode(bh[1]->digest, bh[1]->digest_len, &b64);
	CHECK_STREQ(buf_cstr(&b64), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	/* l=5: "Hi.\r\n" only; the total still counts the whole body */
	EVP_Digest("Hi.\r\n", 5, want, &wlen, EVP_sha256(), NULL);
	CHECK(bh[2]->digest_len == 32 && memcmp(bh[2]->digest, want, 32) == 0);
	CHECK_INTEQ(bh[2]->canon.total, strlen(body_start) - 2);
	for (int i = 0; i < 3; i++)
		dkim_bodyhash_free(bh[i]);
	buf_free(&raw);
	buf_free(&msg);
	buf_free(&b64);
}

int main(void)
{
	RUN(header_canon);
	RUN(body_canon);
	RUN(body_canon_long);
	RUN(rfc6376_example);
	RUN(header_reader);
	RUN(header_reader_limits);
	RUN(known_body_hashes);
	return test_summary();
}
