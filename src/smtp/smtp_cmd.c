/* smtp_cmd: the SMTP command table and its handlers (RFC 5321 §4.1). */
#include "smtp/smtp_session.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "smtp/smtp_checks.h"

/* What a command needs before it may run. */
#define NEED_HELO 0x1
#define NEED_MAIL 0x2
#define NEED_RCPT 0x4
#define NO_MAIL 0x8		/* not inside a transaction */

struct smtp_cmd {
	enum smtp_verb verb;
	unsigned needs;
	void (*run)(struct smtp_session *s, const char *arg);
};

void smtp_cmd_bad(struct smtp_session *s, const char *reply)
{
	smtp_reply(s, "%s", reply);
	log_info("session=%s event=reject reply=\"%s\"", s->id, reply);
	if (++s->errors >= proc_cfg.smtp_max_errors) {
		smtp_reply(s, "421 4.7.0 %s Error: too many errors",
			   proc_cfg.hostname);
		smtp_session_close(s, "too many errors");
	}
}

static void reply_error(struct smtp_session *s, const struct smtp_error *e)
{
	char line[300];

	snprintf(line, sizeof(line), "%d %s %s", e->code, e->status, e->text);
	smtp_cmd_bad(s, line);
}

void smtp_transaction_reset(struct smtp_session *s)
{
	smtp_msg_abort(s);
	smtp_checks_reset(s);
	s->have_mail = false;
	memset(&s->mail, 0, sizeof(s->mail));
	envelope_free(&s->env);
	s->nlocal = 0;
	s->bdat_active = false;
	s->bdat_failed = false;
	s->bdat_fail_reply = NULL;
}

static void cmd_helo(struct smtp_session *s, const char *arg, bool esmtp)
{
	struct smtp_error err;
	SSL_CTX *tls = smtp_server_tls();
	const char *mechs;

	if (smtp_parse_helo(arg, s->helo, sizeof(s->helo), &err) < 0) {
		reply_error(s, &err);
		return;
	}
	smtp_transaction_reset(s);
	s->have_helo = true;
	s->esmtp = esmtp;
	if (!esmtp) {
		s->ext = 0;
		smtp_reply(s, "250 %s", proc_cfg.hostname);
		return;
	}
	s->ext = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
		 SMTP_EXT_DSN | SMTP_EXT_CHUNKING;
	mechs = smtp_auth_mechanisms(s);
	if (mechs != NULL)
		s->ext |= SMTP_EXT_AUTH;
	smtp_reply(s, "250-%s", proc_cfg.hostname);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %llu",
		   (unsigned long long)proc_cfg.smtp_max_message_size);
	if (s->ssl == NULL && tls != NULL && !smtp_local_is_local(s))
		smtp_reply(s, "250-STARTTLS");
	if (mechs != NULL)	/* RFC 4954 §3 */
		smtp_reply(s, "250-AUTH %s", mechs);
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-DSN");
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250 CHUNKING");
}

static void run_helo(struct smtp_session *s, const char *arg)
{
	cmd_helo(s, arg, false);
}

static void run_ehlo(struct smtp_session *s, const char *arg)
{
	cmd_helo(s, arg, true);
}

static void run_mail(struct smtp_session *s, const char *arg)
{
	struct smtp_error err;
	struct buf from = BUF_INIT;

	if (!smtp_submit_mail_allowed(s))
		return;
	if (smtp_parse_mail(arg, s->ext, &s->mail, &err) < 0) {
		reply_error(s, &err);
		return;
	}
	if (s->mail.size > proc_cfg.smtp_max_message_size) {
		smtp_cmd_bad(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!s->mail.from.null)
		mail_addr_format(&s->mail.from, &from);
	s->have_mail = true;
	envelope_free(&s->env);
	s->env.sender = buf_detach(&from);
	if (s->authenticated) {
		smtp_submit_sender(s);
		return;
	}
	if (smtp_local_is_local(s))	/* any sender, logged with the uid */
		smtp_local_sender(s);
	smtp_reply(s, "250 2.1.0 Ok");
	smtp_checks_mail(s);
}

static void run_rcpt(struct smtp_session *s, const char *arg)
{
	struct smtp_error err;
	struct buf m = BUF_INIT, addr = BUF_INIT;

	if (s->env.nrcpts >= proc_cfg.smtp_max_recipients) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_parse_rcpt(arg, s->ext, s->mail.smtputf8, &s->pending_rcpt,
			    &err) < 0) {
		reply_error(s, &err);
		return;
	}
	if (s->pending_rcpt.to.domain[0] == '\0') {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain */
		buf_printf(&addr, "postmaster@%s", proc_cfg.domains.v[0]);
	} else {
		mail_addr_format(&s->pending_rcpt.to, &addr);
	}
	ipc_w_str(&m, buf_cstr(&addr));
	ipc_w_u32(&m, 0);
	if (smtp_server_request(s, PROC_AUTH, MSG_RCPT_LOOKUP, &m,
				SMTP_WAIT_RCPT) == 0)
		smtp_cmd_rcpt_result(s, RCPT_TEMPFAIL, "lookup service unavailable");
	buf_free(&m);
	buf_free(&addr);
}

