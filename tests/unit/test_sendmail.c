/* Unit tests for src/cli/sendmail_parse: options, address qualification,
 * header recipients, dot-stuffing and message preparation. */
#include "harness.h"

#include <stdlib.h>

#include "cli/sendmail_parse.h"

/* Split a space-separated command line into argv (argv[0] = "sendmail"). */
static int split(char *line, char **argv, int max)
{
	int argc = 0;

	argv[argc++] = "sendmail";
	for (char *t = strtok(line, " "); t != NULL && argc < max; t = strtok(NULL, " "))
		argv[argc++] = t;
	return argc;
}

struct opt_case {
	const char *args;
	int ok;			/* 0 or -1 */
	bool extract, dots;
	const char *sender;	/* NULL: none */
	const char *fullname;
	const char *rcpts;	/* joined by ',' */
	enum sendmail_mode mode;
	const char *notify, *ret;
};

static const struct opt_case opt_cases[] = {
	{ "-t -i", 0, true, true, NULL, NULL, "", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-ti", 0, true, true, NULL, NULL, "", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-oi root", 0, false, true, NULL, NULL, "root", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-f a@b -F Al x y", 0, false, false, "a@b", "Al", "x,y", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-fa@b -FCronDaemon x", 0, false, false, "a@b", "CronDaemon", "x", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-r <> x", 0, false, false, "<>", NULL, "x", SENDMAIL_MODE_DELIVER, "", "" },
	/* Debian cron: */
	{ "-i -FCronDaemon -B8BITMIME -oem root", 0, false, true, NULL, "CronDaemon",
	  "root", SENDMAIL_MODE_DELIVER, "", "" },
	/* the no-op flags of mail(1), PHP, git send-email */
	{ "-odi -odb -oem -oee -om -oQ/x -B 7BIT -V id -v -L tag -XV -h 3 -C f -G -U -n x",
	  0, false, false, NULL, NULL, "x", SENDMAIL_MODE_DELIVER, "", "" },
	{ "x -t", 0, true, false, NULL, NULL, "x", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-- -t x", 0, false, false, NULL, NULL, "-t,x", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-bm x", 0, false, false, NULL, NULL, "x", SENDMAIL_MODE_DELIVER, "", "" },
	{ "-bp", 0, false, false, NULL, NULL, "", SENDMAIL_MODE_QUEUE_LIST, "", "" },
	{ "-bi", 0, false, false, NULL, NULL, "", SENDMAIL_MODE_ALIASES, "", "" },
	{ "-I", 0, false, false, NULL, NULL, "", SENDMAIL_MODE_ALIASES, "", "" },
	{ "-q", 0, false, false, NULL, NULL, "", SENDMAIL_MODE_FLUSH, "", "" },
	{ "-bs", 0, false, false, NULL, NULL, "", SENDMAIL_MODE_UNSUPPORTED, "", "" },
	{ "-N success,failure -R hdrs x", 0, false, false, NULL, NULL, "x",
	  SENDMAIL_MODE_DELIVER, "SUCCESS,FAILURE", "HDRS" },
	{ "-N never x", 0, false, false, NULL, NULL, "x", SENDMAIL_MODE_DELIVER, "NEVER", "" },
	{ "-N Delay -R FULL x", 0, false, false, NULL, NULL, "x", SENDMAIL_MODE_DELIVER,
	  "DELAY", "FULL" },
	{ "-N sometimes x", -1, false, false, NULL, NULL, "", 0, "", "" },
	{ "-R body x", -1, false, false, NULL, NULL, "", 0, "", "" },
	{ "-f", -1, false, false, NULL, NULL, "", 0, "", "" },
	{ "-k x", -1, false, false, NULL, NULL, "", 0, "", "" },
	{ "-tk x", -1, false, false, NULL, NULL, "", 0, "", "" },
};

TEST(options)
{
	for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		const struct opt_case *c = &opt_cases[i];
		char line[256], *argv[40];
		struct sendmail_opts o;
		struct buf r = BUF_INIT;
		const char *why = NULL;
		int argc;

		snprintf(line, sizeof(line), "%s", c->args);
		argc = split(line, argv, 40);
		CHECK_INTEQ(sendmail_opts_parse(argc, argv, &o, &why), c->ok);
		if (c->ok < 0) {
			CHECK(why != NULL);
			sendmail_opts_free(&o);
			continue;
		}
		for (size_t k = 0; k < o.nrcpts; k++)
			buf_printf(&r, "%s%s", k ? "," : "", o.rcpts[k]);
		if (strcmp(buf_cstr(&r), c->rcpts) != 0 || o.extract != c->extract ||
		    o.ignore_dots != c->dots || o.mode != c->mode)
			fprintf(stderr, "case %zu: %s\n", i, c->args);
		CHECK_STREQ(buf_cstr(&r), c->rcpts);
		CHECK(o.extract == c->extract);
		CHECK(o.ignore_dots == c->dots);
		CHECK_INTEQ(o.mode, c->mode);
		CHECK((o.sender == NULL) == (c->sender == NULL));
		if (c->sender)
			CHECK_STREQ(o.sender, c->sender);
		CHECK((o.fullname == NULL) == (c->fullname == NULL));
		if (c->fullname)
			CHECK_STREQ(o.fullname, c->fullname);
		CHECK_STREQ(o.notify, c->notify);
		CHECK_STREQ(o.ret, c->ret);
		buf_free(&r);
		sendmail_opts_free(&o);
	}
}

