/* imap_server: the imap process (DESIGN §4) — IMAP and POP3 listeners,
 * connection limits, the shared per-account store handles, login requests
 * to the auth process and "new mail" notices from the queue. */
#ifndef MK_IMAP_SERVER_H
#define MK_IMAP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"

struct ssl_ctx_st;
struct store;
struct imap_session;

/* One logged-in account: its store is opened once and shared by every
 * session of the account in this process. */
struct imap_account {
	struct imap_account *next;
	int64_t id;
	struct store *store;
	unsigned refs;			/* IMAP and POP3 sessions using it */
	struct imap_session *sessions;	/* the IMAP ones, for notifications */
	unsigned nimap;
	bool pop3_locked;		/* RFC 1939 §8: one POP3 maildrop lock */
	time_t idle_since;		/* refs became 0 (kept open a while) */
	/* RFC 3501 §2.3.2 \Recent: per mailbox, the UIDs from here on have
	 * not been seen by any session yet */
	struct imap_recent { int64_t mailbox_id; uint32_t next; } *recent;
	size_t nrecent;
	struct event *names_ev;		/* file renames after flag changes */
};

int imap_server_main(const char *config_path);

/* The account's shared handle (opened on first use); NULL on error. */
struct imap_account *imap_server_account_get(int64_t id, const char **error_r);
void imap_server_account_put(struct imap_account *a);
/* \Recent: the first UID no session has claimed in mailbox_id; claim
 * moves it to next (SELECT, new mail reported to a read-write session). */
uint32_t imap_server_recent_peek(struct imap_account *a, int64_t mailbox_id);
uint32_t imap_server_recent_claim(struct imap_account *a, int64_t mailbox_id,
				  uint32_t next);
/* Something changed in the account's store (a session of ours did it, or
 * the queue delivered): every IMAP session of it looks for changes and
 * IDLE ones report them now. */
void imap_server_account_changed(struct imap_account *a);
/* Flags changed: rename the message files to match soon, in idle time
 * (store_flag_names_catch_up). */
void imap_server_flags_changed(struct imap_account *a);

/* A login step for the auth process; cb gets the MSG_AUTH_REPLY payload,
 * or data NULL when auth is unavailable. Returns the request id, 0 if auth
 * is not connected (cb not called). */
typedef void imap_server_auth_cb(void *ctx, const uint8_t *data, size_t len);
uint32_t imap_server_auth_send(const struct buf *payload,
			       imap_server_auth_cb *cb, void *ctx);
/* The requester went away: its reply, when it comes, is dropped. */
void imap_server_auth_forget(uint32_t reqid);
/* A connection id unique in this process (for MSG_AUTH_* conn). */
uint32_t imap_server_conn_id(void);

struct ssl_ctx_st *imap_server_tls(void);
bool imap_server_stopping(void);
/* Every session calls this once when it is freed. */
void imap_server_conn_closed(const char *ip);

#endif