static void rcpt_accept(struct smtp_session *s, const char *addr)
{
	envelope_add_rcpt(&s->env, addr, s->pending_rcpt.notify,
			  s->pending_rcpt.orcpt);
	smtp_reply(s, "250 2.1.5 Ok");
}

void smtp_cmd_rcpt_result(struct smtp_session *s, uint32_t status,
			  const char *detail)
{
	struct buf addr = BUF_INIT;
	char line[700];

	if (s->pending_rcpt.to.domain[0] == '\0')
		buf_printf(&addr, "postmaster@%s", proc_cfg.domains.v[0]);
	else
		mail_addr_format(&s->pending_rcpt.to, &addr);
	switch (status) {
	case RCPT_OK:
		rcpt_accept(s, buf_cstr(&addr));
		s->nlocal++;
		break;
	case RCPT_NOT_LOCAL:
		if (smtp_server_relay_allowed(s)) {
			log_info("session=%s event=relay to=<%s> client=%s", s->id,
				 buf_cstr(&addr), s->ip);
			rcpt_accept(s, buf_cstr(&addr));
			break;
		}
		snprintf(line, sizeof(line), "554 5.7.1 <%s>: Relay access denied",
			 buf_cstr(&addr));
		smtp_cmd_bad(s, line);
		break;
	case RCPT_UNKNOWN:
		snprintf(line, sizeof(line), "550 5.1.1 <%s>: Recipient address "
			 "rejected: User unknown", buf_cstr(&addr));
		smtp_cmd_bad(s, line);
		break;
	case RCPT_LOOP:
		snprintf(line, sizeof(line), "550 5.4.6 <%s>: Alias loop", buf_cstr(&addr));
		smtp_cmd_bad(s, line);
		break;
	default:
		smtp_reply(s, "451 4.3.0 <%s>: Temporary lookup failure, try again later",
			   buf_cstr(&addr));
		log_warn("session=%s event=tempfail to=<%s> reason=\"%s\"", s->id,
			 buf_cstr(&addr), detail);
		break;
	}
	buf_free(&addr);
}

