/* store_index: the per-account SQLite index (index.db) behind the store:
 * schema and its migration, cached prepared statements and the queries the
 * store needs. Only the store_index*.c files know SQL; nothing of it
 * leaves src/store/. Internal. */
#ifndef MK_STORE_INDEX_H
#define MK_STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"
#include "store/store.h"

/* 1: mailboxes, messages, expunged. 2: + cached BODY, save date, current
 * file location, keyword and subscription tables, FTS5 text index.
 * 3: + messages.rename_due (file name behind the flags, see store_flags.c).
 * 4: the cached ENVELOPE/BODY/BODYSTRUCTURE move to msg_cache, so that the
 *    message rows a STORE rewrites are a few dozen bytes, not kilobytes.
 * 5: the text index is contentless; the text it was made from is kept
 *    compressed in fts_text (a third of the size), shared by copies. */
#define STORE_INDEX_SCHEMA_VERSION 5
/* How long a writer waits for another process's transaction (the queue's
 * delivery batch, an IMAP command) before giving up with "index busy". */
#define STORE_INDEX_BUSY_TIMEOUT_MS 10000

struct sqlite3;
struct sqlite3_stmt;
struct store_cache;
struct store_index_fold;

enum store_index_stmt {
	SIX_MAILBOX_FIND,
	SIX_MAILBOX_STATUS,
	SIX_MAILBOX_LIST,
	SIX_MAILBOX_MAX_UIDVALIDITY,
	SIX_MAILBOX_SET_UIDVALIDITY,
	SIX_MAILBOX_ADD,
	SIX_MAILBOX_BUMP_UID,
	SIX_MAILBOX_BUMP_MODSEQ,
	SIX_KEY_FIND,
	SIX_FILENAME_FIND,
	SIX_MSG_ADD,
	SIX_MSG_LIST,
	SIX_MSG_DELETE,
	SIX_EXPUNGED_ADD,
	/* store_index_mbox.c */
	SIX_MBOX_LIST,
	SIX_MBOX_NAME,
	SIX_MBOX_STATE,
	SIX_MBOX_CHILDREN,
	SIX_MBOX_RENAME,
	SIX_MBOX_DELETE,
	SIX_SUBS_LIST,
	SIX_SUBS_ADD,
	SIX_SUBS_DEL,
	SIX_SUBS_RENAME,
	SIX_KW_LIST,
	SIX_KW_ADD,
	/* store_index_msg.c */
	SIX_ROW_GET,
	SIX_ROW_RANGE,
	SIX_UID_LIST,
	SIX_EXPUNGED_RANGE,
	SIX_ROW_SET_FLAGS,
	SIX_ROW_SET_LOCATION,
	SIX_ROW_COPY,
	SIX_ROW_MOVE,
	SIX_CACHE_GET,
	SIX_CACHE_RANGE,
	SIX_ROW_SET_FTS,
	/* store_index_fts.c */
	SIX_FTS_MISSING,
	SIX_FTS_CANDIDATES,
	SIX_FTS_TEXTS,
	SIX_FTS_PARTIAL,
	SIX_FTS_TEXT_ADD,
	SIX_FTS_ADD,
	SIX_FTS_USED,
	SIX_FTS_TEXT_GET,
	SIX_FTS_DELETE,
	SIX_FTS_TEXT_DELETE,
	SIX_MBOX_FTS_IDS,
	SIX_DATA_VERSION,
	SIX_RENAME_DUE,
	SIX_RENAME_MAILBOXES,
	SIX_RENAME_DONE,
	SIX_CACHE_ADD,
	SIX_CACHE_COPY,
	SIX_CACHE_DELETE,
	SIX_CACHE_LINK,
	SIX_MBOX_DELETE_CACHE,
	SIX_COUNT
};

struct store_index {
	struct sqlite3 *db;
	struct sqlite3_stmt *stmts[SIX_COUNT];	/* prepared on first use */
	uint64_t commits;	/* our own commits (data_version misses them) */
	struct store_index_fold *fold;	/* store_index_fold's tokenizer */
};

/* A message row as the store adds it. */
struct store_index_msg {
	int64_t mailbox_id;
	const char *filename;	/* base name (before ':') */
	const char *location;	/* "new/NAME" or "cur/NAME:2,FLAGS" */
	const char *key;	/* delivery key or NULL */
	uint64_t size;
	int64_t internaldate;
	int64_t savedate;	/* 0: unknown */
	unsigned flags;		/* enum store_flag */
	const char *keywords;	/* space-separated, or NULL */
	const struct store_cache *cache;	/* NULL: computed when needed */
};

/* A message row as read back. Strings are owned (NULL when absent). */
struct store_index_row {
	int64_t rowid;
	uint32_t uid;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
	uint64_t size;
	int64_t internaldate;
	int64_t savedate;
	char *filename;
	char *location;
	char *key;
	int64_t cache_id;	/* its msg_cache row, 0: none yet */
	bool cached;		/* envelope, body and bodystructure are set */
	int64_t fts_id;		/* its row in the text index, 0: none yet */
	bool fts_full;		/* that row holds all of its text */
};

