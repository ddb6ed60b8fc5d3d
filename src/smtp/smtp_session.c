/* smtp_session: connection I/O, line framing, TLS, timeouts, lifecycle. */
#include "smtp/smtp_session.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_server.h"
#include "tls/tls.h"

#define SMTP_MAX_OUTPUT (256 * 1024)	/* stop reading while replies pile up */
#define SMTP_AUTH_MAX_LINE 12288	/* RFC 4954 §4: AUTH lines and responses */

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void session_free(struct smtp_session *s)
{
	log_info("session=%s event=disconnect client=%s commands=%u messages=%u",
		 s->id, s->ip, s->commands, s->messages);
	smtp_msg_abort(s);
	smtp_transaction_reset(s);
	smtp_checks_free(s);
	smtp_auth_gone(s);
	buf_free(&s->chunk);
	buf_free(&s->hdr);
	if (s->bev != NULL)
		bufferevent_free(s->bev);	/* TLS: also closes fd, frees ssl */
	if (s->ssl == NULL)
		close(s->fd);
	buf_free(&s->out);
	smtp_server_session_gone(s);
	free(s);
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	log_debug("session=%s reply=\"%s\"", s->id, buf_cstr(&line));
	buf_append(&line, "\r\n", 2);
	bufferevent_write(s->bev, line.ptr, line.len);
	buf_free(&line);
}

static void deferred_free(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	session_free(arg);
}

/* Free from the event loop, never under a caller that may still use s. */
static void schedule_free(struct smtp_session *s)
{
	struct timeval now = { 0, 0 };

	if (s->free_scheduled)
		return;
	s->free_scheduled = true;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	event_base_once(proc_base, -1, EV_TIMEOUT, deferred_free, s, &now);
}

/* Are all replies handed to the kernel (through TLS too)? */
static bool output_drained(struct smtp_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) == 0;
}

void smtp_session_close(struct smtp_session *s, const char *why)
{
	if (s->closing)
		return;
	s->closing = true;
	if (why != NULL)
		log_info("session=%s event=close reason=\"%s\"", s->id, why);
	bufferevent_disable(s->bev, EV_READ);
	/* Free once the last reply is out (on_write), or now if none. */
	if (output_drained(s))
		schedule_free(s);
}

void smtp_session_set_timeout(struct smtp_session *s)
{
	struct timeval rd = { (time_t)(s->state == SMTP_ST_COMMAND ?
				       proc_cfg.smtp_command_timeout :
				       proc_cfg.smtp_data_timeout), 0 };
	struct timeval wr = { (time_t)proc_cfg.smtp_data_timeout, 0 };

	bufferevent_set_timeouts(s->bev, &rd, &wr);
}

static void greet(struct smtp_session *s)
{
	const char *extra = proc_cfg.smtp_banner;

	smtp_reply(s, "220 %s ESMTP%s%s", proc_cfg.hostname,
		   *extra ? " " : "", extra);
}

/* A TLS bufferevent directly on the socket (no filter layering: the
 * plaintext bufferevent is gone by then). It owns fd and ssl. */
static struct bufferevent *tls_bev(struct smtp_session *s)
{
	SSL_CTX *ctx = smtp_server_tls();
	SSL *ssl;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL)
		return NULL;
	s->ssl = ssl;
	return bufferevent_openssl_socket_new(
		proc_base, s->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
}

