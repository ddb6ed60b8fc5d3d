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

/* outbound_conn.c: resolve the destination, connect, send. */
void outbound_conn_start(struct job *j);
/* Close the connection and the queue file of j (the job stays). */
void outbound_conn_close(struct job *j);
/* Drop the connections still waiting for their QUIT reply. */
void outbound_conn_shutdown(void);

#endif
