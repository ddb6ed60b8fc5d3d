/* Unit tests for src/pop3: line framing, command lines, AUTH responses
 * (pop3_parse) and the RETR/TOP encoder (pop3_stuff). Incremental parts
 * are fed whole, one byte at a time and split at every position. */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>

#include "pop3/pop3_parse.h"
#include "pop3/pop3_stuff.h"

/* --- commands --- */

struct cmd_case {
	const char *line;
	int rc;			/* 0 or -1 */
	enum pop3_verb verb;	/* when rc == 0 */
	unsigned nargs;
	const char *arg0, *arg1;
	uint32_t num0, num1;
	const char *error;	/* when rc == -1 */
	bool unknown;
};

static const struct cmd_case cmd_cases[] = {
	{ "USER alice@example.org", 0, POP3_CMD_USER, 1, "alice@example.org", NULL, 0, 0, NULL, false },
	{ "user alice", 0, POP3_CMD_USER, 1, "alice", NULL, 0, 0, NULL, false },
	{ "USER", -1, 0, 0, NULL, NULL, 0, 0, "missing argument", false },
	{ "USER a b", -1, 0, 0, NULL, NULL, 0, 0, "too many arguments", false },
	{ "USER a  ", 0, POP3_CMD_USER, 1, "a", NULL, 0, 0, NULL, false },
	{ "USER \x01x", -1, 0, 0, NULL, NULL, 0, 0, "invalid character in argument", false },
	{ "USER j\xc3\xbcrgen", 0, POP3_CMD_USER, 1, "j\xc3\xbcrgen", NULL, 0, 0, NULL, false },
	{ "PASS secret with spaces ", 0, POP3_CMD_PASS, 1, "secret with spaces ", NULL, 0, 0, NULL, false },
	{ "PASS  lead", 0, POP3_CMD_PASS, 1, " lead", NULL, 0, 0, NULL, false },
	{ "PASS", -1, 0, 0, NULL, NULL, 0, 0, "missing argument", false },
	{ "PASS ", -1, 0, 0, NULL, NULL, 0, 0, "missing argument", false },
	{ "PASS a\x7f", -1, 0, 0, NULL, NULL, 0, 0, "invalid character in argument", false },
	{ "PASS a\tb", 0, POP3_CMD_PASS, 1, "a\tb", NULL, 0, 0, NULL, false },
	{ "AUTH", 0, POP3_CMD_AUTH, 0, NULL, NULL, 0, 0, NULL, false },
	{ "AUTH PLAIN", 0, POP3_CMD_AUTH, 1, "PLAIN", NULL, 0, 0, NULL, false },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", 0, POP3_CMD_AUTH, 2, "PLAIN", "AGFsaWNlAHNlY3JldA==", 0, 0, NULL, false },
	{ "AUTH PLAIN = x", -1, 0, 0, NULL, NULL, 0, 0, "too many arguments", false },
	{ "CAPA", 0, POP3_CMD_CAPA, 0, NULL, NULL, 0, 0, NULL, false },
	{ "capa ", 0, POP3_CMD_CAPA, 0, NULL, NULL, 0, 0, NULL, false },
	{ "CAPA x", -1, 0, 0, NULL, NULL, 0, 0, "too many arguments", false },
	{ "STLS", 0, POP3_CMD_STLS, 0, NULL, NULL, 0, 0, NULL, false },
	{ "QUIT", 0, POP3_CMD_QUIT, 0, NULL, NULL, 0, 0, NULL, false },
	{ "STAT", 0, POP3_CMD_STAT, 0, NULL, NULL, 0, 0, NULL, false },
	{ "NOOP", 0, POP3_CMD_NOOP, 0, NULL, NULL, 0, 0, NULL, false },
	{ "RSET", 0, POP3_CMD_RSET, 0, NULL, NULL, 0, 0, NULL, false },
	{ "LIST", 0, POP3_CMD_LIST, 0, NULL, NULL, 0, 0, NULL, false },
	{ "LIST 7", 0, POP3_CMD_LIST, 1, "7", NULL, 7, 0, NULL, false },
	{ "LIST 007", 0, POP3_CMD_LIST, 1, "007", NULL, 7, 0, NULL, false },
	{ "LIST 0", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "LIST -1", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "LIST +1", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "LIST 1x", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "LIST 4294967295", 0, POP3_CMD_LIST, 1, "4294967295", NULL, 4294967295u, 0, NULL, false },
	{ "LIST 4294967296", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "LIST 99999999999999999999999", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "LIST 1 2", -1, 0, 0, NULL, NULL, 0, 0, "too many arguments", false },
	{ "LIST  1", -1, 0, 0, NULL, NULL, 0, 0, "syntax error: one space between arguments", false },
	{ "RETR 1", 0, POP3_CMD_RETR, 1, "1", NULL, 1, 0, NULL, false },
	{ "RETR", -1, 0, 0, NULL, NULL, 0, 0, "missing argument", false },
	{ "RETR one", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "DELE 3", 0, POP3_CMD_DELE, 1, "3", NULL, 3, 0, NULL, false },
	{ "DELE", -1, 0, 0, NULL, NULL, 0, 0, "missing argument", false },
	{ "TOP 2 0", 0, POP3_CMD_TOP, 2, "2", "0", 2, 0, NULL, false },
	{ "TOP 2 10", 0, POP3_CMD_TOP, 2, "2", "10", 2, 10, NULL, false },
	{ "top 2 10 ", 0, POP3_CMD_TOP, 2, "2", "10", 2, 10, NULL, false },
	{ "TOP 2", -1, 0, 0, NULL, NULL, 0, 0, "missing argument", false },
	{ "TOP 2 -1", -1, 0, 0, NULL, NULL, 0, 0, "invalid number of lines", false },
	{ "TOP 0 1", -1, 0, 0, NULL, NULL, 0, 0, "invalid message number", false },
	{ "TOP 1 2 3", -1, 0, 0, NULL, NULL, 0, 0, "too many arguments", false },
	{ "UIDL", 0, POP3_CMD_UIDL, 0, NULL, NULL, 0, 0, NULL, false },
	{ "UIDL 5", 0, POP3_CMD_UIDL, 1, "5", NULL, 5, 0, NULL, false },
	{ "APOP a b", 0, POP3_CMD_APOP, 2, "a", "b", 0, 0, NULL, false },
	{ "", -1, 0, 0, NULL, NULL, 0, 0, "empty command", true },
	{ " LIST", -1, 0, 0, NULL, NULL, 0, 0, "empty command", true },
	{ "FOO", -1, 0, 0, NULL, NULL, 0, 0, "unknown command", true },
	{ "LISTS", -1, 0, 0, NULL, NULL, 0, 0, "unknown command", true },
	{ "LI", -1, 0, 0, NULL, NULL, 0, 0, "unknown command", true },
	{ "LIST\t1", -1, 0, 0, NULL, NULL, 0, 0, "unknown command", true },
	{ "NOOP\r", -1, 0, 0, NULL, NULL, 0, 0, "unknown command", true },
	{ "RETR 1\r2", -1, 0, 0, NULL, NULL, 0, 0, "invalid character in argument", false },
};

