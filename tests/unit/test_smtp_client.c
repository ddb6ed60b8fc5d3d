/* Unit tests for src/smtp/smtp_reply and smtp_client: the reply parser
 * table (whole and byte by byte) and scripted servers, exchanged byte for
 * byte, each run with server input fed whole and one byte at a time and
 * the message fed in odd chunk sizes. */
#include "harness.h"

#include <stdlib.h>

#include "lib/xalloc.h"

#include "smtp/smtp_client.h"
#include "smtp/smtp_reply.h"

/* --- reply parser --- */

struct reply_case {
	const char *in;
	int code;		/* 0: must fail */
	const char *enh;
	const char *text;
	unsigned nlines;
};

static const struct reply_case reply_cases[] = {
	{ "250 OK\r\n", 250, "", "OK", 1 },
	{ "250\r\n", 250, "", "", 1 },
	{ "550 5.1.1 No such user\r\n", 550, "5.1.1", "5.1.1 No such user", 1 },
	{ "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n", 250, "",
	  "mx.example\nPIPELINING\nSIZE 100", 3 },
	{ "451 4.7.1 Greylisted\n", 451, "4.7.1", "4.7.1 Greylisted", 1 },
	{ "250 2.0.0\r\n", 250, "2.0.0", "2.0.0", 1 },
	{ "550 4.1.1 class mismatch\r\n", 550, "", "4.1.1 class mismatch", 1 },
	{ "550 5.1234.1 too long\r\n", 550, "", "5.1234.1 too long", 1 },
	{ "354 Go ahead\r\n", 354, "", "Go ahead", 1 },
	{ "25 short\r\n", 0, NULL, NULL, 0 },
	{ "abc\r\n", 0, NULL, NULL, 0 },
	{ "650 bad class\r\n", 0, NULL, NULL, 0 },
	{ "260 bad second digit\r\n", 0, NULL, NULL, 0 },
	{ "250xOK\r\n", 0, NULL, NULL, 0 },
	{ "250-a\r\n251 b\r\n", 0, NULL, NULL, 0 },
	{ "250 a\0b\r\n", 0, NULL, NULL, 0 },
};

/* Feed in pieces of step bytes; 1 complete, 0 incomplete, -1 error. */
static int feed_reply(struct smtp_reply_parser *p, const char *in, size_t len,
		      size_t step)
{
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < step ? len - off : step, used;
		const char *err = NULL;
		enum smtp_reply_status st = smtp_reply_feed(p, in + off, n, &used, &err);

		if (st == SMTP_REPLY_ERROR)
			return err != NULL ? -1 : -2;
		off += used;
		if (st == SMTP_REPLY_DONE)
			return off == len ? 1 : -3;
	}
	return 0;
}

TEST(reply_table)
{
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *t = &reply_cases[i];
		size_t len = strlen(t->in);

		if (i == sizeof(reply_cases) / sizeof(reply_cases[0]) - 1)
			len = 9;	/* the NUL case */
		for (size_t step = 1; step <= len; step += len - 1 > 0 ? len - 1 : 1) {
			struct smtp_reply_parser p;
			int r;

			smtp_reply_parser_init(&p);
			r = feed_reply(&p, t->in, len, step);
			if (t->code == 0) {
				CHECK_INTEQ(r, -1);
			} else {
				CHECK_INTEQ(r, 1);
				CHECK_INTEQ(p.reply.code, t->code);
				CHECK_STREQ(p.reply.enh, t->enh);
				CHECK_STREQ(buf_cstr(&p.reply.text), t->text);
				CHECK_INTEQ(p.reply.nlines, t->nlines);
			}
			smtp_reply_parser_free(&p);
			if (len == 1)
				break;
		}
	}
}

