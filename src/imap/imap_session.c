/* imap_session: connection, input framing and lifecycle of IMAP sessions. */
#include "imap/imap_session.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proc.h"
#include "imap/imap_view.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#define IMAP_OUTPUT_HIGH (256 * 1024)	/* stop producing above this */
#define IMAP_SASL_LINE_MAX 16384	/* one AUTHENTICATE response line */
#define IMAP_IDLE_LINE_MAX 64		/* "DONE" with room to spare */
#define IMAP_MAX_BAD 20			/* bad commands before BYE */

static struct imap_session *sessions;

static void on_input(void *ctx);
static void on_drained(void *ctx);
static void on_closed(void *ctx, const char *why);

static const struct conn_ops ops = {
	.input = on_input,
	.drained = on_drained,
	.closed = on_closed,
};

void imap_printf(struct imap_session *s, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	buf_append(&line, "\r\n", 2);
	conn_write(s->conn, line.ptr, line.len);
	buf_free(&line);
}

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	conn_write(s->conn, data, len);
}

void imap_tagged(struct imap_session *s, const char *tag, const char *status,
		 const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;

	buf_printf(&line, "%s %s ", tag, status);
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	if (strcmp(status, "OK") != 0)
		log_info("session=%s event=command-failed reply=\"%s\"", s->id,
			 buf_cstr(&line));
	buf_append(&line, "\r\n", 2);
	conn_write(s->conn, line.ptr, line.len);
	buf_free(&line);
}

bool imap_session_output_full(struct imap_session *s)
{
	return conn_output_pending(s->conn) >= IMAP_OUTPUT_HIGH;
}

bool imap_session_plaintext_ok(const struct imap_session *s)
{
	return s->tls || (s->loopback && proc_cfg.imap_plaintext_loopback);
}

void imap_session_set_timeout(struct imap_session *s)
{
	unsigned rd = (unsigned)(s->state == IMAP_ST_NOAUTH ?
				 proc_cfg.imap_login_timeout :
				 proc_cfg.imap_idle_timeout);

	conn_set_timeouts(s->conn, rd, 300);
}

static void link_session(struct imap_session *s)
{
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
}

static void unlink_session(struct imap_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
}

void imap_session_start(int fd, int service, const struct sockaddr *sa,
			socklen_t salen)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	struct buf caps = BUF_INIT;
	SSL_CTX *tls = service == SVC_IMAPS ? imap_server_tls() : NULL;

	(void)salen;
	str_random_hex(s->id, sizeof(s->id));
	s->service = service;
	netaddr_ip_string(sa, s->ip, sizeof(s->ip));
	s->port = netaddr_port(sa);
	s->loopback = netaddr_is_loopback(sa);
	s->tls = tls != NULL;
	s->conn_id = imap_server_conn_id();
	s->parser = imap_parser_new(&imap_parser_limits_preauth, true);
	s->conn = conn_new(proc_base, fd, tls, &ops, s);
	link_session(s);
	imap_session_set_timeout(s);
	log_info("session=%s event=connect client=%s port=%u service=%s", s->id,
		 s->ip, s->port, config_service_name(service));
	if (service == SVC_IMAPS && tls == NULL) {
		imap_session_close(s, "no TLS certificate for imaps");
		return;
	}
	imap_capabilities(s, &caps);
	imap_printf(s, "* OK [CAPABILITY %s] %s mailkeep IMAP ready",
		    buf_cstr(&caps), proc_cfg.hostname);
	buf_free(&caps);
}

static void session_free(struct imap_session *s)
{
	char ip[64];

	log_info("session=%s event=disconnect client=%s user=%s commands=%u",
		 s->id, s->ip, s->user ? s->user : "-", s->commands);
	if (s->mode == IMAP_MODE_WAIT)
		imap_server_auth_forget(s->reqid);
	imap_cmd_session_end(s);
	imap_view_close(s);
	imap_seqset_free(&s->kept_recent);
	imap_account_leave(s);
	imap_parser_free(s->parser);
	conn_free(s->conn);
	free(s->saved);
	free(s->user);
	unlink_session(s);
	str_copy(ip, sizeof(ip), s->ip);
	free(s);
	imap_server_conn_closed(ip);	/* may exit the process at shutdown */
}

void imap_session_close(struct imap_session *s, const char *why)
{
	if (s->closing)
		return;
	s->closing = true;
	if (why != NULL)
		log_info("session=%s event=close reason=\"%s\"", s->id, why);
	conn_close(s->conn);
}

/* One line (AUTHENTICATE response, IDLE's DONE) out of the input: 1 got
 * it (NUL-terminated, without CRLF, in *line_r, to be freed), 0 not yet,
 * -1 too long (the session was closed). */