TEST(command_table)
{
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		const struct cmd_case *c = &cmd_cases[i];
		struct pop3_command cmd;
		const char *error = NULL;
		bool unknown;
		char *line = strdup(c->line);
		int rc = pop3_command_parse(line, strlen(line), &cmd, &unknown,
					    &error);

		if (rc != c->rc)
			fprintf(stderr, "case %zu: \"%s\"\n", i, c->line);
		CHECK_INTEQ(rc, c->rc);
		if (rc == 0 && c->rc == 0) {
			CHECK_INTEQ(cmd.verb, c->verb);
			CHECK_INTEQ(cmd.nargs, c->nargs);
			if (c->arg0 != NULL)
				CHECK_STREQ(cmd.arg[0], c->arg0);
			if (c->arg1 != NULL)
				CHECK_STREQ(cmd.arg[1], c->arg1);
			CHECK_INTEQ(cmd.num[0], c->num0);
			CHECK_INTEQ(cmd.num[1], c->num1);
		} else if (rc == -1 && c->rc == -1) {
			CHECK_STREQ(error, c->error);
			CHECK_INTEQ(unknown, c->unknown);
		}
		free(line);
	}
}

TEST(command_nul_byte)
{
	char line[] = "LIST\0 1";
	struct pop3_command cmd;
	const char *error;
	bool unknown;

	CHECK_INTEQ(pop3_command_parse(line, sizeof(line) - 1, &cmd, &unknown,
				       &error), -1);
	CHECK_STREQ(error, "invalid character in command");
	CHECK_STREQ(pop3_verb_name(POP3_CMD_TOP), "TOP");
	CHECK_STREQ(pop3_verb_name(POP3_CMD_UIDL), "UIDL");
}

