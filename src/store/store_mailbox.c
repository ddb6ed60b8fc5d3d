/* store_mailbox: mailboxes for IMAP: LIST, (UN)SUBSCRIBE, CREATE, DELETE,
 * RENAME, SELECT/STATUS (RFC 3501 §6.3).
 *
 * Folders are Maildir++ directories Maildir/.<name> (the name byte for
 * byte: UTF-8 and '.' are fine in file names, '/' and control characters
 * are not valid names). The layout is flat, so a RENAME renames one
 * directory per mailbox of the hierarchy; a crash between those renames
 * and the index commit is repaired at the next open from a journal
 * (root/rename.journal: "from\nto\n", written and fsynced first): if the
 * index still has the old names the directories are renamed back, else
 * forward. A DELETE renames the folder to Maildir/..deleted.<name>
 * (never a valid mailbox directory) before it commits and removes it
 * after; at open such a directory is put back if its mailbox is still in
 * the index, else removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_maildir.h"
#include "store/store_private.h"
#include "store/store_reconcile.h"

#define RENAME_JOURNAL "rename.journal"
#define DELETED_PREFIX "..deleted."

/* The canonical form of a client's name, if it is valid. */
static int canonical(const char *name, struct buf *out, const char **error_r)
{
	if (name == NULL) {
		*error_r = "invalid mailbox name";
		return -1;
	}
	store_name_canonical(out, name);
	if (!store_name_mailbox_valid(buf_cstr(out))) {
		*error_r = "invalid mailbox name";
		return -1;
	}
	return 0;
}

struct list_ctx {
	store_mailbox_cb *cb;
	void *ctx;
};

static int list_one(void *ctx, const struct store_index_mbox *mb)
{
	struct list_ctx *lc = ctx;
	struct store_mailbox_info info = {
		.name = mb->name, .special_use = mb->special_use,
		.subscribed = mb->subscribed, .has_children = mb->has_children,
		.uidvalidity = mb->uidvalidity,
	};

	return lc->cb(lc->ctx, &info);
}

int store_mailbox_list(struct store *st, store_mailbox_cb *cb, void *ctx,
		       const char **error_r)
{
	struct list_ctx lc = { cb, ctx };

	if (store_index_mbox_list(&st->ix, list_one, &lc) < 0) {
		*error_r = "cannot list mailboxes";
		return -1;
	}
	return 0;
}

int store_subscription_list(struct store *st,
			    int (*cb)(void *ctx, const char *name), void *ctx,
			    const char **error_r)
{
	if (store_index_subs_list(&st->ix, cb, ctx) < 0) {
		*error_r = "cannot list subscriptions";
		return -1;
	}
	return 0;
}

int store_mailbox_subscribe(struct store *st, const char *name,
			    bool subscribe, const char **error_r)
{
	struct buf cname = BUF_INIT;
	int ret = canonical(name, &cname, error_r);

	if (ret == 0 && (ret = store_txn_begin(st, error_r)) == 0) {
		if (store_index_subs_set(&st->ix, buf_cstr(&cname), subscribe) < 0) {
			store_index_rollback(&st->ix);
			*error_r = "cannot change subscription";
			ret = -1;
		} else {
			ret = store_txn_commit(st, error_r);
		}
	}
	buf_free(&cname);
	return ret;
}

/* Make mailbox name (row and folder): 1 made, 0 it exists, -1. A folder
 * already on disk (made by another program) is reconciled into it. */
static int create_one(struct store *st, const char *name,
		      const char *special_use, int64_t *id_r, const char **error_r)
{
	struct buf dir = BUF_INIT;
	int ret = store_index_mailbox_find(&st->ix, name, id_r);

	if (ret != 0) {
		if (ret < 0)
			*error_r = "cannot read index";
		return ret < 0 ? -1 : 0;
	}
	ret = -1;
	if (store_index_mailbox_add(&st->ix, name, special_use, 0, error_r) == 0 &&
	    store_index_mailbox_find(&st->ix, name, id_r) == 1 &&
	    store_name_folder_path(&dir, st->maildir, name) == 0 &&
	    store_maildir_folder_create(buf_cstr(&dir), true, error_r) == 0 &&
	    store_reconcile_mailbox(&st->ix, *id_r, buf_cstr(&dir), time(NULL),
				    error_r) == 0)
		ret = 1;
	buf_free(&dir);
	return ret;
}

