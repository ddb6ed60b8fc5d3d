/* Unit tests for src/auth/sasl*: PLAIN and LOGIN parsing, the SCRAM-SHA-256
 * exchange of RFC 7677 §3 with its fixed nonces, malformed SCRAM messages,
 * channel binding (RFC 5802 §6, RFC 9266), secrets (RFC 5803), base64. */
#include "harness.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include "auth/sasl.h"
#include "auth/sasl_plain.h"
#include "auth/sasl_scram.h"
#include "lib/buf.h"

/* A byte string with NULs: S("a\0b") keeps its length. */
#define S(lit) lit, sizeof(lit) - 1

/* ---- PLAIN ---- */

TEST(plain_messages)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *authcid;	/* NULL: refused */
		const char *password_or_error;
	} cases[] = {
		{ S("\0alice@example.org\0secret"), "alice@example.org", "secret" },
		{ S("alice\0alice\0pw"), "alice", "pw" },
		{ S("ALICE\0alice\0pw"), "alice", "pw" },
		{ S("\0u\0p\xe4ss"), "u", "p\xe4ss" },	/* password bytes as sent */
		{ S("\0u\0pass word"), "u", "pass word" },
		{ S("bob\0alice\0pw"), NULL,
		  "authorization identity differs from the authentication identity" },
		{ S("alicex\0alice\0pw"), NULL,
		  "authorization identity differs from the authentication identity" },
		{ S("\0\0pw"), NULL, "empty authentication identity" },
		{ S("\0alice\0"), NULL, "empty password" },
		{ S("\0alice"), NULL, "PLAIN message without two NUL separators" },
		{ S("alice\0pw"), NULL, "PLAIN message without two NUL separators" },
		{ S(""), NULL, "PLAIN message without two NUL separators" },
		{ S("\0alice\0pw\0"), NULL, "NUL in the PLAIN password" },
		{ S("\0alice\0p\0w"), NULL, "NUL in the PLAIN password" },
		{ S("\0\xff\xfe\0pw"), NULL, "identity is not UTF-8" },
		{ S("\xc3\0a\0pw"), NULL, "identity is not UTF-8" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl_creds c;
		const char *error = NULL;
		int rc = sasl_plain_parse(cases[i].msg, cases[i].len, &c, &error);

		if ((rc == 0) != (cases[i].authcid != NULL))
			fprintf(stderr, "plain case %zu: rc %d (%s)\n", i, rc,
				error ? error : "");
		CHECK_INTEQ(rc, cases[i].authcid != NULL ? 0 : -1);
		if (cases[i].authcid != NULL) {
			CHECK_STREQ(c.authcid, cases[i].authcid);
			CHECK_STREQ(c.password, cases[i].password_or_error);
		} else {
			CHECK_STREQ(error, cases[i].password_or_error);
			CHECK_STREQ(c.password, "");
		}
		sasl_creds_wipe(&c);
	}
}

TEST(plain_limits)
{
	char msg[SASL_RESPONSE_MAX + 8];
	struct sasl_creds c;
	const char *error = NULL;
	size_t n;

	/* 255-byte identity and 1024-byte password: the largest accepted */
	msg[0] = '\0';
	memset(msg + 1, 'u', SASL_AUTHCID_MAX);
	msg[1 + SASL_AUTHCID_MAX] = '\0';
	memset(msg + 2 + SASL_AUTHCID_MAX, 'p', SASL_PASSWORD_MAX);
	n = 2 + SASL_AUTHCID_MAX + SASL_PASSWORD_MAX;
	CHECK_INTEQ(sasl_plain_parse(msg, n, &c, &error), 0);
	CHECK_INTEQ(strlen(c.authcid), SASL_AUTHCID_MAX);
	CHECK_INTEQ(strlen(c.password), SASL_PASSWORD_MAX);
	/* one more byte of password */
	msg[n] = 'p';
	CHECK_INTEQ(sasl_plain_parse(msg, n + 1, &c, &error), -1);
	CHECK_STREQ(error, "password too long");
	/* one more byte of identity */
	memset(msg, 'u', SASL_AUTHCID_MAX + 2);
	msg[0] = '\0';
	msg[SASL_AUTHCID_MAX + 2] = '\0';
	memcpy(msg + SASL_AUTHCID_MAX + 3, "pw", 2);
	CHECK_INTEQ(sasl_plain_parse(msg, SASL_AUTHCID_MAX + 5, &c, &error), -1);
	CHECK_STREQ(error, "identity too long");
	/* an overlong message as a whole */
	memset(msg, 'x', sizeof(msg));
	CHECK_INTEQ(sasl_plain_parse(msg, sizeof(msg), &c, &error), -1);
	CHECK_STREQ(error, "PLAIN message too long");
	sasl_creds_wipe(&c);
}

