/* store_msg: reading messages for IMAP and POP3: lists by UID, changes by
 * MODSEQ (RFC 7162 CONDSTORE/QRESYNC: VANISHED comes from expunged), the
 * message files and the cached ENVELOPE/BODY/BODYSTRUCTURE (computed on
 * first use for rows that lack them: indexes of older versions, files
 * found by reconciliation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_cache.h"
#include "store/store_private.h"

/* Read [uid_min, ...) with modseq > since chunk by chunk, reporting each
 * chunk before the next is read. */
static int list_rows(struct store *st, int64_t mailbox_id, uint32_t uid_min,
		     uint64_t since, store_msg_cb *cb, void *ctx,
		     const char **error_r)
{
	struct store_index_rows rows = { NULL, 0, 0 };
	bool more = true, stop = false;

	while (more && !stop) {
		if (store_index_row_range(&st->ix, mailbox_id, uid_min, since,
					  STORE_LIST_CHUNK, &rows) < 0) {
			store_index_rows_free(&rows);
			*error_r = "cannot read index";
			return -1;
		}
		more = rows.count == STORE_LIST_CHUNK &&
		       rows.v[rows.count - 1].uid < UINT32_MAX;
		if (rows.count > 0)
			uid_min = rows.v[rows.count - 1].uid + 1;
		stop = store_rows_report(&rows, 0, cb, ctx) != 0;
		store_index_rows_free(&rows);
	}
	return 0;
}

int store_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_min,
		   store_msg_cb *cb, void *ctx, const char **error_r)
{
	return list_rows(st, mailbox_id, uid_min, 0, cb, ctx, error_r);
}

int store_msg_uids(struct store *st, int64_t mailbox_id,
		   int (*cb)(void *ctx, uint32_t uid), void *ctx,
		   const char **error_r)
{
	if (store_index_uid_list(&st->ix, mailbox_id, cb, ctx) < 0) {
		*error_r = "cannot read index";
		return -1;
	}
	return 0;
}

/* Rows of uids[i..j] (ascending, consecutive: one range query) added. */
static int get_run(struct store *st, int64_t mailbox_id, uint32_t first,
		   uint32_t last, struct store_index_rows *rows)
{
	struct store_index_rows run = { NULL, 0, 0 };
	int ret = store_index_row_range(&st->ix, mailbox_id, first, 0,
					(size_t)(last - first) + 1, &run);

	for (size_t k = 0; ret == 0 && k < run.count; k++)
		if (run.v[k].uid <= last)
			store_rows_add(rows, &run.v[k]);
	store_index_rows_free(&run);
	return ret;
}

int store_msg_get(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		  size_t n, store_msg_cb *cb, void *ctx, const char **error_r)
{
	struct store_index_rows rows = { NULL, 0, 0 };
	int ret = 0;
	size_t i = 0;

	while (ret == 0 && i < n) {
		/* a run of consecutive UIDs, at most STORE_LIST_CHUNK long */
		size_t j = i;
		while (j + 1 < n && j + 1 - i < STORE_LIST_CHUNK &&
		       uids[j + 1] == uids[j] + 1)
			j++;
		if (get_run(st, mailbox_id, uids[i], uids[j], &rows) < 0) {
			*error_r = "cannot read index";
			ret = -1;
			break;
		}
		i = j + 1;
		if (rows.count >= STORE_LIST_CHUNK || i == n) {
			if (store_rows_report(&rows, 0, cb, ctx) != 0)
				break;
			store_index_rows_free(&rows);
		}
	}
	store_index_rows_free(&rows);
	return ret;
}

static int list_expunged(struct store *st, int64_t mailbox_id, uint64_t since,
			 int (*cb)(void *ctx, uint32_t uid), void *ctx,
			 const char **error_r)
{
	uint32_t uids[STORE_LIST_CHUNK], uid_min = 1;
	size_t n = STORE_LIST_CHUNK;

	while (n == STORE_LIST_CHUNK) {
		if (store_index_expunged_range(&st->ix, mailbox_id, uid_min, since,
					       STORE_LIST_CHUNK, uids, &n) < 0) {
			*error_r = "cannot read index";
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (cb(ctx, uids[i]) != 0)
				return 0;
		if (n == 0 || uids[n - 1] == UINT32_MAX)
			break;
		uid_min = uids[n - 1] + 1;
	}
	return 0;
}

int store_changes(struct store *st, int64_t mailbox_id, uint64_t since,
		  store_msg_cb *cb, int (*expunged_cb)(void *ctx, uint32_t uid),
		  void *ctx, const char **error_r)
{
	if (list_rows(st, mailbox_id, 1, since, cb, ctx, error_r) < 0)
		return -1;
	if (expunged_cb == NULL)
		return 0;
	return list_expunged(st, mailbox_id, since, expunged_cb, ctx, error_r);
}

/* The row and folder of a message: 1, 0 gone, -1 error. */
static int msg_find(struct store *st, int64_t mailbox_id, uint32_t uid,
		    struct store_index_row *r, struct buf *dir,
		    const char **error_r)
{
	int ret = store_index_row_get(&st->ix, mailbox_id, uid, r);

	if (ret < 0)
		*error_r = "cannot read index";
	if (ret == 1) {
		ret = store_folder_of(st, mailbox_id, dir, NULL, NULL, error_r);
		if (ret == 0)
			store_index_row_free(r);
	}
	return ret;
}

int store_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid,
		   int *fd_r, uint64_t *size_r, const char **error_r)
{
	struct store_index_row r;
	struct buf dir = BUF_INIT;
	struct stat sb;
	int ret = msg_find(st, mailbox_id, uid, &r, &dir, error_r);

	*fd_r = -1;
	if (ret == 1) {
		*fd_r = store_row_open(st, mailbox_id, buf_cstr(&dir), &r);
		if (*fd_r < 0 && errno == ENOENT) {
			ret = 0;	/* expunged meanwhile */
		} else if (*fd_r < 0 || fstat(*fd_r, &sb) < 0) {
			log_error("event=store op=open uid=%u error=%s", uid,
				  strerror(errno));
			*error_r = "cannot open message file";
			ret = -1;
		} else {
			*size_r = (uint64_t)sb.st_size;
		}
		store_index_row_free(&r);
	}
	if (ret != 1 && *fd_r >= 0) {
		close(*fd_r);
		*fd_r = -1;
	}
	buf_free(&dir);
	return ret;
}

