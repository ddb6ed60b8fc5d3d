/* store_reconcile: files are the truth, the index follows them.
 *
 * Runs at every store_open inside the index write lock, so no delivery of
 * this store (which holds the same lock from its first store_deliver to
 * store_sync) is half-way while the directories are read. A file is matched
 * to its row by base name (maildir(5): the part before ':' never changes
 * when a client moves it from new/ to cur/ or changes its flags); the
 * row's location is corrected to where the file is. */
#include "store/store_reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_maildir.h"
#include "store/store_name.h"

struct rc_file {
	const struct store_maildir_entry *e;
	struct store_name_info info;
	bool indexed;
};

struct rc_row {
	uint32_t uid;
	char *filename;
	char *location;		/* as the index has it, or NULL */
	bool found;
};

struct reconcile {
	struct store_index *ix;
	int64_t mailbox_id;
	const char *dir;
	struct store_maildir_list list;
	struct rc_file *files;
	size_t nfiles;
	struct rc_row *rows;
	size_t nrows, rows_cap;
	unsigned added, expunged, moved;
};

/* Bytewise, like SQLite's BINARY collation that orders the index rows. */
static int base_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int file_cmp_base(const void *x, const void *y)
{
	const struct rc_file *a = x, *b = y;

	return base_cmp(a->e->name, a->info.base_len, b->e->name, b->info.base_len);
}

/* UID order for new rows: delivery time first, then the name. */
static int file_cmp_time(const void *x, const void *y)
{
	const struct rc_file *a = x, *b = y;

	if (a->info.time != b->info.time)
		return a->info.time < b->info.time ? -1 : 1;
	return file_cmp_base(x, y);
}

static int collect_row(uint32_t uid, const char *filename,
		       const char *location, void *ctx)
{
	struct reconcile *rc = ctx;

	if (rc->nrows == rc->rows_cap) {
		rc->rows_cap = rc->rows_cap ? rc->rows_cap * 2 : 64;
		rc->rows = xrealloc(rc->rows, rc->rows_cap * sizeof(*rc->rows));
	}
	rc->rows[rc->nrows].uid = uid;
	rc->rows[rc->nrows].filename = xstrdup(filename);
	rc->rows[rc->nrows].location = location ? xstrdup(location) : NULL;
	rc->rows[rc->nrows].found = false;
	rc->nrows++;
	return 0;
}

/* The files of new/ and cur/, sorted by base name, duplicates dropped. */
static void collect_files(struct reconcile *rc)
{
	size_t n = 0;

	rc->files = xcalloc(rc->list.count + 1, sizeof(*rc->files));
	for (size_t i = 0; i < rc->list.count; i++) {
		rc->files[n].e = &rc->list.v[i];
		if (store_name_parse(rc->list.v[i].name, &rc->files[n].info) == 0)
			n++;
	}
	qsort(rc->files, n, sizeof(*rc->files), file_cmp_base);
	rc->nfiles = 0;
	for (size_t i = 0; i < n; i++)
		if (rc->nfiles == 0 ||
		    file_cmp_base(&rc->files[rc->nfiles - 1], &rc->files[i]) != 0)
			rc->files[rc->nfiles++] = rc->files[i];
}

/* The entry's location in its folder: "new/NAME" or "cur/NAME:2,..". */
static void location_of(const struct rc_file *f, struct buf *out)
{
	buf_printf(out, "%s/%s", f->e->in_cur ? "cur" : "new", f->e->name);
}

/* The index learns where a file is now (a client moved it, a rename was
 * not durable, an index of version 1 had no locations). */
static int update_location(struct reconcile *rc, const struct rc_file *f,
			   const struct rc_row *row)
{
	struct buf loc = BUF_INIT;
	int ret = 0;

	location_of(f, &loc);
	if (row->location == NULL || strcmp(row->location, buf_cstr(&loc)) != 0) {
		ret = store_index_row_set_location(rc->ix, rc->mailbox_id, row->uid,
						   buf_cstr(&loc));
		rc->moved++;
	}
	buf_free(&loc);
	return ret;
}

