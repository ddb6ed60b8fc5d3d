/* Unit tests for the DKIM signer (RFC 6376 §5, RFC 8301, RFC 8463) and the
 * key functions: round trips through the verifier for every algorithm and
 * canonicalisation, the h= list with oversigning, the tags and folding of
 * the field, parameter errors, key loading and generation, and the key
 * record as zone-file strings. */
#include "harness.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_tags.h"
#include "test_dkim_util.h"

static struct dkim_limits deflim;
static struct dkim_privkey *rsa_key, *ed_key;

static const char msg1[] =
	"Received: from a by b; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	"Received: from c by a; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	"From: Joe <joe@example.org>\r\n"
	"To: Suzie <suzie@example.net>,\r\n\tTom <tom@example.net>\r\n"
	"Subject: dinner\r\n"
	"Subject: second subject\r\n"
	"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	"Date: Thu, 1 Jan 2026 00:00:01 +0000\r\n"
	"Message-ID: <1@example.org>\r\n"
	"Message-ID: <2@example.org>\r\n"
	"References: <0@example.org>\r\n"
	"X-Custom:  yes \r\n"
	"\r\n"
	"Hi.  \r\n"
	"\r\n"
	"We lost the game.\r\n"
	"\r\n\r\n";

/* Sign msg[len] fed in pieces of step bytes (0: in one go). */
static int sign(const struct dkim_sign_params *p, const char *msg, size_t len,
		size_t step, struct buf *out, const char **why)
{
	struct dkim_sign *s = dkim_sign_new(p, why);
	int r;

	buf_reset(out);
	if (s == NULL)
		return -1;
	for (size_t off = 0; off < len;) {
		size_t n = step == 0 || len - off < step ? len - off : step;

		dkim_sign_feed(s, msg + off, n);
		off += n;
	}
	r = dkim_sign_finish(s, out, why);
	dkim_sign_free(s);
	return r;
}

static void params(struct dkim_sign_params *p, struct dkim_sign_key *keys,
		   size_t n)
{
	dkim_sign_params_default(p);
	p->domain = "Example.ORG";
	p->keys = keys;
	p->n_keys = n;
	p->timestamp = 1700000000;
}

/* The key table for the selectors of keys. */
static void key_table(const struct dkim_sign_key *keys, size_t n,
		      struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		buf_printf(out, "%s._domainkey.example.org ", keys[i].selector);
		dkim_privkey_record(keys[i].key, out);
		buf_appendc(out, '\n');
	}
}

/* Every way of signing verifies, and the pieces do not matter. */
TEST(round_trips)
{
	static const enum dkim_canon c[][2] = {
		{ DKIM_CANON_RELAXED, DKIM_CANON_RELAXED },
		{ DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE },
		{ DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE },
		{ DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED },
	};
	struct dkim_sign_key keys[2] = { { "rsa", rsa_key }, { "ed", ed_key } };
	struct dkim_sign_params p;
	struct buf out = BUF_INIT, out1 = BUF_INIT, msg = BUF_INIT;
	struct buf kt = BUF_INIT;
	struct vrun run;
	const char *why;

	key_table(keys, 2, &kt);
	for (size_t i = 0; i < 4; i++) {
		params(&p, keys, 2);
		p.header_canon = c[i][0];
		p.body_canon = c[i][1];
		CHECK_INTEQ(sign(&p, msg1, strlen(msg1), 0, &out, &why), 0);
		CHECK_INTEQ(sign(&p, msg1, strlen(msg1), 1, &out1, &why), 0);
		CHECK(out.len > 0 && out.len == out1.len &&
		      memcmp(out.ptr, out1.ptr, out.len) == 0);
		buf_reset(&msg);
		buf_printf(&msg, "%s%s", out.ptr, msg1);
		CHECK(verify_all_ways(msg.ptr, msg.len, kt.ptr, &deflim,
				      1700000000, &run));
		CHECK(run.n == 2 && run.r[0].status == DKIM_PASS &&
		      run.r[1].status == DKIM_PASS);
		CHECK_STREQ(run.r[0].algorithm, "rsa-sha256");
		CHECK_STREQ(run.r[1].algorithm, "ed25519-sha256");
		CHECK_STREQ(run.r[1].domain, "example.org");
		if (run.r[0].status != DKIM_PASS)
			show_run("round trip", &run);
	}
	buf_free(&out);
	buf_free(&out1);
	buf_free(&msg);
	buf_free(&kt);
}

