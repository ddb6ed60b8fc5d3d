/* store_open: opening an account's store: layout, default mailboxes,
 * reconciliation of files and index at every open (DESIGN §5), and the
 * rebuild of the index from the files (store_reindex). */
#include "store/store.h"

#include <inttypes.h>
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

/* The mailboxes of a new account (RFC 6154 SPECIAL-USE attributes). */
static const struct {
	const char *name;
	const char *special_use;
} default_mailboxes[] = {
	{ "INBOX", NULL },
	{ "Sent", "\\Sent" },
	{ "Drafts", "\\Drafts" },
	{ "Junk", "\\Junk" },
	{ "Trash", "\\Trash" },
	{ "Archive", "\\Archive" },
};
#define N_DEFAULT_MAILBOXES (sizeof(default_mailboxes) / sizeof(default_mailboxes[0]))

/* Mailboxes read from an index: for reconciliation, and the UIDVALIDITY
 * values of an index being replaced (reindex). */
struct mailbox_set {
	int64_t *ids;
	char **names;
	uint32_t *uv;
	size_t count;
};

static struct store *store_new(const char *data_dir, int64_t account_id)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct buf b = BUF_INIT;
	char host[256];

	st->account_id = account_id;
	st->fts_at_delivery = true;
	buf_printf(&b, "%s/accounts/%" PRId64, data_dir, account_id);
	st->root = buf_detach(&b);
	buf_printf(&b, "%s/Maildir", st->root);
	st->maildir = buf_detach(&b);
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	store_name_host(st->host, sizeof(st->host), host);
	return st;
}

static int make_root(const char *data_dir, struct store *st,
		     const char **error_r)
{
	struct buf accounts = BUF_INIT;
	int ret;

	buf_printf(&accounts, "%s/accounts", data_dir);
	ret = store_maildir_mkdir(buf_cstr(&accounts), error_r);
	buf_free(&accounts);
	if (ret == 0)
		ret = store_maildir_mkdir(st->root, error_r);
	if (ret == 0)
		ret = store_maildir_folder_create(st->maildir, false, error_r);
	return ret;
}

static uint32_t old_uidvalidity(const struct mailbox_set *old, const char *name)
{
	for (size_t i = 0; old != NULL && i < old->count; i++)
		if (strcmp(old->names[i], name) == 0)
			return old->uv[i];
	return 0;
}

/* Add mailbox name to the index (if missing) and make its directories. */
static int add_mailbox(struct store *st, const char *name,
		       const char *special_use, const struct mailbox_set *old,
		       const char **error_r)
{
	struct buf dir = BUF_INIT;
	int64_t id;
	int ret = store_index_mailbox_find(&st->ix, name, &id);
	uint32_t prev = old_uidvalidity(old, name);

	if (ret == 0) {
		ret = store_index_mailbox_add(&st->ix, name, special_use,
					      prev ? prev + 1 : 0, error_r);
		/* what a new account starts with is subscribed */
		if (ret == 0 && store_index_subs_set(&st->ix, name, true) < 0) {
			*error_r = "cannot subscribe mailbox";
			ret = -1;
		}
	} else if (ret < 0)
		*error_r = "cannot read index";
	if (ret >= 0 && store_name_folder_path(&dir, st->maildir, name) == 0)
		ret = store_maildir_folder_create(buf_cstr(&dir),
						  strcmp(name, "INBOX") != 0, error_r);
	buf_free(&dir);
	return ret < 0 ? -1 : 0;
}

struct found_folders {
	char **names;
	size_t count;
};

static void found_folder(const char *name, void *ctx)
{
	struct found_folders *ff = ctx;

	ff->names = xrealloc(ff->names, (ff->count + 1) * sizeof(*ff->names));
	ff->names[ff->count++] = xstrdup(name);
}

static const char *default_special_use(const char *name)
{
	for (size_t i = 0; i < N_DEFAULT_MAILBOXES; i++)
		if (strcmp(default_mailboxes[i].name, name) == 0)
			return default_mailboxes[i].special_use;
	return NULL;
}

