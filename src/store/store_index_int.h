/* store_index_int: SQLite helpers shared by the store_index*.c files, the
 * only files of the store that know SQL. Internal to those files. */
#ifndef MK_STORE_INDEX_INT_H
#define MK_STORE_INDEX_INT_H

#include <sqlite3.h>

#include "store/store_index.h"

/* The columns store_index_rows_read reads (of messages). */
#define ROW_COLS                                                            \
	"rowid, uid, flags, keywords, modseq, size, internaldate,"          \
	" COALESCE(savedate, 0), filename, location, delivery_key,"         \
	" COALESCE(cache_id, 0), COALESCE(fts_id, 0), fts_full"

/* The cached statement which, prepared from sql on first use. */
sqlite3_stmt *store_index_prepare(struct store_index *ix,
				  enum store_index_stmt which, const char *sql);
/* Step s to completion (rows ignored) and reset it. */
int store_index_step_done(struct store_index *ix, sqlite3_stmt *s);
/* Step s once: 1 row (read it, then reset), 0 no row, -1 error (reset). */
int store_index_step_row(struct store_index *ix, sqlite3_stmt *s);
/* Run SQL text without results. */
int store_index_exec(struct store_index *ix, const char *sql);
/* Log the last SQLite error of ix for operation op. */
void store_index_sql_error(struct store_index *ix, const char *op);
/* Bind v as text, or NULL when v is NULL (static strings only). */
void store_index_bind_str(sqlite3_stmt *s, int col, const char *v);
/* A copy of a text column, or NULL for SQL NULL. */
char *store_index_column_dup(sqlite3_stmt *s, int col);
/* Take the mailbox's next MODSEQ: the value, or -1. */
int64_t store_index_bump_modseq(struct store_index *ix, int64_t mailbox_id);
/* Take the mailbox's next UID and MODSEQ: 0, or -1 (also when all UIDs
 * are used). */
int store_index_next_uid(struct store_index *ix, int64_t mailbox_id,
			 uint32_t *uid_r, int64_t *modseq_r);
/* Add (mailbox_id, uid, modseq, key) to expunged. */
int store_index_expunged_add(struct store_index *ix, int64_t mailbox_id,
			     uint32_t uid, int64_t modseq, const char *key);
/* A msg_cache row with c's structure values: its id, or -1. */
struct store_cache;
int64_t store_index_cache_add(struct store_index *ix, const struct store_cache *c);
/* Remove msg_cache row id (0: none). */
int store_index_cache_delete(struct store_index *ix, int64_t id);
/* Read every row of s (bound, selecting ROW_COLS) into rows; the
 * last step's result: 0 or -1. */
int store_index_rows_read(struct store_index *ix, sqlite3_stmt *s,
			  struct store_index_rows *rows);
/* Release what store_index_fold set up. */
void store_index_fold_free(struct store_index *ix);

#endif
