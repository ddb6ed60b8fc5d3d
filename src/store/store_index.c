/* store_index: index.db, the per-account SQLite index (DESIGN §5).
 *
 * Durability: journal_mode=WAL with synchronous=FULL. With NORMAL a WAL
 * commit is not fsynced, so a power loss after store_sync() returned could
 * roll the index back: deliveries would come back through reconciliation,
 * but flag changes and expunges would be lost and, worse, UIDs an IMAP
 * client has already seen could be handed out again to other messages
 * under the same UIDVALIDITY (RFC 9051 §2.3.1.1 forbids that). FULL costs
 * one WAL fsync per commit, and the store commits once per delivery batch
 * (group commit), so the price is paid per batch, not per message. Flag
 * changes alone (store_msg_flags) commit with NORMAL: losing the last of
 * them to a power cut reuses no UID, and the next FULL commit syncs them.
 *
 * Schema: mailboxes.name is the IMAP name ("INBOX", "Sent", Maildir++
 * hierarchy with '.'); messages are keyed (mailbox_id, uid); flags is an
 * enum store_flag bitmask, keywords a space-separated list in the
 * spelling of the mailbox's keywords table; location is the file's
 * current entry ("new/NAME" or "cur/NAME:2,FLAGS") so that opening a
 * message needs no directory scan; expunged keeps (uid, modseq) for
 * QRESYNC (RFC 7162 §3.2.5) and the delivery key, so an expunged message
 * is not delivered again by a late retry. The text index (fts, FTS5 with
 * the trigram tokenizer, case-insensitive, detail=none: a third of the
 * size of detail=full and faster to fill; contentless: it finds
 * candidates that the search then checks in their text, kept deflated in
 * fts_text under the same id, see store_index_fts.c) has its own ids,
 * kept in messages.fts_id: the implicit rowid of messages may change at
 * VACUUM.
 * Version 1 indexes are migrated in place at open (migrate_v2_sql):
 * columns are added, rows kept, caches filled when first needed;
 * mailboxes.subscribed is read once into the subscriptions table and
 * unused since. */
#include "store/store_index.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_cache.h"
#include "store/store_index_int.h"

