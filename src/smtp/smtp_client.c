/* smtp_client: the outbound SMTP protocol engine (see smtp_client.h).
 *
 * Every command written is remembered in a FIFO of pending replies, so the
 * same reply handlers serve pipelined (RFC 2920) and lock-step sessions;
 * settle() decides what comes next whenever the FIFO runs empty. */
#include "smtp/smtp_client.h"

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/str.h"
#include "lib/xalloc.h"

enum cmd { CMD_GREETING, CMD_EHLO, CMD_HELO, CMD_STARTTLS, CMD_AUTH,
	   CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_DATA_END, CMD_BDAT, CMD_BDAT_LAST,
	   CMD_RSET, CMD_QUIT };

enum tx_phase { TX_NONE, TX_ENVELOPE, TX_BODY, TX_END, TX_RSET, TX_DONE };

struct pending {
	enum cmd cmd;
	size_t rcpt;
};

struct smtp_client {
	struct smtp_client_params params;
	enum smtp_client_state state;
	struct buf out;
	struct smtp_reply_parser parser;
	struct pending *pending;	/* FIFO: pending[head .. npending) */
	size_t head, npending, pending_cap;
	unsigned ext;
	uint64_t size_limit;
	bool tls;
	int auth_step;			/* AUTH LOGIN: 0 user next, 1 password next */
	struct buf error;
	bool error_perm;
	/* the transaction */
	const struct smtp_client_msg *msg;
	struct smtp_client_result *res;
	bool *accepted;
	size_t nres;
	enum tx_phase phase;
	size_t next_rcpt, naccepted;
	bool mail_sent, data_sent, tx_failed, chunking;
	bool line_start, prev_cr;	/* dot-stuffing / LF -> CRLF state */
	struct buf chunk;		/* BDAT data not yet sent */
};

static void settle(struct smtp_client *c);

struct smtp_client *smtp_client_new(const struct smtp_client_params *params)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));

	c->params = *params;
	c->tls = params->tls_active;
	c->state = SMTP_CLIENT_BUSY;
	smtp_reply_parser_init(&c->parser);
	c->pending_cap = 16;
	c->pending = xreallocarray(NULL, c->pending_cap, sizeof(*c->pending));
	c->pending[0] = (struct pending){ CMD_GREETING, 0 };
	c->npending = 1;
	return c;
}

static void results_free(struct smtp_client *c)
{
	for (size_t i = 0; i < c->nres; i++)
		buf_free(&c->res[i].reply);
	free(c->res);
	free(c->accepted);
	c->res = NULL;
	c->accepted = NULL;
	c->nres = 0;
}

void smtp_client_free(struct smtp_client *c)
{
	if (c == NULL)
		return;
	results_free(c);
	buf_free(&c->out);
	buf_free(&c->error);
	buf_free(&c->chunk);
	smtp_reply_parser_free(&c->parser);
	free(c->pending);
	free(c);
}

enum smtp_client_state smtp_client_state(const struct smtp_client *c) { return c->state; }
struct buf *smtp_client_output(struct smtp_client *c) { return &c->out; }
unsigned smtp_client_ext(const struct smtp_client *c) { return c->ext; }
uint64_t smtp_client_size_limit(const struct smtp_client *c) { return c->size_limit; }
bool smtp_client_tls(const struct smtp_client *c) { return c->tls; }

const char *smtp_client_error(const struct smtp_client *c, bool *permanent)
{
	if (permanent != NULL)
		*permanent = c->error_perm;
	return buf_cstr(&c->error);
}

const struct smtp_client_result *smtp_client_rcpt_result(const struct smtp_client *c,
							 size_t i)
{
	return i < c->nres ? &c->res[i] : NULL;
}