/* name and every missing parent (RFC 3501 §6.3.3: SHOULD). */
static int create_path(struct store *st, const char *name,
		       const char *special_use, int64_t *id_r, const char **error_r)
{
	struct buf parent = BUF_INIT;
	int ret = 0;

	for (const char *p = strchr(name, '.'); ret >= 0 && p != NULL;
	     p = strchr(p + 1, '.')) {
		buf_reset(&parent);
		buf_append(&parent, name, (size_t)(p - name));
		ret = create_one(st, buf_cstr(&parent), NULL, id_r, error_r);
	}
	buf_free(&parent);
	if (ret >= 0)
		ret = create_one(st, name, special_use, id_r, error_r);
	return ret;
}

int store_mailbox_create(struct store *st, const char *name,
			 const char *special_use, const char **error_r)
{
	struct buf cname = BUF_INIT;
	int64_t id;
	int ret = canonical(name, &cname, error_r);

	if (ret == 0 && special_use != NULL &&
	    (special_use = store_index_special_use(special_use)) == NULL) {
		*error_r = "unsupported special-use attribute";
		ret = -1;
	}
	if (ret == 0 && (ret = store_txn_begin(st, error_r)) == 0) {
		ret = create_path(st, buf_cstr(&cname), special_use, &id, error_r);
		if (ret >= 0 && store_txn_commit(st, error_r) < 0)
			ret = -1;
		else if (ret < 0)
			store_index_rollback(&st->ix);
	}
	buf_free(&cname);
	return ret;
}

/* Under the lock: the folder goes to trash, the rows go. 1, 0, -1. */
static int delete_locked(struct store *st, const char *name, struct buf *dir,
			 struct buf *trash, const char **error_r)
{
	int64_t id;
	int ret = store_index_mailbox_find(&st->ix, name, &id);

	if (ret <= 0) {
		if (ret < 0)
			*error_r = "cannot read index";
		return ret;
	}
	store_name_folder_path(dir, st->maildir, name);
	buf_printf(trash, "%s/" DELETED_PREFIX "%s", st->maildir, name);
	store_maildir_remove_tree(buf_cstr(trash));	/* an old one */
	if ((rename(buf_cstr(dir), buf_cstr(trash)) < 0 && errno != ENOENT) ||
	    store_maildir_fsync_dir(st->maildir) < 0) {
		log_error("event=store op=delete path=%s error=%s", buf_cstr(dir),
			  strerror(errno));
		*error_r = "cannot remove mailbox directory";
		return -1;
	}
	if (store_index_mbox_delete(&st->ix, id) < 0) {
		(void)rename(buf_cstr(trash), buf_cstr(dir));
		*error_r = "cannot delete mailbox";
		return -1;
	}
	return 1;
}

int store_mailbox_delete(struct store *st, const char *name,
			 const char **error_r)
{
	struct buf cname = BUF_INIT, dir = BUF_INIT, trash = BUF_INIT;
	int ret = canonical(name, &cname, error_r);

	if (ret == 0 && strcmp(buf_cstr(&cname), "INBOX") == 0) {
		*error_r = "INBOX cannot be deleted";	/* RFC 3501 §6.3.4 */
		ret = -1;
	}
	if (ret == 0 && (ret = store_txn_begin(st, error_r)) == 0) {
		ret = delete_locked(st, buf_cstr(&cname), &dir, &trash, error_r);
		if (ret == 1 && store_txn_commit(st, error_r) < 0) {
			(void)rename(buf_cstr(&trash), buf_cstr(&dir));
			ret = -1;
		} else if (ret == 1) {
			store_maildir_remove_tree(buf_cstr(&trash));
		} else {
			store_index_rollback(&st->ix);
		}
	}
	buf_free(&cname);
	buf_free(&dir);
	buf_free(&trash);
	return ret;
}

/* ---- RENAME ---- */

struct rename_set {
	int64_t *ids;
	char **old, **new;
	size_t count;
};

static void rename_set_free(struct rename_set *rs)
{
	for (size_t i = 0; i < rs->count; i++) {
		free(rs->old[i]);
		free(rs->new[i]);
	}
	free(rs->ids);
	free(rs->old);
	free(rs->new);
	memset(rs, 0, sizeof(*rs));
}

static void rename_collect(void *ctx, int64_t id, const char *name)
{
	struct rename_set *rs = ctx;

	rs->ids = xrealloc(rs->ids, (rs->count + 1) * sizeof(*rs->ids));
	rs->old = xrealloc(rs->old, (rs->count + 1) * sizeof(*rs->old));
	rs->new = xrealloc(rs->new, (rs->count + 1) * sizeof(*rs->new));
	rs->ids[rs->count] = id;
	rs->old[rs->count] = xstrdup(name);
	rs->new[rs->count++] = NULL;
}