int store_msg_compute(struct store *st, int64_t mailbox_id, const char *dir,
		      const struct store_index_row *r, struct store_cache *c,
		      bool structure, size_t text_max, const char **error_r)
{
	int fd = store_row_open(st, mailbox_id, dir, r), ret;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		*error_r = "cannot open message file";
		return -1;
	}
	ret = store_cache_fd(c, fd, STORE_CACHE_TEXT |
			     (structure ? STORE_CACHE_STRUCTURE : 0), text_max, error_r);
	close(fd);
	return ret < 0 ? -1 : 1;
}

/* Save what was computed; a busy index only means it is computed again
 * next time. */
static void cache_save(struct store *st, int64_t mailbox_id, uint32_t uid,
		       const struct store_cache *c, bool text)
{
	const char *error;

	if (store_txn_begin(st, &error) < 0)
		return;
	if (store_index_cache_set(&st->ix, mailbox_id, uid, c, text) < 0)
		store_index_rollback(&st->ix);
	else
		(void)store_txn_commit(st, &error);
}

static int cache_compute(struct store *st, int64_t mailbox_id, uint32_t uid,
			 struct buf *envelope, struct buf *body,
			 struct buf *bodystructure, const char **error_r)
{
	struct store_index_row r;
	struct store_cache c;
	struct buf dir = BUF_INIT;
	int ret = msg_find(st, mailbox_id, uid, &r, &dir, error_r);

	if (ret != 1) {
		buf_free(&dir);
		return ret;
	}
	store_cache_init(&c);
	ret = store_msg_compute(st, mailbox_id, buf_cstr(&dir), &r, &c, true,
				STORE_FTS_TEXT_MAX, error_r);
	if (ret == 1) {
		cache_save(st, mailbox_id, uid, &c, r.fts_id == 0);
		if (envelope != NULL)
			buf_append(envelope, c.envelope.ptr, c.envelope.len);
		if (body != NULL)
			buf_append(body, c.body.ptr, c.body.len);
		if (bodystructure != NULL)
			buf_append(bodystructure, c.bodystructure.ptr, c.bodystructure.len);
	}
	store_cache_free(&c);
	store_index_row_free(&r);
	buf_free(&dir);
	return ret;
}

int store_msg_cached(struct store *st, int64_t mailbox_id, uint32_t uid,
		     struct buf *envelope, struct buf *body,
		     struct buf *bodystructure, const char **error_r)
{
	int ret = store_index_cache_get(&st->ix, mailbox_id, uid, envelope, body,
					bodystructure);

	if (ret < 0)
		*error_r = "cannot read index";
	if (ret != 0)
		return ret;
	return cache_compute(st, mailbox_id, uid, envelope, body, bodystructure,
			     error_r);
}

/* --- cached values of many messages --- */

struct cached_range {
	struct store *st;
	int64_t mailbox_id;
	store_cached_cb *cb;
	void *ctx;
	const char *error;
	int ret;
};

static int cached_row(void *ctx, uint32_t uid, const char *envelope,
		      const char *body, const char *bodystructure)
{
	struct cached_range *c = ctx;
	struct buf e = BUF_INIT, b = BUF_INIT, bs = BUF_INIT;
	int r;

	if (envelope != NULL && body != NULL && bodystructure != NULL)
		return c->cb(c->ctx, uid, envelope, body, bodystructure);
	/* an older row: computed now, and saved */
	r = cache_compute(c->st, c->mailbox_id, uid, &e, &b, &bs, &c->error);
	if (r == 1)
		r = c->cb(c->ctx, uid, buf_cstr(&e), buf_cstr(&b), buf_cstr(&bs));
	else
		r = 0;	/* gone meanwhile, or unreadable: skipped */
	buf_free(&e);
	buf_free(&b);
	buf_free(&bs);
	return r;
}

int store_msg_cached_range(struct store *st, int64_t mailbox_id, uint32_t first,
			   uint32_t last, store_cached_cb *cb, void *ctx,
			   const char **error_r)
{
	struct cached_range c = { st, mailbox_id, cb, ctx, NULL, 0 };

	if (store_index_cache_range(&st->ix, mailbox_id, first, last, cached_row,
				    &c) < 0) {
		*error_r = "cannot read index";
		return -1;
	}
	return 0;
}