/* Write one command line and expect its reply. */
static void send_cmd(struct smtp_client *c, enum cmd cmd, size_t rcpt,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void send_cmd(struct smtp_client *c, enum cmd cmd, size_t rcpt,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	buf_appends(&c->out, "\r\n");
	if (c->head + c->npending == c->pending_cap) {
		memmove(c->pending, c->pending + c->head,
			c->npending * sizeof(*c->pending));
		c->head = 0;
		if (c->npending == c->pending_cap) {
			c->pending_cap *= 2;
			c->pending = xreallocarray(c->pending, c->pending_cap,
						   sizeof(*c->pending));
		}
	}
	c->pending[c->head + c->npending++] = (struct pending){ cmd, rcpt };
	c->state = c->state == SMTP_CLIENT_DATA ? c->state : SMTP_CLIENT_BUSY;
}

unsigned smtp_client_timeout(const struct smtp_client *c)
{
	if (c->state == SMTP_CLIENT_DATA)
		return SMTP_TIMEOUT_DATA_BLOCK;
	if (c->state != SMTP_CLIENT_BUSY || c->npending == 0)
		return 0;
	switch (c->pending[c->head].cmd) {
	case CMD_GREETING:	return SMTP_TIMEOUT_GREETING;
	case CMD_DATA:		return SMTP_TIMEOUT_DATA_INIT;
	case CMD_DATA_END:
	case CMD_BDAT:
	case CMD_BDAT_LAST:	return SMTP_TIMEOUT_DATA_END;
	default:		return SMTP_TIMEOUT_COMMAND;
	}
}

/* --- results --- */

/* The enhanced status of a reply, or one derived from its class. */
static void reply_status(int code, const char *enh, char out[SMTP_ENH_MAX])
{
	int cls = code / 100;

	if (enh != NULL && enh[0] != '\0')
		str_copy(out, SMTP_ENH_MAX, enh);
	else
		snprintf(out, SMTP_ENH_MAX, "%d.0.0", cls == 2 || cls == 5 ? cls : 4);
}

static void set_result(struct smtp_client *c, size_t i,
		       enum smtp_client_outcome o, int code, const char *status,
		       const char *text)
{
	struct smtp_client_result *r = &c->res[i];

	r->outcome = o;
	r->code = code;
	str_copy(r->status, sizeof(r->status), status);
	buf_reset(&r->reply);
	buf_appends(&r->reply, text);
}

/* Decide recipient i from a remote reply (2xx: delivered). */
static void result_from_reply(struct smtp_client *c, size_t i,
			      const struct smtp_reply *rp)
{
	struct smtp_client_result *r = &c->res[i];
	int cls = rp->code / 100;

	r->outcome = cls == 2 ? SMTP_RCPT_DELIVERED :
		     cls == 5 ? SMTP_RCPT_PERMFAIL : SMTP_RCPT_TEMPFAIL;
	r->code = rp->code;
	reply_status(rp->code, rp->enh, r->status);
	if (cls != 2 && cls != 5 && r->status[0] != '4')
		str_copy(r->status, sizeof(r->status), "4.0.0");
	buf_reset(&r->reply);
	smtp_reply_oneline(rp, &r->reply);
}

/* Every undecided recipient gets this local (non-remote) verdict. */
static void fail_open_rcpts(struct smtp_client *c, enum smtp_client_outcome o,
			    const char *status, const char *text)
{
	for (size_t i = 0; i < c->nres; i++)
		if (c->res[i].outcome == SMTP_RCPT_PENDING)
			set_result(c, i, o, 0, status, text);
}

/* The session cannot go on. quit: the dialogue is in step, say QUIT. */
static void fail_session(struct smtp_client *c, bool perm, const char *text,
			 bool quit)
{
	buf_reset(&c->error);
	buf_appends(&c->error, text);
	c->error_perm = perm;
	if (c->phase != TX_NONE && c->phase != TX_DONE)
		fail_open_rcpts(c, SMTP_RCPT_TEMPFAIL, "4.4.2", text);
	c->npending = 0;
	c->head = 0;
	if (quit)
		buf_appends(&c->out, "QUIT\r\n");
	c->state = SMTP_CLIENT_CLOSED;
}

static void fail_session_reply(struct smtp_client *c, const char *what,
			       const struct smtp_reply *r, bool quit)
{
	struct buf t = BUF_INIT;

	buf_printf(&t, "%s: ", what);
	smtp_reply_oneline(r, &t);
	fail_session(c, r->code / 100 == 5, buf_cstr(&t), quit);
	buf_free(&t);
}

void smtp_client_abort(struct smtp_client *c, const char *reason)
{
	if (c->state != SMTP_CLIENT_CLOSED)
		fail_session(c, false, reason, false);
}

/* --- session setup: greeting, EHLO, STARTTLS, AUTH --- */

/* RFC 5321 §4.1.1.1 EHLO keywords; RFC 4954 §3 AUTH (also "AUTH=" of old). */
static void parse_ehlo_line(struct smtp_client *c, const char *line, size_t len)
{
	char kw[32];
	size_t k = 0;

	while (k < len && k < sizeof(kw) - 1 && line[k] != ' ' && line[k] != '=') {
		kw[k] = line[k];
		k++;
	}
	kw[k] = '\0';
	static const struct { const char *name; unsigned bit; } exts[] = {
		{ "PIPELINING", SMTP_CEXT_PIPELINING }, { "SIZE", SMTP_CEXT_SIZE },
		{ "8BITMIME", SMTP_CEXT_8BITMIME }, { "SMTPUTF8", SMTP_CEXT_SMTPUTF8 },
		{ "CHUNKING", SMTP_CEXT_CHUNKING }, { "DSN", SMTP_CEXT_DSN },
		{ "ENHANCEDSTATUSCODES", SMTP_CEXT_ENHANCED },
		{ "STARTTLS", SMTP_CEXT_STARTTLS },
	};
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (str_ieq(kw, exts[i].name) && (k == len || exts[i].bit == SMTP_CEXT_SIZE))
			c->ext |= exts[i].bit;
	if (str_ieq(kw, "SIZE") && k < len) {
		char num[24];
		uint64_t v;
		size_t n = len - k - 1;

		if (n < sizeof(num)) {
			memcpy(num, line + k + 1, n);
			num[n] = '\0';
			if (str_to_u64(num, &v) == 0)
				c->size_limit = v;
		}
	}
	if (!str_ieq(kw, "AUTH"))
		return;
	for (size_t i = k; i < len;) {
		size_t j = i + 1;

		while (j < len && line[j] != ' ')
			j++;
		if (j - i - 1 == 5 && str_nieq(line + i + 1, "PLAIN", 5))
			c->ext |= SMTP_CEXT_AUTH_PLAIN;
		if (j - i - 1 == 5 && str_nieq(line + i + 1, "LOGIN", 5))
			c->ext |= SMTP_CEXT_AUTH_LOGIN;
		i = j;
	}
}

static void parse_ehlo(struct smtp_client *c, const struct smtp_reply *r)
{
	const char *t = buf_cstr(&r->text);
	const char *nl = strchr(t, '\n');	/* line 1 is the server's name */

	c->ext = 0;
	c->size_limit = 0;
	while (nl != NULL) {
		const char *line = nl + 1;

		nl = strchr(line, '\n');
		parse_ehlo_line(c, line, nl ? (size_t)(nl - line) : strlen(line));
	}
}

static void base64(struct buf *out, const char *data, size_t len)
{
	size_t start = out->len;

	buf_reserve(out, 4 * ((len + 2) / 3) + 1);
	out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->ptr + start,
					    (const unsigned char *)data, (int)len);
	out->ptr[out->len] = '\0';
}

