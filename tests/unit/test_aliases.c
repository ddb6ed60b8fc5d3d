/* Unit tests for src/mail/aliases: the /etc/aliases parser. */
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

#include "lib/buf.h"
#include "mail/aliases.h"

static struct aliases *parse_ok(const char *text)
{
	struct buf err = BUF_INIT;
	struct aliases *a = NULL;

	if (aliases_parse("t", text, strlen(text), &a, &err) != 0) {
		fprintf(stderr, "unexpected error: %s\n", buf_cstr(&err));
		a = NULL;
	}
	buf_free(&err);
	return a;
}

static const char *const good_file =
	"# system aliases\n"
	"\n"
	"postmaster: root\n"
	"Root:\talice, Bob@Example.NET,\n"
	"\t\"|/usr/bin/never --run\",\n"
	"  /var/spool/file, :include:/etc/list\n"
	"   # an indented comment does not end the entry\n"
	"\n"
	"\"a b\": \\alice\r\n"
	"list: \"x y\"@example.org, \"carol@example.org\", dave,\n"
	"last:eve";

TEST(aliases_good_file)
{
	struct aliases *a = parse_ok(good_file);
	const struct alias_entry *e;

	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK_INTEQ(aliases_count(a), 5);
	e = aliases_lookup(a, "ROOT");
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_STREQ(e->name, "root");
		CHECK_INTEQ(e->line, 4);
		CHECK_INTEQ(e->ntargets, 5);
		CHECK_INTEQ(e->targets[0].kind, ALIAS_LOCAL);
		CHECK_STREQ(e->targets[0].value, "alice");
		CHECK_INTEQ(e->targets[1].kind, ALIAS_ADDRESS);
		CHECK_STREQ(e->targets[1].value, "Bob@Example.NET");
		CHECK_INTEQ(e->targets[2].kind, ALIAS_COMMAND);
		CHECK_STREQ(e->targets[2].value, "|/usr/bin/never --run");
		CHECK_INTEQ(e->targets[3].kind, ALIAS_FILE);
		CHECK_INTEQ(e->targets[4].kind, ALIAS_INCLUDE);
		CHECK_STREQ(e->targets[4].value, ":include:/etc/list");
	}
	e = aliases_lookup(a, "a b");
	CHECK(e != NULL && e->ntargets == 1 && e->targets[0].mailbox &&
	      strcmp(e->targets[0].value, "alice") == 0 && e->line == 9);
	e = aliases_lookup(a, "list");
	CHECK(e != NULL && e->ntargets == 3);
	if (e != NULL && e->ntargets == 3) {
		CHECK_STREQ(e->targets[0].value, "\"x y\"@example.org");
		CHECK_INTEQ(e->targets[1].kind, ALIAS_ADDRESS);
		CHECK_STREQ(e->targets[1].value, "carol@example.org");
		CHECK(!e->targets[2].mailbox);
	}
	e = aliases_lookup(a, "last");
	CHECK(e != NULL && e->ntargets == 1 && e->line == 11);
	CHECK(aliases_lookup(a, "alice") == NULL);
	CHECK(aliases_lookup(a, "roo") == NULL);
	CHECK(aliases_lookup(a, "rootx") == NULL);
	CHECK(aliases_lookup(a, "") == NULL);
	aliases_free(a);
}

TEST(aliases_empty_and_comments_only)
{
	struct aliases *a = parse_ok("");

	CHECK(a != NULL && aliases_count(a) == 0);
	CHECK(aliases_lookup(a, "x") == NULL);
	aliases_free(a);
	a = parse_ok("# nothing\n\n   \n\t# still nothing\n");
	CHECK(a != NULL && aliases_count(a) == 0);
	aliases_free(a);
}

