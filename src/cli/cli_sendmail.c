/* cli_sendmail: `sendmail` (argv[0]) and `mailkeep sendmail`, the local
 * submission command of cron, mail(1), scripts and PHP.
 *
 *   sendmail [-t] [-i] [-f SENDER] [-F NAME] [-N DSN] [-R RET] [RCPT...]
 *
 * Reads the message from stdin, prepares it (sendmail_parse.h) and hands
 * it over SMTP to the daemon's run_dir/submit.sock, where the smtp process
 * serves it as a trusted local submission (src/smtp/smtp_local.c) that
 * knows the caller by its uid. Exit status 0 means the daemon has queued
 * the message durably (its 250 comes after the fsync); otherwise a
 * sysexits.h code: 64 usage, 65 data, 67 unknown user, 69 refused,
 * 75 try again later (daemon down, 4xx), 78 configuration. */
#include "cli/cli.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/sendmail_parse.h"
#include "lib/buf.h"
#include "lib/unixsock.h"
#include "lib/str.h"

#define SENDMAIL_TIMEOUT 600		/* seconds for one reply (RFC 5321 4.5.3.2.6) */
#define SENDMAIL_MAX_REPLY (64 * 1024)	/* octets of one multi-line reply */
#define SENDMAIL_READ_CHUNK 65536