TEST(option_value_in_next_argument)
{
	char *argv[] = { "sendmail", "-F", "Cron Daemon", "-f", "x@y", "-o", "i", "a" };
	struct sendmail_opts o;
	const char *why = NULL;

	CHECK_INTEQ(sendmail_opts_parse(8, argv, &o, &why), 0);
	CHECK_STREQ(o.fullname, "Cron Daemon");
	CHECK_STREQ(o.sender, "x@y");
	CHECK(o.ignore_dots);
	CHECK_INTEQ(o.nrcpts, 1);
	sendmail_opts_free(&o);
}

struct qualify_case {
	const char *in;
	bool allow_null;
	int ok;
	const char *want;
};

static const struct qualify_case qualify_cases[] = {
	{ "root", false, 0, "root@example.org" },
	{ "alice@example.net", false, 0, "alice@example.net" },
	{ "<bob@x.test>", false, 0, "bob@x.test" },
	{ "  carol  ", false, 0, "carol@example.org" },
	{ "\"a b\"", false, 0, "\"a b\"@example.org" },
	{ "<>", true, 0, "" },
	{ "", true, 0, "" },
	{ "<>", false, -1, NULL },
	{ "a@", false, -1, NULL },
	{ "a b@c", false, -1, NULL },
	{ "@c", false, -1, NULL },
	{ "a@b@c", false, -1, NULL },
	{ "a\r\nRCPT TO:<x@y>", false, -1, NULL },	/* no command injection */
};

TEST(qualify)
{
	for (size_t i = 0; i < sizeof(qualify_cases) / sizeof(qualify_cases[0]); i++) {
		const struct qualify_case *c = &qualify_cases[i];
		struct buf out = BUF_INIT;
		const char *why = NULL;
		int rc = sendmail_qualify(c->in, strlen(c->in), "example.org",
					  c->allow_null, &out, &why);

		if (rc != c->ok)
			fprintf(stderr, "qualify case %zu: %s\n", i, c->in);
		CHECK_INTEQ(rc, c->ok);
		if (c->ok == 0)
			CHECK_STREQ(buf_cstr(&out), c->want);
		buf_free(&out);
	}
}

struct hdr_case {
	const char *hdr;
	const char *want;	/* joined by ',' */
	size_t bad;
};

