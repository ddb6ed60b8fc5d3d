/* Unit tests for src/imap/imap_utf7: modified UTF-7 (RFC 3501 §5.1.3)
 * encode/decode, the RFC examples, round trips, every invalid form, and
 * the mailbox-name checks. */
#include "harness.h"

#include <stdint.h>

#include "imap/imap_utf7.h"

struct pair {
	const char *utf8, *utf7;
};

static const struct pair pairs[] = {
	/* RFC 3501 §5.1.3 examples */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xe2\x98\xba!", "&Jjo-!" },
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente" },
	{ "\xc3\xa9", "&AOk-" },			/* 2 pad bits */
	{ "\xc3\xa9\xc3\xa9", "&AOkA6Q-" },		/* 4 pad bits */
	{ "\xc3\xa9\xc3\xa9\xc3\xa9", "&AOkA6QDp-" },	/* no pad bits */
	{ "\xc3\xa9&", "&AOk-&-" },
	{ "\xd0\x96&\xd0\x96", "&BBY-&-&BBY-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },		/* surrogate pair */
	{ "a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b" },
	{ "\x01", "&AAE-" },			/* controls are encoded */
	{ "\x7f", "&AH8-" },
	{ "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd"
	  "\xd0\xbd\xd1\x8b\xd0\xb5", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" },
	{ "~ /-_.,+=", "~ /-_.,+=" },
};

TEST(encode_decode_pairs)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT;
		const char *error = NULL;

		CHECK_INTEQ(imap_utf7_encode(pairs[i].utf8, strlen(pairs[i].utf8),
					     &enc, &error), 0);
		CHECK_STREQ(buf_cstr(&enc), pairs[i].utf7);
		CHECK_INTEQ(imap_utf7_decode(pairs[i].utf7, strlen(pairs[i].utf7),
					     &dec, &error), 0);
		CHECK_STREQ(buf_cstr(&dec), pairs[i].utf8);
		CHECK(imap_utf7_is_valid(pairs[i].utf7, strlen(pairs[i].utf7)));
		buf_free(&enc);
		buf_free(&dec);
	}
}

struct bad {
	const char *in;
	const char *why;	/* a substring of the reason */
};

static const struct bad bad_utf7[] = {
	{ "&AOk", "unterminated" },
	{ "&", "unterminated" },
	{ "a&", "unterminated" },
	{ "&AOkA-", "padding" },		/* a needless 4th character */
	{ "&AOl-", "padding" },		/* pad bits not zero */
	{ "&AO-", "padding" },		/* 12 bits: not even one unit */
	{ "&A-", "padding" },
	{ "&AGE-", "printable" },		/* 'a' must be itself */
	{ "&ACY-", "printable" },		/* '&' must be "&-" */
	{ "&ACA-", "printable" },		/* space */
	{ "&AH4-", "printable" },		/* '~' */
	{ "&AOk-&AOk-", "adjacent" },	/* must be one run */
	{ "&2D0-", "surrogate" },		/* lone high surrogate */
	{ "&3gA-", "surrogate" },		/* lone low surrogate */
	{ "&2D0A6Q-", "surrogate" },	/* high then not low */
	{ "&2D3YPQ-", "surrogate" },	/* high then high */
	{ "&AAA-", "NUL" },
	{ "&/wA-", "base64" },		/* '/' is ',' in modified base64 */
	{ "&A=A-", "base64" },
	{ "&AO k-", "base64" },
	{ "\xc3\xa9", "8-bit" },
	{ "a\tb", "control" },
	{ "a\x7f", "control" },
};

TEST(decode_rejects)
{
	for (size_t i = 0; i < sizeof(bad_utf7) / sizeof(*bad_utf7); i++) {
		const char *in = bad_utf7[i].in;
		size_t len = strlen(in);
		struct buf out = BUF_INIT;
		const char *error = NULL;

		buf_appends(&out, "keep");
		CHECK_INTEQ(imap_utf7_decode(in, len, &out, &error), -1);
		CHECK_STREQ(buf_cstr(&out), "keep");	/* unchanged */
		CHECK(error != NULL && strstr(error, bad_utf7[i].why) != NULL);
		if (error == NULL || strstr(error, bad_utf7[i].why) == NULL)
			fprintf(stderr, "  input %zu \"%s\": %s\n", i, in,
				error ? error : "(none)");
		CHECK(!imap_utf7_is_valid(in, len));
		buf_free(&out);
	}
}

TEST(decode_embedded_nul)
{
	struct buf out = BUF_INIT;
	const char *error = NULL;

	CHECK_INTEQ(imap_utf7_decode("a\0b", 3, &out, &error), -1);
	CHECK(strstr(error, "control") != NULL);
	buf_free(&out);
}