static const char schema_v1_sql[] =
	"CREATE TABLE meta("
	" name TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE mailboxes("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" uidvalidity INTEGER NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),"
	" uidnext INTEGER NOT NULL DEFAULT 1,"
	" highestmodseq INTEGER NOT NULL DEFAULT 1,"
	" special_use TEXT,"
	" subscribed INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE messages("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" filename TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" keywords TEXT,"
	" modseq INTEGER NOT NULL,"
	" delivery_key TEXT UNIQUE,"
	" envelope TEXT,"
	" bodystructure TEXT,"
	" PRIMARY KEY (mailbox_id, uid));"
	"CREATE UNIQUE INDEX messages_filename ON messages(mailbox_id, filename);"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE TABLE expunged("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" delivery_key TEXT,"
	" PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
	"CREATE INDEX expunged_key ON expunged(delivery_key)"
	" WHERE delivery_key IS NOT NULL;"
	"INSERT INTO meta VALUES ('schema_version', 1);";

/* Version 1 -> 2; a new index is made as version 1, then migrated, so both
 * paths give the same schema. */
static const char migrate_v2_sql[] =
	"ALTER TABLE messages ADD COLUMN body TEXT;"
	"ALTER TABLE messages ADD COLUMN savedate INTEGER;"
	"ALTER TABLE messages ADD COLUMN location TEXT;"
	"ALTER TABLE messages ADD COLUMN fts_id INTEGER;"
	"ALTER TABLE messages ADD COLUMN fts_full INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_fts ON messages(fts_id) WHERE fts_id IS NOT NULL;"
	"CREATE TABLE keywords("
	" id INTEGER PRIMARY KEY,"
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL COLLATE NOCASE,"
	" UNIQUE (mailbox_id, name));"
	"CREATE TABLE subscriptions(name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"INSERT INTO subscriptions SELECT name FROM mailboxes WHERE subscribed;"
	"CREATE VIRTUAL TABLE fts USING fts5(hdr, body,"
	" tokenize = 'trigram case_sensitive 0', detail = none);"
	"INSERT OR REPLACE INTO meta VALUES ('uidvalidity_last',"
	" (SELECT COALESCE(MAX(uidvalidity), 0) FROM mailboxes));"
	"UPDATE meta SET value = 2 WHERE name = 'schema_version';";

/* Version 2 -> 3. */
static const char migrate_v3_sql[] =
	"ALTER TABLE messages ADD COLUMN rename_due INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_rename_due ON messages(mailbox_id, uid)"
	" WHERE rename_due;"
	"UPDATE meta SET value = 3 WHERE name = 'schema_version';";

/* Version 3 -> 4: the cached structure values get a table of their own
 * (ids are kept: the old rowids), and the message rows shrink. */
static const char migrate_v4_sql[] =
	"CREATE TABLE msg_cache("
	" id INTEGER PRIMARY KEY,"
	" envelope TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" bodystructure TEXT NOT NULL);"
	"ALTER TABLE messages ADD COLUMN cache_id INTEGER;"
	"INSERT INTO msg_cache(id, envelope, body, bodystructure)"
	" SELECT rowid, envelope, body, bodystructure FROM messages"
	" WHERE envelope IS NOT NULL AND body IS NOT NULL"
	" AND bodystructure IS NOT NULL;"
	"UPDATE messages SET cache_id = rowid WHERE envelope IS NOT NULL"
	" AND body IS NOT NULL AND bodystructure IS NOT NULL;"
	"ALTER TABLE messages DROP COLUMN envelope;"
	"ALTER TABLE messages DROP COLUMN body;"
	"ALTER TABLE messages DROP COLUMN bodystructure;"
	"UPDATE meta SET value = 4 WHERE name = 'schema_version';";

/* Version 4 -> 5: the text index keeps no copy of the text (contentless
 * FTS5); the text, compressed, is in fts_text, one row per message text
 * (copies share it). Old text rows are dropped: the catch-up after
 * delivery and the first SEARCH BODY/TEXT of a mailbox index its
 * messages again. */
static const char migrate_v5_sql[] =
	"DROP TABLE fts;"
	"CREATE VIRTUAL TABLE fts USING fts5(hdr, body, content = '',"
	" tokenize = 'trigram case_sensitive 0', detail = none);"
	"CREATE TABLE fts_text("
	" id INTEGER PRIMARY KEY,"
	" hdr_len INTEGER NOT NULL,"
	" hdr BLOB NOT NULL,"
	" body_len INTEGER NOT NULL,"
	" body BLOB NOT NULL);"
	"UPDATE messages SET fts_id = NULL, fts_full = 0 WHERE fts_id IS NOT NULL;"
	"UPDATE meta SET value = 5 WHERE name = 'schema_version';";

