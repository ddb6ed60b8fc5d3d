/* smtp_msg: receiving message data (DATA, BDAT) into a queue file, the
 * Received: header (RFC 5321 §4.4, RFC 3848), and the commit to the queue:
 * the 250 goes out only after the queue process has made the message and
 * its envelope durable (DESIGN §5, §8). */
#include "smtp/smtp_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/log.h"
#include "lib/str.h"
#include "mailauth/authres.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_spares.h"

/* Decoded bytes held before a write. A message up to this size is written
 * in one go once its verdict is known, with the local trace on top when
 * it has one local recipient (envelope_local_trace: delivery then links
 * the queue file into the mailbox instead of copying it). */
#define SMTP_HOLD (256 * 1024)
#define SMTP_MAX_HEADER (1024 * 1024)	/* the header section of a message */

/* Take a message file in hand, or ask the queue for one (the reply then
 * resumes the session). */
void smtp_msg_begin(struct smtp_session *s, bool bdat)
{
	struct buf none = BUF_INIT;
	char qid[QUEUE_ID_MAX];
	int fd;

	s->state = SMTP_ST_COMMAND;
	s->pending_bdat_last = bdat;	/* remembers the kind until the file comes */
	if (smtp_spares_take(&fd, qid))
		smtp_msg_file(s, fd, qid);
	else if (smtp_server_request(s, PROC_QUEUE, MSG_QUEUE_CREATE, &none,
				     SMTP_WAIT_FILE) == 0)
		smtp_msg_file(s, -1, "");
	smtp_spares_refill();
}

static const char *protocol_name(const struct smtp_session *s)
{
	/* RFC 3848 and RFC 6531 §3.7.3 "with" keywords */
	if (s->mail.smtputf8)
		return s->ssl ? "UTF8SMTPS" : "UTF8SMTP";
	if (!s->esmtp)
		return "SMTP";
	if (s->authenticated)	/* RFC 3848 §2 */
		return s->ssl ? "ESMTPSA" : "ESMTPA";
	return s->ssl ? "ESMTPS" : "ESMTP";
}

static void received_header(struct smtp_session *s, struct buf *h)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (smtp_local_is_local(s))
		smtp_local_received(s, h);
	else if (s->authenticated && proc_cfg.submission_hide_client_ip)
		buf_printf(h, "Received: from %s", s->helo);
	else
		buf_printf(h, "Received: from %s ([%s])", s->helo, s->ip);
	buf_printf(h, "\r\n\tby %s (mailkeep) with %s id %s", proc_cfg.hostname,
		   protocol_name(s), s->env.qid);
	if (s->ssl != NULL)
		buf_printf(h, "\r\n\t(version=%s cipher=%s)", SSL_get_version(s->ssl),
			   SSL_get_cipher_name(s->ssl));
	if (s->authenticated)
		buf_printf(h, "\r\n\t(authenticated as %s)", s->auth_user);
	/* Name the recipient only when there is one (privacy, RFC 5321 7.2). */
	if (s->env.nrcpts == 1)
		buf_printf(h, "\r\n\tfor <%s>", s->env.rcpts[0].addr);
	buf_printf(h, ";\r\n\t%s\r\n", date);
}

static void write_file(struct smtp_session *s, const char *p, size_t len)
{
	size_t off = 0;

	s->written = true;
	while (off < len && !s->write_failed) {
		ssize_t n = write(s->msg_fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("session=%s queue=%s event=write-failed reason=\"%s\"",
				  s->id, s->env.qid, strerror(errno));
			s->write_failed = true;
			break;
		}
		off += (size_t)n;
	}
}

static void flush_out(struct smtp_session *s)
{
	write_file(s, s->out.ptr, s->out.len);
	buf_reset(&s->out);
}

/* The rest of the message into the file; a message still all in hand
 * for one local recipient gets the local trace on top. */
static void write_rest(struct smtp_session *s)
{
	if (!s->written && s->env.nrcpts == 1 && s->nlocal == 1) {
		struct buf top = BUF_INIT;
		envelope_local_trace(&top, s->env.sender, s->env.rcpts[0].addr,
				     s->env.headers);
		write_file(s, top.ptr, top.len);
		s->env.trace_len = top.len;
		buf_free(&top);
	}
	flush_out(s);
	if (s->out.cap > SMTP_HOLD)	/* idle sessions stay small */
		buf_free(&s->out);
}