struct store_index_rows {
	struct store_index_row *v;
	size_t count;
	size_t cap;
};

/* A mailbox as listed. */
struct store_index_mbox {
	int64_t id;
	const char *name;
	const char *special_use;	/* static string or NULL */
	uint32_t uidvalidity;
	bool subscribed;
	bool has_children;
};

/* Counters of one mailbox (store_mailbox_state). */
struct store_index_state {
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq, messages, unseen, size, deleted;
	uint32_t first_unseen_uid;
	const char *special_use;
};

/* ---- store_index.c: open, schema, transactions, delivery rows ---- */

/* Open (create=true: create) the index at path, WAL mode, schema checked,
 * made or migrated from an older version in place. */
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
/* RFC 6154 attribute as a static string, or NULL if not one we know. */
const char *store_index_special_use(const char *s);
/* Changes whenever any connection (also ours) committed to the index. */
uint64_t store_index_change_counter(struct store_index *ix);
/* Mailbox id of name: 1 found, 0 none, -1 error. */
int store_index_mailbox_find(struct store_index *ix, const char *name,
			     int64_t *id_r);
/* Add mailbox name; UIDVALIDITY is max(now, every one handed out + 1, min). */
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
/* Add a row with the next UID and MODSEQ of its mailbox (and its text
 * index row when m->cache is set). */
int store_index_msg_add(struct store_index *ix, const struct store_index_msg *m,
			uint32_t *uid_r, const char **error_r);
/* Call cb for the rows of mailbox_id in filename (bytewise) order with
 * their location (NULL if unknown); cb must not change the index. */
int store_index_msg_list(struct store_index *ix, int64_t mailbox_id,
			 int (*cb)(uint32_t uid, const char *filename,
				   const char *location, void *ctx),
			 void *ctx);
/* Move a row to expunged (keeping its delivery key) with a new MODSEQ;
 * its text index row goes. */
int store_index_msg_expunge(struct store_index *ix, int64_t mailbox_id,
			    uint32_t uid);
/* Add the text index row of a cache: its id, or -1. */
int64_t store_index_fts_add(struct store_index *ix, const struct store_cache *c);
/* Drop text row id (0: none) unless a message row still uses it (copies
 * share their text row): 0, or -1. */
int store_index_fts_release(struct store_index *ix, int64_t fts_id);

/* ---- store_index_mbox.c: mailboxes, subscriptions, keywords ---- */

/* Every mailbox, INBOX first, then in name (bytewise) order. */
int store_index_mbox_list(struct store_index *ix,
			  int (*cb)(void *ctx, const struct store_index_mbox *mb),
			  void *ctx);
/* Name (appended to out) and UIDVALIDITY of mailbox id: 1 found, 0 none,
 * -1 error. */
int store_index_mbox_name(struct store_index *ix, int64_t id, struct buf *out,
			  uint32_t *uidvalidity_r);
/* Counters of mailbox id: 1 found, 0 none, -1 error. */
int store_index_mbox_state(struct store_index *ix, int64_t id,
			   struct store_index_state *state_r);
/* Names of the mailboxes below name ("name." prefix), in name order. */
int store_index_mbox_children(struct store_index *ix, const char *name,
			      void (*cb)(void *ctx, int64_t id, const char *child),
			      void *ctx);
int store_index_mbox_rename(struct store_index *ix, int64_t id, const char *to);
/* Remove mailbox id, its messages, text rows, keywords and expunged rows. */
int store_index_mbox_delete(struct store_index *ix, int64_t id);
int store_index_subs_list(struct store_index *ix,
			  int (*cb)(void *ctx, const char *name), void *ctx);
int store_index_subs_set(struct store_index *ix, const char *name, bool on);
int store_index_subs_rename(struct store_index *ix, const char *from,
			    const char *to);
/* Keywords defined in mailbox id, in definition order. */
int store_index_kw_list(struct store_index *ix, int64_t id,
			int (*cb)(void *ctx, const char *kw), void *ctx);
int store_index_kw_add(struct store_index *ix, int64_t id, const char *kw);

/* ---- store_index_msg.c: message rows for IMAP and POP3 ---- */

void store_index_row_free(struct store_index_row *r);
void store_index_rows_free(struct store_index_rows *rows);
/* Row uid of mailbox id: 1 found, 0 none, -1 error. */
int store_index_row_get(struct store_index *ix, int64_t mailbox_id,
			uint32_t uid, struct store_index_row *r);
/* Append to rows up to limit rows with uid >= uid_min and modseq > since,
 * in UID order. */
/* Every UID of mailbox_id in order (the primary key alone: no row read). */
int store_index_uid_list(struct store_index *ix, int64_t mailbox_id,
			 int (*cb)(void *ctx, uint32_t uid), void *ctx);
