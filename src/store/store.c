/* store: delivery into one account's mail store (DESIGN §5).
 *
 * Delivery order: store_deliver writes tmp/<name> and adds the index row
 * inside the batch transaction; store_sync then makes the whole batch
 * durable with few syncs whatever its size: one syncfs(2) for the data of
 * every tmp/ file (it is fsync of every file of the file system), then the
 * renames into new/, an fsync of each new/ directory touched, and the
 * commit. So a file only ever appears in new/ with its data on disk. A
 * source file that is durable already (the queue file, whose trace makes
 * it the message as delivered) is hard-linked into new/ at once instead:
 * nothing to write, nothing to syncfs. A crash anywhere leaves either a
 * stale tmp/ file (removed by the next reconcile) or a file in new/ whose
 * row was not committed (adopted by the next reconcile, or by the
 * redelivery of its key, which then returns 0): exactly once.
 *
 * The batch holds the index write lock from its first store_deliver to
 * store_sync, so other processes (IMAP) wait for it: sync promptly.
 *
 * Each new file is parsed once right after it is written (it is still in
 * the page cache): its ENVELOPE, BODY and BODYSTRUCTURE, and unless
 * store_set_fts_at_delivery turned it off its text for the full-text
 * index, go into the index row, so IMAP never parses it again. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store_cache.h"
#include "store/store_maildir.h"
#include "store/store_private.h"

static const char *canonical_mailbox(const char *name)
{
	return str_ieq(name, "INBOX") ? "INBOX" : name;
}

/* End the open batch. A dropped batch loses its keyless files (their
 * retry stores a new copy) but keeps the keyed ones: committed or not,
 * the retry of their key (or the next reconcile) adopts them, once. */
