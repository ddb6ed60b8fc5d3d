/* pop3_private: the POP3 session shared by pop3_session.c (connection,
 * input, lifecycle), pop3_cmd.c (the command table, CAPA, STLS, QUIT),
 * pop3_login.c (USER/PASS/AUTH through the auth process, the maildrop
 * lock) and pop3_maildrop.c (the TRANSACTION commands and UPDATE).
 *
 * A session reads one command line at a time and runs it; it stops
 * reading while it waits for the auth process or while a multi-line
 * response (LIST, UIDL, RETR, TOP) is being produced under output
 * backpressure, so pipelined commands (RFC 2449 §6.6) run in order. */
#ifndef MK_POP3_PRIVATE_H
#define MK_POP3_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "pop3/pop3_parse.h"
#include "pop3/pop3_session.h"
#include "pop3/pop3_stuff.h"

#define POP3_MAX_BAD_COMMANDS 10	/* unknown, malformed or misplaced */
#define POP3_OUTPUT_HIGH (256 * 1024)	/* stop producing above this */
#define POP3_MIN_IDLE_TIMEOUT 600	/* RFC 1939 §3: at least 10 minutes */
#define POP3_WRITE_TIMEOUT 300		/* seconds without output progress */

struct conn;
struct imap_account;

enum pop3_state {
	POP3_ST_AUTHORIZATION,
	POP3_ST_TRANSACTION,
	POP3_ST_UPDATE,		/* QUIT: deletions being applied, then close */
};

enum pop3_mode {
	POP3_MODE_COMMAND,	/* reading command lines */
	POP3_MODE_SASL,		/* AUTH: a client response line is due */
	POP3_MODE_WAIT,		/* an answer from the auth process is due */
};

/* One message of the maildrop as it was at login (RFC 1939 §5: messages
 * that arrive later are not part of this session). */
struct pop3_msg {
	uint32_t uid;
	bool deleted;
	uint64_t size;
};

/* A multi-line response produced in steps. */
enum pop3_job_kind { POP3_JOB_NONE, POP3_JOB_LIST, POP3_JOB_UIDL, POP3_JOB_MSG };

struct pop3_job {
	enum pop3_job_kind kind;
	uint32_t next;			/* LIST, UIDL: next message index */
	int fd;				/* MSG: the message file */
	struct pop3_stuff stuff;	/* MSG: RETR / TOP encoding */
};

struct pop3_session {
	struct pop3_session *next, *prev;
	char id[13];
	int service;			/* SVC_POP3 or SVC_POP3S */
	struct conn *conn;
	char ip[64];
	unsigned port;
	bool loopback;
	bool tls;			/* TLS is up (or being set up) */

	enum pop3_state state;
	enum pop3_mode mode;
	struct pop3_line line;
	uint32_t conn_id;		/* for the auth process */
	uint32_t reqid;			/* the request waited for */
	char *user_arg;			/* USER's argument until PASS */
	unsigned bad_commands, commands;
	bool closing;
	bool stopping;			/* shutdown: close after this reply */

	/* TRANSACTION */
	struct imap_account *acct;
	bool locked;			/* we hold acct->pop3_locked */
	char *user;			/* canonical address */
	int64_t mailbox_id;		/* INBOX */
	uint32_t uidvalidity;
	struct pop3_msg *msgs;
	uint32_t nmsgs;
	uint32_t ndeleted;
	uint64_t deleted_size, total_size;
	unsigned retrieved;
	struct pop3_job job;
};

/* pop3_session.c */
/* One reply line; CRLF is added. "-ERR" replies are logged. */
void pop3_reply(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Raw bytes of a multi-line response. */
void pop3_write(struct pop3_session *s, const void *data, size_t len);
bool pop3_output_full(struct pop3_session *s);
void pop3_session_close(struct pop3_session *s, const char *why);
/* Read timeout for the state (login_timeout, then >= 10 minutes). */
void pop3_session_set_timeout(struct pop3_session *s);
/* Go on with buffered input (after an auth answer). */
void pop3_session_resume(struct pop3_session *s);
/* USER/PASS/AUTH allowed: under TLS, or plaintext on loopback if allowed. */
bool pop3_plaintext_ok(const struct pop3_session *s);

/* pop3_cmd.c */
void pop3_cmd_run(struct pop3_session *s, char *line, size_t len);
/* Answer "-ERR <text>" to a bad command and count it against the budget
 * (POP3_MAX_BAD_COMMANDS, then the session is closed). */
void pop3_cmd_bad(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* pop3_login.c */
void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *c);
/* An AUTH continuation line arrived (without CRLF). */
void pop3_login_sasl_line(struct pop3_session *s, const char *line, size_t len);
/* End the AUTH exchange with "-ERR <why>" (bad or overlong response). */
void pop3_login_sasl_fail(struct pop3_session *s, const char *why);
/* The SASL mechanisms on offer, space separated, into out. */
void pop3_login_mechs(struct pop3_session *s, struct buf *out);
/* Drop login state: pending auth request, open exchange, USER name. */
void pop3_login_end(struct pop3_session *s);

/* pop3_maildrop.c */
/* Lock and read INBOX for a logged-in account: 0, or -1 after -ERR. */
int pop3_maildrop_open(struct pop3_session *s, int64_t account,
		       const char *address);
void pop3_maildrop_close(struct pop3_session *s);
/* QUIT in TRANSACTION: the UPDATE state (RFC 1939 §6). */
void pop3_maildrop_update(struct pop3_session *s);
/* Produce more of the current multi-line response. */
void pop3_job_step(struct pop3_session *s);
void pop3_job_end(struct pop3_session *s);
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *c);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *c);

#endif