static int take_line(struct imap_session *s, size_t max, char **line_r)
{
	struct evbuffer *in = conn_input(s->conn);
	size_t eol_len = 0;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len,
						      EVBUFFER_EOL_CRLF);
	char *line;

	if (eol.pos < 0 ? evbuffer_get_length(in) > max : (size_t)eol.pos > max) {
		imap_printf(s, "* BYE line too long");
		imap_session_close(s, "line too long");
		return -1;
	}
	if (eol.pos < 0)
		return 0;
	line = xmalloc((size_t)eol.pos + 1);
	evbuffer_remove(in, line, (size_t)eol.pos);
	line[eol.pos] = '\0';
	evbuffer_drain(in, eol_len);
	*line_r = line;
	return 1;
}

static void parse_error(struct imap_session *s)
{
	struct buf reply = BUF_INIT;
	const char *why;
	bool fatal;

	imap_parser_error(s->parser, &why, &fatal);
	imap_parser_error_reply(s->parser, &reply);
	conn_write(s->conn, reply.ptr, reply.len);
	log_info("session=%s event=bad-input reason=\"%s\"", s->id, why);
	buf_free(&reply);
	imap_cmd_append_abort(s);
	if (fatal || ++s->bad_commands >= IMAP_MAX_BAD)
		imap_session_close(s, fatal ? why : "too many bad commands");
	imap_parser_next(s->parser);
}

/* Feed one contiguous piece of input to the parser; false to stop. */
static bool feed_command(struct imap_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	struct evbuffer_iovec v;
	size_t used = 0;
	enum imap_parse_status st;

	if (evbuffer_get_length(in) == 0 || evbuffer_peek(in, -1, NULL, &v, 1) < 1 ||
	    v.iov_len == 0)
		return false;	/* (an empty chain must not count as progress) */
	st = imap_parser_feed(s->parser, v.iov_base, v.iov_len, &used);
	switch (st) {
	case IMAP_PARSE_MORE:
		evbuffer_drain(in, used);
		return true;
	case IMAP_PARSE_CONTINUE:
		evbuffer_drain(in, used);
		imap_printf(s, "+ Ready for literal data");
		return true;
	case IMAP_PARSE_CHUNK: {
		const void *data;
		size_t len;
		imap_parser_chunk(s->parser, &data, &len);
		imap_cmd_append_chunk(s, data, len);
		evbuffer_drain(in, used);
		return true;
	}
	case IMAP_PARSE_DONE:
		evbuffer_drain(in, used);
		s->commands++;
		imap_cmd_run(s, imap_parser_command(s->parser));
		imap_parser_next(s->parser);
		return true;
	case IMAP_PARSE_ERROR:
		evbuffer_drain(in, used);
		parse_error(s);
		return true;
	}
	return false;
}

static bool idle_input(struct imap_session *s)
{
	char *line = NULL;
	int r = take_line(s, IMAP_IDLE_LINE_MAX, &line);

	if (r <= 0)
		return false;
	imap_cmd_idle_end(s, str_ieq(line, "DONE"));
	free(line);
	return true;
}

static bool sasl_input(struct imap_session *s)
{
	char *line = NULL;
	int r = take_line(s, IMAP_SASL_LINE_MAX, &line);

	if (r <= 0)
		return false;
	imap_cmd_sasl_line(s, line, strlen(line));
	free(line);
	return true;
}

/* Work through buffered input until it runs out or the session waits. */
static void process(struct imap_session *s)
{
	while (!s->closing && !conn_closing(s->conn) &&
	       !conn_starttls_pending(s->conn)) {
		bool progress;

		if (s->job != NULL) {
			if (imap_session_output_full(s))
				return;		/* on_drained goes on */
			imap_cmd_job_step(s);
			continue;
		}
		if (imap_session_output_full(s))
			return;
		switch (s->mode) {
		case IMAP_MODE_COMMAND:
			progress = feed_command(s);
			break;
		case IMAP_MODE_IDLE:
			progress = idle_input(s);
			break;
		case IMAP_MODE_SASL:
			progress = sasl_input(s);
			break;
		default:
			return;		/* waiting for auth */
		}
		if (!progress)
			return;
	}
}

void imap_session_resume(struct imap_session *s)
{
	if (s->dead) {
		session_free(s);
		return;
	}
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
	struct imap_session *s = ctx;

	if (why != NULL)
		log_info("session=%s event=closed reason=\"%s\"", s->id, why);
	if (s->mode == IMAP_MODE_WAIT) {
		/* free when the answer comes (or auth goes away) */
		s->dead = true;
		return;
	}
	session_free(s);
}

void imap_session_notify(struct imap_session *s)
{
	if (s->mode == IMAP_MODE_IDLE && !s->closing) {
		imap_view_sync(s, IMAP_SYNC_ALL);
		/* cap what IDLE piles up for a client that does not read */
		if (imap_session_output_full(s))
			imap_session_close(s, "IDLE client not reading");
	}
}

static void session_shutdown(struct imap_session *s)
{
	if (s->closing)
		return;
	imap_printf(s, "* BYE [UNAVAILABLE] server shutting down");
	imap_session_close(s, "shutdown");
}

void imap_session_shutdown_all(void)
{
	for (struct imap_session *s = sessions; s != NULL; s = s->next)
		session_shutdown(s);
}
