/* Unit tests for src/smtp/smtp_parse: command lines, MAIL/RCPT parameters,
 * BDAT and EHLO arguments, xtext. */
#include "harness.h"

#include "smtp/smtp_parse.h"

#define ALL (SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | \
	     SMTP_EXT_DSN | SMTP_EXT_CHUNKING | SMTP_EXT_BINARYMIME | SMTP_EXT_AUTH)

static const struct {
	const char *line;
	size_t len;		/* 0 = strlen */
	int ret;
	enum smtp_verb verb;
	const char *verb_text;
	const char *arg;
	bool syntax_error;
} cmd_cases[] = {
	{ "EHLO mail.example.org", 0, 0, SMTP_CMD_EHLO, "EHLO", "mail.example.org", false },
	{ "ehlo x", 0, 0, SMTP_CMD_EHLO, "ehlo", "x", false },
	{ "HeLo x", 0, 0, SMTP_CMD_HELO, "HeLo", "x", false },
	{ "MAIL FROM:<a@b>", 0, 0, SMTP_CMD_MAIL, "MAIL", "<a@b>", false },
	{ "mail from: <a@b> SIZE=10", 0, 0, SMTP_CMD_MAIL, "mail", "<a@b> SIZE=10", false },
	{ "MAIL  FROM:<>", 0, 0, SMTP_CMD_MAIL, "MAIL", "<>", false },
	{ "MAIL FROM :<a@b>", 0, 0, SMTP_CMD_MAIL, "MAIL", "", true },
	{ "MAIL <a@b>", 0, 0, SMTP_CMD_MAIL, "MAIL", "", true },
	{ "MAIL", 0, 0, SMTP_CMD_MAIL, "MAIL", "", true },
	{ "MAIL TO:<a@b>", 0, 0, SMTP_CMD_MAIL, "MAIL", "", true },
	{ "RCPT TO:<x@y>", 0, 0, SMTP_CMD_RCPT, "RCPT", "<x@y>", false },
	{ "rcpt to:   <x@y>  NOTIFY=NEVER", 0, 0, SMTP_CMD_RCPT, "rcpt", "<x@y>  NOTIFY=NEVER", false },
	{ "RCPT FROM:<x@y>", 0, 0, SMTP_CMD_RCPT, "RCPT", "", true },
	{ "DATA", 0, 0, SMTP_CMD_DATA, "DATA", "", false },
	{ "DATA ", 0, 0, SMTP_CMD_DATA, "DATA", "", false },
	{ "data x", 0, 0, SMTP_CMD_DATA, "data", "x", false },
	{ "BDAT 10 LAST", 0, 0, SMTP_CMD_BDAT, "BDAT", "10 LAST", false },
	{ "RSET", 0, 0, SMTP_CMD_RSET, "RSET", "", false },
	{ "NOOP hello  there", 0, 0, SMTP_CMD_NOOP, "NOOP", "hello  there", false },
	{ "QUIT", 0, 0, SMTP_CMD_QUIT, "QUIT", "", false },
	{ "HELP", 0, 0, SMTP_CMD_HELP, "HELP", "", false },
	{ "VRFY bob", 0, 0, SMTP_CMD_VRFY, "VRFY", "bob", false },
	{ "EXPN list", 0, 0, SMTP_CMD_EXPN, "EXPN", "list", false },
	{ "StartTLS", 0, 0, SMTP_CMD_STARTTLS, "StartTLS", "", false },
	{ "AUTH PLAIN AGJvYgBzZWNyZXQ=", 0, 0, SMTP_CMD_AUTH, "AUTH", "PLAIN AGJvYgBzZWNyZXQ=", false },
	{ "FOO bar", 0, 0, SMTP_CMD_UNKNOWN, "FOO", "bar", false },
	{ "MAILFROM:<a@b>", 0, 0, SMTP_CMD_UNKNOWN, "MAILFROM:<a@b>", "", false },
	{ "DATA\t", 0, 0, SMTP_CMD_UNKNOWN, "DATA\t", "", false },
	{ "QUITX", 0, 0, SMTP_CMD_UNKNOWN, "QUITX", "", false },
	{ "GET / HTTP/1.0", 0, 0, SMTP_CMD_UNKNOWN, "GET", "/ HTTP/1.0", false },
	{ "", 0, -1, SMTP_CMD_UNKNOWN, "", "", false },
	{ " DATA", 0, -1, SMTP_CMD_UNKNOWN, "", "", false },
	{ "DA\0TA", 5, -1, SMTP_CMD_UNKNOWN, "", "", false },
	{ "DATA x\0", 7, -1, SMTP_CMD_UNKNOWN, "", "", false },
	{ "D\xc3\xa9TA", 0, -1, SMTP_CMD_UNKNOWN, "", "", false },
	{ "NOOP \xc3\xa9", 0, 0, SMTP_CMD_NOOP, "NOOP", "\xc3\xa9", false },
};

