/* dkim_key: key record parsing (RFC 6376 §3.6.1, RFC 8463 §4, RFC 8301
 * §3.2 key sizes). */
#include "dkim_key.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "lib/xalloc.h"
#include "mailauth/dkim_tags.h"

static int fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

enum dkim_keytype dkim_algo_keytype(enum dkim_algo a)
{
	return a == DKIM_ED25519_SHA256 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
}

/* v= is optional, but when present it MUST be first and "DKIM1". */
static int check_version(const struct dkim_taglist *t, const char **error_r)
{
	const struct dkim_tag *v = dkim_tags_get(t, "v");

	if (v == NULL)
		return 0;
	if (v != &t->tag[0] || v->value_len != 5 ||
	    memcmp(v->value, "DKIM1", 5) != 0)
		return fail(error_r, "unsupported key record version");
	return 0;
}

/* k= (default rsa), h=, s= (default "*"), t= flags. */
static int parse_flags(struct dkim_pubkey *k, const struct dkim_taglist *t,
		       const char **error_r)
{
	const struct dkim_tag *kt = dkim_tags_get(t, "k"),
			      *h = dkim_tags_get(t, "h"),
			      *s = dkim_tags_get(t, "s"),
			      *f = dkim_tags_get(t, "t");

	if (kt == NULL || dkim_tag_is(kt, "rsa"))
		k->type = DKIM_KEY_RSA;
	else if (dkim_tag_is(kt, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else
		return fail(error_r, "unsupported key type");
	k->any_hash = h == NULL;
	if (h != NULL) {
		k->sha1 = dkim_list_has(h->value, h->value_len, "sha1");
		k->sha256 = dkim_list_has(h->value, h->value_len, "sha256");
	}
	if (s != NULL && !dkim_list_has(s->value, s->value_len, "*") &&
	    !dkim_list_has(s->value, s->value_len, "email"))
		return fail(error_r, "key not for email");
	if (f != NULL) {
		k->testing = dkim_list_has(f->value, f->value_len, "y");
		k->strict = dkim_list_has(f->value, f->value_len, "s");
	}
	return 0;
}

/* Decoded RSA keys of recent records: a busy sender signs every message
 * with the same key, and decoding it costs more than the verification
 * itself. Keys are shared by reference count; the oldest slot goes. */
#define RSA_KEY_CACHE 32

static struct {
	unsigned char *der;
	size_t n;
	EVP_PKEY *pk;
} key_cache[RSA_KEY_CACHE];
static unsigned key_cache_next;

static EVP_PKEY *key_cache_get(const unsigned char *der, size_t n)
{
	for (unsigned i = 0; i < RSA_KEY_CACHE; i++) {
		if (key_cache[i].pk != NULL && key_cache[i].n == n &&
		    memcmp(key_cache[i].der, der, n) == 0 &&
		    EVP_PKEY_up_ref(key_cache[i].pk) == 1)
			return key_cache[i].pk;
	}
	return NULL;
}

static void key_cache_put(const unsigned char *der, size_t n, EVP_PKEY *pk)
{
	unsigned i = key_cache_next++ % RSA_KEY_CACHE;

	if (EVP_PKEY_up_ref(pk) != 1)
		return;
	EVP_PKEY_free(key_cache[i].pk);
	free(key_cache[i].der);
	key_cache[i].der = xmalloc(n ? n : 1);
	memcpy(key_cache[i].der, der, n);
	key_cache[i].n = n;
	key_cache[i].pk = pk;
}

static EVP_PKEY *rsa_decode(const unsigned char *der, size_t n);

/* RSA p= is a SubjectPublicKeyInfo; a bare RSAPublicKey (PKCS#1) is
 * accepted too, as records of both kinds are published. */
static EVP_PKEY *rsa_key(const unsigned char *der, size_t n)
{
	EVP_PKEY *pk = key_cache_get(der, n);

	if (pk == NULL && (pk = rsa_decode(der, n)) != NULL)
		key_cache_put(der, n, pk);
	return pk;
}

static EVP_PKEY *rsa_decode(const unsigned char *der, size_t n)
{
	const unsigned char *q = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, (long)n);

	if (pk != NULL && (q != der + n || !EVP_PKEY_is_a(pk, "RSA"))) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk == NULL) {
		q = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)n);
		if (pk != NULL && q != der + n) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	ERR_clear_error();
	return pk;
}

static int decode_key(struct dkim_pubkey *k, const unsigned char *der,
		      size_t n, const struct dkim_limits *lim,
		      const char **error_r)
{
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 §4: the bare 32-octet public key */
		if (n != DKIM_ED25519_KEY_BYTES)
			return fail(error_r, "bad Ed25519 key length");
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						      der, n);
		k->bits = 256;
	} else {
		k->pkey = rsa_key(der, n);
		k->bits = k->pkey ? (unsigned)EVP_PKEY_get_bits(k->pkey) : 0;
	}
	ERR_clear_error();
	if (k->pkey == NULL)
		return fail(error_r, "bad key data");
	if (k->type == DKIM_KEY_RSA && k->bits < lim->rsa_min_bits)
		*error_r = "RSA key too short";
	else if (k->type == DKIM_KEY_RSA && k->bits > lim->rsa_max_bits)
		*error_r = "RSA key too long";
	else
		return 0;
	dkim_pubkey_free(k);	/* bits stay, for the result */
	return -1;
}

int dkim_pubkey_parse(struct dkim_pubkey *k, const char *txt, size_t len,
		      const struct dkim_limits *lim, const char **error_r)
{
	struct dkim_taglist t;
	const struct dkim_tag *p;
	unsigned char der[DKIM_MAX_KEY_BYTES];
	size_t n;

	memset(k, 0, sizeof(*k));
	if (len > lim->max_tag_list)
		return fail(error_r, "key record too long");
	if (dkim_tags_parse(txt, len, &t, error_r) < 0)
		return fail(error_r, "key record syntax error");
	if (check_version(&t, error_r) < 0 || parse_flags(k, &t, error_r) < 0)
		return -1;
	if ((p = dkim_tags_get(&t, "p")) == NULL)
		return fail(error_r, "key record without p=");
	if (p->value_len == 0)
		return fail(error_r, "key revoked");
	if (dkim_b64_decode(p->value, p->value_len, der, sizeof(der), &n) < 0)
		return fail(error_r, "bad key data");
	return decode_key(k, der, n, lim, error_r);
}

int dkim_pubkey_check(const struct dkim_pubkey *k, enum dkim_algo a,
		      const char **error_r)
{
	bool sha1 = a == DKIM_RSA_SHA1;

	if (dkim_algo_keytype(a) != k->type)
		return fail(error_r, "key type does not match a=");
	if (!k->any_hash && !(sha1 ? k->sha1 : k->sha256))
		return fail(error_r, "key does not allow the hash");
	return 0;
}

void dkim_pubkey_free(struct dkim_pubkey *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}
