/* Unit tests for the DKIM tag-list parser (RFC 6376 §3.2) and the value
 * syntaxes (base64, colon lists, numbers, domains, dkim-quoted-printable),
 * and for key record parsing (§3.6.1, RFC 8463 §4, RFC 8301 §3.2). */
#include "harness.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/buf.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_tags.h"

/* RFC 8032 §7.1 TEST 1 public key: the RFC 8463 Appendix A example key. */
#define ED_PUB "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

/* Valid lists and what they hold: "name=value|name=value". */
static const struct {
	const char *in;
	const char *want;
} good_lists[] = {
	{ "v=1; a=rsa-sha256", "v=1|a=rsa-sha256" },
	{ "a=b;", "a=b" },
	{ "a=", "a=" },
	{ "a=;b=1", "a=|b=1" },
	{ "  a = b c ; d=\r\n\te ", "a=b c|d=e" },
	{ "x1 = extra ; t = y:n:extra", "x1=extra|t=y:n:extra" },
	{ "A_b9=x", "A_b9=x" },
	{ "v=DKIM1: g=*", "v=DKIM1: g=*" },
	{ "h=from\r\n\t:to:\r\n subject", "h=from\r\n\t:to:\r\n subject" },
	{ "z=a|b=c", "z=a|b=c" },
	{ "u=caf\xc3\xa9", "u=caf\xc3\xa9" },
};

static const struct {
	const char *in;
	size_t len;	/* 0: strlen */
} bad_lists[] = {
	{ "", 0 },
	{ ";", 0 },
	{ "  ", 0 },
	{ "a", 0 },
	{ "a=b;;c=d", 0 },
	{ "=b", 0 },
	{ "1a=b", 0 },
	{ "_a=b", 0 },
	{ "a=b;a=c", 0 },
	{ "a=b c;d", 0 },
	{ "a=\x01", 0 },
	{ "a=b\r\nc=d", 0 },
	{ "a=b\r\n", 0 },
	{ "a=b\nc", 0 },
	{ "a-b=c", 0 },
	{ "a=b\0c", 5 },
	{ "k=rsa; t; p=abc", 0 },
};

static void join(const struct dkim_taglist *t, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < t->n; i++) {
		if (i > 0)
			buf_appendc(out, '|');
		buf_append(out, t->tag[i].name, t->tag[i].name_len);
		buf_appendc(out, '=');
		buf_append(out, t->tag[i].value, t->tag[i].value_len);
	}
}

TEST(taglist_good)
{
	struct dkim_taglist t;
	struct buf b = BUF_INIT;
	const char *why;

	for (size_t i = 0; i < sizeof(good_lists) / sizeof(good_lists[0]); i++) {
		const char *in = good_lists[i].in;

		CHECK_INTEQ(dkim_tags_parse(in, strlen(in), &t, &why), 0);
		join(&t, &b);
		CHECK_STREQ(buf_cstr(&b), good_lists[i].want);
	}
	buf_free(&b);
}

TEST(taglist_bad)
{
	struct dkim_taglist t;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		const char *in = bad_lists[i].in;
		size_t len = bad_lists[i].len ? bad_lists[i].len : strlen(in);

		why = NULL;
		if (dkim_tags_parse(in, len, &t, &why) == 0)
			fprintf(stderr, "bad list %zu parsed: %s\n", i, in);
		CHECK(why != NULL);
	}
}

TEST(taglist_limits_and_lookup)
{
	struct dkim_taglist t;
	struct buf b = BUF_INIT;
	const char *why = NULL;

	for (int i = 0; i < DKIM_TAGS_MAX; i++)
		buf_printf(&b, "t%d=%d;", i, i);
	CHECK_INTEQ(dkim_tags_parse(b.ptr, b.len, &t, &why), 0);
	CHECK_INTEQ(t.n, DKIM_TAGS_MAX);
	buf_appends(&b, "one=more");
	CHECK_INTEQ(dkim_tags_parse(b.ptr, b.len, &t, &why), -1);
	CHECK_STREQ(why, "too many tags");
	CHECK_INTEQ(dkim_tags_parse("a=b;a=c", 7, &t, &why), -1);
	CHECK_STREQ(why, "duplicate tag");
	/* names are case-sensitive: "A" and "a" are two tags (§3.2) */
	CHECK_INTEQ(dkim_tags_parse("a=1; A=2", 8, &t, &why), 0);
	CHECK(dkim_tags_get(&t, "A") == &t.tag[1]);
	CHECK(dkim_tags_get(&t, "b") == NULL);
	CHECK(dkim_tag_is(&t.tag[0], "1"));
	CHECK_INTEQ(dkim_tags_parse("c=Relaxed", 9, &t, &why), 0);
	CHECK(dkim_tag_is(&t.tag[0], "relaxed"));
	CHECK(!dkim_tag_is(&t.tag[0], "relax"));
	buf_free(&b);
}

