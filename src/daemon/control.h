/* control: main's control socket for the CLI (DESIGN §4), the UNIX socket
 * run_dir/control.sock that `mailkeep queue` talks to.
 *
 * Main binds it before the children start: mode 0600, owned by the user
 * who started the daemon, and only peers whose SO_PEERCRED uid is 0 or
 * main's own are served. The socket is SOCK_SEQPACKET so that the framed
 * IPC layer (lib/ipc.h) runs over it unchanged: the CLI sends one
 * MSG_CTL_QUEUE_* request at a time (daemon/proto.h); main forwards it to
 * the queue process under a request id of its own and passes the items
 * and the final MSG_CTL_DONE back. A request while the queue process is
 * down ends at once with CTL_TEMPFAIL; a CLI that goes away mid-request
 * only makes main drop the replies. */
#ifndef MK_CONTROL_H
#define MK_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define CONTROL_CLIENTS_MAX 64		/* CLI connections at once */
#define CONTROL_REQUEST_MAX 1024	/* bytes of one request's payload */

struct event_base;
struct ipc;

/* The queue process's channel now, or NULL while it is down. */
typedef struct ipc *control_queue_fn(void);

/* Bind run_dir/control.sock and listen (a stale socket file is removed; a live one, or any
 * other file, is an error). */
int control_open(struct event_base *base, const char *run_dir,
		 control_queue_fn *queue, const char **error_r);
/* A MSG_CTL_QUEUE_ITEM or MSG_CTL_DONE from the queue process. */
void control_queue_reply(uint32_t type, uint32_t reqid, const uint8_t *data,
			 size_t len);
/* The queue process went away: requests under way end with CTL_TEMPFAIL. */
void control_queue_down(void);
/* Close every connection and remove the socket file (at exit). */
void control_close(void);

#endif
