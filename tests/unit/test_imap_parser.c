/* Unit tests for src/imap/imap_parser: a table of client input and the
 * transcript the parser makes of it (commands, "+" continuations, error
 * replies), checked with the input given in one piece, one byte at a
 * time and split in two at every position; limits and streaming; and
 * every "C:" line of the Apache James MPT scripts. */
#include "harness.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "imap/imap_parser.h"
#include "imap/imap_section.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

/* Feed in[0..len) in pieces of `step` bytes (0: in one go), or split in
 * two at `split` when step is SIZE_MAX; write the transcript to out:
 * "+ " per continuation, each command's dump and each error reply on a
 * line of its own, "[data]" for streamed message bytes. */
/* Printed before each error reply in transcripts. */
static const char *err_mark = "";

static void run(struct imap_parser *p, const char *in, size_t len,
		size_t step, size_t split, struct buf *out)
{
	size_t pos = 0;
	struct buf chunks = BUF_INIT;

	while (pos < len) {
		size_t end = step == SIZE_MAX ? (pos < split ? split : len) :
			     step == 0 ? len : (pos + step < len ? pos + step : len);
		size_t used;
		const void *data;
		size_t dlen;

		switch (imap_parser_feed(p, in + pos, end - pos, &used)) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_CONTINUE:
			buf_appends(out, "+ ");
			break;
		case IMAP_PARSE_CHUNK:
			imap_parser_chunk(p, &data, &dlen);
			buf_append(&chunks, data, dlen);
			break;
		case IMAP_PARSE_DONE:
			imap_command_dump(imap_parser_command(p), out);
			if (chunks.len > 0)
				buf_printf(out, " [%s]", buf_cstr(&chunks));
			buf_reset(&chunks);
			buf_appendc(out, '\n');
			imap_parser_next(p);
			break;
		case IMAP_PARSE_ERROR:
			buf_appends(out, err_mark);
			imap_parser_error_reply(p, out);
			buf_truncate(out, out->len - 2);	/* CRLF */
			buf_appendc(out, '\n');
			buf_reset(&chunks);
			imap_parser_next(p);
			break;
		}
		pos += used;
	}
	buf_free(&chunks);
}

/* Small limits so that every one of them can be reached in a table. */
static const struct imap_parser_limits tiny = {
	.max_line = 40,
	.max_literal = 10,
	.max_append = 20,
	.max_command = 60,
	.max_drain = 50,
	.max_depth = 2,
	.max_args = 6,
};

struct pcase {
	const char *in;
	size_t len;
	const char *want;
	const struct imap_parser_limits *limits;	/* NULL: default */
	bool stream;
};

#define OK(in, want) { in, sizeof(in) - 1, want, NULL, false }
#define TINY(in, want) { in, sizeof(in) - 1, want, &tiny, false }
#define STREAM(in, want) { in, sizeof(in) - 1, want, &tiny, true }

