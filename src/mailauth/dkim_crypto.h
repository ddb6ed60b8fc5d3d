/* dkim_crypto: the hashes and signatures of RFC 6376 §3.7 over OpenSSL 3
 * EVP: the body hash with its l= limit, the header hash with the §5.4.2
 * bottom-up field selection, RSASSA-PKCS1-v1_5 (§3.3) and Ed25519 over the
 * SHA-256 header hash (RFC 8463 §3). Shared by verifier and signer. */
#ifndef MK_DKIM_CRYPTO_H
#define MK_DKIM_CRYPTO_H

#include <stdint.h>

#include <openssl/evp.h>

#include "mailauth/dkim.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_hdr.h"
#include "mailauth/dkim_tags.h"

struct dkim_bodyhash {
	struct dkim_body canon;
	EVP_MD_CTX *md;
	enum dkim_algo algo;
	uint64_t limit;		/* l=, or UINT64_MAX */
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len;
	bool done;
};

const EVP_MD *dkim_algo_md(enum dkim_algo a);

struct dkim_bodyhash *dkim_bodyhash_new(enum dkim_canon c, enum dkim_algo a,
					uint64_t limit);
void dkim_bodyhash_feed(struct dkim_bodyhash *bh, const char *p, size_t n);
/* Finish: the digest; total canonical body length in canon.total. */
void dkim_bodyhash_end(struct dkim_bodyhash *bh);
void dkim_bodyhash_free(struct dkim_bodyhash *bh);

/* Hash the fields named in names[n] (each the last one not yet used,
 * missing ones as nothing: §5.4.2), canonicalised with c, then sigfield
 * (the DKIM-Signature with b= emptied) without its final CRLF. */
void dkim_header_hash(enum dkim_algo a, enum dkim_canon c,
		      const struct dkim_hdr *h, const struct dkim_span *names,
		      size_t n, const char *sigfield, size_t siglen,
		      unsigned char *digest, unsigned *digest_len);

/* 0 if sig is a good signature of digest by pk for algorithm a. */
int dkim_crypto_verify(EVP_PKEY *pk, enum dkim_algo a,
		       const unsigned char *digest, size_t dlen,
		       const unsigned char *sig, size_t siglen);
/* Sign digest; the signature is appended to out. -1 on an OpenSSL error. */
int dkim_crypto_sign(EVP_PKEY *pk, enum dkim_algo a,
		     const unsigned char *digest, size_t dlen, struct buf *out);

#endif
