/* libFuzzer target for src/auth/sasl*: the client messages of PLAIN, LOGIN
 * and SCRAM-SHA-256(-PLUS), the RFC 5803 secret reader and the strict
 * base64 decoder. The first byte picks the parser; for SCRAM it also
 * picks -PLUS and whether channel-binding data is present, and the
 * client-final parser runs after a fixed, valid client-first message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "auth/sasl_plain.h"
#include "auth/sasl_scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t cb[32] = "fuzz-tls-exporter-value-0123456";

static void fuzz_plain(const uint8_t *p, size_t n)
{
	struct sasl_creds c;
	const char *error;

	if (sasl_plain_parse(p, n, &c, &error) == 0) {
		if (c.authcid[0] == '\0' || c.password[0] == '\0' ||
		    strlen(c.authcid) > SASL_AUTHCID_MAX ||
		    strlen(c.password) > SASL_PASSWORD_MAX)
			abort();
	} else if (c.password[0] != '\0') {
		abort();	/* nothing half-parsed survives a refusal */
	}
	sasl_creds_wipe(&c);
}

/* The whole LOGIN exchange, the input split at its first NUL. */
static void fuzz_login(const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, '\0', n);
	size_t ulen = nul != NULL ? (size_t)(nul - p) : n;
	struct sasl_exchange *x = sasl_exchange_new(SASL_MECH_LOGIN, NULL, 0);
	struct buf out = BUF_INIT;
	const char *error;
	enum sasl_status st;

	st = sasl_exchange_step(x, p, ulen, true, &out, &error);
	if (st == SASL_CHALLENGE && nul != NULL)
		st = sasl_exchange_step(x, nul + 1, n - ulen - 1, true, &out,
					&error);
	if (st == SASL_VERIFY &&
	    (sasl_exchange_authcid(x)[0] == '\0' ||
	     sasl_exchange_password(x)[0] == '\0'))
		abort();
	buf_free(&out);
	sasl_exchange_free(x);
}

static const struct sasl_scram_secret *secret(void)
{
	static struct sasl_scram_secret sec;
	static const uint8_t salt[16] = "fuzz-salt-16byte";

	if (sec.iter == 0 && sasl_scram_secret_derive("pencil", salt,
						      sizeof(salt), 4096,
						      &sec) < 0)
		abort();
	return &sec;
}

/* Through the server-first message; NULL when first was refused. */
static struct sasl_exchange *scram_first(bool plus, bool with_cb,
					 const void *first, size_t len)
{
	struct sasl_exchange *x = sasl_exchange_new(
		plus ? SASL_MECH_SCRAM_SHA_256_PLUS : SASL_MECH_SCRAM_SHA_256,
		with_cb ? cb : NULL, with_cb ? sizeof(cb) : 0);
	struct buf out = BUF_INIT;
	const char *error;
	enum sasl_status st = sasl_exchange_step(x, first, len, true, &out,
						 &error);

	if (st == SASL_LOOKUP) {
		if (sasl_exchange_authcid(x)[0] == '\0')
			abort();
		st = sasl_exchange_secret(x, secret(), "srvnonce", &out, &error);
	}
	buf_free(&out);
	if (st != SASL_CHALLENGE) {
		sasl_exchange_free(x);
		return NULL;
	}
	return x;
}

static void fuzz_scram(uint8_t sel, const uint8_t *p, size_t n)
{
	static const char first[] = "n,,n=user,r=clientnonce";
	struct sasl_exchange *x;
	struct buf out = BUF_INIT;
	const char *error;

	if ((sel & 4) == 0) {
		sasl_exchange_free(scram_first(sel & 1, sel & 2, p, n));
		return;
	}
	x = scram_first(false, false, first, sizeof(first) - 1);
	if (x == NULL)
		abort();
	/* without the password the fuzzer cannot forge a proof */
	if (sasl_exchange_step(x, p, n, true, &out, &error) == SASL_SUCCESS &&
	    strncmp(buf_cstr(&out), "v=", 2) != 0)
		abort();
	buf_free(&out);
	sasl_exchange_free(x);
}

static void fuzz_text(uint8_t sel, const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	struct buf b = BUF_INIT, again = BUF_INIT;
	struct sasl_scram_secret sec;
	const char *error;

	memcpy(s, p, n);
	s[n] = '\0';
	if (sel & 1) {
		if (sasl_scram_secret_parse(s, &sec, &error) == 0) {
			sasl_scram_secret_format(&sec, &b);
			if (strcmp(buf_cstr(&b), s) != 0)
				abort();	/* the strict reader is canonical */
		}
	} else if (sasl_b64_decode(s, n, &b) == 0) {
		sasl_b64_encode(b.ptr, b.len, &again);
		if (again.len != n || (n > 0 && memcmp(again.ptr, s, n) != 0))
			abort();
	}
	buf_free(&b);
	buf_free(&again);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;

	if (size == 0 || size > SASL_RESPONSE_MAX + 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	switch (sel >> 4 & 3) {
	case 0:
		fuzz_plain(data, size);
		break;
	case 1:
		fuzz_login(data, size);
		break;
	case 2:
		fuzz_scram(sel, data, size);
		break;
	default:
		fuzz_text(sel, data, size);
		break;
	}
	return 0;
}