/* The signature field unfolded (CRLF removed) and its tags parsed. */
static void field_tags(const char *field, struct buf *unfolded,
		       struct dkim_taglist *t)
{
	const char *why;

	buf_reset(unfolded);
	for (const char *p = field; *p && !(p[0] == '\r' && p[1] == '\n' &&
					    p[2] != '\t'); p++)
		if (*p != '\r' && *p != '\n')
			buf_appendc(unfolded, *p);
	CHECK(strncmp(unfolded->ptr, "DKIM-Signature: ", 16) == 0);
	CHECK_INTEQ(dkim_tags_parse(unfolded->ptr + 15, unfolded->len - 15, t,
				    &why), 0);
}

static void tag_value(const struct dkim_taglist *t, const char *name,
		      struct buf *out)
{
	const struct dkim_tag *tag = dkim_tags_get(t, name);

	buf_reset(out);
	if (tag == NULL)
		return;
	for (size_t i = 0; i < tag->value_len; i++)
		if (tag->value[i] != ' ' && tag->value[i] != '\t')
			buf_appendc(out, tag->value[i]);
}

TEST(tags_and_oversigning)
{
	struct dkim_sign_key key = { "sel", ed_key };
	struct dkim_sign_params p;
	struct buf out = BUF_INIT, un = BUF_INIT, v = BUF_INIT;
	struct dkim_taglist t;
	static const char *const mine[] = { "X-Custom", "received", NULL };
	static const char *const over[] = { "FROM", "cc", NULL };
	const char *why;

	params(&p, &key, 1);
	p.identity = "joe;x=y@mail.example.org";
	p.expire = 3600;
	CHECK_INTEQ(sign(&p, msg1, strlen(msg1), 0, &out, &why), 0);
	field_tags(out.ptr, &un, &t);
	CHECK(t.n == 11 && t.tag[0].name[0] == 'v');
	tag_value(&t, "h", &v);
	CHECK_STREQ(buf_cstr(&v), "from:from:to:to:cc:subject:subject:subject:"
		    "date:date:date:reply-to:message-id:message-id:message-id:"
		    "mime-version:content-type:content-transfer-encoding:"
		    "references");
	tag_value(&t, "a", &v);
	CHECK_STREQ(buf_cstr(&v), "ed25519-sha256");
	tag_value(&t, "c", &v);
	CHECK_STREQ(buf_cstr(&v), "relaxed/relaxed");
	tag_value(&t, "d", &v);
	CHECK_STREQ(buf_cstr(&v), "example.org");
	tag_value(&t, "t", &v);
	CHECK_STREQ(buf_cstr(&v), "1700000000");
	tag_value(&t, "x", &v);
	CHECK_STREQ(buf_cstr(&v), "1700003600");
	tag_value(&t, "i", &v);
	CHECK_STREQ(buf_cstr(&v), "joe=3Bx=3Dy@mail.example.org");
	CHECK(dkim_tags_get(&t, "l") == NULL);
	/* own lists; no t= */
	p.headers = mine;
	p.oversign = over;
	p.timestamp = -1;
	p.identity = NULL;
	p.expire = 0;
	CHECK_INTEQ(sign(&p, msg1, strlen(msg1), 0, &out, &why), 0);
	field_tags(out.ptr, &un, &t);
	tag_value(&t, "h", &v);
	CHECK_STREQ(buf_cstr(&v), "from:from:cc:x-custom:received:received");
	CHECK(dkim_tags_get(&t, "t") == NULL && dkim_tags_get(&t, "x") == NULL);
	buf_free(&out);
	buf_free(&un);
	buf_free(&v);
}

/* Folded at 78 columns (a tab counted as 8), continuation lines start
 * with a tab, the field ends with one CRLF. */
TEST(folding)
{
	struct dkim_sign_key keys[2] = { { "rsa", rsa_key }, { "ed", ed_key } };
	struct dkim_sign_params p;
	struct buf out = BUF_INIT;
	const char *why, *line;
	size_t fields = 0;

	params(&p, keys, 2);
	p.identity = "a-rather-long-local-part-for-folding@example.org";
	CHECK_INTEQ(sign(&p, msg1, strlen(msg1), 0, &out, &why), 0);
	CHECK(out.len > 2 && strcmp(out.ptr + out.len - 2, "\r\n") == 0);
	for (line = out.ptr; *line; line = strstr(line, "\r\n") + 2) {
		size_t len = (size_t)(strstr(line, "\r\n") - line);
		size_t cols = len + (line[0] == '\t' ? 7 : 0);

		if (line[0] != '\t') {
			CHECK(strncmp(line, "DKIM-Signature: v=1;", 20) == 0);
			fields++;
		}
		CHECK(cols <= 78);
		CHECK(len > 1);
	}
	CHECK_INTEQ(fields, 2);
	buf_free(&out);
}

