/* outbound: delivery of remote recipients (status SPOOL_REMOTE) over SMTP
 * (RFC 5321 §5): the scheduler groups due recipients by (message,
 * domain), resolves the MX hosts (mx.c over dns.c), connects without
 * blocking, drives the smtp_client engine (opportunistic STARTTLS,
 * PIPELINING, ...), streams the queue file, and records per-recipient
 * outcomes: sent, deferred (retry.c backoff) or bounced (bounce.c).
 * With [relay] host set every remote recipient goes to the relay host.
 * An attempt cut short by a crash is simply retried (at-least-once). */
#ifndef MK_OUTBOUND_H
#define MK_OUTBOUND_H

#include "queue/spool.h"

/* Recipients in one SMTP transaction (RFC 5321 §4.5.3.1.8: >= 100). */
#define OUTBOUND_RCPTS_MAX 100
/* Due recipients looked at per scheduler run. */
#define OUTBOUND_SCAN_MAX 2000

/* kick: run local deliveries soon (a bounce was queued). */
int outbound_init(struct spool *sp, void (*kick)(void), const char **error_r);
/* Start deliveries for the recipients that are due (cheap when none). */
void outbound_run(void);
void outbound_reload(void);
/* Drop every connection (their recipients are retried after restart). */
void outbound_shutdown(void);
/* True while an attempt for recipient idx of qid is under way. */
bool outbound_active(const char *qid, int64_t idx);
/* The message was deleted: attempts under way finish unrecorded (no
 * status, no bounce, nothing recreated). */
void outbound_forget(const char *qid);
/* The message was held or deleted: a connection that frees up does not
 * take it from the last scheduler run's waiting list. */
void outbound_unwait(const char *qid);

#endif