void smtp_msg_file(struct smtp_session *s, int fd, const char *qid)
{
	bool bdat = s->pending_bdat_last;
	struct smtp_data_limits lim;

	if (fd < 0) {
		const char *no = "451 4.3.0 Error: queue file write error, try again later";
		if (!bdat) {
			smtp_reply(s, "%s", no);
			return;
		}
		/* still read the chunk, then refuse it */
		s->bdat_failed = true;
		s->bdat_fail_reply = no;
		s->state = SMTP_ST_BDAT;
		return;
	}
	s->msg_fd = fd;
	str_copy(s->env.qid, sizeof(s->env.qid), qid);
	s->written = s->write_failed = false;
	lim.max_line = proc_cfg.smtp_max_text_line;
	lim.max_size = proc_cfg.smtp_max_message_size;
	lim.bare = proc_cfg.smtp_bare_newline == BARE_NEWLINE_REJECT ?
		   SMTP_BARE_REJECT : SMTP_BARE_NORMALIZE;
	smtp_data_init(&s->data, &lim, bdat);
	buf_reset(&s->out);
	received_header(s, &s->out);
	buf_reset(&s->hdr);
	s->in_header = true;
	s->header_too_big = false;
	s->hdr_msgid = s->hdr_date = false;
	smtp_checks_data_begin(s);
	log_info("session=%s queue=%s event=data from=<%s> nrcpt=%zu", s->id, qid,
		 s->env.sender, s->env.nrcpts);
	if (bdat) {
		s->state = SMTP_ST_BDAT;
	} else {
		s->state = SMTP_ST_DATA;
		smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	}
	smtp_session_set_timeout(s);
}

/* Copy the header fields into out, without an Authentication-Results
 * field that claims our authserv-id (RFC 8601 §5: a forgery), and show
 * each field to the checks (From: for DMARC). */
static void emit_fields(struct smtp_session *s, const char *p, size_t n)
{
	const char *id = *proc_cfg.checks_authserv_id ?
			 proc_cfg.checks_authserv_id : proc_cfg.hostname;
	size_t i = 0;

	while (i < n) {
		size_t start = i;
		/* a field: one line, then continuation lines starting with WSP */
		do {
			const char *nl = memchr(p + i, '\n', n - i);
			i = nl ? (size_t)(nl - p) + 1 : n;
		} while (i < n && (p[i] == ' ' || p[i] == '\t'));
		if (authres_is_ours(p + start, i - start, id)) {
			log_info("session=%s queue=%s event=header-removed "
				 "reason=\"forged Authentication-Results\"", s->id,
				 s->env.qid);
			continue;
		}
		smtp_checks_header_field(s, p + start, i - start);
		smtp_submit_header_field(s, p + start, i - start);
		buf_append(&s->out, p + start, i - start);
	}
}

/* Where the header section ends in hdr (just past the empty line's CRLF
 * start, i.e. the offset of the empty line), or -1 while it goes on. */
static long header_end(const struct buf *hdr)
{
	const char *p;

	if (hdr->len >= 2 && hdr->ptr[0] == '\r' && hdr->ptr[1] == '\n')
		return 0;
	p = memmem(hdr->ptr, hdr->len, "\r\n\r\n", 4);
	return p ? (long)(p - hdr->ptr) + 2 : -1;
}

/* Decoded bytes: the header section is held until it ends, the body goes
 * straight to the file buffer. */
static void route(struct smtp_session *s, const char *p, size_t n)
{
	long end;

	smtp_checks_data(s, p, n);
	if (!s->in_header) {
		buf_append(&s->out, p, n);
		return;
	}
	if (s->header_too_big)
		return;
	buf_append(&s->hdr, p, n);
	end = header_end(&s->hdr);
	if (end < 0) {
		if (s->hdr.len > SMTP_MAX_HEADER) {
			s->header_too_big = true;
			buf_free(&s->hdr);
		}
		return;
	}
	emit_fields(s, s->hdr.ptr, (size_t)end);
	smtp_submit_missing_fields(s, &s->out);
	buf_append(&s->out, s->hdr.ptr + end, s->hdr.len - (size_t)end);
	buf_reset(&s->hdr);
	s->in_header = false;
}

size_t smtp_msg_feed(struct smtp_session *s, const char *in, size_t len)
{
	size_t used;

	if (s->state == SMTP_ST_BDAT && (s->bdat_failed || s->msg_fd < 0)) {
		used = len < s->bdat_left ? len : (size_t)s->bdat_left;
		s->bdat_left -= used;
		return used;
	}
	buf_reset(&s->chunk);
	used = smtp_data_feed(&s->data, in, len, &s->chunk);
	route(s, s->chunk.ptr, s->chunk.len);
	if (s->state == SMTP_ST_BDAT)
		s->bdat_left -= used;
	if (s->out.len >= SMTP_HOLD)
		flush_out(s);
	if (s->state == SMTP_ST_DATA && s->data.done)
		smtp_msg_end(s);
	return used;
}

/* The reason a finished message is refused, or NULL. */
static const char *refusal(struct smtp_session *s)
{
	if (s->data.bare_newline &&
	    proc_cfg.smtp_bare_newline == BARE_NEWLINE_REJECT)
		return "550 5.5.2 Error: bare CR or LF in message data "
		       "(RFC 5321 2.3.8)";
	if (s->data.too_big)
		return "552 5.3.4 Error: message size exceeds fixed limit";
	if (s->header_too_big)
		return "552 5.3.4 Error: message header section too large";
	if (s->data.line_too_long)
		return "500 5.5.2 Error: message line too long "
		       "(RFC 5321 4.5.3.1.6)";
	if (s->write_failed)
		return "452 4.3.1 Error: insufficient system storage";
	return NULL;
}