/* from (id) and its children with their new names under to. */
static int rename_plan(struct store *st, int64_t id, const char *from,
		       const char *to, struct rename_set *rs,
		       const char **error_r)
{
	size_t flen = strlen(from);
	int64_t other;

	rename_collect(rs, id, from);
	if (store_index_mbox_children(&st->ix, from, rename_collect, rs) < 0) {
		*error_r = "cannot read index";
		return -1;
	}
	for (size_t i = 0; i < rs->count; i++) {
		struct buf n = BUF_INIT;

		buf_printf(&n, "%s%s", to, rs->old[i] + flen);
		rs->new[i] = buf_detach(&n);
		if (!store_name_mailbox_valid(rs->new[i])) {
			*error_r = "mailbox name too long";
			return -1;
		}
		if (store_index_mailbox_find(&st->ix, rs->new[i], &other) != 0) {
			*error_r = "mailbox already exists";
			return -1;
		}
	}
	return 0;
}

static int journal_write(struct store *st, const char *from, const char *to)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	int fd, ret = -1;

	buf_printf(&path, "%s/" RENAME_JOURNAL, st->root);
	buf_printf(&text, "%s\n%s\n", from, to);
	fd = open(buf_cstr(&path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && buf_write_fd(fd, text.ptr, text.len) == 0 &&
	    fsync(fd) == 0)
		ret = store_maildir_fsync_dir(st->root);
	if (fd >= 0)
		close(fd);
	buf_free(&path);
	buf_free(&text);
	return ret;
}

static void journal_remove(struct store *st)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/" RENAME_JOURNAL, st->root);
	unlink(buf_cstr(&path));
	buf_free(&path);
}

/* Rename the folder directories and the rows, journal first. */
static int rename_apply(struct store *st, const struct rename_set *rs,
			struct store_undo *undo, const char **error_r)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	int ret = journal_write(st, rs->old[0], rs->new[0]);

	for (size_t i = 0; ret == 0 && i < rs->count; i++) {
		buf_reset(&a);
		buf_reset(&b);
		store_name_folder_path(&a, st->maildir, rs->old[i]);
		store_name_folder_path(&b, st->maildir, rs->new[i]);
		if (rename(buf_cstr(&a), buf_cstr(&b)) == 0)
			store_undo_add(undo, buf_cstr(&a), buf_cstr(&b));
		else if (errno != ENOENT)
			ret = -1;
	}
	if (ret == 0)
		ret = store_maildir_fsync_dir(st->maildir);
	if (ret < 0) {
		log_error("event=store op=rename path=%s error=%s", buf_cstr(&a),
			  strerror(errno));
		*error_r = "cannot rename mailbox directory";
	}
	for (size_t i = 0; ret == 0 && i < rs->count; i++)
		if (store_index_mbox_rename(&st->ix, rs->ids[i], rs->new[i]) < 0 ||
		    store_index_subs_rename(&st->ix, rs->old[i], rs->new[i]) < 0) {
			*error_r = "cannot rename mailbox";
			ret = -1;
		}
	buf_free(&a);
	buf_free(&b);
	return ret;
}

/* The parents of to that are missing. */
static int create_parents(struct store *st, const char *to, const char **error_r)
{
	const char *dot = strrchr(to, '.');
	struct buf parent = BUF_INIT;
	int64_t id;
	int ret = 0;

	if (dot != NULL) {
		buf_append(&parent, to, (size_t)(dot - to));
		ret = create_path(st, buf_cstr(&parent), NULL, &id, error_r);
	}
	buf_free(&parent);
	return ret < 0 ? -1 : 0;
}

static int rename_locked(struct store *st, const char *from, const char *to,
			 struct store_undo *undo, const char **error_r)
{
	struct rename_set rs = { NULL, NULL, NULL, 0 };
	int64_t id, other;
	int ret = store_index_mailbox_find(&st->ix, from, &id);

	if (ret < 0)
		*error_r = "cannot read index";
	if (ret == 1 && store_index_mailbox_find(&st->ix, to, &other) != 0) {
		*error_r = "mailbox already exists";
		ret = -1;
	}
	if (ret == 1 && (rename_plan(st, id, from, to, &rs, error_r) < 0 ||
			 create_parents(st, to, error_r) < 0 ||
			 rename_apply(st, &rs, undo, error_r) < 0))
		ret = -1;
	rename_set_free(&rs);
	return ret;
}