TEST(aliases_kinds)
{
	static const struct {
		const char *line;
		enum alias_kind kind;
		const char *value;
	} cases[] = {
		{ "x: alice", ALIAS_LOCAL, "alice" },
		{ "x: a@b.example", ALIAS_ADDRESS, "a@b.example" },
		{ "x: |/bin/cat", ALIAS_COMMAND, "|/bin/cat" },
		{ "x: \"|/bin/cat -u\"", ALIAS_COMMAND, "|/bin/cat -u" },
		{ "x: /tmp/f", ALIAS_FILE, "/tmp/f" },
		{ "x: :INCLUDE:/etc/l", ALIAS_INCLUDE, ":INCLUDE:/etc/l" },
		{ "x: \"q\\\"uote\"", ALIAS_LOCAL, "q\"uote" },
		{ "x: \\root", ALIAS_LOCAL, "root" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aliases *a = parse_ok(cases[i].line);
		const struct alias_entry *e = aliases_lookup(a, "x");

		CHECK(e != NULL && e->ntargets == 1);
		if (e == NULL || e->ntargets != 1) {
			fprintf(stderr, "  case %zu\n", i);
			aliases_free(a);
			continue;
		}
		CHECK_INTEQ(e->targets[0].kind, cases[i].kind);
		CHECK_STREQ(e->targets[0].value, cases[i].value);
		aliases_free(a);
	}
	CHECK_STREQ(alias_kind_name(ALIAS_INCLUDE), "include");
	CHECK_STREQ(alias_kind_name(ALIAS_COMMAND), "command");
}

static const struct {
	const char *text;
	const char *error;
} bad_cases[] = {
	{ "a: b\n  c\n", "t:1: missing ',' between targets" },
	{ "  b\n", "t:1: continuation line without an entry" },
	{ "# c\n\n  b\n", "t:3: continuation line without an entry" },
	{ "a b\n", "t:1: missing ':' after name" },
	{ "a b: c\n", "t:1: missing ':' after name" },
	{ "abc\n", "t:1: missing ':' after name" },
	{ ": c\n", "t:1: empty name" },
	{ "\"\": c\n", "t:1: empty name" },
	{ "\"a: c\n", "t:1: unterminated quote in name" },
	{ "a@b: c\n", "t:1: name must be a local part (no '@')" },
	{ "a:\n", "t:1: no targets" },
	{ "a:   \n  \n", "t:1: no targets" },
	{ "a: b,,c\n", "t:1: empty target" },
	{ "a: , c\n", "t:1: empty target" },
	{ "a: \"\"\n", "t:1: empty target" },
	{ "a: \\\n", "t:1: empty target" },
	{ "a: \"b, c\n", "t:1: unterminated quote in target" },
	{ "a: @b\n", "t:1: bad address in target" },
	{ "a: b@\n", "t:1: bad address in target" },
	{ "x: y\na: b\x01\n", "t:2: control character in target" },
	{ "x: y\n\na: b\x7f", "t:3: control character in target" },
	{ "a\x02: b\n", "t:1: control character in name" },
	{ "a: b\nc: d\nA: e\n", "t:3: duplicate name \"a\" (first at line 1)" },
	{ "a: b\n\"A\": e\nc: d\nc: f\n",
	  "t:2: duplicate name \"a\" (first at line 1)" },
	{ "c: d\nq: e\nc: f\nq: b\nq: c\n",
	  "t:3: duplicate name \"c\" (first at line 1)" },
};

TEST(aliases_errors)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct buf err = BUF_INIT;
		struct aliases *a = (struct aliases *)&err;
		int rc = aliases_parse("t", bad_cases[i].text,
				       strlen(bad_cases[i].text), &a, &err);

		CHECK_INTEQ(rc, -1);
		CHECK(a == NULL);
		CHECK_STREQ(buf_cstr(&err), bad_cases[i].error);
		buf_free(&err);
	}
}

/* A NUL inside the text cannot be passed as a C string. */
TEST(aliases_nul_byte)
{
	static const char text[] = "a: b\nc: d\0e\n";
	struct buf err = BUF_INIT;
	struct aliases *a;

	CHECK_INTEQ(aliases_parse("f", text, sizeof(text) - 1, &a, &err), -1);
	CHECK_STREQ(buf_cstr(&err), "f:2: NUL byte");
	buf_free(&err);
}

static void check_error(const char *text, size_t len, const char *want)
{
	struct buf err = BUF_INIT;
	struct aliases *a;

	CHECK_INTEQ(aliases_parse("t", text, len, &a, &err), -1);
	CHECK_STREQ(buf_cstr(&err), want);
	buf_free(&err);
}