static const struct hdr_case hdr_cases[] = {
	{ "To: a@x.test\r\n", "a@x.test", 0 },
	{ "To: a@x.test, B <b@y.test>\r\nCc: c@z.test\r\nBcc: d@w.test\r\n",
	  "a@x.test,b@y.test,c@z.test,d@w.test", 0 },
	{ "Subject: hi\nTO: root\n\n", "root@example.org", 0 },	/* LF, case */
	/* folded lines */
	{ "To: a@x.test,\r\n b@y.test,\r\n\tc@z.test\r\n", "a@x.test,b@y.test,c@z.test", 0 },
	/* groups: names are not addresses; empty groups */
	{ "To: friends: a@x.test, b@y.test;, c@z.test\r\n", "a@x.test,b@y.test,c@z.test", 0 },
	{ "To: undisclosed-recipients:;\r\n", "", 0 },
	/* comments */
	{ "To: a@x.test (Al), (note) B (Bee) <b@y.test>\r\n", "a@x.test,b@y.test", 0 },
	{ "Cc: \"Q, Person\" <q@x.test>\r\n", "q@x.test", 0 },
	/* duplicates once */
	{ "To: a@x.test\r\nCc: a@x.test\r\n", "a@x.test", 0 },
	/* not recipients */
	{ "From: f@x.test\r\nReply-To: r@x.test\r\nX-To: x@x.test\r\n", "", 0 },
	/* Resent-* fields replace the originals (RFC 5322 3.6.6) */
	{ "To: a@x.test\r\nResent-To: b@y.test\r\nResent-Bcc: c@z.test\r\n",
	  "b@y.test,c@z.test", 0 },
	/* bad ones are counted */
	{ "To: <a@x.test\r\n", "", 1 },
	{ "To: a@x.test, @y.test\r\n", "a@x.test", 1 },
	{ "To: \"Just a name\"\r\n", "", 1 },
	/* the header section ends at the empty line */
	{ "Subject: x\r\n\r\nTo: body@x.test\r\n", "", 0 },
};

TEST(header_recipients)
{
	for (size_t i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
		const struct hdr_case *c = &hdr_cases[i];
		struct sendmail_rcpts r = { 0 };
		struct buf got = BUF_INIT;
		size_t bad = 99;

		sendmail_header_rcpts(c->hdr, strlen(c->hdr), "example.org", &r, &bad);
		for (size_t k = 0; k < r.n; k++)
			buf_printf(&got, "%s%s", k ? "," : "", r.v[k]);
		buf_append(&got, "", 0);
		if (strcmp(buf_cstr(&got), c->want) != 0 || bad != c->bad)
			fprintf(stderr, "header case %zu\n", i);
		CHECK_STREQ(buf_cstr(&got), c->want);
		CHECK_INTEQ(bad, c->bad);
		buf_free(&got);
		sendmail_rcpts_free(&r);
	}
}

struct stuff_case {
	const char *in, *want;
};

static const struct stuff_case stuff_cases[] = {
	{ "", "" },
	{ "a", "a\r\n" },
	{ "a\n", "a\r\n" },
	{ "a\r\nb\r\n", "a\r\nb\r\n" },
	{ ".\n", "..\r\n" },
	{ ".a\n..b\nc.\n", "..a\r\n...b\r\nc.\r\n" },
	{ "a\nb", "a\r\nb\r\n" },
	{ "\n\n", "\r\n\r\n" },
	{ "x\ry\n", "x\ry\r\n" },	/* a bare CR stays inside its line */
};

TEST(dot_stuff)
{
	for (size_t i = 0; i < sizeof(stuff_cases) / sizeof(stuff_cases[0]); i++) {
		struct buf out = BUF_INIT;

		sendmail_dot_stuff(stuff_cases[i].in, strlen(stuff_cases[i].in), &out);
		buf_append(&out, "", 0);
		CHECK_STREQ(buf_cstr(&out), stuff_cases[i].want);
		buf_free(&out);
	}
}

struct from_case {
	const char *name, *want;
};

