/* smtp_client: the SMTP client protocol engine for outbound delivery, as a
 * state machine that does no socket I/O. The caller writes out whatever
 * smtp_client_output() holds, feeds what the server sent into
 * smtp_client_input(), and acts on smtp_client_state():
 *
 *   BUSY      wait for the server, at most smtp_client_timeout() seconds
 *             (RFC 5321 §4.5.3.2), then smtp_client_abort()
 *   STARTTLS  switch the transport to TLS (input already read is
 *             discarded), then smtp_client_tls_started()
 *   READY     session open: smtp_client_send() a message or smtp_client_quit()
 *   DATA      feed the message: smtp_client_data() chunks (any sizes),
 *             then smtp_client_data_end(); each write must finish within
 *             the "data block" timeout (3 min, smtp_client_timeout())
 *   MSG_DONE  the transaction ended: per-recipient results are in
 *             smtp_client_rcpt_result(); send the next message or quit
 *   CLOSED    the session is over: close the connection. smtp_client_error()
 *             says why when it was not a QUIT; the recipients of an unfinished
 *             transaction are temporary failures.
 *
 * Extensions: EHLO with HELO fallback (RFC 5321 §3.2), STARTTLS (RFC 3207),
 * AUTH PLAIN/LOGIN (RFC 4954, 4616), SIZE (1870), 8BITMIME (6152),
 * SMTPUTF8 (6531), PIPELINING (2920), CHUNKING/BDAT (3030), DSN (3461),
 * ENHANCEDSTATUSCODES (2034). An 8-bit message to a peer without 8BITMIME
 * fails 5.6.3 (never converted); SMTPUTF8 needed but not offered: 5.6.7. */
#ifndef MK_SMTP_CLIENT_H
#define MK_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "smtp/smtp_parse.h"
#include "smtp/smtp_reply.h"

/* Extensions seen in the EHLO reply (smtp_client_ext()). */
#define SMTP_CEXT_PIPELINING  0x001
#define SMTP_CEXT_SIZE        0x002
#define SMTP_CEXT_8BITMIME    0x004
#define SMTP_CEXT_SMTPUTF8    0x008
#define SMTP_CEXT_CHUNKING    0x010
#define SMTP_CEXT_DSN         0x020
#define SMTP_CEXT_ENHANCED    0x040
#define SMTP_CEXT_STARTTLS    0x080
#define SMTP_CEXT_AUTH_PLAIN  0x100
#define SMTP_CEXT_AUTH_LOGIN  0x200

/* BDAT chunk size: data is sent in chunks of this many bytes. */
#define SMTP_CLIENT_BDAT_CHUNK (64 * 1024)
/* AUTH credentials: longest user name / password accepted. */
#define SMTP_CLIENT_CRED_MAX 512

/* RFC 5321 §4.5.3.2 timeouts (seconds). */
#define SMTP_TIMEOUT_GREETING 300
#define SMTP_TIMEOUT_COMMAND 300	/* EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET, QUIT */
#define SMTP_TIMEOUT_DATA_INIT 120
#define SMTP_TIMEOUT_DATA_BLOCK 180
#define SMTP_TIMEOUT_DATA_END 600	/* "." and BDAT replies */

enum smtp_client_state {
	SMTP_CLIENT_BUSY,
	SMTP_CLIENT_STARTTLS,
	SMTP_CLIENT_READY,
	SMTP_CLIENT_DATA,
	SMTP_CLIENT_MSG_DONE,
	SMTP_CLIENT_CLOSED,
};

enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE,		/* never STARTTLS */
	SMTP_CLIENT_TLS_MAY,		/* STARTTLS when offered (opportunistic) */
	SMTP_CLIENT_TLS_MUST,		/* STARTTLS or give up (4.7.10, temporary) */
};

struct smtp_client_params {
	const char *helo_name;		/* our host name for EHLO/HELO */
	enum smtp_client_tls tls;
	bool tls_active;		/* the transport is TLS already (port 465) */
	const char *auth_user;		/* relay host credentials; NULL: no AUTH */
	const char *auth_pass;
	bool auth_without_tls;		/* allow AUTH on a clear connection */
	bool no_chunking;		/* use DATA even when CHUNKING is offered */
};

