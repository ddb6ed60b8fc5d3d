/* store_util: helpers of the IMAP/POP3 calls of the store: one write
 * transaction per call, folder directories by mailbox id, message files
 * found by their index row (and by name when something moved them), undo
 * of file operations when a transaction fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xalloc.h"
#include "store/store_maildir.h"
#include "store/store_private.h"

int store_txn_begin(struct store *st, const char **error_r)
{
	if (st->npending > 0 || store_index_in_txn(&st->ix)) {
		*error_r = "delivery batch open";
		return -1;
	}
	return store_index_begin(&st->ix, error_r);
}

int store_txn_commit(struct store *st, const char **error_r)
{
	return store_index_commit(&st->ix, error_r);
}

static int collect_mailbox(int64_t id, const char *name, uint32_t uidvalidity,
			   void *ctx)
{
	struct store_mailbox_ids *c = ctx;

	(void)name; (void)uidvalidity;
	store_mailbox_ids_add(c, id);
	return 0;
}

void store_mailbox_ids_add(struct store_mailbox_ids *ids, int64_t id)
{
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 16;
		ids->ids = xreallocarray(ids->ids, ids->cap, sizeof(*ids->ids));
	}
	ids->ids[ids->n++] = id;
}

void store_mailbox_ids_free(struct store_mailbox_ids *ids)
{
	free(ids->ids);
	memset(ids, 0, sizeof(*ids));
}

int store_mailbox_ids(struct store *st, struct store_mailbox_ids *out,
		      const char **error_r)
{
	memset(out, 0, sizeof(*out));
	return store_index_mailbox_list(&st->ix, collect_mailbox, out, error_r);
}

int store_folder_of(struct store *st, int64_t id, struct buf *dir,
		    struct buf *name, uint32_t *uidvalidity_r,
		    const char **error_r)
{
	struct buf n = BUF_INIT;
	int ret = store_index_mbox_name(&st->ix, id, &n, uidvalidity_r);

	buf_reset(dir);
	if (ret < 0)
		*error_r = "cannot read index";
	else if (ret == 0)
		*error_r = "no such mailbox";
	else if (store_name_folder_path(dir, st->maildir, buf_cstr(&n)) < 0) {
		*error_r = "invalid mailbox name in index";
		ret = -1;
	} else if (name != NULL) {
		buf_append(name, n.ptr, n.len);
	}
	buf_free(&n);
	return ret;
}

void store_row_path(struct buf *out, const char *dir,
		    const struct store_index_row *r)
{
	if (r->location != NULL)
		buf_printf(out, "%s/%s", dir, r->location);
	else
		buf_printf(out, "%s/new/%s", dir, r->filename);
}

/* Where the row's file is now, when its location is stale: appended to
 * path_r; 0, or -1 with errno ENOENT. */
static int row_find(const char *dir, const struct store_index_row *r,
		    struct buf *loc_r, struct buf *path_r)
{
	if (store_maildir_find(dir, r->filename, loc_r) != 1) {
		errno = ENOENT;
		return -1;
	}
	buf_printf(path_r, "%s/%s", dir, buf_cstr(loc_r));
	return 0;
}

/* Best effort: the index learns where the file is now. */
static void fix_location(struct store *st, int64_t mailbox_id, uint32_t uid,
			 const char *loc)
{
	const char *error;
	bool own = !store_index_in_txn(&st->ix);

	if (own && store_index_begin(&st->ix, &error) < 0)
		return;
	if (store_index_row_set_location(&st->ix, mailbox_id, uid, loc) < 0 && own) {
		store_index_rollback(&st->ix);
		return;
	}
	if (own)
		(void)store_index_commit(&st->ix, &error);
}

int store_row_open(struct store *st, int64_t mailbox_id, const char *dir,
		   const struct store_index_row *r)
{
	struct buf path = BUF_INIT, loc = BUF_INIT;
	int fd, err;

	store_row_path(&path, dir, r);
	fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		buf_reset(&path);
		if (row_find(dir, r, &loc, &path) == 0 &&
		    (fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC)) >= 0)
			fix_location(st, mailbox_id, r->uid, buf_cstr(&loc));
	}
	err = errno;
	buf_free(&path);
	buf_free(&loc);
	errno = err;
	return fd;
}