/* The SMTP connection to the daemon. */
struct conn {
	int fd;
	bool verbose;
	struct buf in;		/* received, not yet parsed */
	struct buf reply;	/* the last reply, lines joined by "\n" */
	int code;		/* its code, -1 when the connection failed */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int conn_open(struct conn *c, const char *path)
{
	struct timeval tv = { SENDMAIL_TIMEOUT, 0 };

	if ((c->fd = unixsock_connect(path, SOCK_STREAM)) < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/* One line from the daemon into line (CRLF removed); -1 on EOF, error,
 * timeout or a reply over SENDMAIL_MAX_REPLY. */
static int read_line(struct conn *c, struct buf *line)
{
	for (;;) {
		const char *nl = c->in.len ? memchr(c->in.ptr, '\n', c->in.len) : NULL;
		char chunk[4096];
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - c->in.ptr);
			buf_reset(line);
			buf_append(line, c->in.ptr, len > 0 && nl[-1] == '\r' ? len - 1 : len);
			buf_consume(&c->in, len + 1);
			return 0;
		}
		if (c->in.len > SENDMAIL_MAX_REPLY)
			return -1;
		n = read(c->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf_append(&c->in, chunk, (size_t)n);
	}
}

/* The next reply (RFC 5321 4.2.1): its code, or -1. */
static int read_reply(struct conn *c)
{
	struct buf line = BUF_INIT;

	buf_reset(&c->reply);
	c->code = -1;
	while (read_line(c, &line) == 0) {
		const char *l = buf_cstr(&line);
		if (c->verbose)
			fprintf(stderr, "<<< %s\n", l);
		if (c->reply.len + line.len > SENDMAIL_MAX_REPLY || line.len < 3 ||
		    l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (l[3] != '\0' && l[3] != ' ' && l[3] != '-'))
			break;
		buf_printf(&c->reply, "%s%s", c->reply.len ? "\n" : "", l);
		if (l[3] != '-') {
			c->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
			break;
		}
	}
	buf_free(&line);
	return c->code;
}

static int command(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Send one command line and read its reply: the code, or -1. */
static int command(struct conn *c, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	if (c->verbose)
		fprintf(stderr, ">>> %s\n", buf_cstr(&line));
	buf_append(&line, "\r\n", 2);
	rc = buf_write_fd(c->fd, line.ptr, line.len) < 0 ? -1 : read_reply(c);
	buf_free(&line);
	return rc;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0 && c->code > 0)
		command(c, "QUIT");
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->reply);
}

/* The exit status for a failed reply. */
static int reply_status(const struct conn *c)
{
	return c->code < 0 || c->code / 100 == 4 ? SENDMAIL_EX_TEMPFAIL :
						    SENDMAIL_EX_UNAVAILABLE;
}

/* What the transaction sends, assembled from options and message. */
struct job {
	const struct sendmail_opts *o;
	const char *sender;		/* "" for <> */
	const char *own;		/* login@origin */
	struct sendmail_rcpts rcpts;
	struct sendmail_msg msg;
	size_t batch;			/* recipients per transaction */
};

static bool has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* MAIL FROM with the parameters the message needs (RFC 1870, 6152, 6531,
 * 3461). */
static int send_mail(struct conn *c, const struct job *j, bool utf8)
{
	struct buf params = BUF_INIT;
	int rc;

	buf_printf(&params, " SIZE=%zu", j->msg.data.len);
	if (j->msg.eightbit)
		buf_appends(&params, " BODY=8BITMIME");
	if (utf8)
		buf_appends(&params, " SMTPUTF8");
	if (*j->o->ret)
		buf_printf(&params, " RET=%s", j->o->ret);
	rc = command(c, "MAIL FROM:<%s>%s", j->sender, buf_cstr(&params));
	buf_free(&params);
	return rc;
}

/* RCPT for rcpts[from..to): all accepted (0), else the exit status after
 * every refusal is shown. */
static int send_rcpts(struct conn *c, const struct job *j, size_t from,
		      size_t to)
{
	bool temp = false, all_unknown = true, failed = false;

	for (size_t i = from; i < to; i++) {
		int rc = *j->o->notify ?
			 command(c, "RCPT TO:<%s> NOTIFY=%s", j->rcpts.v[i],
				 j->o->notify) :
			 command(c, "RCPT TO:<%s>", j->rcpts.v[i]);
		if (rc / 100 == 2)
			continue;
		say("<%s>: %s", j->rcpts.v[i], rc < 0 ? "connection to the daemon lost" :
		    buf_cstr(&c->reply));
		if (rc < 0)
			return SENDMAIL_EX_TEMPFAIL;
		failed = true;
		temp = temp || rc / 100 == 4;
		all_unknown = all_unknown && strstr(buf_cstr(&c->reply), "5.1.1") != NULL;
	}
	if (!failed)
		return 0;
	return temp ? SENDMAIL_EX_TEMPFAIL :
	       all_unknown ? SENDMAIL_EX_NOUSER : SENDMAIL_EX_UNAVAILABLE;
}

/* DATA, the message, the final dot; 0 once the daemon has queued it. */
static int send_data(struct conn *c, const struct job *j)
{
	int rc = command(c, "DATA");

	if (rc != 354) {
		say("DATA: %s", rc < 0 ? "connection to the daemon lost" : buf_cstr(&c->reply));
		return reply_status(c);
	}
	if (buf_write_fd(c->fd, j->msg.data.ptr, j->msg.data.len) < 0 ||
	    buf_write_fd(c->fd, ".\r\n", 3) < 0) {
		say("connection to the daemon lost while sending the message");
		return SENDMAIL_EX_TEMPFAIL;
	}
	rc = read_reply(c);
	if (rc / 100 != 2) {
		say("message refused: %s", rc < 0 ? "connection to the daemon lost" :
		    buf_cstr(&c->reply));
		return reply_status(c);
	}
	return 0;
}

/* One transaction for rcpts[from..to): all recipients or none (RSET),
 * so that a caller retrying after a failure sends no duplicates. */
static int transaction(struct conn *c, const struct job *j, size_t from,
		       size_t to, bool utf8)
{
	int rc = send_mail(c, j, utf8);

	if (rc / 100 != 2) {
		say("MAIL FROM:<%s>: %s", j->sender,
		    rc < 0 ? "connection to the daemon lost" : buf_cstr(&c->reply));
		return reply_status(c);
	}
	rc = send_rcpts(c, j, from, to);
	if (rc != 0) {
		command(c, "RSET");
		return rc;
	}
	return send_data(c, j);
}

static int deliver(const struct config *cfg, const struct job *j)
{
	struct conn c = { .fd = -1, .verbose = j->o->verbose, .in = BUF_INIT,
			  .reply = BUF_INIT };
	struct buf path = BUF_INIT;
	const char *why = NULL;
	bool utf8 = j->msg.utf8_header || has_8bit(j->sender);
	int rc = 0;

	for (size_t i = 0; i < j->rcpts.n; i++)
		utf8 = utf8 || has_8bit(j->rcpts.v[i]);
	if (unixsock_path(cfg->run_dir, UNIXSOCK_SUBMIT, &path, &why) < 0 ||
	    conn_open(&c, buf_cstr(&path)) < 0) {
		say("cannot connect to %s: %s (is mailkeep running?)", buf_cstr(&path),
		    why ? why : strerror(errno));
		buf_free(&path);
		return SENDMAIL_EX_TEMPFAIL;
	}
	buf_free(&path);
	if (read_reply(&c) != 220 || command(&c, "EHLO localhost") != 250) {
		say("the daemon did not greet: %s", c.code < 0 ?
		    "connection closed" : buf_cstr(&c.reply));
		rc = reply_status(&c);
	}
	/* [smtp] max_recipients per transaction: a longer list goes in turns */
	for (size_t from = 0; rc == 0 && from < j->rcpts.n; from += j->batch) {
		size_t to = from + j->batch < j->rcpts.n ? from + j->batch : j->rcpts.n;
		rc = transaction(&c, j, from, to, utf8);
		if (rc != 0 && from > 0)
			say("the first %zu recipients were queued already", from);
	}
	conn_close(&c);
	return rc;
}

/* Read stdin whole, at most max octets. */
static int read_stdin(struct buf *out, uint64_t max)
{
	char *chunk = malloc(SENDMAIL_READ_CHUNK);

	if (chunk == NULL)
		return -1;
	for (;;) {
		ssize_t n = read(0, chunk, SENDMAIL_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(chunk);
			return n < 0 ? -1 : 0;
		}
		buf_append(out, chunk, (size_t)n);
		if (out->len > max) {
			free(chunk);
			errno = EFBIG;
			return -1;
		}
	}
}

/* The modes that are not "deliver a message". */
static int other_mode(const struct sendmail_opts *o)
{
	switch (o->mode) {
	case SENDMAIL_MODE_QUEUE_LIST:
		say("%s: use mailkeep queue list", o->mode_flag);
		return SENDMAIL_EX_USAGE;
	case SENDMAIL_MODE_FLUSH:
		say("%s: use mailkeep queue flush", o->mode_flag);
		return SENDMAIL_EX_USAGE;
	case SENDMAIL_MODE_ALIASES:
		/* newaliases: the daemon reads [delivery] aliases_file itself */
		say("%s: nothing to do, mailkeep reads its aliases file at start "
		    "and on reload (SIGHUP)", o->mode_flag);
		return SENDMAIL_EX_OK;
	default:
		say("%s: mode not supported", o->mode_flag);
		return SENDMAIL_EX_USAGE;
	}
}

/* The login name of the caller, "uidN" without a passwd entry. */
static void login_name(struct buf *out)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		buf_appends(out, pw->pw_name);
	else
		buf_printf(out, "uid%lu", (unsigned long)getuid());
}

