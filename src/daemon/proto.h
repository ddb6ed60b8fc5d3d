/* proto: every IPC message kind between mailkeep processes (STYLE §9).
 *
 * Payloads are written with ipc_w_* in the order given here and read back
 * with ipc_r_*; the receiver rejects any payload that does not end exactly
 * where the last field does. reqid pairs a reply with its request. */
#ifndef MK_PROTO_H
#define MK_PROTO_H

enum proto_msg {
	/* main -> any child */
	MSG_PEER = 1,		/* fd: channel to a peer; u32 role */
	MSG_LISTENER,		/* fd: listening socket; u32 service, str address */
	MSG_START,		/* everything initial was sent: start serving */
	MSG_RELOAD,		/* re-read the configuration and certificates */
	MSG_SHUTDOWN,		/* finish or abort sessions and exit */
	MSG_TLS_CERT,		/* fd: the certificate chain file (PEM) */
	MSG_TLS_KEY,		/* fd: the private key file (PEM) */
	MSG_ALIASES,		/* u32 1 and fd: the aliases file text main
				 * validated; u32 0 and no fd: none in use */

	/* smtp -> auth */
	MSG_RCPT_LOOKUP = 100,	/* str address, u32 flags (RCPT_F_*) */
	MSG_RCPT_RESULT,	/* u32 enum rcpt_status, str detail */
	MSG_SENDER_CHECK,	/* u64 account id, str address: may this
				 * authenticated account use it as MAIL FROM? */
	MSG_SENDER_RESULT,	/* u32 enum sender_status */

	/* imap|smtp <-> auth: SASL logins (auth/auth_client.h). "bytes" is
	 * u32 length + that many raw bytes (no terminator). */
	MSG_AUTH_STEP = 110,	/* u32 conn, u32 enum auth_service, str client
				 * ip, u32 flags (AUTH_F_*), str mechanism
				 * (first step; "" after), bytes response,
				 * bytes channel binding (tls-exporter) */
	MSG_AUTH_REPLY,		/* u32 enum auth_status, bytes challenge,
				 * u64 account id, str canonical address,
				 * str reason (for the requester's log) */
	MSG_AUTH_CANCEL,	/* u32 conn: aborted or gone; no reply */

	/* smtp -> queue */
	MSG_QUEUE_CREATE = 200,	/* (empty) */
	MSG_QUEUE_CREATED,	/* fd: message file open for writing; str queue id,
				 * or no fd and str "" on failure */
	MSG_QUEUE_COMMIT,	/* envelope, see queue/envelope.h */
	MSG_QUEUE_COMMITTED,	/* u32 ok (1) or temporary failure (0), str reason */
	MSG_QUEUE_ABORT,	/* str queue id: discard the file, no reply */

	/* queue -> imap */
	MSG_STORE_CHANGED = 300,	/* u64 account id: new mail was delivered */

	/* CLI -> main -> queue: `mailkeep queue` over main's control socket
	 * (daemon/control.h). The CLI sends one request and reads records
	 * with the same reqid up to MSG_CTL_DONE; main forwards requests
	 * and replies under a reqid of its own. */
	MSG_CTL_QUEUE_LIST = 400,	/* (empty): one ITEM per message */
	MSG_CTL_QUEUE_SHOW,	/* str queue id: one ITEM, with headers */
	MSG_CTL_QUEUE_FLUSH,	/* (empty): waiting recipients due now */
	MSG_CTL_QUEUE_DELETE,	/* str queue id: removed, no bounce */
	MSG_CTL_QUEUE_HOLD,	/* str queue id: no remote attempt until released */
	MSG_CTL_QUEUE_RELEASE,	/* str queue id: not held, due now */
	/* queue -> main -> CLI */
	MSG_CTL_QUEUE_ITEM,	/* one message: queue/qinfo.h */
	MSG_CTL_DONE,		/* u32 enum ctl_status, str detail: the end of
				 * every reply */
};

#define MSG_CTL_IS_REQUEST(t) \
	((t) >= MSG_CTL_QUEUE_LIST && (t) <= MSG_CTL_QUEUE_RELEASE)
#define MSG_CTL_IS_REPLY(t) ((t) == MSG_CTL_QUEUE_ITEM || (t) == MSG_CTL_DONE)

/* MSG_CTL_DONE: how a control request ended. */
enum ctl_status {
	CTL_OK = 0,
	CTL_NOT_FOUND,		/* no such queue id */
	CTL_TEMPFAIL,		/* queue process down or busy: try again */
	CTL_BAD_REQUEST,	/* malformed or unknown request */
	CTL_FAILED,		/* queue.db trouble (detail says) */
};

/* Answers to MSG_RCPT_LOOKUP. */
enum rcpt_status {
	RCPT_OK = 0,		/* one of our recipients */
	RCPT_UNKNOWN,		/* our domain, nobody by that name: 550 5.1.1 */
	RCPT_NOT_LOCAL,		/* not our domain: relay rules apply */
	RCPT_LOOP,		/* alias loop: 550 5.4.6 */
	RCPT_TEMPFAIL,		/* database trouble: 451 4.3.0 */
};

/* Answers to MSG_SENDER_CHECK. */
enum sender_status {
	SENDER_OK = 0,		/* the address resolves to the account */
	SENDER_NOT_OWNED,	/* 553 5.7.1 */
	SENDER_TEMPFAIL,	/* database trouble: 451 4.3.0 */
};

/* MSG_AUTH_STEP: the service a login is for. */
enum auth_service {
	AUTH_SVC_IMAP = 0,
	AUTH_SVC_POP3,
	AUTH_SVC_SUBMISSION,
	AUTH_SVC_COUNT
};

/* MSG_AUTH_STEP flags. */
#define AUTH_F_TLS 0x1u		/* the session is under TLS */
#define AUTH_F_FIRST 0x2u	/* first step: starts a new exchange */
#define AUTH_F_NO_IR 0x4u	/* first step without an initial response */

/* Answers to MSG_AUTH_STEP. */
enum auth_status {
	AUTH_CONTINUE = 0,	/* send the challenge, then the next step */
	AUTH_OK,		/* logged in: account id, canonical address */
	AUTH_FAIL,		/* the client gets "authentication failed" */
	AUTH_TEMPFAIL,		/* database trouble: try again later */
};

#endif
