/* dkim_crypto: body and header hashes, RSA and Ed25519 signatures
 * (RFC 6376 §3.3, §3.7, §5.4.2; RFC 8463 §3). */
#include "dkim_crypto.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "lib/xalloc.h"

/* An OpenSSL failure on a digest of memory is a broken environment. */
static void need(int ok)
{
	if (!ok) {
		fprintf(stderr, "dkim: OpenSSL digest failure\n");
		abort();
	}
}

const EVP_MD *dkim_algo_md(enum dkim_algo a)
{
	return a == DKIM_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
}

static EVP_MD_CTX *md_new(enum dkim_algo a)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	need(md != NULL && EVP_DigestInit_ex(md, dkim_algo_md(a), NULL) == 1);
	return md;
}

/* Canonical body bytes in; only the first l= of them are hashed. */
static void body_out(void *ctx, const char *p, size_t n)
{
	struct dkim_bodyhash *bh = ctx;
	uint64_t seen = bh->canon.total;

	if (seen >= bh->limit)
		return;
	if (n > bh->limit - seen)
		n = (size_t)(bh->limit - seen);
	need(EVP_DigestUpdate(bh->md, p, n) == 1);
}

struct dkim_bodyhash *dkim_bodyhash_new(enum dkim_canon c, enum dkim_algo a,
					uint64_t limit)
{
	struct dkim_bodyhash *bh = xcalloc(1, sizeof(*bh));

	bh->md = md_new(a);
	bh->algo = a;
	bh->limit = limit;
	dkim_body_init(&bh->canon, c, body_out, bh);
	return bh;
}

void dkim_bodyhash_feed(struct dkim_bodyhash *bh, const char *p, size_t n)
{
	dkim_body_feed(&bh->canon, p, n);
}

void dkim_bodyhash_end(struct dkim_bodyhash *bh)
{
	if (bh->done)
		return;
	dkim_body_end(&bh->canon);
	need(EVP_DigestFinal_ex(bh->md, bh->digest, &bh->digest_len) == 1);
	bh->done = true;
}

void dkim_bodyhash_free(struct dkim_bodyhash *bh)
{
	if (bh == NULL)
		return;
	EVP_MD_CTX_free(bh->md);
	free(bh);
}

/* The last field called name not used yet (§5.4.2), or h->n. */
static size_t pick(const struct dkim_hdr *h, const bool *used,
		   const struct dkim_span *name)
{
	for (size_t j = h->n; j > 0; j--)
		if (!used[j - 1] && dkim_hdr_is(h, j - 1, name->p, name->len))
			return j - 1;
	return h->n;
}

void dkim_header_hash(enum dkim_algo a, enum dkim_canon c,
		      const struct dkim_hdr *h, const struct dkim_span *names,
		      size_t n, const char *sigfield, size_t siglen,
		      unsigned char *digest, unsigned *digest_len)
{
	EVP_MD_CTX *md = md_new(a);
	bool *used = xcalloc(h->n + 1, sizeof(*used));
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		size_t j = pick(h, used, &names[i]);

		if (j == h->n)
			continue;	/* absent (or oversigned): nothing */
		used[j] = true;
		buf_reset(&b);
		dkim_canon_header(c, dkim_hdr_text(h, j), h->f[j].len, true,
				  &b);
		need(EVP_DigestUpdate(md, b.ptr, b.len) == 1);
	}
	buf_reset(&b);
	dkim_canon_header(c, sigfield, siglen, false, &b);
	need(EVP_DigestUpdate(md, b.ptr, b.len) == 1);
	need(EVP_DigestFinal_ex(md, digest, digest_len) == 1);
	EVP_MD_CTX_free(md);
	buf_free(&b);
	free(used);
}

/* RSASSA-PKCS1-v1_5 over the DigestInfo of the hash (§3.3.1, §3.3.2) */
static EVP_PKEY_CTX *rsa_ctx_new(EVP_PKEY *pk, enum dkim_algo a, bool sign)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

	if (ctx == NULL)
		return NULL;
	if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, dkim_algo_md(a)) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Set-up contexts of recently used keys: initialising one costs OpenSSL
 * 3 a provider lookup per message, and a context serves any number of
 * sign or verify calls. Each entry holds a reference to its key, so a key
 * address is never reused while cached. */
#define RSA_CTX_CACHE 16

static struct {
	EVP_PKEY *pk;
	enum dkim_algo a;
	bool sign;
	EVP_PKEY_CTX *ctx;
} ctx_cache[RSA_CTX_CACHE];
static unsigned ctx_cache_next;

static EVP_PKEY_CTX *rsa_ctx(EVP_PKEY *pk, enum dkim_algo a, bool sign)
{
	EVP_PKEY_CTX *ctx;
	unsigned i;

	for (i = 0; i < RSA_CTX_CACHE; i++)
		if (ctx_cache[i].pk == pk && ctx_cache[i].a == a &&
		    ctx_cache[i].sign == sign)
			return ctx_cache[i].ctx;
	ctx = rsa_ctx_new(pk, a, sign);
	if (ctx == NULL || EVP_PKEY_up_ref(pk) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	i = ctx_cache_next++ % RSA_CTX_CACHE;
	EVP_PKEY_CTX_free(ctx_cache[i].ctx);
	EVP_PKEY_free(ctx_cache[i].pk);
	ctx_cache[i].pk = pk;
	ctx_cache[i].a = a;
	ctx_cache[i].sign = sign;
	ctx_cache[i].ctx = ctx;
	return ctx;
}

int dkim_crypto_verify(EVP_PKEY *pk, enum dkim_algo a,
		       const unsigned char *digest, size_t dlen,
		       const unsigned char *sig, size_t siglen)
{
	bool ok;

	if (a == DKIM_ED25519_SHA256) {
		/* PureEdDSA over the SHA-256 digest (RFC 8463 §3) */
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ok = ctx != NULL &&
		     EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestVerify(ctx, sig, siglen, digest, dlen) == 1;
		EVP_MD_CTX_free(ctx);
	} else {
		EVP_PKEY_CTX *ctx = rsa_ctx(pk, a, false);	/* cached */

		ok = ctx != NULL &&
		     EVP_PKEY_verify(ctx, sig, siglen, digest, dlen) == 1;
	}
	ERR_clear_error();
	return ok ? 0 : -1;
}

static int ed25519_sign(EVP_PKEY *pk, const unsigned char *digest,
			size_t dlen, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL &&
		  EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		  EVP_DigestSign(ctx, sig, siglen, digest, dlen) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int dkim_crypto_sign(EVP_PKEY *pk, enum dkim_algo a,
		     const unsigned char *digest, size_t dlen, struct buf *out)
{
	size_t siglen = (size_t)EVP_PKEY_get_size(pk);
	unsigned char *sig;
	int ret = -1;

	buf_reserve(out, siglen);
	out->ptr[out->len] = '\0';
	sig = (unsigned char *)out->ptr + out->len;
	if (a == DKIM_ED25519_SHA256) {
		ret = ed25519_sign(pk, digest, dlen, sig, &siglen);
	} else {
		EVP_PKEY_CTX *ctx = rsa_ctx(pk, a, true);	/* cached */

		if (ctx != NULL &&
		    EVP_PKEY_sign(ctx, sig, &siglen, digest, dlen) == 1)
			ret = 0;
	}
	ERR_clear_error();
	if (ret == 0) {
		out->len += siglen;
		out->ptr[out->len] = '\0';
	}
	return ret;
}