/* The raw value span is what §3.7 removes for b=: all of it up to ';'. */
TEST(taglist_raw_span)
{
	static const char in[] = "bh=x; b= ab\r\n cd ; c=1";
	struct dkim_taglist t;
	const struct dkim_tag *b;
	const char *why;

	CHECK_INTEQ(dkim_tags_parse(in, strlen(in), &t, &why), 0);
	b = dkim_tags_get(&t, "b");
	CHECK(b != NULL);
	if (b == NULL)
		return;
	CHECK_INTEQ(b->raw_off, 8);
	CHECK_INTEQ(b->raw_len, 9);
	CHECK_INTEQ(b->value_len, 7);
	CHECK(memcmp(b->value, "ab\r\n cd", 7) == 0);
}

TEST(colon_lists)
{
	struct dkim_span it[4];
	size_t n = 0;
	static const char h[] = "from : to\r\n\t: Subject";

	CHECK_INTEQ(dkim_list_split(h, strlen(h), it, 4, &n), 0);
	CHECK_INTEQ(n, 3);
	CHECK(it[0].len == 4 && memcmp(it[0].p, "from", 4) == 0);
	CHECK(it[1].len == 2 && memcmp(it[1].p, "to", 2) == 0);
	CHECK(it[2].len == 7 && memcmp(it[2].p, "Subject", 7) == 0);
	CHECK_INTEQ(dkim_list_split("a::b", 4, it, 4, &n), -1);
	CHECK_INTEQ(dkim_list_split("a:", 2, it, 4, &n), -1);
	CHECK_INTEQ(dkim_list_split("", 0, it, 4, &n), -1);
	CHECK_INTEQ(dkim_list_split("a:b:c:d:e", 9, it, 4, &n), -1);
	CHECK(dkim_list_has("foo : DNS/TXT", 13, "dns/txt"));
	CHECK(!dkim_list_has("dns/txtx", 8, "dns/txt"));
	CHECK(!dkim_list_has("dns", 3, "dns/txt"));
	CHECK(dkim_list_has("email:web", 9, "email"));
}