static const struct pcase cases[] = {
	/* RFC 3501 §9 grammar, positive */
	OK("a1 NOOP\r\n", "a1 NOOP\n"),
	OK("a1 noop\n", "a1 noop\n"),				/* bare LF */
	OK("A001 LOGIN SMITH SESAME\r\n", "A001 LOGIN SMITH SESAME\n"),
	OK("a LOGIN user \"pa ss\\\"w\\\\d\"\r\n",
	   "a LOGIN user \"pa ss\\\"w\\\\d\"\n"),
	OK("a LOGIN {4}\r\nuser {4+}\r\npass\r\n",
	   "+ a LOGIN {4}\"user\" {4+}\"pass\"\n"),
	OK("a X \"\" () {0}\r\n\r\n", "+ a X \"\" () {0}\"\"\n"),
	OK("a X {0+}\r\n\r\n", "a X {0+}\"\"\n"),
	OK("a X {2}\r\n\r\n (y)\r\n", "+ a X {2}\"\\x0d\\x0a\" (y)\n"),
	OK("a ID NIL\r\n", "a ID NIL\n"),
	OK("a ID (\"name\" \"x\" \"version\" NIL)\r\n",
	   "a ID (\"name\" \"x\" \"version\" NIL)\n"),
	OK("a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100> UID)\r\n",
	   "a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100> UID)\n"),
	OK("a FETCH 1 body[]\r\n", "a FETCH 1 body[]\n"),
	OK("a FETCH 1 (BINARY.SIZE[1] BINARY[2]<5.6>)\r\n",
	   "a FETCH 1 (BINARY.SIZE[1] BINARY[2]<5.6>)\n"),
	OK("a FETCH 1 BODY[HEADER.FIELDS ({4}\r\nFrom \"a]\\\"b\")]\r\n",
	   "+ a FETCH 1 BODY[HEADER.FIELDS (\"From\" \"a]\\\"b\")]\n"),
	OK("a FETCH 1 BODY[HEADER.FIELDS ({3+}\r\na\"b)]\r\n",
	   "a FETCH 1 BODY[HEADER.FIELDS (\"a\\\"b\")]\n"),
	OK("a APPEND box ~{3}\r\na\0b\r\n", "+ a APPEND box ~{3}\"a\\x00b\"\n"),
	OK("a APPEND box (\\Seen) \" 1-Jan-2020 10:00:00 +0000\" {3+}\r\nabc\r\n",
	   "a APPEND box (\\Seen) \" 1-Jan-2020 10:00:00 +0000\" {3+}\"abc\"\n"),
	OK("a APPEND box {2}\r\n\0\0\r\n", "+ a APPEND box {2}\"\\x00\\x00\"\n"),
	OK("a SEARCH  OR ( FROM o )  ( TO x ) \r\n",
	   "a SEARCH OR (FROM o) (TO x)\n"),
	OK("a LIST \"\" *\r\n", "a LIST \"\" *\n"),
	OK("a LIST \"\" %/x\r\n", "a LIST \"\" %/x\n"),
	OK("a STORE 1 +FLAGS.SILENT (\\Seen $Junk \\*)\r\n",
	   "a STORE 1 +FLAGS.SILENT (\\Seen $Junk \\*)\n"),
	OK("a UID SEARCH $\r\n", "a UID SEARCH $\n"),
	OK("a SELECT ~/mail\r\n", "a SELECT ~/mail\n"),
	OK("a SELECT ~\r\n", "a SELECT ~\n"),
	OK("a SELECT foo]bar\r\n", "a SELECT foo]bar\n"),
	OK("a CREATE a[b\r\n", "a CREATE a[b\n"),
	OK("a SELECT \"\xc3\xa9t\xc3\xa9\"\r\n", "a SELECT \"\\xc3\\xa9t\\xc3\\xa9\"\n"),
	OK("a X ((a) (b (c)))\r\n", "a X ((a) (b (c)))\n"),
	OK("a NOOP\r\nb NOOP\nc LOGOUT\r\n", "a NOOP\nb NOOP\nc LOGOUT\n"),
	OK("tag.with]x NOOP\r\n", "tag.with]x NOOP\n"),
	/* syntax errors: BAD, then the rest of the line is skipped */
	OK("\r\nb NOOP\r\n", "* BAD Empty command line\nb NOOP\n"),
	OK("+abc NOOP\r\n", "* BAD Invalid tag\n"),
	OK("* NOOP\r\n", "* BAD Invalid tag\n"),
	OK(" a NOOP\r\n", "* BAD Invalid tag\n"),
	OK("a(b NOOP\r\n", "* BAD Invalid tag\n"),
	OK("a\r\n", "a BAD Missing command\n"),
	OK("a \r\n", "a BAD Missing command\n"),
	OK("a  NOOP\r\n", "a BAD Missing command\n"),
	OK("a NO(OP\r\n", "a BAD Invalid command name\n"),
	OK("a NOOP\rx\r\nb NOOP\r\n", "a BAD CR without LF\nb NOOP\n"),
	OK("a X (b\r\n", "a BAD Missing ')'\n"),
	OK("a X b)\r\n", "a BAD Unexpected ')'\n"),
	OK("a X \"abc\r\nb NOOP\r\n", "a BAD Unterminated quoted string\nb NOOP\n"),
	OK("a X \"a\\b\"\r\n", "a BAD Invalid escape in quoted string\n"),
	OK("a X \"a\0b\"\r\n", "a BAD Unterminated quoted string\n"),
	OK("a X (a)(b)\"c\"d\r\n", "a X (a) (b) \"c\" d\n"),	/* lenient */
	OK("b13 LIST (SUBSCRIBED) \"\" \"*\"RETURN (SUBSCRIBED)\r\n",
	   "b13 LIST (SUBSCRIBED) \"\" \"*\" RETURN (SUBSCRIBED)\n"),
	OK("a X {1}\r\nab\r\n", "+ a BAD Missing space between arguments\n"),
	OK("a X a\"b\"\r\n", "a BAD Missing space between arguments\n"),
	OK("a X a{3}\r\n", "a BAD Missing space between arguments\n"),
	OK("a X {abc}\r\n", "a BAD Invalid literal\n"),
	OK("a X {}\r\n", "a BAD Invalid literal\n"),
	OK("a X {+}\r\n", "a BAD Invalid literal\n"),
	OK("a X {5+ }\r\n", "a BAD Invalid literal\n"),
	OK("a X {5}x\r\nb NOOP\r\n", "a BAD Invalid literal\nb NOOP\n"),
	OK("a X ~x{5}\r\n", "a BAD Missing space between arguments\n"),
	OK("a X {3}\r\na\0b\r\nc NOOP\r\n", "+ a BAD NUL in literal\nc NOOP\n"),
	OK("a X \x01\r\n", "a BAD Invalid character in command\n"),
	OK("a X \xc3\xa9\r\n", "a BAD Invalid character in command\n"),
	OK("a X BODY[HEADER\r\nb NOOP\r\n", "a BAD Unterminated section\nb NOOP\n"),
	OK("a X BODY[\"a\r\n", "a BAD Unterminated quoted string\n"),
	OK("a X BODY[\"\\a\"]\r\n", "a BAD Invalid escape in quoted string\n"),
	OK("a X BODY[]<1.x>\r\n", "a BAD Invalid partial\n"),
	OK("a X BODY[]x\r\n", "a BAD Missing space between arguments\n"),
	OK("a X BODY[{2}\r\na\r]\r\n", "+ a BAD Line break in section literal\n"),
	/* a non-synchronising literal in a skipped line is drained, so the
	 * command inside it is never run */
	OK("a X \x01 {10+}\r\nb DELETE x\r\nc NOOP\r\n",
	   "a BAD Invalid character in command\nc NOOP\n"),
	OK("a X \x01 {10}\r\nb DELETE x\r\n",
	   "a BAD Invalid character in command\nb DELETE x\n"),
	OK("a X \x01 {3+}x\r\nb NOOP\r\n",
	   "a BAD Invalid character in command\nb NOOP\n"),
	/* limits: literals refused before any storage */
	OK("a LOGIN {4294967295}\r\nb NOOP\r\n", "a BAD Literal too big\nb NOOP\n"),
	OK("a LOGIN {99999999999999999999999}\r\n", "a BAD Literal too big\n"),
	OK("a LOGIN {4294967295+}\r\n",
	   "* BYE Non-synchronizing literal too big\n"),
	OK("a APPEND INBOX {4294967295}\r\n", "a NO [TOOBIG] Message too big\n"),
	TINY("a LOGIN {10}\r\n0123456789\r\n", "+ a LOGIN {10}\"0123456789\"\n"),
	TINY("a LOGIN {11}\r\nb NOOP\r\n", "a BAD Literal too big\nb NOOP\n"),
	TINY("a LOGIN {11+}\r\nhello world\r\nb NOOP\r\n",
	     "a BAD Literal too big\nb NOOP\n"),
	TINY("a LOGIN {11+}\r\nhello world x {3+}\r\nabc\r\nb NOOP\r\n",
	     "a BAD Literal too big\nb NOOP\n"),
	TINY("a LOGIN {51+}\r\n", "* BYE Non-synchronizing literal too big\n"),
	TINY("a X y \x01 {51+}\r\n",
	     "a BAD Invalid character in command\n"
	     "* BYE Non-synchronizing literal too big\n"),
	TINY("a APPEND {11}\r\n", "a BAD Literal too big\n"),
	TINY("a APPEND box {20}\r\n01234567890123456789\r\n",
	     "+ a APPEND box {20}\"01234567890123456789\"\n"),
	TINY("a APPEND box {21}\r\nb NOOP\r\n", "a NO [TOOBIG] Message too big\nb NOOP\n"),
	TINY("a APPEND box {21+}\r\n012345678901234567890\r\nb NOOP\r\n",
	     "a NO [TOOBIG] Message too big\nb NOOP\n"),
	TINY("a APPEND box {20+}\r\n01234567890123456789 {20+}\r\n"
	     "01234567890123456789\r\nb NOOP\r\n",
	     "a NO [TOOBIG] Message too big\nb NOOP\n"), /* command too big */
	TINY("a X (())\r\n", "a X (())\n"),
	TINY("a X ((()))\r\nb NOOP\r\n", "a BAD Too deep nesting\nb NOOP\n"),
	TINY("a X 1 2 3 4 5 6\r\n", "a X 1 2 3 4 5 6\n"),
	TINY("a X 1 2 3 4 5 6 7\r\nb NOOP\r\n", "a BAD Too many arguments\nb NOOP\n"),
	TINY("a X (1 (2)) () 3\r\n", "a X (1 (2)) () 3\n"),
	TINY("a X (1 (2)) () 3 4\r\n", "a BAD Too many arguments\n"),
	TINY("a X {1+}\r\n( \"(\" 5 6 7 8 9\r\n", "a BAD Too many arguments\n"),
	TINY("a X 0123456789012345678901234567890123\r\n",
	     "a X 0123456789012345678901234567890123\n"),
	TINY("a X 01234567890123456789012345678901234\r\nb NOOP\r\n",
	     "a BAD Line too long\nb NOOP\n"),
	TINY("a X {2+}\r\nxy 0123456789012345678901234567890123456\r\n",
	     "a X {2+}\"xy\" 0123456789012345678901234567890123456\n"),
	TINY("0123456789012345678901234567890123456789012\r\nb NOOP\r\n",
	     "* BAD Line too long\nb NOOP\n"),
	/* streamed APPEND messages (the mailbox name literal is not) */
	STREAM("a APPEND box (\\Seen) {11}\r\nhello world\r\n",
	       "+ a APPEND box (\\Seen) {11} [hello world]\n"),
	STREAM("a APPEND {3+}\r\nbox {5+}\r\nab\0cd {2+}\r\nef\r\n",
	       "a APPEND {3+}\"box\" {5+} {2+} [ab]\n"),
	STREAM("a APPEND box {20+}\r\n01234567890123456789 {20+}\r\n"
	       "01234567890123456789\r\n",
	       "a APPEND box {20+} {20+} [0123456789012345678901234567890123456789]\n"),
	STREAM("a APPEND box {21}\r\n", "a NO [TOOBIG] Message too big\n"),
	STREAM("a APPEND box {0}\r\n\r\n", "+ a APPEND box {0}\n"),
};