TEST(aliases_limits)
{
	struct buf t = BUF_INIT;

	/* a physical line at the limit passes, one byte more fails */
	buf_appends(&t, "#");
	while (t.len < ALIASES_MAX_LINE)
		buf_appendc(&t, 'c');
	buf_appends(&t, "\r\na: b\n");
	{
		struct aliases *a = parse_ok(buf_cstr(&t));
		CHECK(a != NULL);
		aliases_free(a);
	}
	buf_reset(&t);
	buf_appends(&t, "a: b\n#");
	while (t.len < 6 + ALIASES_MAX_LINE)
		buf_appendc(&t, 'c');
	check_error(t.ptr, t.len, "t:2: line too long");

	/* targets per entry */
	buf_reset(&t);
	buf_appends(&t, "a: x0");
	for (int i = 1; i < ALIASES_MAX_TARGETS; i++)
		buf_printf(&t, ",\n x%d", i);
	{
		struct aliases *a = parse_ok(buf_cstr(&t));
		const struct alias_entry *e = aliases_lookup(a, "a");
		CHECK(e != NULL && e->ntargets == ALIASES_MAX_TARGETS);
		aliases_free(a);
	}
	buf_appends(&t, ", one-more");
	check_error(t.ptr, t.len, "t:1: too many targets");

	/* entry length across continuation lines */
	buf_reset(&t);
	buf_appends(&t, "a: x");
	while (t.len < ALIASES_MAX_ENTRY_LEN + 1000) {
		buf_appends(&t, ",\n ");
		for (int i = 0; i < 500; i++)
			buf_appendc(&t, 'y');
	}
	check_error(t.ptr, t.len, "t:1: entry too long");

	/* target length */
	buf_reset(&t);
	buf_appends(&t, "a: ");
	for (int i = 0; i <= ALIASES_MAX_TARGET; i++)
		buf_appendc(&t, 'z');
	check_error(t.ptr, t.len, "t:1: target too long");

	/* name length */
	buf_reset(&t);
	for (int i = 0; i <= ALIASES_MAX_NAME; i++)
		buf_appendc(&t, 'n');
	buf_appends(&t, ": x");
	check_error(t.ptr, t.len, "t:1: name too long");
	buf_free(&t);
}

TEST(aliases_entry_count_limit)
{
	struct buf t = BUF_INIT;
	struct aliases *a;

	for (int i = 0; i < ALIASES_MAX_ENTRIES; i++)
		buf_printf(&t, "n%d: x\n", i);
	a = parse_ok(buf_cstr(&t));
	CHECK(a != NULL && aliases_count(a) == ALIASES_MAX_ENTRIES);
	CHECK(aliases_lookup(a, "n99999") != NULL);
	CHECK(aliases_lookup(a, "N4242") != NULL);
	aliases_free(a);
	buf_appends(&t, "over: x\n");
	check_error(t.ptr, t.len, "t:100001: too many entries");
	buf_free(&t);
}

TEST(aliases_load_file)
{
	char dir[] = "/tmp/test_aliases.XXXXXX";
	struct buf path = BUF_INIT, err = BUF_INIT;
	struct aliases *a = NULL;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	buf_printf(&path, "%s/aliases", dir);
	CHECK_INTEQ(aliases_load(buf_cstr(&path), &a, &err), -1);
	CHECK(strstr(buf_cstr(&err), "No such file") != NULL);
	f = fopen(buf_cstr(&path), "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("root: alice\nbad line\n", f);
		fclose(f);
	}
	buf_reset(&err);
	CHECK_INTEQ(aliases_load(buf_cstr(&path), &a, &err), -1);
	buf_printf(&path, ":2: missing ':' after name");
	CHECK_STREQ(buf_cstr(&err), buf_cstr(&path));
	buf_truncate(&path, strlen(dir) + strlen("/aliases"));
	f = fopen(buf_cstr(&path), "w");
	if (f != NULL) {
		fputs("root: alice\n", f);
		fclose(f);
	}
	CHECK_INTEQ(aliases_load(buf_cstr(&path), &a, &err), 0);
	CHECK(aliases_lookup(a, "root") != NULL);
	aliases_free(a);
	buf_reset(&err);
	CHECK_INTEQ(aliases_load(dir, &a, &err), -1);
	CHECK(strstr(buf_cstr(&err), "not a regular file") != NULL);
	unlink(buf_cstr(&path));
	rmdir(dir);
	buf_free(&path);
	buf_free(&err);
}

int main(void)
{
	RUN(aliases_good_file);
	RUN(aliases_empty_and_comments_only);
	RUN(aliases_kinds);
	RUN(aliases_errors);
	RUN(aliases_nul_byte);
	RUN(aliases_limits);
	RUN(aliases_entry_count_limit);
	RUN(aliases_load_file);
	return test_summary();
}
