/* store_copy: COPY and MOVE (RFC 3501 §6.4.7, RFC 4315 COPYUID, RFC 6851)
 * and EXPUNGE (RFC 3501 §6.4.3, RFC 4315 UID EXPUNGE).
 *
 * Order, as for delivery (DESIGN §5): files first, made durable (an fsync
 * of each directory touched), then the index commit. A copy is a hard
 * link under a new name in the destination's cur/ (a byte copy when
 * linking fails), a move a rename; an expunge unlinks before it commits.
 * So after a crash before the commit, reconciliation sees exactly what
 * happened to the files: a moved file is adopted by its new mailbox and
 * expunged from the old one, an unlinked file's row is expunged, a copy
 * is adopted. When the commit fails, the file operations are undone
 * (except unlinks: those rows are expunged at the next open). The new
 * name is keyless, so that several copies of one delivery can coexist. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "store/store_maildir.h"
#include "store/store_private.h"

/* One COPY or MOVE inside its transaction. */
struct copy_op {
	struct store *st;
	int64_t src_id, dst_id;
	bool move;
	struct buf src_dir, dst_dir;
	struct store_kwset kw;		/* the destination's keywords */
	struct store_undo *undo;
	int64_t now;
};

/* Link (move: rename) the row's file to to: 1, 0 file gone, -1. */
static int copy_file(struct copy_op *op, const struct store_index_row *r,
		     const char *to, const char **error_r)
{
	struct buf from = BUF_INIT;
	const char *src = buf_cstr(&op->src_dir);
	int ret = store_row_transfer(src, r, to, !op->move, &from);

	if (ret < 0 && errno == ENOENT) {
		buf_free(&from);
		return 0;
	}
	if (ret < 0 && !op->move) {
		/* no hard link here (EMLINK, EPERM ...): copy the bytes */
		store_row_path(&from, src, r);
		ret = store_maildir_copy_file(buf_cstr(&from), to, error_r);
		if (ret < 0) {
			buf_free(&from);
			return -1;
		}
	}
	if (ret < 0) {
		log_error("event=store op=move path=%s error=%s", to, strerror(errno));
		*error_r = "cannot move message file";
	} else {
		store_undo_add(op->undo, op->move ? buf_cstr(&from) : NULL, to);
	}
	buf_free(&from);
	return ret < 0 ? -1 : 1;
}

/* Copy or move one row: 1 done (*uid_r), 0 it does not exist, -1. */
static int copy_row(struct copy_op *op, struct store_index_row *r,
		    uint32_t *uid_r, const char **error_r)
{
	struct buf kw = BUF_INIT, base = BUF_INIT, loc = BUF_INIT, to = BUF_INIT;
	struct store_index_msg m = { .mailbox_id = op->dst_id, .savedate = op->now };
	int ret = store_kwset_resolve_list(op->st, &op->kw, r->keywords, &kw, error_r);

	if (ret == 0) {
		store_new_base(op->st, &base);
		store_name_location(&loc, true, buf_cstr(&base), r->flags);
		buf_printf(&to, "%s/%s", buf_cstr(&op->dst_dir), buf_cstr(&loc));
		ret = copy_file(op, r, buf_cstr(&to), error_r);
	}
	if (ret == 1) {
		m.filename = buf_cstr(&base);
		m.location = buf_cstr(&loc);
		m.keywords = kw.len > 0 ? buf_cstr(&kw) : NULL;
		if ((op->move ? store_index_row_move(&op->st->ix, op->src_id, r, &m, uid_r)
			      : store_index_row_copy(&op->st->ix, r, &m, uid_r)) < 0) {
			*error_r = "cannot add message to index";
			ret = -1;
		}
	}
	buf_free(&kw);
	buf_free(&base);
	buf_free(&loc);
	buf_free(&to);
	return ret;
}

static int sync_dirs(const char *dir, bool with_new, const char **error_r)
{
	struct buf path = BUF_INIT;
	int ret;

	buf_printf(&path, "%s/cur", dir);
	ret = store_maildir_fsync_dir(buf_cstr(&path));
	if (ret == 0 && with_new) {
		buf_reset(&path);
		buf_printf(&path, "%s/new", dir);
		ret = store_maildir_fsync_dir(buf_cstr(&path));
	}
	if (ret < 0)
		*error_r = "cannot fsync mail directory";
	buf_free(&path);
	return ret;
}

static int copy_rows(struct copy_op *op, const uint32_t *uids, size_t n,
		     uint32_t *dst_uids_r, size_t *copied_r, const char **error_r)
{
	int ret = 0;

	for (size_t i = 0; ret >= 0 && i < n; i++) {
		struct store_index_row r;

		dst_uids_r[i] = 0;
		ret = store_index_row_get(&op->st->ix, op->src_id, uids[i], &r);
		if (ret < 0)
			*error_r = "cannot read index";
		else if (ret == 1)
			ret = copy_row(op, &r, &dst_uids_r[i], error_r);
		if (ret == 1)
			(*copied_r)++;
		store_index_row_free(&r);
	}
	if (ret >= 0 && *copied_r > 0)
		ret = sync_dirs(buf_cstr(&op->dst_dir), false, error_r);
	if (ret >= 0 && *copied_r > 0 && op->move)
		ret = sync_dirs(buf_cstr(&op->src_dir), true, error_r);
	return ret < 0 ? -1 : 0;
}

