/* store_index_msg: message rows for IMAP and POP3: ranges by UID and
 * MODSEQ (RFC 7162 CHANGEDSINCE and QRESYNC), flag updates, copies and
 * moves (RFC 4315, RFC 6851), the cached structure values. */
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "store/store_cache.h"
#include "store/store_index_int.h"

#define Q_ROW_GET                                                           \
	"SELECT " ROW_COLS " FROM messages WHERE mailbox_id = ?1 AND uid = ?2"
#define Q_ROW_RANGE                                                         \
	"SELECT " ROW_COLS " FROM messages WHERE mailbox_id = ?1"           \
	" AND uid >= ?2 AND modseq > ?3 ORDER BY uid LIMIT ?4"
#define Q_UID_LIST                                                          \
	"SELECT uid FROM messages WHERE mailbox_id = ?1 ORDER BY uid"
#define Q_EXPUNGED_RANGE                                                    \
	"SELECT uid FROM expunged WHERE mailbox_id = ?1 AND uid >= ?2"      \
	" AND modseq > ?3 ORDER BY uid LIMIT ?4"
#define Q_ROW_SET_FLAGS                                                     \
	"UPDATE messages SET flags = ?3, keywords = ?4,"                    \
	" rename_due = rename_due OR ?5, modseq = ?6"                       \
	" WHERE mailbox_id = ?1 AND uid = ?2"
#define Q_RENAME_DUE                                                        \
	"SELECT " ROW_COLS " FROM messages WHERE mailbox_id = ?1"           \
	" AND rename_due ORDER BY uid LIMIT ?2"
#define Q_RENAME_MAILBOXES                                                  \
	"SELECT DISTINCT mailbox_id FROM messages WHERE rename_due"
#define Q_RENAME_DONE                                                       \
	"UPDATE messages SET rename_due = 0, location = COALESCE(?3, location)" \
	" WHERE mailbox_id = ?1 AND uid = ?2"
#define Q_ROW_SET_LOCATION                                                  \
	"UPDATE messages SET location = ?3 WHERE mailbox_id = ?1 AND uid = ?2"
#define Q_ROW_COPY                                                          \
	"INSERT INTO messages(mailbox_id, uid, filename, size, internaldate," \
	" flags, keywords, modseq, delivery_key, savedate, location,"       \
	" cache_id, fts_id, fts_full)"                                      \
	" SELECT ?1, ?2, ?3, size, internaldate, flags, ?4, ?5, NULL,"      \
	" ?6, ?7, ?10, ?8, fts_full FROM messages WHERE rowid = ?9"
#define Q_CACHE_COPY                                                        \
	"INSERT INTO msg_cache(envelope, body, bodystructure)"              \
	" SELECT envelope, body, bodystructure FROM msg_cache WHERE id = ?1"
#define Q_ROW_MOVE                                                          \
	"UPDATE messages SET mailbox_id = ?2, uid = ?3, modseq = ?4,"       \
	" filename = ?5, location = ?6, keywords = ?7, savedate = ?8,"      \
	" delivery_key = NULL WHERE rowid = ?1"
#define Q_CACHE_GET                                                         \
	"SELECT c.envelope, c.body, c.bodystructure FROM messages m"        \
	" JOIN msg_cache c ON c.id = m.cache_id"                            \
	" WHERE m.mailbox_id = ?1 AND m.uid = ?2"
#define Q_CACHE_RANGE                                                       \
	"SELECT m.uid, c.envelope, c.body, c.bodystructure FROM messages m" \
	" LEFT JOIN msg_cache c ON c.id = m.cache_id"                       \
	" WHERE m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid"
#define Q_CACHE_LINK                                                        \
	"UPDATE messages SET cache_id = ?3 WHERE mailbox_id = ?1 AND uid = ?2"
#define Q_ROW_SET_FTS                                                       \
	"UPDATE messages SET fts_id = ?3, fts_full = ?4"                    \
	" WHERE mailbox_id = ?1 AND uid = ?2"

void store_index_row_free(struct store_index_row *r)
{
	free(r->keywords);
	free(r->filename);
	free(r->location);
	free(r->key);
	memset(r, 0, sizeof(*r));
}