TEST(reply_limits_and_sequence)
{
	struct smtp_reply_parser p;
	struct buf b = BUF_INIT, one = BUF_INIT;
	size_t used;
	const char *err;

	/* two replies back to back: the first stops at its end */
	smtp_reply_parser_init(&p);
	CHECK(smtp_reply_feed(&p, "250 a\r\n354 b\r\n", 14, &used, &err) == SMTP_REPLY_DONE);
	CHECK_INTEQ(used, 7);
	CHECK(smtp_reply_feed(&p, "354 b\r\n", 7, &used, &err) == SMTP_REPLY_DONE);
	CHECK_INTEQ(p.reply.code, 354);
	CHECK_STREQ(buf_cstr(&p.reply.text), "b");
	smtp_reply_oneline(&p.reply, &one);
	CHECK_STREQ(buf_cstr(&one), "354 b");
	smtp_reply_parser_free(&p);

	/* a line over SMTP_REPLY_LINE_MAX */
	smtp_reply_parser_init(&p);
	buf_appends(&b, "250 ");
	for (int i = 0; i < SMTP_REPLY_LINE_MAX; i++)
		buf_appendc(&b, 'x');
	CHECK(smtp_reply_feed(&p, b.ptr, b.len, &used, &err) == SMTP_REPLY_ERROR);
	CHECK(smtp_reply_feed(&p, "250 ok\r\n", 8, &used, &err) == SMTP_REPLY_ERROR);
	smtp_reply_parser_free(&p);

	/* too many lines */
	smtp_reply_parser_init(&p);
	buf_reset(&b);
	for (int i = 0; i <= SMTP_REPLY_LINES_MAX; i++)
		buf_appends(&b, "250-x\r\n");
	CHECK(smtp_reply_feed(&p, b.ptr, b.len, &used, &err) == SMTP_REPLY_ERROR);
	smtp_reply_parser_free(&p);

	/* multi-line oneline form, control characters masked */
	smtp_reply_parser_init(&p);
	CHECK(smtp_reply_feed(&p, "550-5.1.1 a\x01\r\n550 5.1.1 b\r\n", 27, &used, &err) == SMTP_REPLY_DONE);
	buf_reset(&one);
	smtp_reply_oneline(&p.reply, &one);
	CHECK_STREQ(buf_cstr(&one), "550 5.1.1 a? 5.1.1 b");
	smtp_reply_parser_free(&p);
	buf_free(&b);
	buf_free(&one);
}

/* --- scripted servers ---
 * Steps: "S:" server sends; "C:" the client must have written exactly this
 * since the last C step; "M" send the message; "D:" feed message text (in
 * chunks); "E" data end; "Q" quit; "T" TLS started; "A" abort;
 * "=NAME" the state must be NAME. */

static const char *const state_names[] = {
	"BUSY", "STARTTLS", "READY", "DATA", "MSG_DONE", "CLOSED"
};

struct run {
	size_t server_step;	/* feed server bytes this many at a time */
	size_t chunk;		/* feed message text this many at a time */
};

static struct smtp_client *run_script(const struct smtp_client_params *params,
				      const struct smtp_client_msg *msg,
				      const char *const *script, struct run r)
{
	struct smtp_client *c = smtp_client_new(params);
	struct buf *out = smtp_client_output(c);

	for (size_t i = 0; script[i] != NULL; i++) {
		const char *s = script[i], *a = s[1] != '\0' ? s + 2 : s + 1;
		size_t n = strlen(a);

		switch (s[0]) {
		case 'S':
			for (size_t off = 0; off < n; off += r.server_step)
				smtp_client_input(c, a + off,
						  n - off < r.server_step ? n - off : r.server_step);
			break;
		case 'C':
			if (out->len != n || memcmp(out->ptr, a, n) != 0) {
				fprintf(stderr, "step %zu (server %zu, chunk %zu): client wrote\n[%s]\nwant\n[%s]\n",
					i, r.server_step, r.chunk, buf_cstr(out), a);
				test_failed_checks++;
				smtp_client_free(c);
				return NULL;
			}
			buf_reset(out);
			break;
		case 'M': smtp_client_send(c, msg); break;
		case 'D':
			for (size_t off = 0; off < n; off += r.chunk)
				smtp_client_data(c, a + off, n - off < r.chunk ? n - off : r.chunk);
			break;
		case 'E': smtp_client_data_end(c); break;
		case 'Q': smtp_client_quit(c); break;
		case 'T': smtp_client_tls_started(c); break;
		case 'A': smtp_client_abort(c, "connection reset"); break;
		case '=':
			if (strcmp(state_names[smtp_client_state(c)], s + 1) != 0) {
				fprintf(stderr, "step %zu (server %zu, chunk %zu): state %s, want %s\n",
					i, r.server_step, r.chunk,
					state_names[smtp_client_state(c)], s + 1);
				test_failed_checks++;
			}
			break;
		}
	}
	return c;
}