/* RFC 4954 §4 with RFC 4616 PLAIN as the initial response, else LOGIN. */
static void start_auth(struct smtp_client *c)
{
	const struct smtp_client_params *p = &c->params;
	struct buf b = BUF_INIT;

	if (p->auth_user == NULL) {
		c->state = SMTP_CLIENT_READY;
		return;
	}
	if (!c->tls && !p->auth_without_tls)
		return fail_session(c, false, "AUTH refused: the connection is not encrypted", true);
	if (strlen(p->auth_user) > SMTP_CLIENT_CRED_MAX ||
	    strlen(p->auth_pass ? p->auth_pass : "") > SMTP_CLIENT_CRED_MAX)
		return fail_session(c, false, "AUTH credentials too long", true);
	if (c->ext & SMTP_CEXT_AUTH_PLAIN) {
		buf_appendc(&b, '\0');
		buf_appends(&b, p->auth_user);
		buf_appendc(&b, '\0');
		buf_appends(&b, p->auth_pass ? p->auth_pass : "");
		buf_appends(&c->out, "AUTH PLAIN ");
		base64(&c->out, b.ptr, b.len);
		send_cmd(c, CMD_AUTH, 0, "%s", "");
		xfree_secret(b.ptr, b.cap);
		return;
	}
	if (!(c->ext & SMTP_CEXT_AUTH_LOGIN))
		return fail_session(c, false, "AUTH: the server offers neither PLAIN nor LOGIN", true);
	c->auth_step = 0;
	send_cmd(c, CMD_AUTH, 0, "AUTH LOGIN");
}

