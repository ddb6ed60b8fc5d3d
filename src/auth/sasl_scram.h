/* sasl_scram: SCRAM-SHA-256 and SCRAM-SHA-256-PLUS, server side (RFC 5802,
 * RFC 7677), with the tls-exporter channel binding (RFC 9266), and the
 * stored secrets in RFC 5803 form:
 *
 *   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 *
 * Pure: the server nonce and the account's secret come from the caller.
 * Passwords are used as given (no SASLprep, RFC 4013): the same for ASCII
 * passwords, which is what clients send in practice. */
#ifndef MK_SASL_SCRAM_H
#define MK_SASL_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/sasl.h"
#include "lib/buf.h"

#define SASL_SCRAM_KEY_LEN 32		/* SHA-256 */
#define SASL_SCRAM_SALT_MAX 64		/* bytes of salt in a stored secret */
#define SASL_SCRAM_NONCE_MAX 256	/* bytes of a client or server nonce */
#define SASL_SCRAM_ITER_MIN 4096	/* RFC 7677 §4: at least 4096 */
#define SASL_SCRAM_ITER_MAX 10000000	/* in a stored secret (CPU bound) */
#define SASL_SCRAM_CB_NAME "tls-exporter"	/* RFC 9266 */

struct sasl_scram_secret {
	unsigned iter;
	uint8_t salt[SASL_SCRAM_SALT_MAX];
	size_t salt_len;
	uint8_t stored_key[SASL_SCRAM_KEY_LEN];
	uint8_t server_key[SASL_SCRAM_KEY_LEN];
};

enum sasl_scram_state {
	SCRAM_ST_CLIENT_FIRST,	/* waiting for the client-first-message */
	SCRAM_ST_LOOKUP,	/* waiting for the secret (server-first) */
	SCRAM_ST_CLIENT_FINAL,	/* waiting for the client-final-message */
	SCRAM_ST_DONE,		/* proven, or failed */
};

/* One exchange's state (embedded in struct sasl_exchange). */
struct sasl_scram {
	enum sasl_scram_state state;
	bool plus;		/* the mechanism is -PLUS */
	bool cb_available;	/* we have tls-exporter data: -PLUS offered */
	bool cb_used;		/* the client sent gs2 flag "p" */
	uint8_t cb[SASL_CB_MAX];
	size_t cb_len;
	char username[SASL_AUTHCID_MAX + 1];
	struct buf gs2_header;	/* as received, for the c= check */
	struct buf first_bare;	/* client-first-message-bare */
	struct buf server_first;
	struct buf nonce;	/* client nonce, then client + server nonce */
	struct sasl_scram_secret secret;
};

/* Hi() (RFC 5802 §2.2, PBKDF2-HMAC-SHA-256) and the two keys of password. */
int sasl_scram_secret_derive(const char *password, const uint8_t *salt,
			     size_t salt_len, unsigned iter,
			     struct sasl_scram_secret *out);
/* The RFC 5803 text of a secret appended to out. */
void sasl_scram_secret_format(const struct sasl_scram_secret *s,
			      struct buf *out);
/* Read an RFC 5803 SCRAM-SHA-256 secret (iterations 1..ITER_MAX). */
int sasl_scram_secret_parse(const char *text, struct sasl_scram_secret *out,
			    const char **error_r);

/* Start: plus for -PLUS; cb[cb_len] is the tls-exporter value or empty
 * (the caller checked cb_len <= SASL_CB_MAX). */
void sasl_scram_init(struct sasl_scram *s, bool plus, const void *cb,
		     size_t cb_len);
/* Wipe keys and free the buffers. */
void sasl_scram_clear(struct sasl_scram *s);
/* RFC 5802 §7 client-first-message, with the §6 channel-binding rules
 * (including the 'y' downgrade check); on success s->username is set. */
int sasl_scram_client_first(struct sasl_scram *s, const void *msg, size_t len,
			    const char **error_r);
/* The server-first-message for secret and the server nonce into out. */
int sasl_scram_server_first(struct sasl_scram *s,
			    const struct sasl_scram_secret *secret,
			    const char *snonce, struct buf *out,
			    const char **error_r);
/* Check the client-final-message (channel binding, nonce, proof); on
 * success the server-final-message ("v=...") goes into out. */
int sasl_scram_client_final(struct sasl_scram *s, const void *msg, size_t len,
			    struct buf *out, const char **error_r);

#endif