static void check_case(const struct pcase *c, size_t step, size_t split,
		       const char *mode)
{
	struct imap_parser *p = imap_parser_new(c->limits ? c->limits :
						&imap_parser_limits_default, c->stream);
	struct buf out = BUF_INIT;

	run(p, c->in, c->len, step, split, &out);
	/* "[ab]" for the chunks of "ab\0cd" as they print */
	if (strcmp(buf_cstr(&out), c->want) != 0) {
		fprintf(stderr, "  %s %zu: input \"%.*s\"\n  got:  %s  want: %s",
			mode, step == SIZE_MAX ? split : step, (int)c->len, c->in,
			buf_cstr(&out), c->want);
		test_failed_checks++;
	}
	buf_free(&out);
	imap_parser_free(p);
}

TEST(table_one_piece)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_case(&cases[i], 0, 0, "whole");
}

TEST(table_byte_at_a_time)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_case(&cases[i], 1, 0, "bytewise");
}

TEST(table_every_split)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (size_t split = 1; split < cases[i].len; split++)
			check_case(&cases[i], SIZE_MAX, split, "split");
	}
}

static const struct imap_command *parse_one(struct imap_parser *p,
					    const char *in)
{
	size_t used;

	if (imap_parser_feed(p, in, strlen(in), &used) != IMAP_PARSE_DONE ||
	    used != strlen(in))
		return NULL;
	return imap_parser_command(p);
}

