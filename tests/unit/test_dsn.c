/* Unit tests for src/queue/dsn: who gets a notification (null sender,
 * NOTIFY), the message structure and RFC 3464 fields (golden), RET=HDRS
 * and RET=FULL with its cap, boundary choice, folding, reader errors. */
#include "harness.h"

#include <stdlib.h>

#include "queue/dsn.h"

struct mem_reader {
	const char *p;
	size_t len, off;
	bool fail;
};

static ssize_t mem_read(void *arg, char *buf, size_t n)
{
	struct mem_reader *r = arg;

	if (r->fail)
		return -1;
	if (n > 3)
		n = 3 + r->off % 5;	/* odd read sizes */
	if (n > r->len - r->off)
		n = r->len - r->off;
	memcpy(buf, r->p + r->off, n);
	r->off += n;
	return (ssize_t)n;
}

static const char original[] =
	"From: Alice <alice@a.example>\r\nTo: bob@b.example\r\n"
	"Subject: lunch\r\nMessage-ID: <orig@a.example>\r\n\r\n"
	"Shall we meet at noon?\r\nSECRET-BODY-LINE\r\n";

static const struct dsn_rcpt bob = {
	.addr = "bob@b.example", .orcpt = "rfc822;Bob@B.example", .notify = 0,
	.action = DSN_FAILED, .status = "5.1.1", .remote_mta = "mx.b.example",
	.diagnostic = "550 5.1.1 <bob@b.example>: Recipient address rejected",
	.last_attempt = 1700000100,
};

static void msg_init(struct dsn_msg *m, struct mem_reader *rd,
		     const struct dsn_rcpt *rcpts, size_t n)
{
	memset(rd, 0, sizeof(*rd));
	rd->p = original;
	rd->len = sizeof(original) - 1;
	memset(m, 0, sizeof(*m));
	m->reporting_mta = "mail.a.example";
	m->sender = "alice@a.example";
	m->envid = "QX42";
	m->arrival = 1700000000;
	m->now = 1700000200;
	m->retry_until = 1700432000;
	m->message_id = "dsn.123@mail.a.example";
	m->rcpts = rcpts;
	m->nrcpts = n;
	m->read = mem_read;
	m->read_arg = rd;
}

static bool has(const struct buf *b, const char *s)
{
	return strstr(buf_cstr(b), s) != NULL;
}

TEST(dsn_date_format)
{
	struct buf b = BUF_INIT;

	dsn_date(&b, 1700000000);
	CHECK_STREQ(buf_cstr(&b), "Tue, 14 Nov 2023 22:13:20 +0000");
	buf_reset(&b);
	dsn_date(&b, 0);
	CHECK_STREQ(buf_cstr(&b), "Thu, 1 Jan 1970 00:00:00 +0000");
	buf_free(&b);
}

TEST(dsn_who_is_notified)
{
	static const struct { unsigned notify; enum dsn_action a; bool want; } cases[] = {
		{ 0, DSN_FAILED, true }, { 0, DSN_DELAYED, true },
		{ DSN_NOTIFY_NEVER, DSN_FAILED, false },
		{ DSN_NOTIFY_SUCCESS, DSN_FAILED, false },
		{ DSN_NOTIFY_DELAY, DSN_FAILED, false },
		{ DSN_NOTIFY_DELAY, DSN_DELAYED, true },
		{ DSN_NOTIFY_FAILURE, DSN_DELAYED, false },
		{ DSN_NOTIFY_FAILURE | DSN_NOTIFY_SUCCESS, DSN_FAILED, true },
	};
	struct dsn_msg m;
	struct mem_reader rd;
	struct buf out = BUF_INIT;
	const char *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dsn_rcpt r = bob;

		r.notify = cases[i].notify;
		r.action = cases[i].a;
		CHECK(dsn_wanted(&r) == cases[i].want);
		msg_init(&m, &rd, &r, 1);
		buf_reset(&out);
		CHECK_INTEQ(dsn_build(&m, &out, &err), cases[i].want ? DSN_BUILT : DSN_NONE);
		CHECK(cases[i].want == (out.len > 0));
	}
	/* never a DSN for a message from the null sender */
	msg_init(&m, &rd, &bob, 1);
	m.sender = "";
	buf_reset(&out);
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_NONE);
	CHECK_INTEQ(out.len, 0);
	buf_free(&out);
}