/* ---- the exchange driver: PLAIN and LOGIN ---- */

struct step {
	const char *in;		/* NULL: no input (first step without IR) */
	size_t len;
	enum sasl_status want;
	const char *out;	/* expected challenge, or error on FAILURE */
};

/* Run steps on a new exchange of mech; returns the exchange. */
static struct sasl_exchange *run_steps(enum sasl_mech mech,
				       const struct step *steps, size_t n)
{
	struct sasl_exchange *x = sasl_exchange_new(mech, NULL, 0);

	for (size_t i = 0; i < n; i++) {
		struct buf out = BUF_INIT;
		const char *error = NULL;
		enum sasl_status st = sasl_exchange_step(
			x, steps[i].in, steps[i].len, steps[i].in != NULL,
			&out, &error);

		if (st != steps[i].want)
			fprintf(stderr, "%s step %zu: status %d (%s)\n",
				sasl_mech_name(mech), i, st, error ? error : "");
		CHECK_INTEQ(st, steps[i].want);
		if (st == SASL_FAILURE)
			CHECK_STREQ(error, steps[i].out);
		else if (steps[i].out != NULL)
			CHECK_STREQ(buf_cstr(&out), steps[i].out);
		buf_free(&out);
	}
	return x;
}

TEST(plain_exchange)
{
	static const struct step no_ir[] = {
		{ NULL, 0, SASL_CHALLENGE, "" },
		{ S("\0alice\0pw"), SASL_VERIFY, NULL },
		{ S(""), SASL_FAILURE, "exchange already complete" },
	};
	static const struct step ir[] = {
		{ S("\0alice\0pw"), SASL_VERIFY, NULL },
	};
	static const struct step empty_ir[] = {
		{ S(""), SASL_FAILURE, "PLAIN message without two NUL separators" },
		{ S("\0alice\0pw"), SASL_FAILURE, "exchange already complete" },
	};
	struct sasl_exchange *x;

	x = run_steps(SASL_MECH_PLAIN, no_ir, 3);
	CHECK_STREQ(sasl_exchange_authcid(x), "alice");
	CHECK_STREQ(sasl_exchange_password(x), "pw");
	sasl_exchange_free(x);
	x = run_steps(SASL_MECH_PLAIN, ir, 1);
	CHECK_STREQ(sasl_exchange_password(x), "pw");
	sasl_exchange_free(x);
	sasl_exchange_free(run_steps(SASL_MECH_PLAIN, empty_ir, 2));
}

TEST(login_exchange)
{
	static const struct step no_ir[] = {
		{ NULL, 0, SASL_CHALLENGE, "Username:" },
		{ S("alice@example.org"), SASL_CHALLENGE, "Password:" },
		{ S("s3cret"), SASL_VERIFY, NULL },
		{ S("more"), SASL_FAILURE, "exchange already complete" },
	};
	static const struct step ir[] = {
		{ S("bob"), SASL_CHALLENGE, "Password:" },
		{ S("pw"), SASL_VERIFY, NULL },
	};
	static const struct step bad_user[] = {
		{ NULL, 0, SASL_CHALLENGE, "Username:" },
		{ S("al\0ice"), SASL_FAILURE, "NUL in a LOGIN answer" },
	};
	static const struct step empty_user[] = {
		{ S(""), SASL_FAILURE, "empty user name" },
	};
	static const struct step empty_pass[] = {
		{ S("bob"), SASL_CHALLENGE, "Password:" },
		{ S(""), SASL_FAILURE, "empty password" },
	};
	static const struct step bad_utf8[] = {
		{ S("b\xc0\xafob"), SASL_FAILURE, "identity is not UTF-8" },
	};
	struct sasl_exchange *x;
	char big[SASL_PASSWORD_MAX + 1];

	x = run_steps(SASL_MECH_LOGIN, no_ir, 4);
	CHECK_STREQ(sasl_exchange_authcid(x), "alice@example.org");
	CHECK_STREQ(sasl_exchange_password(x), "s3cret");
	sasl_exchange_free(x);
	x = run_steps(SASL_MECH_LOGIN, ir, 2);
	CHECK_STREQ(sasl_exchange_authcid(x), "bob");
	sasl_exchange_free(x);
	sasl_exchange_free(run_steps(SASL_MECH_LOGIN, bad_user, 2));
	sasl_exchange_free(run_steps(SASL_MECH_LOGIN, empty_user, 1));
	sasl_exchange_free(run_steps(SASL_MECH_LOGIN, empty_pass, 2));
	sasl_exchange_free(run_steps(SASL_MECH_LOGIN, bad_utf8, 1));

	/* limits: a 256-byte user name, a 1025-byte password */
	memset(big, 'x', sizeof(big));
	{
		struct step u[] = {
			{ big, SASL_AUTHCID_MAX + 1, SASL_FAILURE, "identity too long" },
		};
		struct step p[] = {
			{ S("bob"), SASL_CHALLENGE, "Password:" },
			{ big, SASL_PASSWORD_MAX, SASL_VERIFY, NULL },
		};
		struct step p2[] = {
			{ S("bob"), SASL_CHALLENGE, "Password:" },
			{ big, SASL_PASSWORD_MAX + 1, SASL_FAILURE, "password too long" },
		};
		sasl_exchange_free(run_steps(SASL_MECH_LOGIN, u, 1));
		sasl_exchange_free(run_steps(SASL_MECH_LOGIN, p, 2));
		sasl_exchange_free(run_steps(SASL_MECH_LOGIN, p2, 2));
	}
}

