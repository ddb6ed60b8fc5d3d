/* auth_client: the login messages between the processes that serve users
 * (imap for IMAP and POP3, smtp for submission) and the auth process:
 * MSG_AUTH_STEP, MSG_AUTH_REPLY and MSG_AUTH_CANCEL (daemon/proto.h),
 * built and read here for both sides.
 *
 * A requester runs one SASL exchange per connection (conn, its own id):
 *   1. the client picks a mechanism: auth_client_step(.., AUTH_F_FIRST
 *      [| AUTH_F_NO_IR], mech, initial response, tls-exporter value);
 *   2. AUTH_CONTINUE: send the challenge (base64) and pass the client's
 *      decoded answer with the next auth_client_step (mech "");
 *   3. AUTH_OK: logged in as account/address; AUTH_FAIL: answer
 *      "authentication failed" (the reason is for the log only);
 *      AUTH_TEMPFAIL: a temporary error (IMAP NO [UNAVAILABLE], 454);
 *   4. the client aborts ("*") or disconnects mid-exchange:
 *      auth_client_cancel(conn).
 * IMAP LOGIN and POP3 USER/PASS are sent as PLAIN ("\0user\0pass").
 * Advertise SCRAM-SHA-256-PLUS only when a tls-exporter value (RFC 9266)
 * is available, and send that value with every first step under TLS, also
 * for the other mechanisms: the auth process knows -PLUS was offered
 * exactly when it gets one (the RFC 5802 §6 downgrade check). SCRAM ends
 * with one more AUTH_CONTINUE (the server signature) that the client
 * answers with an empty response. Replies may come seconds later: the
 * auth process delays them after repeated failures. */
#ifndef MK_AUTH_CLIENT_H
#define MK_AUTH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/proto.h"
#include "lib/buf.h"

/* MSG_AUTH_STEP; pointers refer into the message when parsed. */
struct auth_step {
	uint32_t conn;
	uint32_t service;	/* enum auth_service */
	const char *ip;
	uint32_t flags;		/* AUTH_F_* */
	const char *mech;	/* "" after the first step */
	const uint8_t *resp;
	size_t resp_len;
	const uint8_t *cb;	/* tls-exporter value, or empty */
	size_t cb_len;
};

/* MSG_AUTH_REPLY; pointers refer into the message when parsed. */
struct auth_reply {
	uint32_t status;	/* enum auth_status */
	const uint8_t *challenge;	/* AUTH_CONTINUE */
	size_t challenge_len;
	int64_t account;	/* AUTH_OK */
	const char *address;	/* AUTH_OK: canonical */
	const char *reason;	/* AUTH_FAIL, AUTH_TEMPFAIL: for the log */
};

/* Send one step of conn's exchange to the auth process; -1 when it is
 * not connected (answer as for AUTH_TEMPFAIL). */
int auth_client_step(uint32_t reqid, uint32_t conn, enum auth_service svc,
		     const char *ip, unsigned flags, const char *mech,
		     const void *resp, size_t resp_len, const void *cb,
		     size_t cb_len);
/* Tell the auth process that conn's exchange is over (abort, hang-up). */
int auth_client_cancel(uint32_t conn);
/* Read MSG_AUTH_REPLY: 0, or -1 when malformed (treat as TEMPFAIL). */
int auth_client_reply_parse(const uint8_t *data, size_t len,
			    struct auth_reply *r);

/* The payloads themselves (the auth process and tests use these). */
void auth_client_step_build(struct buf *out, const struct auth_step *s);
int auth_client_step_parse(const uint8_t *data, size_t len,
			   struct auth_step *s);
void auth_client_reply_build(struct buf *out, const struct auth_reply *r);
int auth_client_cancel_parse(const uint8_t *data, size_t len, uint32_t *conn);
/* "imap", "pop3", "submission" ("?" if out of range). */
const char *auth_service_name(uint32_t svc);

#endif