static const char *const stmt_sql[SIX_EXPUNGED_ADD + 1] = {
	[SIX_MAILBOX_FIND] = "SELECT id FROM mailboxes WHERE name = ?1",
	[SIX_MAILBOX_STATUS] =
		"SELECT uidvalidity, uidnext, highestmodseq,"
		" EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = b.name),"
		" special_use, (SELECT COUNT(*) FROM messages m"
		" WHERE m.mailbox_id = b.id) FROM mailboxes b WHERE name = ?1",
	[SIX_MAILBOX_LIST] = "SELECT id, name, uidvalidity FROM mailboxes ORDER BY id",
	[SIX_MAILBOX_MAX_UIDVALIDITY] =
		"SELECT MAX((SELECT COALESCE(MAX(uidvalidity), 0) FROM mailboxes),"
		" COALESCE((SELECT value FROM meta WHERE name = 'uidvalidity_last'), 0))",
	[SIX_MAILBOX_SET_UIDVALIDITY] =
		"INSERT OR REPLACE INTO meta VALUES ('uidvalidity_last', ?1)",
	[SIX_MAILBOX_ADD] = "INSERT INTO mailboxes(name, uidvalidity, special_use)"
			    " VALUES (?1, ?2, ?3)",
	[SIX_MAILBOX_BUMP_UID] =
		"UPDATE mailboxes SET uidnext = uidnext + 1,"
		" highestmodseq = highestmodseq + 1"
		" WHERE id = ?1 AND uidnext <= 4294967295"
		" RETURNING uidnext - 1, highestmodseq",
	[SIX_MAILBOX_BUMP_MODSEQ] =
		"UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
		" WHERE id = ?1 RETURNING highestmodseq",
	[SIX_KEY_FIND] = "SELECT uid FROM messages WHERE delivery_key = ?1"
			 " UNION ALL SELECT 0 FROM expunged WHERE delivery_key = ?1"
			 " LIMIT 1",
	[SIX_FILENAME_FIND] =
		"SELECT uid FROM messages WHERE mailbox_id = ?1 AND filename = ?2",
	[SIX_MSG_ADD] = "INSERT INTO messages(mailbox_id, uid, filename, size,"
			" internaldate, flags, modseq, delivery_key, location,"
			" savedate, keywords, cache_id, fts_id, fts_full)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
			" ?12, ?13, ?14)",
	[SIX_MSG_LIST] = "SELECT uid, filename, location FROM messages"
			 " WHERE mailbox_id = ?1 ORDER BY filename",
	[SIX_MSG_DELETE] = "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2"
			   " RETURNING delivery_key, fts_id, cache_id",
	[SIX_EXPUNGED_ADD] = "INSERT OR REPLACE INTO expunged(mailbox_id, uid,"
			     " modseq, delivery_key) VALUES (?1, ?2, ?3, ?4)",
};

/* RFC 6154 attributes the store hands out, as static strings. */
static const char *const special_uses[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

void store_index_sql_error(struct store_index *ix, const char *op)
{
	log_error("event=store op=%s error=\"%s\"", op, sqlite3_errmsg(ix->db));
}

sqlite3_stmt *store_index_prepare(struct store_index *ix,
				  enum store_index_stmt which, const char *sql)
{
	if (ix->stmts[which] == NULL &&
	    sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &ix->stmts[which], NULL) != SQLITE_OK) {
		store_index_sql_error(ix, "prepare");
		return NULL;
	}
	return ix->stmts[which];
}

static sqlite3_stmt *stmt(struct store_index *ix, enum store_index_stmt which)
{
	return store_index_prepare(ix, which, stmt_sql[which]);
}

int store_index_step_done(struct store_index *ix, sqlite3_stmt *s)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_index_sql_error(ix, "step");
		return -1;
	}
	return 0;
}

int store_index_step_row(struct store_index *ix, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	store_index_sql_error(ix, "step");
	return -1;
}

int store_index_exec(struct store_index *ix, const char *sql)
{
	if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		store_index_sql_error(ix, "exec");
		return -1;
	}
	return 0;
}

void store_index_bind_str(sqlite3_stmt *s, int col, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(s, col, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, col);
}

char *store_index_column_dup(sqlite3_stmt *s, int col)
{
	const unsigned char *v = sqlite3_column_text(s, col);

	return v != NULL ? xstrdup((const char *)v) : NULL;
}