TEST(mechanism_names)
{
	CHECK_INTEQ(sasl_mech_parse("PLAIN"), SASL_MECH_PLAIN);
	CHECK_INTEQ(sasl_mech_parse("login"), SASL_MECH_LOGIN);
	CHECK_INTEQ(sasl_mech_parse("SCRAM-SHA-256"), SASL_MECH_SCRAM_SHA_256);
	CHECK_INTEQ(sasl_mech_parse("Scram-Sha-256-Plus"),
		    SASL_MECH_SCRAM_SHA_256_PLUS);
	CHECK_INTEQ(sasl_mech_parse("SCRAM-SHA-1"), -1);
	CHECK_INTEQ(sasl_mech_parse(""), -1);
	CHECK_INTEQ(sasl_mech_parse("PLAIN "), -1);
	CHECK_STREQ(sasl_mech_name(SASL_MECH_SCRAM_SHA_256_PLUS),
		    "SCRAM-SHA-256-PLUS");
}

/* ---- base64 ---- */

TEST(base64_strict)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: refused */
	} cases[] = {
		{ "", "" }, { "biws", "n,," }, { "YQ==", "a" }, { "YWI=", "ab" },
		{ "YWJj", "abc" }, { "YR==", NULL }, { "YWJ=", NULL },
		{ "YQ=", NULL }, { "YQ", NULL }, { "Y Q==", NULL },
		{ "YQ==YQ==", NULL }, { "Y===", NULL }, { "=QQQ", NULL },
		{ "YQ=a", NULL }, { "YWJj\n", NULL }, { "YW-j", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		int rc = sasl_b64_decode(cases[i].in, strlen(cases[i].in), &b);

		CHECK_INTEQ(rc, cases[i].out ? 0 : -1);
		if (cases[i].out)
			CHECK_STREQ(buf_cstr(&b), cases[i].out);
		else
			CHECK_INTEQ(b.len, 0);
		buf_free(&b);
	}
	for (size_t n = 0; n <= 7; n++) {
		struct buf e = BUF_INIT, d = BUF_INIT;
		const char *src = "\x00\xff\x10zq\x80\x7f";

		sasl_b64_encode(src, n, &e);
		CHECK_INTEQ(e.len, (n + 2) / 3 * 4);
		CHECK_INTEQ(sasl_b64_decode(buf_cstr(&e), e.len, &d), 0);
		CHECK_INTEQ(d.len, n);
		CHECK(n == 0 || memcmp(d.ptr, src, n) == 0);
		buf_free(&e);
		buf_free(&d);
	}
}

/* ---- SCRAM: RFC 7677 §3 ---- */

#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_NONCE RFC_CNONCE RFC_SNONCE
#define RFC_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_FIRST "n,,n=user,r=" RFC_CNONCE
#define RFC_SERVER_FIRST "r=" RFC_NONCE ",s=" RFC_SALT ",i=4096"
#define RFC_FINAL "c=biws,r=" RFC_NONCE \
	",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* The secret of "pencil" with the RFC's salt. */
static void rfc_secret(struct sasl_scram_secret *sec)
{
	struct buf salt = BUF_INIT;

	CHECK_INTEQ(sasl_b64_decode(RFC_SALT, strlen(RFC_SALT), &salt), 0);
	CHECK_INTEQ(sasl_scram_secret_derive("pencil", (const uint8_t *)salt.ptr,
					     salt.len, 4096, sec), 0);
	buf_free(&salt);
}