/* Envelope sender, the login's own address (for From:) and the
 * command-line recipients, qualified with origin. */
static int addresses(const struct sendmail_opts *o, const char *origin,
		     struct buf *sender, struct buf *own, struct job *j)
{
	struct buf login = BUF_INIT, a = BUF_INIT;
	const char *why = "bad address";
	int rc = 0;

	login_name(&login);
	if (sendmail_qualify(buf_cstr(&login), login.len, origin, false, own,
			     &why) < 0) {
		buf_reset(own);
		buf_printf(own, "postmaster@%s", origin);
	}
	if (sendmail_qualify(o->sender ? o->sender : buf_cstr(&login),
			     strlen(o->sender ? o->sender : buf_cstr(&login)),
			     origin, o->sender != NULL, sender, &why) < 0) {
		say("bad sender address '%s': %s", o->sender ? o->sender :
		    buf_cstr(&login), why);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < o->nrcpts; i++) {
		if (sendmail_qualify(o->rcpts[i], strlen(o->rcpts[i]), origin, false,
				     &a, &why) < 0 ||
		    sendmail_rcpts_add(&j->rcpts, buf_cstr(&a)) < 0) {
			say("bad recipient address '%s': %s", o->rcpts[i], why);
			rc = -1;
		}
	}
	buf_free(&login);
	buf_free(&a);
	return rc;
}

