/* smtp_server: the smtp process — listeners, limits, request routing. */
#include "smtp/smtp_server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/xalloc.h"
#include "smtp/smtp_checks.h"
#include "daemon/proxy_accept.h"
#include "smtp/smtp_session.h"
#include "smtp/smtp_spares.h"
#include "tls/tls.h"

#define MAX_LISTENERS 64
#define IP_BUCKETS 1024
#define SHUTDOWN_ABORT 8	/* seconds before open sessions are cut */

struct ip_count {
	struct ip_count *next;
	char ip[64];
	unsigned n;
};

static struct evconnlistener *listeners[MAX_LISTENERS];
static size_t nlisteners;
static struct smtp_session *sessions;	/* every session */
static unsigned nsessions;
static struct ip_count *ip_counts[IP_BUCKETS];
static SSL_CTX *tls_ctx;
static uint32_t next_reqid = 1;
static bool stopping;

SSL_CTX *smtp_server_tls(void)
{
	return tls_ctx;
}

static unsigned ip_hash(const char *ip)
{
	unsigned h = 5381;

	for (; *ip; ip++)
		h = h * 33 + (unsigned char)*ip;
	return h % IP_BUCKETS;
}

static struct ip_count **ip_find(const char *ip)
{
	struct ip_count **p = &ip_counts[ip_hash(ip)];

	while (*p != NULL && strcmp((*p)->ip, ip) != 0)
		p = &(*p)->next;
	return p;
}

bool smtp_server_relay_allowed(const struct smtp_session *s)
{
	struct netaddr_cidr net;

	if (s->authenticated)	/* RFC 6409 §4.1 */
		return true;
	if (s->service == SVC_LOCAL)	/* a local user, as sendmail(1) */
		return true;
	for (size_t i = 0; i < proc_cfg.smtp_relay_networks.n; i++)
		if (netaddr_parse_cidr(proc_cfg.smtp_relay_networks.v[i], &net) == 0 &&
		    netaddr_cidr_match(&net, (const struct sockaddr *)&s->peer))
			return true;
	return false;
}

static void session_link(struct smtp_session *s)
{
	s->prev = NULL;
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
}

/* Refuse a connection over a limit with a 421 and close it. */
static void refuse(int fd, const char *ip, const char *reply, const char *why)
{
	ssize_t r = write(fd, reply, strlen(reply));

	(void)r;
	close(fd);
	log_info("event=refused client=%s reason=\"%s\"", ip, why);
}

/* Start a session for a connection from sa (the real client, after a
 * PROXY header), within the connection limits. */
static void admit(int fd, int service, const struct sockaddr *sa,
		  socklen_t salen)
{
	char ip[64];
	struct ip_count **pc, *c;

	/* local submission: no address, the limit counts per uid */
	if (service == SVC_LOCAL)
		smtp_local_key(fd, ip, sizeof(ip));
	else
		netaddr_ip_string(sa, ip, sizeof(ip));
	if (stopping) {
		refuse(fd, ip, "421 4.3.2 Service shutting down\r\n", "shutdown");
		return;
	}
	if (nsessions >= proc_cfg.smtp_max_connections) {
		refuse(fd, ip, "421 4.3.2 Too many connections, try again later\r\n",
		       "max_connections");
		return;
	}
	pc = ip_find(ip);
	if (*pc != NULL && (*pc)->n >= proc_cfg.smtp_max_connections_per_ip) {
		refuse(fd, ip, "421 4.7.0 Too many connections from your address\r\n",
		       "max_connections_per_ip");
		return;
	}
	if (*pc == NULL) {
		c = xcalloc(1, sizeof(*c));
		snprintf(c->ip, sizeof(c->ip), "%s", ip);
		*pc = c;
	}
	(*pc)->n++;
	nsessions++;
	session_link(smtp_session_start(fd, service, sa, salen));
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	int service = (int)(intptr_t)arg;

	(void)l;
	if (!stopping && service != SVC_LOCAL &&
	    proxy_accept_required(service, sa))
		proxy_accept_read(fd, service, sa, (socklen_t)salen, admit);
	else
		admit(fd, service, sa, (socklen_t)salen);
}

/* Called by smtp_session.c once for every session it registers/frees. */
void smtp_server_session_gone(struct smtp_session *s)
{
	struct ip_count **pc = ip_find(s->ip), *c = *pc;

	if (c != NULL && --c->n == 0) {
		*pc = c->next;
		free(c);
	}
	if (s->prev)
		s->prev->next = s->next;
	else if (sessions == s)
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	nsessions--;
	if (stopping && nsessions == 0)
		proc_exit(0);
}

