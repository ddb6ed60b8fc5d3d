/* ipc: SOCK_SEQPACKET channels with fd passing over libevent. */
#include "ipc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

struct ipc_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t reqid;
	uint32_t reserved;
};

struct ipc_out {
	struct ipc_out *next;
	int fd;
	size_t len;
	uint8_t data[];		/* header + payload */
};

struct ipc {
	int fd;
	char peer[16];
	struct event *rev, *wev, *cev;
	struct ipc_out *head, *tail;
	ipc_msg_cb *on_msg;
	ipc_close_cb *on_close;
	void *arg;
	bool closed;
	uint8_t *rbuf;
};

int ipc_socketpair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

static void ipc_fail(struct ipc *ch, const char *why)
{
	if (ch->closed)
		return;
	ch->closed = true;
	event_del(ch->rev);
	event_del(ch->wev);
	if (why != NULL)
		log_error("ipc peer=%s event=closed reason=\"%s\"", ch->peer, why);
	/* Report from the loop, so that callers up the stack may still use ch. */
	event_active(ch->cev, 0, 0);
}

static void ipc_on_closed(evutil_socket_t fd, short what, void *arg)
{
	struct ipc *ch = arg;

	(void)fd;
	(void)what;
	ch->on_close(ch, ch->arg);
}

/* Read one record; 1 = got one, 0 = nothing more now, -1 = closed. */
static int ipc_read_one(struct ipc *ch)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { ch->rbuf, sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD };
	struct msghdr mh = { 0 };
	struct ipc_hdr hdr;
	int fd = -1;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = &cm;
	mh.msg_controllen = sizeof(cm);
	n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (n == 0) {
		ipc_fail(ch, NULL);
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	memcpy(&hdr, ch->rbuf, sizeof(hdr) <= (size_t)n ? sizeof(hdr) : 0);
	if ((size_t)n < sizeof(hdr) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    hdr.len != (size_t)n - sizeof(hdr)) {
		if (fd >= 0)
			close(fd);
		ipc_fail(ch, "malformed message");
		return -1;
	}
	ch->on_msg(ch, hdr.type, hdr.reqid, ch->rbuf + sizeof(hdr), hdr.len,
		   fd, ch->arg);
	return ch->closed ? -1 : 1;
}

static void ipc_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc *ch = arg;

	(void)fd;
	(void)what;
	/* Drain what is there now: lets the receiver batch work. */
	for (int i = 0; i < 256; i++) {
		int r = ipc_read_one(ch);
		if (r < 0) {
			if (!ch->closed)
				ipc_fail(ch, strerror(errno));
			return;
		}
		if (r == 0)
			return;
	}
}

/* Write queued records; 0 done or would block, -1 peer gone. */
static int ipc_write_some(struct ipc *ch)
{
	while (ch->head != NULL) {
		struct ipc_out *o = ch->head;
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = { o->data, o->len };
		struct msghdr mh = { 0 };

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (o->fd >= 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = &cm;
			mh.msg_controllen = sizeof(cm);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
		}
		if (sendmsg(ch->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		ch->head = o->next;
		if (ch->head == NULL)
			ch->tail = NULL;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	return 0;
}

static void ipc_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ipc *ch = arg;

	(void)fd;
	(void)what;
	if (ipc_write_some(ch) < 0) {
		ipc_fail(ch, strerror(errno));
		return;
	}
	if (ch->head != NULL)
		event_add(ch->wev, NULL);
}

struct ipc *ipc_new(struct event_base *base, int fd, const char *peer,
		    ipc_msg_cb *on_msg, ipc_close_cb *on_close, void *arg)
{
	struct ipc *ch = xcalloc(1, sizeof(*ch));

	ch->fd = fd;
	snprintf(ch->peer, sizeof(ch->peer), "%s", peer);
	ch->on_msg = on_msg;
	ch->on_close = on_close;
	ch->arg = arg;
	ch->rbuf = xmalloc(sizeof(struct ipc_hdr) + IPC_MAX_PAYLOAD);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ch->rev = event_new(base, fd, EV_READ | EV_PERSIST, ipc_on_read, ch);
	ch->wev = event_new(base, fd, EV_WRITE, ipc_on_write, ch);
	ch->cev = event_new(base, -1, 0, ipc_on_closed, ch);
	event_add(ch->rev, NULL);
	return ch;
}

void ipc_send(struct ipc *ch, uint32_t type, uint32_t reqid,
	      const void *data, size_t len, int fd)
{
	struct ipc_hdr hdr = { type, (uint32_t)len, reqid, 0 };
	struct ipc_out *o;

	if (len > IPC_MAX_PAYLOAD)
		abort();	/* callers bound their payloads */
	if (ch->closed)
		return;
	o = xmalloc(sizeof(*o) + sizeof(hdr) + len);
	o->next = NULL;
	o->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	o->len = sizeof(hdr) + len;
	memcpy(o->data, &hdr, sizeof(hdr));
	if (len > 0)
		memcpy(o->data + sizeof(hdr), data, len);
	if (ch->tail)
		ch->tail->next = o;
	else
		ch->head = o;
	ch->tail = o;
	if (ipc_write_some(ch) < 0) {
		ipc_fail(ch, strerror(errno));
		return;
	}
	if (ch->head != NULL)
		event_add(ch->wev, NULL);
}

void ipc_flush(struct ipc *ch)
{
	while (ch->head != NULL && !ch->closed) {
		struct pollfd p = { ch->fd, POLLOUT, 0 };
		if (poll(&p, 1, 1000) <= 0 || ipc_write_some(ch) < 0)
			return;
	}
}

void ipc_free(struct ipc *ch)
{
	if (ch == NULL)
		return;
	while (ch->head != NULL) {
		struct ipc_out *o = ch->head;
		ch->head = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	event_free(ch->rev);
	event_free(ch->wev);
	event_free(ch->cev);
	close(ch->fd);
	free(ch->rbuf);
	free(ch);
}

const char *ipc_peer(const struct ipc *ch)
{
	return ch->peer;
}

void ipc_w_u32(struct buf *b, uint32_t v)
{
	buf_append(b, &v, sizeof(v));
}

void ipc_w_u64(struct buf *b, uint64_t v)
{
	buf_append(b, &v, sizeof(v));
}

void ipc_w_str(struct buf *b, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	ipc_w_u32(b, n);
	buf_append(b, s, n + 1);
}

void ipc_r_init(struct ipc_reader *r, const uint8_t *data, size_t len)
{
	r->p = data;
	r->left = len;
	r->bad = false;
}

static bool ipc_r_take(struct ipc_reader *r, void *out, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		memset(out, 0, n);
		return false;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

uint32_t ipc_r_u32(struct ipc_reader *r)
{
	uint32_t v;

	ipc_r_take(r, &v, sizeof(v));
	return v;
}

uint64_t ipc_r_u64(struct ipc_reader *r)
{
	uint64_t v;

	ipc_r_take(r, &v, sizeof(v));
	return v;
}

const char *ipc_r_str(struct ipc_reader *r)
{
	uint32_t n = ipc_r_u32(r);
	const char *s;

	if (r->bad || r->left < (size_t)n + 1 || r->p[n] != '\0' ||
	    memchr(r->p, '\0', n) != NULL) {
		r->bad = true;
		return "";
	}
	s = (const char *)r->p;
	r->p += n + 1;
	r->left -= n + 1;
	return s;
}

int ipc_r_end(const struct ipc_reader *r)
{
	return (!r->bad && r->left == 0) ? 0 : -1;
}