/* Read, check and prepare the message; the exit status on failure. */
static int prepare(const struct config *cfg, const struct sendmail_opts *o,
		   struct job *j)
{
	struct buf in = BUF_INIT;
	struct sendmail_msg_params p = {
		.ignore_dots = o->ignore_dots, .extract = o->extract,
		.origin = config_origin(cfg),
		.from_addr = *j->sender ? j->sender : j->own,
		.fullname = o->fullname,
	};
	const char *why = NULL;

	if (read_stdin(&in, cfg->smtp_max_message_size) < 0) {
		say("reading the message: %s", errno == EFBIG ?
		    "larger than [smtp] max_message_size" : strerror(errno));
		buf_free(&in);
		return errno == EFBIG ? SENDMAIL_EX_DATAERR : SENDMAIL_EX_SOFTWARE;
	}
	if (sendmail_msg_build(in.ptr ? in.ptr : "", in.len, &p, &j->msg, &why) < 0) {
		say("line %zu: %s", j->msg.long_line, why);
		buf_free(&in);
		return SENDMAIL_EX_DATAERR;
	}
	buf_free(&in);
	if (j->msg.bad_rcpts > 0) {
		say("%zu address%s in To:/Cc:/Bcc: cannot be used", j->msg.bad_rcpts,
		    j->msg.bad_rcpts > 1 ? "es" : "");
		return SENDMAIL_EX_DATAERR;
	}
	for (size_t i = 0; i < j->msg.rcpts.n; i++)
		if (sendmail_rcpts_add(&j->rcpts, j->msg.rcpts.v[i]) < 0) {
			say("too many recipients (at most %d)", SENDMAIL_MAX_RCPTS);
			return SENDMAIL_EX_USAGE;
		}
	if (j->rcpts.n == 0) {
		say("no recipients: give them as arguments, or use -t");
		return SENDMAIL_EX_USAGE;
	}
	return 0;
}

static int run(const struct config *cfg, const struct sendmail_opts *o)
{
	struct job j = { .o = o, .batch = (size_t)cfg->smtp_max_recipients };
	struct buf sender = BUF_INIT, own = BUF_INIT;
	int rc = SENDMAIL_EX_USAGE;

	if (addresses(o, config_origin(cfg), &sender, &own, &j) == 0) {
		j.sender = buf_cstr(&sender);
		j.own = buf_cstr(&own);
		rc = prepare(cfg, o, &j);
		if (rc == 0)
			rc = deliver(cfg, &j);
	}
	sendmail_msg_free(&j.msg);
	sendmail_rcpts_free(&j.rcpts);
	buf_free(&sender);
	buf_free(&own);
	return rc;
}

int cli_sendmail(const char *config_path, int argc, char **argv)
{
	struct sendmail_opts o;
	struct config cfg;
	struct buf err = BUF_INIT;
	const char *why = NULL;
	int rc;

	/* a daemon that closes mid-message is a write error (EPIPE), told
	 * with its exit code, not a death by signal */
	signal(SIGPIPE, SIG_IGN);
	if (sendmail_opts_parse(argc, argv, &o, &why) < 0) {
		say("%s", why);
		fprintf(stderr, "usage: sendmail [-t] [-i] [-f SENDER] [-F NAME] "
			"[-N DSN] [-R RET] [--] [RECIPIENT...]\n");
		sendmail_opts_free(&o);
		return SENDMAIL_EX_USAGE;
	}
	if (o.mode != SENDMAIL_MODE_DELIVER) {
		rc = other_mode(&o);
		sendmail_opts_free(&o);
		return rc;
	}
	if (!o.extract && o.nrcpts == 0) {	/* known before reading stdin */
		say("no recipients: give them as arguments, or use -t");
		sendmail_opts_free(&o);
		return SENDMAIL_EX_USAGE;
	}
	if (config_load(&cfg, config_path, &err) < 0) {
		say("%s", buf_cstr(&err));
		buf_free(&err);
		sendmail_opts_free(&o);
		return SENDMAIL_EX_CONFIG;
	}
	buf_free(&err);
	rc = run(&cfg, &o);
	config_free(&cfg);
	sendmail_opts_free(&o);
	return rc;
}
