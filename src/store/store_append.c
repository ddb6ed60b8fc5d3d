/* store_append: IMAP APPEND (RFC 3501 §6.3.11, RFC 4315 APPENDUID).
 *
 * The message streams into Maildir/tmp/ (no lock held while a client
 * sends a large literal); finish fsyncs it, computes the cached values
 * and the search text, then under the write lock renames it into the
 * mailbox's cur/ with its flags, fsyncs cur/ and commits the row. A
 * failed commit removes the file again; a crash before the commit leaves
 * a file that the next reconciliation adopts (as for delivery). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_cache.h"
#include "store/store_maildir.h"
#include "store/store_private.h"

struct store_append {
	struct store *st;
	int fd;
	struct buf base;	/* file name, without ":2," */
	struct buf tmp;		/* Maildir/tmp/<base> */
	uint64_t size;
	const char *error;	/* a write failed: finish fails with this */
};

struct store_append *store_append_begin(struct store *st, const char **error_r)
{
	struct store_append *a = xcalloc(1, sizeof(*a));

	a->st = st;
	store_new_base(st, &a->base);
	buf_printf(&a->tmp, "%s/tmp/%s", st->maildir, buf_cstr(&a->base));
	a->fd = open(buf_cstr(&a->tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		log_error("event=store op=create path=%s error=%s", buf_cstr(&a->tmp),
			  strerror(errno));
		*error_r = store_maildir_write_error(errno);
		buf_free(&a->base);
		buf_free(&a->tmp);
		free(a);
		return NULL;
	}
	return a;
}

int store_append_write(struct store_append *a, const void *data, size_t len,
		       const char **error_r)
{
	if (a->error == NULL && buf_write_fd(a->fd, data, len) < 0) {
		log_error("event=store op=write path=%s error=%s", buf_cstr(&a->tmp),
			  strerror(errno));
		a->error = store_maildir_write_error(errno);
	}
	if (a->error != NULL) {
		*error_r = a->error;
		return -1;
	}
	a->size += len;
	return 0;
}

void store_append_abort(struct store_append *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	unlink(buf_cstr(&a->tmp));
	buf_free(&a->base);
	buf_free(&a->tmp);
	free(a);
}

/* fsync the data, then read it back for the cache. */
static int append_prepare(struct store_append *a, struct store_cache *c,
			  const char **error_r)
{
	int fd = a->fd, ret;

	a->fd = -1;
	if (a->error != NULL) {
		*error_r = a->error;
		close(fd);
		return -1;
	}
	if (fsync(fd) < 0) {
		*error_r = store_maildir_write_error(errno);
		close(fd);
		return -1;
	}
	close(fd);
	fd = open(buf_cstr(&a->tmp), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "cannot read message file";
		return -1;
	}
	ret = store_cache_fd(c, fd, STORE_CACHE_STRUCTURE | STORE_CACHE_TEXT,
			     STORE_FTS_TEXT_MAX, error_r);
	close(fd);
	return ret;
}

/* The parameters of one finish. */
struct append_args {
	int64_t mailbox_id;
	unsigned flags;
	const char *const *keywords;
	size_t nkeywords;
	int64_t internaldate;
	const struct store_cache *cache;
};

/* Under the write lock: into the folder's cur/, durable, row added. */
static int append_locked(struct store_append *a, const struct append_args *p,
			 struct buf *path, uint32_t *uid_r,
			 uint32_t *uidvalidity_r, const char **error_r)
{
	struct buf dir = BUF_INIT, loc = BUF_INIT, kw = BUF_INIT, cur = BUF_INIT;
	struct store_kwset set = { 0, NULL, 0 };
	struct store_index_msg m = {
		.mailbox_id = p->mailbox_id, .filename = buf_cstr(&a->base),
		.size = a->size, .internaldate = p->internaldate,
		.savedate = (int64_t)time(NULL), .flags = p->flags,
		.cache = p->cache,
	};
	int ret = store_folder_of(a->st, p->mailbox_id, &dir, NULL, uidvalidity_r,
				  error_r) == 1 ? 0 : -1;

	if (ret == 0 && store_kwset_load(a->st, p->mailbox_id, &set) < 0) {
		*error_r = "cannot read keywords";
		ret = -1;
	}
	if (ret == 0)
		ret = store_kwset_resolve(a->st, &set, p->keywords, p->nkeywords,
					  &kw, error_r);
	if (ret == 0) {
		store_name_location(&loc, true, buf_cstr(&a->base), p->flags);
		buf_printf(path, "%s/%s", buf_cstr(&dir), buf_cstr(&loc));
		buf_printf(&cur, "%s/cur", buf_cstr(&dir));
		if (rename(buf_cstr(&a->tmp), buf_cstr(path)) < 0 ||
		    store_maildir_fsync_dir(buf_cstr(&cur)) < 0) {
			log_error("event=store op=append path=%s error=%s",
				  buf_cstr(path), strerror(errno));
			*error_r = "cannot move message into its mailbox";
			ret = -1;
		}
	}
	if (ret == 0) {
		m.location = buf_cstr(&loc);
		m.keywords = kw.len > 0 ? buf_cstr(&kw) : NULL;
		ret = store_index_msg_add(&a->st->ix, &m, uid_r, error_r);
	}
	store_kwset_free(&set);
	buf_free(&dir);
	buf_free(&loc);
	buf_free(&kw);
	buf_free(&cur);
	return ret;
}

static int append_commit(struct store_append *a, const struct append_args *p,
			 uint32_t *uid_r, uint32_t *uidvalidity_r,
			 const char **error_r)
{
	struct buf path = BUF_INIT;
	int ret;

	if (store_txn_begin(a->st, error_r) < 0)
		return -1;
	ret = append_locked(a, p, &path, uid_r, uidvalidity_r, error_r);
	if (ret == 0)
		ret = store_txn_commit(a->st, error_r);
	else
		store_index_rollback(&a->st->ix);
	if (ret < 0 && path.len > 0 && access(buf_cstr(&a->tmp), F_OK) != 0)
		unlink(buf_cstr(&path));	/* it was moved: not committed */
	buf_free(&path);
	return ret;
}

int store_append_finish(struct store_append *a, int64_t mailbox_id,
			unsigned flags, const char *const *keywords,
			size_t nkeywords, time_t internaldate, uint32_t *uid_r,
			uint32_t *uidvalidity_r, const char **error_r)
{
	struct store_cache c;
	struct append_args p = {
		.mailbox_id = mailbox_id, .flags = flags, .keywords = keywords,
		.nkeywords = nkeywords, .cache = &c,
		.internaldate = internaldate > 0 ? (int64_t)internaldate
						 : (int64_t)time(NULL),
	};
	int ret = 0;

	*uid_r = 0;
	store_cache_init(&c);
	if ((flags & ~(unsigned)STORE_FLAGS_ALL) != 0) {
		*error_r = "invalid flags";
		ret = -1;
	}
	if (ret == 0)
		ret = append_prepare(a, &c, error_r);
	if (ret == 0)
		ret = append_commit(a, &p, uid_r, uidvalidity_r, error_r);
	store_cache_free(&c);
	store_append_abort(a);	/* the tmp/ file is gone after a success */
	return ret;
}