TEST(scram_rfc7677_exchange)
{
	struct sasl_scram_secret sec;
	struct sasl_exchange *x = sasl_exchange_new(SASL_MECH_SCRAM_SHA_256,
						    NULL, 0);
	struct buf out = BUF_INIT;
	const char *error = NULL;

	rfc_secret(&sec);
	CHECK_INTEQ(sasl_exchange_step(x, NULL, 0, false, &out, &error),
		    SASL_CHALLENGE);
	CHECK_INTEQ(out.len, 0);
	CHECK_INTEQ(sasl_exchange_step(x, S(RFC_FIRST), true, &out, &error),
		    SASL_LOOKUP);
	CHECK_STREQ(sasl_exchange_authcid(x), "user");
	CHECK_INTEQ(sasl_exchange_secret(x, &sec, RFC_SNONCE, &out, &error),
		    SASL_CHALLENGE);
	CHECK_STREQ(buf_cstr(&out), RFC_SERVER_FIRST);
	buf_reset(&out);
	CHECK_INTEQ(sasl_exchange_step(x, S(RFC_FINAL), true, &out, &error),
		    SASL_SUCCESS);
	CHECK_STREQ(buf_cstr(&out), RFC_SERVER_FINAL);
	CHECK_INTEQ(sasl_exchange_step(x, S(""), true, &out, &error),
		    SASL_FAILURE);
	buf_free(&out);
	sasl_exchange_free(x);
}

TEST(scram_secret_text)
{
	struct sasl_scram_secret sec, back;
	struct buf text = BUF_INIT;
	const char *error = NULL;
	static const struct {
		const char *text;
		const char *error;
	} bad[] = {
		{ "SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$a:b", "not a SCRAM-SHA-256 secret" },
		{ "$y$j9T$salt$hash", "not a SCRAM-SHA-256 secret" },
		{ "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==", "malformed SCRAM secret" },
		{ "SCRAM-SHA-256$0:QQ==$a:b", "malformed SCRAM secret" },
		{ "SCRAM-SHA-256$x:QQ==$a:b", "malformed SCRAM secret" },
		{ "SCRAM-SHA-256$99999999:QQ==$a:b", "bad SCRAM iteration count" },
		{ "SCRAM-SHA-256$40a6:QQ==$a:b", "bad SCRAM iteration count" },
		{ "SCRAM-SHA-256$4096:QQ==$YQ==:YQ==", "bad base64 in SCRAM secret" },
		{ "SCRAM-SHA-256$4096:$x:y", "bad base64 in SCRAM secret" },
	};

	rfc_secret(&sec);
	sasl_scram_secret_format(&sec, &text);
	CHECK(strncmp(buf_cstr(&text), "SCRAM-SHA-256$4096:" RFC_SALT "$", 44) == 0);
	CHECK_INTEQ(sasl_scram_secret_parse(buf_cstr(&text), &back, &error), 0);
	CHECK(memcmp(&sec, &back, sizeof(sec)) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INTEQ(sasl_scram_secret_parse(bad[i].text, &back, &error), -1);
		CHECK_STREQ(error, bad[i].error);
	}
	/* a flipped key byte changes the text and fails the RFC exchange */
	sec.stored_key[0] ^= 1;
	buf_reset(&text);
	sasl_scram_secret_format(&sec, &text);
	CHECK_INTEQ(sasl_scram_secret_parse(buf_cstr(&text), &back, &error), 0);
	CHECK(memcmp(&sec, &back, sizeof(sec)) == 0);
	buf_free(&text);
}

/* ---- SCRAM: client side for the tests (RFC 5802 §3) ---- */

static void hmac(const void *key, size_t klen, const char *msg, uint8_t out[32])
{
	unsigned len = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const uint8_t *)msg, strlen(msg),
	     out, &len);
}

/* The client-final-message for password, given the exchange so far. */
static void client_final(const char *password, const char *first_bare,
			 const char *server_first, const char *without_proof,
			 struct buf *out)
{
	struct sasl_scram_secret sec;
	uint8_t salted[32], ck[32], sk[32], sig[32], proof[32];
	struct buf am = BUF_INIT;

	rfc_secret(&sec);	/* the tests use the RFC's salt and count */
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), sec.salt,
			  (int)sec.salt_len, 4096, EVP_sha256(), 32, salted);
	hmac(salted, 32, "Client Key", ck);
	SHA256(ck, 32, sk);
	buf_printf(&am, "%s,%s,%s", first_bare, server_first, without_proof);
	hmac(sk, 32, buf_cstr(&am), sig);
	for (int i = 0; i < 32; i++)
		proof[i] = ck[i] ^ sig[i];
	buf_printf(out, "%s,p=", without_proof);
	sasl_b64_encode(proof, 32, out);
	buf_free(&am);
}

/* A SCRAM exchange of mech with cb, through the server-first message of
 * first: NULL when that was refused (*error_r says why). */
