/* bounce: turn outbound failures and delays into delivery status
 * notifications (RFC 3464, built by dsn.c) queued as new messages from the
 * null sender (RFC 5321 §4.5.5), delivered locally or sent out like any
 * other message. */
#ifndef MK_BOUNCE_H
#define MK_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "queue/dsn.h"
#include "queue/spool.h"

/* Build the notification for the original message qid (meta: its facts)
 * about rcpts and queue it to the original sender. 0: queued, or nothing
 * to send (null sender, NOTIFY excludes everyone); -1 with *error_r. */
int bounce_queue(struct spool *sp, const char *qid, const struct spool_meta *meta,
		 const struct dsn_rcpt *rcpts, size_t nrcpts, time_t retry_until,
		 const char **error_r);

#endif