/* Merge the two sorted lists, marking what each side has. */
static int match(struct reconcile *rc)
{
	size_t i = 0, j = 0;

	while (i < rc->nfiles && j < rc->nrows) {
		const struct rc_file *f = &rc->files[i];
		const char *rn = rc->rows[j].filename;
		int c = base_cmp(f->e->name, f->info.base_len, rn, strlen(rn));

		if (c == 0) {
			if (update_location(rc, f, &rc->rows[j]) < 0)
				return -1;
			rc->files[i++].indexed = true;
			rc->rows[j++].found = true;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	return 0;
}

static int expunge_missing(struct reconcile *rc)
{
	for (size_t j = 0; j < rc->nrows; j++) {
		if (rc->rows[j].found)
			continue;
		if (store_index_msg_expunge(rc->ix, rc->mailbox_id, rc->rows[j].uid) < 0)
			return -1;
		rc->expunged++;
	}
	return 0;
}

/* The delivery key encoded in a keyed name, unless another message of the
 * account already carries it (a copied file): then the row gets none. */
static const char *recover_key(struct reconcile *rc, const struct rc_file *f,
			       struct buf *key)
{
	uint32_t uid;

	if (!f->info.keyed ||
	    store_name_key_decode(key, f->e->name + f->info.key_off,
				  f->info.key_len) < 0 ||
	    store_index_key_find(rc->ix, buf_cstr(key), &uid) != 0)
		return NULL;
	return buf_cstr(key);
}

static int add_file(struct reconcile *rc, const struct rc_file *f)
{
	struct store_index_msg m = { .mailbox_id = rc->mailbox_id };
	struct buf key = BUF_INIT, loc = BUF_INIT;
	const char *error;
	char *base;
	uint32_t uid;
	time_t mtime;
	int ret;

	if (store_maildir_stat(rc->dir, f->e, &m.size, &mtime) < 0)
		return 0;	/* gone meanwhile (moved by a client): next time */
	base = xstrndup(f->e->name, f->info.base_len);
	m.filename = base;
	m.key = recover_key(rc, f, &key);
	m.internaldate = f->info.time > 0 ? f->info.time : (int64_t)mtime;
	m.flags = f->e->in_cur ? f->info.flags : 0;
	location_of(f, &loc);
	m.location = buf_cstr(&loc);
	ret = store_index_msg_add(rc->ix, &m, &uid, &error);
	if (ret == 0)
		rc->added++;
	free(base);
	buf_free(&key);
	buf_free(&loc);
	return ret;
}

static int add_unindexed(struct reconcile *rc)
{
	size_t n = 0;

	for (size_t i = 0; i < rc->nfiles; i++)
		if (!rc->files[i].indexed)
			rc->files[n++] = rc->files[i];
	qsort(rc->files, n, sizeof(*rc->files), file_cmp_time);
	for (size_t i = 0; i < n; i++)
		if (add_file(rc, &rc->files[i]) < 0)
			return -1;
	return 0;
}

static void reconcile_free(struct reconcile *rc)
{
	for (size_t j = 0; j < rc->nrows; j++) {
		free(rc->rows[j].filename);
		free(rc->rows[j].location);
	}
	free(rc->rows);
	free(rc->files);
	store_maildir_list_free(&rc->list);
}

int store_reconcile_mailbox(struct store_index *ix, int64_t mailbox_id,
			    const char *dir, time_t now, const char **error_r)
{
	struct reconcile rc = { .ix = ix, .mailbox_id = mailbox_id, .dir = dir };
	unsigned cleaned = store_maildir_clean_tmp(dir, now);
	int ret = -1;

	if (store_maildir_scan(dir, &rc.list, error_r) < 0)
		return -1;
	*error_r = "cannot reconcile index with mail files";
	if (store_index_msg_list(ix, mailbox_id, collect_row, &rc) == 0) {
		collect_files(&rc);
		if (match(&rc) == 0 && expunge_missing(&rc) == 0 &&
		    add_unindexed(&rc) == 0)
			ret = 0;
	}
	if (ret == 0 && (rc.added || rc.expunged || rc.moved || cleaned))
		log_info("event=store op=reconcile dir=%s added=%u expunged=%u"
			 " moved=%u tmp_removed=%u", dir, rc.added, rc.expunged,
			 rc.moved, cleaned);
	reconcile_free(&rc);
	return ret;
}