static const struct run runs[] = {
	{ 100000, 100000 }, { 1, 1 }, { 1, 2 }, { 3, 3 }, { 7, 5 }, { 2, 7 },
};
#define NRUNS (sizeof(runs) / sizeof(runs[0]))

struct want_rcpt {
	enum smtp_client_outcome outcome;
	int code;
	const char *status;
	const char *reply;	/* NULL: not checked */
};

static void check_script(const struct smtp_client_params *params,
			 const struct smtp_client_msg *msg,
			 const char *const *script, const struct want_rcpt *want,
			 size_t nwant, const char *want_error)
{
	for (size_t k = 0; k < NRUNS; k++) {
		struct smtp_client *c = run_script(params, msg, script, runs[k]);

		if (c == NULL)
			continue;
		for (size_t i = 0; i < nwant; i++) {
			const struct smtp_client_result *res = smtp_client_rcpt_result(c, i);

			CHECK(res != NULL);
			if (res == NULL)
				continue;
			CHECK_INTEQ(res->outcome, want[i].outcome);
			CHECK_INTEQ(res->code, want[i].code);
			CHECK_STREQ(res->status, want[i].status);
			if (want[i].reply != NULL)
				CHECK_STREQ(buf_cstr(&res->reply), want[i].reply);
		}
		if (want_error != NULL)
			CHECK_STREQ(smtp_client_error(c, NULL), want_error);
		smtp_client_free(c);
	}
}

static const struct smtp_client_params plain_params = { .helo_name = "me.example" };
static const struct smtp_client_rcpt one_rcpt[] = { { "bob@b.example", 0, NULL } };
static const struct smtp_client_msg simple_msg = {
	.sender = "alice@a.example", .body = SMTP_BODY_7BIT, .size = 1234,
	.rcpts = one_rcpt, .nrcpts = 1,
};

TEST(client_basic_lockstep_dot_stuffing)
{
	static const char *const script[] = {
		"S:220-mx.b.example ESMTP\r\n220 welcome\r\n",
		"C:EHLO me.example\r\n",
		"S:250-mx.b.example\r\n250-SIZE 10000000\r\n250 8BITMIME\r\n",
		"=READY", "C:", "M",
		"C:MAIL FROM:<alice@a.example> SIZE=1234\r\n",
		"S:250 2.1.0 Ok\r\n",
		"C:RCPT TO:<bob@b.example>\r\n",
		"S:250 2.1.5 Ok\r\n",
		"C:DATA\r\n",
		"S:354 End data with <CR><LF>.<CR><LF>\r\n",
		"=DATA",
		"D:Subject: x\r\n\r\n.hidden\r\n..two\r\n.\r\nbare\nlf\n.end",
		"E",
		"C:Subject: x\r\n\r\n..hidden\r\n...two\r\n..\r\nbare\r\nlf\r\n..end\r\n.\r\n",
		"S:250 2.0.0 Ok: queued as 4711\r\n",
		"=MSG_DONE", "Q", "C:QUIT\r\n", "S:221 2.0.0 Bye\r\n", "=CLOSED",
		NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_DELIVERED, 250, "2.0.0", "250 2.0.0 Ok: queued as 4711" },
	};
	check_script(&plain_params, &simple_msg, script, want, 1, "");
}