static void after_ehlo(struct smtp_client *c)
{
	if (!c->tls && c->params.tls != SMTP_CLIENT_TLS_NONE &&
	    (c->ext & SMTP_CEXT_STARTTLS))
		send_cmd(c, CMD_STARTTLS, 0, "STARTTLS");
	else if (!c->tls && c->params.tls == SMTP_CLIENT_TLS_MUST)
		fail_session(c, false, "TLS is required but the server does not offer STARTTLS", true);
	else
		start_auth(c);
}

static void on_auth(struct smtp_client *c, const struct smtp_reply *r)
{
	const char *v;

	if (r->code == 235) {
		c->state = SMTP_CLIENT_READY;
		return;
	}
	if (r->code != 334 || c->auth_step > 1 || (c->ext & SMTP_CEXT_AUTH_PLAIN)) {
		fail_session_reply(c, "AUTH failed", r, true);
		c->error_perm = false;	/* a configuration problem: keep the mail */
		return;
	}
	v = c->auth_step++ == 0 ? c->params.auth_user : c->params.auth_pass;
	base64(&c->out, v ? v : "", v ? strlen(v) : 0);
	send_cmd(c, CMD_AUTH, 0, "%s", "");
}

static void on_setup_reply(struct smtp_client *c, enum cmd cmd,
			   const struct smtp_reply *r)
{
	int cls = r->code / 100;

	switch (cmd) {
	case CMD_GREETING:
		if (cls != 2)
			return fail_session_reply(c, "greeting", r, true);
		send_cmd(c, CMD_EHLO, 0, "EHLO %s", c->params.helo_name);
		return;
	case CMD_EHLO:	/* RFC 5321 §3.2: fall back to HELO on a 5xx */
		if (cls == 5) {
			c->ext = 0;
			send_cmd(c, CMD_HELO, 0, "HELO %s", c->params.helo_name);
			return;
		}
		if (cls != 2)
			return fail_session_reply(c, "EHLO", r, true);
		parse_ehlo(c, r);
		return after_ehlo(c);
	case CMD_HELO:
		if (cls != 2)
			return fail_session_reply(c, "HELO", r, true);
		return after_ehlo(c);
	case CMD_STARTTLS:	/* RFC 3207 §4 */
		if (r->code == 220) {
			c->state = SMTP_CLIENT_STARTTLS;
			return;
		}
		if (c->params.tls == SMTP_CLIENT_TLS_MUST)
			return fail_session_reply(c, "STARTTLS", r, true);
		return start_auth(c);
	default:
		return on_auth(c, r);
	}
}

void smtp_client_tls_started(struct smtp_client *c)
{
	if (c->state != SMTP_CLIENT_STARTTLS)
		return;
	/* RFC 3207 §4.2: forget everything learnt before TLS. */
	smtp_reply_parser_free(&c->parser);
	smtp_reply_parser_init(&c->parser);
	c->tls = true;
	c->ext = 0;
	send_cmd(c, CMD_EHLO, 0, "EHLO %s", c->params.helo_name);
}

void smtp_client_tls_failed(struct smtp_client *c, const char *reason)
{
	fail_session(c, false, reason, false);
}

/* --- the mail transaction --- */

/* RFC 3461 §4: xtext, '+' and '=' and anything outside 33..126 as +HH. */
static void xtext(struct buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 33 || ch > 126 || ch == '+' || ch == '=')
			buf_printf(out, "+%02X", ch);
		else
			buf_appendc(out, (char)ch);
	}
}