static struct sasl_exchange *scram_to_final(enum sasl_mech mech, const void *cb,
					    size_t cb_len, const char *first,
					    size_t first_len,
					    const char **error_r)
{
	struct sasl_exchange *x = sasl_exchange_new(mech, cb, cb_len);
	struct sasl_scram_secret sec;
	struct buf out = BUF_INIT;
	enum sasl_status st;

	st = sasl_exchange_step(x, first, first_len, true, &out, error_r);
	if (st == SASL_LOOKUP) {
		rfc_secret(&sec);
		st = sasl_exchange_secret(x, &sec, RFC_SNONCE, &out, error_r);
	}
	buf_free(&out);
	if (st != SASL_CHALLENGE) {
		sasl_exchange_free(x);
		return NULL;
	}
	return x;
}

TEST(scram_client_first_malformed)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{ S(RFC_FIRST), NULL },
		{ S("n,a=User,n=user,r=abc"), NULL },
		{ S("n,,n=user,r=abc,x=ext,y=ext"), NULL },
		{ S("n,,n=us=2Cer=3D,r=abc"), NULL },
		{ S("y,,n=user,r=abc"), NULL },	/* -PLUS not offered here */
		{ S(""), "empty SCRAM message" },
		{ S("n,,n=user"), "missing client nonce (r=)" },
		{ S("n,,r=abc"), "missing user name (n=)" },
		{ S("n,,n=,r=abc"), "missing user name (n=)" },
		{ S("n,,n=user,r="), "missing client nonce (r=)" },
		{ S("n,,n=user,n=other,r=abc"), "missing client nonce (r=)" },
		{ S("n,,r=abc,n=user"), "missing user name (n=)" },
		{ S("n,,n=user,r=abc,r=def"), "duplicate SCRAM attribute" },
		{ S("n,,n=user,r=abc,n=user"), "duplicate SCRAM attribute" },
		{ S("n,,n=user,r=abc,x=1,x=2"), "duplicate SCRAM attribute" },
		{ S("n,,m=ext,n=user,r=abc"), "unsupported mandatory extension (m=)" },
		{ S("n,,n=user,r=abc,m=x"), "unsupported mandatory extension (m=)" },
		{ S("n,,n=user,r=abc,"), "malformed SCRAM attribute" },
		{ S("n,,n=user,r=abc,xyz"), "malformed SCRAM attribute" },
		{ S("n,,n=user,r=abc,=x"), "malformed SCRAM attribute" },
		{ S("n,,n=us=3Cer,r=abc"), "bad '=' escape in a user name" },
		{ S("n,,n=user=2,r=abc"), "bad '=' escape in a user name" },
		{ S("n,,n=us=2cer,r=abc"), "bad '=' escape in a user name" },
		{ S("n,,n=\xff\xfe,r=abc"), "identity is not UTF-8" },
		{ S("n,,n=user,r=ab\x7f"), "bad client nonce" },
		{ S("n,,n=user,r=a b"), "bad client nonce" },
		{ S("n,,n=us\0er,r=abc"), "NUL in a SCRAM message" },
		{ S("x,,n=user,r=abc"), "bad gs2 header" },
		{ S("n,n=user,r=abc"), "bad gs2 header" },
		{ S("nn,,n=user,r=abc"), "bad gs2 header" },
		{ S("n,a=,n=user,r=abc"), "empty user name" },
		{ S("n,a=user"), "bad gs2 header" },
		{ S("n=user,r=abc"), "bad gs2 header" },
		{ S("p=,,n=user,r=abc"), "bad gs2 header" },
		{ S("n,a=other,n=user,r=abc"),
		  "authorization identity differs from the authentication identity" },
		{ S("p=tls-unique,,n=user,r=abc"), "unsupported channel binding type" },
		{ S("p=tls-exporter,,n=user,r=abc"),
		  "channel binding with a non-PLUS mechanism" },
	};
	char big[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		struct sasl_exchange *x = scram_to_final(
			SASL_MECH_SCRAM_SHA_256, NULL, 0, cases[i].msg,
			cases[i].len, &error);

		if ((x != NULL) != (cases[i].error == NULL))
			fprintf(stderr, "client-first case %zu: %s\n", i,
				error ? error : "accepted");
		CHECK((x != NULL) == (cases[i].error == NULL));
		if (cases[i].error != NULL)
			CHECK_STREQ(error, cases[i].error);
		sasl_exchange_free(x);
	}
	/* user name limit: 255 bytes ok, 256 refused */
	for (size_t n = SASL_AUTHCID_MAX; n <= SASL_AUTHCID_MAX + 1; n++) {
		struct buf m = BUF_INIT;
		const char *error = NULL;
		struct sasl_exchange *x;

		memset(big, 'u', n);
		big[n] = '\0';
		buf_printf(&m, "n,,n=%s,r=abc", big);
		x = scram_to_final(SASL_MECH_SCRAM_SHA_256, NULL, 0, m.ptr, m.len,
				   &error);
		CHECK((x != NULL) == (n == SASL_AUTHCID_MAX));
		if (x == NULL)
			CHECK_STREQ(error, "identity too long");
		sasl_exchange_free(x);
		buf_free(&m);
	}
}