static void run_data(struct smtp_session *s, const char *arg)
{
	if (*arg != '\0') {
		smtp_cmd_bad(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->bdat_active) {
		smtp_cmd_bad(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	smtp_msg_begin(s, false);
}

static void run_bdat(struct smtp_session *s, const char *arg)
{
	struct smtp_error err;
	uint64_t size;
	bool last;

	if (smtp_parse_bdat(arg, &size, &last, &err) < 0) {
		/* Without a size the chunk cannot be skipped: end it here. */
		reply_error(s, &err);
		smtp_session_close(s, "bad BDAT");
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	if (!s->esmtp || !s->have_mail || s->env.nrcpts == 0 || s->bdat_failed) {
		/* RFC 3030 §2: the chunk is read and then refused. */
		s->bdat_failed = true;
		s->state = SMTP_ST_BDAT;
		return;
	}
	if (!s->bdat_active) {
		s->bdat_active = true;
		smtp_msg_begin(s, true);
		return;
	}
	s->state = SMTP_ST_BDAT;
}

static void run_rset(struct smtp_session *s, const char *arg)
{
	(void)arg;
	smtp_transaction_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void run_noop(struct smtp_session *s, const char *arg)
{
	(void)arg;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void run_quit(struct smtp_session *s, const char *arg)
{
	(void)arg;
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_session_close(s, NULL);
}

static void run_help(struct smtp_session *s, const char *arg)
{
	(void)arg;
	smtp_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET "
		   "NOOP QUIT HELP VRFY STARTTLS; see RFC 5321");
}

static void run_vrfy(struct smtp_session *s, const char *arg)
{
	(void)arg;
	/* RFC 5321 3.5.3: 252 without telling who exists. */
	smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message "
		   "and attempt delivery");
}

static void run_expn(struct smtp_session *s, const char *arg)
{
	(void)arg;
	smtp_cmd_bad(s, "502 5.5.1 Error: EXPN is disabled");
}

static void run_starttls(struct smtp_session *s, const char *arg)
{
	if (*arg != '\0') {
		smtp_cmd_bad(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->ssl != NULL) {
		smtp_cmd_bad(s, "503 5.5.1 Error: TLS already active");
		return;
	}
	if (smtp_server_tls() == NULL || smtp_local_is_local(s)) {
		smtp_reply(s, "454 4.7.0 TLS not available due to local problem");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_session_starttls(s);
}

static const struct smtp_cmd commands[] = {
	{ SMTP_CMD_HELO, 0, run_helo },
	{ SMTP_CMD_EHLO, 0, run_ehlo },
	{ SMTP_CMD_MAIL, NEED_HELO | NO_MAIL, run_mail },
	{ SMTP_CMD_RCPT, NEED_MAIL, run_rcpt },
	{ SMTP_CMD_DATA, NEED_RCPT, run_data },
	{ SMTP_CMD_BDAT, 0, run_bdat },
	{ SMTP_CMD_RSET, 0, run_rset },
	{ SMTP_CMD_NOOP, 0, run_noop },
	{ SMTP_CMD_QUIT, 0, run_quit },
	{ SMTP_CMD_HELP, 0, run_help },
	{ SMTP_CMD_VRFY, 0, run_vrfy },
	{ SMTP_CMD_EXPN, 0, run_expn },
	{ SMTP_CMD_STARTTLS, NEED_HELO | NO_MAIL, run_starttls },
	{ SMTP_CMD_AUTH, NO_MAIL, smtp_auth_run },
};

/* The state checks of the table, with RFC 5321 4.3.2's 503 replies. */
static bool check(struct smtp_session *s, unsigned needs)
{
	if ((needs & NEED_HELO) && !s->have_helo) {
		smtp_cmd_bad(s, "503 5.5.1 Error: send HELO/EHLO first");
		return false;
	}
	if ((needs & NO_MAIL) && s->have_mail) {
		smtp_cmd_bad(s, "503 5.5.1 Error: nested MAIL command");
		return false;
	}
	if ((needs & (NEED_MAIL | NEED_RCPT)) && !s->have_mail) {
		smtp_cmd_bad(s, "503 5.5.1 Error: need MAIL command");
		return false;
	}
	if ((needs & NEED_RCPT) && s->env.nrcpts == 0) {
		smtp_cmd_bad(s, "554 5.5.1 Error: no valid recipients");
		return false;
	}
	return true;
}

void smtp_cmd_dispatch(struct smtp_session *s, char *line, size_t len)
{
	struct smtp_command cmd;

	s->commands++;
	if (s->quit_after_transaction && !s->have_mail) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
			   proc_cfg.hostname);
		smtp_session_close(s, "shutdown");
		return;
	}
	if (smtp_command_parse(line, len, &cmd) < 0) {
		smtp_cmd_bad(s, "500 5.5.2 Error: bad syntax");
		return;
	}
	log_debug("session=%s command=%s", s->id, cmd.verb_text);
	if (len + 2 > proc_cfg.smtp_max_command_line && cmd.verb != SMTP_CMD_AUTH) {
		/* only AUTH may be longer (smtp_session.c read_command) */
		smtp_cmd_bad(s, "500 5.5.2 Line too long");
		return;
	}
	if (cmd.syntax_error) {
		/* "MAIL" without "FROM:", "RCPT" without "TO:" */
		smtp_cmd_bad(s, "501 5.5.4 Syntax error in parameters");
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].verb != cmd.verb)
			continue;
		if (check(s, commands[i].needs))
			commands[i].run(s, cmd.arg);
		return;
	}
	smtp_cmd_bad(s, "500 5.5.2 Error: command not recognized");
}