TEST(parameter_errors)
{
	struct dkim_privkey small = { NULL, DKIM_KEY_RSA, 512 };
	struct dkim_sign_key keys[5] = {
		{ "a", ed_key }, { "b", ed_key }, { "c", ed_key },
		{ "d", ed_key }, { "e", ed_key },
	};
	struct dkim_sign_key bad_sel = { "a b", ed_key }, none = { "s", NULL };
	struct dkim_sign_key weak = { "s", &small };
	static const char *const colon[] = { "x:y", NULL };
	static const char *const empty[] = { "", NULL };
	struct dkim_sign_params p;
	struct dkim_limits lim = deflim;
	struct buf out = BUF_INIT;
	const char *why = NULL;

	params(&p, keys, 1);
	p.domain = "example..org";
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "bad signing domain");
	params(&p, keys, 0);
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "need one to four keys");
	params(&p, keys, 5);
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	params(&p, &bad_sel, 1);
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "bad selector");
	params(&p, &none, 1);
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	params(&p, &weak, 1);
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "RSA key size out of range");
	params(&p, keys, 1);
	p.identity = "joe@example.com";
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "identity not within the signing domain");
	p.identity = "joe@badexample.org";
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	p.identity = "nobody";
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "bad identity");
	params(&p, keys, 1);
	p.headers = colon;
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "bad header field name");
	p.headers = empty;
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	/* the message itself */
	params(&p, keys, 1);
	CHECK(sign(&p, "To: a@b\r\n\r\nhi\r\n", 15, 0, &out, &why) == -1);
	CHECK_STREQ(why, "message has no From field");
	lim.max_header_fields = 3;
	p.limits = &lim;
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "message header over the limits");
	lim = deflim;
	lim.max_signed_headers = 10;
	CHECK(sign(&p, msg1, strlen(msg1), 0, &out, &why) == -1);
	CHECK_STREQ(why, "too many fields to sign");
	buf_free(&out);
}

/* Odd messages still sign and verify: 8-bit header text, no body, bare
 * LF line ends, no header but From. */
TEST(odd_messages)
{
	static const char *const msgs[] = {
		"From: J\xf4 <j@example.org>\r\nSubject: \xe0\xe1 \xe2\r\n\r\nb\xe9\r\n",
		"From: j@example.org\r\nSubject: no body\r\n",
		"From: j@example.org\r\n\r\n",
		"From: j@example.org\nTo: x@y\n\nline\n\n",
		"From: j@example.org\r\n\r\n\r\n \r\n\t\r\n",
	};
	struct dkim_sign_key keys[2] = { { "rsa", rsa_key }, { "ed", ed_key } };
	struct dkim_sign_params p;
	struct buf out = BUF_INIT, msg = BUF_INIT, kt = BUF_INIT;
	struct vrun run;
	const char *why;

	key_table(keys, 2, &kt);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		for (int simple = 0; simple < 2; simple++) {
			params(&p, keys, 2);
			if (simple)
				p.header_canon = p.body_canon = DKIM_CANON_SIMPLE;
			CHECK_INTEQ(sign(&p, msgs[i], strlen(msgs[i]), 3, &out,
					 &why), 0);
			buf_reset(&msg);
			buf_printf(&msg, "%s%s", out.ptr, msgs[i]);
			CHECK(verify_all_ways(msg.ptr, msg.len, kt.ptr, &deflim,
					      1700000000, &run));
			CHECK(run.n == 2 && run.r[0].status == DKIM_PASS &&
			      run.r[1].status == DKIM_PASS);
		}
	}
	if (dkim_data_present() && read_data("dkimpy/rfc6376.w1258.msg", &out)) {
		to_crlf(out.ptr, out.len, &msg);
		params(&p, keys, 2);
		CHECK_INTEQ(sign(&p, msg.ptr, msg.len, 0, &out, &why), 0);
		buf_append(&out, msg.ptr, msg.len);
		CHECK(verify_all_ways(out.ptr, out.len, kt.ptr, &deflim,
				      1700000000, &run));
		CHECK(run.n == 2 && run.r[0].status == DKIM_PASS &&
		      run.r[1].status == DKIM_PASS);
	}
	buf_free(&out);
	buf_free(&msg);
	buf_free(&kt);
}