/* A client-final case against the RFC 7677 exchange state. */
static void final_case(const char *msg, const char *error_want, int line)
{
	const char *error = NULL;
	struct sasl_exchange *x = scram_to_final(SASL_MECH_SCRAM_SHA_256, NULL,
						 0, S(RFC_FIRST), &error);
	struct buf out = BUF_INIT;
	enum sasl_status st;

	CHECK(x != NULL);
	if (x == NULL)
		return;
	st = sasl_exchange_step(x, msg, strlen(msg), true, &out, &error);
	if (st != (error_want ? SASL_FAILURE : SASL_SUCCESS) ||
	    (error_want && strcmp(error, error_want) != 0)) {
		fprintf(stderr, "line %d: status %d error %s\n", line, st,
			error ? error : "-");
		test_failed_checks++;
	}
	if (error_want != NULL)
		CHECK_INTEQ(out.len, 0);
	buf_free(&out);
	sasl_exchange_free(x);
}

#define RFC_PROOF "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_R "r=" RFC_NONCE

TEST(scram_client_final_malformed)
{
	struct buf ext = BUF_INIT;

	final_case(RFC_FINAL, NULL, __LINE__);
	final_case("", "empty SCRAM message", __LINE__);
	final_case(RFC_R "," RFC_PROOF, "missing channel binding (c=)", __LINE__);
	final_case("c=biws," RFC_PROOF, "missing nonce (r=)", __LINE__);
	final_case("c=biws," RFC_R, "missing client proof (p=)", __LINE__);
	final_case("c=biws," RFC_R ",x=1", "missing client proof (p=)", __LINE__);
	final_case("c=biws,r=" RFC_CNONCE "," RFC_PROOF, "wrong nonce", __LINE__);
	final_case("c=biws,r=" RFC_NONCE "x," RFC_PROOF, "wrong nonce", __LINE__);
	final_case("c=biws,c=biws," RFC_R "," RFC_PROOF, "missing nonce (r=)",
		   __LINE__);
	final_case("c=biws," RFC_R "," RFC_R "," RFC_PROOF,
		   "duplicate SCRAM attribute", __LINE__);
	final_case("c=biws," RFC_R ",c=biws," RFC_PROOF,
		   "duplicate SCRAM attribute", __LINE__);
	final_case("c=biws," RFC_R "," RFC_PROOF "," RFC_PROOF,
		   "client proof (p=) is not last", __LINE__);
	final_case("c=biws," RFC_R "," RFC_PROOF ",x=1",
		   "client proof (p=) is not last", __LINE__);
	final_case("c=biws," RFC_R "," RFC_PROOF ",",
		   "client proof (p=) is not last", __LINE__);
	final_case("c=biws," RFC_R ",," RFC_PROOF, "malformed SCRAM attribute",
		   __LINE__);
	final_case("c=biw," RFC_R "," RFC_PROOF,
		   "bad base64 in channel binding (c=)", __LINE__);
	final_case("c=b!ws," RFC_R "," RFC_PROOF,
		   "bad base64 in channel binding (c=)", __LINE__);
	final_case("c=eSws," RFC_R "," RFC_PROOF, "channel binding mismatch",
		   __LINE__);	/* "y,," */
	final_case("c=," RFC_R "," RFC_PROOF, "missing channel binding (c=)",
		   __LINE__);
	final_case("c=biws," RFC_R ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		   "bad client proof (p=)", __LINE__);
	final_case("c=biws," RFC_R ",p=YQ==", "bad client proof (p=)", __LINE__);
	final_case("c=biws," RFC_R ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		   "bad password", __LINE__);
	/* an extension is covered by the proof: RFC's proof no longer fits */
	final_case("c=biws," RFC_R ",x=1," RFC_PROOF, "bad password", __LINE__);
	client_final("pencil", "n=user,r=" RFC_CNONCE, RFC_SERVER_FIRST,
		      "c=biws," RFC_R ",x=1", &ext);
	final_case(buf_cstr(&ext), NULL, __LINE__);
	buf_reset(&ext);
	client_final("pencil!", "n=user,r=" RFC_CNONCE, RFC_SERVER_FIRST,
		     "c=biws," RFC_R, &ext);
	final_case(buf_cstr(&ext), "bad password", __LINE__);
	buf_free(&ext);
}