static int collect_uid(void *ctx, const struct store_msg *m)
{
	store_uids_add(ctx, m->uid);
	return 0;
}

/* RFC 3501 §6.3.5: INBOX's messages move to a new mailbox `to`. */
static int rename_inbox_locked(struct store *st, const char *to,
			       struct store_undo *undo, const char **error_r)
{
	struct store_uids uids = { NULL, 0, 0 };
	int64_t inbox, dst;
	uint32_t *dst_uids;
	size_t copied;
	int ret = create_path(st, to, NULL, &dst, error_r);

	if (ret == 0)
		*error_r = "mailbox already exists";
	if (ret != 1)
		return -1;
	if (store_index_mailbox_find(&st->ix, "INBOX", &inbox) != 1 ||
	    store_msg_list(st, inbox, 1, collect_uid, &uids, error_r) < 0) {
		*error_r = "cannot read index";
		return -1;
	}
	dst_uids = xcalloc(uids.count + 1, sizeof(*dst_uids));
	ret = store_copy_locked(st, inbox, uids.v, uids.count, dst, true,
				dst_uids, &copied, undo, error_r);
	free(dst_uids);
	free(uids.v);
	return ret < 0 ? -1 : 1;
}

static int rename_checked(struct store *st, const char *from, const char *to,
			  const char **error_r)
{
	struct store_undo undo = { NULL, 0, 0 };
	bool inbox = strcmp(from, "INBOX") == 0;
	int ret;

	if (store_txn_begin(st, error_r) < 0)
		return -1;
	ret = inbox ? rename_inbox_locked(st, to, &undo, error_r)
		    : rename_locked(st, from, to, &undo, error_r);
	if (ret == 1 && store_txn_commit(st, error_r) < 0)
		ret = -1;
	else if (ret != 1)
		store_index_rollback(&st->ix);
	if (ret < 0)
		store_undo_run(&undo);
	if (!inbox)
		journal_remove(st);
	store_undo_free(&undo);
	return ret;
}

int store_mailbox_rename(struct store *st, const char *from, const char *to,
			 const char **error_r)
{
	struct buf cfrom = BUF_INIT, cto = BUF_INIT;
	int ret = canonical(from, &cfrom, error_r);

	if (ret == 0)
		ret = canonical(to, &cto, error_r);
	if (ret == 0 && strcmp(buf_cstr(&cto), "INBOX") == 0) {
		*error_r = "mailbox already exists";
		ret = -1;
	} else if (ret == 0 && (strcmp(buf_cstr(&cfrom), buf_cstr(&cto)) == 0 ||
				(strcmp(buf_cstr(&cfrom), "INBOX") != 0 &&
				 store_name_is_below(buf_cstr(&cto), buf_cstr(&cfrom))))) {
		*error_r = "cannot rename a mailbox into itself";
		ret = -1;
	}
	if (ret == 0)
		ret = rename_checked(st, buf_cstr(&cfrom), buf_cstr(&cto), error_r);
	buf_free(&cfrom);
	buf_free(&cto);
	return ret;
}

/* ---- SELECT, STATUS ---- */

int store_mailbox_state(struct store *st, int64_t mailbox_id,
			struct store_mailbox_state *state_r,
			const char **error_r)
{
	struct store_index_state s;
	int ret = store_index_mbox_state(&st->ix, mailbox_id, &s);

	memset(state_r, 0, sizeof(*state_r));
	if (ret < 0)
		*error_r = "cannot read index";
	if (ret != 1)
		return ret;
	state_r->id = mailbox_id;
	state_r->uidvalidity = s.uidvalidity;
	state_r->uidnext = s.uidnext;
	state_r->highestmodseq = s.highestmodseq;
	state_r->messages = s.messages;
	state_r->unseen = s.unseen;
	state_r->size = s.size;
	state_r->deleted = s.deleted;
	state_r->first_unseen_uid = s.first_unseen_uid;
	state_r->special_use = s.special_use;
	return 1;
}

int store_mailbox_open(struct store *st, const char *name,
		       struct store_mailbox_state *state_r, const char **error_r)
{
	struct buf cname = BUF_INIT;
	int64_t id;
	int ret = canonical(name, &cname, error_r);

	memset(state_r, 0, sizeof(*state_r));
	if (ret == 0) {
		ret = store_index_mailbox_find(&st->ix, buf_cstr(&cname), &id);
		if (ret < 0)
			*error_r = "cannot read index";
		if (ret == 1)
			ret = store_mailbox_state(st, id, state_r, error_r);
	}
	buf_free(&cname);
	return ret;
}