TEST(dsn_bounce_structure_golden)
{
	struct dsn_msg m;
	struct mem_reader rd;
	struct buf out = BUF_INIT;
	const char *err;
	static const char status_part[] =
		"Content-Type: message/delivery-status\r\n"
		"Content-Description: Delivery report\r\n\r\n"
		"Reporting-MTA: dns; mail.a.example\r\n"
		"Original-Envelope-Id: QX42\r\n"
		"Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
		"\r\n"
		"Original-Recipient: rfc822; Bob@B.example\r\n"
		"Final-Recipient: rfc822; bob@b.example\r\n"
		"Action: failed\r\n"
		"Status: 5.1.1\r\n"
		"Remote-MTA: dns; mx.b.example\r\n"
		"Diagnostic-Code: smtp; 550 5.1.1 <bob@b.example>: Recipient address rejected\r\n"
		"Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000\r\n"
		"\r\n--=_mk_dsn.123.mail.a.example_0\r\n"
		"Content-Type: text/rfc822-headers\r\n";
	static const char head[] =
		"From: Mail Delivery System <MAILER-DAEMON@mail.a.example>\r\n"
		"To: <alice@a.example>\r\n"
		"Subject: Undelivered Mail Returned to Sender\r\n"
		"Date: Tue, 14 Nov 2023 22:16:40 +0000\r\n"
		"Message-ID: <dsn.123@mail.a.example>\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=delivery-status;\r\n"
		" boundary=\"=_mk_dsn.123.mail.a.example_0\"\r\n\r\n";

	msg_init(&m, &rd, &bob, 1);
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_BUILT);
	CHECK(strncmp(buf_cstr(&out), head, strlen(head)) == 0);
	CHECK(has(&out, status_part));
	if (!has(&out, status_part))
		fprintf(stderr, "got:\n%s\n", buf_cstr(&out));
	CHECK(has(&out, "the mailbox does not exist"));
	CHECK(has(&out, "The receiving server said: 550 5.1.1"));
	CHECK(has(&out, "Subject: lunch\r\nMessage-ID: <orig@a.example>\r\n\r\n--=_mk_dsn.123.mail.a.example_0--\r\n"));
	CHECK(!has(&out, "SECRET-BODY-LINE"));	/* RET=HDRS by default */
	CHECK(!has(&out, "Will-Retry-Until"));
	/* every line CRLF-terminated, no bare LF */
	for (size_t i = 0; i < out.len; i++)
		if (out.ptr[i] == '\n')
			CHECK(i > 0 && out.ptr[i - 1] == '\r');
	buf_free(&out);
}

TEST(dsn_delay_notice)
{
	struct dsn_rcpt r = bob;
	struct dsn_msg m;
	struct mem_reader rd;
	struct buf out = BUF_INIT;
	const char *err;

	r.action = DSN_DELAYED;
	r.status = "4.4.1";
	r.diagnostic = "connect to mx.b.example: connection refused";
	r.diagnostic_local = true;
	msg_init(&m, &rd, &r, 1);
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_BUILT);
	CHECK(has(&out, "Subject: Delayed Mail (still being retried)\r\n"));
	CHECK(has(&out, "Action: delayed\r\n"));
	CHECK(has(&out, "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\r\n"));
	CHECK(has(&out, "Diagnostic-Code: X-mailkeep; connect to"));
	CHECK(has(&out, "keeps trying until Sun, 19 Nov 2023"));
	CHECK(!has(&out, "could not be delivered"));
	buf_free(&out);
}