TEST(command_table)
{
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		char line[128];
		size_t len = cmd_cases[i].len ? cmd_cases[i].len : strlen(cmd_cases[i].line);
		struct smtp_command cmd;
		int ret;

		memcpy(line, cmd_cases[i].line, len);
		line[len] = '\0';
		ret = smtp_command_parse(line, len, &cmd);
		CHECK_INTEQ(ret, cmd_cases[i].ret);
		CHECK_INTEQ(cmd.verb, cmd_cases[i].verb);
		CHECK_STREQ(cmd.verb_text, cmd_cases[i].verb_text);
		CHECK_STREQ(cmd.arg, cmd_cases[i].arg);
		CHECK_INTEQ(cmd.syntax_error, cmd_cases[i].syntax_error);
		if (ret != cmd_cases[i].ret || cmd.verb != cmd_cases[i].verb)
			fprintf(stderr, "  case \"%s\"\n", cmd_cases[i].line);
	}
}

struct param_case {
	const char *arg;
	unsigned ext;
	int code;		/* 0 = success */
	const char *status;
};

static const struct param_case mail_cases[] = {
	{ "<a@b.org>", ALL, 0, NULL },
	{ "<a@b.org>", 0, 0, NULL },
	{ "<>", 0, 0, NULL },
	{ "<a@b.org>  SIZE=10  ", ALL, 0, NULL },
	{ "<a@b.org> size=1000 body=8bitmime", ALL, 0, NULL },
	{ "<a@b.org> SIZE=99999999999999999999", ALL, 0, NULL },
	{ "<a@b.org> SIZE=0", ALL, 0, NULL },
	{ "<a@b.org> SIZE=123456789012345678901", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=12a", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=-1", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=10", ALL & ~SMTP_EXT_SIZE, 555, "5.5.4" },
	{ "<a@b.org> SIZE=10 SIZE=20", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=10 size=10", ALL, 501, "5.5.4" },
	{ "<a@b.org> BODY=7BIT", SMTP_EXT_8BITMIME, 0, NULL },
	{ "<a@b.org> BODY=8BITMIME", SMTP_EXT_8BITMIME, 0, NULL },
	{ "<a@b.org> BODY=BINARYMIME", ALL, 0, NULL },
	{ "<a@b.org> BODY=BINARYMIME", SMTP_EXT_8BITMIME, 555, "5.5.4" },
	{ "<a@b.org> BODY=8BITMIME", SMTP_EXT_BINARYMIME, 555, "5.5.4" },
	{ "<a@b.org> BODY=8BITMIME", 0, 555, "5.5.4" },
	{ "<a@b.org> BODY=9BIT", ALL, 501, "5.5.4" },
	{ "<a@b.org> BODY", ALL, 501, "5.5.4" },
	{ "<a@b.org> SMTPUTF8", ALL, 0, NULL },
	{ "<a@b.org> SMTPUTF8=yes", ALL, 501, "5.5.4" },
	{ "<a@b.org> SMTPUTF8", ALL & ~SMTP_EXT_SMTPUTF8, 555, "5.5.4" },
	{ "<a@b.org> RET=FULL", ALL, 0, NULL },
	{ "<a@b.org> RET=hdrs", ALL, 0, NULL },
	{ "<a@b.org> RET=ALL", ALL, 501, "5.5.4" },
	{ "<a@b.org> RET=FULL", ALL & ~SMTP_EXT_DSN, 555, "5.5.4" },
	{ "<a@b.org> ENVID=QQ314159", ALL, 0, NULL },
	{ "<a@b.org> ENVID=+00", ALL, 501, "5.5.4" },
	{ "<a@b.org> ENVID=+0", ALL, 501, "5.5.4" },
	{ "<a@b.org> ENVID=+C3+A9", ALL, 501, "5.5.4" },
	{ "<a@b.org> ENVID=x", ALL & ~SMTP_EXT_DSN, 555, "5.5.4" },
	{ "<a@b.org> AUTH=<>", ALL, 0, NULL },
	{ "<a@b.org> AUTH=<>", ALL & ~SMTP_EXT_AUTH, 555, "5.5.4" },
	{ "<a@b.org> AUTH=+0A", ALL, 501, "5.5.4" },
	{ "<a@b.org> FOO=bar", ALL, 555, "5.5.4" },
	{ "<a@b.org> X-FOO", ALL, 555, "5.5.4" },
	{ "<a@b.org> =bar", ALL, 501, "5.5.4" },
	{ "<a@b.org> -X=1", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=1=2", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=1\x01", ALL, 501, "5.5.4" },
	{ "<a@b.org> SIZE=\xc3", ALL, 501, "5.5.4" },
	{ "<a@b.org>SIZE=10", ALL, 501, "5.5.4" },
	{ "<a@b.org>>", ALL, 501, "5.5.4" },
	{ "a@b.org", ALL, 501, "5.1.7" },
	{ "", ALL, 501, "5.1.7" },
	{ "<a@b.org", ALL, 501, "5.1.7" },
	{ "<a..b@b.org>", ALL, 501, "5.1.7" },
	{ "<a@b..org>", ALL, 501, "5.1.7" },
	{ "<postmaster>", ALL, 501, "5.1.7" },
	{ "<\xce\xb4@b.org>", ALL, 553, "5.6.7" },
	{ "<a@\xce\xb4.org> SIZE=1", ALL, 553, "5.6.7" },
	{ "<\xce\xb4@b.org> SMTPUTF8", ALL, 0, NULL },
	{ "<\xce\xb4@b.org> SMTPUTF8", ALL & ~SMTP_EXT_SMTPUTF8, 555, "5.5.4" },
	{ "<\xff@b.org> SMTPUTF8", ALL, 501, "5.1.7" },
};

TEST(mail_table)
{
	for (size_t i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
		const struct param_case *c = &mail_cases[i];
		struct smtp_mail_args m;
		struct smtp_error err = { 0, NULL, NULL };
		int ret = smtp_parse_mail(c->arg, c->ext, &m, &err);

		CHECK_INTEQ(ret, c->code ? -1 : 0);
		if (c->code != 0) {
			CHECK_INTEQ(err.code, c->code);
			CHECK_STREQ(err.status, c->status);
			CHECK(err.text != NULL && err.text[0] != '\0');
		}
		if ((ret == 0) != (c->code == 0) || (c->code && err.code != c->code))
			fprintf(stderr, "  case \"%s\": %d %s %s\n", c->arg,
				err.code, err.status, err.text);
	}
}

static int mail(const char *arg, struct smtp_mail_args *m)
{
	struct smtp_error err;

	return smtp_parse_mail(arg, ALL, m, &err);
}

TEST(mail_values)
{
	struct smtp_mail_args m;

	CHECK_INTEQ(mail("<a@b.org> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=e+3Dmc2@example.com SMTPUTF8", &m), 0);
	CHECK_STREQ(m.from.local, "a");
	CHECK_STREQ(m.from.domain, "b.org");
	CHECK(m.size == 1000);
	CHECK_INTEQ(m.body, SMTP_BODY_8BITMIME);
	CHECK_INTEQ(m.ret, SMTP_RET_HDRS);
	CHECK_STREQ(m.envid, "QQ314159");
	CHECK_STREQ(m.auth, "e=mc2@example.com");
	CHECK(m.smtputf8);

	CHECK_INTEQ(mail("<>", &m), 0);
	CHECK(m.from.null);
	CHECK(m.size == 0);
	CHECK_INTEQ(m.body, SMTP_BODY_UNSPEC);
	CHECK_INTEQ(m.ret, SMTP_RET_UNSPEC);
	CHECK(!m.smtputf8);
	CHECK_STREQ(m.envid, "");

	CHECK_INTEQ(mail("<a@b.org> SIZE=99999999999999999999", &m), 0);
	CHECK(m.size == UINT64_MAX);
	CHECK_INTEQ(mail("<a@b.org> SIZE=18446744073709551615", &m), 0);
	CHECK(m.size == UINT64_MAX);
	CHECK_INTEQ(mail("<a@b.org> SIZE=18446744073709551614", &m), 0);
	CHECK(m.size == UINT64_MAX - 1);
	CHECK_INTEQ(mail("<a@b.org> BODY=binarymime", &m), 0);
	CHECK_INTEQ(m.body, SMTP_BODY_BINARYMIME);
	CHECK_INTEQ(mail("<a@b.org> ENVID=a+2Bb+3dc", &m), 0);
	CHECK_STREQ(m.envid, "a+b=c");
	CHECK_INTEQ(mail("<a@b.org> AUTH=<>", &m), 0);
	CHECK_STREQ(m.auth, "<>");
	CHECK_INTEQ(mail("<@r.example:a@b.org> RET=FULL", &m), 0);
	CHECK_STREQ(m.from.domain, "b.org");
	CHECK_INTEQ(m.ret, SMTP_RET_FULL);
}

TEST(mail_envid_length)
{
	struct smtp_mail_args m;
	struct buf b = BUF_INIT;
	char arg[200];

	snprintf(arg, sizeof(arg), "<a@b.org> ENVID=%0100d", 0);
	CHECK_INTEQ(mail(arg, &m), 0);
	CHECK_INTEQ(strlen(m.envid), 100);
	snprintf(arg, sizeof(arg), "<a@b.org> ENVID=%0101d", 0);
	CHECK_INTEQ(mail(arg, &m), -1);
	/* the limit is on decoded characters: 100 may take 300 encoded */
	buf_appends(&b, "<a@b.org> ENVID=");
	for (int i = 0; i < 100; i++)
		buf_appends(&b, "+2B");
	CHECK_INTEQ(mail(buf_cstr(&b), &m), 0);
	CHECK_INTEQ(strlen(m.envid), 100);
	buf_appends(&b, "+2B");
	CHECK_INTEQ(mail(buf_cstr(&b), &m), -1);
	buf_free(&b);
}

static const struct param_case rcpt_cases[] = {
	{ "<b@c.org>", ALL, 0, NULL },
	{ "<b@c.org>", 0, 0, NULL },
	{ "<Postmaster>", 0, 0, NULL },
	{ "<postmaster>", 0, 0, NULL },
	{ "<bob>", ALL, 501, "5.1.3" },
	{ "<>", ALL, 501, "5.1.3" },
	{ "b@c.org", ALL, 501, "5.1.3" },
	{ "<b@c.org", ALL, 501, "5.1.3" },
	{ "<b c@c.org>", ALL, 501, "5.1.3" },
	{ "<b@c.org> NOTIFY=NEVER", ALL, 0, NULL },
	{ "<b@c.org> NOTIFY=SUCCESS,FAILURE,DELAY", ALL, 0, NULL },
	{ "<b@c.org> NOTIFY=NEVER,SUCCESS", ALL, 501, "5.5.4" },
	{ "<b@c.org> NOTIFY=SUCCESS,", ALL, 501, "5.5.4" },
	{ "<b@c.org> NOTIFY=,SUCCESS", ALL, 501, "5.5.4" },
	{ "<b@c.org> NOTIFY=SUCCESS,,DELAY", ALL, 501, "5.5.4" },
	{ "<b@c.org> NOTIFY=FOO", ALL, 501, "5.5.4" },
	{ "<b@c.org> NOTIFY", ALL, 501, "5.5.4" },
	{ "<b@c.org> NOTIFY=NEVER", ALL & ~SMTP_EXT_DSN, 555, "5.5.4" },
	{ "<b@c.org> NOTIFY=NEVER NOTIFY=NEVER", ALL, 501, "5.5.4" },
	{ "<b@c.org> ORCPT=rfc822;b@c.org", ALL, 0, NULL },
	{ "<b@c.org> ORCPT=;b@c.org", ALL, 501, "5.5.4" },
	{ "<b@c.org> ORCPT=rfc822", ALL, 501, "5.5.4" },
	{ "<b@c.org> ORCPT=rfc822;", ALL, 501, "5.5.4" },
	{ "<b@c.org> ORCPT=rfc822;+0A", ALL, 501, "5.5.4" },
	{ "<b@c.org> ORCPT=rfc.822;x", ALL, 501, "5.5.4" },
	{ "<b@c.org> ORCPT=rfc822;x", ALL & ~SMTP_EXT_DSN, 555, "5.5.4" },
	{ "<b@c.org> SIZE=10", ALL, 555, "5.5.4" },
	{ "<b@c.org> FOO", ALL, 555, "5.5.4" },
	{ "<b@c.org>FOO", ALL, 501, "5.5.4" },
	{ "<\xce\xb4@c.org>", ALL, 553, "5.6.7" },
};

TEST(rcpt_table)
{
	for (size_t i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		const struct param_case *c = &rcpt_cases[i];
		struct smtp_rcpt_args r;
		struct smtp_error err = { 0, NULL, NULL };
		int ret = smtp_parse_rcpt(c->arg, c->ext, false, &r, &err);

		CHECK_INTEQ(ret, c->code ? -1 : 0);
		if (c->code != 0) {
			CHECK_INTEQ(err.code, c->code);
			CHECK_STREQ(err.status, c->status);
		}
		if ((ret == 0) != (c->code == 0) || (c->code && err.code != c->code))
			fprintf(stderr, "  case \"%s\": %d %s %s\n", c->arg,
				err.code, err.status, err.text);
	}
}

TEST(rcpt_values)
{
	struct smtp_rcpt_args r;
	struct smtp_error err;
	char arg[700];

	CHECK_INTEQ(smtp_parse_rcpt("<b@c.org> NOTIFY=success,Delay ORCPT=rfc822;b+2Bx+40c.org",
				    ALL, false, &r, &err), 0);
	CHECK_INTEQ(r.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY);
	CHECK_STREQ(r.orcpt, "rfc822;b+x@c.org");
	CHECK_INTEQ(smtp_parse_rcpt("<b@c.org> NOTIFY=NEVER", ALL, false, &r, &err), 0);
	CHECK_INTEQ(r.notify, SMTP_NOTIFY_NEVER);
	CHECK_INTEQ(smtp_parse_rcpt("<b@c.org>", ALL, false, &r, &err), 0);
	CHECK_INTEQ(r.notify, 0);
	CHECK_STREQ(r.orcpt, "");
	CHECK_INTEQ(smtp_parse_rcpt("<PostMaster>", ALL, false, &r, &err), 0);
	CHECK_STREQ(r.to.local, "PostMaster");
	CHECK_STREQ(r.to.domain, "");
	CHECK_INTEQ(smtp_parse_rcpt("<\xce\xb4@c.org>", ALL, true, &r, &err), 0);
	CHECK(r.to.utf8);
	CHECK_INTEQ(smtp_parse_rcpt("<\xce\xb4@c.org>", ALL, false, &r, &err), -1);
	CHECK_INTEQ(err.code, 553);

	/* ORCPT: at most 500 characters (RFC 3461 §4.2) */
	snprintf(arg, sizeof(arg), "<b@c.org> ORCPT=rfc822;%0493d", 0);
	CHECK_INTEQ(smtp_parse_rcpt(arg, ALL, false, &r, &err), 0);
	CHECK_INTEQ(strlen(r.orcpt), 500);
	snprintf(arg, sizeof(arg), "<b@c.org> ORCPT=rfc822;%0494d", 0);
	CHECK_INTEQ(smtp_parse_rcpt(arg, ALL, false, &r, &err), -1);
	CHECK_INTEQ(err.code, 501);
}

static const struct {
	const char *arg;
	int ret;
	uint64_t size;
	bool last;
} bdat_cases[] = {
	{ "100", 0, 100, false },
	{ "100 LAST", 0, 100, true },
	{ "0 LAST", 0, 0, true },
	{ "0", 0, 0, false },
	{ "7 last", 0, 7, true },
	{ "7  LAST  ", 0, 7, true },
	{ "18446744073709551615", 0, UINT64_MAX, false },
	{ "18446744073709551616", -1, 0, false },
	{ "123456789012345678901", -1, 0, false },
	{ "", -1, 0, false },
	{ "LAST", -1, 0, false },
	{ " 10", -1, 0, false },
	{ "10LAST", -1, 0, false },
	{ "10 LASTX", -1, 0, false },
	{ "10 LAST x", -1, 0, false },
	{ "10 FIRST", -1, 0, false },
	{ "-1", -1, 0, false },
	{ "+1", -1, 0, false },
	{ "1 2", -1, 0, false },
	{ "0x10", -1, 0, false },
};

TEST(bdat_table)
{
	for (size_t i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]); i++) {
		uint64_t size = 999;
		bool last = false;
		struct smtp_error err = { 0, NULL, NULL };
		int ret = smtp_parse_bdat(bdat_cases[i].arg, &size, &last, &err);

		CHECK_INTEQ(ret, bdat_cases[i].ret);
		if (ret == 0) {
			CHECK(size == bdat_cases[i].size);
			CHECK_INTEQ(last, bdat_cases[i].last);
		} else {
			CHECK_INTEQ(err.code, 501);
			CHECK_STREQ(err.status, "5.5.4");
		}
		if (ret != bdat_cases[i].ret)
			fprintf(stderr, "  case \"%s\"\n", bdat_cases[i].arg);
	}
}