TEST(arg_types_and_helpers)
{
	struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, false);
	const struct imap_command *cmd;
	const char *s;
	size_t len;

	cmd = parse_one(p, "t1 Fetch 1 (nil \"NIL\" {3+}\r\nNIL x (y))\r\n");
	CHECK(cmd != NULL);
	if (cmd == NULL)
		return;
	CHECK_STREQ(cmd->tag, "t1");
	CHECK_STREQ(cmd->name, "Fetch");
	CHECK_INTEQ(cmd->count, 2);
	CHECK_INTEQ(cmd->args[0].type, IMAP_ARG_ATOM);
	CHECK_INTEQ(cmd->args[1].type, IMAP_ARG_LIST);
	CHECK_INTEQ(cmd->args[1].count, 5);
	const struct imap_arg *l = cmd->args[1].list;
	CHECK_INTEQ(l[0].type, IMAP_ARG_NIL);
	CHECK_INTEQ(l[1].type, IMAP_ARG_STRING);
	CHECK_INTEQ(l[2].type, IMAP_ARG_LITERAL);
	CHECK(l[2].flags & IMAP_ARG_F_NONSYNC);
	CHECK(imap_arg_nstring(&l[0], &s, &len) && s == NULL);
	CHECK(imap_arg_nstring(&l[1], &s, &len) && len == 3);
	CHECK(imap_arg_nstring(&l[2], &s, &len) && strcmp(s, "NIL") == 0);
	CHECK(!imap_arg_nstring(&l[3], &s, &len));	/* atom */
	CHECK(imap_arg_astring(&l[0], &s, &len) && strcmp(s, "nil") == 0);
	CHECK(imap_arg_astring(&l[3], &s, &len) && strcmp(s, "x") == 0);
	CHECK(!imap_arg_astring(&l[4], &s, &len));	/* list */
	CHECK(imap_arg_atom_eq(&l[3], "X"));
	CHECK(!imap_arg_atom_eq(&l[1], "NIL"));	/* a string is no atom */
	imap_parser_next(p);
	CHECK(imap_parser_idle(p));
	imap_parser_free(p);
}