static int transfer(const char *from, const char *to, bool hardlink)
{
	return hardlink ? link(from, to) : rename(from, to);
}

int store_row_transfer(const char *dir, const struct store_index_row *r,
		       const char *to_path, bool hardlink, struct buf *from_r)
{
	struct buf from = BUF_INIT, loc = BUF_INIT;
	int ret, err;

	store_row_path(&from, dir, r);
	ret = transfer(buf_cstr(&from), to_path, hardlink);
	if (ret < 0 && errno == ENOENT) {
		buf_reset(&from);
		ret = row_find(dir, r, &loc, &from);
		if (ret == 0)
			ret = transfer(buf_cstr(&from), to_path, hardlink);
	}
	err = errno;
	if (ret == 0 && from_r != NULL)
		buf_append(from_r, from.ptr, from.len);
	buf_free(&from);
	buf_free(&loc);
	errno = err;
	return ret;
}

void store_new_base(struct store *st, struct buf *out)
{
	store_name_unique(out, st->host, ++st->counter);
}

void store_undo_add(struct store_undo *u, const char *from, const char *to)
{
	if (u->count == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->v = xrealloc(u->v, u->cap * sizeof(*u->v));
	}
	u->v[u->count].from = from != NULL ? xstrdup(from) : NULL;
	u->v[u->count++].to = xstrdup(to);
}

void store_undo_run(struct store_undo *u)
{
	while (u->count > 0) {
		struct store_undo_op *op = &u->v[--u->count];

		if (op->from != NULL)
			(void)rename(op->to, op->from);
		else
			(void)unlink(op->to);
		free(op->from);
		free(op->to);
	}
}

void store_undo_free(struct store_undo *u)
{
	for (size_t i = 0; i < u->count; i++) {
		free(u->v[i].from);
		free(u->v[i].to);
	}
	free(u->v);
	memset(u, 0, sizeof(*u));
}

void store_uids_add(struct store_uids *u, uint32_t uid)
{
	if (u->count == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->v = xrealloc(u->v, u->cap * sizeof(*u->v));
	}
	u->v[u->count++] = uid;
}

void store_uids_report(struct store_uids *u, int (*cb)(void *ctx, uint32_t uid),
		       void *ctx)
{
	for (size_t i = 0; cb != NULL && i < u->count; i++)
		if (cb(ctx, u->v[i]) != 0)
			break;
	free(u->v);
	memset(u, 0, sizeof(*u));
}

int store_rows_report(const struct store_index_rows *rows, size_t from,
		      store_msg_cb *cb, void *ctx)
{
	for (size_t i = from; cb != NULL && i < rows->count; i++) {
		const struct store_index_row *r = &rows->v[i];
		struct store_msg m = {
			.uid = r->uid, .flags = r->flags,
			.keywords = r->keywords != NULL && r->keywords[0] != '\0' ?
				    r->keywords : NULL,
			.modseq = r->modseq, .size = r->size,
			.internaldate = r->internaldate, .savedate = r->savedate,
		};

		if (cb(ctx, &m) != 0)
			return 1;
	}
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void store_rows_add(struct store_index_rows *rows, const struct store_index_row *r)
{
	struct store_index_row *c;

	if (rows->count == rows->cap) {
		rows->cap = rows->cap ? rows->cap * 2 : 64;
		rows->v = xrealloc(rows->v, rows->cap * sizeof(*rows->v));
	}
	c = &rows->v[rows->count++];
	*c = *r;
	c->keywords = dup_or_null(r->keywords);
	c->filename = dup_or_null(r->filename);
	c->location = dup_or_null(r->location);
	c->key = dup_or_null(r->key);
}

uint64_t store_change_counter(struct store *st)
{
	return store_index_change_counter(&st->ix);
}