static int pragmas(struct store_index *ix, const char **error_r)
{
	sqlite3_stmt *s = NULL;
	bool wal = false;

	if (sqlite3_prepare_v2(ix->db, "PRAGMA journal_mode=WAL", -1, &s,
			       NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		wal = strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	if (!wal || store_index_exec(ix, "PRAGMA synchronous=FULL;"
				     "PRAGMA foreign_keys=ON;"
				     "PRAGMA trusted_schema=OFF;"
				     /* temporary files only in memory: the
				      * sandboxed queue process may write
				      * nowhere but DATA */
				     "PRAGMA temp_store=MEMORY;") < 0) {
		*error_r = "cannot set up index (WAL mode)";
		return -1;
	}
	return 0;
}

static int schema_version(struct store_index *ix, int64_t *version_r)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*version_r = 0;
	rc = sqlite3_prepare_v2(ix->db, "SELECT value FROM meta WHERE name ="
				" 'schema_version'", -1, &s, NULL);
	if (rc == SQLITE_ERROR) {	/* no meta table: an empty database */
		sqlite3_finalize(s);
		return 0;
	}
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		store_index_sql_error(ix, "schema");
		sqlite3_finalize(s);
		return -1;
	}
	*version_r = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

/* Bring the schema from version to the current one. */
static int migrate(struct store_index *ix, int64_t version, const char **error_r)
{
	if (version == 0 && store_index_exec(ix, schema_v1_sql) < 0) {
		*error_r = "cannot create index schema";
		return -1;
	}
	if (version <= 1 && store_index_exec(ix, migrate_v2_sql) < 0) {
		*error_r = "cannot migrate index schema to version 2";
		return -1;
	}
	if (version <= 2 && store_index_exec(ix, migrate_v3_sql) < 0) {
		*error_r = "cannot migrate index schema to version 3";
		return -1;
	}
	if (version <= 3 && store_index_exec(ix, migrate_v4_sql) < 0) {
		*error_r = "cannot migrate index schema to version 4";
		return -1;
	}
	if (version <= 4 && store_index_exec(ix, migrate_v5_sql) < 0) {
		*error_r = "cannot migrate index schema to version 5";
		return -1;
	}
	if (version > 0 && version < STORE_INDEX_SCHEMA_VERSION)
		log_info("event=store op=migrate from=%lld to=%d",
			 (long long)version, STORE_INDEX_SCHEMA_VERSION);
	return 0;
}

static int schema(struct store_index *ix, bool create, const char **error_r)
{
	int64_t version;

	if (store_index_begin(ix, error_r) < 0)
		return -1;
	if (schema_version(ix, &version) < 0)
		*error_r = "cannot read index schema";
	else if (version == 0 && !create)
		*error_r = "index is empty";
	else if (version < 0 || version > STORE_INDEX_SCHEMA_VERSION)
		*error_r = "index schema version not supported";
	else if (version == STORE_INDEX_SCHEMA_VERSION ||
		 migrate(ix, version, error_r) == 0)
		return store_index_commit(ix, error_r);
	store_index_rollback(ix);
	return -1;
}

int store_index_open(struct store_index *ix, const char *path, bool create,
		     const char **error_r)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    (create ? SQLITE_OPEN_CREATE : 0);
	int fd;

	memset(ix, 0, sizeof(*ix));
	/* made by us so that it is private (SQLite would use 0644); the WAL
	 * and shared-memory files take the database file's mode */
	if (create && (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &ix->db, flags, NULL) != SQLITE_OK) {
		log_error("event=store op=open path=%s error=\"%s\"", path,
			  ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
		*error_r = "cannot open index";
		store_index_close(ix);
		return -1;
	}
	sqlite3_extended_result_codes(ix->db, 1);
	sqlite3_busy_timeout(ix->db, STORE_INDEX_BUSY_TIMEOUT_MS);
	if (pragmas(ix, error_r) < 0 || schema(ix, create, error_r) < 0) {
		store_index_close(ix);
		return -1;
	}
	return 0;
}

int store_index_detach_wal(struct store_index *ix)
{
	return store_index_exec(ix, "PRAGMA journal_mode=DELETE");
}

void store_index_close(struct store_index *ix)
{
	store_index_fold_free(ix);
	for (size_t i = 0; i < SIX_COUNT; i++)
		sqlite3_finalize(ix->stmts[i]);
	if (ix->db != NULL && store_index_in_txn(ix))
		store_index_rollback(ix);
	sqlite3_close(ix->db);
	memset(ix, 0, sizeof(*ix));
}

int store_index_begin(struct store_index *ix, const char **error_r)
{
	if (store_index_exec(ix, "BEGIN IMMEDIATE") < 0) {
		*error_r = "index busy or unavailable";
		return -1;
	}
	return 0;
}

int store_index_commit(struct store_index *ix, const char **error_r)
{
	if (store_index_exec(ix, "COMMIT") < 0) {
		if (store_index_in_txn(ix))
			store_index_rollback(ix);
		*error_r = "cannot commit index";
		return -1;
	}
	ix->commits++;
	return 0;
}

void store_index_rollback(struct store_index *ix)
{
	if (store_index_in_txn(ix))
		(void)store_index_exec(ix, "ROLLBACK");
}

bool store_index_in_txn(struct store_index *ix)
{
	return sqlite3_get_autocommit(ix->db) == 0;
}

int store_index_savepoint(struct store_index *ix)
{
	return store_index_exec(ix, "SAVEPOINT d");
}

int store_index_release(struct store_index *ix)
{
	return store_index_exec(ix, "RELEASE d");
}

void store_index_undo(struct store_index *ix)
{
	if (store_index_in_txn(ix))
		(void)store_index_exec(ix, "ROLLBACK TO d; RELEASE d");
}

uint64_t store_index_change_counter(struct store_index *ix)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_DATA_VERSION,
					      "PRAGMA data_version");
	uint64_t v = 0;

	if (s != NULL && store_index_step_row(ix, s) == 1) {
		v = (uint64_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return v + ix->commits;
}

int store_index_mailbox_find(struct store_index *ix, const char *name,
			     int64_t *id_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_FIND);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	ret = store_index_step_row(ix, s);
	if (ret == 1) {
		*id_r = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return ret;
}

static int64_t max_uidvalidity(struct store_index *ix)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_MAX_UIDVALIDITY);
	int64_t v = -1;

	if (s != NULL && store_index_step_row(ix, s) == 1) {
		v = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return v;
}