TEST(client_pipelining_dsn_per_recipient)
{
	static const struct smtp_client_rcpt rcpts[] = {
		{ "a@b.example", SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, "rfc822;A+x@b.example" },
		{ "u@b.example", SMTP_NOTIFY_NEVER, NULL },
		{ "t@b.example", 0, NULL },
	};
	static const struct smtp_client_msg msg = {
		.sender = "", .body = SMTP_BODY_8BITMIME, .ret = SMTP_RET_HDRS,
		.envid = "id=1", .rcpts = rcpts, .nrcpts = 3,
	};
	static const char *const script[] = {
		"S:220 hi\r\n", "C:EHLO me.example\r\n",
		"S:250-hi\r\n250-PIPELINING\r\n250-DSN\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
		"M",
		"C:MAIL FROM:<> BODY=8BITMIME RET=HDRS ENVID=id+3D1\r\n"
		"RCPT TO:<a@b.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;A+2Bx@b.example\r\n"
		"RCPT TO:<u@b.example> NOTIFY=NEVER\r\n"
		"RCPT TO:<t@b.example>\r\n"
		"DATA\r\n",
		"S:250 2.1.0 ok\r\n250 2.1.5 ok\r\n550-5.1.1 No such\r\n550 5.1.1 user\r\n"
		"451 4.3.0 try later\r\n354 go\r\n",
		"=DATA", "D:hi\r\n", "E", "C:hi\r\n.\r\n",
		"S:250 2.0.0 queued\r\n", "=MSG_DONE",
		NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_DELIVERED, 250, "2.0.0", "250 2.0.0 queued" },
		{ SMTP_RCPT_PERMFAIL, 550, "5.1.1", "550 5.1.1 No such 5.1.1 user" },
		{ SMTP_RCPT_TEMPFAIL, 451, "4.3.0", "451 4.3.0 try later" },
	};
	check_script(&plain_params, &msg, script, want, 3, NULL);
}

TEST(client_helo_fallback_8bit_refused)
{
	static const struct smtp_client_msg msg = {
		.sender = "a@a.example", .body = SMTP_BODY_8BITMIME,
		.rcpts = one_rcpt, .nrcpts = 1,
	};
	static const char *const script[] = {
		"S:220 old\r\n", "C:EHLO me.example\r\n",
		"S:502 5.5.2 what?\r\n", "C:HELO me.example\r\n",
		"S:250 old.example\r\n", "=READY", "M", "=MSG_DONE", "C:",
		"Q", "C:QUIT\r\n", NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_PERMFAIL, 0, "5.6.3", NULL },
	};
	check_script(&plain_params, &msg, script, want, 1, NULL);
}

TEST(client_local_refusals)
{
	static const struct smtp_client_msg utf8 = {
		.sender = "a@a.example", .smtputf8 = true, .body = SMTP_BODY_8BITMIME,
		.rcpts = one_rcpt, .nrcpts = 1,
	};
	static const struct smtp_client_msg big = {
		.sender = "a@a.example", .size = 2000, .rcpts = one_rcpt, .nrcpts = 1,
	};
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250-8BITMIME\r\n250 SIZE 1000\r\n", "M", "=MSG_DONE", "C:", NULL,
	};
	static const struct want_rcpt w_utf8[] = { { SMTP_RCPT_PERMFAIL, 0, "5.6.7", NULL } };
	static const struct want_rcpt w_big[] = { { SMTP_RCPT_PERMFAIL, 0, "5.3.4", NULL } };

	check_script(&plain_params, &utf8, script, w_utf8, 1, NULL);
	check_script(&plain_params, &big, script, w_big, 1, NULL);
}

TEST(client_starttls_discards_injection)
{
	static const struct smtp_client_params p = {
		.helo_name = "me.example", .tls = SMTP_CLIENT_TLS_MAY,
	};
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "C:STARTTLS\r\n",
		"S:220 2.0.0 go ahead\r\n250 injected\r\n", "=STARTTLS", "C:",
		"T", "C:EHLO me.example\r\n", "=BUSY",
		"S:250-x\r\n250 8BITMIME\r\n", "=READY", "Q", "C:QUIT\r\n",
		"S:221 bye\r\n", "=CLOSED", NULL,
	};
	check_script(&p, &simple_msg, script, NULL, 0, "");
	for (size_t k = 0; k < NRUNS; k++) {
		struct smtp_client *c = run_script(&p, &simple_msg, script, runs[k]);

		CHECK(c != NULL && smtp_client_tls(c));
		CHECK(c != NULL && smtp_client_ext(c) == SMTP_CEXT_8BITMIME);
		smtp_client_free(c);
	}
}

