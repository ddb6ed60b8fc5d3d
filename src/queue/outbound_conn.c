/* outbound_conn: one job's way to the peer — MX (or relay host)
 * resolution through dns.c and mx.c, a non-blocking connection with
 * libevent, STARTTLS or implicit TLS, and the smtp_client engine driven
 * until the transaction's results are known. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "queue/outbound_dkim.h"
#include "queue/outbound_int.h"

/* Message bytes queued to a connection before waiting for it to drain. */
#define OUTBOUND_WRITE_AHEAD (256 * 1024)
#define OUTBOUND_READ_CHUNK (64 * 1024)
/* Connect (and TLS handshake) time limit, seconds. */
#define OUTBOUND_CONNECT_TIMEOUT 30

static void job_step(struct job *j);
static void try_next_target(struct job *j);
static int open_message(struct job *j);

void outbound_conn_close(struct job *j)
{
	if (j->bev != NULL)
		bufferevent_free(j->bev);	/* frees the SSL (close-on-free) */
	j->bev = NULL;
	j->ssl = NULL;
	smtp_client_free(j->c);
	j->c = NULL;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}


/* Connections that said QUIT after their transaction, until the answer
 * (or a short timeout): the job is gone already. */
struct quit_wait {
	struct quit_wait *next;
	struct bufferevent *bev;
};
static struct quit_wait *lingering;
#define OUTBOUND_QUIT_WAIT 10

static void linger_end(struct bufferevent *bev)
{
	for (struct quit_wait **p = &lingering; *p != NULL; p = &(*p)->next)
		if ((*p)->bev == bev) {
			struct quit_wait *l = *p;
			*p = l->next;
			free(l);
			break;
		}
	bufferevent_free(bev);
}

static void linger_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	linger_end(bev);
}

static void linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what; (void)arg;
	linger_end(bev);
}

void outbound_conn_shutdown(void)
{
	while (lingering != NULL)
		linger_end(lingering->bev);
}

/* Hand the connection over to wait for the QUIT reply. */
static void conn_linger(struct job *j)
{
	struct quit_wait *l = xcalloc(1, sizeof(*l));
	struct timeval tv = { OUTBOUND_QUIT_WAIT, 0 };

	l->bev = j->bev;
	l->next = lingering;
	lingering = l;
	evbuffer_drain(bufferevent_get_input(j->bev),
		       evbuffer_get_length(bufferevent_get_input(j->bev)));
	bufferevent_setcb(j->bev, linger_read, NULL, linger_event, NULL);
	bufferevent_set_timeouts(j->bev, &tv, &tv);
	j->bev = NULL;
	j->ssl = NULL;
}

static void flush_output(struct job *j)
{
	struct buf *out = smtp_client_output(j->c);

	if (out->len > 0) {
		bufferevent_write(j->bev, out->ptr, out->len);
		buf_reset(out);
	}
}

static void set_timeout(struct job *j, unsigned seconds)
{
	struct timeval tv = { seconds, 0 };

	bufferevent_set_timeouts(j->bev, seconds ? &tv : NULL, seconds ? &tv : NULL);
}