static int remember_uidvalidity(struct store_index *ix, int64_t v)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_SET_UIDVALIDITY);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, v);
	return store_index_step_done(ix, s);
}

int store_index_mailbox_add(struct store_index *ix, const char *name,
			    const char *special_use, uint32_t uidvalidity_min,
			    const char **error_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_ADD);
	int64_t prev = max_uidvalidity(ix), v = (int64_t)time(NULL);

	/* RFC 9051 §2.3.1.1: a new mailbox never reuses an old UIDVALIDITY
	 * (also not one of a deleted mailbox: meta keeps the last one); the
	 * creation time, kept unique across the account's mailboxes. */
	if (v <= prev)
		v = prev + 1;
	if (v < (int64_t)uidvalidity_min)
		v = uidvalidity_min;
	*error_r = "cannot add mailbox";
	if (s == NULL || prev < 0 || v > (int64_t)UINT32_MAX)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v);
	store_index_bind_str(s, 3, special_use);
	if (store_index_step_done(ix, s) < 0)
		return -1;
	return remember_uidvalidity(ix, v);
}

int store_index_mailbox_list(struct store_index *ix,
			     int (*cb)(int64_t id, const char *name,
				       uint32_t uidvalidity, void *ctx),
			     void *ctx, const char **error_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_LIST);
	int ret = 0, rc = 0;

	*error_r = "cannot list mailboxes";
	if (s == NULL)
		return -1;
	while (ret == 0 && (rc = store_index_step_row(ix, s)) == 1)
		ret = cb(sqlite3_column_int64(s, 0),
			 (const char *)sqlite3_column_text(s, 1),
			 (uint32_t)sqlite3_column_int64(s, 2), ctx);
	sqlite3_reset(s);
	return ret < 0 || rc < 0 ? -1 : 0;
}