/* The key files of the conformance folder in each format, and the
 * records they give: the RFC 8032 key's is known exactly. */
TEST(load_keys)
{
	static const struct {
		const char *file;
		enum dkim_keytype type;
		unsigned bits;
	} files[] = {
		{ "dkimpy/test.private", DKIM_KEY_RSA, 1024 },
		{ "dkimpy/2048_testkey_PKCS8.key", DKIM_KEY_RSA, 2048 },
		{ "dkimpy/rfc8032_7_1.key", DKIM_KEY_ED25519, 256 },
		{ "mail-dkim/test.ed.key", DKIM_KEY_ED25519, 256 },
	};
	struct buf data = BUF_INIT, rec = BUF_INIT, want = BUF_INIT;
	struct dkim_privkey *k;
	const char *why;

	if (!dkim_data_present())
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		CHECK(read_data(files[i].file, &data));
		k = dkim_privkey_load(data.ptr, data.len, &why);
		CHECK(k != NULL);
		if (k == NULL)
			continue;
		CHECK(dkim_privkey_type(k) == files[i].type);
		CHECK_INTEQ(dkim_privkey_bits(k), files[i].bits);
		buf_reset(&rec);
		dkim_privkey_record(k, &rec);
		if (i == 0) {	/* the public half is dkimpy/test.txt */
			read_data("dkimpy/test.txt", &want);
			buf_truncate(&want, strcspn(want.ptr, "\r\n"));
			CHECK_STREQ(strstr(rec.ptr, "p="), strstr(want.ptr, "p="));
			CHECK(strncmp(rec.ptr, "v=DKIM1; k=rsa; p=", 18) == 0);
		}
		if (i == 2)
			CHECK_STREQ(rec.ptr, "v=DKIM1; k=ed25519; "
				    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
		dkim_privkey_free(k);
	}
	buf_free(&data);
	buf_free(&rec);
	buf_free(&want);
}

/* PEM text of pk, encrypted with a passphrase when enc. */
static void pem_of(EVP_PKEY *pk, bool enc, bool public, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (public)
		PEM_write_bio_PUBKEY(bio, pk);
	else
		PEM_write_bio_PrivateKey(bio, pk, enc ? EVP_aes_128_cbc() : NULL,
					 (unsigned char *)"secret", 6, NULL,
					 NULL);
	n = BIO_get_mem_data(bio, &p);
	buf_reset(out);
	buf_append(out, p, (size_t)n);
	BIO_free(bio);
}

TEST(refused_keys)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct dkim_privkey *ok;
	struct buf pem = BUF_INIT;
	const char *why = NULL;

	CHECK(dkim_privkey_load("garbage", 7, &why) == NULL);
	CHECK(dkim_privkey_load("-----BEGIN PRIVATE KEY-----\nAAAA\n", 32,
				&why) == NULL);
	CHECK_STREQ(why, "unreadable private key");
	pem_of(ec, false, false, &pem);
	CHECK(dkim_privkey_load(pem.ptr, pem.len, &why) == NULL);
	CHECK_STREQ(why, "private key is neither RSA nor Ed25519");
	pem_of(ed_key->pkey, true, false, &pem);
	CHECK(strstr(pem.ptr, "ENCRYPTED") != NULL);
	CHECK(dkim_privkey_load(pem.ptr, pem.len, &why) == NULL);
	pem_of(ed_key->pkey, false, true, &pem);
	CHECK(dkim_privkey_load(pem.ptr, pem.len, &why) == NULL);
	pem_of(ed_key->pkey, false, false, &pem);
	ok = dkim_privkey_load(pem.ptr, pem.len, &why);
	CHECK(ok != NULL);
	dkim_privkey_free(ok);
	CHECK(dkim_privkey_generate(DKIM_KEY_RSA, 512, &why) == NULL);
	CHECK_STREQ(why, "RSA key size out of range");
	CHECK(dkim_privkey_generate(DKIM_KEY_RSA, 16384, &why) == NULL);
	EVP_PKEY_free(ec);
	xfree_secret(pem.ptr, pem.cap);
}

/* "a" "b" strings back into one record. */
static void unquote(const char *s, struct buf *out)
{
	bool in = false;

	buf_reset(out);
	for (; *s; s++) {
		if (*s == '"')
			in = !in;
		else if (in && *s == '\\' && s[1] != '\0')
			buf_appendc(out, *++s);
		else if (in)
			buf_appendc(out, *s);
	}
}

