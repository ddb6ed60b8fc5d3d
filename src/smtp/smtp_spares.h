/* smtp_spares: queue files asked for ahead of need.
 *
 * A session that reaches DATA or BDAT needs a message file from the
 * queue. Asking then costs a round trip to a process that may be busy
 * making a batch durable (milliseconds under load, measured: 3 of the 21
 * ms a message took at 32 sessions). So the smtp process keeps a few
 * empty files in hand, asked for while nobody waits on them: a session
 * takes one at once and the pool asks for its replacement. The pool
 * starts empty and grows (up to SMTP_SPARES_MAX) each time a session finds
 * it empty; files unused for a while go back to the queue. The queue
 * treats spares like any file it handed out and not yet committed: it
 * removes them when smtp stops or dies, or at its own start. */
#ifndef MK_SMTP_SPARES_H
#define MK_SMTP_SPARES_H

#include <stdbool.h>
#include <stdint.h>

#include "queue/envelope.h"	/* QUEUE_ID_MAX */

#define SMTP_SPARES_MAX 32
#define SMTP_SPARES_IDLE_SEC 30	/* unused this long: given back */

/* The oldest file in hand: true with *fd_r (owned by the caller) and
 * qid; false when there is none (the caller asks the queue itself, and
 * the pool will keep more). Then call smtp_spares_refill. */
bool smtp_spares_take(int *fd_r, char qid[QUEUE_ID_MAX]);
/* Ask the queue for what the pool lacks. After the caller's own request,
 * and with the oldest spare taken first, queue ids (which hold the time
 * the file was made) follow the order in which messages began. */
void smtp_spares_refill(void);
/* A MSG_QUEUE_CREATED reply: true when it answered one of the pool's
 * requests (fd then belongs to the pool, or is closed). */
bool smtp_spares_created(uint32_t reqid, int fd, const char *qid);
/* The queue process went away: its files are not ours to commit. */
void smtp_spares_queue_down(void);
/* Give every file back (shutdown) and stop asking. */
void smtp_spares_release(void);

#endif
