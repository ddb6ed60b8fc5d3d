/* imap_cmd: the command table, and the commands of every state: CAPABILITY,
 * NOOP, LOGOUT, ID, ENABLE, NAMESPACE, STARTTLS, LOGIN, AUTHENTICATE,
 * COMPRESS, IDLE (RFC 3501 §6.1-6.2, RFC 9051, RFC 2971, 5161, 2342, 4959,
 * 4978, 2177). */
#include "imap/imap_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_client.h"
#include "auth/sasl.h"
#include "daemon/proc.h"
#include "daemon/proto.h"
#include "imap/imap_quote.h"
#include "imap/imap_view.h"
#include "lib/conn.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#define IMAP_ID_FIELDS_MAX 30		/* RFC 2971 §3.3 */

/* --- capabilities --- */

void imap_capabilities(struct imap_session *s, struct buf *out)
{
	buf_appends(out, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE");
	if (s->state == IMAP_ST_NOAUTH) {
		if (!s->tls && imap_server_tls() != NULL)
			buf_appends(out, " STARTTLS");
		if (!imap_session_plaintext_ok(s))
			buf_appends(out, " LOGINDISABLED");
		else
			buf_appends(out, " AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256");
		if (s->tls && imap_session_plaintext_ok(s))
			buf_appends(out, " AUTH=SCRAM-SHA-256-PLUS");
		return;
	}
	buf_appends(out, " IDLE UIDPLUS MOVE CONDSTORE QRESYNC SPECIAL-USE"
		    " CREATE-SPECIAL-USE NAMESPACE UNSELECT CHILDREN LIST-EXTENDED"
		    " LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE BINARY UTF8=ACCEPT");
	if (!conn_compressed(s->conn))
		buf_appends(out, " COMPRESS=DEFLATE");
	buf_printf(out, " APPENDLIMIT=%llu",
		   (unsigned long long)proc_cfg.imap_max_append);
	if (proc_cfg.imap_quota > 0)
		buf_appends(out, " QUOTA QUOTA=RES-STORAGE");
}

static void cmd_capability(struct imap_session *s, const struct imap_command *c)
{
	struct buf caps = BUF_INIT;

	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "CAPABILITY takes no arguments");
		return;
	}
	imap_capabilities(s, &caps);
	imap_printf(s, "* CAPABILITY %s", buf_cstr(&caps));
	buf_free(&caps);
	imap_tagged(s, c->tag, "OK", "CAPABILITY completed");
}

static void cmd_noop(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "%s takes no arguments", c->name);
		return;
	}
	imap_view_sync(s, IMAP_SYNC_ALL);
	imap_tagged(s, c->tag, "OK", "%s completed", str_ieq(c->name, "CHECK") ?
		    "CHECK" : "NOOP");
}

static void cmd_logout(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "LOGOUT takes no arguments");
		return;
	}
	imap_printf(s, "* BYE %s logging out", proc_cfg.hostname);
	imap_tagged(s, c->tag, "OK", "LOGOUT completed");
	s->state = IMAP_ST_LOGOUT;
	imap_session_close(s, NULL);
}

/* RFC 2971: the client's fields are logged, ours sent. */
static void cmd_id(struct imap_session *s, const struct imap_command *c)
{
	const struct imap_arg *a = c->args;
	struct buf log = BUF_INIT;

	if (c->count != 1 || (a->type != IMAP_ARG_NIL && a->type != IMAP_ARG_LIST) ||
	    (a->type == IMAP_ARG_LIST &&
	     (a->count % 2 != 0 || a->count > 2 * IMAP_ID_FIELDS_MAX))) {
		imap_tagged(s, c->tag, "BAD", "ID takes NIL or a list of pairs");
		return;
	}
	for (unsigned i = 0; a->type == IMAP_ARG_LIST && i + 1 < a->count; i += 2) {
		const char *k, *v;
		size_t kl, vl;
		if (!imap_arg_astring(&a->list[i], &k, &kl) ||
		    !imap_arg_nstring(&a->list[i + 1], &v, &vl)) {
			imap_tagged(s, c->tag, "BAD", "ID fields are strings");
			buf_free(&log);
			return;
		}
		buf_printf(&log, " %.*s=\"", (int)(kl > 32 ? 32 : kl), k);
		imap_quote_human(&log, v ? v : "NIL", v ? (vl > 64 ? 64 : vl) : 3);
		buf_appendc(&log, '"');
	}
	log_info("session=%s event=client-id%s", s->id, buf_cstr(&log));
	buf_free(&log);
	imap_printf(s, "* ID (\"name\" \"mailkeep\" \"version\" \"%s\")",
		    MAILKEEP_VERSION);
	imap_tagged(s, c->tag, "OK", "ID completed");
}