TEST(dsn_ret_full_and_cap)
{
	struct dsn_msg m;
	struct mem_reader rd;
	struct buf out = BUF_INIT;
	const char *err;

	msg_init(&m, &rd, &bob, 1);
	m.ret_full = true;
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_BUILT);
	CHECK(has(&out, "Content-Type: message/rfc822\r\n"));
	CHECK(has(&out, "SECRET-BODY-LINE\r\n\r\n--=_mk_"));
	CHECK(has(&out, "attached in full"));

	msg_init(&m, &rd, &bob, 1);
	m.ret_full = true;
	m.full_max = 40;	/* too big: headers only */
	buf_reset(&out);
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_BUILT);
	CHECK(has(&out, "Content-Type: text/rfc822-headers\r\n"));
	CHECK(!has(&out, "SECRET-BODY-LINE"));

	msg_init(&m, &rd, &bob, 1);
	rd.fail = true;
	buf_reset(&out);
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_ERROR);
	CHECK(err[0] != '\0');
	buf_free(&out);
}

TEST(dsn_boundary_avoids_content_and_mixed)
{
	static const char evil[] = "Subject: x\r\nX-B: --=_mk_dsn.123.mail.a.example_0\r\n\r\nbody\r\n";
	struct dsn_rcpt rs[3] = { bob, bob, bob };
	struct dsn_msg m;
	struct mem_reader rd;
	struct buf out = BUF_INIT, longdiag = BUF_INIT;
	const char *err;

	rs[1].addr = "carol@b.example";
	rs[1].action = DSN_DELAYED;
	rs[1].status = "4.2.2";
	rs[2].addr = "dave@b.example";
	rs[2].notify = DSN_NOTIFY_NEVER;
	for (int i = 0; i < 40; i++)
		buf_appends(&longdiag, "word ");
	rs[0].diagnostic = buf_cstr(&longdiag);
	msg_init(&m, &rd, rs, 3);
	rd.p = evil;
	rd.len = sizeof(evil) - 1;
	CHECK_INTEQ(dsn_build(&m, &out, &err), DSN_BUILT);
	CHECK(has(&out, "boundary=\"=_mk_dsn.123.mail.a.example_1\""));
	CHECK(has(&out, "Final-Recipient: rfc822; carol@b.example\r\nAction: delayed\r\n"));
	CHECK(!has(&out, "dave@b.example"));
	CHECK(has(&out, "could not be delivered") && has(&out, "not been delivered yet"));
	/* folded lines stay short in the report part */
	const char *p = strstr(buf_cstr(&out), "Diagnostic-Code:");
	CHECK(p != NULL);
	for (int lines = 0; p != NULL && lines < 4; lines++) {
		const char *e = strstr(p, "\r\n");
		CHECK(e != NULL && e - p <= 78);
		p = e ? e + 2 : NULL;
	}
	buf_free(&out);
	buf_free(&longdiag);
}

/* "test_dsn --dump": print a sample bounce (for checking it with other
 * parsers, e.g. Python's email package). */
static int dump(void)
{
	struct dsn_rcpt rs[2] = { bob, bob };
	struct dsn_msg m;
	struct mem_reader rd;
	struct buf out = BUF_INIT;
	const char *err;

	rs[1].addr = "carol@b.example";
	rs[1].action = DSN_DELAYED;
	rs[1].status = "4.4.1";
	msg_init(&m, &rd, rs, 2);
	m.ret_full = true;
	if (dsn_build(&m, &out, &err) != DSN_BUILT)
		return 1;
	fwrite(out.ptr, 1, out.len, stdout);
	buf_free(&out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--dump") == 0)
		return dump();
	RUN(dsn_date_format);
	RUN(dsn_who_is_notified);
	RUN(dsn_bounce_structure_golden);
	RUN(dsn_delay_notice);
	RUN(dsn_ret_full_and_cap);
	RUN(dsn_boundary_avoids_content_and_mixed);
	return test_summary();
}