/* The section and partial of a FETCH atom, as imap_section reads them. */
TEST(section_atoms)
{
	struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, false);
	const struct imap_command *cmd;
	struct imap_section sec;
	const char *error = NULL;

	cmd = parse_one(p, "a FETCH 1 (BODY.PEEK[1.HEADER.FIELDS (From To)]<10.20> "
			"BODY[] body[text] BINARY.SIZE[2] BODY)\r\n");
	CHECK(cmd != NULL && cmd->count == 2);
	if (cmd == NULL || cmd->count != 2)
		return;
	const struct imap_arg *l = cmd->args[1].list;
	CHECK_INTEQ(cmd->args[1].count, 5);
	CHECK(l[0].flags & IMAP_ARG_F_SECTION);
	CHECK_INTEQ(l[0].sect_off, 10);
	CHECK(strncmp(l[0].str + l[0].sect_off, "1.HEADER.FIELDS (From To)",
		      l[0].sect_len) == 0 && l[0].sect_len == 25);
	CHECK(strncmp(l[0].str + l[0].part_off, "<10.20>", l[0].part_len) == 0 &&
	      l[0].part_len == 7);
	memset(&sec, 0, sizeof(sec));
	CHECK_INTEQ(imap_section_parse(l[0].str + l[0].sect_off, l[0].sect_len,
				       &sec, &error), 0);
	CHECK_INTEQ(sec.nparts, 1);
	CHECK_INTEQ(sec.nfields, 2);
	CHECK_INTEQ(imap_section_parse_partial(l[0].str + l[0].part_off,
					       l[0].part_len, &sec, &error), 0);
	CHECK(sec.partial_off == 10 && sec.partial_len == 20);
	imap_section_free(&sec);
	CHECK(l[1].flags & IMAP_ARG_F_SECTION);
	CHECK(l[1].sect_len == 0 && l[1].part_len == 0 && l[1].sect_off == 5);
	CHECK(l[2].sect_len == 4 && strncmp(l[2].str + l[2].sect_off, "text", 4) == 0);
	CHECK(l[3].flags & IMAP_ARG_F_SECTION);
	CHECK(!(l[4].flags & IMAP_ARG_F_SECTION));
	imap_parser_next(p);
	imap_parser_free(p);
}

