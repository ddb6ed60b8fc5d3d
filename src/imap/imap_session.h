/* imap_session: one IMAP4rev1/IMAP4rev2 session (RFC 3501, RFC 9051).
 *
 * A thin state machine over the pure parts: imap_parser turns input into
 * commands, the command table (imap_cmd.c) checks the state and calls a
 * handler in imap_cmd_*.c, handlers read and change the mail store
 * (src/store/store_mail.h) and write responses. imap_view.c keeps the
 * selected mailbox's sequence-number -> UID map and turns store changes
 * (ours, other sessions', new deliveries) into untagged EXISTS, EXPUNGE /
 * VANISHED and FETCH responses where RFC 3501 §7.4.1 allows them.
 *
 * A session waits for at most one other process at a time (a login
 * answer from auth) and reads no input meanwhile. */
#ifndef MK_IMAP_SESSION_H
#define MK_IMAP_SESSION_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"
#include "imap/imap_server.h"
#include "lib/buf.h"

struct conn;
struct store;

enum imap_state {
	IMAP_ST_NOAUTH,
	IMAP_ST_AUTH,
	IMAP_ST_SELECTED,
	IMAP_ST_LOGOUT,
};

/* What the session does with input right now. */
enum imap_mode {
	IMAP_MODE_COMMAND,	/* parsing commands */
	IMAP_MODE_SASL,		/* AUTHENTICATE: a base64 line is due */
	IMAP_MODE_IDLE,		/* IDLE: waiting for DONE */
	IMAP_MODE_WAIT,		/* an answer from auth is due */
};

/* ENABLEd extensions (RFC 5161) */
#define IMAP_EN_CONDSTORE 0x01
#define IMAP_EN_QRESYNC   0x02
#define IMAP_EN_REV2      0x04	/* IMAP4rev2 */
#define IMAP_EN_UTF8      0x08	/* UTF8=ACCEPT (RFC 6855) */

/* The selected mailbox as this session knows it. */
struct imap_view {
	int64_t id;
	char *name;		/* store (UTF-8) name */
	bool readonly;		/* EXAMINE */
	uint32_t uidvalidity;
	uint32_t *uids;		/* uids[seq - 1], ascending */
	uint32_t count, cap;
	uint32_t uidnext;	/* as last announced */
	uint64_t modseq;	/* every change up to this one is known */
	struct imap_seqset recent;	/* UIDs \Recent in this session */
	bool gone;		/* deleted or renamed away by someone else */
	/* changes up to this modseq were reported (or are our own) */
	uint64_t reported_modseq;
	/* expunged elsewhere, reported when RFC 3501 §7.4.1 allows */
	uint32_t *gone_uids;
	size_t ngone, gone_cap;
	/* flag changes this session made itself (STORE already answered
	 * them, or .SILENT asked not to): (uid, modseq) pairs */
	struct imap_own_change { uint32_t uid; uint64_t modseq; } *own;
	size_t nown, own_cap;
};

struct imap_session {
	struct imap_session *next, *prev;	/* all IMAP sessions */
	struct imap_session *acct_next;		/* the account's sessions */
	char id[13];
	int service;			/* SVC_IMAP or SVC_IMAPS */
	struct conn *conn;
	char ip[64];
	unsigned port;
	bool loopback;
	bool tls;			/* TLS is up (or being set up) */

	enum imap_state state;
	enum imap_mode mode;
	struct imap_parser *parser;
	uint32_t conn_id;		/* for the auth process */
	uint32_t reqid;			/* outstanding request */
	char tag[64];			/* of the command waiting or idling */
	unsigned bad_commands;
	unsigned commands;
	bool closing;
	bool dead;			/* connection gone while waiting */

	unsigned enabled;		/* IMAP_EN_* */
	struct imap_account *acct;	/* once logged in */
	char *user;			/* canonical address */
	struct imap_view *view;		/* once SELECTed */
	/* \Recent stays with the session that claimed it, also across a
	 * re-SELECT: the last mailbox's set is kept here meanwhile */
	int64_t kept_recent_id;
	struct imap_seqset kept_recent;
	/* SEARCHRES (RFC 5182): the saved result, as UIDs */
	uint32_t *saved;
	size_t nsaved;
	bool saved_valid;

	/* APPEND being streamed (imap_cmd_mailbox.c) */
	struct imap_append *append;
	/* A command that produces its output in steps as the client reads
	 * it (FETCH of many bodies): run by imap_cmd_job_step. */
	struct imap_job *job;
};

/* imap_session.c */
void imap_session_start(int fd, int service,
					const struct sockaddr *sa, socklen_t salen);
/* Untagged or continuation text: the line is sent as given plus CRLF. */
void imap_printf(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Raw bytes (literal data); no CRLF added. */
void imap_write(struct imap_session *s, const void *data, size_t len);
/* "TAG OK|NO|BAD text" for the command being run. */
void imap_tagged(struct imap_session *s, const char *tag, const char *status,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void imap_session_close(struct imap_session *s, const char *why);
/* Go on with buffered input after a wait (auth answer, IDLE end). */
void imap_session_resume(struct imap_session *s);
/* Send pending mailbox updates now if the session is IDLE. */
void imap_session_notify(struct imap_session *s);
void imap_session_shutdown_all(void);
void imap_session_set_timeout(struct imap_session *s);
bool imap_session_plaintext_ok(const struct imap_session *s);
/* Output is queued beyond the high-water mark: stop producing. */
bool imap_session_output_full(struct imap_session *s);

/* imap_cmd.c: the command table. */
void imap_cmd_run(struct imap_session *s, const struct imap_command *cmd);
/* Produce the next part of s->job's output (it clears s->job at the end). */
void imap_cmd_job_step(struct imap_session *s);
/* The session ends: free what commands left behind. */
void imap_cmd_session_end(struct imap_session *s);
/* IDLE ended by the client: done says whether the line was DONE. */
void imap_cmd_idle_end(struct imap_session *s, bool done);
/* APPEND message data streamed by the parser; abort after a parse error. */
void imap_cmd_append_chunk(struct imap_session *s, const void *data, size_t len);
void imap_cmd_append_abort(struct imap_session *s);
/* Log in: join the account's shared store (imap_cmd.c), and leave it. */
void imap_account_leave(struct imap_session *s);
/* The CAPABILITY list for the session's state, without "* CAPABILITY ". */
void imap_capabilities(struct imap_session *s, struct buf *out);
/* A base64 line for AUTHENTICATE (without CRLF). */
void imap_cmd_sasl_line(struct imap_session *s, const char *line, size_t len);

#endif