static const struct from_case from_cases[] = {
	{ NULL, "a@x.test" },
	{ "", "a@x.test" },
	{ "CronDaemon", "CronDaemon <a@x.test>" },
	{ "Cron Daemon", "Cron Daemon <a@x.test>" },
	{ "John Q. Public", "\"John Q. Public\" <a@x.test>" },
	{ "a \"b\" \\c", "\"a \\\"b\\\" \\\\c\" <a@x.test>" },
	{ "evil\r\nBcc: x@y", "\"evil  Bcc: x@y\" <a@x.test>" },	/* no injection */
};

TEST(from_value)
{
	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		struct buf out = BUF_INIT;

		sendmail_from_value(from_cases[i].name, "a@x.test", &out);
		CHECK_STREQ(buf_cstr(&out), from_cases[i].want);
		buf_free(&out);
	}
}

struct msg_case {
	const char *in;
	bool dots, extract;
	int ok;
	const char *want;	/* data */
	const char *rcpts;
};

static const struct msg_case msg_cases[] = {
	/* From: added; LF becomes CRLF */
	{ "Subject: s\n\nhello\n", false, false, 0,
	  "Subject: s\r\nFrom: me@example.org\r\n\r\nhello\r\n", "" },
	/* From: present stays; CRLF input */
	{ "From: x@y.test\r\nSubject: s\r\n\r\nhi\r\n", false, false, 0,
	  "From: x@y.test\r\nSubject: s\r\n\r\nhi\r\n", "" },
	/* no header at all: an empty line separates From: from the body */
	{ "hi\nthere\n", false, false, 0,
	  "From: me@example.org\r\n\r\nhi\r\nthere\r\n", "" },
	/* "." ends input without -i ... */
	{ "From: x@y.test\n\none\n.\ntwo\n", false, false, 0,
	  "From: x@y.test\r\n\r\none\r\n", "" },
	/* ... and is data with -i (dot-stuffed) */
	{ "From: x@y.test\n\none\n.\ntwo\n", true, false, 0,
	  "From: x@y.test\r\n\r\none\r\n..\r\ntwo\r\n", "" },
	/* Bcc: removed, its recipients kept with -t */
	{ "From: x@y.test\nTo: a@x.test\nBcc: b@x.test,\n c@x.test\nSubject: s\n\nb\n",
	  false, true, 0,
	  "From: x@y.test\r\nTo: a@x.test\r\nSubject: s\r\n\r\nb\r\n",
	  "a@x.test,b@x.test,c@x.test" },
	/* an mbox From_ line is dropped */
	{ "From x@y Mon Jan  1 00:00:00 2024\nFrom: x@y.test\n\nb\n", false, false, 0,
	  "From: x@y.test\r\n\r\nb\r\n", "" },
	/* a body line that looks like a field after the separator stays */
	{ "From: x@y.test\n\nTo: z@z.test\n", false, true, 0,
	  "From: x@y.test\r\n\r\nTo: z@z.test\r\n", "" },
	/* empty input */
	{ "", false, false, 0, "From: me@example.org\r\n\r\n", "" },
	/* bare local parts of address fields get @origin (cron's "To: root") */
	{ "From: root\nTo: alice,  Bob <bob>, c@x.test\nSubject: root\n\nroot\n",
	  false, true, 0,
	  "From: root@example.org\r\nTo: alice@example.org,  Bob <bob@example.org>,"
	  " c@x.test\r\nSubject: root\r\n\r\nroot\r\n",
	  "alice@example.org,bob@example.org,c@x.test" },
	/* quotes, comments, groups and folded fields are left as they are */
	{ "To: \"a, b\" <ab>\nCc: (c) root\nTo: list: x;\nCc: one,\n two\n\n", false,
	  false, 0, "To: \"a, b\" <ab>\r\nCc: (c) root\r\nTo: list: x;\r\n"
	  "Cc: one,\r\n two\r\nFrom: me@example.org\r\n\r\n", "" },
	/* not a local part: left alone */
	{ "To: .x, a..b, <>\n\n", false, false, 0,
	  "To: .x, a..b, <>\r\nFrom: me@example.org\r\n\r\n", "" },
};