const char *store_index_special_use(const char *s)
{
	for (size_t i = 0; s != NULL && i < sizeof(special_uses) / sizeof(*special_uses); i++)
		if (strcmp(s, special_uses[i]) == 0)
			return special_uses[i];
	return NULL;
}

int store_index_mailbox_status(struct store_index *ix, const char *name,
			       struct store_mailbox_status *status_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_STATUS);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	ret = store_index_step_row(ix, s);
	if (ret != 1)
		return ret;
	status_r->uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
	status_r->uidnext = (uint32_t)sqlite3_column_int64(s, 1);
	status_r->highestmodseq = (uint64_t)sqlite3_column_int64(s, 2);
	status_r->subscribed = sqlite3_column_int(s, 3) != 0;
	status_r->special_use =
		store_index_special_use((const char *)sqlite3_column_text(s, 4));
	status_r->messages = (uint64_t)sqlite3_column_int64(s, 5);
	sqlite3_reset(s);
	return 1;
}

/* Run s (bound by the caller) expecting at most one integer column. */
static int find_uid(struct store_index *ix, sqlite3_stmt *s, uint32_t *uid_r)
{
	int ret = store_index_step_row(ix, s);

	if (ret == 1) {
		*uid_r = (uint32_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
	}
	return ret;
}

int store_index_key_find(struct store_index *ix, const char *key,
			 uint32_t *uid_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_KEY_FIND);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return find_uid(ix, s, uid_r);
}

int store_index_filename_find(struct store_index *ix, int64_t mailbox_id,
			      const char *filename, uint32_t *uid_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_FILENAME_FIND);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_text(s, 2, filename, -1, SQLITE_STATIC);
	return find_uid(ix, s, uid_r);
}

/* Take the mailbox's next UID and MODSEQ (RFC 9051 §2.3.1.1: UIDs strictly
 * ascending, never reused; RFC 7162 §3.1.1: every change a new MODSEQ). */
int store_index_next_uid(struct store_index *ix, int64_t mailbox_id,
			 uint32_t *uid_r, int64_t *modseq_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_BUMP_UID);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	ret = store_index_step_row(ix, s);
	if (ret != 1)
		return -1;	/* gone, or all 2^32-1 UIDs used */
	*uid_r = (uint32_t)sqlite3_column_int64(s, 0);
	*modseq_r = sqlite3_column_int64(s, 1);
	return store_index_step_done(ix, s);
}

int64_t store_index_cache_add(struct store_index *ix, const struct store_cache *c)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_CACHE_ADD,
		"INSERT INTO msg_cache(envelope, body, bodystructure)"
		" VALUES (?1, ?2, ?3)");

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, buf_cstr(&c->envelope), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, buf_cstr(&c->body), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, buf_cstr(&c->bodystructure), -1, SQLITE_STATIC);
	if (store_index_step_done(ix, s) < 0)
		return -1;
	return sqlite3_last_insert_rowid(ix->db);
}

int store_index_cache_delete(struct store_index *ix, int64_t id)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_CACHE_DELETE,
		"DELETE FROM msg_cache WHERE id = ?1");

	if (id <= 0)
		return 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return store_index_step_done(ix, s);
}

/* Columns 12-14 of SIX_MSG_ADD: the cache and text rows, if any. */
static void bind_cache(sqlite3_stmt *s, const struct store_cache *c,
		       int64_t cache_id, int64_t fts_id)
{
	if (cache_id > 0)
		sqlite3_bind_int64(s, 12, cache_id);
	else
		sqlite3_bind_null(s, 12);
	if (fts_id > 0)
		sqlite3_bind_int64(s, 13, fts_id);
	else
		sqlite3_bind_null(s, 13);
	sqlite3_bind_int(s, 14, c != NULL && c->text_full);
}