/* --- line framing --- */

/* Feed input in pieces of `step` bytes (0 = whole); the events are written
 * to out as "L<text>|" per line and "X|" per overlong line. */
static void frame(const char *in, size_t len, size_t step, size_t max,
		  struct buf *out)
{
	struct pop3_line l;
	size_t off = 0;

	pop3_line_init(&l, max);
	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		size_t used, tlen;
		enum pop3_line_status st = pop3_line_feed(&l, in + off, n, &used);

		CHECK(used <= n);
		CHECK(used > 0);
		off += used;
		if (st == POP3_LINE_DONE) {
			const char *t = pop3_line_text(&l, &tlen);
			buf_appendc(out, 'L');
			buf_append(out, t, tlen);
			buf_appendc(out, '|');
		} else if (st == POP3_LINE_TOO_LONG) {
			buf_appends(out, "X|");
		}
	}
	pop3_line_free(&l);
}

struct frame_case {
	const char *in;
	size_t len;		/* 0: strlen */
	size_t max;
	const char *want;
};

TEST(line_framing)
{
	static char at_limit[300], over_limit[300], over_bare[300], huge[5000];
	struct frame_case cases[] = {
		{ "NOOP\r\nSTAT\r\n", 0, 255, "LNOOP|LSTAT|" },
		{ "NOOP\nSTAT\n", 0, 255, "LNOOP|LSTAT|" },
		{ "\r\n\n", 0, 255, "L|L|" },
		{ "NOOP\r\nST", 0, 255, "LNOOP|" },
		{ "A\rB\r\n", 0, 255, "LA\rB|" },
		{ at_limit, 0, 255, NULL },
		{ over_limit, 0, 255, "X|LNOOP|" },
		{ over_bare, 0, 255, "X|LNOOP|" },
		{ huge, 0, 255, "X|LQUIT|" },
	};
	struct buf want_limit = BUF_INIT;

	/* 253 octets + CRLF = 255: the largest command allowed */
	memset(at_limit, 'a', 253);
	memcpy(at_limit + 253, "\r\n", 3);
	buf_appendc(&want_limit, 'L');
	buf_append(&want_limit, at_limit, 253);
	buf_appendc(&want_limit, '|');
	cases[5].want = buf_cstr(&want_limit);
	memset(over_limit, 'a', 254);
	memcpy(over_limit + 254, "\r\nNOOP\r\n", 9);
	memset(over_bare, 'a', 254);
	memcpy(over_bare + 254, "\nNOOP\r\n", 8);
	memset(huge, 'x', sizeof(huge) - 10);
	memcpy(huge + sizeof(huge) - 10, "\nQUIT\r\n", 8);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		for (size_t step = 0; step <= 3; step++) {
			struct buf out = BUF_INIT;
			frame(cases[i].in, len, step, cases[i].max, &out);
			if (out.len != strlen(cases[i].want) ||
			    memcmp(out.ptr, cases[i].want, out.len) != 0) {
				fprintf(stderr, "frame case %zu step %zu: got %zu bytes\n",
					i, step, out.len);
				CHECK(false);
			}
			buf_free(&out);
		}
	}
	buf_free(&want_limit);
}

