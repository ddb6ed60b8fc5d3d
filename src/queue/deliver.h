/* deliver: local delivery from the queue into account stores, with the
 * recipient resolution of src/auth/resolve (aliases, sub-addressing,
 * catch-all). Exactly once: each (message, account) pair has a delivery
 * key the store recognises, so a redelivery after a crash is a no-op. */
#ifndef MK_DELIVER_H
#define MK_DELIVER_H

#include "queue/spool.h"

#define DELIVER_BATCH 256	/* messages per delivery pass */

int deliver_init(const char **error_r);
void deliver_reload(void);
void deliver_shutdown(void);
/* Deliver up to DELIVER_BATCH ready messages; returns how many. */
int deliver_batch(struct spool *sp);

#endif
