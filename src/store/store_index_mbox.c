/* store_index_mbox: mailbox rows for IMAP (LIST, STATUS, CREATE, DELETE,
 * RENAME), the subscription list (RFC 3501 §6.3.6: names, not mailboxes,
 * so they may name none) and the keywords defined per mailbox. */
#include <stdlib.h>

#include "lib/xalloc.h"
#include "store/store_index_int.h"

/* has_children: a name between "name." and "name/" ('/' follows '.'). */
#define Q_MBOX_LIST                                                         \
	"SELECT id, name, special_use, uidvalidity,"                        \
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = b.name),"    \
	" EXISTS (SELECT 1 FROM mailboxes c WHERE c.name > b.name || '.'"   \
	" AND c.name < b.name || '/')"                                      \
	" FROM mailboxes b ORDER BY name <> 'INBOX', name"
#define Q_MBOX_STATE                                                        \
	"SELECT b.uidvalidity, b.uidnext, b.highestmodseq, b.special_use,"  \
	" COUNT(m.uid), COALESCE(SUM((m.flags & 1) = 0), 0),"               \
	" COALESCE(SUM(m.size), 0), COALESCE(SUM((m.flags & 8) <> 0), 0),"  \
	" MIN(CASE WHEN (m.flags & 1) = 0 THEN m.uid END)"                  \
	" FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id"     \
	" WHERE b.id = ?1 GROUP BY b.id"
#define Q_MBOX_CHILDREN                                                     \
	"SELECT id, name FROM mailboxes WHERE name > ?1 || '.'"             \
	" AND name < ?1 || '/' ORDER BY name"
#define Q_MBOX_FTS_IDS                                                      \
	"SELECT DISTINCT fts_id FROM messages WHERE mailbox_id = ?1"        \
	" AND fts_id IS NOT NULL"
#define Q_MBOX_DELETE_CACHE                                                 \
	"DELETE FROM msg_cache WHERE id IN (SELECT cache_id FROM messages"  \
	" WHERE mailbox_id = ?1 AND cache_id IS NOT NULL)"

/* Mailboxes read before the callbacks run, so that they may use the
 * index. */
struct mbox_set {
	struct store_index_mbox *v;
	size_t count, cap;
};

static void mbox_set_add(struct mbox_set *set, sqlite3_stmt *s)
{
	struct store_index_mbox *mb;

	if (set->count == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 16;
		set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
	}
	mb = &set->v[set->count++];
	mb->id = sqlite3_column_int64(s, 0);
	mb->name = store_index_column_dup(s, 1);
	mb->special_use =
		store_index_special_use((const char *)sqlite3_column_text(s, 2));
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(s, 3);
	mb->subscribed = sqlite3_column_int(s, 4) != 0;
	mb->has_children = sqlite3_column_int(s, 5) != 0;
}

int store_index_mbox_list(struct store_index *ix,
			  int (*cb)(void *ctx, const struct store_index_mbox *mb),
			  void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_MBOX_LIST, Q_MBOX_LIST);
	struct mbox_set set = { NULL, 0, 0 };
	int rc = 0;

	if (s == NULL)
		return -1;
	while ((rc = store_index_step_row(ix, s)) == 1)
		mbox_set_add(&set, s);
	sqlite3_reset(s);
	for (size_t i = 0; rc == 0 && i < set.count; i++)
		if (cb(ctx, &set.v[i]) != 0)
			break;
	for (size_t i = 0; i < set.count; i++)
		free((char *)set.v[i].name);
	free(set.v);
	return rc < 0 ? -1 : 0;
}

int store_index_mbox_name(struct store_index *ix, int64_t id, struct buf *out,
			  uint32_t *uidvalidity_r)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_MBOX_NAME,
		"SELECT name, uidvalidity FROM mailboxes WHERE id = ?1");
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	ret = store_index_step_row(ix, s);
	if (ret == 1) {
		if (out != NULL)
			buf_appends(out, (const char *)sqlite3_column_text(s, 0));
		if (uidvalidity_r != NULL)
			*uidvalidity_r = (uint32_t)sqlite3_column_int64(s, 1);
		sqlite3_reset(s);
	}
	return ret;
}

int store_index_mbox_state(struct store_index *ix, int64_t id,
			   struct store_index_state *st)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_MBOX_STATE, Q_MBOX_STATE);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	ret = store_index_step_row(ix, s);
	if (ret != 1)
		return ret;
	st->uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
	st->uidnext = (uint32_t)sqlite3_column_int64(s, 1);
	st->highestmodseq = (uint64_t)sqlite3_column_int64(s, 2);
	st->special_use =
		store_index_special_use((const char *)sqlite3_column_text(s, 3));
	st->messages = (uint64_t)sqlite3_column_int64(s, 4);
	st->unseen = (uint64_t)sqlite3_column_int64(s, 5);
	st->size = (uint64_t)sqlite3_column_int64(s, 6);
	st->deleted = (uint64_t)sqlite3_column_int64(s, 7);
	st->first_unseen_uid = (uint32_t)sqlite3_column_int64(s, 8);
	sqlite3_reset(s);
	return 1;
}

