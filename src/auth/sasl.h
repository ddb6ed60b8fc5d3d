/* sasl: the SASL mechanisms of the auth process (RFC 4422) as pure state
 * machines over decoded client responses: PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login), SCRAM-SHA-256 and SCRAM-SHA-256-PLUS
 * (RFC 5802, RFC 7677; channel binding tls-exporter, RFC 9266).
 *
 * No I/O and no database: an exchange tells its caller (sasl_server.c)
 * when it needs a password checked (SASL_VERIFY) or an account's SCRAM
 * secret (SASL_LOOKUP), and the caller answers. Protocol base64 is the
 * requester's business; responses arrive here decoded. Every input limit
 * is one of the SASL_*_MAX below. */
#ifndef MK_SASL_H
#define MK_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define SASL_RESPONSE_MAX 4096	/* bytes of one decoded client response */
#define SASL_AUTHCID_MAX 255	/* bytes of an identity (RFC 4616 §2) */
#define SASL_PASSWORD_MAX 1024	/* bytes of a password (USERDB_PASSWORD_MAX) */
#define SASL_CB_MAX 64		/* bytes of channel-binding data */

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_SCRAM_SHA_256,
	SASL_MECH_SCRAM_SHA_256_PLUS,
	SASL_MECH_COUNT
};

/* What the caller does next after a step. */
enum sasl_status {
	SASL_CHALLENGE,	/* send out to the client, wait for its response */
	SASL_VERIFY,	/* authcid and password are ready: check them */
	SASL_LOOKUP,	/* SCRAM: call sasl_exchange_secret for authcid */
	SASL_SUCCESS,	/* proven; out (may be empty) is success data */
	SASL_FAILURE,	/* *error_r says why (for the log only) */
};

struct sasl_scram_secret;
struct sasl_exchange;

/* The mechanism called name (any case): its enum value, or -1. */
int sasl_mech_parse(const char *name);
/* "PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS". */
const char *sasl_mech_name(enum sasl_mech mech);

/* Start an exchange; cb is the tls-exporter value (empty without TLS).
 * A -PLUS mechanism without channel-binding data, or data over
 * SASL_CB_MAX, fails at its first step. */
struct sasl_exchange *sasl_exchange_new(enum sasl_mech mech, const void *cb,
					size_t cb_len);
/* Wipe (passwords, keys) and free; NULL is fine. */
void sasl_exchange_free(struct sasl_exchange *x);
/* Feed one client response; have_input is false only for a first step
 * without an initial response. The challenge (if any) goes into out. */
enum sasl_status sasl_exchange_step(struct sasl_exchange *x, const void *in,
				    size_t len, bool have_input,
				    struct buf *out, const char **error_r);
/* Answer SASL_LOOKUP with the account's secret (or a fake one for an
 * unknown account, so the exchange goes on to fail at the proof) and the
 * server nonce (printable, no ','); the server-first message goes into
 * out. Returns SASL_CHALLENGE or SASL_FAILURE. */
enum sasl_status sasl_exchange_secret(struct sasl_exchange *x,
				      const struct sasl_scram_secret *secret,
				      const char *snonce, struct buf *out,
				      const char **error_r);
/* The identity given by the client ("" before the mechanism has it). */
const char *sasl_exchange_authcid(const struct sasl_exchange *x);
/* The password after SASL_VERIFY (PLAIN and LOGIN), else "". */
const char *sasl_exchange_password(const struct sasl_exchange *x);
enum sasl_mech sasl_exchange_mech(const struct sasl_exchange *x);

/* Strict base64 (RFC 4648 §4, padded, no blanks, zero pad bits) of
 * in[len] appended to out: 0, or -1 when in is not base64. */
int sasl_b64_decode(const char *in, size_t len, struct buf *out);
void sasl_b64_encode(const void *in, size_t len, struct buf *out);
/* Is s[len] UTF-8 without NUL (RFC 3629)? */
bool sasl_utf8_valid(const void *s, size_t len);

#endif
