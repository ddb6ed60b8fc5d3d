/* pop3_login: USER/PASS (RFC 1939 §7) and AUTH (RFC 5034) through the
 * auth process (auth/auth_client.h): USER/PASS travel as SASL PLAIN. The
 * auth process checks, throttles and logs; a login that succeeds opens
 * and locks the maildrop (pop3_maildrop.c). Before TLS nothing here is
 * allowed unless plaintext logins are allowed on loopback (RFC 2595 §4). */
#include "pop3/pop3_private.h"

#include <stdlib.h>
#include <string.h>

#include "auth/auth_client.h"
#include "auth/sasl.h"
#include "imap/imap_server.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#define MECH_NAME_MAX 32

/* The mechanisms of the auth process (auth/sasl.h); -PLUS only with a
 * tls-exporter value (RFC 9266) to bind to. */
static const char *const mechs[] = {
	"PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
};

/* Free a buffer that held a password or a SASL response. */
static void wipe_free(struct buf *b)
{
	if (b->ptr != NULL)
		explicit_bzero(b->ptr, b->cap);
	buf_free(b);
}

static size_t exporter(struct pop3_session *s, unsigned char cb[32])
{
	return s->tls && conn_tls_exporter(s->conn, cb) == 0 ? 32 : 0;
}

static bool mech_offered(struct pop3_session *s, const char *name)
{
	unsigned char cb[32];

	if (strcmp(name, "SCRAM-SHA-256-PLUS") == 0)
		return exporter(s, cb) > 0;
	return true;
}

void pop3_login_mechs(struct pop3_session *s, struct buf *out)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (!mech_offered(s, mechs[i]))
			continue;
		if (!first)
			buf_appendc(out, ' ');
		buf_appends(out, mechs[i]);
		first = false;
	}
}

static void command_mode(struct pop3_session *s)
{
	s->mode = POP3_MODE_COMMAND;
	pop3_line_set_max(&s->line, POP3_LINE_MAX);
}

void pop3_login_end(struct pop3_session *s)
{
	if (s->mode == POP3_MODE_WAIT) {
		imap_server_auth_forget(s->reqid);
		auth_client_cancel(s->conn_id);
	} else if (s->mode == POP3_MODE_SASL) {
		auth_client_cancel(s->conn_id);
	}
	command_mode(s);
	free(s->user_arg);
	s->user_arg = NULL;
}

static void challenge(struct pop3_session *s, const uint8_t *data, size_t len)
{
	struct buf line = BUF_INIT;

	/* RFC 5034 §4: "+" SP base64 challenge */
	buf_appends(&line, "+ ");
	sasl_b64_encode(data, len, &line);
	buf_appends(&line, "\r\n");
	pop3_write(s, line.ptr, line.len);
	buf_free(&line);
	s->mode = POP3_MODE_SASL;
	pop3_line_set_max(&s->line, POP3_SASL_LINE_MAX);
}

static void auth_answer(void *ctx, const uint8_t *data, size_t len)
{
	struct pop3_session *s = ctx;
	struct auth_reply r;

	command_mode(s);
	if (data == NULL || auth_client_reply_parse(data, len, &r) < 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] login service unavailable");
	} else if (r.status == AUTH_CONTINUE) {
		challenge(s, r.challenge, r.challenge_len);
	} else if (r.status == AUTH_OK) {
		pop3_maildrop_open(s, r.account, r.address);
	} else if (r.status == AUTH_TEMPFAIL) {
		pop3_reply(s, "-ERR [SYS/TEMP] temporary failure, try again later");
	} else {
		log_info("session=%s event=login-failed client=%s reason=\"%s\"",
			 s->id, s->ip, r.reason);
		/* RFC 3206 §4: [AUTH] means the credentials are wrong */
		pop3_cmd_bad(s, "[AUTH] authentication failed");
	}
	pop3_session_resume(s);
}

