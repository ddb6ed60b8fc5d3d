/* smtp_auth: the AUTH command (RFC 4954) on the submission ports. The
 * SASL mechanisms run in the auth process (auth/auth_client.h); this
 * file relays the exchange: 334 challenges in base64, the client's
 * answers, and the 235/535/454 outcome. Passwords never stay here longer
 * than one step and are wiped after it. */
#include "smtp/smtp_session.h"

#include <openssl/ssl.h>
#include <string.h>

#include "auth/auth_client.h"
#include "auth/sasl.h"
#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/str.h"

#define SMTP_EXPORTER_LEN 32	/* RFC 9266 §2: tls-exporter, 32 bytes */

static uint32_t next_conn = 1;

/* RFC 9266: the tls-exporter channel binding; -1 when there is none
 * (no TLS, or TLS 1.2 without extended master secret, RFC 7627). */
static int tls_exporter(const struct smtp_session *s,
			unsigned char out[SMTP_EXPORTER_LEN])
{
	static const char label[] = "EXPORTER-Channel-Binding";

	if (s->ssl == NULL || SSL_version(s->ssl) < TLS1_2_VERSION)
		return -1;
	if (SSL_version(s->ssl) == TLS1_2_VERSION &&
	    !SSL_get_extms_support(s->ssl))
		return -1;
	return SSL_export_keying_material(s->ssl, out, SMTP_EXPORTER_LEN, label,
					  sizeof(label) - 1, NULL, 0, 1) == 1 ?
	       0 : -1;
}

const char *smtp_auth_mechanisms(const struct smtp_session *s)
{
	unsigned char cb[SMTP_EXPORTER_LEN];

	if (!smtp_submit_is_submission(s) || !smtp_submit_tls_ok(s))
		return NULL;
	if (tls_exporter(s, cb) == 0)
		return "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS";
	return "PLAIN LOGIN SCRAM-SHA-256";
}

/* Send one step to the auth process and wait for its answer. */
static void step(struct smtp_session *s, unsigned flags, const char *mech,
		 const struct buf *resp)
{
	unsigned char cb[SMTP_EXPORTER_LEN];
	struct auth_step st = {
		.conn = s->conn_id, .service = AUTH_SVC_SUBMISSION, .ip = s->ip,
		.flags = flags | (s->ssl != NULL ? AUTH_F_TLS : 0), .mech = mech,
		.resp = (const uint8_t *)resp->ptr, .resp_len = resp->len,
		.cb = cb, .cb_len = tls_exporter(s, cb) == 0 ? sizeof(cb) : 0,
	};
	struct buf m = BUF_INIT;
	uint32_t id;

	auth_client_step_build(&m, &st);
	id = smtp_server_request(s, PROC_AUTH, MSG_AUTH_STEP, &m, SMTP_WAIT_AUTH);
	explicit_bzero(m.ptr, m.len);
	buf_free(&m);
	if (id == 0) {
		s->sasl_started = false;
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
	}
}

static void wipe(struct buf *b)
{
	if (b->ptr != NULL)
		explicit_bzero(b->ptr, b->cap);
	buf_free(b);
}

/* The mechanism name, upper-cased, if we offer it; else false. */
static bool pick_mech(struct smtp_session *s, const char *name, size_t n)
{
	const char *offered = smtp_auth_mechanisms(s);
	char up[sizeof(s->sasl_mech)];

	if (n == 0 || n >= sizeof(up))
		return false;
	for (size_t i = 0; i < n; i++)
		up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	up[n] = '\0';
	for (const char *p = offered; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");
		if (len == n && memcmp(p, up, n) == 0) {
			str_copy(s->sasl_mech, sizeof(s->sasl_mech), up);
			return true;
		}
		p += len + (p[len] == ' ');
	}
	return false;
}

