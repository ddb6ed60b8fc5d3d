/* pop3_cmd: the POP3 command table with the state each command needs
 * (RFC 1939 §4-6), CAPA (RFC 2449 §5), STLS (RFC 2595 §4), NOOP, QUIT. */
#include "pop3/pop3_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/proc.h"
#include "imap/imap_server.h"
#include "lib/conn.h"
#include "lib/log.h"

#define ST_AUTHZ (1u << POP3_ST_AUTHORIZATION)
#define ST_TRANS (1u << POP3_ST_TRANSACTION)

typedef void command_fn(struct pop3_session *s, const struct pop3_command *c);

struct command {
	unsigned states;	/* where it is allowed; 0: not offered */
	command_fn *run;
};

void pop3_cmd_bad(struct pop3_session *s, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	pop3_reply(s, "-ERR %s", buf_cstr(&text));
	buf_free(&text);
	if (++s->bad_commands >= POP3_MAX_BAD_COMMANDS)
		pop3_session_close(s, "too many bad commands");
}

/* RFC 2449 §5, §6: what this session may use now. */
static void cmd_capa(struct pop3_session *s, const struct pop3_command *c)
{
	struct buf out = BUF_INIT;

	(void)c;
	buf_appends(&out, "+OK capability list follows\r\n"
		    "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
		    "PIPELINING\r\nEXPIRE NEVER\r\n");
	if (s->state == POP3_ST_AUTHORIZATION && pop3_plaintext_ok(s)) {
		/* RFC 2595 §4: no USER while it would expose the password */
		buf_appends(&out, "USER\r\nSASL ");
		pop3_login_mechs(s, &out);
		buf_appends(&out, "\r\n");
	}
	if (s->state == POP3_ST_AUTHORIZATION && !s->tls &&
	    s->service == SVC_POP3 && imap_server_tls() != NULL)
		buf_appends(&out, "STLS\r\n");
	buf_appends(&out, "IMPLEMENTATION mailkeep\r\n.\r\n");
	pop3_write(s, out.ptr, out.len);
	buf_free(&out);
}

/* RFC 2595 §4: STLS, then the client starts the TLS handshake. Whatever
 * it sent after STLS is discarded (conn_starttls, RFC 2595 §3.1). */
static void cmd_stls(struct pop3_session *s, const struct pop3_command *c)
{
	SSL_CTX *tls = imap_server_tls();

	(void)c;
	if (s->tls) {
		pop3_cmd_bad(s, "TLS is already active");
		return;
	}
	if (tls == NULL || s->service != SVC_POP3) {
		pop3_reply(s, "-ERR STLS not available");
		return;
	}
	pop3_reply(s, "+OK begin TLS negotiation");
	if (conn_starttls(s->conn, tls) < 0) {
		pop3_session_close(s, "STLS failed");
		return;
	}
	s->tls = true;
	pop3_line_reset(&s->line);
	pop3_login_end(s);	/* forget what was said in plaintext */
	log_info("session=%s event=starttls", s->id);
}

static void cmd_noop(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	pop3_reply(s, "+OK");
}

/* RFC 1939 §4 QUIT in AUTHORIZATION, §6 QUIT in TRANSACTION (UPDATE). */
static void cmd_quit(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	if (s->state == POP3_ST_TRANSACTION) {
		pop3_maildrop_update(s);
		return;
	}
	pop3_reply(s, "+OK %s mailkeep POP3 signing off", proc_cfg.hostname);
	pop3_session_close(s, NULL);
}

static const struct command commands[POP3_CMD_COUNT] = {
	[POP3_CMD_USER] = { ST_AUTHZ, pop3_cmd_user },
	[POP3_CMD_PASS] = { ST_AUTHZ, pop3_cmd_pass },
	[POP3_CMD_APOP] = { 0, NULL },		/* RFC 1939 §7: optional */
	[POP3_CMD_AUTH] = { ST_AUTHZ, pop3_cmd_auth },
	[POP3_CMD_CAPA] = { ST_AUTHZ | ST_TRANS, cmd_capa },
	[POP3_CMD_STLS] = { ST_AUTHZ, cmd_stls },
	[POP3_CMD_QUIT] = { ST_AUTHZ | ST_TRANS, cmd_quit },
	[POP3_CMD_STAT] = { ST_TRANS, pop3_cmd_stat },
	[POP3_CMD_LIST] = { ST_TRANS, pop3_cmd_list },
	[POP3_CMD_RETR] = { ST_TRANS, pop3_cmd_retr },
	[POP3_CMD_DELE] = { ST_TRANS, pop3_cmd_dele },
	[POP3_CMD_NOOP] = { ST_TRANS, cmd_noop },
	[POP3_CMD_RSET] = { ST_TRANS, pop3_cmd_rset },
	[POP3_CMD_TOP] = { ST_TRANS, pop3_cmd_retr },
	[POP3_CMD_UIDL] = { ST_TRANS, pop3_cmd_uidl },
};

void pop3_cmd_run(struct pop3_session *s, char *line, size_t len)
{
	struct pop3_command c;
	const struct command *cmd;
	const char *error = NULL;
	bool unknown;

	if (pop3_command_parse(line, len, &c, &unknown, &error) < 0) {
		pop3_cmd_bad(s, "%s", error);
		return;
	}
	cmd = &commands[c.verb];
	log_debug("session=%s command=%s", s->id, pop3_verb_name(c.verb));
	if (cmd->run == NULL) {
		pop3_cmd_bad(s, "%s is not supported", pop3_verb_name(c.verb));
		return;
	}
	if (!(cmd->states & (1u << s->state))) {
		pop3_cmd_bad(s, "%s is not allowed %s", pop3_verb_name(c.verb),
			     s->state == POP3_ST_AUTHORIZATION ? "before login" :
			     "after login");
		return;
	}
	cmd->run(s, &c);
}