TEST(helo)
{
	char out[SMTP_HELO_MAX + 1], small[8], arg[300];
	struct smtp_error err;

	CHECK_INTEQ(smtp_parse_helo("mail.example.org", out, sizeof(out), &err), 0);
	CHECK_STREQ(out, "mail.example.org");
	CHECK_INTEQ(smtp_parse_helo("[192.0.2.1]", out, sizeof(out), &err), 0);
	CHECK_STREQ(out, "[192.0.2.1]");
	CHECK_INTEQ(smtp_parse_helo("  host extra words", out, sizeof(out), &err), 0);
	CHECK_STREQ(out, "host");
	CHECK_INTEQ(smtp_parse_helo("under_score!", out, sizeof(out), &err), 0);
	CHECK_STREQ(out, "under_score!");
	CHECK_INTEQ(smtp_parse_helo("", out, sizeof(out), &err), -1);
	CHECK_INTEQ(err.code, 501);
	CHECK_STREQ(err.status, "5.5.4");
	CHECK_INTEQ(smtp_parse_helo("   ", out, sizeof(out), &err), -1);
	CHECK_INTEQ(smtp_parse_helo("h\x01st", out, sizeof(out), &err), -1);
	CHECK_INTEQ(smtp_parse_helo("h\tst", out, sizeof(out), &err), -1);
	CHECK_INTEQ(smtp_parse_helo("h\xc3\xa9", out, sizeof(out), &err), -1);
	CHECK_INTEQ(smtp_parse_helo("12345678", small, sizeof(small), &err), -1);
	CHECK_INTEQ(smtp_parse_helo("1234567", small, sizeof(small), &err), 0);
	memset(arg, 'a', 255);
	arg[255] = '\0';
	CHECK_INTEQ(smtp_parse_helo(arg, out, sizeof(out), &err), 0);
	arg[255] = 'a';
	arg[256] = '\0';
	CHECK_INTEQ(smtp_parse_helo(arg, out, sizeof(out), &err), -1);
}

