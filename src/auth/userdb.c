/* userdb: the SQLite user database (accounts, domains, aliases, DKIM keys)
 * and crypt(3) password hashing. Statements are prepared per call:
 * administrative and per-recipient traffic is light, and it keeps no state
 * between calls. */
#include "auth/userdb.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/sasl_scram.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/addr.h"

struct userdb {
	sqlite3 *sq;
	char **config_domains;
	size_t nconfig_domains;
	char errmsg[256];
};

/* Hashed against when the account is unknown or the password unusable, so
 * that the answer takes as long as for a real account (default yescrypt
 * cost, as userdb_user_add writes). Its password is not guessable. */
static const char dummy_hash[] =
	"$y$j9T$IYd8tR1sNeL6VRMI243ge0$XEPjPmiZ6ZTGXRoFFr5hskbR5MJOEWOBBCqX5aqWwz4";

/* Schema migrations: migrations[i] upgrades version i to i + 1. Later
 * versions append here (per-account quotas, ...). */
static const char *const migrations[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE domains ("
	"  name TEXT PRIMARY KEY,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)));"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT," /* ids never reused */
	"  address TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)),"
	"  disabled INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE aliases ("
	"  alias TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)),"
	"  PRIMARY KEY (alias, target));"
	"INSERT INTO meta (key, value) VALUES ('schema_version', '0');",
	/* 2: DKIM signing keys (`mailkeep dkim genkey`) */
	"CREATE TABLE dkim_keys ("
	"  domain TEXT NOT NULL,"
	"  selector TEXT NOT NULL,"
	"  type TEXT NOT NULL CHECK (type IN ('rsa', 'ed25519')),"
	"  bits INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)),"
	"  PRIMARY KEY (domain, selector));",
	/* 3: SCRAM-SHA-256 secrets (RFC 5803 text); NULL until the first
	 * password login of an imported account */
	"ALTER TABLE accounts ADD COLUMN scram_secret TEXT;",
	/* 4: PAM-backed accounts of system users (password_hash is PAM_HASH,
	 * which no password matches) */
	"ALTER TABLE accounts ADD COLUMN pam INTEGER NOT NULL DEFAULT 0;",
};

/* The password_hash of PAM-backed accounts: crypt(3) rejects it as a
 * setting, so no password ever matches it here. */
#define PAM_HASH "!pam"

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(NMIGRATIONS == USERDB_SCHEMA_VERSION, "one migration per version");

/* ---- SQLite helpers ---- */

static int db_fail(struct userdb *db, const char **error_r)
{
	snprintf(db->errmsg, sizeof(db->errmsg), "database: %s",
		 sqlite3_errmsg(db->sq));
	log_error("userdb: %s", db->errmsg);
	if (error_r != NULL)
		*error_r = db->errmsg;
	return -1;
}

static int fail(const char **error_r, const char *reason)
{
	if (error_r != NULL)
		*error_r = reason;
	return -1;
}

/* Prepare sql and bind the NULL-terminated text arguments ?1, ?2, ... */
static sqlite3_stmt *prep(struct userdb *db, const char *sql,
			  const char *const *args, const char **error_r)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, error_r);
		return NULL;
	}
	for (int i = 0; args != NULL && args[i] != NULL; i++) {
		if (sqlite3_bind_text(st, i + 1, args[i], -1,
				      SQLITE_TRANSIENT) != SQLITE_OK) {
			db_fail(db, error_r);
			sqlite3_finalize(st);
			return NULL;
		}
	}
	return st;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Run a statement without result rows: 0 done, 1 constraint violated
 * (duplicate), -1 error. *changes_r (if non-NULL) gets the row count. */
static int exec(struct userdb *db, const char *sql, const char *const *args,
		int *changes_r, const char **error_r)
{
	sqlite3_stmt *st = prep(db, sql, args, error_r);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT)
		db_fail(db, error_r);
	sqlite3_finalize(st);
	if (changes_r != NULL)
		*changes_r = sqlite3_changes(db->sq);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_CONSTRAINT ? 1 : -1;
}