/* A fresh index: the default mailboxes plus every Maildir++ folder that
 * is already on disk (an index rebuilt for existing files). */
static int populate(struct store *st, const struct mailbox_set *old,
		    const char **error_r)
{
	struct found_folders ff = { NULL, 0 };
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < N_DEFAULT_MAILBOXES; i++)
		ret = add_mailbox(st, default_mailboxes[i].name,
				  default_mailboxes[i].special_use, old, error_r);
	if (ret == 0)
		ret = store_maildir_folders(st->maildir, found_folder, &ff, error_r);
	for (size_t i = 0; i < ff.count; i++) {
		if (ret == 0)
			ret = add_mailbox(st, ff.names[i],
					  default_special_use(ff.names[i]), old,
					  error_r);
		free(ff.names[i]);
	}
	free(ff.names);
	return ret;
}

static int mailbox_set_add(int64_t id, const char *name, uint32_t uidvalidity,
			   void *ctx)
{
	struct mailbox_set *m = ctx;

	m->ids = xrealloc(m->ids, (m->count + 1) * sizeof(*m->ids));
	m->names = xrealloc(m->names, (m->count + 1) * sizeof(*m->names));
	m->uv = xrealloc(m->uv, (m->count + 1) * sizeof(*m->uv));
	m->ids[m->count] = id;
	m->uv[m->count] = uidvalidity;
	m->names[m->count++] = xstrdup(name);
	return 0;
}

static void mailbox_set_free(struct mailbox_set *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->names[i]);
	free(m->ids);
	free(m->names);
	free(m->uv);
}

/* Check (create: make) one mailbox's directories, then reconcile it. A
 * folder removed behind our back is only skipped without create: its rows
 * stay until a create or reindex, and the rest of the account opens. */
static int reconcile_one(struct store *st, int64_t id, const char *name,
			 bool create, const char **error_r)
{
	struct buf dir = BUF_INIT;
	int ret = -1;

	if (store_name_folder_path(&dir, st->maildir, name) < 0) {
		*error_r = "invalid mailbox name in index";
	} else if (store_maildir_folder_exists(buf_cstr(&dir)) ||
		   (create && store_maildir_folder_create(buf_cstr(&dir),
				strcmp(name, "INBOX") != 0, error_r) == 0)) {
		ret = store_reconcile_mailbox(&st->ix, id, buf_cstr(&dir),
					      time(NULL), error_r);
	} else if (!create) {
		log_warn("store account=%" PRId64 " mailbox=%s "
			 "error=\"mailbox directory missing\"", st->account_id, name);
		ret = 0;
	}
	if (ret < 0)
		log_error("store account=%" PRId64 " mailbox=%s error=\"%s\"",
			  st->account_id, name, *error_r);
	buf_free(&dir);
	return ret;
}

static int reconcile_all(struct store *st, bool create,
			 const struct mailbox_set *old, const char **error_r)
{
	struct mailbox_set m = { NULL, NULL, NULL, 0 };
	int64_t inbox;
	int ret = store_index_mailbox_find(&st->ix, "INBOX", &inbox);

	if (ret < 0)
		*error_r = "cannot read index";
	else if (ret == 0 && !create) {
		*error_r = "index has no INBOX";
		ret = -1;
	} else if (ret == 0)
		ret = populate(st, old, error_r);
	if (ret >= 0)
		ret = store_index_mailbox_list(&st->ix, mailbox_set_add, &m, error_r);
	for (size_t i = 0; ret >= 0 && i < m.count; i++)
		ret = reconcile_one(st, m.ids[i], m.names[i], create, error_r);
	mailbox_set_free(&m);
	return ret < 0 ? -1 : 0;
}

/* Open the index at index_path, finish an interrupted mailbox rename or
 * delete, and reconcile everything, in one write transaction. */