int store_index_msg_add(struct store_index *ix, const struct store_index_msg *m,
			uint32_t *uid_r, const char **error_r)
{
	sqlite3_stmt *s = stmt(ix, SIX_MSG_ADD);
	int64_t modseq, fts_id = 0, cache_id = 0;

	*error_r = "cannot add message to index";
	if (s == NULL || store_index_next_uid(ix, m->mailbox_id, uid_r, &modseq) < 0)
		return -1;
	if (m->cache != NULL && m->cache->has_text &&
	    (fts_id = store_index_fts_add(ix, m->cache)) < 0)
		return -1;
	if (m->cache != NULL && m->cache->has_structure &&
	    (cache_id = store_index_cache_add(ix, m->cache)) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, m->mailbox_id);
	sqlite3_bind_int64(s, 2, *uid_r);
	sqlite3_bind_text(s, 3, m->filename, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)m->size);
	sqlite3_bind_int64(s, 5, m->internaldate);
	sqlite3_bind_int64(s, 6, m->flags);
	sqlite3_bind_int64(s, 7, modseq);
	store_index_bind_str(s, 8, m->key);
	store_index_bind_str(s, 9, m->location);
	if (m->savedate > 0)
		sqlite3_bind_int64(s, 10, m->savedate);
	else
		sqlite3_bind_null(s, 10);
	store_index_bind_str(s, 11, m->keywords);
	bind_cache(s, m->cache, cache_id, fts_id);
	return store_index_step_done(ix, s);
}

int store_index_msg_list(struct store_index *ix, int64_t mailbox_id,
			 int (*cb)(uint32_t uid, const char *filename,
				   const char *location, void *ctx),
			 void *ctx)
{
	sqlite3_stmt *s = stmt(ix, SIX_MSG_LIST);
	int ret = 0, rc = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	while (ret == 0 && (rc = store_index_step_row(ix, s)) == 1)
		ret = cb((uint32_t)sqlite3_column_int64(s, 0),
			 (const char *)sqlite3_column_text(s, 1),
			 (const char *)sqlite3_column_text(s, 2), ctx);
	sqlite3_reset(s);
	return ret < 0 || rc < 0 ? -1 : 0;
}

int64_t store_index_bump_modseq(struct store_index *ix, int64_t mailbox_id)
{
	sqlite3_stmt *s = stmt(ix, SIX_MAILBOX_BUMP_MODSEQ);
	int64_t modseq;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	if (store_index_step_row(ix, s) != 1)
		return -1;
	modseq = sqlite3_column_int64(s, 0);
	return store_index_step_done(ix, s) < 0 ? -1 : modseq;
}

int store_index_expunged_add(struct store_index *ix, int64_t mailbox_id,
			     uint32_t uid, int64_t modseq, const char *key)
{
	sqlite3_stmt *s = stmt(ix, SIX_EXPUNGED_ADD);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, modseq);
	store_index_bind_str(s, 4, key);
	return store_index_step_done(ix, s);
}

int store_index_msg_expunge(struct store_index *ix, int64_t mailbox_id,
			    uint32_t uid)
{
	sqlite3_stmt *del = stmt(ix, SIX_MSG_DELETE);
	int64_t modseq = store_index_bump_modseq(ix, mailbox_id), fts_id, cache_id;
	char *key;
	int ret;

	if (del == NULL || modseq < 0)
		return -1;
	sqlite3_bind_int64(del, 1, mailbox_id);
	sqlite3_bind_int64(del, 2, uid);
	if (store_index_step_row(ix, del) != 1)
		return -1;
	key = store_index_column_dup(del, 0);
	fts_id = sqlite3_column_int64(del, 1);
	cache_id = sqlite3_column_int64(del, 2);
	ret = store_index_step_done(ix, del);
	if (ret == 0)
		ret = store_index_expunged_add(ix, mailbox_id, uid, modseq, key);
	if (ret == 0)
		ret = store_index_fts_release(ix, fts_id);
	if (ret == 0)
		ret = store_index_cache_delete(ix, cache_id);
	free(key);
	return ret;
}