TEST(line_limit_switch)
{
	struct pop3_line l;
	char big[1000];
	size_t used, tlen;

	memset(big, 'Q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	pop3_line_init(&l, POP3_LINE_MAX);
	CHECK_INTEQ(pop3_line_feed(&l, big, sizeof(big), &used), POP3_LINE_TOO_LONG);
	CHECK_INTEQ(used, sizeof(big));
	pop3_line_set_max(&l, POP3_SASL_LINE_MAX);
	CHECK_INTEQ(pop3_line_feed(&l, big, sizeof(big), &used), POP3_LINE_DONE);
	pop3_line_text(&l, &tlen);
	CHECK_INTEQ(tlen, sizeof(big) - 1);
	/* a partial line is forgotten at STLS */
	CHECK_INTEQ(pop3_line_feed(&l, "CAPA", 4, &used), POP3_LINE_MORE);
	pop3_line_reset(&l);
	CHECK_INTEQ(pop3_line_feed(&l, "STAT\r\n", 6, &used), POP3_LINE_DONE);
	CHECK_STREQ(pop3_line_text(&l, &tlen), "STAT");
	/* NUL bytes stay in the line: the command parser refuses them */
	CHECK_INTEQ(pop3_line_feed(&l, "A\0B\r\n", 5, &used), POP3_LINE_DONE);
	CHECK(memcmp(pop3_line_text(&l, &tlen), "A\0B", 4) == 0);
	CHECK_INTEQ(tlen, 3);
	pop3_line_free(&l);
}

/* --- AUTH responses --- */

TEST(sasl_responses)
{
	struct buf out = BUF_INIT;

	CHECK_INTEQ(pop3_sasl_initial("=", 1, &out), POP3_SASL_DATA);
	CHECK_INTEQ(out.len, 0);
	CHECK_INTEQ(pop3_sasl_initial("AGFsaWNlAHNlY3JldA==", 20, &out),
		    POP3_SASL_DATA);
	CHECK_INTEQ(out.len, 13);
	CHECK(memcmp(out.ptr, "\0alice\0secret", 13) == 0);
	buf_reset(&out);
	CHECK_INTEQ(pop3_sasl_initial("AGFsaWNl*", 9, &out), POP3_SASL_BAD);
	CHECK_INTEQ(pop3_sasl_initial("YQ", 2, &out), POP3_SASL_BAD);
	CHECK_INTEQ(pop3_sasl_initial("", 0, &out), POP3_SASL_BAD);
	CHECK_INTEQ(pop3_sasl_line("*", 1, &out), POP3_SASL_CANCEL);
	CHECK_INTEQ(pop3_sasl_line("", 0, &out), POP3_SASL_DATA);
	CHECK_INTEQ(out.len, 0);
	CHECK_INTEQ(pop3_sasl_line("=", 1, &out), POP3_SASL_BAD);
	CHECK_INTEQ(pop3_sasl_line("YWJj", 4, &out), POP3_SASL_DATA);
	CHECK_STREQ(buf_cstr(&out), "abc");
	buf_reset(&out);
	CHECK_INTEQ(pop3_sasl_line("YW Jj", 5, &out), POP3_SASL_BAD);
	CHECK_INTEQ(pop3_sasl_line("YWJ\0", 4, &out), POP3_SASL_BAD);
	CHECK_INTEQ(out.len, 0);
	buf_free(&out);
}

/* --- RETR / TOP encoding --- */

struct stuff_case {
	const char *in;
	bool top;
	uint32_t lines;
	const char *want;
};

static const struct stuff_case stuff_cases[] = {
	{ "", false, 0, ".\r\n" },
	{ "A: b\r\n\r\nbody\r\n", false, 0, "A: b\r\n\r\nbody\r\n.\r\n" },
	/* bare LF gets its CR; an unterminated last line is ended */
	{ "A: b\n\nbody", false, 0, "A: b\r\n\r\nbody\r\n.\r\n" },
	/* byte-stuffing: only at line starts, also after a bare LF */
	{ "A: b\r\n\r\n.\r\n..x\r\na.b\r\n.", false, 0,
	  "A: b\r\n\r\n..\r\n...x\r\na.b\r\n..\r\n.\r\n" },
	{ ".starts\n.x\n", false, 0, "..starts\r\n..x\r\n.\r\n" },
	/* a bare CR is left alone; a final one does not double */
	{ "a\rb\r\nc\r", false, 0, "a\rb\r\nc\r\n.\r\n" },
	/* TOP: header, blank line, n body lines */
	{ "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n", true, 0,
	  "A: 1\r\nB: 2\r\n\r\n.\r\n" },
	{ "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n", true, 2,
	  "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n.\r\n" },
	{ "A: 1\r\n\r\nl1\r\n.l2\r\nl3", true, 9,
	  "A: 1\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n" },
	{ "A: 1\n\nl1\nl2\n", true, 1, "A: 1\r\n\r\nl1\r\n.\r\n" },
	/* no blank line: all of it is header */
	{ "A: 1\r\nB: 2", true, 0, "A: 1\r\nB: 2\r\n.\r\n" },
	/* a CR-only line is not the blank line; an empty body line counts */
	{ "A: 1\r\n\r\n\r\nx\r\n", true, 1, "A: 1\r\n\r\n\r\n.\r\n" },
};

static void stuff_run(const struct stuff_case *c, size_t split, size_t step,
		      struct buf *out)
{
	struct pop3_stuff st;
	size_t len = strlen(c->in), off = 0;

	pop3_stuff_init(&st, c->top, c->lines);
	if (split > len)
		split = len;
	if (split > 0) {
		pop3_stuff_feed(&st, c->in, split, out);
		off = split;
	}
	while (off < len && !pop3_stuff_done(&st)) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		pop3_stuff_feed(&st, c->in + off, n, out);
		off += n;
	}
	pop3_stuff_finish(&st, out);
}