/* The state checks of RFC 4954 §4 ("503" cases) and RFC 3207 §4. */
static bool auth_allowed(struct smtp_session *s)
{
	if (!smtp_submit_is_submission(s)) {
		smtp_cmd_bad(s, "503 5.5.1 Error: authentication not enabled");
		return false;
	}
	if (!smtp_submit_tls_ok(s)) {
		smtp_cmd_bad(s, "530 5.7.0 Must issue a STARTTLS command first");
		return false;
	}
	if (!s->esmtp) {
		smtp_cmd_bad(s, "503 5.5.1 Error: send EHLO first");
		return false;
	}
	if (s->authenticated) {
		smtp_cmd_bad(s, "503 5.5.1 Error: already authenticated");
		return false;
	}
	return true;
}

/* RFC 4954 §4: AUTH mechanism [initial-response]; "=" is an empty one. */
void smtp_auth_run(struct smtp_session *s, const char *arg)
{
	size_t n = strcspn(arg, " ");
	const char *ir = arg[n] == ' ' ? arg + n + 1 : NULL;
	struct buf resp = BUF_INIT;

	if (!auth_allowed(s))
		return;
	if (!pick_mech(s, arg, n)) {
		smtp_cmd_bad(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	if (ir != NULL && strcmp(ir, "=") != 0 &&
	    sasl_b64_decode(ir, strlen(ir), &resp) < 0) {
		smtp_cmd_bad(s, "501 5.5.2 Cannot decode response");
		wipe(&resp);
		return;
	}
	s->conn_id = next_conn++;
	if (next_conn == 0)
		next_conn = 1;
	s->sasl_started = true;
	step(s, AUTH_F_FIRST | (ir == NULL ? AUTH_F_NO_IR : 0), s->sasl_mech, &resp);
	wipe(&resp);
}

/* RFC 4954 §4: a response line; "*" cancels the exchange. */
void smtp_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	struct buf resp = BUF_INIT;

	s->in_sasl = false;
	if (len == 1 && line[0] == '*') {
		smtp_auth_gone(s);
		smtp_cmd_bad(s, "501 5.0.0 Authentication cancelled");
		return;
	}
	if (sasl_b64_decode(line, len, &resp) < 0) {
		smtp_auth_gone(s);
		smtp_cmd_bad(s, "501 5.5.2 Cannot decode response");
		wipe(&resp);
		return;
	}
	step(s, 0, "", &resp);
	wipe(&resp);
}

static void auth_ok(struct smtp_session *s, const struct auth_reply *r)
{
	s->authenticated = true;
	s->account = r->account;
	str_copy(s->auth_user, sizeof(s->auth_user), r->address);
	log_info("session=%s event=login user=<%s> mech=%s client=%s", s->id,
		 s->auth_user, s->sasl_mech, s->ip);
	smtp_reply(s, "235 2.7.0 Authentication successful");
}

void smtp_auth_reply(struct smtp_session *s, const uint8_t *data, size_t len)
{
	struct auth_reply r = { .status = AUTH_TEMPFAIL, .reason = "auth unavailable" };
	struct buf line = BUF_INIT;

	if (data != NULL && auth_client_reply_parse(data, len, &r) < 0)
		r = (struct auth_reply){ .status = AUTH_TEMPFAIL, .reason = "bad reply" };
	s->sasl_started = r.status == AUTH_CONTINUE;
	if (s->dead)
		return;
	switch (r.status) {
	case AUTH_CONTINUE:
		buf_appends(&line, "334 ");
		sasl_b64_encode(r.challenge, r.challenge_len, &line);
		smtp_reply(s, "%s", buf_cstr(&line));
		s->in_sasl = true;
		break;
	case AUTH_OK:
		auth_ok(s, &r);
		break;
	case AUTH_FAIL:
		log_info("session=%s event=login-failed mech=%s client=%s reason=\"%s\"",
			 s->id, s->sasl_mech, s->ip, r.reason);
		smtp_cmd_bad(s, "535 5.7.8 Error: authentication credentials invalid");
		break;
	default:
		log_warn("session=%s event=login-tempfail client=%s reason=\"%s\"",
			 s->id, s->ip, r.reason);
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	buf_free(&line);
}

void smtp_auth_gone(struct smtp_session *s)
{
	if (s->sasl_started)
		auth_client_cancel(s->conn_id);
	s->sasl_started = false;
	s->in_sasl = false;
}