int store_index_row_range(struct store_index *ix, int64_t mailbox_id,
			  uint32_t uid_min, uint64_t since, size_t limit,
			  struct store_index_rows *rows);
/* Up to limit expunged UIDs >= uid_min with modseq > since, ascending;
 * *n_r how many. */
int store_index_expunged_range(struct store_index *ix, int64_t mailbox_id,
			       uint32_t uid_min, uint64_t since, size_t limit,
			       uint32_t *uids, size_t *n_r);
/* New flags and keywords of a row, with a new MODSEQ, or with *modseq_r
 * when it is not 0 (one MODSEQ for a whole STORE); rename_due marks its
 * file name as behind its flags. */
int store_index_row_set_flags(struct store_index *ix, int64_t mailbox_id,
			      const struct store_index_row *r, unsigned flags,
			      const char *keywords, bool rename_due,
			      uint64_t *modseq_r);
/* Up to limit rows of mailbox_id marked rename_due, in UID order. */
int store_index_rename_due(struct store_index *ix, int64_t mailbox_id,
			   size_t limit, struct store_index_rows *rows);
/* cb for each mailbox that has rows marked rename_due (read through the
 * partial index of the marks, so an account without any costs nothing). */
int store_index_rename_mailboxes(struct store_index *ix,
				 void (*cb)(int64_t mailbox_id, void *ctx),
				 void *ctx);
/* The row's file is now at location (NULL: keep it): clear its mark. */
int store_index_rename_done(struct store_index *ix, int64_t mailbox_id,
			    uint32_t uid, const char *location);
int store_index_row_set_location(struct store_index *ix, int64_t mailbox_id,
				 uint32_t uid, const char *location);
/* Copy row r into dst as a new message (cached values and text row too). */
int store_index_row_copy(struct store_index *ix, const struct store_index_row *r,
			 const struct store_index_msg *dst, uint32_t *uid_r);
/* Move row r of src into dst: r's UID is expunged from src, the row takes
 * dst's next UID (its text row and cached values stay with it). */
int store_index_row_move(struct store_index *ix, int64_t src_id,
			 const struct store_index_row *r,
			 const struct store_index_msg *dst, uint32_t *uid_r);
/* Cached ENVELOPE/BODY/BODYSTRUCTURE of a row into the bufs (NULL: not
 * wanted): 1 all there, 0 some missing or no such row, -1 error. */
/* Cached values of the rows with first <= uid <= last, ascending; a value
 * not computed yet is NULL. cb returns non-0 to stop. */
typedef int store_index_cache_cb(void *ctx, uint32_t uid, const char *envelope,
				 const char *body, const char *bodystructure);
int store_index_cache_range(struct store_index *ix, int64_t mailbox_id,
			    uint32_t first, uint32_t last,
			    store_index_cache_cb *cb, void *ctx);
int store_index_cache_get(struct store_index *ix, int64_t mailbox_id,
			  uint32_t uid, struct buf *envelope, struct buf *body,
			  struct buf *bodystructure);
/* Inside a write transaction: save a computed cache for a row (the
 * structure values if missing, the text row too if text and it has none):
 * 1 saved, 0 no such row, -1 error. */
int store_index_cache_set(struct store_index *ix, int64_t mailbox_id,
			  uint32_t uid, const struct store_cache *c, bool text);

/* ---- store_index_fts.c: the text index ---- */

/* Rows of mailbox id without a text row (up to limit, UID order). */
int store_index_fts_missing(struct store_index *ix, int64_t mailbox_id,
			    size_t limit, struct store_index_rows *rows);
/* Call cb with the stored texts of the messages of mailbox id whose text
 * row has every trigram of the folded needle (3 characters or more):
 * candidates, which the caller checks for the needle itself. UID order;
 * cb must not use the index. */
int store_index_fts_candidates(struct store_index *ix, int64_t mailbox_id,
			       const char *folded, size_t len,
			       int (*cb)(void *ctx, uint32_t uid, const char *hdr,
					 size_t hdr_len, const char *body,
					 size_t body_len),
			       void *ctx);
/* Call cb with the stored texts of every fully indexed message of mailbox
 * id, UID order; cb must not use the index. */
int store_index_fts_texts(struct store_index *ix, int64_t mailbox_id,
			  int (*cb)(void *ctx, uint32_t uid, const char *hdr,
				    size_t hdr_len, const char *body,
				    size_t body_len),
			  void *ctx);
/* Rows of mailbox id whose text row is partial (over the size limit). */
int store_index_fts_partial(struct store_index *ix, int64_t mailbox_id,
			    struct store_index_rows *rows);
/* Case-fold UTF-8 s[0..len) exactly as the text index does (its trigram
 * tokenizer) into out. */
int store_index_fold(struct store_index *ix, const char *s, size_t len,
		     struct buf *out);

#endif