/* RFC 5161 */
static void cmd_enable(struct imap_session *s, const struct imap_command *c)
{
	struct buf on = BUF_INIT;

	if (c->count == 0) {
		imap_tagged(s, c->tag, "BAD", "ENABLE needs capability names");
		return;
	}
	for (unsigned i = 0; i < c->count; i++) {
		const struct imap_arg *a = &c->args[i];
		unsigned bit = 0;
		if (a->type != IMAP_ARG_ATOM) {
			imap_tagged(s, c->tag, "BAD", "ENABLE takes atoms");
			buf_free(&on);
			return;
		}
		if (str_ieq(a->str, "CONDSTORE"))
			bit = IMAP_EN_CONDSTORE;
		else if (str_ieq(a->str, "QRESYNC"))
			bit = IMAP_EN_QRESYNC | IMAP_EN_CONDSTORE;
		else if (str_ieq(a->str, "IMAP4rev2"))
			bit = IMAP_EN_REV2;
		else if (str_ieq(a->str, "UTF8=ACCEPT"))
			bit = IMAP_EN_UTF8;
		if (bit == 0 || (s->enabled & bit) == bit)
			continue;	/* unknown or already on: not listed */
		s->enabled |= bit;
		buf_printf(&on, " %s", a->str);
	}
	imap_printf(s, "* ENABLED%s", buf_cstr(&on));
	buf_free(&on);
	imap_tagged(s, c->tag, "OK", "ENABLE completed");
}

/* RFC 2342: one personal namespace, hierarchy delimiter ".". */
static void cmd_namespace(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "NAMESPACE takes no arguments");
		return;
	}
	imap_printf(s, "* NAMESPACE ((\"\" \".\")) NIL NIL");
	imap_tagged(s, c->tag, "OK", "NAMESPACE completed");
}

/* RFC 3501 §6.2.1; whatever the client pipelined after it is discarded. */
static void cmd_starttls(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "STARTTLS takes no arguments");
		return;
	}
	if (s->tls || imap_server_tls() == NULL) {
		imap_tagged(s, c->tag, "BAD", "STARTTLS not available");
		return;
	}
	imap_tagged(s, c->tag, "OK", "Begin TLS negotiation now");
	if (conn_starttls(s->conn, imap_server_tls()) < 0) {
		imap_session_close(s, "STARTTLS failed");
		return;
	}
	s->tls = true;
	/* parse nothing more until the handshake; the parser is fresh */
	imap_parser_free(s->parser);
	s->parser = imap_parser_new(&imap_parser_limits_preauth, true);
}

/* RFC 4978 */
static void cmd_compress(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 1 || !imap_arg_atom_eq(&c->args[0], "DEFLATE")) {
		imap_tagged(s, c->tag, "BAD", "COMPRESS DEFLATE is the only method");
		return;
	}
	if (conn_compressed(s->conn)) {
		imap_tagged(s, c->tag, "NO", "[COMPRESSIONACTIVE] Already compressing");
		return;
	}
	imap_tagged(s, c->tag, "OK", "DEFLATE active");
	if (conn_compress(s->conn) < 0)
		imap_session_close(s, "COMPRESS failed");
}

/* --- IDLE (RFC 2177) --- */

static void cmd_idle(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "IDLE takes no arguments");
		return;
	}
	imap_view_sync(s, IMAP_SYNC_ALL);
	str_copy(s->tag, sizeof(s->tag), c->tag);
	s->mode = IMAP_MODE_IDLE;
	imap_printf(s, "+ idling");
}

