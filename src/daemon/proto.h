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

	/* smtp -> queue */
	MSG_QUEUE_CREATE = 200,	/* (empty) */
	MSG_QUEUE_CREATED,	/* fd: message file open for writing; str queue id,
				 * or no fd and str "" on failure */
	MSG_QUEUE_COMMIT,	/* envelope, see queue/envelope.h */
	MSG_QUEUE_COMMITTED,	/* u32 ok (1) or temporary failure (0), str reason */
	MSG_QUEUE_ABORT,	/* str queue id: discard the file, no reply */
};

/* Answers to MSG_RCPT_LOOKUP. */
enum rcpt_status {
	RCPT_OK = 0,		/* one of our recipients */
	RCPT_UNKNOWN,		/* our domain, nobody by that name: 550 5.1.1 */
	RCPT_NOT_LOCAL,		/* not our domain: relay rules apply */
	RCPT_LOOP,		/* alias loop: 550 5.4.6 */
	RCPT_TEMPFAIL,		/* database trouble: 451 4.3.0 */
};

#endif
