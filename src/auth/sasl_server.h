/* sasl_server: the auth process's login service (DESIGN §4). It keeps one
 * SASL exchange per (requester process, connection), checks passwords and
 * SCRAM proofs against the user database, throttles per client address
 * and per account (throttle.h), delays replies with event timers (never
 * sleeping: everyone shares this process), and logs every outcome as one
 * line a fail2ban filter can match:
 *
 *   event=auth-failed service=imap client=192.0.2.7 user=<alice@example.org> mech=PLAIN reason="bad password"
 *   event=auth-ok service=imap client=192.0.2.7 user=<alice@example.org> mech=PLAIN account=3
 *
 * (user= and client= are escaped: bytes other than printable ASCII, and
 * '"', '<', '>', '=', '\', appear as \xNN, so they cannot fake fields).
 * IPv6 clients are counted per /64, IPv4 per address. SCRAM logins of
 * unknown accounts, or of accounts without a SCRAM secret, run to the end
 * with a fake salt derived from the name (stable, so it does not betray
 * that the account is missing) and then fail. */
#ifndef MK_SASL_SERVER_H
#define MK_SASL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth_client.h"
#include "lib/buf.h"

#define SASL_SERVER_MAX_EXCHANGES 10000	/* in progress; the oldest is dropped */
#define SASL_SERVER_IP_MAX 64		/* bytes of a client address text */

struct event_base;
struct userdb;
struct sasl_server;

struct sasl_server_config {
	unsigned fail_delay_after;	/* auth.fail_delay_after */
	unsigned fail_block_after;	/* auth.fail_block_after */
	uint64_t fail_window;		/* auth.fail_window, seconds */
	size_t max_exchanges;		/* 0: SASL_SERVER_MAX_EXCHANGES */
	size_t max_throttle_entries;	/* 0: THROTTLE_MAX_ENTRIES */
	unsigned delay_unit_ms;		/* one second of delay; 0: 1000 (tests
					 * shorten it) */
};

/* A password check beside the user database: the PAM backend of system
 * users (auth/pam_login.h). A login name the backend routes is checked
 * there unless the user database holds an account of that address with
 * a password of its own; the outcome goes through the same throttling
 * and log lines as any login. SCRAM cannot use it (no stored secret). */
enum sasl_backend_result {
	SASL_BACKEND_OK,
	SASL_BACKEND_FAIL,	/* counts as a failed login */
	SASL_BACKEND_TEMPFAIL,	/* not the client's fault */
};

struct sasl_server_backend {
	/* Is name one of the backend's users? 1 yes, its canonical address
	 * into address_r; 0 no. */
	int (*route)(void *ctx, const char *name, struct buf *address_r);
	/* Check the password of address; the answer comes later, from the
	 * event loop, through sasl_server_backend_done(token). */
	void (*start)(void *ctx, uint64_t token, const char *address,
		      const char *password, const char *ip);
	/* The exchange of token is gone: never answer it. */
	void (*cancel)(void *ctx, uint64_t token);
	void *ctx;
};

/* Deliver a reply to the requester process peer (a proc_role). */
typedef void sasl_server_send_fn(void *ctx, int peer, uint32_t reqid,
				 const struct auth_reply *r);
/* Seconds on a monotonic clock (tests replace it). */
typedef uint64_t sasl_server_clock_fn(void);

struct sasl_server *sasl_server_new(struct event_base *base, struct userdb *db,
				    const struct sasl_server_config *cfg,
				    sasl_server_send_fn *send, void *ctx);
/* Drops every exchange without replying. */
void sasl_server_free(struct sasl_server *s);
/* New thresholds (reload); counters and exchanges are kept. */
void sasl_server_reconfigure(struct sasl_server *s,
			     const struct sasl_server_config *cfg);
void sasl_server_set_clock(struct sasl_server *s, sasl_server_clock_fn *clock);
/* One MSG_AUTH_STEP from peer; the reply goes out through send, now or
 * after a throttling delay. */
void sasl_server_step(struct sasl_server *s, int peer, uint32_t reqid,
		      const struct auth_step *req);
/* MSG_AUTH_CANCEL: forget conn's exchange (and any delayed reply). */
void sasl_server_cancel(struct sasl_server *s, int peer, uint32_t conn);
/* The requester process is gone: forget its exchanges. */
void sasl_server_peer_down(struct sasl_server *s, int peer);
/* Use backend b (copied; NULL: none) for the logins it routes. */
void sasl_server_set_backend(struct sasl_server *s,
			     const struct sasl_server_backend *b);
/* The backend's answer for token: account and address of the login when
 * OK; reason (a static string) when not. Unknown tokens are ignored. */
void sasl_server_backend_done(struct sasl_server *s, uint64_t token,
			      enum sasl_backend_result r, int64_t account,
			      const char *reason);
/* Exchanges in progress (tests). */
size_t sasl_server_exchanges(const struct sasl_server *s);

#endif