static int store_start(struct store *st, const char *index_path, bool create,
		       const struct mailbox_set *old, const char **error_r)
{
	if (store_index_open(&st->ix, index_path, create, error_r) < 0)
		return -1;
	if (store_index_begin(&st->ix, error_r) < 0)
		return -1;
	if (store_mailbox_recover(st, error_r) < 0 ||
	    reconcile_all(st, create, old, error_r) < 0) {
		store_index_rollback(&st->ix);
		return -1;
	}
	return store_index_commit(&st->ix, error_r);
}

int store_open(struct store **st_r, const char *data_dir, int64_t account_id,
	       bool create, const char **error_r)
{
	struct store *st;
	struct buf path = BUF_INIT;
	int ret = -1;

	*st_r = NULL;
	if (account_id <= 0) {
		*error_r = "invalid account id";
		return -1;
	}
	st = store_new(data_dir, account_id);
	buf_printf(&path, "%s/index.db", st->root);
	if (!create || make_root(data_dir, st, error_r) == 0) {
		if (store_maildir_folder_exists(st->maildir))
			ret = store_start(st, buf_cstr(&path), create, NULL, error_r);
		else
			*error_r = "no mail store for this account";
	}
	buf_free(&path);
	if (ret < 0) {
		store_close(st);
		return -1;
	}
	*st_r = st;
	return 0;
}

/* Best effort: the UIDVALIDITY values of the index being replaced, so the
 * new ones are larger even within the same second (RFC 9051 §2.3.1.1). */
static void old_uv_read(const char *path, struct mailbox_set *old)
{
	struct store_index ix;
	const char *error;

	if (access(path, F_OK) != 0 || store_index_open(&ix, path, false, &error) < 0)
		return;
	(void)store_index_mailbox_list(&ix, mailbox_set_add, old, &error);
	store_index_close(&ix);
}

/* Remove path's WAL and shared-memory files (and path too if all). */
static void unlink_db(const char *path, bool all)
{
	struct buf b = BUF_INIT;

	if (all)
		unlink(path);
	buf_printf(&b, "%s-wal", path);
	unlink(buf_cstr(&b));
	buf_reset(&b);
	buf_printf(&b, "%s-shm", path);
	unlink(buf_cstr(&b));
	buf_free(&b);
}

/* Build the new index beside the old one, then swap it in: a crash before
 * the rename leaves the old index, after it the new one. */
static int reindex(struct store *st, const char *index, const char *tmp,
		   const char **error_r)
{
	struct mailbox_set old = { NULL, NULL, NULL, 0 };
	int ret = -1;

	old_uv_read(index, &old);
	unlink_db(tmp, true);
	if (store_start(st, tmp, true, &old, error_r) == 0) {
		ret = store_index_detach_wal(&st->ix);
		if (ret < 0)
			*error_r = "cannot finish new index";
	}
	store_index_close(&st->ix);
	mailbox_set_free(&old);
	if (ret == 0) {
		unlink_db(index, false); /* the old WAL must not meet the new file */
		if (rename(tmp, index) < 0 || store_maildir_fsync_dir(st->root) < 0) {
			*error_r = "cannot replace index";
			ret = -1;
		}
	}
	if (ret < 0)
		unlink_db(tmp, true);
	return ret;
}

int store_reindex(const char *data_dir, int64_t account_id,
		  const char **error_r)
{
	struct buf index = BUF_INIT, tmp = BUF_INIT;
	struct store *st;
	int ret = -1;

	if (account_id <= 0) {
		*error_r = "invalid account id";
		return -1;
	}
	st = store_new(data_dir, account_id);
	buf_printf(&index, "%s/index.db", st->root);
	buf_printf(&tmp, "%s/index.db.reindex", st->root);
	if (!store_maildir_folder_exists(st->maildir))
		*error_r = "no mail store for this account";
	else
		ret = reindex(st, buf_cstr(&index), buf_cstr(&tmp), error_r);
	if (ret == 0)
		log_info("event=store op=reindex account=%" PRId64 " status=ok", account_id);
	buf_free(&index);
	buf_free(&tmp);
	store_close(st);
	return ret;
}