TEST(client_tls_required_not_offered)
{
	static const struct smtp_client_params p = {
		.helo_name = "me.example", .tls = SMTP_CLIENT_TLS_MUST,
	};
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250 x\r\n", "=CLOSED", "C:QUIT\r\n", NULL,
	};
	check_script(&p, &simple_msg, script, NULL, 0,
		     "TLS is required but the server does not offer STARTTLS");
}

TEST(client_auth_plain_and_login)
{
	static const struct smtp_client_params p = {
		.helo_name = "me.example", .tls_active = true,
		.auth_user = "user", .auth_pass = "pass",
	};
	static const char *const plain[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250 AUTH LOGIN PLAIN\r\n", "C:AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
		"S:235 2.7.0 ok\r\n", "=READY", NULL,
	};
	static const char *const login[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250 AUTH=LOGIN\r\n", "C:AUTH LOGIN\r\n",
		"S:334 VXNlcm5hbWU6\r\n", "C:dXNlcg==\r\n",
		"S:334 UGFzc3dvcmQ6\r\n", "C:cGFzcw==\r\n",
		"S:235 2.7.0 ok\r\n", "=READY", NULL,
	};
	static const char *const failed[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250 AUTH PLAIN\r\n", "C:AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
		"S:535 5.7.8 bad credentials\r\n", "=CLOSED", "C:QUIT\r\n", NULL,
	};
	static const struct smtp_client_params clear = {
		.helo_name = "me.example", .auth_user = "user", .auth_pass = "pass",
	};
	static const char *const refused[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250 AUTH PLAIN\r\n", "=CLOSED", "C:QUIT\r\n", NULL,
	};
	bool perm = true;
	struct smtp_client *c;

	check_script(&p, &simple_msg, plain, NULL, 0, "");
	check_script(&p, &simple_msg, login, NULL, 0, "");
	check_script(&p, &simple_msg, failed, NULL, 0,
		     "AUTH failed: 535 5.7.8 bad credentials");
	c = run_script(&p, &simple_msg, failed, runs[0]);
	CHECK(c != NULL);
	smtp_client_error(c, &perm);
	CHECK(!perm);
	smtp_client_free(c);
	check_script(&clear, &simple_msg, refused, NULL, 0,
		     "AUTH refused: the connection is not encrypted");
}

TEST(client_bdat_chunking)
{
	static const struct smtp_client_rcpt rcpts[] = {
		{ "a@b.example", 0, NULL }, { "c@b.example", 0, NULL },
	};
	static const struct smtp_client_msg msg = {
		.sender = "s@a.example", .rcpts = rcpts, .nrcpts = 2,
	};
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n", "M",
		"C:MAIL FROM:<s@a.example>\r\nRCPT TO:<a@b.example>\r\nRCPT TO:<c@b.example>\r\n",
		"S:250 ok\r\n250 ok\r\n", "=BUSY", "S:550 5.1.1 no\r\n", "=DATA",
		"D:.dot\r\nline\n", "E", "C:BDAT 12 LAST\r\n.dot\r\nline\r\n",
		"S:250 2.0.0 got it\r\n", "=MSG_DONE", NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_DELIVERED, 250, "2.0.0", "250 2.0.0 got it" },
		{ SMTP_RCPT_PERMFAIL, 550, "5.1.1", "550 5.1.1 no" },
	};
	check_script(&plain_params, &msg, script, want, 2, NULL);
}