void store_index_rows_free(struct store_index_rows *rows)
{
	for (size_t i = 0; i < rows->count; i++)
		store_index_row_free(&rows->v[i]);
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

/* Read the ROW_COLS of the current row of s. */
static void row_read(sqlite3_stmt *s, struct store_index_row *r)
{
	r->rowid = sqlite3_column_int64(s, 0);
	r->uid = (uint32_t)sqlite3_column_int64(s, 1);
	r->flags = (unsigned)sqlite3_column_int64(s, 2);
	r->keywords = store_index_column_dup(s, 3);
	r->modseq = (uint64_t)sqlite3_column_int64(s, 4);
	r->size = (uint64_t)sqlite3_column_int64(s, 5);
	r->internaldate = sqlite3_column_int64(s, 6);
	r->savedate = sqlite3_column_int64(s, 7);
	r->filename = store_index_column_dup(s, 8);
	r->location = store_index_column_dup(s, 9);
	r->key = store_index_column_dup(s, 10);
	r->cache_id = sqlite3_column_int64(s, 11);
	r->cached = r->cache_id > 0;
	r->fts_id = sqlite3_column_int64(s, 12);
	r->fts_full = sqlite3_column_int(s, 13) != 0;
}

int store_index_rows_read(struct store_index *ix, sqlite3_stmt *s,
			  struct store_index_rows *rows)
{
	int rc;

	while ((rc = store_index_step_row(ix, s)) == 1) {
		if (rows->count == rows->cap) {
			rows->cap = rows->cap ? rows->cap * 2 : 64;
			rows->v = xrealloc(rows->v, rows->cap * sizeof(*rows->v));
		}
		row_read(s, &rows->v[rows->count++]);
	}
	return rc;
}

int store_index_row_get(struct store_index *ix, int64_t mailbox_id,
			uint32_t uid, struct store_index_row *r)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_GET, Q_ROW_GET);
	int ret;

	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	ret = store_index_step_row(ix, s);
	if (ret == 1) {
		row_read(s, r);
		sqlite3_reset(s);
	}
	return ret;
}

int store_index_row_range(struct store_index *ix, int64_t mailbox_id,
			  uint32_t uid_min, uint64_t since, size_t limit,
			  struct store_index_rows *rows)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_RANGE, Q_ROW_RANGE);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid_min);
	sqlite3_bind_int64(s, 3, (int64_t)since);
	sqlite3_bind_int64(s, 4, (int64_t)limit);
	return store_index_rows_read(ix, s, rows) < 0 ? -1 : 0;
}

int store_index_uid_list(struct store_index *ix, int64_t mailbox_id,
			 int (*cb)(void *ctx, uint32_t uid), void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_UID_LIST, Q_UID_LIST);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	while ((rc = store_index_step_row(ix, s)) == 1)
		if (cb(ctx, (uint32_t)sqlite3_column_int64(s, 0)) != 0)
			break;
	sqlite3_reset(s);
	return rc < 0 ? -1 : 0;
}

int store_index_expunged_range(struct store_index *ix, int64_t mailbox_id,
			       uint32_t uid_min, uint64_t since, size_t limit,
			       uint32_t *uids, size_t *n_r)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_EXPUNGED_RANGE,
					      Q_EXPUNGED_RANGE);
	int rc = 0;

	*n_r = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid_min);
	sqlite3_bind_int64(s, 3, (int64_t)since);
	sqlite3_bind_int64(s, 4, (int64_t)limit);
	while (*n_r < limit && (rc = store_index_step_row(ix, s)) == 1)
		uids[(*n_r)++] = (uint32_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc < 0 ? -1 : 0;
}