static const char *const bad_utf8[] = {
	"\xc3",			/* truncated */
	"\xc3\x28",		/* bad continuation */
	"\xc0\xaf",		/* overlong '/' */
	"\xe0\x80\xaf",		/* overlong */
	"\xed\xa0\x80",		/* UTF-16 surrogate */
	"\xf4\x90\x80\x80",	/* above U+10FFFF */
	"\xf8\x88\x80\x80\x80",	/* 5-byte form */
	"\xff",
	"\x80",
};

TEST(encode_rejects)
{
	struct buf out = BUF_INIT;
	const char *error = NULL;

	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(*bad_utf8); i++) {
		buf_reset(&out);
		buf_appends(&out, "x");
		CHECK_INTEQ(imap_utf7_encode(bad_utf8[i], strlen(bad_utf8[i]),
					     &out, &error), -1);
		CHECK_STREQ(buf_cstr(&out), "x");
		CHECK_STREQ(error, "invalid UTF-8");
	}
	CHECK_INTEQ(imap_utf7_encode("a\0b", 3, &out, &error), -1);
	CHECK_STREQ(error, "NUL in name");
	buf_free(&out);
}

static void put_utf8(struct buf *b, uint32_t c)
{
	if (c < 0x80) {
		buf_appendc(b, (char)c);
	} else if (c < 0x800) {
		buf_appendc(b, (char)(0xc0 | c >> 6));
		buf_appendc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_appendc(b, (char)(0xe0 | c >> 12));
		buf_appendc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_appendc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_appendc(b, (char)(0xf0 | c >> 18));
		buf_appendc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		buf_appendc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_appendc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* Every code point class, in runs of 1..4 so each pad length occurs,
 * mixed with ASCII and '&': decode(encode(s)) == s, and the encoding is
 * itself valid. */
TEST(round_trips)
{
	static const uint32_t cps[] = {
		0x01, 0x1f, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x4e2d, 0xd7ff,
		0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff,
	};
	size_t ncp = sizeof(cps) / sizeof(*cps);
	unsigned failures = 0;

	for (size_t i = 0; i < ncp; i++) {
		for (size_t run = 1; run <= 4; run++) {
			struct buf s = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
			const char *error;

			buf_appends(&s, "x&");
			for (size_t k = 0; k < run; k++)
				put_utf8(&s, cps[(i + k) % ncp]);
			buf_appends(&s, i % 2 ? "&y" : "");
			if (imap_utf7_encode(s.ptr, s.len, &enc, &error) < 0 ||
			    imap_utf7_decode(enc.ptr, enc.len, &dec, &error) < 0 ||
			    dec.len != s.len || memcmp(dec.ptr, s.ptr, s.len) != 0)
				failures++;
			buf_free(&s);
			buf_free(&enc);
			buf_free(&dec);
		}
	}
	CHECK_INTEQ(failures, 0);
}

static const struct bad bad_names[] = {
	{ "", "empty" },
	{ "a..b", ".." },
	{ "../etc", ".." },
	{ "..", ".." },
	{ "a\tb", "control" },
	{ "a\x7f", "control" },
	{ "a\xc2\x85", "control" },	/* U+0085 NEL */
	{ "a\xc3", "UTF-8" },
	{ "\xed\xa0\x80", "UTF-8" },
};

TEST(name_check)
{
	const char *error = NULL;
	char longname[IMAP_MAILBOX_NAME_MAX + 2];

	CHECK_INTEQ(imap_utf7_name_check("INBOX", 5, &error), 0);
	CHECK_INTEQ(imap_utf7_name_check("Archive/2024.old", 16, &error), 0);
	CHECK_INTEQ(imap_utf7_name_check("Entw\xc3\xbcrfe", 9, &error), 0);
	CHECK_INTEQ(imap_utf7_name_check(".hidden", 7, &error), 0);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
		error = NULL;
		CHECK_INTEQ(imap_utf7_name_check(bad_names[i].in,
						 strlen(bad_names[i].in), &error), -1);
		CHECK(error != NULL && strstr(error, bad_names[i].why) != NULL);
	}
	CHECK_INTEQ(imap_utf7_name_check("a\0b", 3, &error), -1);
	memset(longname, 'a', sizeof(longname));
	CHECK_INTEQ(imap_utf7_name_check(longname, IMAP_MAILBOX_NAME_MAX, &error), 0);
	CHECK_INTEQ(imap_utf7_name_check(longname, IMAP_MAILBOX_NAME_MAX + 1,
					 &error), -1);
	CHECK(strstr(error, "too long") != NULL);
}

int main(void)
{
	RUN(encode_decode_pairs);
	RUN(decode_rejects);
	RUN(decode_embedded_nul);
	RUN(encode_rejects);
	RUN(round_trips);
	RUN(name_check);
	return test_summary();
}