uint32_t smtp_server_reqid(void)
{
	uint32_t id = next_reqid++;

	if (next_reqid == 0)
		next_reqid = 1;
	return id;
}

uint32_t smtp_server_request(struct smtp_session *s, int peer, uint32_t type,
			     const struct buf *payload, enum smtp_wait wait)
{
	uint32_t id = smtp_server_reqid();

	if (proc_send((enum proc_role)peer, type, id, payload->ptr,
		      payload->len, -1) < 0)
		return 0;
	s->wait = wait;
	s->reqid = id;
	return id;
}

void smtp_server_give_back(const char *qid)
{
	struct buf m = BUF_INIT;

	ipc_w_str(&m, qid);
	proc_send(PROC_QUEUE, MSG_QUEUE_ABORT, 0, m.ptr, m.len, -1);
	buf_free(&m);
}

static struct smtp_session *find_waiting(uint32_t reqid, enum smtp_wait wait)
{
	for (struct smtp_session *s = sessions; s != NULL; s = s->next)
		if (s->wait == wait && s->reqid == reqid)
			return s;
	return NULL;
}

static void on_rcpt_result(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	struct smtp_session *s = find_waiting(reqid, SMTP_WAIT_RCPT);
	uint32_t status;
	const char *detail;

	ipc_r_init(&r, data, len);
	status = ipc_r_u32(&r);
	detail = ipc_r_str(&r);
	if (ipc_r_end(&r) < 0) {
		log_error("peer=auth event=bad-message type=rcpt-result");
		status = RCPT_TEMPFAIL;
		detail = "";
	}
	if (s != NULL) {
		s->wait = SMTP_WAIT_NONE;
		smtp_cmd_rcpt_result(s, status, detail);
		smtp_session_resume(s);
	}
}

static void on_queue_created(uint32_t reqid, const uint8_t *data, size_t len,
			     int fd)
{
	struct ipc_reader r;
	struct smtp_session *s = find_waiting(reqid, SMTP_WAIT_FILE);
	const char *qid;

	ipc_r_init(&r, data, len);
	qid = ipc_r_str(&r);
	if (ipc_r_end(&r) < 0 || (fd < 0) != (*qid == '\0')) {
		log_error("peer=queue event=bad-message type=created");
		if (fd >= 0)
			close(fd);
		fd = -1;
		qid = "";
	}
	if (smtp_spares_created(reqid, fd, qid))
		return;
	if (s == NULL) {
		/* The session went away meanwhile: give the file back. */
		if (fd >= 0) {
			close(fd);
			smtp_server_give_back(qid);
		}
		return;
	}
	s->wait = SMTP_WAIT_NONE;
	smtp_msg_file(s, fd, qid);
	smtp_session_resume(s);
}

static void on_queue_committed(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	struct smtp_session *s = find_waiting(reqid, SMTP_WAIT_COMMIT);
	uint32_t ok;
	const char *reason;

	ipc_r_init(&r, data, len);
	ok = ipc_r_u32(&r);
	reason = ipc_r_str(&r);
	if (ipc_r_end(&r) < 0) {
		log_error("peer=queue event=bad-message type=committed");
		ok = 0;
		reason = "bad reply from queue";
	}
	if (s == NULL)
		return;
	s->wait = SMTP_WAIT_NONE;
	smtp_msg_committed(s, ok == 1, reason);
	smtp_session_resume(s);
}

static void on_auth_reply(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct smtp_session *s = find_waiting(reqid, SMTP_WAIT_AUTH);

	if (s == NULL)
		return;
	s->wait = SMTP_WAIT_NONE;
	smtp_auth_reply(s, data, len);
	smtp_session_resume(s);
}

static void on_sender_result(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	struct smtp_session *s = find_waiting(reqid, SMTP_WAIT_SENDER);
	uint32_t status;

	ipc_r_init(&r, data, len);
	status = ipc_r_u32(&r);
	if (ipc_r_end(&r) < 0) {
		log_error("peer=auth event=bad-message type=sender-result");
		status = SENDER_TEMPFAIL;
	}
	if (s == NULL)
		return;
	s->wait = SMTP_WAIT_NONE;
	if (!s->dead)
		smtp_submit_sender_result(s, status);
	smtp_session_resume(s);
}