int store_index_row_set_flags(struct store_index *ix, int64_t mailbox_id,
			      const struct store_index_row *r, unsigned flags,
			      const char *keywords, bool rename_due,
			      uint64_t *modseq_r)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_SET_FLAGS,
					      Q_ROW_SET_FLAGS);
	/* *modseq_r != 0: the command's MODSEQ, already taken (RFC 7162
	 * §3.1.3 lets one command give all its changes the same one) */
	int64_t modseq = *modseq_r != 0 ? (int64_t)*modseq_r :
		store_index_bump_modseq(ix, mailbox_id);

	if (s == NULL || modseq < 0)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, r->uid);
	sqlite3_bind_int64(s, 3, flags);
	store_index_bind_str(s, 4, keywords);
	sqlite3_bind_int(s, 5, rename_due);
	sqlite3_bind_int64(s, 6, modseq);
	*modseq_r = (uint64_t)modseq;
	return store_index_step_done(ix, s);
}

int store_index_row_set_location(struct store_index *ix, int64_t mailbox_id,
				 uint32_t uid, const char *location)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_SET_LOCATION,
					      Q_ROW_SET_LOCATION);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	store_index_bind_str(s, 3, location);
	return store_index_step_done(ix, s);
}

int store_index_rename_due(struct store_index *ix, int64_t mailbox_id,
			   size_t limit, struct store_index_rows *rows)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_RENAME_DUE, Q_RENAME_DUE);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, (int64_t)limit);
	return store_index_rows_read(ix, s, rows);
}

int store_index_rename_mailboxes(struct store_index *ix,
				 void (*cb)(int64_t mailbox_id, void *ctx),
				 void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_RENAME_MAILBOXES,
					      Q_RENAME_MAILBOXES);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = store_index_step_row(ix, s)) == 1)
		cb(sqlite3_column_int64(s, 0), ctx);
	sqlite3_reset(s);
	return rc < 0 ? -1 : 0;
}

int store_index_rename_done(struct store_index *ix, int64_t mailbox_id,
			    uint32_t uid, const char *location)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_RENAME_DONE, Q_RENAME_DONE);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	store_index_bind_str(s, 3, location);
	return store_index_step_done(ix, s);
}

/* A copy of row id made by statement which (sql, binding ?1 to id): the
 * new id, 0 if there was none, -1. */
static int64_t side_copy(struct store_index *ix, enum store_index_stmt which,
			 const char *sql, int64_t id)
{
	sqlite3_stmt *s = store_index_prepare(ix, which, sql);

	if (id <= 0)
		return 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (store_index_step_done(ix, s) < 0)
		return -1;
	return sqlite3_changes(ix->db) == 1 ? sqlite3_last_insert_rowid(ix->db) : 0;
}

static void bind_id(sqlite3_stmt *s, int col, int64_t id)
{
	if (id > 0)
		sqlite3_bind_int64(s, col, id);
	else
		sqlite3_bind_null(s, col);
}

int store_index_row_copy(struct store_index *ix, const struct store_index_row *r,
			 const struct store_index_msg *dst, uint32_t *uid_r)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_COPY, Q_ROW_COPY);
	int64_t modseq, cache_id;

	/* the text row is shared (store_index_fts_release), the cache row
	 * copied */
	if (s == NULL || store_index_next_uid(ix, dst->mailbox_id, uid_r, &modseq) < 0 ||
	    (cache_id = side_copy(ix, SIX_CACHE_COPY, Q_CACHE_COPY,
				  r->cache_id)) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, dst->mailbox_id);
	sqlite3_bind_int64(s, 2, *uid_r);
	sqlite3_bind_text(s, 3, dst->filename, -1, SQLITE_STATIC);
	store_index_bind_str(s, 4, dst->keywords);
	sqlite3_bind_int64(s, 5, modseq);
	sqlite3_bind_int64(s, 6, dst->savedate);
	store_index_bind_str(s, 7, dst->location);
	bind_id(s, 8, r->fts_id);
	sqlite3_bind_int64(s, 9, r->rowid);
	bind_id(s, 10, cache_id);
	return store_index_step_done(ix, s);
}

