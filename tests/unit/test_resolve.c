/* Unit tests for src/auth/resolve: every step of recipient resolution
 * against a temporary user database and an aliases file. */
#include "harness.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth/resolve.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "mail/aliases.h"

static char dir[] = "/tmp/test_resolve.XXXXXX";
static struct userdb *db;
static struct aliases *file;
static const char *const config_domains[] = { "example.org", "example.com" };

static const char aliases_text[] =
	"root: alice\n"
	"bob: carol@example.net\n"		/* the account bob@ORG wins */
	"ops: \"|/bin/cmd\", /tmp/file, :include:/etc/x, bob\n"
	"pipes: \"|/bin/cmd\", /tmp/f\n"
	"frank: \\bob\n"			/* the mailbox, no aliasing */
	"floop1: floop2\n"
	"floop2: floop1\n"
	"remote: x@Remote.test\n"
	"dup: \\bob, bob, Bob@example.org, frank\n";

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "setup failed: %s\n", what);
		exit(1);
	}
}

static void add_user(const char *address)
{
	const char *error = "";

	must(userdb_user_add(db, address, "pw", NULL, &error) == 0, error);
}

static void add_alias(const char *alias, const char *const *targets, size_t n)
{
	const char *error = "";

	must(userdb_alias_add(db, alias, targets, n, &error) == 0, error);
}

#define ALIAS(a, ...) add_alias(a, (const char *[]){ __VA_ARGS__ }, \
	sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *))

/* a0@ORG -> a1@ORG -> ... -> a<n-1>@ORG -> bob@ORG: bob is at depth n */
static void add_chain(const char *prefix, int n)
{
	for (int i = 0; i < n; i++) {
		struct buf a = BUF_INIT, t = BUF_INIT;

		buf_printf(&a, "%s%d@example.org", prefix, i);
		if (i + 1 < n)
			buf_printf(&t, "%s%d@example.org", prefix, i + 1);
		else
			buf_appends(&t, "bob@example.org");
		add_alias(a.ptr, (const char *[]){ t.ptr }, 1);
		buf_free(&a);
		buf_free(&t);
	}
}

static void setup(void)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	const char *error = "";

	must(mkdtemp(dir) != NULL, "mkdtemp");
	buf_printf(&path, "%s/mailkeep.db", dir);
	must(userdb_open(&db, path.ptr, &error) == 0, error);
	userdb_set_config_domains(db, config_domains, 2);
	must(userdb_domain_add(db, "example.net", &error) == 0, error);
	add_user("alice@example.org");		/* lowest id in the primary */
	add_user("bob@example.org");
	add_user("archive@example.org");
	add_user("dash-y@example.org");
	add_user("carol@example.net");
	ALIAS("alice@example.org", "alice@example.org", "archive@example.org");
	ALIAS("info@example.org", "alice@example.org", "bob@example.org",
	      "team@example.org");
	ALIAS("team@example.org", "bob@example.org", "alice@example.org");
	ALIAS("fwd@example.org", "someone@remote.test", "bob@example.org");
	ALIAS("fwd2@example.org", "Someone@Remote.test", "fwd@example.org");
	ALIAS("loop1@example.org", "loop2@example.org");
	ALIAS("loop2@example.org", "loop1@example.org");
	ALIAS("cyc@example.org", "bob@example.org", "cyc2@example.org");
	ALIAS("cyc2@example.org", "cyc@example.org");
	ALIAS("ab@example.org", "ba@example.org");
	ALIAS("ba@example.org", "ab@example.org");
	ALIAS("ghost@example.org", "nobody@example.org");
	ALIAS("me@example.org", "me@example.org");
	ALIAS("@example.net", "carol@example.net");
	ALIAS("tofile@example.org", "root@example.org");
	add_chain("d", RESOLVE_MAX_DEPTH);
	add_chain("e", RESOLVE_MAX_DEPTH + 1);
	must(aliases_parse("aliases", aliases_text, sizeof(aliases_text) - 1,
			   &file, &err) == 0, buf_cstr(&err));
	buf_free(&path);
	buf_free(&err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "acc1,acc2|remote1,remote2", each list sorted. */
static void render(struct resolve_result *r, struct buf *out)
{
	if (r->naccounts > 1)
		qsort(r->account_addrs, r->naccounts, sizeof(char *), cmp_str);
	if (r->nremote > 1)
		qsort(r->remote, r->nremote, sizeof(char *), cmp_str);
	for (size_t i = 0; i < r->naccounts; i++)
		buf_printf(out, "%s%s", i ? "," : "", r->account_addrs[i]);
	buf_appendc(out, '|');
	for (size_t i = 0; i < r->nremote; i++)
		buf_printf(out, "%s%s", i ? "," : "", r->remote[i]);
}

struct rcase {
	const char *address;
	enum resolve_status status;
	const char *want;	/* render() output when RESOLVE_OK */
};

static void run_cases(const struct resolve_ctx *ctx, const struct rcase *c,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct resolve_result r;
		struct buf got = BUF_INIT;
		const char *error = NULL;
		enum resolve_status s = resolve_address(ctx, c[i].address, &r,
							&error);

		if (s != c[i].status)
			fprintf(stderr, "  %s: %s (%s)\n", c[i].address,
				resolve_status_name(s), error ? error : "");
		CHECK_INTEQ(s, c[i].status);
		if (s == RESOLVE_OK) {
			render(&r, &got);
			CHECK_STREQ(buf_cstr(&got), c[i].want);
			CHECK(r.naccounts + r.nremote > 0);
		} else {
			CHECK(error != NULL);
			CHECK(r.naccounts == 0 && r.nremote == 0 &&
			      r.accounts == NULL);
		}
		resolve_result_free(&r);
		buf_free(&got);
	}
}

