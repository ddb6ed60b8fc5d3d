/* outbound_int: what the parts of outbound delivery share — the job
 * (one message to one domain), its connection and its resolution.
 * outbound.c schedules jobs and records outcomes; outbound_conn.c
 * resolves, connects and drives the SMTP client engine. */
#ifndef MK_OUTBOUND_INT_H
#define MK_OUTBOUND_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "dns/dns.h"
#include "lib/buf.h"
#include "queue/mx.h"
#include "queue/spool.h"
#include "smtp/smtp_client.h"

struct bufferevent;

/* The outcome of one recipient in one attempt. */
struct outcome {
	enum smtp_client_outcome kind;
	char status[SMTP_ENH_MAX];
	struct buf reply;
};

/* An address question of a job: which answer slot it fills. */
struct addr_q {
	struct job *j;
	size_t slot;
};

/* How the certificate of the current connection is checked (the TLS
 * policy hook of outbound_dane.c). MTA-STS (RFC 8461) adds its value. */
enum outbound_tls_auth {
	OUTBOUND_TLS_OPPORTUNISTIC,	/* any TLS, unverified (RFC 7435) */
	OUTBOUND_TLS_DANE,		/* the host's TLSA records (RFC 7672) */
	OUTBOUND_TLS_MTASTS,		/* MTA-STS enforce: PKIX + MX name (RFC 8461 §4.2) */
	OUTBOUND_TLS_MTASTS_TESTING,	/* MTA-STS testing: checked, only logged */
};

struct outbound_dane;
struct outbound_mtasts;

/* One delivery: the due recipients of one message to one domain. */
struct job {
	struct job *next;
	char qid[QUEUE_ID_MAX];
	char domain[DNSQ_NAME_MAX + 1];		/* "" for the relay host */
	struct spool_meta meta;
	struct spool_remote_rcpt *rcpts;
	size_t nrcpts;
	struct smtp_client_rcpt *crcpts;
	struct smtp_client_msg msg;
	/* resolution */
	struct mx_list mx;
	struct dnsq_answer *addrs;		/* per host: [2i] A, [2i+1] AAAA */
	struct addr_q *aqs;			/* callback arguments, same index */
	size_t dns_pending;
	struct mx_targets targets;
	size_t next_target;
	uint16_t port;
	/* the connection */
	struct bufferevent *bev;
	struct smtp_client *c;
	SSL *ssl;
	bool handshaking, sent, data_eof;
	bool signed_once, dkim_fed;
	struct buf dkim;			/* DKIM-Signature fields to prepend */
	int fd;					/* the queue file while sending */
	char relay[DNSQ_NAME_MAX + MX_ADDR_MAX + 16];	/* host[ip]:port */
	char host[DNSQ_NAME_MAX + 1];		/* the host name alone */
	char tls[32];
	struct buf last_error;
	bool last_perm;
	unsigned conn_msgs;		/* messages started on this connection */
	bool deleted;		/* `mailkeep queue delete`: outcome ignored */
	/* DANE (outbound_dane.c): DNSSEC state of the resolution, TLSA */
	bool mx_secure;				/* the MX answer was validated */
	struct outbound_dane *dane;		/* NULL until first needed */
	struct outbound_mtasts *sts;		/* MTA-STS state (outbound_mtasts.c) */
	/* the TLS policy of the current host (outbound_tls_policy()) */
	bool tls_required;			/* STARTTLS or skip the host */
	enum outbound_tls_auth tls_auth;
	const char *tls_verified;		/* log: "no", "dane-ee", ...; NULL: none */
};

/* Shared state of the queue process's outbound side (outbound.c). */
extern struct spool *outbound_spool;
extern SSL_CTX *outbound_tls_ctx;
extern char *outbound_relay_password;	/* NULL: no AUTH at the relay */
extern bool outbound_stopping;

