/* dkim: DomainKeys Identified Mail signatures (RFC 6376), with the RFC 8301
 * algorithm and key-size rules and Ed25519-SHA256 (RFC 8463). Verifying and
 * signing are incremental and do no I/O: the raw message (header fields, the
 * empty line, the body; CRLF line ends, a bare LF is read as CRLF) is fed in
 * pieces split anywhere, and key records come back from the caller's DNS.
 *
 *   struct dkim_verify *v = dkim_verify_new(NULL);
 *   dkim_verify_feed(v, chunk, len);          ... as DATA arrives
 *   size_t n = dkim_verify_end(v);
 *   for (size_t i = 0; i < n; i++)
 *           if ((q = dkim_verify_query(v, i)) != NULL)
 *                   dkim_verify_key_answer(v, i, answer_for(q));
 *   ... dkim_verify_result(v, i)->status, ->reason, ->domain ...
 *   dkim_verify_free(v);
 *
 * Signing: dkim_sign_new() / dkim_sign_feed() / dkim_sign_finish() gives
 * the DKIM-Signature header fields to put in front of the message. */
#ifndef MK_DKIM_H
#define MK_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/dnsq.h"

/* Default limits for untrusted input (struct dkim_limits). */
#define DKIM_MAX_SIGNATURES 8		/* signatures evaluated per message */
#define DKIM_MAX_HEADER_FIELDS 1000	/* header fields kept per message */
#define DKIM_MAX_FIELD_LEN (64 * 1024)	/* one folded header field */
#define DKIM_MAX_HEADER_BYTES (1024 * 1024)	/* the whole header */
#define DKIM_MAX_TAG_LIST 8192		/* DKIM-Signature value, key record */
#define DKIM_MAX_SIGNED_HEADERS 128	/* names in h= */
#define DKIM_RSA_MIN_BITS 1024		/* RFC 8301 §3.2 */
#define DKIM_RSA_MAX_BITS 8192
#define DKIM_MAX_CLOCK_SKEW 300		/* seconds a t= may lie in the future */
#define DKIM_MAX_KEY_RECORDS 8		/* TXT records tried per key answer */

struct dkim_limits {
	unsigned max_signatures;	/* later signatures are not evaluated */
	unsigned max_header_fields;	/* over any header limit: permerror */
	size_t max_field_len;
	size_t max_header_bytes;
	size_t max_tag_list;
	unsigned max_signed_headers;
	unsigned rsa_min_bits;		/* shorter keys: permerror */
	unsigned rsa_max_bits;		/* longer keys: permerror */
	long long max_clock_skew;
};

enum dkim_algo {
	DKIM_RSA_SHA256,
	DKIM_RSA_SHA1,		/* verified, but at best "policy" (RFC 8301) */
	DKIM_ED25519_SHA256,
};

