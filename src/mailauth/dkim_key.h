/* dkim_key: DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4) parsed into
 * an OpenSSL public key, and the shared private-key type. */
#ifndef MK_DKIM_KEY_H
#define MK_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "mailauth/dkim.h"

#define DKIM_MAX_KEY_BYTES 2048	/* decoded p=: an RSA-8192 SPKI is 1062 */
#define DKIM_ED25519_KEY_BYTES 32

struct dkim_pubkey {
	enum dkim_keytype type;
	EVP_PKEY *pkey;
	unsigned bits;
	bool testing;		/* t=y */
	bool strict;		/* t=s: i= must be in d= itself */
	bool any_hash;		/* no h=: every hash allowed */
	bool sha1, sha256;	/* listed in h= */
};

struct dkim_privkey {
	EVP_PKEY *pkey;
	enum dkim_keytype type;
	unsigned bits;
};

/* Parse one key record; -1 with a reason (revoked, syntax, unsupported
 * version, type or service, bad key data, RSA size out of limits). */
int dkim_pubkey_parse(struct dkim_pubkey *k, const char *txt, size_t len,
		      const struct dkim_limits *lim, const char **error_r);
/* May k verify a signature made with algorithm a? -1 with a reason. */
int dkim_pubkey_check(const struct dkim_pubkey *k, enum dkim_algo a,
		      const char **error_r);
void dkim_pubkey_free(struct dkim_pubkey *k);

/* The key type an algorithm uses. */
enum dkim_keytype dkim_algo_keytype(enum dkim_algo a);

#endif