/* ---- channel binding (RFC 5802 §6, RFC 9266) ---- */

static const uint8_t cbdata[32] = "0123456789abcdef0123456789ABCDEF";

/* c= for gs2 header hdr (plus cbdata when with_cb). */
static void cbind_attr(const char *hdr, const uint8_t *cb, size_t cb_len,
		       struct buf *out)
{
	struct buf raw = BUF_INIT;

	buf_appends(&raw, hdr);
	if (cb_len > 0)
		buf_append(&raw, cb, cb_len);
	buf_appends(out, "c=");
	sasl_b64_encode(raw.ptr, raw.len, out);
	buf_printf(out, ",r=%s", RFC_NONCE);
	buf_free(&raw);
}

/* Full exchange: mech, the server's cb data, the client's gs2 header and
 * the cb data the client binds; "" error means success. */
static void cb_case(enum sasl_mech mech, bool server_cb, const char *hdr,
		    const uint8_t *client_cb, size_t client_cb_len,
		    const char *error_want, int line)
{
	struct buf first = BUF_INIT, final = BUF_INIT, wp = BUF_INIT;
	struct buf out = BUF_INIT;
	const char *error = "";
	struct sasl_exchange *x;
	enum sasl_status st = SASL_FAILURE;

	buf_printf(&first, "%sn=user,r=%s", hdr, RFC_CNONCE);
	x = scram_to_final(mech, server_cb ? cbdata : NULL,
			   server_cb ? sizeof(cbdata) : 0, first.ptr, first.len,
			   &error);
	if (x != NULL) {
		cbind_attr(hdr, client_cb, client_cb_len, &wp);
		client_final("pencil", first.ptr + strlen(hdr), RFC_SERVER_FIRST,
			     wp.ptr, &final);
		st = sasl_exchange_step(x, final.ptr, final.len, true, &out,
					&error);
		if (st == SASL_SUCCESS)
			error = "";
	}
	if (strcmp(error, error_want) != 0) {
		fprintf(stderr, "line %d: got \"%s\", want \"%s\"\n", line,
			error, error_want);
		test_failed_checks++;
	}
	sasl_exchange_free(x);
	buf_free(&first);
	buf_free(&final);
	buf_free(&wp);
	buf_free(&out);
}

TEST(scram_channel_binding)
{
	static const uint8_t other[32] = "0123456789abcdef0123456789ABCDEX";
	const enum sasl_mech plus = SASL_MECH_SCRAM_SHA_256_PLUS;
	const enum sasl_mech plain = SASL_MECH_SCRAM_SHA_256;
	const char *const p = "p=tls-exporter,,";

	cb_case(plus, true, p, cbdata, sizeof(cbdata), "", __LINE__);
	cb_case(plus, true, "p=tls-exporter,a=user,", cbdata, sizeof(cbdata), "",
		__LINE__);
	cb_case(plus, true, p, other, sizeof(other), "channel binding mismatch",
		__LINE__);
	cb_case(plus, true, p, NULL, 0, "channel binding mismatch", __LINE__);
	cb_case(plus, true, "n,,", NULL, 0,
		"SCRAM-SHA-256-PLUS without channel binding", __LINE__);
	cb_case(plus, true, "y,,", NULL, 0,
		"SCRAM-SHA-256-PLUS without channel binding", __LINE__);
	cb_case(plus, false, p, cbdata, sizeof(cbdata),
		"SCRAM-SHA-256-PLUS without channel binding data (no TLS)",
		__LINE__);
	cb_case(plus, true, "p=tls-server-end-point,,", cbdata, sizeof(cbdata),
		"unsupported channel binding type", __LINE__);
	/* non-PLUS: "n" always; "y" only when -PLUS was not offered (no cb
	 * data), else it is a downgrade */
	cb_case(plain, true, "n,,", NULL, 0, "", __LINE__);
	cb_case(plain, false, "n,,", NULL, 0, "", __LINE__);
	cb_case(plain, false, "y,,", NULL, 0, "", __LINE__);
	cb_case(plain, true, "y,,", NULL, 0, "channel binding downgrade: client "
		"says 'y' while -PLUS is offered", __LINE__);
	cb_case(plain, true, p, cbdata, sizeof(cbdata),
		"channel binding with a non-PLUS mechanism", __LINE__);
	/* the client's c= must repeat its own gs2 header */
	{
		struct buf first = BUF_INIT, wp = BUF_INIT, final = BUF_INIT;
		struct buf out = BUF_INIT;
		const char *error = NULL;
		struct sasl_exchange *x;

		buf_printf(&first, "y,,n=user,r=%s", RFC_CNONCE);
		x = scram_to_final(plain, NULL, 0, first.ptr, first.len, &error);
		CHECK(x != NULL);
		cbind_attr("n,,", NULL, 0, &wp);
		client_final("pencil", first.ptr + 3, RFC_SERVER_FIRST, wp.ptr,
			     &final);
		if (x != NULL) {
			CHECK_INTEQ(sasl_exchange_step(x, final.ptr, final.len,
						       true, &out, &error),
				    SASL_FAILURE);
			CHECK_STREQ(error, "channel binding mismatch");
		}
		sasl_exchange_free(x);
		buf_free(&first);
		buf_free(&wp);
		buf_free(&final);
		buf_free(&out);
	}
	/* channel-binding data longer than SASL_CB_MAX */
	{
		uint8_t huge[SASL_CB_MAX + 1] = { 0 };
		struct sasl_exchange *x = sasl_exchange_new(plus, huge, sizeof(huge));
		struct buf out = BUF_INIT;
		const char *error = NULL;

		CHECK_INTEQ(sasl_exchange_step(x, S("p=tls-exporter,,n=u,r=a"),
					       true, &out, &error), SASL_FAILURE);
		CHECK_STREQ(error, "channel binding data too long");
		sasl_exchange_free(x);
		buf_free(&out);
	}
}