int store_index_mbox_children(struct store_index *ix, const char *name,
			      void (*cb)(void *ctx, int64_t id, const char *child),
			      void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_MBOX_CHILDREN,
					      Q_MBOX_CHILDREN);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	while ((rc = store_index_step_row(ix, s)) == 1)
		cb(ctx, sqlite3_column_int64(s, 0),
		   (const char *)sqlite3_column_text(s, 1));
	sqlite3_reset(s);
	return rc < 0 ? -1 : 0;
}

int store_index_mbox_rename(struct store_index *ix, int64_t id, const char *to)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_MBOX_RENAME,
		"UPDATE mailboxes SET name = ?2 WHERE id = ?1");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, to, -1, SQLITE_STATIC);
	return store_index_step_done(ix, s);
}

int store_index_mbox_delete(struct store_index *ix, int64_t id)
{
	sqlite3_stmt *fts = store_index_prepare(ix, SIX_MBOX_FTS_IDS,
						Q_MBOX_FTS_IDS);
	sqlite3_stmt *cache = store_index_prepare(ix, SIX_MBOX_DELETE_CACHE,
						  Q_MBOX_DELETE_CACHE);
	sqlite3_stmt *del = store_index_prepare(ix, SIX_MBOX_DELETE,
		"DELETE FROM mailboxes WHERE id = ?1");
	int64_t *texts = NULL;
	size_t ntexts = 0;
	int ret, rc;

	if (fts == NULL || cache == NULL || del == NULL)
		return -1;
	/* the text rows go after the messages, unless copies elsewhere keep
	 * them */
	sqlite3_bind_int64(fts, 1, id);
	while ((rc = store_index_step_row(ix, fts)) == 1) {
		texts = xrealloc(texts, (ntexts + 1) * sizeof(*texts));
		texts[ntexts++] = sqlite3_column_int64(fts, 0);
	}
	sqlite3_bind_int64(cache, 1, id);
	ret = rc < 0 || store_index_step_done(ix, cache) < 0 ? -1 : 0;
	/* messages, expunged and keywords go by ON DELETE CASCADE */
	sqlite3_bind_int64(del, 1, id);
	if (ret == 0)
		ret = store_index_step_done(ix, del);
	for (size_t i = 0; ret == 0 && i < ntexts; i++)
		ret = store_index_fts_release(ix, texts[i]);
	free(texts);
	return ret;
}

/* Step s (bound) and hand each first-column text to cb. */
static int each_text(struct store_index *ix, sqlite3_stmt *s,
		     int (*cb)(void *ctx, const char *text), void *ctx)
{
	char **v = NULL;
	size_t n = 0;
	int rc;

	while ((rc = store_index_step_row(ix, s)) == 1) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = store_index_column_dup(s, 0);
	}
	sqlite3_reset(s);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (cb(ctx, v[i]) != 0)
			break;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc < 0 ? -1 : 0;
}

int store_index_subs_list(struct store_index *ix,
			  int (*cb)(void *ctx, const char *name), void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_SUBS_LIST,
		"SELECT name FROM subscriptions ORDER BY name <> 'INBOX', name");

	return s == NULL ? -1 : each_text(ix, s, cb, ctx);
}

int store_index_subs_set(struct store_index *ix, const char *name, bool on)
{
	sqlite3_stmt *s = on ?
		store_index_prepare(ix, SIX_SUBS_ADD,
			"INSERT OR IGNORE INTO subscriptions VALUES (?1)") :
		store_index_prepare(ix, SIX_SUBS_DEL,
			"DELETE FROM subscriptions WHERE name = ?1");

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return store_index_step_done(ix, s);
}

int store_index_subs_rename(struct store_index *ix, const char *from,
			    const char *to)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_SUBS_RENAME,
		"UPDATE OR REPLACE subscriptions SET name = ?2 WHERE name = ?1");

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, to, -1, SQLITE_STATIC);
	return store_index_step_done(ix, s);
}

int store_index_kw_list(struct store_index *ix, int64_t id,
			int (*cb)(void *ctx, const char *kw), void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_KW_LIST,
		"SELECT name FROM keywords WHERE mailbox_id = ?1 ORDER BY id");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return each_text(ix, s, cb, ctx);
}

int store_index_kw_add(struct store_index *ix, int64_t id, const char *kw)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_KW_ADD,
		"INSERT OR IGNORE INTO keywords(mailbox_id, name) VALUES (?1, ?2)");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, kw, -1, SQLITE_STATIC);
	return store_index_step_done(ix, s);
}