enum dkim_keytype {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/* Per-signature results, named as in Authentication-Results (RFC 8601
 * §2.7.1): fail = the hashes or the signature did not verify; neutral =
 * the signature field itself is unusable (syntax, unsupported tags);
 * permerror = the key or the message makes it unverifiable; policy = it
 * verified with an algorithm we no longer accept (rsa-sha1). */
enum dkim_status {
	DKIM_PENDING,		/* waiting for dkim_verify_key_answer() */
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_NEUTRAL,
	DKIM_POLICY,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

#define DKIM_TEXT_MAX 256	/* result strings, with the terminating NUL */
#define DKIM_HEADER_B_LEN 8	/* header.b= prefix length (RFC 6008) */

/* Strings are printable ASCII (other bytes shown as '?'), "" if unknown. */
struct dkim_result {
	enum dkim_status status;
	const char *reason;		/* static, e.g. "body hash mismatch" */
	char domain[DKIM_TEXT_MAX];	/* d=, lower case */
	char selector[DKIM_TEXT_MAX];	/* s= */
	char identity[DKIM_TEXT_MAX];	/* i= decoded, "@" d= when absent */
	char algorithm[32];		/* a= */
	char header_b[DKIM_HEADER_B_LEN + 1];	/* first characters of b= */
	unsigned key_bits;		/* once the key is known */
	bool testing;			/* the key record says t=y */
	bool partial_body;		/* l= left part of the body unsigned */
};

/* Fill *l with the DKIM_* defaults above. */
void dkim_limits_default(struct dkim_limits *l);
/* "pass", "fail", "neutral", "policy", "temperror", "permerror"
 * ("pending" before the key answer). */
const char *dkim_status_name(enum dkim_status s);
/* "rsa-sha256", "rsa-sha1", "ed25519-sha256". */
const char *dkim_algo_name(enum dkim_algo a);
/* Append the Authentication-Results resinfo (RFC 8601 §2.7.1) of a final
 * result: "dkim=fail (reason) header.d=D header.i=I header.s=S header.a=A
 * header.b=B" (no reason after pass). */
void dkim_result_format(const struct dkim_result *r, struct buf *out);

/* ---- verifying ---- */

struct dkim_verify;

/* limits NULL: the defaults. t= and x= are checked against the clock at
 * creation unless dkim_verify_set_time() (before feeding) says otherwise. */
struct dkim_verify *dkim_verify_new(const struct dkim_limits *limits);
/* "Now" for the t= and x= checks (Unix seconds). */
void dkim_verify_set_time(struct dkim_verify *v, long long now);
/* More raw message bytes; any split points. */
void dkim_verify_feed(struct dkim_verify *v, const void *data, size_t len);
/* The header has been read: the queries are known (and may be answered)
 * while the body still streams in. */
bool dkim_verify_header_done(const struct dkim_verify *v);
/* End of message: returns the number of signatures evaluated (in header
 * order, top first; 0 means dkim=none). */
size_t dkim_verify_end(struct dkim_verify *v);
/* The TXT question signature i needs answered, or NULL when its result
 * is already final or it was answered. */
const struct dnsq *dkim_verify_query(const struct dkim_verify *v, size_t i);
/* Give signature i its key answer (not kept); its result is final once
 * both this and dkim_verify_end() happened. */
void dkim_verify_key_answer(struct dkim_verify *v, size_t i,
			    const struct dnsq_answer *a);
const struct dkim_result *dkim_verify_result(const struct dkim_verify *v,
					     size_t i);
/* DKIM-Signature fields beyond limits.max_signatures (not evaluated). */
size_t dkim_verify_ignored(const struct dkim_verify *v);
void dkim_verify_free(struct dkim_verify *v);

/* ---- keys ---- */

struct dkim_privkey;

/* A private key from PEM (PKCS#1 or PKCS#8, RSA or Ed25519, unencrypted)
 * or a base64 32-byte Ed25519 seed. The caller wipes its copy of data. */
struct dkim_privkey *dkim_privkey_load(const void *data, size_t len,
				       const char **error_r);
/* A new key: RSA of bits (DKIM_RSA_MIN_BITS..DKIM_RSA_MAX_BITS) or
 * Ed25519 (bits ignored). */
struct dkim_privkey *dkim_privkey_generate(enum dkim_keytype type,
					   unsigned bits, const char **error_r);
enum dkim_keytype dkim_privkey_type(const struct dkim_privkey *k);
unsigned dkim_privkey_bits(const struct dkim_privkey *k);
/* Append the key as PKCS#8 PEM (secret: wipe out when done). */
void dkim_privkey_pem(const struct dkim_privkey *k, struct buf *out);
/* Append the key record to publish: "v=DKIM1; k=rsa; p=..." (§3.6.1). */
void dkim_privkey_record(const struct dkim_privkey *k, struct buf *out);
void dkim_privkey_free(struct dkim_privkey *k);
/* Append rec as zone-file character-strings of at most 255 octets each:
 * "v=DKIM1; k=rsa; p=MIIB..." "...". */
void dkim_record_strings(const char *rec, size_t len, struct buf *out);
/* SELECTOR._domainkey.DOMAIN into out[DNSQ_NAME_MAX + 1]; -1 if too long. */
int dkim_key_name(const char *selector, const char *domain, char *out);
/* genkey in one call: the PEM (secret) and the TXT record as strings. */
int dkim_keygen(enum dkim_keytype type, unsigned bits, struct buf *pem,
		struct buf *txt, const char **error_r);

/* ---- signing ---- */

#define DKIM_SIGN_MAX_KEYS 4	/* signatures made in one pass */

struct dkim_sign_key {
	const char *selector;
	const struct dkim_privkey *key;	/* rsa-sha256 or ed25519-sha256 */
};

/* Header name lists are NULL-terminated. Names in oversign are signed
 * once more than they occur, so that none can be added later (also when
 * absent); names in headers are signed as often as they occur. */
struct dkim_sign_params {
	const char *domain;			/* d= */
	const struct dkim_sign_key *keys;	/* one signature each */
	size_t n_keys;
	enum dkim_canon header_canon;		/* default relaxed */
	enum dkim_canon body_canon;		/* default relaxed */
	const char *const *headers;		/* NULL: dkim_sign_headers */
	const char *const *oversign;		/* NULL: dkim_sign_oversign */
	const char *identity;			/* i=, NULL: omitted */
	long long timestamp;			/* t=; 0: now, < 0: omitted */
	long long expire;			/* x= is t= + expire; 0: none */
	const struct dkim_limits *limits;	/* NULL: defaults */
};

/* The recommended sets: From, To, Cc, Subject, Date, Reply-To,
 * Message-ID and the MIME fields oversigned; threading and list fields
 * signed when present. */
extern const char *const dkim_sign_oversign[];
extern const char *const dkim_sign_headers[];

struct dkim_sign;

/* Defaults: relaxed/relaxed, the recommended header sets, t= now. */
void dkim_sign_params_default(struct dkim_sign_params *p);
/* NULL with a reason on bad parameters. The signer takes its own
 * reference to each key: the caller may free them at once. */
struct dkim_sign *dkim_sign_new(const struct dkim_sign_params *p,
				const char **error_r);
void dkim_sign_feed(struct dkim_sign *s, const void *data, size_t len);
/* Append one folded "DKIM-Signature: ...\r\n" per key to out; -1 with a
 * reason (no From field, header over the limits, signing failed). */
int dkim_sign_finish(struct dkim_sign *s, struct buf *out,
		     const char **error_r);
void dkim_sign_free(struct dkim_sign *s);

#endif