int store_index_row_move(struct store_index *ix, int64_t src_id,
			 const struct store_index_row *r,
			 const struct store_index_msg *dst, uint32_t *uid_r)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_MOVE, Q_ROW_MOVE);
	int64_t modseq, src_modseq = store_index_bump_modseq(ix, src_id);

	/* RFC 6851 §3.3: an expunge in the source (the delivery key goes to
	 * expunged with it), a new message in the destination */
	if (s == NULL || src_modseq < 0 ||
	    store_index_next_uid(ix, dst->mailbox_id, uid_r, &modseq) < 0 ||
	    store_index_expunged_add(ix, src_id, r->uid, src_modseq, r->key) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, r->rowid);
	sqlite3_bind_int64(s, 2, dst->mailbox_id);
	sqlite3_bind_int64(s, 3, *uid_r);
	sqlite3_bind_int64(s, 4, modseq);
	sqlite3_bind_text(s, 5, dst->filename, -1, SQLITE_STATIC);
	store_index_bind_str(s, 6, dst->location);
	store_index_bind_str(s, 7, dst->keywords);
	sqlite3_bind_int64(s, 8, dst->savedate);
	return store_index_step_done(ix, s);
}

static bool column_to(sqlite3_stmt *s, int col, struct buf *out)
{
	const unsigned char *v = sqlite3_column_text(s, col);

	if (out != NULL && v != NULL)
		buf_append(out, v, (size_t)sqlite3_column_bytes(s, col));
	return v != NULL || out == NULL;
}

int store_index_cache_get(struct store_index *ix, int64_t mailbox_id,
			  uint32_t uid, struct buf *envelope, struct buf *body,
			  struct buf *bodystructure)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_CACHE_GET, Q_CACHE_GET);
	int ret;
	bool all;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	ret = store_index_step_row(ix, s);
	if (ret != 1)
		return ret;
	/* all or nothing: they are saved together */
	all = sqlite3_column_type(s, 0) != SQLITE_NULL &&
	      sqlite3_column_type(s, 1) != SQLITE_NULL &&
	      sqlite3_column_type(s, 2) != SQLITE_NULL;
	if (all) {
		column_to(s, 0, envelope);
		column_to(s, 1, body);
		column_to(s, 2, bodystructure);
	}
	sqlite3_reset(s);
	return all ? 1 : 0;
}

int store_index_cache_range(struct store_index *ix, int64_t mailbox_id,
			    uint32_t first, uint32_t last,
			    store_index_cache_cb *cb, void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_CACHE_RANGE, Q_CACHE_RANGE);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, first);
	sqlite3_bind_int64(s, 3, last);
	while ((rc = store_index_step_row(ix, s)) == 1) {
		const char *v[3];
		for (int i = 0; i < 3; i++)
			v[i] = (const char *)sqlite3_column_text(s, i + 1);
		if (cb(ctx, (uint32_t)sqlite3_column_int64(s, 0), v[0], v[1],
		       v[2]) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc < 0 ? -1 : 0;
}

/* The row had no cache row: it gets one. */
static int set_structure(struct store_index *ix, int64_t mailbox_id,
			 uint32_t uid, const struct store_cache *c)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_CACHE_LINK, Q_CACHE_LINK);
	int64_t id;

	if (s == NULL || (id = store_index_cache_add(ix, c)) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, id);
	return store_index_step_done(ix, s);
}

static int set_text(struct store_index *ix, int64_t mailbox_id, uint32_t uid,
		    const struct store_cache *c)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_ROW_SET_FTS, Q_ROW_SET_FTS);
	int64_t fts_id;

	if (s == NULL || (fts_id = store_index_fts_add(ix, c)) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, fts_id);
	sqlite3_bind_int(s, 4, c->text_full);
	return store_index_step_done(ix, s);
}

int store_index_cache_set(struct store_index *ix, int64_t mailbox_id,
			  uint32_t uid, const struct store_cache *c, bool text)
{
	struct store_index_row r;
	int ret = store_index_row_get(ix, mailbox_id, uid, &r);

	if (ret == 1 && !r.cached && c->has_structure &&
	    set_structure(ix, mailbox_id, uid, c) < 0)
		ret = -1;
	if (ret == 1 && text && c->has_text && r.fts_id == 0 &&
	    set_text(ix, mailbox_id, uid, c) < 0)
		ret = -1;
	store_index_row_free(&r);
	return ret;
}