/* ---- recovery at open ---- */

static bool dir_exists(struct store *st, const char *name)
{
	struct buf dir = BUF_INIT;
	bool ok = store_name_folder_path(&dir, st->maildir, name) == 0 &&
		  access(buf_cstr(&dir), F_OK) == 0;

	buf_free(&dir);
	return ok;
}

/* Give the directory of each of names (id ignored) back its own name,
 * taking it from the same name under `other` instead of `base`. */
static void recover_dirs(struct store *st, const struct rename_set *rs,
			 const char *base, const char *other)
{
	struct buf a = BUF_INIT, b = BUF_INIT, n = BUF_INIT;

	for (size_t i = 0; i < rs->count; i++) {
		buf_reset(&a);
		buf_reset(&b);
		buf_reset(&n);
		buf_printf(&n, "%s%s", other, rs->old[i] + strlen(base));
		if (dir_exists(st, rs->old[i]) || !store_name_mailbox_valid(buf_cstr(&n)) ||
		    !dir_exists(st, buf_cstr(&n)))
			continue;
		store_name_folder_path(&a, st->maildir, buf_cstr(&n));
		store_name_folder_path(&b, st->maildir, rs->old[i]);
		if (rename(buf_cstr(&a), buf_cstr(&b)) == 0)
			log_info("event=store op=recover rename=%s to=%s",
				 buf_cstr(&a), buf_cstr(&b));
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&n);
}

/* A rename the crash interrupted: the index says which way to go. */
static int recover_rename(struct store *st, const char *from, const char *to)
{
	struct rename_set rs = { NULL, NULL, NULL, 0 };
	int64_t id;
	int ret = store_index_mailbox_find(&st->ix, from, &id);
	const char *base = ret == 1 ? from : to, *other = ret == 1 ? to : from;

	if (ret >= 0 && store_index_mailbox_find(&st->ix, base, &id) == 1) {
		rename_collect(&rs, id, base);
		ret = store_index_mbox_children(&st->ix, base, rename_collect, &rs);
	}
	if (ret >= 0)
		recover_dirs(st, &rs, base, other);
	rename_set_free(&rs);
	return ret < 0 ? -1 : store_maildir_fsync_dir(st->maildir);
}

static int recover_journal(struct store *st, const char **error_r)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	char *nl1, *nl2;
	int fd, ret = 0;

	buf_printf(&path, "%s/" RENAME_JOURNAL, st->root);
	fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (buf_read_fd(&text, fd, 2 * STORE_MAILBOX_NAME_MAX + 2) == 0 &&
		    (nl1 = strchr(buf_cstr(&text), '\n')) != NULL &&
		    (nl2 = strchr(nl1 + 1, '\n')) != NULL) {
			*nl1 = *nl2 = '\0';
			ret = recover_rename(st, text.ptr, nl1 + 1);
		}
		close(fd);
		if (ret == 0)
			unlink(buf_cstr(&path));
		else
			*error_r = "cannot recover an interrupted mailbox rename";
	}
	buf_free(&path);
	buf_free(&text);
	return ret;
}

/* ..deleted.<name>: back if the mailbox is still there, else removed. */
static void recover_deleted(struct store *st)
{
	DIR *d = opendir(st->maildir);
	struct buf path = BUF_INIT, dir = BUF_INIT;
	struct dirent *de;
	size_t plen = strlen(DELETED_PREFIX);
	int64_t id;

	while (d != NULL && (de = readdir(d)) != NULL) {
		const char *name = de->d_name + plen;

		if (strncmp(de->d_name, DELETED_PREFIX, plen) != 0)
			continue;
		buf_reset(&path);
		buf_reset(&dir);
		buf_printf(&path, "%s/%s", st->maildir, de->d_name);
		if (store_name_mailbox_valid(name) &&
		    store_index_mailbox_find(&st->ix, name, &id) == 1 &&
		    !dir_exists(st, name) &&
		    store_name_folder_path(&dir, st->maildir, name) == 0 &&
		    rename(buf_cstr(&path), buf_cstr(&dir)) == 0)
			continue;
		store_maildir_remove_tree(buf_cstr(&path));
	}
	if (d != NULL)
		closedir(d);
	buf_free(&path);
	buf_free(&dir);
}

int store_mailbox_recover(struct store *st, const char **error_r)
{
	if (recover_journal(st, error_r) < 0)
		return -1;
	recover_deleted(st);
	return 0;
}