TEST(scram_out_of_order)
{
	struct sasl_scram_secret sec;
	struct sasl_exchange *x = sasl_exchange_new(SASL_MECH_SCRAM_SHA_256,
						    NULL, 0);
	struct buf out = BUF_INIT;
	const char *error = NULL;

	rfc_secret(&sec);
	/* the secret before the client-first message */
	CHECK_INTEQ(sasl_exchange_secret(x, &sec, RFC_SNONCE, &out, &error),
		    SASL_FAILURE);
	CHECK_STREQ(error, "unexpected SCRAM secret");
	sasl_exchange_free(x);

	/* a step while the secret is awaited */
	x = sasl_exchange_new(SASL_MECH_SCRAM_SHA_256, NULL, 0);
	CHECK_INTEQ(sasl_exchange_step(x, S(RFC_FIRST), true, &out, &error),
		    SASL_LOOKUP);
	CHECK_INTEQ(sasl_exchange_step(x, S(RFC_FINAL), true, &out, &error),
		    SASL_FAILURE);
	CHECK_STREQ(error, "unexpected SCRAM message");
	sasl_exchange_free(x);

	/* a bad server nonce (',' is not printable in SCRAM's sense) */
	x = sasl_exchange_new(SASL_MECH_SCRAM_SHA_256, NULL, 0);
	CHECK_INTEQ(sasl_exchange_step(x, S(RFC_FIRST), true, &out, &error),
		    SASL_LOOKUP);
	CHECK_INTEQ(sasl_exchange_secret(x, &sec, "a,b", &out, &error),
		    SASL_FAILURE);
	CHECK_STREQ(error, "bad server nonce");
	sasl_exchange_free(x);
	buf_free(&out);
}

/* Every message of a successful exchange, cut short at every length,
 * is refused without crashing (and never succeeds). */
TEST(scram_truncated_messages)
{
	for (size_t n = 0; n < strlen(RFC_FIRST); n++) {
		const char *error = NULL;
		struct sasl_exchange *x = scram_to_final(SASL_MECH_SCRAM_SHA_256,
							 NULL, 0, RFC_FIRST, n,
							 &error);

		/* "n,,n=user,r=r" and longer prefixes are valid messages */
		CHECK((x != NULL) == (n >= strlen("n,,n=user,r=r")));
		sasl_exchange_free(x);
	}
	for (size_t n = 0; n < strlen(RFC_FINAL); n++) {
		const char *error = NULL;
		struct sasl_exchange *x = scram_to_final(SASL_MECH_SCRAM_SHA_256,
							 NULL, 0, S(RFC_FIRST),
							 &error);
		struct buf out = BUF_INIT;

		CHECK(x != NULL);
		if (x == NULL)
			return;
		CHECK_INTEQ(sasl_exchange_step(x, RFC_FINAL, n, true, &out,
					       &error), SASL_FAILURE);
		CHECK_INTEQ(out.len, 0);
		sasl_exchange_free(x);
		buf_free(&out);
	}
}

int main(void)
{
	RUN(plain_messages);
	RUN(plain_limits);
	RUN(plain_exchange);
	RUN(login_exchange);
	RUN(mechanism_names);
	RUN(base64_strict);
	RUN(scram_rfc7677_exchange);
	RUN(scram_secret_text);
	RUN(scram_client_first_malformed);
	RUN(scram_client_final_malformed);
	RUN(scram_channel_binding);
	RUN(scram_out_of_order);
	RUN(scram_truncated_messages);
	return test_summary();
}