static const struct {
	const char *in;
	int ret;
	const char *out;
} xtext_cases[] = {
	{ "", 0, "" },
	{ "abc", 0, "abc" },
	{ "a+2Bb", 0, "a+b" },
	{ "+3D+3d", 0, "==" },
	{ "e+3Dmc2@example.com", 0, "e=mc2@example.com" },
	{ "+20", 0, " " },
	{ "+", -1, NULL },
	{ "+2", -1, NULL },
	{ "a+", -1, NULL },
	{ "+GG", -1, NULL },
	{ "+2G", -1, NULL },
	{ "a=b", -1, NULL },
	{ "a b", -1, NULL },
	{ "a\x7f", -1, NULL },
	{ "\xc3\xa9", -1, NULL },
};

TEST(xtext)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(xtext_cases) / sizeof(xtext_cases[0]); i++) {
		buf_reset(&b);
		CHECK_INTEQ(smtp_xtext_decode(xtext_cases[i].in,
					      strlen(xtext_cases[i].in), &b),
			    xtext_cases[i].ret);
		if (xtext_cases[i].ret == 0)
			CHECK_STREQ(buf_cstr(&b), xtext_cases[i].out);
	}
	buf_reset(&b);
	smtp_xtext_encode("a+b=c d\x01\xff", 9, &b);
	CHECK_STREQ(buf_cstr(&b), "a+2Bb+3Dc+20d+01+FF");
	buf_free(&b);
}

TEST(xtext_round_trip_all_octets)
{
	char all[256];
	struct buf enc = BUF_INIT, dec = BUF_INIT;

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	smtp_xtext_encode(all, sizeof(all), &enc);
	for (size_t i = 0; i < enc.len; i++)
		CHECK(enc.ptr[i] > 32 && enc.ptr[i] < 127 && enc.ptr[i] != '=');
	CHECK_INTEQ(smtp_xtext_decode(enc.ptr, enc.len, &dec), 0);
	CHECK_INTEQ(dec.len, 256);
	CHECK(dec.len == 256 && memcmp(dec.ptr, all, 256) == 0);
	buf_free(&enc);
	buf_free(&dec);
}

int main(void)
{
	RUN(command_table);
	RUN(mail_table);
	RUN(mail_values);
	RUN(mail_envid_length);
	RUN(rcpt_table);
	RUN(rcpt_values);
	RUN(bdat_table);
	RUN(helo);
	RUN(xtext);
	RUN(xtext_round_trip_all_octets);
	return test_summary();
}