static void on_msg(enum proc_role from, uint32_t type, uint32_t reqid,
		   const uint8_t *data, size_t len, int fd)
{
	if (from == PROC_AUTH && type == MSG_RCPT_RESULT && fd < 0) {
		on_rcpt_result(reqid, data, len);
		return;
	}
	if (from == PROC_AUTH && type == MSG_AUTH_REPLY && fd < 0) {
		on_auth_reply(reqid, data, len);
		return;
	}
	if (from == PROC_AUTH && type == MSG_SENDER_RESULT && fd < 0) {
		on_sender_result(reqid, data, len);
		return;
	}
	if (from == PROC_QUEUE && type == MSG_QUEUE_CREATED) {
		on_queue_created(reqid, data, len, fd);
		return;
	}
	if (from == PROC_QUEUE && type == MSG_QUEUE_COMMITTED && fd < 0) {
		on_queue_committed(reqid, data, len);
		return;
	}
	log_error("peer=%s event=unexpected-message type=%u",
		  proc_role_name(from), type);
	if (fd >= 0)
		close(fd);
}

/* A peer died: every session waiting on it gets a temporary failure. */
static void on_peer_down(enum proc_role role)
{
	struct smtp_session *s, *next;

	if (role == PROC_QUEUE)
		smtp_spares_queue_down();

	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		if (role == PROC_AUTH && s->wait == SMTP_WAIT_RCPT) {
			s->wait = SMTP_WAIT_NONE;
			smtp_cmd_rcpt_result(s, RCPT_TEMPFAIL, "lookup service restarting");
			smtp_session_resume(s);
		} else if (role == PROC_AUTH && s->wait == SMTP_WAIT_AUTH) {
			s->wait = SMTP_WAIT_NONE;
			smtp_auth_reply(s, NULL, 0);
			smtp_session_resume(s);
		} else if (role == PROC_AUTH && s->wait == SMTP_WAIT_SENDER) {
			s->wait = SMTP_WAIT_NONE;
			if (!s->dead)
				smtp_submit_sender_result(s, SENDER_TEMPFAIL);
			smtp_session_resume(s);
		} else if (role == PROC_QUEUE && s->wait == SMTP_WAIT_FILE) {
			s->wait = SMTP_WAIT_NONE;
			smtp_msg_file(s, -1, "");
			smtp_session_resume(s);
		} else if (role == PROC_QUEUE && s->wait == SMTP_WAIT_COMMIT) {
			s->wait = SMTP_WAIT_NONE;
			smtp_msg_committed(s, false, "queue restarting");
			smtp_session_resume(s);
		} else if (role == PROC_QUEUE && s->msg_fd >= 0) {
			/* the file we write belongs to a dead queue process */
			s->write_failed = true;
		}
	}
}

static void on_listener(int service, int fd, const char *address)
{
	struct evconnlistener *l;

	if (service != SVC_SMTP && service != SVC_SUBMISSION &&
	    service != SVC_SUBMISSIONS && service != SVC_LOCAL) {
		/* main binds only what this version serves */
		log_error("service=%s address=%s event=unexpected-listener",
			  config_service_name(service), address);
		close(fd);
		return;
	}
	if (nlisteners == MAX_LISTENERS) {
		close(fd);
		return;
	}
	l = evconnlistener_new(proc_base, on_accept, (void *)(intptr_t)service,
			       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
			       fd);
	if (l == NULL) {
		close(fd);
		return;
	}
	evconnlistener_disable(l);
	listeners[nlisteners++] = l;
	log_info("event=listening address=%s service=%s", address,
		 config_service_name(service));
}

static void on_start(void)
{
	proc_tls_load(&tls_ctx, "STARTTLS disabled");
	smtp_checks_setup();
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]);
	log_info("event=ready sessions_max=%llu",
		 (unsigned long long)proc_cfg.smtp_max_connections);
}

static void on_reload(void)
{
	proc_tls_load(&tls_ctx, "STARTTLS disabled");
	smtp_checks_setup();
	log_info("event=reloaded");
}

static void on_abort_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	log_warn("event=shutdown sessions=%u action=abort", nsessions);
	proc_exit(0);
}

static void on_shutdown(void)
{
	struct timeval tv = { SHUTDOWN_ABORT, 0 };
	struct smtp_session *s, *next;

	stopping = true;
	smtp_spares_release();
	proxy_accept_drop_all();
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i]);
	nlisteners = 0;
	if (nsessions == 0)
		proc_exit(0);
	event_base_once(proc_base, -1, EV_TIMEOUT, on_abort_timer, NULL, &tv);
	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		smtp_session_shutdown(s);
	}
}

static const struct proc_hooks hooks = {
	.msg = on_msg,
	.peer_down = on_peer_down,
	.listener = on_listener,
	.start = on_start,
	.reload = on_reload,
	.shutdown = on_shutdown,
};

int smtp_server_main(const char *config_path)
{
	return proc_child_main(PROC_SMTP, config_path, &hooks);
}