TEST(limits_switch_and_state)
{
	struct imap_parser *p = imap_parser_new(&imap_parser_limits_preauth, false);
	struct buf big = BUF_INIT;
	size_t used;
	const char *reason;
	bool fatal;

	CHECK(imap_parser_idle(p));
	CHECK_STREQ(imap_parser_tag(p), "");
	/* before login: 8 KiB literals */
	buf_appends(&big, "a LOGIN {8193}\r\n");
	CHECK_INTEQ(imap_parser_feed(p, big.ptr, big.len, &used), IMAP_PARSE_ERROR);
	CHECK_INTEQ(imap_parser_error(p, &reason, &fatal),
		    IMAP_PARSER_ERR_LITERAL_TOO_BIG);
	CHECK(!fatal);
	CHECK_STREQ(imap_parser_tag(p), "a");
	imap_parser_next(p);
	/* half a command in: the new limits wait for the next command */
	CHECK_INTEQ(imap_parser_feed(p, "b X", 3, &used), IMAP_PARSE_MORE);
	CHECK(!imap_parser_idle(p));
	imap_parser_set_limits(p, &imap_parser_limits_default);
	CHECK_INTEQ(imap_parser_feed(p, " {8193}\r\n", 9, &used), IMAP_PARSE_ERROR);
	imap_parser_next(p);
	CHECK(imap_parser_idle(p));
	CHECK_INTEQ(imap_parser_feed(p, big.ptr, big.len, &used),
		    IMAP_PARSE_CONTINUE);
	CHECK_INTEQ(used, big.len);
	/* preauth depth 4 */
	imap_parser_free(p);
	p = imap_parser_new(&imap_parser_limits_preauth, false);
	CHECK_INTEQ(imap_parser_feed(p, "a X ((((", 8, &used), IMAP_PARSE_MORE);
	CHECK_INTEQ(imap_parser_feed(p, "(", 1, &used), IMAP_PARSE_ERROR);
	CHECK_INTEQ(imap_parser_error(p, NULL, NULL), IMAP_PARSER_ERR_TOO_DEEP);
	CHECK_INTEQ(used, 0);
	buf_free(&big);
	imap_parser_free(p);
}

/* A huge literal announced: no allocation, whatever the parser holds
 * stays small (the arena is given back between commands). */
TEST(many_commands_stay_small)
{
	struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, false);
	struct buf in = BUF_INIT, out = BUF_INIT;

	for (int i = 0; i < 2000; i++)
		buf_printf(&in, "a%d UID FETCH %d:* (FLAGS BODY.PEEK[HEADER.FIELDS "
			   "(DATE FROM)])\r\n", i, i + 1);
	run(p, in.ptr, in.len, 7, 0, &out);
	CHECK_INTEQ(strlen(out.ptr) > 0, 1);
	CHECK(strstr(out.ptr, "a1999 UID FETCH 2000:* (FLAGS") != NULL);
	CHECK(strstr(out.ptr, "BAD") == NULL);
	buf_free(&in);
	buf_free(&out);
	imap_parser_free(p);
}

/* ---- The James MPT scripts: every C: line, per session ---- */

#define MPT_DIR SOURCE_ROOT "/../shared/conformance/imap/james-mpt/scripts"
#define MPT_SESSIONS 16

/* Errors the scripts provoke on purpose (James answers BAD or BYE too). */
static const char *const mpt_expected_errors[] = {
	"IllegalTag.test: * BAD Invalid tag",		/* "+++..." */
	"BadTag.test: * BAD Invalid tag",		/* "(((" */
	"NoTag.test: * BAD Empty command line",
	"NoCommand.test: A88345 BAD Missing command",
	"JustTag.test: A88345 BAD Missing command",
	"Metadata.test: a10 BAD Unexpected ')'",
	"Metadata.test: a11 BAD Missing ')'",
	"Metadata.test: a12 BAD Missing space between arguments",
	"Metadata.test: g5 BAD Unexpected ')'",
	"Metadata.test: g6 BAD Missing ')'",
};