TEST(client_bdat_large_lockstep)
{
	struct smtp_client *c = smtp_client_new(&plain_params);
	struct buf *out = smtp_client_output(c);
	char *big = xmalloc(SMTP_CLIENT_BDAT_CHUNK + 10);
	const char *hdr;

	memset(big, 'x', SMTP_CLIENT_BDAT_CHUNK + 10);
	smtp_client_input(c, "220 x\r\n", 7);
	smtp_client_input(c, "250-x\r\n250 CHUNKING\r\n", 21);
	smtp_client_send(c, &simple_msg);
	smtp_client_input(c, "250 ok\r\n", 8);
	smtp_client_input(c, "250 ok\r\n", 8);
	CHECK_INTEQ(smtp_client_state(c), SMTP_CLIENT_DATA);
	buf_reset(out);
	smtp_client_data(c, big, SMTP_CLIENT_BDAT_CHUNK + 10);
	CHECK_INTEQ(smtp_client_state(c), SMTP_CLIENT_BUSY);	/* no PIPELINING: wait */
	hdr = "BDAT 65546\r\n";
	CHECK(out->len == strlen(hdr) + SMTP_CLIENT_BDAT_CHUNK + 10);
	CHECK(memcmp(out->ptr, hdr, strlen(hdr)) == 0);
	smtp_client_data(c, "ignored", 7);	/* not in DATA: dropped */
	buf_reset(out);
	smtp_client_input(c, "250 ok\r\n", 8);
	CHECK_INTEQ(smtp_client_state(c), SMTP_CLIENT_DATA);
	smtp_client_data_end(c);
	CHECK_STREQ(buf_cstr(out), "BDAT 0 LAST\r\n");
	CHECK_INTEQ(smtp_client_timeout(c), SMTP_TIMEOUT_DATA_END);
	smtp_client_input(c, "554 5.6.0 bad\r\n", 15);
	CHECK_INTEQ(smtp_client_state(c), SMTP_CLIENT_MSG_DONE);
	CHECK_INTEQ(smtp_client_rcpt_result(c, 0)->outcome, SMTP_RCPT_PERMFAIL);
	CHECK_STREQ(smtp_client_rcpt_result(c, 0)->status, "5.6.0");
	free(big);
	smtp_client_free(c);
}

TEST(client_all_rejected_rset_next_message)
{
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n", "S:250 x\r\n", "M",
		"C:MAIL FROM:<alice@a.example>\r\n", "S:250 ok\r\n",
		"C:RCPT TO:<bob@b.example>\r\n", "S:550 no\r\n",
		"C:RSET\r\n", "=BUSY", "S:250 ok\r\n", "=MSG_DONE", "M",
		"C:MAIL FROM:<alice@a.example>\r\n", "S:250 ok\r\n",
		"C:RCPT TO:<bob@b.example>\r\n", "S:250 ok\r\n",
		"C:DATA\r\n", "S:354 go\r\n", "D:x", "E", "C:x\r\n.\r\n",
		"S:452 4.3.1 full\r\n", "=MSG_DONE", NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_TEMPFAIL, 452, "4.3.1", "452 4.3.1 full" },
	};
	check_script(&plain_params, &simple_msg, script, want, 1, NULL);
}

TEST(client_mail_rejected_pipelined)
{
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250 PIPELINING\r\n", "M",
		"C:MAIL FROM:<alice@a.example>\r\nRCPT TO:<bob@b.example>\r\nDATA\r\n",
		"S:553 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no RCPT\r\n",
		"C:RSET\r\n", "S:250 ok\r\n", "=MSG_DONE", NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_PERMFAIL, 553, "5.7.1", "553 5.7.1 sender refused" },
	};
	check_script(&plain_params, &simple_msg, script, want, 1, NULL);
}

TEST(client_pipelined_data_without_recipients)
{
	static const char *const script[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n",
		"S:250-x\r\n250 PIPELINING\r\n", "M",
		"C:MAIL FROM:<alice@a.example>\r\nRCPT TO:<bob@b.example>\r\nDATA\r\n",
		"S:250 ok\r\n450 4.2.0 mailbox busy\r\n354 go\r\n", "C:.\r\n",
		"S:554 5.5.1 no valid recipients\r\n", "=MSG_DONE", NULL,
	};
	static const struct want_rcpt want[] = {
		{ SMTP_RCPT_TEMPFAIL, 450, "4.2.0", "450 4.2.0 mailbox busy" },
	};
	check_script(&plain_params, &simple_msg, script, want, 1, NULL);
}

