/* dkim_keygen: signing keys: loading, generating, and the key record to
 * publish (RFC 6376 §3.6.1, RFC 8463 §4) as zone-file strings. */
#include "mailauth/dkim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/xalloc.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_tags.h"

#define DKIM_TXT_STRING_MAX 255	/* octets in one DNS character-string */

static void *fail(const char **error_r, const char *why)
{
	if (error_r != NULL)
		*error_r = why;
	return NULL;
}

/* Never ask for a passphrase (no terminal prompts in a daemon). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static struct dkim_privkey *wrap(EVP_PKEY *pk, const char **error_r)
{
	struct dkim_privkey *k;

	if (pk == NULL)
		return fail(error_r, "unreadable private key");
	if (!EVP_PKEY_is_a(pk, "RSA") && !EVP_PKEY_is_a(pk, "ED25519")) {
		EVP_PKEY_free(pk);
		return fail(error_r, "private key is neither RSA nor Ed25519");
	}
	k = xcalloc(1, sizeof(*k));
	k->pkey = pk;
	k->type = EVP_PKEY_is_a(pk, "RSA") ? DKIM_KEY_RSA : DKIM_KEY_ED25519;
	k->bits = (unsigned)EVP_PKEY_get_bits(pk);
	return k;
}

/* A dkimpy-style key file: the 32-byte Ed25519 seed in base64. */
static EVP_PKEY *ed25519_seed(const char *p, size_t len)
{
	unsigned char seed[DKIM_ED25519_KEY_BYTES + 1];
	size_t n;
	EVP_PKEY *pk = NULL;

	if (dkim_b64_decode(p, len, seed, sizeof(seed), &n) == 0 &&
	    n == DKIM_ED25519_KEY_BYTES)
		pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
						  n);
	OPENSSL_cleanse(seed, sizeof(seed));
	return pk;
}

struct dkim_privkey *dkim_privkey_load(const void *data, size_t len,
				       const char **error_r)
{
	EVP_PKEY *pk = NULL;

	if (len > INT32_MAX)
		return fail(error_r, "private key file too large");
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);

		if (bio != NULL)
			pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase,
						     NULL);
		BIO_free(bio);
	} else {
		pk = ed25519_seed(data, len);
	}
	ERR_clear_error();
	return wrap(pk, error_r);
}

struct dkim_privkey *dkim_privkey_generate(enum dkim_keytype type,
					   unsigned bits, const char **error_r)
{
	EVP_PKEY *pk;

	if (type == DKIM_KEY_ED25519) {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS)
			return fail(error_r, "RSA key size out of range");
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	}
	ERR_clear_error();
	if (pk == NULL)
		return fail(error_r, "key generation failed");
	return wrap(pk, error_r);
}

enum dkim_keytype dkim_privkey_type(const struct dkim_privkey *k)
{
	return k->type;
}

unsigned dkim_privkey_bits(const struct dkim_privkey *k)
{
	return k->bits;
}

void dkim_privkey_free(struct dkim_privkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* Append a memory BIO's contents to out. */
static void bio_drain(BIO *bio, struct buf *out)
{
	char *p;
	long n = BIO_get_mem_data(bio, &p);

	if (n > 0)
		buf_append(out, p, (size_t)n);
}

void dkim_privkey_pem(const struct dkim_privkey *k, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_secmem());

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0,
						     NULL, NULL) != 1) {
		fprintf(stderr, "dkim: cannot write PEM\n");
		abort();
	}
	bio_drain(bio, out);
	BIO_free(bio);
}

/* p= is the SubjectPublicKeyInfo for RSA, the bare 32 octets for
 * Ed25519 (RFC 8463 §4). */
void dkim_privkey_record(const struct dkim_privkey *k, struct buf *out)
{
	unsigned char raw[DKIM_ED25519_KEY_BYTES], *der = NULL;
	size_t n = sizeof(raw);
	int len;

	if (k->type == DKIM_KEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1)
			abort();
		buf_appends(out, "v=DKIM1; k=ed25519; p=");
		dkim_b64_encode(raw, n, out);
		return;
	}
	len = i2d_PUBKEY(k->pkey, &der);
	if (len <= 0)
		abort();
	buf_appends(out, "v=DKIM1; k=rsa; p=");
	dkim_b64_encode(der, (size_t)len, out);
	OPENSSL_free(der);
}

/* RFC 1035 §3.3: a TXT RDATA is character-strings of <= 255 octets;
 * zone files write them quoted, with '"' and '\' escaped. */
void dkim_record_strings(const char *rec, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len || i == 0; i += DKIM_TXT_STRING_MAX) {
		size_t end = i + DKIM_TXT_STRING_MAX < len ?
			     i + DKIM_TXT_STRING_MAX : len;

		if (i > 0)
			buf_appendc(out, ' ');
		buf_appendc(out, '"');
		for (size_t j = i; j < end; j++) {
			if (rec[j] == '"' || rec[j] == '\\')
				buf_appendc(out, '\\');
			buf_appendc(out, rec[j]);
		}
		buf_appendc(out, '"');
	}
}

int dkim_key_name(const char *selector, const char *domain, char *out)
{
	int n = snprintf(out, DNSQ_NAME_MAX + 1, "%s._domainkey.%s", selector,
			 domain);

	return n < 0 || n > DNSQ_NAME_MAX ? -1 : 0;
}

int dkim_keygen(enum dkim_keytype type, unsigned bits, struct buf *pem,
		struct buf *txt, const char **error_r)
{
	struct dkim_privkey *k = dkim_privkey_generate(type, bits, error_r);
	struct buf rec = BUF_INIT;

	if (k == NULL)
		return -1;
	dkim_privkey_pem(k, pem);
	dkim_privkey_record(k, &rec);
	dkim_record_strings(rec.ptr, rec.len, txt);
	buf_free(&rec);
	dkim_privkey_free(k);
	return 0;
}
