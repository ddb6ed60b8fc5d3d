/* store: one account's mail store: Maildir files + index (DESIGN §5).
 *
 * Delivery order, per message: write tmp/<name>, fsync, rename into new/,
 * add the index row inside the batch transaction; per batch (store_sync):
 * fsync each new/ directory touched, then commit. A crash anywhere leaves
 * either a stale tmp/ file (removed by the next reconcile) or a file in
 * new/ whose row was not committed (adopted by the next reconcile, or by
 * the redelivery of its key, which then returns 0): exactly once. */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store_index.h"
#include "store/store_maildir.h"
#include "store/store_name.h"
#include "store/store_reconcile.h"

/* A message file of the open batch. */
struct store_pending {
	char *path;		/* .../new/<name> */
	bool keyed;
};

struct store {
	int64_t account_id;
	char *root;		/* DATA/accounts/<id> */
	char *maildir;		/* root/Maildir (INBOX) */
	char host[STORE_NAME_HOST_MAX + 1];
	struct store_index ix;
	unsigned counter;	/* makes keyless names unique in this process */
	bool failed;		/* the batch was rolled back: store_sync fails */
	struct store_pending *pending;
	size_t npending, pending_cap;
	char **touched;		/* new/ directories to fsync at store_sync */
	size_t ntouched, touched_cap;
};

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

/* UIDVALIDITY of the index being replaced, by mailbox name (reindex). */
struct old_uv {
	char **names;
	uint32_t *uv;
	size_t count;
};

static const char *canonical_mailbox(const char *name)
{
	return str_ieq(name, "INBOX") ? "INBOX" : name;
}

static struct store *store_new(const char *data_dir, int64_t account_id)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct buf b = BUF_INIT;
	char host[256];

	st->account_id = account_id;
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