static void commit(struct smtp_session *s)
{
	struct buf m = BUF_INIT;

	free(s->env.envid);
	free(s->env.client_ip);
	free(s->env.helo);
	free(s->env.session);
	free(s->env.auth_user);
	s->env.body = s->mail.body;
	s->env.smtputf8 = s->mail.smtputf8;
	s->env.ret = s->mail.ret;
	s->env.envid = strdup(s->mail.envid);
	s->env.client_ip = strdup(s->ip);
	s->env.helo = strdup(s->helo);
	s->env.session = strdup(s->id);
	/* non-empty: submitted by this account (the queue DKIM-signs it) */
	s->env.auth_user = strdup(s->authenticated || smtp_local_is_local(s) ?
				  s->auth_user : "");
	envelope_pack(&s->env, &m);
	close(s->msg_fd);	/* the queue fsyncs its own descriptor */
	s->msg_fd = -1;
	if (smtp_server_request(s, PROC_QUEUE, MSG_QUEUE_COMMIT, &m,
				SMTP_WAIT_COMMIT) == 0)
		smtp_msg_committed(s, false, "queue unavailable");
	buf_free(&m);
}

static void refuse(struct smtp_session *s, const char *reply)
{
	log_info("session=%s queue=%s event=reject reply=\"%s\"", s->id,
		 s->env.qid, reply);
	smtp_reply(s, "%s", reply);
	smtp_transaction_reset(s);
}

/* The verdicts are in: refuse, or commit with their header fields. */
static void finish(struct smtp_session *s)
{
	struct smtp_verdict v;

	smtp_checks_result(s, &v);
	if (v.reject != NULL) {
		buf_free(&v.headers);
		refuse(s, v.reject);
		return;
	}
	free(s->env.headers);
	s->env.headers = buf_detach(&v.headers);
	s->env.junk = v.junk;
	write_rest(s);
	if (s->write_failed) {
		refuse(s, refusal(s));
		return;
	}
	commit(s);
}

void smtp_msg_end(struct smtp_session *s)
{
	const char *no;

	if (s->state == SMTP_ST_BDAT) {
		if (s->bdat_failed || s->msg_fd < 0) {
			smtp_cmd_bad(s, s->bdat_fail_reply ? s->bdat_fail_reply :
				     "503 5.5.1 Error: need MAIL and RCPT commands");
			s->state = SMTP_ST_COMMAND;
			if (s->bdat_last)
				smtp_transaction_reset(s);
			return;
		}
		if (!s->bdat_last) {
			smtp_reply(s, "250 2.0.0 %llu octets received",
				   (unsigned long long)s->data.size);
			s->state = SMTP_ST_COMMAND;
			smtp_session_set_timeout(s);
			return;
		}
		buf_reset(&s->chunk);
		smtp_data_finish_bdat(&s->data, &s->chunk);
		route(s, s->chunk.ptr, s->chunk.len);
	}
	s->state = SMTP_ST_COMMAND;
	smtp_session_set_timeout(s);
	if (s->in_header && !s->header_too_big) {
		/* a message that is all header */
		emit_fields(s, s->hdr.ptr, s->hdr.len);
		smtp_submit_missing_fields(s, &s->out);
		buf_reset(&s->hdr);
		s->in_header = false;
	}
	no = refusal(s);
	if (no != NULL) {
		refuse(s, no);
		return;
	}
	if (smtp_checks_end(s)) {
		s->wait = SMTP_WAIT_CHECKS;
		return;
	}
	finish(s);
}

void smtp_msg_checked(struct smtp_session *s)
{
	s->wait = SMTP_WAIT_NONE;
	if (s->dead) {
		/* nobody to tell: the client retries, better than a duplicate */
		smtp_transaction_reset(s);
	} else {
		finish(s);
	}
	smtp_session_resume(s);
}

void smtp_msg_committed(struct smtp_session *s, bool ok, const char *reason)
{
	if (ok) {
		s->messages++;
		log_info("session=%s queue=%s event=queued from=<%s> nrcpt=%zu "
			 "size=%llu client=%s%s%s", s->id, s->env.qid, s->env.sender,
			 s->env.nrcpts, (unsigned long long)s->data.size, s->ip,
			 s->ssl ? " tls=yes" : "", s->log_who);
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->env.qid);
	} else {
		log_warn("session=%s queue=%s event=tempfail reason=\"%s\"", s->id,
			 s->env.qid, reason);
		smtp_reply(s, "451 4.3.0 Error: queue problem, try again later");
	}
	s->env.qid[0] = '\0';	/* committed or refused: not ours to abort */
	smtp_transaction_reset(s);
}

/* Give an unfinished queue file back to the queue. */
void smtp_msg_abort(struct smtp_session *s)
{
	if (s->msg_fd >= 0) {
		close(s->msg_fd);
		s->msg_fd = -1;
	}
	if (s->env.qid[0] == '\0' || s->wait == SMTP_WAIT_COMMIT)
		return;
	smtp_server_give_back(s->env.qid);
	s->env.qid[0] = '\0';
}
