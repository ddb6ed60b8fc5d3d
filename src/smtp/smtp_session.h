/* smtp_session: one SMTP server session (RFC 5321) over a bufferevent.
 *
 * The session is a thin state machine over the pure parsers (smtp_parse,
 * smtp_data): smtp_session.c does the I/O and lifecycle, smtp_cmd.c the
 * command table, smtp_msg.c the message data, the Received: header and the
 * hand-over to the queue. A session waits for at most one reply from
 * another process at a time (recipient lookup, queue file, commit) and
 * reads no further input meanwhile, which also keeps pipelining ordered. */
#ifndef MK_SMTP_SESSION_H
#define MK_SMTP_SESSION_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mail/addr.h"
#include "queue/envelope.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parse.h"

struct bufferevent;

enum smtp_state {
	SMTP_ST_COMMAND,	/* reading command lines */
	SMTP_ST_DATA,		/* inside DATA, until CRLF.CRLF */
	SMTP_ST_BDAT,		/* inside a BDAT chunk */
};

enum smtp_wait {
	SMTP_WAIT_NONE,
	SMTP_WAIT_RCPT,		/* MSG_RCPT_LOOKUP sent to auth */
	SMTP_WAIT_FILE,		/* MSG_QUEUE_CREATE sent to queue */
	SMTP_WAIT_COMMIT,	/* MSG_QUEUE_COMMIT sent to queue */
	SMTP_WAIT_CHECKS,	/* DNS answers for SPF, DKIM, DMARC */
	SMTP_WAIT_AUTH,		/* MSG_AUTH_STEP sent to auth */
	SMTP_WAIT_SENDER,	/* MSG_SENDER_CHECK sent to auth */
};

struct smtp_session {
	struct smtp_session *next, *prev;	/* all sessions */
	char id[13];
	int service;			/* enum service */
	int fd;
	struct bufferevent *bev;
	SSL *ssl;			/* set once TLS is up */
	bool starttls_pending;		/* 220 sent, handshake once it is out */
	struct sockaddr_storage peer;
	char ip[64];
	unsigned port;

	enum smtp_state state;
	enum smtp_wait wait;
	uint32_t reqid;			/* of the outstanding request */
	bool closing;			/* reply flushed, then free */
	bool dead;			/* peer gone while a reply was due */
	bool free_scheduled;		/* session_free runs from the loop */
	bool discard_line;		/* skipping the rest of a too-long line */
	bool quit_after_transaction;	/* shutdown requested */
	unsigned errors;		/* bad commands so far */
	unsigned commands;
	unsigned messages;

	char helo[256];
	bool esmtp;
	bool have_helo;
	unsigned ext;			/* SMTP_EXT_* advertised */

	/* submission (smtp_auth.c, smtp_submit.c) */
	uint32_t conn_id;		/* this session's SASL exchange id */
	bool in_sasl;			/* 334 sent: the next line is a response */
	bool sasl_started;		/* auth holds exchange state for conn_id */
	bool authenticated;
	int64_t account;		/* when authenticated */
	char auth_user[320];		/* canonical address, when authenticated */
	char sasl_mech[32];		/* for the log */
	bool hdr_msgid, hdr_date;	/* seen in the message being received */

	/* local submission (smtp_local.c): the peer's SO_PEERCRED */
	long local_uid;			/* -1: unknown */
	char local_user[64];		/* login name, "?" when unknown */
	char log_who[96];		/* " uid=N user=NAME" for log lines, or "" */

	/* the current transaction */
	bool have_mail;
	struct smtp_mail_args mail;
	struct envelope env;
	struct smtp_rcpt_args pending_rcpt;	/* while WAIT_RCPT */
	size_t nlocal;			/* recipients in our domains */
	bool pending_bdat_last;

	struct smtp_checks *checks;	/* SPF/DKIM/DMARC state, or NULL */

	/* the message being received */
	int msg_fd;			/* queue file, -1 when none */
	struct smtp_data data;
	struct buf chunk;		/* bytes just decoded */
	struct buf hdr;			/* the header section until it ends */
	bool in_header;
	bool header_too_big;
	struct buf out;			/* decoded bytes not yet written */
	bool written;			/* some of them are in the file */
	bool write_failed;
	uint64_t bdat_left;		/* bytes of the current chunk */
	bool bdat_last;
	bool bdat_failed;		/* chunk refused: ignore the rest */
	const char *bdat_fail_reply;	/* the refusal, NULL: bad sequence */
	bool bdat_active;		/* a BDAT transfer has started */
};