/* MAIL FROM with the parameters the peer supports. */
static void send_mail(struct smtp_client *c)
{
	const struct smtp_client_msg *m = c->msg;
	struct buf b = BUF_INIT;

	buf_printf(&b, "MAIL FROM:<%s>", m->sender);
	if ((c->ext & SMTP_CEXT_SIZE) && m->size > 0)		/* RFC 1870 §6 */
		buf_printf(&b, " SIZE=%llu", (unsigned long long)m->size);
	if (m->body == SMTP_BODY_8BITMIME)			/* RFC 6152 §2 */
		buf_appends(&b, " BODY=8BITMIME");
	if (m->smtputf8)					/* RFC 6531 §3.4 */
		buf_appends(&b, " SMTPUTF8");
	if (c->ext & SMTP_CEXT_DSN) {				/* RFC 3461 §4.3, 4.4 */
		if (m->ret != SMTP_RET_UNSPEC)
			buf_appends(&b, m->ret == SMTP_RET_FULL ? " RET=FULL" : " RET=HDRS");
		if (m->envid != NULL && m->envid[0] != '\0') {
			buf_appends(&b, " ENVID=");
			xtext(&b, m->envid);
		}
	}
	send_cmd(c, CMD_MAIL, 0, "%s", buf_cstr(&b));
	c->mail_sent = true;
	buf_free(&b);
}

/* RCPT TO with RFC 3461 §4.1 NOTIFY and §4.2 ORCPT when DSN is offered. */
static void send_rcpt(struct smtp_client *c, size_t i)
{
	const struct smtp_client_rcpt *r = &c->msg->rcpts[i];
	struct buf b = BUF_INIT;
	const char *semi;

	buf_printf(&b, "RCPT TO:<%s>", r->addr);
	if ((c->ext & SMTP_CEXT_DSN) && r->notify != 0) {
		if (r->notify & SMTP_NOTIFY_NEVER)
			buf_appends(&b, " NOTIFY=NEVER");
		else
			buf_printf(&b, " NOTIFY=%s%s%s%s%s",
				   r->notify & SMTP_NOTIFY_SUCCESS ? "SUCCESS" : "",
				   (r->notify & SMTP_NOTIFY_SUCCESS) &&
				   (r->notify & (SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY)) ? "," : "",
				   r->notify & SMTP_NOTIFY_FAILURE ? "FAILURE" : "",
				   (r->notify & SMTP_NOTIFY_FAILURE) &&
				   (r->notify & SMTP_NOTIFY_DELAY) ? "," : "",
				   r->notify & SMTP_NOTIFY_DELAY ? "DELAY" : "");
	}
	if ((c->ext & SMTP_CEXT_DSN) && r->orcpt != NULL &&
	    (semi = strchr(r->orcpt, ';')) != NULL) {
		buf_appends(&b, " ORCPT=");
		buf_append(&b, r->orcpt, (size_t)(semi - r->orcpt) + 1);
		xtext(&b, semi + 1);
	}
	send_cmd(c, CMD_RCPT, i, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* Send what may go now: all of the envelope when pipelining (RFC 2920
 * §3.1: DATA last in the group), else the next command only. */
static void tx_advance(struct smtp_client *c)
{
	bool pipe = c->ext & SMTP_CEXT_PIPELINING;

	if (!c->mail_sent) {
		send_mail(c);
		if (!pipe)
			return;
	}
	while (c->next_rcpt < c->msg->nrcpts) {
		send_rcpt(c, c->next_rcpt++);
		if (!pipe)
			return;
	}
	if (!c->chunking && !c->data_sent) {
		send_cmd(c, CMD_DATA, 0, "DATA");
		c->data_sent = true;
	}
}

static void tx_fail(struct smtp_client *c, const struct smtp_reply *r)
{
	if (c->tx_failed)
		return;
	c->tx_failed = true;
	for (size_t i = 0; i < c->nres; i++)
		if (c->res[i].outcome == SMTP_RCPT_PENDING) {
			result_from_reply(c, i, r);
			if (c->res[i].outcome == SMTP_RCPT_DELIVERED)
				set_result(c, i, SMTP_RCPT_TEMPFAIL, 0, "4.0.0",
					   buf_cstr(&c->res[i].reply));
		}
}

static void tx_done(struct smtp_client *c)
{
	c->phase = TX_DONE;
	c->state = SMTP_CLIENT_MSG_DONE;
}

/* A local verdict before anything is sent (RFC 6152 §3, RFC 6531 §3.4,
 * RFC 1870 §6.2): every recipient fails with it. */
static bool local_refusal(struct smtp_client *c)
{
	const struct smtp_client_msg *m = c->msg;
	const char *status = NULL, *text = NULL;

	if (m->body == SMTP_BODY_BINARYMIME) {
		status = "5.6.3";
		text = "binary message: BINARYMIME transport is not supported";
	} else if (m->body == SMTP_BODY_8BITMIME && !(c->ext & SMTP_CEXT_8BITMIME)) {
		status = "5.6.3";
		text = "8-bit message but the server does not offer 8BITMIME (not converted)";
	} else if (m->smtputf8 && !(c->ext & SMTP_CEXT_SMTPUTF8)) {
		status = "5.6.7";
		text = "the message needs SMTPUTF8 but the server does not offer it";
	} else if ((c->ext & SMTP_CEXT_SIZE) && c->size_limit > 0 &&
		   m->size > c->size_limit) {
		status = "5.3.4";
		text = "message larger than the server's fixed size limit (SIZE)";
	}
	if (status == NULL)
		return false;
	fail_open_rcpts(c, SMTP_RCPT_PERMFAIL, status, text);
	tx_done(c);
	return true;
}

void smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *msg)
{
	if (c->state != SMTP_CLIENT_READY && c->state != SMTP_CLIENT_MSG_DONE)
		return;
	results_free(c);
	c->msg = msg;
	c->nres = msg->nrcpts;
	c->res = xcalloc(msg->nrcpts ? msg->nrcpts : 1, sizeof(*c->res));
	c->accepted = xcalloc(msg->nrcpts ? msg->nrcpts : 1, sizeof(*c->accepted));
	c->phase = TX_ENVELOPE;
	c->next_rcpt = c->naccepted = 0;
	c->mail_sent = c->data_sent = c->tx_failed = false;
	c->chunking = (c->ext & SMTP_CEXT_CHUNKING) && !c->params.no_chunking;
	c->line_start = true;
	c->prev_cr = false;
	buf_reset(&c->chunk);
	if (msg->nrcpts == 0) {
		tx_done(c);
		return;
	}
	if (!local_refusal(c))
		tx_advance(c);
}

/* Append message bytes, LF -> CRLF, dot-stuffed for DATA (RFC 5321 §4.5.2). */
static void body_append(struct smtp_client *c, struct buf *to, const char *p,
			size_t n, bool stuff)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		if (stuff && c->line_start && ch == '.')
			buf_appendc(to, '.');
		if (ch == '\n' && !c->prev_cr)
			buf_appendc(to, '\r');
		buf_appendc(to, ch);
		c->prev_cr = ch == '\r';
		c->line_start = ch == '\n';
	}
}