/* First column of the first row as an integer: 1 row, 0 none, -1 error. */
static int query_int(struct userdb *db, const char *sql,
		     const char *const *args, int64_t *v, const char **error_r)
{
	sqlite3_stmt *st = prep(db, sql, args, error_r);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		db_fail(db, error_r);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int db_exec_plain(struct userdb *db, const char *sql,
			 const char **error_r)
{
	if (sqlite3_exec(db->sq, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, error_r);
	return 0;
}

static void rollback(struct userdb *db)
{
	sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- opening and the schema ---- */

static int schema_version(struct userdb *db, int64_t *v, const char **error_r)
{
	int64_t n = 0;

	if (query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = "
		      "'table' AND name = 'meta'", NULL, &n, error_r) < 0)
		return -1;
	*v = 0;
	if (n == 0)
		return 0;
	if (query_int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key "
		      "= 'schema_version'", NULL, v, error_r) < 0)
		return -1;
	return 0;
}

/* Bring the schema to USERDB_SCHEMA_VERSION inside one write transaction,
 * so two processes opening a new database at once do not race. */
static int schema_upgrade(struct userdb *db, const char **error_r)
{
	char ver[24];
	int64_t v;

	if (db_exec_plain(db, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	if (schema_version(db, &v, error_r) < 0)
		goto fail;
	if (v < 0 || v > USERDB_SCHEMA_VERSION) {
		rollback(db);
		return fail(error_r, "database schema is newer than this "
			    "mailkeep (downgrade?)");
	}
	for (; v < USERDB_SCHEMA_VERSION; v++)
		if (db_exec_plain(db, migrations[v], error_r) < 0)
			goto fail;
	snprintf(ver, sizeof(ver), "%d", USERDB_SCHEMA_VERSION);
	if (exec(db, "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
		 ARGS(ver), NULL, error_r) != 0 ||
	    db_exec_plain(db, "COMMIT", error_r) < 0)
		goto fail;
	return 0;
fail:
	rollback(db);
	return -1;
}

/* Create the file with mode 0600 first: SQLite would use 0644 & ~umask,
 * and it gives its -wal and -shm files the database file's mode. */
static int create_private(const char *path, const char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return fail(error_r, strerror(errno));
	close(fd);
	return 0;
}

int userdb_open(struct userdb **db_r, const char *path, const char **error_r)
{
	struct userdb *db;

	*db_r = NULL;
	if (create_private(path, error_r) < 0)
		return -1;
	db = xcalloc(1, sizeof(*db));
	if (sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		db_fail(db, error_r);
		userdb_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db->sq, USERDB_BUSY_TIMEOUT_MS);
	if (db_exec_plain(db, "PRAGMA journal_mode = WAL", error_r) < 0 ||
	    db_exec_plain(db, "PRAGMA foreign_keys = ON", error_r) < 0 ||
	    /* no temporary files: the sandbox allows writes only in DATA */
	    db_exec_plain(db, "PRAGMA temp_store = MEMORY", error_r) < 0 ||
	    schema_upgrade(db, error_r) < 0) {
		userdb_close(db);
		return -1;
	}
	*db_r = db;
	return 0;
}

void userdb_close(struct userdb *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->sq);
	for (size_t i = 0; i < db->nconfig_domains; i++)
		free(db->config_domains[i]);
	free(db->config_domains);
	free(db);
}

void userdb_set_config_domains(struct userdb *db, const char *const *domains,
			       size_t n)
{
	for (size_t i = 0; i < db->nconfig_domains; i++)
		free(db->config_domains[i]);
	db->config_domains = xrealloc(db->config_domains,
				      n * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		db->config_domains[i] = xstrdup(domains[i]);
		str_lower(db->config_domains[i]);
	}
	db->nconfig_domains = n;
}

void userdb_strv_free(struct userdb_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static void strv_push(struct userdb_strv *sv, const char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(char *));
	sv->v[sv->n++] = xstrdup(s);
}

/* ---- names ---- */

int userdb_address_normalize(const char *address, struct buf *out,
			     const char **error_r)
{
	struct mail_addr a;

	buf_reset(out);
	if (mail_addr_parse(address, strlen(address), MAIL_ADDR_ALLOW_UTF8,
			    &a, error_r) < 0)
		return -1;
	if (a.literal)
		return fail(error_r, "address literal domains are not supported");
	mail_addr_format(&a, out);
	str_lower(out->ptr);
	return 0;
}

/* Lower-cased domain into out; only ASCII host names (IDNs as A-labels). */
static int domain_normalize(const char *domain, struct buf *out,
			    const char **error_r)
{
	if (!mail_domain_valid(domain, false))
		return fail(error_r, "invalid domain name (IDNs as xn-- A-labels)");
	buf_reset(out);
	buf_appends(out, domain);
	str_lower(out->ptr);
	return 0;
}

static const char *addr_domain(const char *canonical)
{
	return strrchr(canonical, '@') + 1;
}

static bool is_config_domain(const struct userdb *db, const char *domain)
{
	for (size_t i = 0; i < db->nconfig_domains; i++)
		if (str_ieq(db->config_domains[i], domain))
			return true;
	return false;
}

int userdb_domain_exists(struct userdb *db, const char *domain)
{
	struct buf d = BUF_INIT;
	int64_t v;
	int rc = 0;

	if (mail_domain_valid(domain, false)) {
		buf_appends(&d, domain);
		str_lower(d.ptr);
		rc = query_int(db, "SELECT 1 FROM domains WHERE name = ?1",
			       ARGS(d.ptr), &v, NULL);
	}
	buf_free(&d);
	return rc;
}

int userdb_domain_is_local(struct userdb *db, const char *domain)
{
	if (is_config_domain(db, domain))
		return 1;
	return userdb_domain_exists(db, domain);
}

/* An account or alias may only be created in a local domain. */
static int require_local(struct userdb *db, const char *domain,
			 const char **error_r)
{
	int rc = userdb_domain_is_local(db, domain);

	if (rc < 0)
		return db_fail(db, error_r);
	if (rc == 0)
		return fail(error_r, "domain is not local (add it with "
			    "'mailkeep domain add' or to the configuration)");
	return 0;
}

/* ---- domains ---- */

int userdb_domain_add(struct userdb *db, const char *domain,
		      const char **error_r)
{
	struct buf d = BUF_INIT;
	int rc = -1;

	if (domain_normalize(domain, &d, error_r) < 0)
		goto out;
	if (is_config_domain(db, d.ptr)) {
		fail(error_r, "domain is already local (configuration file)");
		goto out;
	}
	rc = exec(db, "INSERT INTO domains (name) VALUES (?1)", ARGS(d.ptr),
		  NULL, error_r);
	if (rc == 1)
		rc = fail(error_r, "domain already exists");
out:
	buf_free(&d);
	return rc;
}

/* Accounts and aliases (including its catch-all) in domain d. */
static int domain_users(struct userdb *db, const char *d, int64_t *n,
			const char **error_r)
{
	int64_t a = 0, b = 0;

	if (query_int(db, "SELECT count(*) FROM accounts WHERE "
		      "substr(address, -length(?1) - 1) = '@' || ?1",
		      ARGS(d), &a, error_r) < 0 ||
	    query_int(db, "SELECT count(*) FROM aliases WHERE alias = '@' || ?1"
		      " OR substr(alias, -length(?1) - 1) = '@' || ?1",
		      ARGS(d), &b, error_r) < 0)
		return -1;
	*n = a + b;
	return 0;
}

int userdb_domain_del(struct userdb *db, const char *domain,
		      const char **error_r)
{
	struct buf d = BUF_INIT;
	int64_t users;
	int changes, rc = -1;

	if (domain_normalize(domain, &d, error_r) < 0)
		goto out;
	if (is_config_domain(db, d.ptr)) {
		fail(error_r, "domain is in the configuration file; remove it there");
		goto out;
	}
	if (domain_users(db, d.ptr, &users, error_r) < 0)
		goto out;
	if (users > 0) {
		fail(error_r, "domain still has accounts or aliases; delete them first");
		goto out;
	}
	rc = exec(db, "DELETE FROM domains WHERE name = ?1", ARGS(d.ptr),
		  &changes, error_r);
	if (rc == 0 && changes == 0)
		rc = fail(error_r, "no such domain");
out:
	buf_free(&d);
	return rc;
}

/* Every row's first text column into out. */
static int query_strv(struct userdb *db, const char *sql,
		      const char *const *args, struct userdb_strv *out,
		      const char **error_r)
{
	sqlite3_stmt *st = prep(db, sql, args, error_r);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strv_push(out, (const char *)sqlite3_column_text(st, 0));
	if (rc != SQLITE_DONE)
		db_fail(db, error_r);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		userdb_strv_free(out);
	return rc == SQLITE_DONE ? 0 : -1;
}

int userdb_domain_list(struct userdb *db, struct userdb_strv *out,
		       const char **error_r)
{
	out->v = NULL;
	out->n = 0;
	return query_strv(db, "SELECT name FROM domains ORDER BY name", NULL,
			  out, error_r);
}

/* ---- passwords ---- */

/* crypt_rn into a heap crypt_data (32 KiB), wiped before it is freed. */
static bool hash_matches(const char *password, const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out = crypt_rn(password, hash, cd, sizeof(*cd));
	size_t n = strlen(hash);
	bool ok;

	ok = out != NULL && out[0] != '*' && strlen(out) == n &&
		str_secure_eq(out, hash, n);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* A fresh yescrypt hash of password into out. */
static int hash_new(const char *password, struct buf *out,
		    const char **error_r)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rc = 0;

	if (password[0] == '\0')
		return fail(error_r, "empty password");
	if (strlen(password) > USERDB_PASSWORD_MAX)
		return fail(error_r, "password too long");
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return fail(error_r, "cannot generate a salt (libcrypt)");
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_rn(password, salt, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*')
		rc = fail(error_r, "cannot hash the password (libcrypt)");
	else
		buf_appends(out, h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* Does crypt() accept hash as a complete hash (not just a setting)? */
static bool hash_usable(const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out = crypt_rn("probe", hash, cd, sizeof(*cd));
	bool ok = out != NULL && out[0] != '*' && strlen(out) == strlen(hash);

	free(cd);
	return ok;
}

/* A SCRAM-SHA-256 secret of password with a fresh salt, RFC 5803 text. */
static int scram_new(const char *password, struct buf *out,
		     const char **error_r)
{
	uint8_t salt[USERDB_SCRAM_SALT_LEN];
	struct sasl_scram_secret sec;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return fail(error_r, "cannot generate a salt (OpenSSL)");
	if (sasl_scram_secret_derive(password, salt, sizeof(salt),
				     USERDB_SCRAM_ITERATIONS, &sec) < 0)
		return fail(error_r, "cannot compute the SCRAM secret (OpenSSL)");
	sasl_scram_secret_format(&sec, out);
	explicit_bzero(&sec, sizeof(sec));
	return 0;
}

/* The password's crypt(3) hash and SCRAM secret. */
static int secrets_new(const char *password, struct buf *hash,
		       struct buf *scram, const char **error_r)
{
	if (hash_new(password, hash, error_r) < 0)
		return -1;
	return scram_new(password, scram, error_r);
}

/* ---- accounts ---- */

/* Canonical address in a local domain. */
static int local_address(struct userdb *db, const char *address,
			 struct buf *out, const char **error_r)
{
	if (userdb_address_normalize(address, out, error_r) < 0)
		return -1;
	return require_local(db, addr_domain(out->ptr), error_r);
}

/* scram may be NULL (imported hash, PAM account: none); pam marks an
 * account whose password PAM checks. */
static int insert_account(struct userdb *db, const char *address,
			  const char *hash, const char *scram, bool pam,
			  int64_t *id_r, const char **error_r)
{
	struct buf a = BUF_INIT;
	int rc = -1;

	if (local_address(db, address, &a, error_r) < 0)
		goto out;
	rc = exec(db, "INSERT INTO accounts (address, password_hash, "
		  "scram_secret, pam) VALUES (?1, ?2, NULLIF(?3, ''), ?4)",
		  ARGS(a.ptr, hash, scram ? scram : "", pam ? "1" : "0"), NULL,
		  error_r);
	if (rc == 1)
		rc = fail(error_r, "account already exists");
	if (rc == 0 && id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(db->sq);
out:
	buf_free(&a);
	return rc;
}

int userdb_user_add(struct userdb *db, const char *address,
		    const char *password, int64_t *id_r, const char **error_r)
{
	struct buf h = BUF_INIT, sc = BUF_INIT;
	int rc = secrets_new(password, &h, &sc, error_r);

	if (rc == 0)
		rc = insert_account(db, address, h.ptr, sc.ptr, false, id_r,
				    error_r);
	buf_free(&h);
	buf_free(&sc);
	return rc;
}

int userdb_user_add_hash(struct userdb *db, const char *address,
			 const char *hash, int64_t *id_r, const char **error_r)
{
	if (!hash_usable(hash))
		return fail(error_r, "not a password hash crypt(3) accepts");
	return insert_account(db, address, hash, NULL, false, id_r, error_r);
}

int userdb_user_add_pam(struct userdb *db, const char *address, int64_t *id_r,
			const char **error_r)
{
	return insert_account(db, address, PAM_HASH, NULL, true, id_r, error_r);
}

int userdb_user_del(struct userdb *db, const char *address, int64_t *id_r,
		    const char **error_r)
{
	struct buf a = BUF_INIT;
	int64_t id;
	int rc = -1;

	if (userdb_address_normalize(address, &a, error_r) < 0)
		goto out;
	rc = query_int(db, "DELETE FROM accounts WHERE address = ?1 "
		       "RETURNING id", ARGS(a.ptr), &id, error_r);
	if (rc == 1 && id_r != NULL)
		*id_r = id;
	if (rc == 0)
		rc = fail(error_r, "no such account");
	else if (rc == 1)
		rc = 0;
out:
	buf_free(&a);
	return rc;
}

int userdb_user_passwd(struct userdb *db, const char *address,
		       const char *password, const char **error_r)
{
	struct buf a = BUF_INIT, h = BUF_INIT, sc = BUF_INIT;
	int changes = 0, rc = -1;

	if (userdb_address_normalize(address, &a, error_r) < 0 ||
	    secrets_new(password, &h, &sc, error_r) < 0)
		goto out;
	rc = exec(db, "UPDATE accounts SET password_hash = ?2, scram_secret = "
		  "?3, pam = 0 WHERE address = ?1", ARGS(a.ptr, h.ptr, sc.ptr), &changes,
		  error_r);
	if (rc == 0 && changes == 0)
		rc = fail(error_r, "no such account");
out:
	buf_free(&a);
	buf_free(&h);
	buf_free(&sc);
	return rc;
}

int userdb_user_list(struct userdb *db, userdb_user_cb *cb, void *ctx,
		     const char **error_r)
{
	sqlite3_stmt *st = prep(db, "SELECT id, address, disabled FROM "
				"accounts ORDER BY id", NULL, error_r);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, sqlite3_column_int64(st, 0),
		   (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int(st, 2) != 0);
	if (rc != SQLITE_DONE)
		db_fail(db, error_r);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int userdb_user_lookup(struct userdb *db, const char *address, int64_t *id_r)
{
	struct buf a = BUF_INIT;
	int64_t id;
	int rc = 0;

	if (userdb_address_normalize(address, &a, NULL) == 0)
		rc = query_int(db, "SELECT id FROM accounts WHERE address = ?1",
			       ARGS(a.ptr), &id, NULL);
	if (rc == 1 && id_r != NULL)
		*id_r = id;
	buf_free(&a);
	return rc;
}

int userdb_user_first_in_domain(struct userdb *db, const char *domain,
				int64_t *id_r, struct buf *address_r)
{
	struct buf d = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	if (domain_normalize(domain, &d, NULL) < 0)
		return 0;
	st = prep(db, "SELECT id, address FROM accounts WHERE substr(address,"
		  " -length(?1) - 1) = '@' || ?1 ORDER BY id LIMIT 1",
		  ARGS(d.ptr), NULL);
	buf_free(&d);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(st, 0);
		buf_reset(address_r);
		buf_appends(address_r, (const char *)sqlite3_column_text(st, 1));
	} else if (rc != SQLITE_DONE) {
		db_fail(db, NULL);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The stored hash (or the dummy one) and state of an account. */
static int fetch_hash(struct userdb *db, const char *address, struct buf *hash,
		      int64_t *id, bool *usable)
{
	struct buf a = BUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE;

	*usable = false;
	if (userdb_address_normalize(address, &a, NULL) == 0) {
		st = prep(db, "SELECT id, password_hash, disabled FROM accounts"
			  " WHERE address = ?1", ARGS(a.ptr), NULL);
		rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
	}
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		buf_appends(hash, (const char *)sqlite3_column_text(st, 1));
		*usable = sqlite3_column_int(st, 2) == 0;
	} else if (rc != SQLITE_DONE) {
		db_fail(db, NULL);
	}
	sqlite3_finalize(st);
	buf_free(&a);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int userdb_user_verify(struct userdb *db, const char *address,
		       const char *password, int64_t *id_r)
{
	struct buf hash = BUF_INIT;
	int64_t id = 0;
	bool usable, ok;

	if (fetch_hash(db, address, &hash, &id, &usable) < 0) {
		buf_free(&hash);
		return -1;
	}
	if (strlen(password) > USERDB_PASSWORD_MAX)
		usable = false;
	/* Hash in every case so unknown accounts cost the same time. */
	ok = hash_matches(usable ? password : "",
			  usable ? hash.ptr : dummy_hash) && usable;
	buf_free(&hash);
	if (ok && id_r != NULL)
		*id_r = id;
	return ok ? 1 : 0;
}

void userdb_login_free(struct userdb_login *l)
{
	buf_free(&l->address);
	buf_free(&l->scram);
}

static void login_row(sqlite3_stmt *st, struct userdb_login *out)
{
	const char *scram = (const char *)sqlite3_column_text(st, 3);

	out->id = sqlite3_column_int64(st, 0);
	buf_appends(&out->address, (const char *)sqlite3_column_text(st, 1));
	out->disabled = sqlite3_column_int(st, 2) != 0;
	out->pam = sqlite3_column_int(st, 4) != 0;
	if (scram != NULL)
		buf_appends(&out->scram, scram);
}

int userdb_user_login_info(struct userdb *db, const char *address,
			   struct userdb_login *out)
{
	struct buf a = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	out->id = 0;
	out->disabled = false;
	out->pam = false;
	buf_reset(&out->address);
	buf_reset(&out->scram);
	if (userdb_address_normalize(address, &a, NULL) < 0) {
		buf_free(&a);
		return 0;
	}
	st = prep(db, "SELECT id, address, disabled, scram_secret, pam FROM "
		  "accounts WHERE address = ?1", ARGS(a.ptr), NULL);
	buf_free(&a);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		login_row(st, out);
	else if (rc != SQLITE_DONE)
		db_fail(db, NULL);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int userdb_user_set_scram(struct userdb *db, int64_t id, const char *password,
			  const char **error_r)
{
	struct buf sc = BUF_INIT;
	char ids[24];
	int changes = 0, rc = -1;

	if (password[0] == '\0' || strlen(password) > USERDB_PASSWORD_MAX) {
		fail(error_r, "unusable password");
		goto out;
	}
	if (scram_new(password, &sc, error_r) < 0)
		goto out;
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	rc = exec(db, "UPDATE accounts SET scram_secret = ?2 WHERE id = "
		  "CAST(?1 AS INTEGER)", ARGS(ids, sc.ptr), &changes, error_r);
	if (rc == 0 && changes == 0)
		rc = fail(error_r, "no such account");
out:
	buf_free(&sc);
	return rc;
}

/* ---- aliases ---- */

/* "@domain" (catch-all) or a mailbox, canonical, in a local domain. */
static int alias_name(struct userdb *db, const char *alias, struct buf *out,
		      const char **error_r)
{
	if (alias[0] != '@')
		return local_address(db, alias, out, error_r);
	if (domain_normalize(alias + 1, out, error_r) < 0)
		return -1;
	if (require_local(db, out->ptr, error_r) < 0)
		return -1;
	buf_reset(out);
	buf_appendc(out, '@');
	buf_appends(out, alias + 1);
	str_lower(out->ptr);
	return 0;
}

static int alias_insert(struct userdb *db, const char *alias,
			const char *target, const char **error_r)
{
	struct buf t = BUF_INIT;
	int rc;

	rc = userdb_address_normalize(target, &t, error_r);
	if (rc == 0)
		rc = exec(db, "INSERT INTO aliases (alias, target) VALUES "
			  "(?1, ?2)", ARGS(alias, t.ptr), NULL, error_r);
	if (rc == 1)
		rc = fail(error_r, "alias already has this target");
	buf_free(&t);
	return rc;
}

static int alias_insert_all(struct userdb *db, const char *alias,
			    const char *const *targets, size_t n,
			    const char **error_r)
{
	int64_t have = 0;

	if (query_int(db, "SELECT count(*) FROM aliases WHERE alias = ?1",
		      ARGS(alias), &have, error_r) < 0)
		return -1;
	if ((uint64_t)have + n > USERDB_ALIAS_MAX_TARGETS)
		return fail(error_r, "too many targets for one alias");
	for (size_t i = 0; i < n; i++)
		if (alias_insert(db, alias, targets[i], error_r) < 0)
			return -1;
	return 0;
}

int userdb_alias_add(struct userdb *db, const char *alias,
		     const char *const *targets, size_t ntargets,
		     const char **error_r)
{
	struct buf a = BUF_INIT;
	int rc = -1;

	if (ntargets == 0) {
		fail(error_r, "no alias targets");
		goto out;
	}
	if (alias_name(db, alias, &a, error_r) < 0 ||
	    db_exec_plain(db, "BEGIN IMMEDIATE", error_r) < 0)
		goto out;
	rc = alias_insert_all(db, a.ptr, targets, ntargets, error_r);
	if (rc == 0)
		rc = db_exec_plain(db, "COMMIT", error_r);
	if (rc < 0)
		rollback(db);
out:
	buf_free(&a);
	return rc;
}

/* Canonical alias name for lookups and deletion (domain need not be local). */
static int alias_key(const char *alias, struct buf *out, const char **error_r)
{
	if (alias[0] != '@')
		return userdb_address_normalize(alias, out, error_r);
	if (domain_normalize(alias + 1, out, error_r) < 0)
		return -1;
	buf_reset(out);
	buf_appendc(out, '@');
	buf_appends(out, alias + 1);
	str_lower(out->ptr);
	return 0;
}

int userdb_alias_del(struct userdb *db, const char *alias, const char *target,
		     const char **error_r)
{
	struct buf a = BUF_INIT, t = BUF_INIT;
	int changes = 0, rc = -1;

	if (alias_key(alias, &a, error_r) < 0 ||
	    (target != NULL && userdb_address_normalize(target, &t, error_r) < 0))
		goto out;
	if (target == NULL)
		rc = exec(db, "DELETE FROM aliases WHERE alias = ?1",
			  ARGS(a.ptr), &changes, error_r);
	else
		rc = exec(db, "DELETE FROM aliases WHERE alias = ?1 AND "
			  "target = ?2", ARGS(a.ptr, t.ptr), &changes, error_r);
	if (rc == 0 && changes == 0)
		rc = fail(error_r, target == NULL ? "no such alias" :
			  "no such alias target");
out:
	buf_free(&a);
	buf_free(&t);
	return rc;
}

int userdb_alias_list(struct userdb *db, userdb_alias_cb *cb, void *ctx,
		      const char **error_r)
{
	sqlite3_stmt *st = prep(db, "SELECT alias, target FROM aliases "
				"ORDER BY alias, target", NULL, error_r);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1));
	if (rc != SQLITE_DONE)
		db_fail(db, error_r);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int userdb_alias_lookup(struct userdb *db, const char *alias,
			struct userdb_strv *targets)
{
	struct buf a = BUF_INIT;
	int rc = 0;

	targets->v = NULL;
	targets->n = 0;
	if (alias_key(alias, &a, NULL) == 0)
		rc = query_strv(db, "SELECT target FROM aliases WHERE alias = "
				"?1 ORDER BY rowid", ARGS(a.ptr), targets, NULL);
	buf_free(&a);
	if (rc < 0)
		return -1;
	return targets->n > 0 ? 1 : 0;
}

/* ---- DKIM keys ---- */

/* RFC 6376 §3.1: a selector is sub-domain labels (letters, digits,
 * hyphens inside) joined by dots; lower-cased into out. It names a file
 * too, so nothing else ('/', "..") can pass. */
static int selector_normalize(const char *sel, struct buf *out,
			      const char **error_r)
{
	size_t len = strlen(sel), label = 0;

	if (len == 0 || len > USERDB_DKIM_SELECTOR_MAX)
		return fail(error_r, "selector must have 1 to 63 characters");
	for (size_t i = 0; i <= len; i++) {
		char c = sel[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (c == '.' || c == '\0') {
			if (label == 0 || sel[i - 1] == '-')
				return fail(error_r, "invalid selector");
			label = 0;
		} else if (alnum || (c == '-' && label > 0)) {
			label++;
		} else {
			return fail(error_r, "invalid selector (letters, digits, "
				    "'-' and '.' only)");
		}
	}
	buf_reset(out);
	buf_appends(out, sel);
	str_lower(out->ptr);
	return 0;
}

static int dkim_names(const char *domain, const char *selector,
		      struct buf *d, struct buf *s, const char **error_r)
{
	if (domain_normalize(domain, d, error_r) < 0)
		return -1;
	return selector_normalize(selector, s, error_r);
}

int userdb_dkim_add(struct userdb *db, const struct userdb_dkim_key *k,
		    bool replace, const char **error_r)
{
	struct buf d = BUF_INIT, s = BUF_INIT;
	char bits[24];
	int rc = -1;

	if (dkim_names(k->domain, k->selector, &d, &s, error_r) < 0 ||
	    require_local(db, d.ptr, error_r) < 0)
		goto out;
	if (strcmp(k->type, "rsa") != 0 && strcmp(k->type, "ed25519") != 0) {
		fail(error_r, "key type must be rsa or ed25519");
		goto out;
	}
	snprintf(bits, sizeof(bits), "%u", k->bits);
	rc = exec(db, replace ?
		  "INSERT OR REPLACE INTO dkim_keys (domain, selector, type, "
		  "bits, path) VALUES (?1, ?2, ?3, ?4, ?5)" :
		  "INSERT INTO dkim_keys (domain, selector, type, bits, path) "
		  "VALUES (?1, ?2, ?3, ?4, ?5)",
		  ARGS(d.ptr, s.ptr, k->type, bits, k->path), NULL, error_r);
	if (rc == 1)
		rc = fail(error_r, "the domain already has a key with this selector");
out:
	buf_free(&d);
	buf_free(&s);
	return rc;
}

int userdb_dkim_del(struct userdb *db, const char *domain,
		    const char *selector, const char **error_r)
{
	struct buf d = BUF_INIT, s = BUF_INIT;
	int changes = 0, rc = -1;

	if (dkim_names(domain, selector, &d, &s, error_r) < 0)
		goto out;
	rc = exec(db, "DELETE FROM dkim_keys WHERE domain = ?1 AND "
		  "selector = ?2", ARGS(d.ptr, s.ptr), &changes, error_r);
	if (rc == 0 && changes == 0)
		rc = fail(error_r, "no such DKIM key");
out:
	buf_free(&d);
	buf_free(&s);
	return rc;
}

int userdb_dkim_lookup(struct userdb *db, const char *domain,
		       const char *selector, struct buf *path_r)
{
	struct buf d = BUF_INIT, s = BUF_INIT;
	struct userdb_strv v = { NULL, 0 };
	int rc = 0;

	if (dkim_names(domain, selector, &d, &s, NULL) == 0)
		rc = query_strv(db, "SELECT path FROM dkim_keys WHERE domain = "
				"?1 AND selector = ?2", ARGS(d.ptr, s.ptr), &v,
				NULL);
	if (rc == 0 && v.n > 0) {
		buf_reset(path_r);
		buf_appends(path_r, v.v[0]);
		rc = 1;
	}
	userdb_strv_free(&v);
	buf_free(&d);
	buf_free(&s);
	return rc;
}

int userdb_dkim_list(struct userdb *db, userdb_dkim_cb *cb, void *ctx,
		     const char **error_r)
{
	sqlite3_stmt *st = prep(db, "SELECT domain, selector, type, bits, "
				"path, created FROM dkim_keys ORDER BY domain, "
				"selector", NULL, error_r);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct userdb_dkim_key k = {
			(const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(unsigned)sqlite3_column_int(st, 3),
			(const char *)sqlite3_column_text(st, 4),
			sqlite3_column_int64(st, 5),
		};
		cb(ctx, &k);
	}
	if (rc != SQLITE_DONE)
		db_fail(db, error_r);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