static void store_free(struct store *st)
{
	free(st->pending);
	free(st->touched);
	free(st->root);
	free(st->maildir);
	free(st);
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

static uint32_t old_uidvalidity(const struct old_uv *old, const char *name)
{
	for (size_t i = 0; old != NULL && i < old->count; i++)
		if (strcmp(old->names[i], name) == 0)
			return old->uv[i];
	return 0;
}

/* Add mailbox name to the index (if missing) and make its directories. */
static int add_mailbox(struct store *st, const char *name,
		       const char *special_use, const struct old_uv *old,
		       const char **error_r)
{
	struct buf dir = BUF_INIT;
	int64_t id;
	int ret = store_index_mailbox_find(&st->ix, name, &id);
	uint32_t prev = old_uidvalidity(old, name);

	if (ret == 0)
		ret = store_index_mailbox_add(&st->ix, name, special_use,
					      prev ? prev + 1 : 0, error_r);
	else if (ret < 0)
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
static int populate(struct store *st, const struct old_uv *old,
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

struct mailbox_ids {
	int64_t *ids;
	char **names;
	size_t count;
};

static int collect_mailbox(int64_t id, const char *name, uint32_t uidvalidity,
			   void *ctx)
{
	struct mailbox_ids *m = ctx;

	m->ids = xrealloc(m->ids, (m->count + 1) * sizeof(*m->ids));
	m->names = xrealloc(m->names, (m->count + 1) * sizeof(*m->names));
	m->ids[m->count] = id;
	m->names[m->count++] = xstrdup(name);
	return 0;
}

static void mailbox_ids_free(struct mailbox_ids *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->names[i]);
	free(m->ids);
	free(m->names);
}

/* Check (create: make) one mailbox's directories, then reconcile it. */
static int reconcile_one(struct store *st, int64_t id, const char *name,
			 bool create, const char **error_r)
{
	struct buf dir = BUF_INIT;
	int ret = -1;

	*error_r = "invalid mailbox name in index";
	if (store_name_folder_path(&dir, st->maildir, name) == 0) {
		*error_r = "mailbox directory missing";
		if (store_maildir_folder_exists(buf_cstr(&dir)) ||
		    (create && store_maildir_folder_create(buf_cstr(&dir),
				strcmp(name, "INBOX") != 0, error_r) == 0))
			ret = store_reconcile_mailbox(&st->ix, id, buf_cstr(&dir),
						      time(NULL), error_r);
	}
	if (ret < 0)
		log_error("store account=%" PRId64 " mailbox=%s error=\"%s\"",
			  st->account_id, name, *error_r);
	buf_free(&dir);
	return ret;
}

static int reconcile_all(struct store *st, bool create,
			 const struct old_uv *old, const char **error_r)
{
	struct mailbox_ids m = { NULL, NULL, 0 };
	int64_t inbox;
	int ret = store_index_mailbox_find(&st->ix, "INBOX", &inbox);

	if (ret == 0 && create)
		ret = populate(st, old, error_r);
	else if (ret == 0)
		*error_r = "index has no INBOX", ret = -1;
	else if (ret < 0)
		*error_r = "cannot read index";
	if (ret >= 0)
		ret = store_index_mailbox_list(&st->ix, collect_mailbox, &m, error_r);
	for (size_t i = 0; ret >= 0 && i < m.count; i++)
		ret = reconcile_one(st, m.ids[i], m.names[i], create, error_r);
	mailbox_ids_free(&m);
	return ret < 0 ? -1 : 0;
}

/* Open the index at index_path and reconcile everything in one write
 * transaction. */
static int store_start(struct store *st, const char *index_path, bool create,
		       const struct old_uv *old, const char **error_r)
{
	if (store_index_open(&st->ix, index_path, create, error_r) < 0)
		return -1;
	if (store_index_begin(&st->ix, error_r) < 0)
		return -1;
	if (reconcile_all(st, create, old, error_r) < 0) {
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
	if (create && make_root(data_dir, st, error_r) < 0)
		;
	else if (!store_maildir_folder_exists(st->maildir))
		*error_r = "no mail store for this account";
	else
		ret = store_start(st, buf_cstr(&path), create, NULL, error_r);
	buf_free(&path);
	if (ret < 0) {
		store_close(st);
		return -1;
	}
	*st_r = st;
	return 0;
}

/* End the open batch. A dropped batch loses its keyless files (their
 * retry stores a new copy) but keeps the keyed ones: committed or not,
 * the retry of their key (or the next reconcile) adopts them, once. */
static void batch_end(struct store *st, bool dropped)
{
	for (size_t i = 0; i < st->npending; i++) {
		if (dropped && !st->pending[i].keyed && st->pending[i].path != NULL)
			unlink(st->pending[i].path);
		free(st->pending[i].path);
	}
	for (size_t i = 0; i < st->ntouched; i++)
		free(st->touched[i]);
	st->npending = 0;
	st->ntouched = 0;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->ix.db != NULL)
		store_index_rollback(&st->ix);
	batch_end(st, true);
	store_index_close(&st->ix);
	store_free(st);
}

static void batch_add(struct store *st, const char *path, bool keyed,
		      bool created, const char *newdir)
{
	size_t i;

	if (st->npending == st->pending_cap) {
		st->pending_cap = st->pending_cap ? st->pending_cap * 2 : 16;
		st->pending = xrealloc(st->pending,
				       st->pending_cap * sizeof(*st->pending));
	}
	st->pending[st->npending].path = created ? xstrdup(path) : NULL;
	st->pending[st->npending++].keyed = keyed;
	for (i = 0; i < st->ntouched; i++)
		if (strcmp(st->touched[i], newdir) == 0)
			return;
	if (st->ntouched == st->touched_cap) {
		st->touched_cap = st->touched_cap ? st->touched_cap * 2 : 8;
		st->touched = xrealloc(st->touched,
				       st->touched_cap * sizeof(*st->touched));
	}
	st->touched[st->ntouched++] = xstrdup(newdir);
}

int store_sync(struct store *st, const char **error_r)
{
	int ret = 0;

	if (st->failed) {
		*error_r = "delivery batch lost (index rolled back)";
		ret = -1;
	}
	for (size_t i = 0; ret == 0 && i < st->ntouched; i++) {
		if (store_maildir_fsync_dir(st->touched[i]) < 0) {
			log_error("store op=fsync path=%s error=%s",
				  st->touched[i], strerror(errno));
			*error_r = "cannot fsync mail directory";
			ret = -1;
		}
	}
	if (ret == 0 && store_index_in_txn(&st->ix))
		ret = store_index_commit(&st->ix, error_r);
	store_index_rollback(&st->ix);	/* a no-op after a commit */
	batch_end(st, ret < 0);
	st->failed = false;
	return ret;
}

static int check_delivery(const struct store_delivery *d, const char **error_r)
{
	if (d->mailbox == NULL || !store_name_mailbox_valid(d->mailbox))
		*error_r = "invalid mailbox name";
	else if (d->prefix == NULL && d->prefix_len > 0)
		*error_r = "prefix missing";
	else if (d->src_len > 0 && d->src_fd < 0)
		*error_r = "no message source";
	else if (d->src_len > UINT64_MAX - d->prefix_len)
		*error_r = "message too large";
	else if (d->internaldate <= 0)
		*error_r = "invalid internaldate";
	else
		return 0;
	return -1;
}

/* Add the index row for a file now in new/ (one savepoint, so a failure
 * leaves the rest of the batch intact). */
static int index_add(struct store *st, int64_t mailbox_id, const char *name,
		     const char *key, uint64_t size, time_t internaldate,
		     uint32_t *uid_r, const char **error_r)
{
	struct store_index_msg m = {
		.mailbox_id = mailbox_id, .filename = name, .key = key,
		.size = size, .internaldate = (int64_t)internaldate,
	};

	if (store_index_savepoint(&st->ix) < 0) {
		*error_r = "cannot add message to index";
		return -1;
	}
	if (store_index_msg_add(&st->ix, &m, uid_r, error_r) < 0 ||
	    store_index_release(&st->ix) < 0) {
		store_index_undo(&st->ix);
		return -1;
	}
	return 0;
}

/* Paths of one delivery: the folder, its tmp/ and new/ entries. */
struct delivery_paths {
	struct buf dir, name, tmp, new, newdir;
};

static void paths_free(struct delivery_paths *p)
{
	buf_free(&p->dir);
	buf_free(&p->name);
	buf_free(&p->tmp);
	buf_free(&p->new);
	buf_free(&p->newdir);
}

static int make_paths(struct store *st, const struct store_delivery *d,
		      struct delivery_paths *p, const char **error_r)
{
	if (store_name_folder_path(&p->dir, st->maildir,
				   canonical_mailbox(d->mailbox)) < 0) {
		*error_r = "invalid mailbox name";
		return -1;
	}
	if (d->delivery_key != NULL) {
		if (store_name_keyed(&p->name, d->internaldate, d->delivery_key,
				     st->host, error_r) < 0)
			return -1;
	} else {
		store_name_unique(&p->name, st->host, ++st->counter);
	}
	buf_printf(&p->tmp, "%s/tmp/%s", buf_cstr(&p->dir), buf_cstr(&p->name));
	buf_printf(&p->newdir, "%s/new", buf_cstr(&p->dir));
	buf_printf(&p->new, "%s/%s", buf_cstr(&p->newdir), buf_cstr(&p->name));
	return 0;
}

/* The file of this key is already in new/ (an earlier attempt whose batch
 * was not committed): make sure it has its row. */
static int adopt(struct store *st, int64_t mailbox_id,
		 const struct store_delivery *d, struct delivery_paths *p,
		 const struct stat *sb, uint32_t *uid_r, const char **error_r)
{
	int ret = store_index_filename_find(&st->ix, mailbox_id,
					    buf_cstr(&p->name), uid_r);

	if (ret < 0) {
		*error_r = "cannot read index";
		return -1;
	}
	if (ret == 0 && index_add(st, mailbox_id, buf_cstr(&p->name),
				  d->delivery_key, (uint64_t)sb->st_size,
				  d->internaldate, uid_r, error_r) < 0)
		return -1;
	/* its earlier batch may have missed the directory fsync */
	batch_add(st, buf_cstr(&p->new), true, false, buf_cstr(&p->newdir));
	return 0;
}

/* tmp/ file, fsync, rename into new/, index row. */
static int write_new(struct store *st, int64_t mailbox_id,
		     const struct store_delivery *d, struct delivery_paths *p,
		     uint32_t *uid_r, const char **error_r)
{
	bool keyed = d->delivery_key != NULL;

	if (store_maildir_write(buf_cstr(&p->tmp), !keyed, d, error_r) < 0)
		return -1;
	if (rename(buf_cstr(&p->tmp), buf_cstr(&p->new)) < 0) {
		log_error("store op=rename path=%s error=%s", buf_cstr(&p->new),
			  strerror(errno));
		unlink(buf_cstr(&p->tmp));
		*error_r = "cannot move message into new/";
		return -1;
	}
	if (index_add(st, mailbox_id, buf_cstr(&p->name), d->delivery_key,
		      d->prefix_len + d->src_len, d->internaldate, uid_r,
		      error_r) < 0) {
		unlink(buf_cstr(&p->new));
		return -1;
	}
	batch_add(st, buf_cstr(&p->new), keyed, true, buf_cstr(&p->newdir));
	return 1;
}

static int deliver_locked(struct store *st, const struct store_delivery *d,
			  uint32_t *uid_r, const char **error_r)
{
	struct delivery_paths p = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	struct stat sb;
	int64_t mailbox_id;
	int ret;

	if (d->delivery_key != NULL &&
	    (ret = store_index_key_find(&st->ix, d->delivery_key, uid_r)) != 0) {
		if (ret < 0)
			*error_r = "cannot read index";
		return ret < 0 ? -1 : 0;
	}
	ret = store_index_mailbox_find(&st->ix, canonical_mailbox(d->mailbox),
				       &mailbox_id);
	if (ret <= 0) {
		*error_r = ret == 0 ? "no such mailbox" : "cannot read index";
		return -1;
	}
	if (make_paths(st, d, &p, error_r) < 0)
		ret = -1;
	else if (d->delivery_key != NULL && lstat(buf_cstr(&p.new), &sb) == 0)
		ret = adopt(st, mailbox_id, d, &p, &sb, uid_r, error_r);
	else
		ret = write_new(st, mailbox_id, d, &p, uid_r, error_r);
	paths_free(&p);
	return ret;
}

int store_deliver(struct store *st, const struct store_delivery *d,
		  uint32_t *uid_r, const char **error_r)
{
	int ret;

	*uid_r = 0;
	if (st->failed) {
		*error_r = "delivery batch lost; call store_sync";
		return -1;
	}
	if (check_delivery(d, error_r) < 0)
		return -1;
	if (!store_index_in_txn(&st->ix) && store_index_begin(&st->ix, error_r) < 0)
		return -1;
	ret = deliver_locked(st, d, uid_r, error_r);
	if (ret < 0 && !store_index_in_txn(&st->ix) && st->npending > 0) {
		/* SQLite rolled the whole batch back (I/O error, disk full) */
		st->failed = true;
		batch_end(st, true);
	}
	return ret;
}

int store_mailbox_status(struct store *st, const char *mailbox,
			 struct store_mailbox_status *status_r)
{
	memset(status_r, 0, sizeof(*status_r));
	if (!store_name_mailbox_valid(mailbox))
		return -1;
	return store_index_mailbox_status(&st->ix, canonical_mailbox(mailbox),
					  status_r) == 1 ? 0 : -1;
}

int store_mailbox_count(struct store *st, const char *mailbox,
			uint64_t *messages_r)
{
	struct store_mailbox_status status;

	if (store_mailbox_status(st, mailbox, &status) < 0)
		return -1;
	*messages_r = status.messages;
	return 0;
}

static int collect_uv(int64_t id, const char *name, uint32_t uidvalidity,
		      void *ctx)
{
	struct old_uv *old = ctx;

	old->names = xrealloc(old->names, (old->count + 1) * sizeof(*old->names));
	old->uv = xrealloc(old->uv, (old->count + 1) * sizeof(*old->uv));
	old->names[old->count] = xstrdup(name);
	old->uv[old->count++] = uidvalidity;
	return 0;
}

/* Best effort: the UIDVALIDITY values of the index being replaced, so the
 * new ones are larger even within the same second (RFC 9051 §2.3.1.1). */
static void old_uv_read(const char *path, struct old_uv *old)
{
	struct store_index ix;
	const char *error;

	if (access(path, F_OK) != 0 || store_index_open(&ix, path, false, &error) < 0)
		return;
	(void)store_index_mailbox_list(&ix, collect_uv, old, &error);
	store_index_close(&ix);
}

static void old_uv_free(struct old_uv *old)
{
	for (size_t i = 0; i < old->count; i++)
		free(old->names[i]);
	free(old->names);
	free(old->uv);
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
	struct old_uv old = { NULL, NULL, 0 };
	int ret = -1;

	old_uv_read(index, &old);
	unlink_db(tmp, true);
	if (store_start(st, tmp, true, &old, error_r) < 0)
		;
	else if (store_index_detach_wal(&st->ix) < 0)
		*error_r = "cannot finish new index";
	else
		ret = 0;
	store_index_close(&st->ix);
	old_uv_free(&old);
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
		log_info("store op=reindex account=%" PRId64 " status=ok", account_id);
	buf_free(&index);
	buf_free(&tmp);
	store_close(st);
	return ret;
}
