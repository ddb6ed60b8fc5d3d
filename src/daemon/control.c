/* control: run_dir/control.sock in the main process (control.h). */
#include "daemon/control.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/unixsock.h"
#include "lib/xalloc.h"

#define CONTROL_ACCEPT_BATCH 16		/* accepts per wake-up */

struct client {
	struct client *next;
	struct ipc *ch;
	unsigned id;		/* for the log */
	uint32_t reqid;		/* the CLI's id of the request under way */
	uint32_t fwd;		/* its id at the queue process; 0: none */
};

static struct event_base *ev_base;
static control_queue_fn *queue_channel;
static struct client *clients;
static size_t nclients;
static unsigned last_id;
static uint32_t last_fwd;
static struct unixsock sock = { BUF_INIT, 0, 0, -1 };
static struct event *accept_ev;

static void done(struct client *c, uint32_t reqid, enum ctl_status status,
		 const char *detail)
{
	struct buf m = BUF_INIT;

	ipc_w_u32(&m, (uint32_t)status);
	ipc_w_str(&m, detail);
	ipc_send(c->ch, MSG_CTL_DONE, reqid, m.ptr, m.len, -1);
	buf_free(&m);
}

static void client_free(struct client *c)
{
	for (struct client **p = &clients; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			nclients--;
			break;
		}
	ipc_free(c->ch);
	free(c);
}

static void on_client_close(struct ipc *ch, void *arg)
{
	(void)ch;
	/* replies still coming for its request find no client: dropped */
	client_free(arg);
}

static void on_client_msg(struct ipc *ch, uint32_t type, uint32_t reqid,
			  const uint8_t *data, size_t len, int fd, void *arg)
{
	struct client *c = arg;
	struct ipc *queue = queue_channel();

	(void)ch;
	if (fd >= 0)
		close(fd);
	/* one request at a time, no descriptors (the channel is not freed
	 * here, inside its own callback: a broken client just gets errors) */
	if (c->fwd != 0 || fd >= 0 || !MSG_CTL_IS_REQUEST(type) ||
	    len > CONTROL_REQUEST_MAX) {
		log_warn("control=%u event=bad-request type=%u", c->id, type);
		done(c, reqid, CTL_BAD_REQUEST, "unknown or oversized request, "
		     "or one while another is under way");
		return;
	}
	if (queue == NULL) {
		done(c, reqid, CTL_TEMPFAIL, "the queue process is not running "
		     "(restarting); try again");
		return;
	}
	if (++last_fwd == 0)
		last_fwd = 1;
	c->reqid = reqid;
	c->fwd = last_fwd;
	log_debug("control=%u event=forwarded type=%u to=queue", c->id, type);
	ipc_send(queue, type, c->fwd, data, len, -1);
}

/* Who is at the other end: root or the daemon's own user only. */
static bool peer_allowed(int fd, unsigned id)
{
	struct ucred cred;
	socklen_t n = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) < 0) {
		log_warn("control=%u event=refused reason=\"SO_PEERCRED: %s\"", id,
			 strerror(errno));
		return false;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("control=%u event=refused uid=%u pid=%d reason=\"only "
			 "root and uid %u may use the control socket\"", id,
			 (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
		return false;
	}
	return true;
}

static void accept_one(int fd)
{
	struct client *c;
	unsigned id = ++last_id;

	if (!peer_allowed(fd, id)) {
		close(fd);
		return;
	}
	if (nclients >= CONTROL_CLIENTS_MAX) {
		log_warn("control=%u event=refused reason=\"%d connections at "
			 "once\"", id, CONTROL_CLIENTS_MAX);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->id = id;
	c->ch = ipc_new(ev_base, fd, "control", on_client_msg, on_client_close, c);
	c->next = clients;
	clients = c;
	nclients++;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (int i = 0; i < CONTROL_ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("event=control-accept reason=\"%s\"",
					 strerror(errno));
			return;
		}
		accept_one(fd);
	}
}

int control_open(struct event_base *base, const char *run_dir,
		 control_queue_fn *queue, const char **error_r)
{
	/* mode 0600, and SO_PEERCRED checks every client */
	if (unixsock_listen(&sock, run_dir, UNIXSOCK_CONTROL, SOCK_SEQPACKET,
			    0600, error_r) < 0) {
		unixsock_close(&sock);
		return -1;
	}
	ev_base = base;
	queue_channel = queue;
	accept_ev = event_new(base, sock.fd, EV_READ | EV_PERSIST, on_accept,
			      NULL);
	event_add(accept_ev, NULL);
	log_info("event=listen address=%s service=control", buf_cstr(&sock.path));
	return 0;
}

static struct client *client_by_fwd(uint32_t fwd)
{
	for (struct client *c = clients; c != NULL; c = c->next)
		if (c->fwd == fwd)
			return c;
	return NULL;
}

void control_queue_reply(uint32_t type, uint32_t reqid, const uint8_t *data,
			 size_t len)
{
	struct client *c = reqid != 0 ? client_by_fwd(reqid) : NULL;

	if (c == NULL)
		return;		/* its CLI is gone */
	ipc_send(c->ch, type, c->reqid, data, len, -1);
	if (type == MSG_CTL_DONE)
		c->fwd = 0;
}

void control_queue_down(void)
{
	for (struct client *c = clients; c != NULL; c = c->next) {
		if (c->fwd == 0)
			continue;
		done(c, c->reqid, CTL_TEMPFAIL, "the queue process stopped "
		     "before answering; try again");
		c->fwd = 0;
	}
}

void control_close(void)
{
	while (clients != NULL)
		client_free(clients);
	if (accept_ev != NULL)
		event_free(accept_ev);
	accept_ev = NULL;
	unixsock_close(&sock);
}