/* RFC 3030 §2: BDAT <size> [LAST] then exactly size octets. */
static void send_bdat(struct smtp_client *c, bool last)
{
	send_cmd(c, last ? CMD_BDAT_LAST : CMD_BDAT, 0, "BDAT %zu%s",
		 c->chunk.len, last ? " LAST" : "");
	buf_append(&c->out, c->chunk.ptr, c->chunk.len);
	buf_reset(&c->chunk);
	if (!last && !(c->ext & SMTP_CEXT_PIPELINING))
		c->state = SMTP_CLIENT_BUSY;
}

void smtp_client_data(struct smtp_client *c, const char *data, size_t len)
{
	if (c->state != SMTP_CLIENT_DATA)
		return;
	if (!c->chunking) {
		body_append(c, &c->out, data, len, true);
		return;
	}
	body_append(c, &c->chunk, data, len, false);
	if (c->chunk.len >= SMTP_CLIENT_BDAT_CHUNK)
		send_bdat(c, false);
}

void smtp_client_data_end(struct smtp_client *c)
{
	if (c->state != SMTP_CLIENT_DATA)
		return;
	c->phase = TX_END;
	if (c->chunking) {
		send_bdat(c, true);
	} else {
		if (!c->line_start)
			buf_appends(&c->out, "\r\n");
		send_cmd(c, CMD_DATA_END, 0, ".");
	}
	c->state = SMTP_CLIENT_BUSY;
}

void smtp_client_quit(struct smtp_client *c)
{
	if (c->state != SMTP_CLIENT_READY && c->state != SMTP_CLIENT_MSG_DONE)
		return;
	c->phase = TX_NONE;
	send_cmd(c, CMD_QUIT, 0, "QUIT");
}