/* One recipient of a message, as in the queue's envelope. */
struct smtp_client_rcpt {
	const char *addr;		/* without <> */
	unsigned notify;		/* SMTP_NOTIFY_* bits, 0: not given */
	const char *orcpt;		/* "rfc822;addr" (decoded), NULL or "": none */
};

struct smtp_client_msg {
	const char *sender;		/* "" for the null reverse-path */
	enum smtp_body body;		/* 8BITMIME: the body has 8-bit data */
	bool smtputf8;			/* needs SMTPUTF8 (UTF-8 addresses/headers) */
	enum smtp_ret ret;		/* DSN RET=, UNSPEC: none */
	const char *envid;		/* DSN ENVID= (decoded), NULL or "": none */
	uint64_t size;			/* message size for SIZE=, 0: unknown */
	const struct smtp_client_rcpt *rcpts;
	size_t nrcpts;
};

enum smtp_client_outcome {
	SMTP_RCPT_PENDING,		/* not decided yet */
	SMTP_RCPT_DELIVERED,		/* the server took responsibility (2xx after data) */
	SMTP_RCPT_TEMPFAIL,		/* 4xx, or a connection problem: retry later */
	SMTP_RCPT_PERMFAIL,		/* 5xx, or a local permanent reason: bounce */
};

struct smtp_client_result {
	enum smtp_client_outcome outcome;
	int code;			/* the remote reply code; 0: not a remote reply */
	char status[SMTP_ENH_MAX];	/* enhanced status, e.g. "5.1.1" (derived when absent) */
	struct buf reply;		/* "550 5.1.1 No such user" or the local reason */
};

struct smtp_client;

/* A new session; the connection is open and the greeting not yet read.
 * params' strings must live as long as the session. */
struct smtp_client *smtp_client_new(const struct smtp_client_params *params);
void smtp_client_free(struct smtp_client *c);
enum smtp_client_state smtp_client_state(const struct smtp_client *c);
/* Bytes to write to the server; the caller consumes what it wrote (buf_consume). */
struct buf *smtp_client_output(struct smtp_client *c);
/* Seconds the current wait may last (RFC 5321 §4.5.3.2); 0 when not waiting. */
unsigned smtp_client_timeout(const struct smtp_client *c);
/* Feed bytes read from the server. */
void smtp_client_input(struct smtp_client *c, const char *data, size_t len);
/* The transport is TLS now (after STARTTLS): EHLO is sent again. */
void smtp_client_tls_started(struct smtp_client *c);
/* The TLS handshake failed: the session is CLOSED (temporary, 4.7.5 if MUST). */
void smtp_client_tls_failed(struct smtp_client *c, const char *reason);
/* Connection lost, timeout or I/O error: CLOSED, open recipients TEMPFAIL 4.4.2. */
void smtp_client_abort(struct smtp_client *c, const char *reason);
/* Start a transaction (state READY or MSG_DONE); msg must live until MSG_DONE/CLOSED. */
void smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *msg);
/* Message bytes (CRLF lines, as spooled); dot-stuffed for DATA (RFC 5321 §4.5.2). */
void smtp_client_data(struct smtp_client *c, const char *data, size_t len);
/* End of the message. */
void smtp_client_data_end(struct smtp_client *c);
/* Send QUIT (from READY or MSG_DONE); CLOSED when answered. */
void smtp_client_quit(struct smtp_client *c);
/* The result for recipient i of the current/last message. */
const struct smtp_client_result *smtp_client_rcpt_result(const struct smtp_client *c, size_t i);
/* Why the session ended or failed ("" when it did not); *permanent for a 5xx. */
const char *smtp_client_error(const struct smtp_client *c, bool *permanent);
/* SMTP_CEXT_* of the peer; its SIZE limit (0: none announced). */
unsigned smtp_client_ext(const struct smtp_client *c);
uint64_t smtp_client_size_limit(const struct smtp_client *c);
/* Whether the transport is TLS (after STARTTLS or from the start). */
bool smtp_client_tls(const struct smtp_client *c);

#endif