TEST(stuff_table)
{
	for (size_t i = 0; i < sizeof(stuff_cases) / sizeof(stuff_cases[0]); i++) {
		const struct stuff_case *c = &stuff_cases[i];
		size_t len = strlen(c->in);

		for (size_t split = 0; split <= len; split++)
			for (size_t step = 0; step <= 2; step++) {
				struct buf out = BUF_INIT;
				stuff_run(c, split, step, &out);
				if (strcmp(buf_cstr(&out), c->want) != 0) {
					fprintf(stderr, "stuff case %zu split %zu "
						"step %zu\n", i, split, step);
					CHECK_STREQ(buf_cstr(&out), c->want);
				}
				buf_free(&out);
			}
	}
}

TEST(stuff_top_stops_reading)
{
	struct pop3_stuff st;
	struct buf out = BUF_INIT;

	pop3_stuff_init(&st, true, 1);
	pop3_stuff_feed(&st, "H: v\r\n\r\nline\r\n", 14, &out);
	CHECK(pop3_stuff_done(&st));
	pop3_stuff_feed(&st, "more\r\n", 6, &out);	/* ignored */
	pop3_stuff_finish(&st, &out);
	CHECK_STREQ(buf_cstr(&out), "H: v\r\n\r\nline\r\n.\r\n");
	buf_free(&out);
}

int main(void)
{
	RUN(command_table);
	RUN(command_nul_byte);
	RUN(line_framing);
	RUN(line_limit_switch);
	RUN(sasl_responses);
	RUN(stuff_table);
	RUN(stuff_top_stops_reading);
	return test_summary();
}
