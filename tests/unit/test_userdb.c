/* Unit tests for src/auth/userdb: schema, domains, accounts, passwords,
 * aliases, in a temporary directory. */
#include "harness.h"

#include <crypt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/sasl_scram.h"
#include "auth/userdb.h"
#include "lib/buf.h"

static char dir[] = "/tmp/test_userdb.XXXXXX";
static struct buf dbpath = BUF_INIT;
static const char *const config_domains[] = { "Example.ORG" };

static struct userdb *open_db(void)
{
	struct userdb *db = NULL;
	const char *error = NULL;

	if (userdb_open(&db, buf_cstr(&dbpath), &error) < 0) {
		fprintf(stderr, "userdb_open: %s\n", error);
		return NULL;
	}
	userdb_set_config_domains(db, config_domains, 1);
	return db;
}

/* Run SQL on the database behind userdb's back. */
static int raw_sql(const char *sql)
{
	sqlite3 *sq;
	int rc;

	if (sqlite3_open(buf_cstr(&dbpath), &sq) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(sq, sql, NULL, NULL, NULL);
	sqlite3_close(sq);
	return rc == SQLITE_OK ? 0 : -1;
}

static long long raw_count(const char *sql)
{
	sqlite3 *sq;
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_open(buf_cstr(&dbpath), &sq) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(sq);
	return v;
}

TEST(userdb_open_creates_private_schema)
{
	struct userdb *db = open_db();
	struct stat st;

	CHECK(db != NULL);
	userdb_close(db);
	CHECK_INTEQ(stat(buf_cstr(&dbpath), &st), 0);
	CHECK_INTEQ(st.st_mode & 0777, 0600);
	db = open_db();		/* reopening an existing database */
	CHECK(db != NULL);
	userdb_close(db);
}

TEST(userdb_refuses_newer_schema)
{
	char d2[] = "/tmp/test_userdb2.XXXXXX";
	struct buf p = BUF_INIT;
	struct userdb *db = NULL;
	const char *error = NULL;
	sqlite3 *sq;

	CHECK(mkdtemp(d2) != NULL);
	buf_printf(&p, "%s/m.db", d2);
	CHECK_INTEQ(userdb_open(&db, p.ptr, &error), 0);
	userdb_close(db);
	CHECK_INTEQ(sqlite3_open(p.ptr, &sq), SQLITE_OK);
	CHECK_INTEQ(sqlite3_exec(sq, "UPDATE meta SET value = '99' WHERE key = "
				 "'schema_version'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sq);
	CHECK_INTEQ(userdb_open(&db, p.ptr, &error), -1);
	CHECK(db == NULL);
	CHECK(error != NULL && strstr(error, "newer") != NULL);
	CHECK_INTEQ(userdb_open(&db, "/nonexistent-dir/x.db", &error), -1);
	buf_printf(&p, "-wal");
	unlink(p.ptr);
	buf_truncate(&p, p.len - 4);
	buf_printf(&p, "-shm");
	unlink(p.ptr);
	buf_truncate(&p, p.len - 4);
	unlink(p.ptr);
	rmdir(d2);
	buf_free(&p);
}

TEST(userdb_domains)
{
	static const struct {
		const char *domain;
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{ "Other.Example", NULL },
		{ "other.example", "domain already exists" },
		{ "example.org", "domain is already local (configuration file)" },
		{ "EXAMPLE.org", "domain is already local (configuration file)" },
		{ "bad_domain.example", "invalid domain name (IDNs as xn-- A-labels)" },
		{ "-x.example", "invalid domain name (IDNs as xn-- A-labels)" },
		{ "a..b", "invalid domain name (IDNs as xn-- A-labels)" },
		{ "", "invalid domain name (IDNs as xn-- A-labels)" },
		{ "xn--bcher-kva.example", NULL },
	};
	struct userdb *db = open_db();
	struct userdb_strv list;
	const char *error;

	if (db == NULL)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		error = NULL;
		rc = userdb_domain_add(db, cases[i].domain, &error);
		CHECK_INTEQ(rc, cases[i].error == NULL ? 0 : -1);
		if (cases[i].error != NULL)
			CHECK_STREQ(error, cases[i].error);
	}
	CHECK_INTEQ(userdb_domain_exists(db, "OTHER.example"), 1);
	CHECK_INTEQ(userdb_domain_exists(db, "example.org"), 0);
	CHECK_INTEQ(userdb_domain_is_local(db, "example.ORG"), 1);
	CHECK_INTEQ(userdb_domain_is_local(db, "other.example"), 1);
	CHECK_INTEQ(userdb_domain_is_local(db, "nowhere.test"), 0);
	CHECK_INTEQ(userdb_domain_list(db, &list, &error), 0);
	CHECK_INTEQ(list.n, 2);
	if (list.n == 2) {
		CHECK_STREQ(list.v[0], "other.example");
		CHECK_STREQ(list.v[1], "xn--bcher-kva.example");
	}
	userdb_strv_free(&list);
	CHECK_INTEQ(userdb_domain_del(db, "example.org", &error), -1);
	CHECK_STREQ(error, "domain is in the configuration file; remove it there");
	CHECK_INTEQ(userdb_domain_del(db, "nowhere.test", &error), -1);
	CHECK_STREQ(error, "no such domain");
	CHECK_INTEQ(userdb_domain_del(db, "XN--bcher-kva.example", &error), 0);
	CHECK_INTEQ(userdb_domain_exists(db, "xn--bcher-kva.example"), 0);
	userdb_close(db);
}

TEST(userdb_accounts_and_passwords)
{
	struct userdb *db = open_db();
	const char *error = NULL;
	int64_t id = 0, id2 = 0, got = 0;

	if (db == NULL)
		return;
	CHECK_INTEQ(userdb_user_add(db, "Alice@Example.ORG", "s3cret pass",
				    &id, &error), 0);
	CHECK(id > 0);
	CHECK_INTEQ(userdb_user_lookup(db, "alice@example.org", &got), 1);
	CHECK_INTEQ(got, id);
	CHECK_INTEQ(userdb_user_lookup(db, "ALICE@EXAMPLE.ORG", NULL), 1);
	CHECK_INTEQ(userdb_user_lookup(db, "bob@example.org", &got), 0);
	CHECK_INTEQ(userdb_user_lookup(db, "not an address", &got), 0);

	/* refusals */
	CHECK_INTEQ(userdb_user_add(db, "alice@example.org", "x", NULL, &error), -1);
	CHECK_STREQ(error, "account already exists");
	CHECK_INTEQ(userdb_user_add(db, "x@nowhere.test", "x", NULL, &error), -1);
	CHECK(strstr(error, "domain is not local") == error);
	CHECK_INTEQ(userdb_user_add(db, "y@example.org", "", NULL, &error), -1);
	CHECK_STREQ(error, "empty password");
	CHECK_INTEQ(userdb_user_add(db, "no-at-sign", "x", NULL, &error), -1);
	CHECK_INTEQ(userdb_user_add(db, "z@[192.0.2.1]", "x", NULL, &error), -1);
	{
		char big[USERDB_PASSWORD_MAX + 2];

		memset(big, 'p', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CHECK_INTEQ(userdb_user_add(db, "y@example.org", big, NULL,
					    &error), -1);
		CHECK_STREQ(error, "password too long");
		CHECK_INTEQ(userdb_user_verify(db, "alice@example.org", big,
					       NULL), 0);
	}

	/* verification */
	got = 0;
	CHECK_INTEQ(userdb_user_verify(db, "alice@example.org", "s3cret pass",
				       &got), 1);
	CHECK_INTEQ(got, id);
	CHECK_INTEQ(userdb_user_verify(db, "ALICE@example.org", "s3cret pass",
				       NULL), 1);
	CHECK_INTEQ(userdb_user_verify(db, "alice@example.org", "s3cret pas",
				       NULL), 0);
	CHECK_INTEQ(userdb_user_verify(db, "alice@example.org", "", NULL), 0);
	CHECK_INTEQ(userdb_user_verify(db, "nobody@example.org", "s3cret pass",
				       NULL), 0);
	CHECK_INTEQ(userdb_user_verify(db, "garbage", "s3cret pass", NULL), 0);

	/* password change */
	CHECK_INTEQ(userdb_user_passwd(db, "alice@EXAMPLE.org", "new one",
				       &error), 0);
	CHECK_INTEQ(userdb_user_verify(db, "alice@example.org", "s3cret pass",
				       NULL), 0);
	CHECK_INTEQ(userdb_user_verify(db, "alice@example.org", "new one",
				       NULL), 1);
	CHECK_INTEQ(userdb_user_passwd(db, "bob@example.org", "x", &error), -1);
	CHECK_STREQ(error, "no such account");
	CHECK_INTEQ(userdb_user_passwd(db, "alice@example.org", "", &error), -1);

	/* deletion; ids are never reused */
	CHECK_INTEQ(userdb_user_add(db, "bob@example.org", "b", &id2, &error), 0);
	CHECK(id2 > id);
	got = 0;
	CHECK_INTEQ(userdb_user_del(db, "Bob@example.org", &got, &error), 0);
	CHECK_INTEQ(got, id2);
	CHECK_INTEQ(userdb_user_lookup(db, "bob@example.org", NULL), 0);
	CHECK_INTEQ(userdb_user_verify(db, "bob@example.org", "b", NULL), 0);
	CHECK_INTEQ(userdb_user_del(db, "bob@example.org", &got, &error), -1);
	CHECK_STREQ(error, "no such account");
	CHECK_INTEQ(userdb_user_add(db, "bob@example.org", "b", &got, &error), 0);
	CHECK(got > id2);
	userdb_close(db);
}

TEST(userdb_hash_formats)
{
	struct userdb *db = open_db();
	struct crypt_data cd;
	const char *error = NULL, *h6;
	struct buf sql = BUF_INIT;
	int64_t id = 0;

	if (db == NULL)
		return;
	/* new hashes are yescrypt */
	CHECK_INTEQ(raw_count("SELECT count(*) FROM accounts WHERE address = "
			      "'alice@example.org' AND password_hash LIKE '$y$%'"), 1);

	/* a sha512-crypt hash written straight into the table verifies */
	memset(&cd, 0, sizeof(cd));
	h6 = crypt_rn("imported", "$6$saltsaltsalt", &cd, sizeof(cd));
	CHECK(h6 != NULL && strncmp(h6, "$6$", 3) == 0);
	buf_printf(&sql, "INSERT INTO accounts (address, password_hash) VALUES "
		   "('carol@example.org', '%s')", h6);
	CHECK_INTEQ(raw_sql(buf_cstr(&sql)), 0);
	CHECK_INTEQ(userdb_user_verify(db, "carol@example.org", "imported", &id), 1);
	CHECK(id > 0);
	CHECK_INTEQ(userdb_user_verify(db, "carol@example.org", "Imported", NULL), 0);

	/* bcrypt through the import function */
	memset(&cd, 0, sizeof(cd));
	h6 = crypt_rn("bpass", "$2b$05$abcdefghijklmnopqrstuu", &cd, sizeof(cd));
	CHECK(h6 != NULL && strncmp(h6, "$2b$", 4) == 0);
	CHECK_INTEQ(userdb_user_add_hash(db, "dave@example.org", h6, NULL,
					 &error), 0);
	CHECK_INTEQ(userdb_user_verify(db, "dave@example.org", "bpass", NULL), 1);
	CHECK_INTEQ(userdb_user_verify(db, "dave@example.org", "bpas", NULL), 0);
	CHECK_INTEQ(userdb_user_add_hash(db, "erin@example.org", "*", NULL,
					 &error), -1);
	CHECK_STREQ(error, "not a password hash crypt(3) accepts");
	CHECK_INTEQ(userdb_user_add_hash(db, "erin@example.org", "$6$onlysalt",
					 NULL, &error), -1);

	/* a locked ("!") or disabled account does not verify */
	CHECK_INTEQ(raw_sql("UPDATE accounts SET disabled = 1 WHERE address = "
			    "'dave@example.org'"), 0);
	CHECK_INTEQ(userdb_user_verify(db, "dave@example.org", "bpass", NULL), 0);
	CHECK_INTEQ(userdb_user_lookup(db, "dave@example.org", NULL), 1);
	CHECK_INTEQ(raw_sql("UPDATE accounts SET password_hash = '!' || "
			    "password_hash WHERE address = 'carol@example.org'"), 0);
	CHECK_INTEQ(userdb_user_verify(db, "carol@example.org", "imported", NULL), 0);
	buf_free(&sql);
	userdb_close(db);
}

struct listed {
	struct buf text;
};

static void list_user(void *ctx, int64_t id, const char *address, bool disabled)
{
	struct listed *l = ctx;

	buf_printf(&l->text, "%s%s;", address, disabled ? "(off)" : "");
	(void)id;
}

static void list_alias(void *ctx, const char *alias, const char *target)
{
	struct listed *l = ctx;

	buf_printf(&l->text, "%s>%s;", alias, target);
}

TEST(userdb_user_listing)
{
	struct userdb *db = open_db();
	struct listed l = { BUF_INIT };
	struct buf addr = BUF_INIT;
	const char *error;
	int64_t id = 0, first = 0;

	if (db == NULL)
		return;
	CHECK_INTEQ(userdb_user_list(db, list_user, &l, &error), 0);
	CHECK_STREQ(buf_cstr(&l.text), "alice@example.org;bob@example.org;"
		    "carol@example.org;dave@example.org(off);");
	CHECK_INTEQ(userdb_user_first_in_domain(db, "EXAMPLE.org", &id, &addr), 1);
	CHECK_STREQ(buf_cstr(&addr), "alice@example.org");
	CHECK_INTEQ(userdb_user_lookup(db, "alice@example.org", &first), 1);
	CHECK_INTEQ(id, first);
	CHECK_INTEQ(userdb_user_first_in_domain(db, "other.example", &id, &addr), 0);
	buf_free(&l.text);
	buf_free(&addr);
	userdb_close(db);
}

TEST(userdb_aliases)
{
	struct userdb *db = open_db();
	struct userdb_strv t;
	struct listed l = { BUF_INIT };
	const char *error = NULL;

	if (db == NULL)
		return;
	CHECK_INTEQ(userdb_alias_add(db, "Info@Example.org",
				     (const char *[]){ "alice@example.org",
						       "Bob@Remote.TEST" }, 2,
				     &error), 0);
	CHECK_INTEQ(userdb_alias_lookup(db, "INFO@example.org", &t), 1);
	CHECK_INTEQ(t.n, 2);
	if (t.n == 2) {
		CHECK_STREQ(t.v[0], "alice@example.org");
		CHECK_STREQ(t.v[1], "bob@remote.test");
	}
	userdb_strv_free(&t);
	CHECK_INTEQ(userdb_alias_lookup(db, "nope@example.org", &t), 0);
	CHECK_INTEQ(t.n, 0);

	/* all or nothing: a duplicate target rolls the whole add back */
	CHECK_INTEQ(userdb_alias_add(db, "info@example.org",
				     (const char *[]){ "carol@example.org",
						       "ALICE@example.org" }, 2,
				     &error), -1);
	CHECK_STREQ(error, "alias already has this target");
	CHECK_INTEQ(userdb_alias_lookup(db, "info@example.org", &t), 1);
	CHECK_INTEQ(t.n, 2);
	userdb_strv_free(&t);

	/* refusals */
	CHECK_INTEQ(userdb_alias_add(db, "x@nowhere.test",
				     (const char *[]){ "a@example.org" }, 1,
				     &error), -1);
	CHECK(strstr(error, "domain is not local") == error);
	CHECK_INTEQ(userdb_alias_add(db, "@nowhere.test",
				     (const char *[]){ "a@example.org" }, 1,
				     &error), -1);
	CHECK(strstr(error, "domain is not local") == error);
	CHECK_INTEQ(userdb_alias_add(db, "x@example.org",
				     (const char *[]){ "@example.org" }, 1,
				     &error), -1);
	CHECK_INTEQ(userdb_alias_add(db, "x@example.org", NULL, 0, &error), -1);
	CHECK_STREQ(error, "no alias targets");
	CHECK_INTEQ(userdb_alias_lookup(db, "x@example.org", &t), 0);

	/* catch-all */
	CHECK_INTEQ(userdb_alias_add(db, "@EXAMPLE.org",
				     (const char *[]){ "alice@example.org" }, 1,
				     &error), 0);
	CHECK_INTEQ(userdb_alias_lookup(db, "@example.org", &t), 1);
	userdb_strv_free(&t);
	CHECK_INTEQ(userdb_alias_list(db, list_alias, &l, &error), 0);
	CHECK_STREQ(buf_cstr(&l.text), "@example.org>alice@example.org;"
		    "info@example.org>alice@example.org;"
		    "info@example.org>bob@remote.test;");

	/* deletion */
	CHECK_INTEQ(userdb_alias_del(db, "info@example.org", "bob@REMOTE.test",
				     &error), 0);
	CHECK_INTEQ(userdb_alias_del(db, "info@example.org", "bob@remote.test",
				     &error), -1);
	CHECK_STREQ(error, "no such alias target");
	CHECK_INTEQ(userdb_alias_del(db, "info@example.org", NULL, &error), 0);
	CHECK_INTEQ(userdb_alias_lookup(db, "info@example.org", &t), 0);
	CHECK_INTEQ(userdb_alias_del(db, "info@example.org", NULL, &error), -1);
	CHECK_STREQ(error, "no such alias");
	CHECK_INTEQ(userdb_alias_del(db, "@example.org", NULL, &error), 0);
	buf_free(&l.text);
	userdb_close(db);
}

TEST(userdb_alias_target_limit)
{
	struct userdb *db = open_db();
	const char **targets = calloc(USERDB_ALIAS_MAX_TARGETS + 1, sizeof(char *));
	struct buf names = BUF_INIT;
	const char *error = NULL;
	size_t n = USERDB_ALIAS_MAX_TARGETS;

	if (db == NULL || targets == NULL)
		return;
	for (size_t i = 0; i <= n; i++)
		buf_printf(&names, "t%zu@remote.test%c", i, '\0');
	for (size_t i = 0, off = 0; i <= n; i++) {
		targets[i] = names.ptr + off;
		off += strlen(targets[i]) + 1;
	}
	CHECK_INTEQ(userdb_alias_add(db, "big@example.org", targets, n, &error), 0);
	CHECK_INTEQ(userdb_alias_add(db, "big@example.org", targets + n, 1,
				     &error), -1);
	CHECK_STREQ(error, "too many targets for one alias");
	CHECK_INTEQ(userdb_alias_del(db, "big@example.org", NULL, &error), 0);
	free(targets);
	buf_free(&names);
	userdb_close(db);
}

TEST(userdb_domain_del_refused_while_used)
{
	struct userdb *db = open_db();
	const char *error = NULL;

	if (db == NULL)
		return;
	CHECK_INTEQ(userdb_domain_add(db, "used.example", &error), 0);
	CHECK_INTEQ(userdb_user_add(db, "u@used.example", "p", NULL, &error), 0);
	CHECK_INTEQ(userdb_domain_del(db, "used.example", &error), -1);
	CHECK_STREQ(error, "domain still has accounts or aliases; delete them first");
	CHECK_INTEQ(userdb_user_del(db, "u@used.example", NULL, &error), 0);
	CHECK_INTEQ(userdb_alias_add(db, "@used.example",
				     (const char *[]){ "alice@example.org" }, 1,
				     &error), 0);
	CHECK_INTEQ(userdb_domain_del(db, "used.example", &error), -1);
	CHECK_INTEQ(userdb_alias_del(db, "@used.example", NULL, &error), 0);
	/* a longer domain ending in the same text does not count */
	CHECK_INTEQ(userdb_domain_add(db, "notused.example", &error), 0);
	CHECK_INTEQ(userdb_user_add(db, "v@notused.example", "p", NULL, &error), 0);
	CHECK_INTEQ(userdb_alias_add(db, "w@notused.example",
				     (const char *[]){ "v@notused.example" }, 1,
				     &error), 0);
	CHECK_INTEQ(userdb_domain_del(db, "used.example", &error), 0);
	CHECK_INTEQ(userdb_domain_del(db, "notused.example", &error), -1);
	userdb_close(db);
}

/* The stored SCRAM secret of address parses and belongs to password. */
static bool scram_matches(struct userdb *db, const char *address,
			  const char *password)
{
	struct userdb_login l = { 0, false, BUF_INIT, BUF_INIT, false };
	struct sasl_scram_secret stored, derived;
	const char *error = NULL;
	bool ok = false;

	if (userdb_user_login_info(db, address, &l) == 1 &&
	    sasl_scram_secret_parse(buf_cstr(&l.scram), &stored, &error) == 0 &&
	    sasl_scram_secret_derive(password, stored.salt, stored.salt_len,
				     stored.iter, &derived) == 0)
		ok = memcmp(&stored, &derived, sizeof(stored)) == 0 &&
		     stored.iter == USERDB_SCRAM_ITERATIONS &&
		     stored.salt_len == USERDB_SCRAM_SALT_LEN;
	userdb_login_free(&l);
	return ok;
}

TEST(userdb_scram_secrets)
{
	struct userdb *db = open_db();
	struct userdb_login l = { 0, false, BUF_INIT, BUF_INIT, false };
	struct crypt_data cd;
	const char *error = NULL, *h;
	int64_t id = 0, hid = 0;

	if (db == NULL)
		return;
	/* user add stores one; each account gets its own salt */
	CHECK_INTEQ(userdb_user_add(db, "scram1@example.org", "pw one", &id,
				    &error), 0);
	CHECK_INTEQ(userdb_user_add(db, "scram2@example.org", "pw one", NULL,
				    &error), 0);
	CHECK(scram_matches(db, "scram1@example.org", "pw one"));
	CHECK(!scram_matches(db, "scram1@example.org", "pw two"));
	CHECK_INTEQ(raw_count("SELECT count(DISTINCT scram_secret) FROM accounts "
			      "WHERE address LIKE 'scram_@example.org'"), 2);
	CHECK_INTEQ(userdb_user_login_info(db, "SCRAM1@example.ORG", &l), 1);
	CHECK_INTEQ(l.id, id);
	CHECK_STREQ(buf_cstr(&l.address), "scram1@example.org");
	CHECK(!l.disabled);
	CHECK(strncmp(buf_cstr(&l.scram), "SCRAM-SHA-256$4096:", 19) == 0);
	/* user passwd replaces it */
	CHECK_INTEQ(userdb_user_passwd(db, "scram1@example.org", "pw two",
				       &error), 0);
	CHECK(scram_matches(db, "scram1@example.org", "pw two"));
	/* an imported hash has none until set */
	memset(&cd, 0, sizeof(cd));
	h = crypt_rn("old pw", "$5$rounds=1000$abcdefgh", &cd, sizeof(cd));
	CHECK_INTEQ(userdb_user_add_hash(db, "scram3@example.org", h, &hid,
					 &error), 0);
	CHECK_INTEQ(userdb_user_login_info(db, "scram3@example.org", &l), 1);
	CHECK_INTEQ(l.scram.len, 0);
	CHECK_INTEQ(userdb_user_set_scram(db, hid, "old pw", &error), 0);
	CHECK(scram_matches(db, "scram3@example.org", "old pw"));
	CHECK_INTEQ(userdb_user_set_scram(db, 999999, "x", &error), -1);
	CHECK_STREQ(error, "no such account");
	CHECK_INTEQ(userdb_user_set_scram(db, hid, "", &error), -1);
	/* unknown, malformed, disabled */
	CHECK_INTEQ(userdb_user_login_info(db, "nobody@example.org", &l), 0);
	CHECK_INTEQ(l.id, 0);
	CHECK_INTEQ(userdb_user_login_info(db, "not an address", &l), 0);
	CHECK_INTEQ(raw_sql("UPDATE accounts SET disabled = 1 WHERE address = "
			    "'scram2@example.org'"), 0);
	CHECK_INTEQ(userdb_user_login_info(db, "scram2@example.org", &l), 1);
	CHECK(l.disabled);
	userdb_login_free(&l);
	userdb_close(db);
}

/* A version 2 database (before SCRAM secrets) is migrated in place. */
TEST(userdb_migrates_v2_in_place)
{
	char d2[] = "/tmp/test_userdb3.XXXXXX";
	struct buf p = BUF_INIT;
	struct userdb *db = NULL;
	struct userdb_login l = { 0, false, BUF_INIT, BUF_INIT, false };
	const char *error = NULL;
	sqlite3 *sq;

	CHECK(mkdtemp(d2) != NULL);
	buf_printf(&p, "%s/m.db", d2);
	CHECK_INTEQ(sqlite3_open(p.ptr, &sq), SQLITE_OK);
	CHECK_INTEQ(sqlite3_exec(sq,
		"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
		"CREATE TABLE domains (name TEXT PRIMARY KEY, created INTEGER "
		"  NOT NULL DEFAULT 0);"
		"CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT,"
		"  address TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,"
		"  created INTEGER NOT NULL DEFAULT 0,"
		"  disabled INTEGER NOT NULL DEFAULT 0);"
		"CREATE TABLE aliases (alias TEXT NOT NULL, target TEXT NOT NULL,"
		"  created INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (alias, target));"
		"CREATE TABLE dkim_keys (domain TEXT NOT NULL, selector TEXT NOT "
		"  NULL, type TEXT NOT NULL, bits INTEGER NOT NULL, path TEXT NOT "
		"  NULL, created INTEGER NOT NULL DEFAULT 0,"
		"  PRIMARY KEY (domain, selector));"
		"INSERT INTO meta VALUES ('schema_version', '2');"
		"INSERT INTO accounts (address, password_hash) VALUES "
		"  ('old@example.org', '$y$j9T$abc$def');",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sq);
	CHECK_INTEQ(userdb_open(&db, p.ptr, &error), 0);
	if (db != NULL) {
		userdb_set_config_domains(db, config_domains, 1);
		CHECK_INTEQ(userdb_user_login_info(db, "old@example.org", &l), 1);
		CHECK_INTEQ(l.scram.len, 0);
		CHECK_INTEQ(userdb_user_passwd(db, "old@example.org", "new",
					       &error), 0);
		CHECK_INTEQ(userdb_user_verify(db, "old@example.org", "new", NULL), 1);
		CHECK_INTEQ(userdb_user_login_info(db, "old@example.org", &l), 1);
		CHECK(l.scram.len > 0);
		userdb_close(db);
	}
	CHECK_INTEQ(sqlite3_open(p.ptr, &sq), SQLITE_OK);
	{
		sqlite3_stmt *st;

		CHECK_INTEQ(sqlite3_prepare_v2(sq, "SELECT value FROM meta WHERE "
					       "key = 'schema_version'", -1, &st,
					       NULL), SQLITE_OK);
		CHECK_INTEQ(sqlite3_step(st), SQLITE_ROW);
		CHECK_STREQ((const char *)sqlite3_column_text(st, 0), "4");
		sqlite3_finalize(st);
	}
	sqlite3_close(sq);
	userdb_login_free(&l);
	{
		struct buf cmd = BUF_INIT;

		buf_printf(&cmd, "rm -rf '%s'", d2);
		CHECK_INTEQ(system(cmd.ptr), 0);
		buf_free(&cmd);
	}
	buf_free(&p);
}

/* PAM-backed accounts: no password matches; a password of their own
 * makes them ordinary accounts. */
TEST(userdb_pam_accounts)
{
	struct userdb *db = open_db();
	struct userdb_login l = { 0, false, BUF_INIT, BUF_INIT, false };
	const char *error = NULL;
	int64_t id = 0, id2 = 0;

	if (db == NULL)
		return;
	CHECK_INTEQ(userdb_user_add_pam(db, "Sysuser@example.org", &id, &error), 0);
	CHECK(id > 0);
	CHECK_INTEQ(userdb_user_add_pam(db, "sysuser@example.org", &id2, &error), -1);
	CHECK_STREQ(error, "account already exists");
	CHECK_INTEQ(userdb_user_add_pam(db, "x@elsewhere.example", NULL, &error), -1);
	CHECK_INTEQ(userdb_user_login_info(db, "sysuser@example.org", &l), 1);
	CHECK(l.pam && !l.disabled && l.scram.len == 0 && l.id == id);
	CHECK_INTEQ(userdb_user_verify(db, "sysuser@example.org", "!pam", NULL), 0);
	CHECK_INTEQ(userdb_user_verify(db, "sysuser@example.org", "", NULL), 0);
	CHECK_INTEQ(userdb_user_passwd(db, "sysuser@example.org", "own pw",
				       &error), 0);
	CHECK_INTEQ(userdb_user_login_info(db, "sysuser@example.org", &l), 1);
	CHECK(!l.pam && l.scram.len > 0);
	CHECK_INTEQ(userdb_user_verify(db, "sysuser@example.org", "own pw", NULL), 1);
	userdb_login_free(&l);
	userdb_close(db);
}

int main(void)
{
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	buf_printf(&dbpath, "%s/mailkeep.db", dir);
	RUN(userdb_open_creates_private_schema);
	RUN(userdb_refuses_newer_schema);
	RUN(userdb_domains);
	RUN(userdb_accounts_and_passwords);
	RUN(userdb_hash_formats);
	RUN(userdb_user_listing);
	RUN(userdb_aliases);
	RUN(userdb_alias_target_limit);
	RUN(userdb_domain_del_refused_while_used);
	RUN(userdb_scram_secrets);
	RUN(userdb_migrates_v2_in_place);
	RUN(userdb_pam_accounts);
	rc = test_summary();
	{
		struct buf cmd = BUF_INIT;

		buf_printf(&cmd, "rm -rf '%s'", dir);
		if (system(cmd.ptr) != 0)
			rc = 1;
		buf_free(&cmd);
	}
	return rc;
}
