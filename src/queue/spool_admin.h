/* spool_admin: the spool operations behind `mailkeep queue` — list and
 * show the queue, flush it, hold, release and delete messages.
 *
 * A held message (table holds in queue.db) gets no outbound attempt until
 * released; local deliveries are not affected. Deleting removes the
 * message's rows in one synced transaction (no bounce) and its file once
 * that is durable. Functions on one message return 1 when done, 0 when
 * there is no such message, -1 on a queue.db error (error_r). */
#ifndef MK_SPOOL_ADMIN_H
#define MK_SPOOL_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "queue/qinfo.h"
#include "queue/spool.h"

/* Called once per message; m and its strings are freed after the call. */
typedef void spool_admin_cb(struct qinfo_msg *m, void *arg);

/* True for a well-formed queue id (what spool_create makes). */
bool spool_admin_qid_ok(const char *qid);
/* Every message in the queue, oldest first, without headers. */
int spool_admin_list(struct spool *sp, spool_admin_cb *cb, void *arg,
		     const char **error_r);
/* One message with its header section (at most QINFO_HEADERS_MAX). */
int spool_admin_show(struct spool *sp, const char *qid, struct qinfo_msg *m,
		     const char **error_r);
/* hold: no outbound attempts; !hold: release, and remote recipients are
 * due now. */
int spool_admin_hold(struct spool *sp, const char *qid, bool hold,
		     const char **error_r);
int spool_admin_delete(struct spool *sp, const char *qid, const char **error_r);
/* Recipients waiting for a retry, of messages not held, are due now;
 * *n_r says how many. 0 or -1. */
int spool_admin_flush(struct spool *sp, size_t *n_r, const char **error_r);

#endif