#define MPT_NEXPECTED (sizeof(mpt_expected_errors) / sizeof(char *))

struct mpt_stats {
	unsigned files, commands, unexpected;
	bool seen[MPT_NEXPECTED];
};

static bool mpt_expected(const char *file, const char *reply,
			 struct mpt_stats *st)
{
	char key[512];

	snprintf(key, sizeof(key), "%s: %s", file, reply);
	for (size_t i = 0; i < MPT_NEXPECTED; i++) {
		if (strcmp(key, mpt_expected_errors[i]) == 0) {
			st->seen[i] = true;
			return true;
		}
	}
	return false;
}

/* Parse one session's client stream; compare with a bytewise run. */
static void mpt_session(const char *file, const struct buf *in,
			struct mpt_stats *st)
{
	struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, false);
	struct buf whole = BUF_INIT, bytewise = BUF_INIT;
	char *line, *save = NULL;

	err_mark = "! ";
	run(p, in->ptr, in->len, 0, 0, &whole);
	imap_parser_free(p);
	p = imap_parser_new(&imap_parser_limits_default, false);
	run(p, in->ptr, in->len, 1, 0, &bytewise);
	imap_parser_free(p);
	err_mark = "";
	if (strcmp(buf_cstr(&whole), buf_cstr(&bytewise)) != 0) {
		fprintf(stderr, "  %s: bytewise parse differs\n", file);
		st->unexpected++;
	}
	for (line = strtok_r(whole.ptr, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "+ ", 2) == 0)
			line += strspn(line, "+ ");
		st->commands++;
		if (strncmp(line, "! ", 2) == 0 && !mpt_expected(file, line + 2, st)) {
			fprintf(stderr, "  %s: %s\n", file, line);
			st->unexpected++;
		}
	}
	buf_free(&whole);
	buf_free(&bytewise);
}

static void mpt_file(const char *dir, const char *name, struct mpt_stats *st)
{
	char path[1024], line[65536];
	struct buf sess[MPT_SESSIONS];
	unsigned cur = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return;
	for (unsigned i = 0; i < MPT_SESSIONS; i++)
		buf_init(&sess[i]);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "SESSION:", 8) == 0)
			cur = (unsigned)atoi(line + 8) % MPT_SESSIONS;
		if (strncmp(line, "C:", 2) != 0)
			continue;
		buf_appends(&sess[cur], line[2] == ' ' ? line + 3 : line + 2);
		buf_appends(&sess[cur], "\r\n");
	}
	fclose(f);
	for (unsigned i = 0; i < MPT_SESSIONS; i++) {
		if (sess[i].len > 0)
			mpt_session(name, &sess[i], st);
		buf_free(&sess[i]);
	}
	st->files++;
}

static void mpt_dir(const char *dir, struct mpt_stats *st)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 5 && strcmp(e->d_name + n - 5, ".test") == 0)
			mpt_file(dir, e->d_name, st);
	}
	closedir(d);
}

TEST(james_mpt_scripts)
{
	struct mpt_stats st;

	memset(&st, 0, sizeof(st));
	mpt_dir(MPT_DIR, &st);
	mpt_dir(MPT_DIR "/aclIntegration", &st);
	if (st.files == 0) {
		printf("james-mpt scripts not found in %s: skipped\n", MPT_DIR);
		return;
	}
	printf("james-mpt: %u scripts, %u commands\n", st.files, st.commands);
	CHECK(st.files >= 150);
	CHECK(st.commands >= 2500);
	CHECK_INTEQ(st.unexpected, 0);
	for (size_t i = 0; i < MPT_NEXPECTED; i++) {
		CHECK(st.seen[i]);	/* the list holds no stale entry */
		if (!st.seen[i])
			fprintf(stderr, "  not seen: %s\n", mpt_expected_errors[i]);
	}
}

int main(void)
{
	RUN(table_one_piece);
	RUN(table_byte_at_a_time);
	RUN(table_every_split);
	RUN(arg_types_and_helpers);
	RUN(section_atoms);
	RUN(limits_switch_and_state);
	RUN(many_commands_stay_small);
	RUN(james_mpt_scripts);
	return test_summary();
}
