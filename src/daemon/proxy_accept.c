/* proxy_accept: reading the PROXY header off trusted connections. Only the
 * header's own bytes are taken from the socket (proxy_parse says how many
 * certainly belong to it), so what follows is left for the protocol or TLS. */
#include "daemon/proxy_accept.h"

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/proxy.h"
#include "lib/xalloc.h"

struct proxy_conn {
	struct proxy_conn *next;
	int fd, service;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char ip[64];
	struct event *ev;		/* readable */
	struct event *timer;		/* the deadline for the whole header */
	proxy_accept_cb *done;
	size_t have;
	uint8_t buf[PROXY_MAX_HEADER];
};

static struct proxy_conn *pending;
static unsigned npending;

bool proxy_accept_required(int service, const struct sockaddr *sa)
{
	struct netaddr_cidr net;
	bool listed = false;

	for (size_t i = 0; i < proc_cfg.proxy_services.n; i++)
		if (strcmp(proc_cfg.proxy_services.v[i],
			   config_service_name(service)) == 0)
			listed = true;
	for (size_t i = 0; listed && i < proc_cfg.proxy_trusted.n; i++)
		if (netaddr_parse_cidr(proc_cfg.proxy_trusted.v[i], &net) == 0 &&
		    netaddr_cidr_match(&net, sa))
			return true;
	return false;
}

static void unlink_conn(struct proxy_conn *c)
{
	for (struct proxy_conn **p = &pending; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	npending--;
	event_free(c->ev);
	event_free(c->timer);
}

static void fail(struct proxy_conn *c, const char *why)
{
	log_warn("event=proxy-refused proxy=%s service=%s reason=\"%s\" "
		 "action=closed", c->ip, config_service_name(c->service), why);
	unlink_conn(c);
	close(c->fd);
	free(c);
}

/* The header is complete: admit the connection as the client it names. */
static void finish(struct proxy_conn *c, const struct proxy_header *h)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
	socklen_t len = c->peer_len;
	char real[64] = "local";

	if (!h->local) {
		sa = (const struct sockaddr *)&h->src;
		len = h->src_len;
		netaddr_ip_string(sa, real, sizeof(real));
	}
	log_info("event=proxy proxy=%s client=%s version=%d service=%s", c->ip,
		 real, h->version, config_service_name(c->service));
	unlink_conn(c);
	c->done(c->fd, c->service, sa, len);
	free(c);
}

static void on_proxy_event(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *c = arg;
	struct proxy_header h;
	const char *why = "bad header";
	size_t need = 0;
	ssize_t n;
	int rc;

	if (what & EV_TIMEOUT) {
		fail(c, "no PROXY header in time");
		return;
	}
	rc = proxy_parse(c->buf, c->have, &h, &need, &why);
	if (rc == 0) {
		n = recv(fd, c->buf + c->have, need, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			fail(c, n == 0 ? "closed before the PROXY header" : strerror(errno));
			return;
		}
		c->have += (size_t)n;
		rc = proxy_parse(c->buf, c->have, &h, &need, &why);
	}
	if (rc < 0)
		fail(c, why);
	else if (rc > 0)
		finish(c, &h);
}

void proxy_accept_read(int fd, int service, const struct sockaddr *sa,
		     socklen_t salen, proxy_accept_cb *done)
{
	struct timeval tv = { PROXY_ACCEPT_TIMEOUT, 0 };
	struct proxy_conn *c;

	if (npending >= PROXY_ACCEPT_MAX_PENDING) {
		char ip[64];
		netaddr_ip_string(sa, ip, sizeof(ip));
		log_warn("event=proxy-refused proxy=%s reason=\"too many connections "
			 "waiting for a PROXY header\" action=closed", ip);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->service = service;
	c->done = done;
	memcpy(&c->peer, sa, salen <= sizeof(c->peer) ? salen : sizeof(c->peer));
	c->peer_len = salen;
	netaddr_ip_string(sa, c->ip, sizeof(c->ip));
	evutil_make_socket_nonblocking(fd);
	c->ev = event_new(proc_base, fd, EV_READ | EV_PERSIST, on_proxy_event, c);
	c->timer = evtimer_new(proc_base, on_proxy_event, c);
	event_add(c->ev, NULL);
	evtimer_add(c->timer, &tv);
	c->next = pending;
	pending = c;
	npending++;
}

void proxy_accept_drop_all(void)
{
	while (pending != NULL) {
		struct proxy_conn *c = pending;
		unlink_conn(c);
		close(c->fd);
		free(c);
	}
}
