/* queue_ctl: the queue process's side of `mailkeep queue` — the
 * MSG_CTL_QUEUE_* requests main forwards from its control socket
 * (daemon/proto.h, daemon/control.h). Each request is answered with zero
 * or more MSG_CTL_QUEUE_ITEM and one MSG_CTL_DONE under its reqid. */
#ifndef MK_QUEUE_CTL_H
#define MK_QUEUE_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "queue/spool.h"

/* kick: run a delivery pass soon (local, then outbound). */
void queue_ctl_init(struct spool *sp, void (*kick)(void));
/* One request from main. */
void queue_ctl_msg(uint32_t type, uint32_t reqid, const uint8_t *data,
		   size_t len);

#endif