void imap_cmd_idle_end(struct imap_session *s, bool done)
{
	s->mode = IMAP_MODE_COMMAND;
	if (!done) {
		imap_tagged(s, s->tag, "BAD", "Expected DONE");
		return;
	}
	imap_view_sync(s, IMAP_SYNC_ALL);
	imap_tagged(s, s->tag, "OK", "IDLE terminated");
}

/* --- logins: LOGIN and AUTHENTICATE go through the auth process --- */

static void account_join(struct imap_session *s, int64_t account,
			 const char *address)
{
	const char *why = NULL;
	struct imap_account *a = imap_server_account_get(account, &why);

	if (a == NULL) {
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Mailbox unavailable");
		return;
	}
	if (a->nimap >= proc_cfg.imap_max_connections_per_user) {
		imap_server_account_put(a);
		log_info("session=%s event=login-refused user=<%s> "
			 "reason=max_connections_per_user", s->id, address);
		imap_tagged(s, s->tag, "NO", "[LIMIT] Too many sessions for this account");
		return;
	}
	s->acct = a;
	s->acct_next = a->sessions;
	a->sessions = s;
	a->nimap++;
	s->user = xstrdup(address);
	s->state = IMAP_ST_AUTH;
	imap_parser_set_limits(s->parser, &imap_parser_limits_default);
	imap_session_set_timeout(s);
	log_info("session=%s event=login user=<%s> client=%s", s->id, address,
		 s->ip);
	{
		struct buf caps = BUF_INIT;
		imap_capabilities(s, &caps);
		imap_tagged(s, s->tag, "OK", "[CAPABILITY %s] Logged in",
			    buf_cstr(&caps));
		buf_free(&caps);
	}
}

void imap_account_leave(struct imap_session *s)
{
	struct imap_account *a = s->acct;

	if (a == NULL)
		return;
	for (struct imap_session **p = &a->sessions; *p != NULL;
	     p = &(*p)->acct_next)
		if (*p == s) {
			*p = s->acct_next;
			break;
		}
	a->nimap--;
	s->acct = NULL;
	imap_server_account_put(a);
}

