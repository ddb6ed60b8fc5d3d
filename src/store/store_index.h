/* store_index: the per-account SQLite index (index.db) behind the store:
 * schema, cached prepared statements and the few queries the store needs.
 * The only file in src/store/ that knows SQL; nothing of it leaves
 * src/store/. Internal. */
#ifndef MK_STORE_INDEX_H
#define MK_STORE_INDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"

#define STORE_INDEX_SCHEMA_VERSION 1
/* How long a writer waits for another process's transaction (the queue's
 * delivery batch, an IMAP command) before giving up with "index busy". */
#define STORE_INDEX_BUSY_TIMEOUT_MS 10000

struct sqlite3;
struct sqlite3_stmt;

enum store_index_stmt {
	SIX_MAILBOX_FIND,
	SIX_MAILBOX_STATUS,
	SIX_MAILBOX_LIST,
	SIX_MAILBOX_MAX_UIDVALIDITY,
	SIX_MAILBOX_ADD,
	SIX_MAILBOX_BUMP_UID,
	SIX_MAILBOX_BUMP_MODSEQ,
	SIX_KEY_FIND,
	SIX_FILENAME_FIND,
	SIX_MSG_ADD,
	SIX_MSG_LIST,
	SIX_MSG_DELETE,
	SIX_EXPUNGED_ADD,
	SIX_COUNT
};

struct store_index {
	struct sqlite3 *db;
	struct sqlite3_stmt *stmts[SIX_COUNT];	/* prepared on first use */
};

/* A message row as the store adds it. */
struct store_index_msg {
	int64_t mailbox_id;
	const char *filename;	/* base name (before ':') */
	const char *key;	/* delivery key or NULL */
	uint64_t size;
	int64_t internaldate;
	unsigned flags;		/* enum store_flag */
};

/* Open (create=true: create) the index at path, WAL mode, schema checked
 * or made. */
int store_index_open(struct store_index *ix, const char *path, bool create,
		     const char **error_r);
/* Leave WAL mode so that the database is one self-contained file. */
int store_index_detach_wal(struct store_index *ix);
void store_index_close(struct store_index *ix);
/* BEGIN IMMEDIATE (the write lock), COMMIT, ROLLBACK. */
int store_index_begin(struct store_index *ix, const char **error_r);
int store_index_commit(struct store_index *ix, const char **error_r);
void store_index_rollback(struct store_index *ix);
/* Whether a transaction is open (false also after SQLite rolled one back
 * on its own after an I/O error). */
bool store_index_in_txn(struct store_index *ix);
/* Nested savepoint around one delivery: "SAVEPOINT d", release, undo. */
int store_index_savepoint(struct store_index *ix);
int store_index_release(struct store_index *ix);
void store_index_undo(struct store_index *ix);
/* Mailbox id of name: 1 found, 0 none, -1 error. */
int store_index_mailbox_find(struct store_index *ix, const char *name,
			     int64_t *id_r);
/* Add mailbox name; UIDVALIDITY is max(now, every existing + 1, min). */
int store_index_mailbox_add(struct store_index *ix, const char *name,
			    const char *special_use, uint32_t uidvalidity_min,
			    const char **error_r);
/* Call cb for every mailbox in id order; cb must not change the index. */
int store_index_mailbox_list(struct store_index *ix,
			     int (*cb)(int64_t id, const char *name,
				       uint32_t uidvalidity, void *ctx),
			     void *ctx, const char **error_r);
/* Status of name: 1 found, 0 none, -1 error. */
int store_index_mailbox_status(struct store_index *ix, const char *name,
			       struct store_mailbox_status *status_r);
/* Whether key was delivered: 1 yes (*uid_r, 0 if since expunged), 0 no. */
int store_index_key_find(struct store_index *ix, const char *key,
			 uint32_t *uid_r);
/* Whether mailbox_id has a row for base file name: 1 yes (*uid_r), 0 no. */
int store_index_filename_find(struct store_index *ix, int64_t mailbox_id,
			      const char *filename, uint32_t *uid_r);
/* Add a row with the next UID and MODSEQ of its mailbox. */
int store_index_msg_add(struct store_index *ix, const struct store_index_msg *m,
			uint32_t *uid_r, const char **error_r);
/* Call cb for the rows of mailbox_id in filename (bytewise) order; cb must
 * not change the index. */
int store_index_msg_list(struct store_index *ix, int64_t mailbox_id,
			 int (*cb)(uint32_t uid, const char *filename, void *ctx),
			 void *ctx);
/* Move a row to expunged (keeping its delivery key) with a new MODSEQ. */
int store_index_msg_expunge(struct store_index *ix, int64_t mailbox_id,
			    uint32_t uid);

#endif