static void setup_bev(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	smtp_session_set_timeout(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

struct smtp_session *smtp_session_start(int fd, int service,
					const struct sockaddr *sa,
					socklen_t salen)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	str_random_hex(s->id, sizeof(s->id));
	s->service = service;
	s->msg_fd = -1;
	memcpy(&s->peer, sa, salen <= sizeof(s->peer) ? salen : sizeof(s->peer));
	netaddr_ip_string(sa, s->ip, sizeof(s->ip));
	s->port = netaddr_port(sa);
	s->fd = fd;
	evutil_make_socket_nonblocking(fd);
	if (service == SVC_LOCAL)
		smtp_local_identify(s);	/* no IP: uid and user name */
	log_info("session=%s event=connect client=%s port=%u service=%s%s", s->id,
		 s->ip, s->port, config_service_name(service), s->log_who);
	/* RFC 8314 §3: port 465 is TLS from the first byte */
	if (service == SVC_SUBMISSIONS && (s->bev = tls_bev(s)) == NULL)
		log_error("session=%s event=tls-setup-failed", s->id);
	if (s->bev == NULL) {
		s->ssl = NULL;
		s->bev = bufferevent_socket_new(proc_base, fd, BEV_OPT_DEFER_CALLBACKS);
	}
	setup_bev(s);
	if (service == SVC_SUBMISSIONS && s->ssl == NULL) {
		smtp_session_close(s, "TLS not available");
		return s;
	}
	greet(s);
	return s;
}

/* RFC 3207 §4.2: whatever the client sent after STARTTLS before the
 * handshake is discarded (CVE-2011-0411), and the session forgets
 * everything it learnt before TLS. The switch happens once the 220 is
 * out (switch_to_tls, from on_write); meanwhile nothing is read. */
void smtp_session_starttls(struct smtp_session *s)
{
	s->starttls_pending = true;
	bufferevent_disable(s->bev, EV_READ);
}

static void switch_to_tls(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t dropped = evbuffer_get_length(in);

	s->starttls_pending = false;
	if (dropped > 0)
		log_info("session=%s event=starttls-injection bytes=%zu "
			 "action=discarded", s->id, dropped);
	bufferevent_free(s->bev);	/* plaintext and its buffers: gone */
	s->bev = tls_bev(s);
	if (s->bev == NULL) {
		log_error("session=%s event=tls-setup-failed", s->id);
		s->bev = bufferevent_socket_new(proc_base, s->fd,
						BEV_OPT_DEFER_CALLBACKS);
		setup_bev(s);
		smtp_session_close(s, "TLS setup failed");
		return;
	}
	setup_bev(s);
	smtp_transaction_reset(s);
	s->have_helo = false;
	s->authenticated = false;
	s->esmtp = false;
	s->helo[0] = '\0';
}

static void too_long(struct smtp_session *s)
{
	smtp_auth_gone(s);	/* a SASL exchange, if any, ends here */
	smtp_cmd_bad(s, "500 5.5.2 Line too long");
}

/* Handle one command line out of the input buffer; false when none. */
static bool read_command(struct smtp_session *s, struct evbuffer *in)
{
	size_t eol_len = 0, max = proc_cfg.smtp_max_command_line;
	bool sasl = s->in_sasl;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len,
						      EVBUFFER_EOL_CRLF);
	size_t avail = evbuffer_get_length(in);
	char *line;

	if (smtp_submit_is_submission(s) && !s->authenticated &&
	    max < SMTP_AUTH_MAX_LINE)
		max = SMTP_AUTH_MAX_LINE;	/* smtp_cmd_dispatch checks non-AUTH */
	if (eol.pos < 0) {
		if (avail >= max) {
			/* RFC 5321 4.5.3.1.4: a command line is at most 512
			 * octets; drop the rest of it when it finally ends. */
			evbuffer_drain(in, avail);
			if (!s->discard_line)
				too_long(s);
			s->discard_line = true;
		}
		return false;
	}
	if (s->discard_line || (size_t)eol.pos + 2 > max) {
		evbuffer_drain(in, (size_t)eol.pos + eol_len);
		if (!s->discard_line)
			too_long(s);
		s->discard_line = false;
		return true;
	}
	line = xmalloc((size_t)eol.pos + 1);
	evbuffer_remove(in, line, (size_t)eol.pos);
	line[eol.pos] = '\0';
	evbuffer_drain(in, eol_len);
	if (sasl)
		smtp_auth_line(s, line, (size_t)eol.pos);
	else
		smtp_cmd_dispatch(s, line, (size_t)eol.pos);
	explicit_bzero(line, (size_t)eol.pos);	/* may be a SASL response */
	free(line);
	return true;
}

/* Feed message data from the input buffer to the decoder. */
static bool read_data(struct smtp_session *s, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), used;
	struct evbuffer_iovec v;

	if (avail == 0)
		return false;
	if (s->state == SMTP_ST_BDAT && avail > s->bdat_left)
		avail = (size_t)s->bdat_left;
	if (evbuffer_peek(in, (ssize_t)avail, NULL, &v, 1) < 1)
		return false;
	if (v.iov_len > avail)
		v.iov_len = avail;
	used = smtp_msg_feed(s, v.iov_base, v.iov_len);
	evbuffer_drain(in, used);
	return true;
}

/* Process buffered input until it runs out or the session must wait. */
static void process(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer *out = bufferevent_get_output(s->bev);

	while (!s->closing && !s->starttls_pending && s->wait == SMTP_WAIT_NONE &&
	       evbuffer_get_length(out) < SMTP_MAX_OUTPUT) {
		bool progress;

		if (s->state == SMTP_ST_COMMAND)
			progress = read_command(s, in);
		else if (s->state == SMTP_ST_BDAT && s->bdat_left == 0) {
			smtp_msg_end(s);
			progress = true;
		} else
			progress = read_data(s, in);
		if (!progress)
			break;
	}
}

void smtp_session_resume(struct smtp_session *s)
{
	if (s->dead) {
		schedule_free(s);
		return;
	}
	if (s->closing)
		return;
	process(s);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->closing) {
		if (output_drained(s))
			schedule_free(s);
		return;
	}
	if (s->starttls_pending) {
		if (output_drained(s))
			switch_to_tls(s);
		return;
	}
	/* Replies drained below the cap: continue with pipelined input. */
	process(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->ssl != NULL) {
			char desc[128];
			tls_describe(s->ssl, desc, sizeof(desc));
			log_info("session=%s event=tls %s", s->id, desc);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->closing) {
			schedule_free(s);
			return;
		}
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
			   proc_cfg.hostname);
		smtp_session_close(s, "timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char why[160];
		if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", strerror(errno));
		log_info("session=%s event=error reason=\"%s\"", s->id, why);
	}
	/* EOF or error: the peer is gone, nothing more can be said. */
	if (s->wait != SMTP_WAIT_NONE) {
		/* a reply from another process is still due: free on arrival */
		s->dead = true;
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	schedule_free(s);
}

void smtp_session_shutdown(struct smtp_session *s)
{
	if (s->closing)
		return;
	if (s->state == SMTP_ST_COMMAND && !s->have_mail &&
	    s->wait == SMTP_WAIT_NONE) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
			   proc_cfg.hostname);
		smtp_session_close(s, "shutdown");
		return;
	}
	s->quit_after_transaction = true;
}