static void auth_answer(void *ctx, const uint8_t *data, size_t len)
{
	struct imap_session *s = ctx;
	struct auth_reply r;

	s->mode = IMAP_MODE_COMMAND;
	if (s->dead) {
		imap_session_resume(s);		/* frees it */
		return;
	}
	if (data == NULL || auth_client_reply_parse(data, len, &r) < 0) {
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Login service unavailable");
		imap_session_resume(s);
		return;
	}
	switch (r.status) {
	case AUTH_CONTINUE: {
		struct buf line = BUF_INIT;
		buf_appends(&line, "+ ");
		sasl_b64_encode(r.challenge, r.challenge_len, &line);
		imap_printf(s, "%s", buf_cstr(&line));
		buf_free(&line);
		s->mode = IMAP_MODE_SASL;
		break;
	}
	case AUTH_OK:
		account_join(s, r.account, r.address);
		break;
	case AUTH_TEMPFAIL:
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Temporary failure, try again");
		break;
	default:
		log_info("session=%s event=login-failed client=%s reason=\"%s\"",
			 s->id, s->ip, r.reason);
		imap_tagged(s, s->tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	}
	imap_session_resume(s);
}

/* Send one SASL step to auth and wait for its answer. */
static void auth_step(struct imap_session *s, unsigned flags, const char *mech,
		      const void *resp, size_t len)
{
	unsigned char cb[32];
	struct auth_step st = {
		.conn = s->conn_id, .service = AUTH_SVC_IMAP, .ip = s->ip,
		.flags = flags | (s->tls ? AUTH_F_TLS : 0), .mech = mech,
		.resp = resp, .resp_len = len, .cb = cb,
		.cb_len = conn_tls_exporter(s->conn, cb) == 0 ? sizeof(cb) : 0,
	};
	struct buf m = BUF_INIT;

	auth_client_step_build(&m, &st);
	s->reqid = imap_server_auth_send(&m, auth_answer, s);
	buf_free(&m);
	if (s->reqid == 0) {
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Login service unavailable");
		return;
	}
	s->mode = IMAP_MODE_WAIT;
}

static bool login_allowed(struct imap_session *s, const char *tag)
{
	if (!imap_session_plaintext_ok(s)) {
		imap_tagged(s, tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
		return false;
	}
	return true;
}

static void cmd_login(struct imap_session *s, const struct imap_command *c)
{
	const char *user, *pass;
	size_t ul, pl;
	struct buf resp = BUF_INIT;

	if (c->count != 2 || !imap_arg_astring(&c->args[0], &user, &ul) ||
	    !imap_arg_astring(&c->args[1], &pass, &pl)) {
		imap_tagged(s, c->tag, "BAD", "LOGIN user password");
		return;
	}
	if (!login_allowed(s, c->tag))
		return;
	if (memchr(user, '\0', ul) || memchr(pass, '\0', pl)) {
		imap_tagged(s, c->tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	str_copy(s->tag, sizeof(s->tag), c->tag);
	/* PLAIN: authzid NUL authcid NUL password */
	buf_appendc(&resp, '\0');
	buf_append(&resp, user, ul);
	buf_appendc(&resp, '\0');
	buf_append(&resp, pass, pl);
	auth_step(s, AUTH_F_FIRST, "PLAIN", resp.ptr, resp.len);
	if (resp.ptr != NULL)
		explicit_bzero(resp.ptr, resp.len);
	buf_free(&resp);
}

/* RFC 3501 §6.2.2, RFC 4959 SASL-IR ("=" is an empty response). */
static void cmd_authenticate(struct imap_session *s, const struct imap_command *c)
{
	const char *mech, *ir = NULL;
	size_t ml, irl = 0;
	struct buf resp = BUF_INIT;
	char name[32];

	if (c->count < 1 || c->count > 2 || c->args[0].type != IMAP_ARG_ATOM ||
	    (c->count == 2 && !imap_arg_astring(&c->args[1], &ir, &irl))) {
		imap_tagged(s, c->tag, "BAD", "AUTHENTICATE mechanism [initial-response]");
		return;
	}
	mech = c->args[0].str;
	ml = c->args[0].len;
	if (!login_allowed(s, c->tag))
		return;
	if (ml >= sizeof(name)) {
		imap_tagged(s, c->tag, "NO", "Unsupported mechanism");
		return;
	}
	for (size_t i = 0; i <= ml; i++)
		name[i] = (char)(mech[i] >= 'a' && mech[i] <= 'z' ? mech[i] - 32 : mech[i]);
	if (strcmp(name, "PLAIN") != 0 && strcmp(name, "LOGIN") != 0 &&
	    strcmp(name, "SCRAM-SHA-256") != 0 &&
	    !(strcmp(name, "SCRAM-SHA-256-PLUS") == 0 && s->tls)) {
		imap_tagged(s, c->tag, "NO", "Unsupported mechanism");
		return;
	}
	str_copy(s->tag, sizeof(s->tag), c->tag);
	if (ir != NULL && !(irl == 1 && ir[0] == '=') &&
	    sasl_b64_decode(ir, irl, &resp) < 0) {
		imap_tagged(s, c->tag, "BAD", "Invalid base64");
		buf_free(&resp);
		return;
	}
	auth_step(s, AUTH_F_FIRST | (ir == NULL ? AUTH_F_NO_IR : 0), name,
		  resp.ptr, resp.len);
	if (resp.ptr != NULL)
		explicit_bzero(resp.ptr, resp.len);
	buf_free(&resp);
}

void imap_cmd_sasl_line(struct imap_session *s, const char *line, size_t len)
{
	struct buf resp = BUF_INIT;
	s->mode = IMAP_MODE_COMMAND;
	if (len == 1 && line[0] == '*') {
		auth_client_cancel(s->conn_id);
		imap_tagged(s, s->tag, "BAD", "Authentication cancelled");
		return;
	}
	if (sasl_b64_decode(line, len, &resp) < 0) {
		auth_client_cancel(s->conn_id);
		imap_tagged(s, s->tag, "BAD", "Invalid base64");
		buf_free(&resp);
		return;
	}
	auth_step(s, 0, "", resp.ptr, resp.len);
	if (resp.ptr != NULL)
		explicit_bzero(resp.ptr, resp.len);
	buf_free(&resp);
}

/* --- the table --- */

#define ST_NOAUTH   (1u << IMAP_ST_NOAUTH)
#define ST_AUTH     (1u << IMAP_ST_AUTH)
#define ST_SELECTED (1u << IMAP_ST_SELECTED)
#define ST_ANY      (ST_NOAUTH | ST_AUTH | ST_SELECTED)
#define ST_LOGGEDIN (ST_AUTH | ST_SELECTED)

struct command {
	const char *name;
	unsigned states;
	void (*run)(struct imap_session *s, const struct imap_command *c);
};

static const struct command commands[] = {
	{ "CAPABILITY", ST_ANY, cmd_capability },
	{ "NOOP", ST_ANY, cmd_noop },
	{ "LOGOUT", ST_ANY, cmd_logout },
	{ "ID", ST_ANY, cmd_id },
	{ "STARTTLS", ST_NOAUTH, cmd_starttls },
	{ "LOGIN", ST_NOAUTH, cmd_login },
	{ "AUTHENTICATE", ST_NOAUTH, cmd_authenticate },
	{ "ENABLE", ST_LOGGEDIN, cmd_enable },
	{ "NAMESPACE", ST_LOGGEDIN, cmd_namespace },
	{ "COMPRESS", ST_LOGGEDIN, cmd_compress },
	{ "IDLE", ST_LOGGEDIN, cmd_idle },
	{ "SELECT", ST_LOGGEDIN, imap_cmd_select },
	{ "EXAMINE", ST_LOGGEDIN, imap_cmd_select },
	{ "CREATE", ST_LOGGEDIN, imap_cmd_create },
	{ "DELETE", ST_LOGGEDIN, imap_cmd_delete },
	{ "RENAME", ST_LOGGEDIN, imap_cmd_rename },
	{ "SUBSCRIBE", ST_LOGGEDIN, imap_cmd_subscribe },
	{ "UNSUBSCRIBE", ST_LOGGEDIN, imap_cmd_subscribe },
	{ "LIST", ST_LOGGEDIN, imap_cmd_list },
	{ "LSUB", ST_LOGGEDIN, imap_cmd_list },
	{ "STATUS", ST_LOGGEDIN, imap_cmd_status },
	{ "APPEND", ST_LOGGEDIN, imap_cmd_append },
	{ "GETQUOTA", ST_LOGGEDIN, imap_cmd_quota },
	{ "GETQUOTAROOT", ST_LOGGEDIN, imap_cmd_quota },
	{ "CHECK", ST_SELECTED, cmd_noop },
	{ "CLOSE", ST_SELECTED, imap_cmd_close },
	{ "UNSELECT", ST_SELECTED, imap_cmd_close },
	{ "EXPUNGE", ST_SELECTED, imap_cmd_expunge },
	{ "FETCH", ST_SELECTED, imap_cmd_fetch },
	{ "STORE", ST_SELECTED, imap_cmd_store },
	{ "COPY", ST_SELECTED, imap_cmd_copy },
	{ "MOVE", ST_SELECTED, imap_cmd_copy },
	{ "SEARCH", ST_SELECTED, imap_cmd_search },
	{ "UID", ST_SELECTED, imap_cmd_uid },
};

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (str_ieq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void imap_cmd_run(struct imap_session *s, const struct imap_command *c)
{
	const struct command *cmd = find(c->name);

	if (cmd == NULL) {
		imap_tagged(s, c->tag, "BAD", "Unknown command");
		if (++s->bad_commands >= 20) {
			imap_printf(s, "* BYE Too many bad commands");
			imap_session_close(s, "too many bad commands");
		}
		return;
	}
	if (!(cmd->states & (1u << s->state))) {
		imap_tagged(s, c->tag, "BAD", "%s not allowed %s", cmd->name,
			    s->state == IMAP_ST_NOAUTH ? "before login" :
			    s->state == IMAP_ST_SELECTED ? "now" :
			    "without a selected mailbox");
		return;
	}
	cmd->run(s, c);
}

void imap_cmd_session_end(struct imap_session *s)
{
	imap_cmd_job_free(s);
	imap_cmd_append_abort(s);
	if (s->mode == IMAP_MODE_SASL)
		auth_client_cancel(s->conn_id);
}