TEST(client_failures_mid_session)
{
	static const char *const closing[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n", "S:250 x\r\n", "M",
		"C:MAIL FROM:<alice@a.example>\r\n",
		"S:421 4.3.2 shutting down\r\n", "=CLOSED", "C:", NULL,
	};
	static const struct want_rcpt w_closing[] = {
		{ SMTP_RCPT_TEMPFAIL, 0, "4.4.2", "server closing: 421 4.3.2 shutting down" },
	};
	static const char *const aborted[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n", "S:250 x\r\n", "M",
		"S:250 ok\r\n", "S:250 ok\r\n", "S:354 go\r\n", "=DATA", "A", "=CLOSED", NULL,
	};
	static const struct want_rcpt w_aborted[] = {
		{ SMTP_RCPT_TEMPFAIL, 0, "4.4.2", "connection reset" },
	};
	static const char *const garbage[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n", "S:HTTP/1.1 400 Bad\r\n", "=CLOSED",
		"C:", NULL,
	};
	static const char *const greeting[] = {
		"S:554 5.7.1 go away\r\n", "=CLOSED", "C:QUIT\r\n", NULL,
	};
	static const char *const unexpected[] = {
		"S:220 x\r\n", "C:EHLO me.example\r\n", "S:250 x\r\n", "=READY",
		"S:250 what\r\n", "=CLOSED", NULL,
	};
	bool perm = false;
	struct smtp_client *c;

	check_script(&plain_params, &simple_msg, closing, w_closing, 1, NULL);
	check_script(&plain_params, &simple_msg, aborted, w_aborted, 1, "connection reset");
	check_script(&plain_params, &simple_msg, garbage, NULL, 0,
		     "protocol error: malformed reply code");
	check_script(&plain_params, &simple_msg, greeting, NULL, 0,
		     "greeting: 554 5.7.1 go away");
	c = run_script(&plain_params, &simple_msg, greeting, runs[0]);
	smtp_client_error(c, &perm);
	CHECK(perm);
	smtp_client_free(c);
	check_script(&plain_params, &simple_msg, unexpected, NULL, 0,
		     "unexpected reply: 250 what");
}

TEST(client_timeouts)
{
	struct smtp_client *c = smtp_client_new(&plain_params);

	CHECK_INTEQ(smtp_client_timeout(c), SMTP_TIMEOUT_GREETING);
	smtp_client_input(c, "220 x\r\n250 x\r\n", 14);
	CHECK_INTEQ(smtp_client_timeout(c), 0);
	smtp_client_send(c, &simple_msg);
	CHECK_INTEQ(smtp_client_timeout(c), SMTP_TIMEOUT_COMMAND);
	smtp_client_input(c, "250 ok\r\n250 ok\r\n", 16);
	CHECK_INTEQ(smtp_client_timeout(c), SMTP_TIMEOUT_DATA_INIT);
	smtp_client_input(c, "354 go\r\n", 8);
	CHECK_INTEQ(smtp_client_timeout(c), SMTP_TIMEOUT_DATA_BLOCK);
	smtp_client_data_end(c);
	CHECK_INTEQ(smtp_client_timeout(c), SMTP_TIMEOUT_DATA_END);
	smtp_client_free(c);
}

int main(void)
{
	RUN(reply_table);
	RUN(reply_limits_and_sequence);
	RUN(client_basic_lockstep_dot_stuffing);
	RUN(client_pipelining_dsn_per_recipient);
	RUN(client_helo_fallback_8bit_refused);
	RUN(client_local_refusals);
	RUN(client_starttls_discards_injection);
	RUN(client_tls_required_not_offered);
	RUN(client_auth_plain_and_login);
	RUN(client_bdat_chunking);
	RUN(client_bdat_large_lockstep);
	RUN(client_all_rejected_rset_next_message);
	RUN(client_mail_rejected_pipelined);
	RUN(client_pipelined_data_without_recipients);
	RUN(client_failures_mid_session);
	RUN(client_timeouts);
	return test_summary();
}