static struct resolve_ctx base_ctx(void)
{
	struct resolve_ctx ctx = {
		.db = db,
		.aliases = file,
		.primary_domain = "example.org",
		.config_domains = config_domains,
		.nconfig_domains = 2,
		.delimiter = "+",
	};

	return ctx;
}

#define RUN_CASES(ctx, cases) \
	run_cases(ctx, cases, sizeof(cases) / sizeof(cases[0]))

TEST(resolve_steps)
{
	static const struct rcase cases[] = {
		/* 1. domains */
		{ "x@remote.test", RESOLVE_NOT_LOCAL, NULL },
		{ "bob@sub.example.org", RESOLVE_NOT_LOCAL, NULL },
		{ "nobody@example.org", RESOLVE_UNKNOWN, NULL },
		{ "nobody@example.com", RESOLVE_UNKNOWN, NULL },
		{ "not an address@example.org", RESOLVE_UNKNOWN, NULL },
		{ "", RESOLVE_UNKNOWN, NULL },
		/* 3. accounts, any case; no domain means the primary */
		{ "bob@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "BOB@Example.ORG", RESOLVE_OK, "bob@example.org|" },
		{ "Bob", RESOLVE_OK, "bob@example.org|" },
		{ "carol@EXAMPLE.net", RESOLVE_OK, "carol@example.net|" },
		/* 2. db aliases before accounts; a self-target is the mailbox */
		{ "alice@example.org", RESOLVE_OK,
		  "alice@example.org,archive@example.org|" },
		{ "me@example.org", RESOLVE_UNKNOWN, NULL },
		/* nested aliases, duplicates delivered once */
		{ "info@example.org", RESOLVE_OK,
		  "alice@example.org,archive@example.org,bob@example.org|" },
		/* remote targets, deduplicated */
		{ "fwd@example.org", RESOLVE_OK, "bob@example.org|someone@remote.test" },
		{ "fwd2@example.org", RESOLVE_OK, "bob@example.org|someone@remote.test" },
		/* unknown target inside an alias */
		{ "ghost@example.org", RESOLVE_UNKNOWN, NULL },
		/* 4. the aliases file, for every local domain */
		{ "root@example.org", RESOLVE_OK,
		  "alice@example.org,archive@example.org|" },
		{ "ROOT@example.com", RESOLVE_OK,
		  "alice@example.org,archive@example.org|" },
		{ "tofile@example.org", RESOLVE_OK,
		  "alice@example.org,archive@example.org|" },
		{ "bob@example.com", RESOLVE_OK, "carol@example.net|" },
		{ "frank@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "dup@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "remote@example.com", RESOLVE_OK, "|x@remote.test" },
		/* unsupported kinds are skipped; all skipped is unknown */
		{ "ops@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "pipes@example.org", RESOLVE_UNKNOWN, NULL },
		/* 5. sub-addressing */
		{ "bob+news@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "bob+a+b@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "alice+x@example.org", RESOLVE_OK,
		  "alice@example.org,archive@example.org|" },
		{ "root+x@example.com", RESOLVE_OK,
		  "alice@example.org,archive@example.org|" },
		{ "+x@example.org", RESOLVE_UNKNOWN, NULL },
		{ "dash-y@example.org", RESOLVE_OK, "dash-y@example.org|" },
		{ "dash+y@example.org", RESOLVE_UNKNOWN, NULL },
		/* 6. catch-all, after sub-addressing */
		{ "anything@example.net", RESOLVE_OK, "carol@example.net|" },
		{ "carol+tag@example.net", RESOLVE_OK, "carol@example.net|" },
		/* loops */
		{ "loop1@example.org", RESOLVE_LOOP, NULL },
		{ "floop1@example.com", RESOLVE_LOOP, NULL },
		{ "cyc@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "d0@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "e0@example.org", RESOLVE_LOOP, NULL },
	};
	struct resolve_ctx ctx = base_ctx();

	RUN_CASES(&ctx, cases);
}

TEST(resolve_loop_back_to_account)
{
	static const struct rcase cases[] = {
		/* ab -> ba -> ab: once ab is an account, the loop ends there */
		{ "ab@example.org", RESOLVE_LOOP, NULL },
	};
	static const struct rcase after[] = {
		{ "ab@example.org", RESOLVE_OK, "ab@example.org|" },
		/* ba -> ab -> ba: ab's alias wins over its account (step 2
		 * before 3) and ba has none: a loop, as in Postfix */
		{ "ba@example.org", RESOLVE_LOOP, NULL },
	};
	struct resolve_ctx ctx = base_ctx();

	RUN_CASES(&ctx, cases);
	add_user("ab@example.org");
	RUN_CASES(&ctx, after);
}

TEST(resolve_without_delimiter_or_file)
{
	static const struct rcase cases[] = {
		{ "bob+news@example.org", RESOLVE_UNKNOWN, NULL },
		{ "root@example.org", RESOLVE_UNKNOWN, NULL },
		{ "bob@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "x+y@example.net", RESOLVE_OK, "carol@example.net|" },
	};
	struct resolve_ctx ctx = base_ctx();

	ctx.delimiter = "";
	ctx.aliases = NULL;
	RUN_CASES(&ctx, cases);
	ctx.delimiter = NULL;
	RUN_CASES(&ctx, cases);
}

TEST(resolve_delimiter_set)
{
	static const struct rcase cases[] = {
		{ "bob-news@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "bob+news@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "dash-y@example.org", RESOLVE_OK, "dash-y@example.org|" },
		{ "dash-z@example.org", RESOLVE_UNKNOWN, NULL },
	};
	struct resolve_ctx ctx = base_ctx();

	ctx.delimiter = "+-";
	RUN_CASES(&ctx, cases);
}

/* Step 7, in the order the defaults apply. */
TEST(resolve_postmaster)
{
	static const struct rcase first[] = {
		/* no postmaster anywhere: the lowest-id primary account,
		 * taken as it is (not alias-expanded) */
		{ "postmaster@example.org", RESOLVE_OK, "alice@example.org|" },
		{ "Postmaster", RESOLVE_OK, "alice@example.org|" },
		{ "abuse@example.com", RESOLVE_OK, "alice@example.org|" },
		{ "postmaster@example.net", RESOLVE_OK, "carol@example.net|" },
		{ "webmaster@example.org", RESOLVE_UNKNOWN, NULL },
	};
	static const struct rcase second[] = {
		/* postmaster@PRIMARY exists: everything goes there */
		{ "postmaster@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "abuse@example.org", RESOLVE_OK, "bob@example.org|" },
		{ "abuse+x@example.com", RESOLVE_OK, "bob@example.org|" },
		/* the catch-all comes first */
		{ "postmaster@example.net", RESOLVE_OK, "carol@example.net|" },
	};
	struct resolve_ctx ctx = base_ctx();
	const char *error;

	RUN_CASES(&ctx, first);
	ALIAS("postmaster@example.org", "bob@example.org");
	RUN_CASES(&ctx, second);
	CHECK_INTEQ(userdb_alias_del(db, "postmaster@example.org", NULL,
				     &error), 0);
}

TEST(resolve_postmaster_no_accounts)
{
	static const struct rcase cases[] = {
		{ "postmaster@example.com", RESOLVE_UNKNOWN, NULL },
	};
	struct resolve_ctx ctx = base_ctx();

	ctx.primary_domain = "example.com";	/* no accounts there */
	ctx.aliases = NULL;
	RUN_CASES(&ctx, cases);
}

TEST(resolve_expansion_limit)
{
	struct buf names = BUF_INIT;
	const char **targets = calloc(USERDB_ALIAS_MAX_TARGETS, sizeof(char *));
	struct resolve_ctx ctx = base_ctx();
	struct resolve_result r;
	const char *error = NULL;

	if (targets == NULL)
		return;
	for (size_t i = 0; i < USERDB_ALIAS_MAX_TARGETS; i++)
		buf_printf(&names, "t%zu@remote.test%c", i, '\0');
	for (size_t i = 0, off = 0; i < USERDB_ALIAS_MAX_TARGETS; i++) {
		targets[i] = names.ptr + off;
		off += strlen(targets[i]) + 1;
	}
	add_alias("wide@example.org", targets, RESOLVE_MAX_ADDRESSES - 1);
	CHECK_INTEQ(resolve_address(&ctx, "wide@example.org", &r, &error),
		    RESOLVE_OK);
	CHECK_INTEQ(r.nremote, RESOLVE_MAX_ADDRESSES - 1);
	resolve_result_free(&r);
	add_alias("wide@example.org", targets + RESOLVE_MAX_ADDRESSES - 1, 1);
	CHECK_INTEQ(resolve_address(&ctx, "wide@example.org", &r, &error),
		    RESOLVE_TEMPFAIL);
	CHECK_STREQ(error, "alias expansion reaches too many addresses");
	CHECK(r.nremote == 0 && r.remote == NULL);
	free(targets);
	buf_free(&names);
}

TEST(resolve_database_failure)
{
	struct resolve_ctx ctx = base_ctx();
	struct resolve_result r;
	struct buf path = BUF_INIT;
	const char *error = NULL;
	sqlite3 *sq;

	buf_printf(&path, "%s/mailkeep.db", dir);
	CHECK_INTEQ(sqlite3_open(path.ptr, &sq), SQLITE_OK);
	CHECK_INTEQ(sqlite3_exec(sq, "ALTER TABLE aliases RENAME TO gone",
				 NULL, NULL, NULL), SQLITE_OK);
	CHECK_INTEQ(resolve_address(&ctx, "bob@example.org", &r, &error),
		    RESOLVE_TEMPFAIL);
	CHECK_STREQ(error, "user database error");
	CHECK_INTEQ(sqlite3_exec(sq, "ALTER TABLE gone RENAME TO aliases",
				 NULL, NULL, NULL), SQLITE_OK);
	CHECK_INTEQ(resolve_address(&ctx, "bob@example.org", &r, &error),
		    RESOLVE_OK);
	resolve_result_free(&r);
	sqlite3_close(sq);
	buf_free(&path);
}

TEST(resolve_status_names)
{
	CHECK_STREQ(resolve_status_name(RESOLVE_OK), "ok");
	CHECK_STREQ(resolve_status_name(RESOLVE_LOOP), "loop");
	CHECK_STREQ(resolve_status_name(RESOLVE_NOT_LOCAL), "not-local");
}

int main(void)
{
	struct buf cmd = BUF_INIT;
	int rc;

	/* warnings about skipped targets are expected; keep output short */
	log_set_level(LOGL_ERROR);
	setup();
	RUN(resolve_steps);
	RUN(resolve_loop_back_to_account);
	RUN(resolve_without_delimiter_or_file);
	RUN(resolve_delimiter_set);
	RUN(resolve_postmaster);
	RUN(resolve_postmaster_no_accounts);
	RUN(resolve_expansion_limit);
	RUN(resolve_database_failure);
	RUN(resolve_status_names);
	rc = test_summary();
	userdb_close(db);
	aliases_free(file);
	buf_printf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.ptr) != 0)
		rc = 1;
	buf_free(&cmd);
	return rc;
}