TEST(keygen_and_records)
{
	struct buf pem = BUF_INIT, txt = BUF_INIT, rec = BUF_INIT;
	struct buf out = BUF_INIT, msg = BUF_INIT, kt = BUF_INIT;
	struct dkim_sign_key key = { "gen", NULL };
	struct dkim_sign_params p;
	struct vrun run;
	const char *why;

	for (int type = 0; type < 2; type++) {
		buf_reset(&pem);
		buf_reset(&txt);
		CHECK_INTEQ(dkim_keygen(type ? DKIM_KEY_ED25519 : DKIM_KEY_RSA,
					2048, &pem, &txt, &why), 0);
		CHECK(strncmp(pem.ptr, "-----BEGIN PRIVATE KEY-----", 27) == 0);
		unquote(txt.ptr, &rec);
		CHECK(strncmp(rec.ptr, type ? "v=DKIM1; k=ed25519; p=" :
			      "v=DKIM1; k=rsa; p=", type ? 22 : 18) == 0);
		CHECK(type == 1 || strstr(txt.ptr, "\" \"") != NULL);
		key.key = dkim_privkey_load(pem.ptr, pem.len, &why);
		CHECK(key.key != NULL);
		params(&p, &key, 1);
		CHECK_INTEQ(sign(&p, msg1, strlen(msg1), 0, &out, &why), 0);
		buf_reset(&msg);
		buf_printf(&msg, "%s%s", out.ptr, msg1);
		buf_reset(&kt);
		buf_printf(&kt, "gen._domainkey.example.org %s\n", rec.ptr);
		verify_run(msg.ptr, msg.len, kt.ptr, &deflim, 1700000000, 0,
			   false, &run);
		CHECK(run.n == 1 && run.r[0].status == DKIM_PASS);
		CHECK_INTEQ(run.r[0].key_bits, type ? 256 : 2048);
		dkim_privkey_free((struct dkim_privkey *)key.key);
		xfree_secret(pem.ptr, pem.cap);
		buf_init(&pem);
	}
	CHECK_INTEQ(dkim_keygen(DKIM_KEY_RSA, 1000, &pem, &txt, &why), -1);
	buf_free(&txt);
	buf_free(&rec);
	buf_free(&out);
	buf_free(&msg);
	buf_free(&kt);
}

TEST(record_strings_and_names)
{
	struct buf in = BUF_INIT, out = BUF_INIT, back = BUF_INIT;
	char name[DNSQ_NAME_MAX + 1];
	char label[300];

	for (int i = 0; i < 600; i++)
		buf_appendc(&in, (char)('a' + i % 26));
	dkim_record_strings(in.ptr, in.len, &out);
	CHECK_INTEQ(out.len, 600 + 3 * 2 + 2);
	CHECK(out.ptr[256] == '"' && out.ptr[257] == ' ' && out.ptr[258] == '"');
	unquote(out.ptr, &back);
	CHECK_STREQ(back.ptr, in.ptr);
	buf_reset(&out);
	dkim_record_strings("a\"b\\c", 5, &out);
	CHECK_STREQ(out.ptr, "\"a\\\"b\\\\c\"");
	buf_reset(&out);
	dkim_record_strings("", 0, &out);
	CHECK_STREQ(out.ptr, "\"\"");
	CHECK_INTEQ(dkim_key_name("sel", "example.org", name), 0);
	CHECK_STREQ(name, "sel._domainkey.example.org");
	memset(label, 'a', sizeof(label));
	label[240] = '\0';
	CHECK_INTEQ(dkim_key_name(label, "example.org", name), -1);
	buf_free(&in);
	buf_free(&out);
	buf_free(&back);
}

int main(void)
{
	const char *why;

	dkim_limits_default(&deflim);
	rsa_key = dkim_privkey_generate(DKIM_KEY_RSA, 2048, &why);
	ed_key = dkim_privkey_generate(DKIM_KEY_ED25519, 0, &why);
	RUN(round_trips);
	RUN(tags_and_oversigning);
	RUN(folding);
	RUN(parameter_errors);
	RUN(odd_messages);
	RUN(load_keys);
	RUN(refused_keys);
	RUN(keygen_and_records);
	RUN(record_strings_and_names);
	dkim_privkey_free(rsa_key);
	dkim_privkey_free(ed_key);
	return test_summary();
}