/* The resolver, made on first use; NULL when it cannot be made (logged). */
struct dns *outbound_resolver(void);
/* The attempt ended with the same local verdict for every recipient. */
void outbound_fail_all(struct job *j, bool perm, const char *status,
		       const char *text);
/* The transaction ended: the engine's per-recipient results. */
void outbound_results(struct job *j);
/* The transaction ended on a connection that stays open: record it; true
 * when j now holds the next message for the same destination (send it on
 * this connection), false when there is none (QUIT, outbound_job_done). */
bool outbound_results_next(struct job *j);
/* j is over (its outcomes recorded): free it and let waiting mail start. */
void outbound_job_done(struct job *j);

/* outbound_conn.c: resolve the destination, connect, send. */
void outbound_conn_start(struct job *j);
/* Close the connection and the queue file of j (the job stays). */
void outbound_conn_close(struct job *j);
/* Drop the connections still waiting for their QUIT reply. */
void outbound_conn_shutdown(void);

/* --- outbound_dane.c: DANE (RFC 7672) and the TLS policy hook ---
 * The policy of a host is chosen before connecting: DANE first, then
 * (RFC 8461 §2: only where DANE does not apply) MTA-STS, else
 * opportunistic TLS. */

/* The answer for address slot `slot` of j->addrs was (not) validated. */
void outbound_dane_addr_secure(struct job *j, size_t slot, bool secure);
/* After the targets are known: ask TLSA of each MX host whose MX and
 * address answers were validated (RFC 7672 §2.2), then done(j); done
 * may run at once (nothing to ask) or later from the event loop. */
void outbound_dane_lookup(struct job *j, void (*done)(struct job *j));
/* Free the DANE state of j (from job_free). */
void outbound_dane_free(struct job *j);
/* Choose the TLS policy for target t (sets tls_required, tls_auth);
 * -1 with j->last_error set when the host must be skipped (its TLSA
 * lookup failed: RFC 7672 §2.2, never delivered without it). */
int outbound_tls_policy(struct job *j, const struct mx_target *t);
/* Prepare ssl for the policy before the handshake; -1: cannot. */
int outbound_tls_verify_setup(struct job *j, SSL *ssl);
/* After the handshake: true when the peer meets the policy (sets
 * j->tls_verified), else false with the reason ("4.7.5 ...") in why. */
bool outbound_tls_verified(struct job *j, SSL *ssl, struct buf *why);

/* --- outbound_mtasts.c: MTA-STS (RFC 8461) ---
 * Before the MX query the domain's policy is found (TXT _mta-sts, the
 * cache in queue.db, a fetch over HTTPS); MX hosts are filtered by it and,
 * where DANE does not apply, the TLS policy hook above asks it. */

/* Find the policy of j's domain (§5.1), then then(j); then may run at
 * once (relay host, MTA-STS off) or later from the event loop. */
void outbound_mtasts_lookup(struct job *j, void (*then)(struct job *j));
/* §4.1: drop the MX hosts the policy does not list (enforce) or log them
 * (testing); -1 when none is left (the job was failed temporarily). */
int outbound_mtasts_filter_mx(struct job *j);
/* The TLS policy of the current host under the domain's policy (sets
 * tls_required and tls_auth; nothing without a policy). */
void outbound_mtasts_tls_policy(struct job *j);
/* PKIX verification for the MX host name against [outbound] ca_file. */
int outbound_mtasts_verify_setup(struct job *j, SSL *ssl);
/* After the handshake: enforce refuses an unverified peer (reason in
 * why); testing logs it and goes on. Sets j->tls_verified. */
bool outbound_mtasts_verified(struct job *j, SSL *ssl, struct buf *why);
/* The session is ready without TLS (no STARTTLS offered): under a testing
 * policy, say what enforce would have refused. */
void outbound_mtasts_cleartext(const struct job *j);
/* Free the MTA-STS state of j (from job_free). */
void outbound_mtasts_free(struct job *j);
/* Stop the fetches in flight (from outbound_shutdown). */
void outbound_mtasts_shutdown(void);

#endif