/* smtp_server.c */
/* A fresh request id (never 0) for a message to another process. */
uint32_t smtp_server_reqid(void);
uint32_t smtp_server_request(struct smtp_session *s, int peer, uint32_t type,
			     const struct buf *payload, enum smtp_wait wait);
/* Tell the queue to discard an uncommitted file (MSG_QUEUE_ABORT). */
void smtp_server_give_back(const char *qid);
void smtp_server_session_gone(struct smtp_session *s);
SSL_CTX *smtp_server_tls(void);
bool smtp_server_relay_allowed(const struct smtp_session *s);

/* smtp_session.c */
struct smtp_session *smtp_session_start(int fd, int service, const struct sockaddr *sa,
			socklen_t salen);
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtp_session_close(struct smtp_session *s, const char *why);
/* Resume reading input after a reply from another process. */
void smtp_session_resume(struct smtp_session *s);
void smtp_session_starttls(struct smtp_session *s);
void smtp_session_shutdown(struct smtp_session *s);
void smtp_session_set_timeout(struct smtp_session *s);

/* smtp_cmd.c */
void smtp_cmd_dispatch(struct smtp_session *s, char *line, size_t len);
void smtp_cmd_rcpt_result(struct smtp_session *s, uint32_t status,
			  const char *detail);
void smtp_transaction_reset(struct smtp_session *s);
void smtp_cmd_bad(struct smtp_session *s, const char *reply);

/* smtp_auth.c: AUTH (RFC 4954) through the auth process */
void smtp_auth_run(struct smtp_session *s, const char *arg);
/* A line while in_sasl: the client's response to a 334 challenge. */
void smtp_auth_line(struct smtp_session *s, const char *line, size_t len);
/* MSG_AUTH_REPLY for s (data NULL: auth unavailable). */
void smtp_auth_reply(struct smtp_session *s, const uint8_t *data, size_t len);
/* The session ends: tell auth to drop an unfinished exchange. */
void smtp_auth_gone(struct smtp_session *s);
/* The EHLO AUTH keyword's mechanisms, or NULL when AUTH is not offered. */
const char *smtp_auth_mechanisms(const struct smtp_session *s);

/* smtp_submit.c: submission policy (RFC 6409, RFC 3207, RFC 8314) */
bool smtp_submit_is_submission(const struct smtp_session *s);
/* May the session use its password here (TLS, or the loopback option)? */
bool smtp_submit_tls_ok(const struct smtp_session *s);
/* Before MAIL on a submission port: false after a 530 refusal. */
bool smtp_submit_mail_allowed(struct smtp_session *s);
/* MAIL parsed on submission: check the sender; replies 250 or 553
 * (possibly later, through MSG_SENDER_CHECK). */
void smtp_submit_sender(struct smtp_session *s);
/* MSG_SENDER_RESULT for s. */
void smtp_submit_sender_result(struct smtp_session *s, uint32_t status);
/* Header fields a submitted message lacks (Message-ID:, Date:), CRLF-ended. */
void smtp_submit_missing_fields(struct smtp_session *s, struct buf *out);
/* Note Message-ID:/Date: fields of the message being received. */
void smtp_submit_header_field(struct smtp_session *s, const char *f, size_t n);

/* smtp_local.c: local submission through run_dir/submit.sock (SVC_LOCAL) */
bool smtp_local_is_local(const struct smtp_session *s);
/* "uid:N" of the peer of a local connection: its per-IP limit key. */
void smtp_local_key(int fd, char *key, size_t size);
/* A new local session: uid and user name from SO_PEERCRED into s. */
void smtp_local_identify(struct smtp_session *s);
/* MAIL accepted on a local session: log the sender with the uid. */
void smtp_local_sender(struct smtp_session *s);
/* Append the "from" part of Received: for a local session. */
void smtp_local_received(const struct smtp_session *s, struct buf *h);

/* smtp_msg.c */
void smtp_msg_begin(struct smtp_session *s, bool bdat);
void smtp_msg_file(struct smtp_session *s, int fd, const char *qid);
/* Feed input to the data decoder; returns bytes consumed. */
size_t smtp_msg_feed(struct smtp_session *s, const char *in, size_t len);
void smtp_msg_end(struct smtp_session *s);
void smtp_msg_committed(struct smtp_session *s, bool ok, const char *reason);
void smtp_msg_abort(struct smtp_session *s);
/* The checks of smtp_checks_end are in: finish the message. */
void smtp_msg_checked(struct smtp_session *s);

#endif