/* Send one SASL step to auth and wait for its answer. */
static void auth_step(struct pop3_session *s, unsigned flags, const char *mech,
		      const void *resp, size_t len)
{
	unsigned char cb[32];
	struct auth_step st = {
		.conn = s->conn_id, .service = AUTH_SVC_POP3, .ip = s->ip,
		.flags = flags | (s->tls ? AUTH_F_TLS : 0), .mech = mech,
		.resp = resp, .resp_len = len, .cb = cb,
		.cb_len = exporter(s, cb),
	};
	struct buf m = BUF_INIT;

	auth_client_step_build(&m, &st);
	s->reqid = imap_server_auth_send(&m, auth_answer, s);
	wipe_free(&m);
	if (s->reqid == 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] login service unavailable");
		return;
	}
	s->mode = POP3_MODE_WAIT;
}

static bool login_allowed(struct pop3_session *s)
{
	if (pop3_plaintext_ok(s))
		return true;
	/* RFC 2595 §4: no password before TLS; not [AUTH]: the password
	 * itself is not known to be wrong (RFC 3206 §4) */
	pop3_reply(s, "-ERR STLS required before login");
	return false;
}

void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *c)
{
	if (!login_allowed(s))
		return;
	free(s->user_arg);
	s->user_arg = xstrdup(c->arg[0]);
	pop3_reply(s, "+OK send PASS");
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *c)
{
	struct buf resp = BUF_INIT;

	if (!login_allowed(s))
		return;
	if (s->user_arg == NULL) {
		pop3_cmd_bad(s, "USER first");
		return;
	}
	/* PLAIN: authzid NUL authcid NUL password */
	buf_appendc(&resp, '\0');
	buf_appends(&resp, s->user_arg);
	buf_appendc(&resp, '\0');
	buf_append(&resp, c->arg[0], c->arglen[0]);
	explicit_bzero((char *)c->arg[0], c->arglen[0]);
	free(s->user_arg);	/* RFC 1939 §7: a failed PASS starts over */
	s->user_arg = NULL;
	auth_step(s, AUTH_F_FIRST, "PLAIN", resp.ptr, resp.len);
	wipe_free(&resp);
}

/* AUTH without a mechanism: "+OK", one mechanism a line, "." (as deployed
 * clients expect; none are listed while logins are refused). */
static void auth_list(struct pop3_session *s)
{
	struct buf out = BUF_INIT;

	buf_appends(&out, "+OK\r\n");
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (pop3_plaintext_ok(s) && mech_offered(s, mechs[i]))
			buf_printf(&out, "%s\r\n", mechs[i]);
	buf_appends(&out, ".\r\n");
	pop3_write(s, out.ptr, out.len);
	buf_free(&out);
}

/* RFC 5034 §4: AUTH mechanism [initial-response] ("=" = empty). */
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *c)
{
	char name[MECH_NAME_MAX];
	struct buf resp = BUF_INIT;
	bool offered = false;

	if (c->nargs == 0) {
		auth_list(s);
		return;
	}
	if (!login_allowed(s))
		return;
	if (str_copy(name, sizeof(name), c->arg[0]) == 0) {
		for (char *p = name; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
			if (strcmp(name, mechs[i]) == 0)
				offered = mech_offered(s, name);
	}
	if (!offered) {
		pop3_cmd_bad(s, "unsupported mechanism");
		return;
	}
	if (c->nargs == 2 &&
	    pop3_sasl_initial(c->arg[1], c->arglen[1], &resp) != POP3_SASL_DATA) {
		pop3_cmd_bad(s, "invalid base64");
		return;
	}
	auth_step(s, AUTH_F_FIRST | (c->nargs == 2 ? 0 : AUTH_F_NO_IR), name,
		  resp.ptr, resp.len);
	wipe_free(&resp);
}

void pop3_login_sasl_fail(struct pop3_session *s, const char *why)
{
	auth_client_cancel(s->conn_id);
	command_mode(s);
	pop3_cmd_bad(s, "%s", why);
}

void pop3_login_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	struct buf resp = BUF_INIT;

	switch (pop3_sasl_line(line, len, &resp)) {
	case POP3_SASL_CANCEL:
		auth_client_cancel(s->conn_id);
		command_mode(s);
		pop3_reply(s, "-ERR authentication cancelled");
		break;
	case POP3_SASL_BAD:
		pop3_login_sasl_fail(s, "invalid base64");
		break;
	case POP3_SASL_DATA:
		command_mode(s);
		auth_step(s, 0, "", resp.ptr, resp.len);
		break;
	}
	wipe_free(&resp);
}