static void batch_end(struct store *st, bool dropped)
{
	for (size_t i = 0; i < st->npending; i++) {
		struct store_pending *p = &st->pending[i];
		if (p->tmp != NULL)
			unlink(p->tmp);		/* never made it to new/ */
		else if (dropped && !p->keyed && p->path != NULL)
			unlink(p->path);
		free(p->path);
		free(p->tmp);
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
	free(st->pending);
	free(st->touched);
	free(st->root);
	free(st->maildir);
	free(st);
}

static void batch_add(struct store *st, const char *path, const char *tmp,
		      bool keyed, bool created, const char *newdir)
{
	size_t i;

	if (st->npending == st->pending_cap) {
		st->pending_cap = st->pending_cap ? st->pending_cap * 2 : 16;
		st->pending = xrealloc(st->pending,
				       st->pending_cap * sizeof(*st->pending));
	}
	st->pending[st->npending].path = created ? xstrdup(path) : NULL;
	st->pending[st->npending].tmp = tmp != NULL ? xstrdup(tmp) : NULL;
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

/* Make the data of every tmp/ file of the batch durable, then move the
 * files into new/. */
static int publish_files(struct store *st, const char **error_r)
{
	bool any = false;
	int fd;

	for (size_t i = 0; i < st->npending && !any; i++)
		any = st->pending[i].tmp != NULL;
	if (!any)
		return 0;
	fd = open(st->maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0) {
		log_error("event=store op=syncfs path=%s error=%s", st->maildir,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		*error_r = "cannot sync mail files";
		return -1;
	}
	close(fd);
	for (size_t i = 0; i < st->npending; i++) {
		struct store_pending *p = &st->pending[i];
		if (p->tmp == NULL)
			continue;
		if (rename(p->tmp, p->path) < 0) {
			log_error("event=store op=rename path=%s error=%s", p->path,
				  strerror(errno));
			*error_r = "cannot move message into new/";
			return -1;
		}
		free(p->tmp);
		p->tmp = NULL;
	}
	return 0;
}

int store_sync(struct store *st, const char **error_r)
{
	int ret = 0;

	if (st->failed) {
		*error_r = "delivery batch lost (index rolled back)";
		ret = -1;
	}
	if (ret == 0)
		ret = publish_files(st, error_r);
	for (size_t i = 0; ret == 0 && i < st->ntouched; i++) {
		if (store_maildir_fsync_dir(st->touched[i]) < 0) {
			log_error("event=store op=fsync path=%s error=%s",
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

/* Add the index row for a file in new/ (one savepoint, so a failure
 * leaves the rest of the batch intact), with its cached values and text
 * when c is set. */
static int index_add(struct store *st, int64_t mailbox_id, const char *name,
		     const char *key, uint64_t size, time_t internaldate,
		     const struct store_cache *c, uint32_t *uid_r,
		     const char **error_r)
{
	struct buf loc = BUF_INIT;
	struct store_index_msg m = {
		.mailbox_id = mailbox_id, .filename = name, .key = key,
		.size = size, .internaldate = (int64_t)internaldate,
		.savedate = (int64_t)time(NULL), .cache = c,
	};
	int ret = 0;

	store_name_location(&loc, false, name, 0);
	m.location = buf_cstr(&loc);

	if (store_index_savepoint(&st->ix) < 0) {
		*error_r = "cannot add message to index";
		ret = -1;
	} else if (store_index_msg_add(&st->ix, &m, uid_r, error_r) < 0 ||
		   store_index_release(&st->ix) < 0) {
		store_index_undo(&st->ix);
		ret = -1;
	}
	buf_free(&loc);
	return ret;
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
				  d->internaldate, NULL, uid_r, error_r) < 0)
		return -1;
	/* its earlier batch may have missed the directory fsync */
	batch_add(st, buf_cstr(&p->new), NULL, true, false, buf_cstr(&p->newdir));
	return 0;
}

/* ENVELOPE, BODY, BODYSTRUCTURE and search text of the file just
 * written (in the page cache): one parse, so the IMAP side never has to.
 * A failure only leaves them to be computed when first needed. */
static bool cache_of(struct store *st, const char *path, struct store_cache *c)
{
	const char *error;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned what = STORE_CACHE_STRUCTURE |
			(st->fts_at_delivery ? STORE_CACHE_TEXT : 0);
	bool ok = fd >= 0 &&
		  store_cache_fd(c, fd, what, STORE_FTS_TEXT_MAX, &error) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The durable source file linked straight into new/ (no data to write or
 * sync; the name is made durable with the batch's directory fsyncs):
 * true when done. */
static bool link_source(const struct store_delivery *d,
			const struct delivery_paths *p)
{
	if (d->src_path == NULL || d->prefix_len > 0 || d->src_off > 0)
		return false;
	if (link(d->src_path, buf_cstr(&p->new)) == 0)
		return true;
	/* e.g. EXDEV (the queue on another file system), EMLINK, EPERM */
	log_debug("event=store op=link path=%s error=%s action=copy",
		  buf_cstr(&p->new), strerror(errno));
	return false;
}

/* The message file (linked into new/, or written to tmp/ for store_sync
 * to sync and rename) and its index row. */
static int write_new(struct store *st, int64_t mailbox_id,
		     const struct store_delivery *d, struct delivery_paths *p,
		     uint32_t *uid_r, const char **error_r)
{
	bool keyed = d->delivery_key != NULL;
	bool linked = link_source(d, p);
	const char *file = buf_cstr(linked ? &p->new : &p->tmp);
	struct store_cache c;
	int ret;

	if (!linked && store_maildir_write(file, !keyed, d, error_r) < 0)
		return -1;
	store_cache_init(&c);
	ret = index_add(st, mailbox_id, buf_cstr(&p->name), d->delivery_key,
			d->prefix_len + d->src_len, d->internaldate,
			cache_of(st, file, &c) ? &c : NULL, uid_r, error_r);
	store_cache_free(&c);
	if (ret < 0) {
		unlink(file);
		return -1;
	}
	batch_add(st, buf_cstr(&p->new), linked ? NULL : file, keyed, true,
		  buf_cstr(&p->newdir));
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
	if (st->npending == 0)
		store_index_rollback(&st->ix);	/* nothing to commit: unlock */
	return ret;
}

void store_set_fts_at_delivery(struct store *st, bool on)
{
	st->fts_at_delivery = on;
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