TEST(message)
{
	struct sendmail_msg_params p = { .origin = "example.org",
					 .from_addr = "me@example.org" };

	for (size_t i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];
		struct sendmail_msg m;
		struct buf r = BUF_INIT;
		const char *why = NULL;

		p.ignore_dots = c->dots;
		p.extract = c->extract;
		CHECK_INTEQ(sendmail_msg_build(c->in, strlen(c->in), &p, &m, &why), c->ok);
		buf_append(&m.data, "", 0);
		if (strcmp(buf_cstr(&m.data), c->want) != 0)
			fprintf(stderr, "message case %zu\n", i);
		CHECK_STREQ(buf_cstr(&m.data), c->want);
		for (size_t k = 0; k < m.rcpts.n; k++)
			buf_printf(&r, "%s%s", k ? "," : "", m.rcpts.v[k]);
		buf_append(&r, "", 0);
		CHECK_STREQ(buf_cstr(&r), c->rcpts);
		buf_free(&r);
		sendmail_msg_free(&m);
	}
}

TEST(message_limits_and_8bit)
{
	struct sendmail_msg_params p = { .origin = "example.org",
					 .from_addr = "me@example.org",
					 .fullname = "J\xc3\xb6rg" };
	struct sendmail_msg m;
	struct buf in = BUF_INIT;
	const char *why = NULL;

	/* 998 octets is fine, 999 is not (RFC 5322 2.1.1), CRLF or not */
	buf_appends(&in, "Subject: x\n\n");
	for (int i = 0; i < 998; i++)
		buf_appendc(&in, 'a');
	buf_appends(&in, "\r\n");
	CHECK_INTEQ(sendmail_msg_build(in.ptr, in.len, &p, &m, &why), 0);
	CHECK(!m.eightbit);
	CHECK(m.utf8_header);	/* the added From: name */
	sendmail_msg_free(&m);
	buf_appends(&in, "b");
	for (int i = 0; i < 998; i++)
		buf_appendc(&in, 'a');
	buf_appends(&in, "\nlast\n");
	CHECK_INTEQ(sendmail_msg_build(in.ptr, in.len, &p, &m, &why), -1);
	CHECK_INTEQ(m.long_line, 4);
	CHECK(why != NULL);
	sendmail_msg_free(&m);
	buf_free(&in);

	CHECK_INTEQ(sendmail_msg_build("From: a@b.test\n\n\xe2\x82\xac\n", 20, &p, &m,
				       &why), 0);
	CHECK(m.eightbit);
	CHECK(!m.utf8_header);
	CHECK(!m.added_from);
	sendmail_msg_free(&m);
}

/* Qualifying never makes a field line longer than RFC 5322 allows. */
TEST(qualify_keeps_line_limit)
{
	struct sendmail_msg_params p = { .origin = "example.org",
					 .from_addr = "me@example.org" };
	struct buf in = BUF_INIT;
	struct sendmail_msg m;
	const char *why = NULL;

	buf_appends(&in, "To: a");
	while (in.len < 990)
		buf_appends(&in, ",a");
	buf_appends(&in, "\n\nbody\n");
	CHECK_INTEQ(sendmail_msg_build(in.ptr, in.len, &p, &m, &why), 0);
	buf_append(&m.data, "", 0);
	CHECK(strncmp(buf_cstr(&m.data), in.ptr, 990) == 0);	/* as it was */
	CHECK(strstr(buf_cstr(&m.data), "@example.org,") == NULL);
	sendmail_msg_free(&m);
	buf_free(&in);
}

int main(void)
{
	RUN(options);
	RUN(option_value_in_next_argument);
	RUN(qualify);
	RUN(header_recipients);
	RUN(dot_stuff);
	RUN(from_value);
	RUN(message);
	RUN(message_limits_and_8bit);
	RUN(qualify_keeps_line_limit);
	return test_summary();
}
