/* pop3_session: connection, input framing and lifecycle of POP3 sessions
 * (RFC 1939 §3; RFC 8314 implicit TLS on port 995). */
#include "pop3/pop3_private.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proc.h"
#include "imap/imap_server.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/str.h"
#include "lib/xalloc.h"

static struct pop3_session *sessions;

static void on_input(void *ctx);
static void on_drained(void *ctx);
static void on_closed(void *ctx, const char *why);

static const struct conn_ops ops = {
	.input = on_input,
	.drained = on_drained,
	.closed = on_closed,
};

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	if (strncmp(buf_cstr(&line), "-ERR", 4) == 0)
		log_info("session=%s event=command-failed reply=\"%s\"", s->id,
			 buf_cstr(&line));
	buf_append(&line, "\r\n", 2);
	conn_write(s->conn, line.ptr, line.len);
	buf_free(&line);
}

void pop3_write(struct pop3_session *s, const void *data, size_t len)
{
	conn_write(s->conn, data, len);
}

bool pop3_output_full(struct pop3_session *s)
{
	return conn_output_pending(s->conn) >= POP3_OUTPUT_HIGH;
}

bool pop3_plaintext_ok(const struct pop3_session *s)
{
	return s->tls || (s->loopback && proc_cfg.imap_plaintext_loopback);
}

void pop3_session_set_timeout(struct pop3_session *s)
{
	uint64_t rd = proc_cfg.imap_login_timeout;

	if (s->state != POP3_ST_AUTHORIZATION) {
		rd = proc_cfg.imap_idle_timeout;
		if (rd < POP3_MIN_IDLE_TIMEOUT)
			rd = POP3_MIN_IDLE_TIMEOUT;	/* RFC 1939 §3 */
	}
	conn_set_timeouts(s->conn, (unsigned)rd, POP3_WRITE_TIMEOUT);
}

static void link_session(struct pop3_session *s)
{
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
}

static void unlink_session(struct pop3_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
}

void pop3_session_start(int fd, int service, const struct sockaddr *sa,
			socklen_t salen)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	SSL_CTX *tls = service == SVC_POP3S ? imap_server_tls() : NULL;

	(void)salen;
	str_random_hex(s->id, sizeof(s->id));
	s->service = service;
	netaddr_ip_string(sa, s->ip, sizeof(s->ip));
	s->port = netaddr_port(sa);
	s->loopback = netaddr_is_loopback(sa);
	s->tls = tls != NULL;
	s->conn_id = imap_server_conn_id();
	s->job.fd = -1;
	pop3_line_init(&s->line, POP3_LINE_MAX);
	s->conn = conn_new(proc_base, fd, tls, &ops, s);
	link_session(s);
	pop3_session_set_timeout(s);
	log_info("session=%s event=connect client=%s port=%u service=%s", s->id,
		 s->ip, s->port, config_service_name(service));
	if (service == SVC_POP3S && tls == NULL) {
		pop3_session_close(s, "no TLS certificate for pop3s");
		return;
	}
	/* RFC 1939 §4 greeting; no APOP timestamp: APOP is not offered */
	pop3_reply(s, "+OK %s mailkeep POP3 ready", proc_cfg.hostname);
}

static void session_free(struct pop3_session *s)
{
	char ip[sizeof(s->ip)];

	log_info("session=%s event=disconnect client=%s user=%s commands=%u "
		 "retrieved=%u", s->id, s->ip, s->user ? s->user : "-",
		 s->commands, s->retrieved);
	pop3_login_end(s);
	pop3_job_end(s);
	pop3_maildrop_close(s);	/* no QUIT: nothing is deleted */
	pop3_line_free(&s->line);
	conn_free(s->conn);
	free(s->user);
	unlink_session(s);
	memcpy(ip, s->ip, sizeof(ip));
	free(s);
	imap_server_conn_closed(ip);	/* may exit when shutting down */
}

void pop3_session_close(struct pop3_session *s, const char *why)
{
	if (s->closing)
		return;
	s->closing = true;
	if (why != NULL)
		log_info("session=%s event=close reason=\"%s\"", s->id, why);
	conn_close(s->conn);
}

/* Feed one contiguous piece of input to the line reader; false when
 * there is nothing more to read. */
static bool feed_line(struct pop3_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	struct evbuffer_iovec v;
	enum pop3_line_status st;
	size_t used = 0, len;
	char *text;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return false;
	st = pop3_line_feed(&s->line, v.iov_base, v.iov_len, &used);
	evbuffer_drain(in, used);
	if (st == POP3_LINE_MORE)
		return true;
	if (s->mode == POP3_MODE_SASL) {
		if (st == POP3_LINE_TOO_LONG)
			pop3_login_sasl_fail(s, "response too long");
		else {
			text = pop3_line_text(&s->line, &len);
			pop3_login_sasl_line(s, text, len);
		}
		return true;
	}
	s->commands++;
	if (st == POP3_LINE_TOO_LONG) {
		/* RFC 2449 §4: 255 octets; the line was skipped */
		pop3_cmd_bad(s, "line too long");
		return true;
	}
	text = pop3_line_text(&s->line, &len);
	pop3_cmd_run(s, text, len);
	return true;
}

/* STLS was answered and the handshake has not started yet: input that
 * is buffered now is plaintext sent early and must not be run. */
static bool tls_pending(struct pop3_session *s)
{
	return s->tls && conn_ssl(s->conn) == NULL;
}

static void shutdown_now(struct pop3_session *s)
{
	/* RFC 2449 §8.1.2 [SYS/TEMP]: a temporary server problem */
	pop3_reply(s, "-ERR [SYS/TEMP] server shutting down");
	pop3_session_close(s, "shutdown");
}

/* Can the session take the next input line now? */
static bool ready_for_input(struct pop3_session *s)
{
	return !s->closing && s->mode != POP3_MODE_WAIT &&
	       s->job.kind == POP3_JOB_NONE && !pop3_output_full(s) &&
	       !tls_pending(s);
}

/* Work through buffered input until it runs out or the session waits. */
static void process(struct pop3_session *s)
{
	while (!s->closing && !conn_closing(s->conn)) {
		if (s->job.kind != POP3_JOB_NONE) {
			if (pop3_output_full(s))
				break;		/* on_drained goes on */
			pop3_job_step(s);
			continue;
		}
		if (s->stopping && s->mode != POP3_MODE_WAIT) {
			shutdown_now(s);
			break;
		}
		if (!ready_for_input(s) || !feed_line(s))
			break;
	}
	/* read only what can be run: input does not pile up meanwhile (but
	 * across STLS the conn itself reads again once TLS is set up) */
	if (tls_pending(s))
		return;
	if (ready_for_input(s))
		conn_resume(s->conn);
	else if (!s->closing)
		conn_pause(s->conn);
}

void pop3_session_resume(struct pop3_session *s)
{
	process(s);
}

static void on_input(void *ctx)
{
	process(ctx);
}

static void on_drained(void *ctx)
{
	process(ctx);
}

static void on_closed(void *ctx, const char *why)
{
	struct pop3_session *s = ctx;

	if (why != NULL)
		log_info("session=%s event=closed reason=\"%s\"", s->id, why);
	session_free(s);
}

void pop3_session_shutdown_all(void)
{
	struct pop3_session *s, *next;

	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		if (s->closing)
			continue;
		s->stopping = true;
		if (s->mode == POP3_MODE_WAIT)
			pop3_login_end(s);	/* the answer is not waited for */
		if (s->job.kind == POP3_JOB_NONE)
			shutdown_now(s);
		/* else: after the response in progress (process) */
	}
}