int store_copy_locked(struct store *st, int64_t src_id, const uint32_t *uids,
		      size_t n, int64_t dst_id, bool move, uint32_t *dst_uids_r,
		      size_t *copied_r, struct store_undo *undo,
		      const char **error_r)
{
	struct copy_op op = {
		.st = st, .src_id = src_id, .dst_id = dst_id, .move = move,
		.undo = undo, .now = (int64_t)time(NULL),
	};
	int ret;

	*copied_r = 0;
	ret = store_folder_of(st, src_id, &op.src_dir, NULL, NULL, error_r);
	if (ret == 1)
		ret = store_folder_of(st, dst_id, &op.dst_dir, NULL, NULL, error_r);
	if (ret == 1 && store_kwset_load(st, dst_id, &op.kw) < 0) {
		*error_r = "cannot read keywords";
		ret = -1;
	}
	if (ret == 1)
		ret = copy_rows(&op, uids, n, dst_uids_r, copied_r, error_r);
	else
		ret = -1;
	store_kwset_free(&op.kw);
	buf_free(&op.src_dir);
	buf_free(&op.dst_dir);
	return ret;
}

int store_copy(struct store *st, int64_t src_id, const uint32_t *uids, size_t n,
	       int64_t dst_id, bool move, uint32_t *dst_uids_r,
	       size_t *copied_r, uint32_t *dst_uidvalidity_r,
	       const char **error_r)
{
	struct store_undo undo = { NULL, 0, 0 };
	int ret;

	*copied_r = 0;
	if (store_txn_begin(st, error_r) < 0)
		return -1;
	ret = store_copy_locked(st, src_id, uids, n, dst_id, move, dst_uids_r,
				copied_r, &undo, error_r);
	if (ret == 0 && store_index_mbox_name(&st->ix, dst_id, NULL,
					      dst_uidvalidity_r) != 1) {
		*error_r = "cannot read index";
		ret = -1;
	}
	if (ret == 0)
		ret = store_txn_commit(st, error_r);
	else
		store_index_rollback(&st->ix);
	if (ret < 0) {
		store_undo_run(&undo);
		*copied_r = 0;
	}
	store_undo_free(&undo);
	return ret;
}

/* Remove the row's file (wherever it is now); a missing one is fine. */
static int unlink_row(const char *dir, const struct store_index_row *r)
{
	struct buf path = BUF_INIT, loc = BUF_INIT;
	int ret;

	store_row_path(&path, dir, r);
	ret = unlink(buf_cstr(&path));
	if (ret < 0 && errno == ENOENT &&
	    store_maildir_find(dir, r->filename, &loc) == 1) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, buf_cstr(&loc));
		ret = unlink(buf_cstr(&path));
	}
	if (ret < 0 && errno == ENOENT)
		ret = 0;
	if (ret < 0)
		log_error("event=store op=unlink path=%s error=%s", buf_cstr(&path),
			  strerror(errno));
	buf_free(&path);
	buf_free(&loc);
	return ret;
}

static int expunge_locked(struct store *st, int64_t mailbox_id,
			  const uint32_t *uids, size_t n, struct store_uids *done,
			  const char **error_r)
{
	struct buf dir = BUF_INIT;
	int ret = store_folder_of(st, mailbox_id, &dir, NULL, NULL, error_r);

	ret = ret == 1 ? 0 : -1;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		struct store_index_row r;
		int found = store_index_row_get(&st->ix, mailbox_id, uids[i], &r);

		if (found < 0 || (found == 1 && unlink_row(buf_cstr(&dir), &r) < 0) ||
		    (found == 1 && store_index_msg_expunge(&st->ix, mailbox_id,
							   uids[i]) < 0)) {
			*error_r = "cannot expunge message";
			ret = -1;
		} else if (found == 1) {
			store_uids_add(done, uids[i]);
		}
		store_index_row_free(&r);
	}
	if (ret == 0 && done->count > 0)
		ret = sync_dirs(buf_cstr(&dir), true, error_r);
	buf_free(&dir);
	return ret;
}

int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		  size_t n, int (*cb)(void *ctx, uint32_t uid), void *ctx,
		  const char **error_r)
{
	struct store_uids done = { NULL, 0, 0 };
	int ret = store_txn_begin(st, error_r);

	if (ret == 0) {
		ret = expunge_locked(st, mailbox_id, uids, n, &done, error_r);
		if (ret == 0)
			ret = store_txn_commit(st, error_r);
		else
			store_index_rollback(&st->ix);
	}
	if (ret == 0)
		store_uids_report(&done, cb, ctx);
	free(done.v);
	return ret;
}