/* Feed the queue file while the connection keeps up. */
static void feed_data(struct job *j)
{
	char chunk[OUTBOUND_READ_CHUNK];

	if (!j->dkim_fed) {
		j->dkim_fed = true;
		smtp_client_data(j->c, j->dkim.ptr, j->dkim.len);
		flush_output(j);
	}
	/* the engine may wait for a BDAT reply in between (no PIPELINING) */
	while (!j->data_eof && smtp_client_state(j->c) == SMTP_CLIENT_DATA &&
	       evbuffer_get_length(bufferevent_get_output(j->bev)) <
	       OUTBOUND_WRITE_AHEAD) {
		ssize_t n = read(j->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			smtp_client_abort(j->c, "4.3.0 cannot read the queue file");
			return;
		}
		if (n == 0) {
			j->data_eof = true;
			smtp_client_data_end(j->c);
			return;
		}
		smtp_client_data(j->c, chunk, (size_t)n);
		flush_output(j);
	}
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* Put TLS over the connection (STARTTLS, or implicit TLS to the relay). */
static int start_tls(struct job *j)
{
	const char *sni = j->targets.t[j->next_target - 1].host->name;
	struct bufferevent *tb = NULL;

	j->ssl = SSL_new(outbound_tls_ctx);
	if (j->ssl != NULL && SSL_set_tlsext_host_name(j->ssl, sni) == 1 &&
	    outbound_tls_verify_setup(j, j->ssl) == 0)	/* DANE, MTA-STS */
		tb = bufferevent_openssl_filter_new(proc_base, j->bev, j->ssl,
						    BUFFEREVENT_SSL_CONNECTING,
						    BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(j->ssl);
		j->ssl = NULL;
		return -1;
	}
	j->bev = tb;
	j->handshaking = true;
	bufferevent_setcb(tb, on_read, on_write, on_event, j);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	set_timeout(j, OUTBOUND_CONNECT_TIMEOUT);
	return 0;
}

static void session_failed(struct job *j)
{
	bool perm = false;
	const char *e = smtp_client_error(j->c, &perm);

	buf_reset(&j->last_error);
	buf_printf(&j->last_error, "%s: %s", j->relay, *e ? e : "session closed");
	j->last_perm = perm;
	outbound_conn_close(j);
	try_next_target(j);
}

/* Start j's message on the open session (the first, or the next one). */
static void send_message(struct job *j)
{
	j->sent = true;
	j->conn_msgs++;
	smtp_client_send(j->c, &j->msg);
}

/* The transaction ended: record it and, while another message for the
 * same destination waits, send that one over this connection (issue 5
 * item 3; the TLS state and policy of the host apply to it as well). The
 * engine has sent RSET already if the transaction failed half-way. */
static bool next_message(struct job *j)
{
	if (!outbound_results_next(j))
		return false;
	if (open_message(j) < 0)	/* stays due: the next run retries it */
		return false;
	log_debug("queue=%s event=connection-reused relay=%s message=%u",
		 j->qid, j->relay, j->conn_msgs + 1);
	send_message(j);
	return true;
}

/* Act on the engine's state until it waits for the network. */
static void job_step(struct job *j)
{
	for (;;) {
		flush_output(j);
		switch (smtp_client_state(j->c)) {
		case SMTP_CLIENT_BUSY:
			set_timeout(j, smtp_client_timeout(j->c));
			return;
		case SMTP_CLIENT_STARTTLS:
			if (start_tls(j) == 0)
				return;
			smtp_client_tls_failed(j->c, "4.7.5 cannot set up TLS");
			break;
		case SMTP_CLIENT_READY:
			if (!j->sent) {
				if (j->ssl == NULL)
					outbound_mtasts_cleartext(j);
				send_message(j);
			} else {
				smtp_client_quit(j->c);
			}
			break;
		case SMTP_CLIENT_DATA:
			set_timeout(j, SMTP_TIMEOUT_DATA_BLOCK);
			feed_data(j);
			if (smtp_client_state(j->c) == SMTP_CLIENT_DATA)
				return;	/* on_write brings more */
			break;
		case SMTP_CLIENT_MSG_DONE:
			if (next_message(j))
				break;
			flush_output(j);
			smtp_client_quit(j->c);
			flush_output(j);
			conn_linger(j);
			return outbound_job_done(j);
		case SMTP_CLIENT_CLOSED:
			if (j->sent)
				return outbound_results(j);
			return session_failed(j);
		}
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct job *j = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;

	while ((len = evbuffer_get_contiguous_space(in)) > 0 && j->c != NULL &&
	       smtp_client_state(j->c) != SMTP_CLIENT_CLOSED &&
	       smtp_client_state(j->c) != SMTP_CLIENT_STARTTLS) {
		smtp_client_input(j->c, (const char *)evbuffer_pullup(in, (ssize_t)len),
				  len);
		evbuffer_drain(in, len);
	}
	/* RFC 3207 §4.2: what came before the TLS handshake is discarded */
	evbuffer_drain(in, evbuffer_get_length(in));
	job_step(j);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct job *j = arg;

	(void)bev;
	if (j->c != NULL && smtp_client_state(j->c) == SMTP_CLIENT_DATA)
		job_step(j);
}

static void session_start(struct job *j)
{
	struct smtp_client_params p;
	bool relay = *j->domain == '\0';

	memset(&p, 0, sizeof(p));
	p.helo_name = proc_cfg.hostname;
	p.tls = SMTP_CLIENT_TLS_MAY;
	if (j->tls_required)		/* DANE or MTA-STS: no cleartext */
		p.tls = SMTP_CLIENT_TLS_MUST;
	if (relay && proc_cfg.relay_tls == RELAY_TLS_NONE)
		p.tls = SMTP_CLIENT_TLS_NONE;
	else if (relay && proc_cfg.relay_tls == RELAY_TLS_STARTTLS)
		p.tls = SMTP_CLIENT_TLS_MUST;
	p.tls_active = j->ssl != NULL;
	if (relay && outbound_relay_password != NULL) {
		p.auth_user = proc_cfg.relay_user;
		p.auth_pass = outbound_relay_password;
		p.auth_without_tls = proc_cfg.relay_tls == RELAY_TLS_NONE;
	}
	j->c = smtp_client_new(&p);
	set_timeout(j, smtp_client_timeout(j->c));
}

/* The peer failed the TLS policy: it gets nothing, the next host is tried. */
static void tls_refused(struct job *j, const char *why)
{
	if (j->c != NULL) {
		smtp_client_tls_failed(j->c, why);
		return job_step(j);
	}
	buf_reset(&j->last_error);	/* implicit TLS: no session yet */
	buf_printf(&j->last_error, "%s: %s", j->relay, why);
	j->last_perm = false;
	outbound_conn_close(j);
	try_next_target(j);
}

static void tls_done(struct job *j)
{
	struct buf why = BUF_INIT;

	j->handshaking = false;
	snprintf(j->tls, sizeof(j->tls), "%s", SSL_get_version(j->ssl));
	/* the TLS policy (outbound_dane.c): DANE, MTA-STS verification */
	if (!outbound_tls_verified(j, j->ssl, &why)) {
		tls_refused(j, buf_cstr(&why));
		buf_free(&why);
		return;
	}
	buf_free(&why);
	if (j->c == NULL) {		/* implicit TLS: the session starts now */
		session_start(j);
		return;
	}
	smtp_client_tls_started(j->c);
	job_step(j);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct job *j = arg;
	char why[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (j->handshaking)
			return tls_done(j);
		if (*j->domain != '\0' || proc_cfg.relay_tls != RELAY_TLS_IMPLICIT)
			return session_start(j);
		if (start_tls(j) == 0)
			return;
		what = BEV_EVENT_ERROR;
		j->handshaking = true;
	}
	snprintf(why, sizeof(why), "4.4.2 %s%s",
		 what & BEV_EVENT_TIMEOUT ? "timeout" :
		 what & BEV_EVENT_EOF ? "connection closed by the server" :
		 j->handshaking ? "TLS handshake failed" : "connection failed: ",
		 (what & (BEV_EVENT_TIMEOUT | BEV_EVENT_EOF)) || j->handshaking ?
		 "" : strerror(EVUTIL_SOCKET_ERROR()));
	if (j->c == NULL) {		/* never got a session */
		buf_reset(&j->last_error);
		buf_printf(&j->last_error, "%s: %s", j->relay, why);
		j->last_perm = false;
		outbound_conn_close(j);
		return try_next_target(j);
	}
	if (j->handshaking)
		smtp_client_tls_failed(j->c, why);
	else
		smtp_client_abort(j->c, why);
	job_step(j);
}

static int sockaddr_of(const char *addr, int family, uint16_t port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return inet_pton(AF_INET, addr, &s4->sin_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	*len = sizeof(*s6);
	return inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1 ? 0 : -1;
}

/* [outbound] bind_address_v4/v6: the source address, when set. */
static int bind_source(int fd, int family, const char **error_r)
{
	const char *src = family == AF_INET ? proc_cfg.outbound_bind_v4 :
			  proc_cfg.outbound_bind_v6;
	struct sockaddr_storage ss;
	socklen_t len;

	if (*src == '\0')
		return 0;
	if (sockaddr_of(src, family, 0, &ss, &len) < 0) {
		*error_r = "bad [outbound] bind address";
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

/* Our users' mail is signed once per job (the same fields every time). */
static void job_sign(struct job *j)
{
	const char *why = NULL;
	char domain[256];

	if (j->signed_once || *j->meta.auth_user == '\0' || j->fd < 0)
		return;
	j->signed_once = true;
	if (outbound_dkim_sign(j->fd, j->meta.created, &j->dkim, domain, &why) < 0) {
		log_error("queue=%s event=dkim-sign status=failed reason=\"%s\" "
			  "action=\"sent unsigned\"", j->qid, why);
		buf_reset(&j->dkim);
	} else if (*domain != '\0') {
		log_info("queue=%s event=dkim-sign status=ok d=%s", j->qid, domain);
	}
	j->msg.size += j->dkim.len;
}

/* Open j's queue file for sending (and sign it): 0, or -1 (fd -1). */
static int open_message(struct job *j)
{
	j->fd = spool_open_message(outbound_spool, j->qid, j->meta.trace_len);
	job_sign(j);
	return j->fd >= 0 ? 0 : -1;
}

static int connect_to(struct job *j, const struct mx_target *t)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *why = "bad address";
	int fd = -1;

	snprintf(j->relay, sizeof(j->relay), "%s[%s]:%u", t->host->name, t->addr,
		 j->port);
	str_copy(j->host, sizeof(j->host), t->host->name);
	*j->tls = '\0';
	j->sent = j->data_eof = j->handshaking = j->dkim_fed = false;
	j->conn_msgs = 0;
	if (outbound_tls_policy(j, t) < 0)	/* DANE: TLSA lookup failed */
		return -1;
	if (sockaddr_of(t->addr, t->family, j->port, &ss, &len) == 0) {
		fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		why = fd < 0 ? strerror(errno) : NULL;
	}
	if (fd >= 0 && bind_source(fd, t->family, &why) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		open_message(j);
		j->bev = bufferevent_socket_new(proc_base, fd, BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(j->bev, on_read, on_write, on_event, j);
		bufferevent_enable(j->bev, EV_READ | EV_WRITE);
		set_timeout(j, OUTBOUND_CONNECT_TIMEOUT);
		if (j->fd >= 0 &&
		    bufferevent_socket_connect(j->bev, (struct sockaddr *)&ss,
					       (int)len) == 0)
			return 0;
		why = j->fd < 0 ? "cannot open the queue file" : strerror(errno);
		outbound_conn_close(j);
	}
	buf_reset(&j->last_error);
	buf_printf(&j->last_error, "%s: 4.4.1 %s", j->relay, why);
	return -1;
}

/* RFC 5321 §5.1: try the addresses in order until one takes the mail. */
static void try_next_target(struct job *j)
{
	while (!outbound_stopping && j->next_target < j->targets.n) {
		if (connect_to(j, &j->targets.t[j->next_target++]) == 0)
			return;
	}
	*j->relay = '\0';
	if (!outbound_stopping)
		outbound_fail_all(j, j->last_perm, j->last_perm ? "5.0.0" : "4.4.1",
			     j->last_error.len ? buf_cstr(&j->last_error) :
			     "4.4.1 no host could be reached");
}

/* --- resolution --- */

static void answer_copy(struct dnsq_answer *to, const struct dnsq_answer *a)
{
	to->rcode = a->rcode;
	to->n = a->n;
	to->rr = xcalloc(a->n ? a->n : 1, sizeof(*to->rr));
	to->rr_len = NULL;
	to->canon = a->canon != NULL ? xstrdup(a->canon) : NULL;
	for (size_t i = 0; i < a->n; i++)
		to->rr[i] = a->rr_len ? xstrndup(a->rr[i], a->rr_len[i]) :
			    xstrdup(a->rr[i]);
}

static void mx_opts(struct mx_options *o)
{
	static const enum mx_family fam[] = {
		MX_FAMILY_ANY_V6_FIRST, MX_FAMILY_ANY_V4_FIRST,
		MX_FAMILY_V4_ONLY, MX_FAMILY_V6_ONLY,
	};

	memset(o, 0, sizeof(*o));
	o->family = fam[proc_cfg.outbound_ip_version & 3];
	o->self = proc_cfg.hostname;
}

/* The destination cannot be reached as resolved (no MX, null MX, no
 * address ...): every recipient gets that verdict. true when so. */
static bool mx_failed(struct job *j, enum mx_status s, const char *status,
		      const char *why)
{
	struct buf t = BUF_INIT;

	if (s == MX_OK)
		return false;
	buf_printf(&t, "%s %s", status, why);
	outbound_fail_all(j, s == MX_PERMFAIL, status, buf_cstr(&t));
	buf_free(&t);
	return true;
}

static void addrs_done(struct job *j)
{
	struct mx_options o;
	const char *status = NULL, *why = NULL;
	enum mx_status s;

	mx_opts(&o);
	mx_targets_init(&j->targets, &o);
	for (size_t i = 0; i < j->mx.n; i++)
		mx_targets_add(&j->targets, &j->mx.hosts[i], &j->addrs[2 * i],
			       &j->addrs[2 * i + 1], &o);
	s = mx_targets_finish(&j->targets, &status, &why);
	if (mx_failed(j, s, status, why))
		return;
	outbound_dane_lookup(j, try_next_target);	/* TLSA, then connect */
}

static void on_addr(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct addr_q *q = arg;
	struct job *j = q->j;

	outbound_dane_addr_secure(j, q->slot, secure);	/* RFC 7672 §2.2 */
	answer_copy(&j->addrs[q->slot], a);
	if (--j->dns_pending == 0)
		addrs_done(j);
}

static bool family_wanted(int type)
{
	int v = proc_cfg.outbound_ip_version;

	return type == DNSQ_A ? v != OUTBOUND_IP_V6_ONLY : v != OUTBOUND_IP_V4_ONLY;
}

/* A and AAAA of every MX host, all at once. */
static void resolve_hosts(struct job *j)
{
	j->addrs = xcalloc(2 * j->mx.n, sizeof(*j->addrs));
	j->aqs = xcalloc(2 * j->mx.n, sizeof(*j->aqs));
	for (size_t i = 0; i < 2 * j->mx.n; i++) {
		struct dnsq q = { i % 2 ? DNSQ_AAAA : DNSQ_A, "" };
		struct addr_q *aq;
		uint64_t id;
		j->addrs[i].rcode = DNSQ_NODATA;
		if (!family_wanted(q.type))
			continue;
		str_copy(q.name, sizeof(q.name), j->mx.hosts[i / 2].name);
		aq = &j->aqs[i];
		*aq = (struct addr_q){ j, i };
		j->dns_pending++;
		if (outbound_resolver() == NULL ||
		    dns_query(outbound_resolver(), &q, on_addr, aq, &id) < 0) {
			j->dns_pending--;
			j->addrs[i].rcode = DNSQ_TEMPFAIL;
		}
	}
	if (j->dns_pending == 0)
		addrs_done(j);
}

static void on_mx(void *arg, const struct dnsq_answer *a, bool secure)
{
	struct job *j = arg;
	struct mx_options o;
	const char *status = NULL, *why = NULL;
	enum mx_status s;

	j->mx_secure = secure;		/* DANE: RFC 7672 §2.2.1 */
	mx_opts(&o);
	s = mx_list_build(j->domain, a, &o, &j->mx, &status, &why);
	if (mx_failed(j, s, status, why))
		return;
	if (outbound_mtasts_filter_mx(j) < 0)	/* MTA-STS: RFC 8461 §4.1 */
		return;
	resolve_hosts(j);
}

/* The relay host: an address literal, or a name whose A/AAAA are asked. */
static void resolve_relay(struct job *j)
{
	struct mx_options o;
	struct in6_addr a6;
	bool v6 = inet_pton(AF_INET6, proc_cfg.relay_host, &a6) == 1;

	j->port = (uint16_t)proc_cfg.relay_port;
	j->mx.hosts = xcalloc(1, sizeof(*j->mx.hosts));
	j->mx.n = 1;
	str_copy(j->mx.hosts[0].name, sizeof(j->mx.hosts[0].name),
		 proc_cfg.relay_host);
	j->mx.hosts[0].implicit = true;
	if (!v6 && inet_pton(AF_INET, proc_cfg.relay_host, &a6) != 1)
		return resolve_hosts(j);
	mx_opts(&o);
	mx_targets_init(&j->targets, &o);
	j->targets.t = xcalloc(1, sizeof(*j->targets.t));
	j->targets.n = 1;
	j->targets.t[0].host = &j->mx.hosts[0];
	j->targets.t[0].family = v6 ? AF_INET6 : AF_INET;
	str_copy(j->targets.t[0].addr, MX_ADDR_MAX, proc_cfg.relay_host);
	try_next_target(j);
}

static void query_mx(struct job *j)
{
	struct dnsq q = { DNSQ_MX, "" };
	uint64_t id;

	str_copy(q.name, sizeof(q.name), j->domain);
	if (outbound_resolver() == NULL ||
	    dns_query(outbound_resolver(), &q, on_mx, j, &id) < 0)
		outbound_fail_all(j, false, "4.4.3", "4.4.3 DNS resolver unavailable");
}

void outbound_conn_start(struct job *j)
{
	if (*j->domain == '\0')
		return resolve_relay(j);
	j->port = (uint16_t)proc_cfg.outbound_port;
	/* MTA-STS (RFC 8461 §5.1, outbound_mtasts.c): the policy, then MX */
	outbound_mtasts_lookup(j, query_mx);
}