/* RFC 4648 §10 vectors, with folding whitespace inside. */
TEST(base64)
{
	static const struct {
		const char *b64, *raw;
	} good[] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" },
		{ "Zm9vYmFy", "foobar" }, { " Zm9v\r\n\tYm Fy ", "foobar" },
		{ "Zm9vYmE =", "fooba" },
	};
	static const char *const bad[] = {
		"Zg=", "Zg===", "Z===", "Zm9v=", "Zg==Zg==", "Zm9*", "Z", "Zm9",
		"=Zm9", "Zg=a", "Zm9v\x80",
	};
	unsigned char out[16];
	struct buf b = BUF_INIT;
	size_t n;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_INTEQ(dkim_b64_decode(good[i].b64, strlen(good[i].b64), out,
					    sizeof(out), &n), 0);
		CHECK(n == strlen(good[i].raw) && memcmp(out, good[i].raw, n) == 0);
		if (strchr(good[i].b64, ' ') != NULL)
			continue;
		buf_reset(&b);
		dkim_b64_encode((const unsigned char *)good[i].raw,
				strlen(good[i].raw), &b);
		CHECK_STREQ(buf_cstr(&b), good[i].b64);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dkim_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out),
				    &n) == 0)
			fprintf(stderr, "bad base64 accepted: %s\n", bad[i]);
		CHECK(dkim_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out),
				      &n) == -1);
	}
	CHECK_INTEQ(dkim_b64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	CHECK_INTEQ(dkim_b64_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	buf_free(&b);
}

TEST(numbers)
{
	uint64_t v = 0;

	CHECK_INTEQ(dkim_number("0", 1, 12, &v), 0);
	CHECK(v == 0);
	CHECK_INTEQ(dkim_number("1518460054", 10, 12, &v), 0);
	CHECK(v == 1518460054);
	CHECK_INTEQ(dkim_number("", 0, 12, &v), -1);
	CHECK_INTEQ(dkim_number("12a", 3, 12, &v), -1);
	CHECK_INTEQ(dkim_number("-1", 2, 12, &v), -1);
	CHECK_INTEQ(dkim_number("1234567890123", 13, 12, &v), -1);
	CHECK_INTEQ(dkim_number("18446744073709551615", 20, 76, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INTEQ(dkim_number("18446744073709551616", 20, 76, &v), -1);
}

TEST(domains)
{
	static const char *const good[] = {
		"example.com", "a.b-c.d", "xn--bcher-kva.example", "EXAMPLE.COM",
		"football.example.com", "com", "1.example",
	};
	static const char *const bad[] = {
		"", ".com", "com.", "a..b", "-a.com", "a-.com", "a_b.com",
		"legitimate.com(.attacker.com", "a b.com", "caf\xc3\xa9.example",
		"a.com\n",
	};
	char label[80];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(dkim_domain_ok(good[i], strlen(good[i]), false));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!dkim_domain_ok(bad[i], strlen(bad[i]), false));
	CHECK(dkim_domain_ok("s_1", 3, true));
	CHECK(dkim_domain_ok("2023-05-ed25519", 15, true));
	CHECK(!dkim_domain_ok("s_1", 3, false));
	memset(label, 'a', sizeof(label));
	CHECK(dkim_domain_ok(label, 63, false));
	CHECK(!dkim_domain_ok(label, 64, false));
}

TEST(quoted_printable_and_text)
{
	struct buf b = BUF_INIT;
	char out[8];

	CHECK_INTEQ(dkim_qp_decode("=6Along@x", 9, &b), 0);
	CHECK_STREQ(buf_cstr(&b), "jlong@x");
	buf_reset(&b);
	CHECK_INTEQ(dkim_qp_decode("a=3Db\r\n =40c", 12, &b), 0);
	CHECK_STREQ(buf_cstr(&b), "a=b@c");
	CHECK_INTEQ(dkim_qp_decode("=6", 2, &b), -1);
	CHECK_INTEQ(dkim_qp_decode("=G0", 3, &b), -1);
	CHECK_INTEQ(dkim_qp_decode("x=", 2, &b), -1);
	dkim_text_copy(out, sizeof(out), "Ab\x01\x80z", 5, true);
	CHECK_STREQ(out, "ab??z");
	dkim_text_copy(out, sizeof(out), "ABCDEFGHIJ", 10, false);
	CHECK_STREQ(out, "ABCDEFG");
	buf_free(&b);
}

/* A fresh RSA key's record forms: p= as SPKI and as bare RSAPublicKey. */
static EVP_PKEY *rsa_records(unsigned bits, struct buf *spki, struct buf *pkcs1)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	unsigned char *der = NULL;
	int n;

	if (pk == NULL)
		return NULL;
	n = i2d_PUBKEY(pk, &der);
	dkim_b64_encode(der, (size_t)n, spki);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_PublicKey(pk, &der);
	dkim_b64_encode(der, (size_t)n, pkcs1);
	OPENSSL_free(der);
	return pk;
}

struct key_case {
	const char *rec;	/* "%s" stands for an RSA-1024 key (SPKI) */
	const char *error;	/* NULL: parses */
	enum dkim_keytype type;
};

static const struct key_case key_cases[] = {
	{ "v=DKIM1; k=ed25519; p=" ED_PUB, NULL, DKIM_KEY_ED25519 },
	{ "k=ed25519; p=" ED_PUB, NULL, DKIM_KEY_ED25519 },
	{ "p=%s", NULL, DKIM_KEY_RSA },
	{ "v=DKIM1; g=*; k=rsa; n=notes; p=%s", NULL, DKIM_KEY_RSA },
	{ "v=DKIM1; s=email:web:fine; x1 = extra ; t = y:n:extra; p=%s", NULL,
	  DKIM_KEY_RSA },
	{ "v=DKIM1; k=rsa; p=", "key revoked", DKIM_KEY_RSA },
	{ "k=rsa; t=y; p= ", "key revoked", DKIM_KEY_RSA },
	{ "k=rsa; v=DKIM1; p=%s", "unsupported key record version", 0 },
	{ "v=DKIM2; p=%s", "unsupported key record version", 0 },
	{ "v=dkim1; p=%s", "unsupported key record version", 0 },
	{ "v=DKIM1: g=*; k=rsa; p=%s", "unsupported key record version", 0 },
	{ "k=foobar; p=%s", "unsupported key type", 0 },
	{ "k=ed25519-sha256; p=%s", "unsupported key type", 0 },
	{ "k=ed25519; p=%s", "bad Ed25519 key length", 0 },
	{ "k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=",
	  "bad Ed25519 key length", 0 },
	{ "s=tlsrpt; p=%s", "key not for email", 0 },
	{ "s=chat; p=%s", "key not for email", 0 },
	{ "s=*; p=%s", NULL, DKIM_KEY_RSA },
	{ "k=rsa; t; p=%s", "key record syntax error", 0 },
	{ "v=DKIM1", "key record without p=", 0 },
	{ "", "key record syntax error", 0 },
	{ "k=rsa; p=" ED_PUB, "bad key data", 0 },
	{ "p=AAAA", "bad key data", 0 },
	{ "p=!!!!", "bad key data", 0 },
	{ "v=spf1 -all", "unsupported key record version", 0 },
};

/* tmpl with each "%s" replaced by val. */
static void subst(const char *tmpl, const char *val, struct buf *out)
{
	const char *p;

	buf_reset(out);
	while ((p = strstr(tmpl, "%s")) != NULL) {
		buf_append(out, tmpl, (size_t)(p - tmpl));
		buf_appends(out, val);
		tmpl = p + 2;
	}
	buf_appends(out, tmpl);
}

TEST(key_records)
{
	struct buf spki = BUF_INIT, pkcs1 = BUF_INIT, rec = BUF_INIT;
	EVP_PKEY *pk = rsa_records(1024, &spki, &pkcs1);
	struct dkim_limits lim;
	struct dkim_pubkey k;
	const char *why;

	dkim_limits_default(&lim);
	CHECK(pk != NULL);
	for (size_t i = 0; pk && i < sizeof(key_cases) / sizeof(key_cases[0]);
	     i++) {
		const struct key_case *c = &key_cases[i];
		int r;

		subst(c->rec, spki.ptr, &rec);
		why = NULL;
		r = dkim_pubkey_parse(&k, rec.ptr, rec.len, &lim, &why);
		if ((r == 0) != (c->error == NULL))
			fprintf(stderr, "key case %zu: %s -> %s\n", i, c->rec,
				why ? why : "ok");
		CHECK_INTEQ(r, c->error ? -1 : 0);
		if (c->error != NULL)
			CHECK_STREQ(why, c->error);
		else
			CHECK(k.type == c->type && k.pkey != NULL);
		dkim_pubkey_free(&k);
	}
	EVP_PKEY_free(pk);
	buf_free(&spki);
	buf_free(&pkcs1);
	buf_free(&rec);
}

TEST(key_flags_hashes_sizes)
{
	struct buf spki = BUF_INIT, pkcs1 = BUF_INIT, rec = BUF_INIT;
	EVP_PKEY *pk = rsa_records(1024, &spki, &pkcs1);
	struct dkim_limits lim;
	struct dkim_pubkey k;
	const char *why = NULL;

	dkim_limits_default(&lim);
	buf_printf(&rec, "t=y:s; h=sha1; p=%s", spki.ptr);
	CHECK_INTEQ(dkim_pubkey_parse(&k, rec.ptr, rec.len, &lim, &why), 0);
	CHECK(k.testing && k.strict && k.bits == 1024);
	CHECK_INTEQ(dkim_pubkey_check(&k, DKIM_RSA_SHA1, &why), 0);
	CHECK_INTEQ(dkim_pubkey_check(&k, DKIM_RSA_SHA256, &why), -1);
	CHECK_STREQ(why, "key does not allow the hash");
	CHECK_INTEQ(dkim_pubkey_check(&k, DKIM_ED25519_SHA256, &why), -1);
	CHECK_STREQ(why, "key type does not match a=");
	dkim_pubkey_free(&k);
	/* a bare RSAPublicKey (PKCS#1) is read as well */
	buf_reset(&rec);
	buf_printf(&rec, "h=sha256:sha512; p=%s", pkcs1.ptr);
	CHECK_INTEQ(dkim_pubkey_parse(&k, rec.ptr, rec.len, &lim, &why), 0);
	CHECK(!k.testing && !k.strict && k.bits == 1024);
	CHECK_INTEQ(dkim_pubkey_check(&k, DKIM_RSA_SHA256, &why), 0);
	dkim_pubkey_free(&k);
	/* RFC 8301 §3.2 lower bound; the upper bound is a limit too */
	lim.rsa_min_bits = 2048;
	CHECK_INTEQ(dkim_pubkey_parse(&k, rec.ptr, rec.len, &lim, &why), -1);
	CHECK_STREQ(why, "RSA key too short");
	lim.rsa_min_bits = 512;
	lim.rsa_max_bits = 768;
	CHECK_INTEQ(dkim_pubkey_parse(&k, rec.ptr, rec.len, &lim, &why), -1);
	CHECK_STREQ(why, "RSA key too long");
	lim.max_tag_list = 20;
	CHECK_INTEQ(dkim_pubkey_parse(&k, rec.ptr, rec.len, &lim, &why), -1);
	CHECK_STREQ(why, "key record too long");
	EVP_PKEY_free(pk);
	buf_free(&spki);
	buf_free(&pkcs1);
	buf_free(&rec);
}

int main(void)
{
	RUN(taglist_good);
	RUN(taglist_bad);
	RUN(taglist_limits_and_lookup);
	RUN(taglist_raw_span);
	RUN(colon_lists);
	RUN(base64);
	RUN(numbers);
	RUN(domains);
	RUN(quoted_printable_and_text);
	RUN(key_records);
	RUN(key_flags_hashes_sizes);
	return test_summary();
}