/* The final reply after the data: it decides the accepted recipients. */
static void on_data_end(struct smtp_client *c, const struct smtp_reply *r)
{
	if (c->tx_failed)
		return;
	for (size_t i = 0; i < c->nres; i++)
		if (c->accepted[i] && c->res[i].outcome == SMTP_RCPT_PENDING)
			result_from_reply(c, i, r);
}

static void on_tx_reply(struct smtp_client *c, struct pending p,
			const struct smtp_reply *r)
{
	int cls = r->code / 100;

	switch (p.cmd) {
	case CMD_MAIL:
	case CMD_BDAT:
		if (cls != 2)
			tx_fail(c, r);
		return;
	case CMD_RCPT:
		if (c->tx_failed || c->res[p.rcpt].outcome != SMTP_RCPT_PENDING)
			return;
		if (cls == 2) {
			c->accepted[p.rcpt] = true;
			c->naccepted++;
		} else
			result_from_reply(c, p.rcpt, r);
		return;
	case CMD_DATA:
		if (r->code != 354) {
			tx_fail(c, r);
		} else if (c->naccepted == 0 || c->tx_failed) {
			/* RFC 2920 §3.1: nothing to send: end the empty data */
			c->phase = TX_END;
			send_cmd(c, CMD_DATA_END, 0, ".");
		} else {
			c->phase = TX_BODY;
			c->state = SMTP_CLIENT_DATA;
		}
		return;
	case CMD_DATA_END:
	case CMD_BDAT_LAST:
		return on_data_end(c, r);
	case CMD_RSET:
		if (cls != 2)
			return fail_session_reply(c, "RSET", r, true);
		return tx_done(c);
	default:
		return;
	}
}

/* The FIFO ran empty during a transaction: what comes next. */
static void settle(struct smtp_client *c)
{
	switch (c->phase) {
	case TX_ENVELOPE:
		if (c->tx_failed || (c->next_rcpt == c->msg->nrcpts &&
				     c->naccepted == 0)) {
			c->phase = TX_RSET;
			send_cmd(c, CMD_RSET, 0, "RSET");
		} else if (c->chunking && c->next_rcpt == c->msg->nrcpts) {
			c->phase = TX_BODY;
			c->state = SMTP_CLIENT_DATA;
		} else
			tx_advance(c);
		return;
	case TX_BODY:	/* BDAT chunks answered */
		if (c->tx_failed) {
			c->phase = TX_RSET;
			c->state = SMTP_CLIENT_BUSY;
			send_cmd(c, CMD_RSET, 0, "RSET");
		} else
			c->state = SMTP_CLIENT_DATA;
		return;
	case TX_END:
		fail_open_rcpts(c, SMTP_RCPT_TEMPFAIL, "4.0.0", "no reply for this recipient");
		return tx_done(c);
	default:
		return;
	}
}

static void on_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	struct pending p;

	if (c->npending == 0)
		return fail_session_reply(c, "unexpected reply", r, false);
	p = c->pending[c->head++];
	if (--c->npending == 0)
		c->head = 0;
	if (r->code == 421 && p.cmd != CMD_QUIT)	/* RFC 5321 §3.8 */
		return fail_session_reply(c, "server closing", r, false);
	if (p.cmd == CMD_QUIT) {
		c->state = SMTP_CLIENT_CLOSED;
		return;
	}
	if (p.cmd <= CMD_AUTH)
		on_setup_reply(c, p.cmd, r);
	else
		on_tx_reply(c, p, r);
	if (c->npending == 0 && c->state != SMTP_CLIENT_CLOSED)
		settle(c);
}

void smtp_client_input(struct smtp_client *c, const char *data, size_t len)
{
	while (len > 0 && c->state != SMTP_CLIENT_CLOSED &&
	       c->state != SMTP_CLIENT_STARTTLS) {
		const char *err = NULL;
		size_t used;
		enum smtp_reply_status st;
		struct buf t = BUF_INIT;

		st = smtp_reply_feed(&c->parser, data, len, &used, &err);
		data += used;
		len -= used;
		if (st == SMTP_REPLY_DONE)
			on_reply(c, &c->parser.reply);
		if (st != SMTP_REPLY_ERROR)
			continue;
		buf_printf(&t, "protocol error: %s", err);
		fail_session(c, false, buf_cstr(&t), false);
		buf_free(&t);
	}
}
