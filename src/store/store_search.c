/* store_search: SEARCH BODY and TEXT (RFC 3501 §6.4.4: the string is a
 * substring of the header or body, case-insensitive) over the decoded
 * text of store_cache. The stored text of a message, folded as the index
 * folds it (store_index_fold), must hold the folded needle; which
 * messages are looked at:
 *   needle >= 3 characters  those with all of its trigrams (the index);
 *   shorter needles         all of them;
 *   messages over the text  their file, decoded again (partial rows).
 *   limit
 * Rows without a text row yet (older index, reconciled files) are indexed
 * first, STORE_FTS_LAZY_BATCH per transaction. */
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "mail/rfc2047.h"
#include "store/store_cache.h"
#include "store/store_private.h"

/* One search. */
struct search {
	struct store *st;
	int64_t mailbox_id;
	bool body_only;
	struct buf needle;	/* valid UTF-8, NULs as spaces (as indexed) */
	struct buf folded;	/* needle folded */
	struct buf scratch;
	struct store_uids hits;
	const char *error;
};

/* Text rows for the rows of one batch, computed before the lock. */
static int index_batch(struct search *s, const char *dir,
		       const struct store_index_rows *rows)
{
	struct store_cache *c = xcalloc(rows->count, sizeof(*c));
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < rows->count; i++) {
		store_cache_init(&c[i]);
		ret = store_msg_compute(s->st, s->mailbox_id, dir, &rows->v[i],
					&c[i], !rows->v[i].cached,
					STORE_FTS_TEXT_MAX, &s->error);
		/* a file that is gone gets an empty row: nothing to find */
		c[i].has_text = true;
		ret = ret < 0 ? -1 : 0;
	}
	if (ret == 0)
		ret = store_txn_begin(s->st, &s->error);
	for (size_t i = 0; ret == 0 && i < rows->count; i++)
		if (store_index_cache_set(&s->st->ix, s->mailbox_id, rows->v[i].uid,
					  &c[i], true) < 0) {
			s->error = "cannot save text index";
			store_index_rollback(&s->st->ix);
			ret = -1;
		}
	if (ret == 0)
		ret = store_txn_commit(s->st, &s->error);
	for (size_t i = 0; i < rows->count; i++)
		store_cache_free(&c[i]);
	free(c);
	return ret;
}

static int index_missing(struct search *s)
{
	struct store_index_rows rows = { NULL, 0, 0 };
	struct buf dir = BUF_INIT;
	int ret = store_folder_of(s->st, s->mailbox_id, &dir, NULL, NULL, &s->error);

	ret = ret == 1 ? 0 : -1;
	while (ret == 0) {
		if (store_index_fts_missing(&s->st->ix, s->mailbox_id,
					    STORE_FTS_LAZY_BATCH, &rows) < 0) {
			s->error = "cannot read index";
			ret = -1;
		} else if (rows.count == 0) {
			break;
		} else {
			ret = index_batch(s, buf_cstr(&dir), &rows);
		}
		store_index_rows_free(&rows);
	}
	store_index_rows_free(&rows);
	buf_free(&dir);
	return ret;
}

/* Whether the folded form of text holds the folded needle. */
static bool holds(struct search *s, const char *text, size_t len)
{
	buf_reset(&s->scratch);
	if (store_index_fold(&s->st->ix, text, len, &s->scratch) < 0)
		return false;
	return memmem(s->scratch.ptr, s->scratch.len, s->folded.ptr,
		      s->folded.len) != NULL;
}

static int scan_text(void *ctx, uint32_t uid, const char *hdr, size_t hdr_len,
		     const char *body, size_t body_len)
{
	struct search *s = ctx;

	if (holds(s, body, body_len) || (!s->body_only && holds(s, hdr, hdr_len)))
		store_uids_add(&s->hits, uid);
	return 0;
}

/* Messages whose text row is partial: decode the whole file again. */
static int scan_partial(struct search *s)
{
	struct store_index_rows rows = { NULL, 0, 0 };
	struct buf dir = BUF_INIT;
	int ret = store_folder_of(s->st, s->mailbox_id, &dir, NULL, NULL, &s->error);

	if (ret == 1 && store_index_fts_partial(&s->st->ix, s->mailbox_id, &rows) < 0) {
		s->error = "cannot read index";
		ret = -1;
	}
	for (size_t i = 0; ret == 1 && i < rows.count; i++) {
		struct store_cache c;

		store_cache_init(&c);
		if (store_msg_compute(s->st, s->mailbox_id, buf_cstr(&dir),
				      &rows.v[i], &c, false, 0, &s->error) == 1)
			(void)scan_text(s, rows.v[i].uid, c.hdr_text.ptr,
					c.hdr_text.len, c.body_text.ptr,
					c.body_text.len);
		store_cache_free(&c);
	}
	store_index_rows_free(&rows);
	buf_free(&dir);
	return ret == 1 ? 0 : -1;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int search_run(struct search *s)
{
	int ret;

	if (utf8_chars(s->needle.ptr, s->needle.len) >= 3)
		ret = store_index_fts_candidates(&s->st->ix, s->mailbox_id,
						 s->folded.ptr, s->folded.len,
						 scan_text, s);
	else
		ret = store_index_fts_texts(&s->st->ix, s->mailbox_id, scan_text, s);
	if (ret < 0) {
		s->error = "cannot search text index";
		return -1;
	}
	return scan_partial(s);
}

/* Sort, drop duplicates, report. */
static void report(struct search *s, int (*cb)(void *ctx, uint32_t uid), void *ctx)
{
	size_t n = 0;

	if (s->hits.count > 1)
		qsort(s->hits.v, s->hits.count, sizeof(*s->hits.v), uid_cmp);
	for (size_t i = 0; i < s->hits.count; i++)
		if (n == 0 || s->hits.v[n - 1] != s->hits.v[i])
			s->hits.v[n++] = s->hits.v[i];
	s->hits.count = n;
	store_uids_report(&s->hits, cb, ctx);
}

static int all_uids(void *ctx, const struct store_msg *m)
{
	store_uids_add(ctx, m->uid);
	return 0;
}

int store_search_text(struct store *st, int64_t mailbox_id,
		      enum store_search_what what, const char *needle,
		      size_t len, int (*cb)(void *ctx, uint32_t uid), void *ctx,
		      const char **error_r)
{
	struct search s = { .st = st, .mailbox_id = mailbox_id,
			    .body_only = what == STORE_SEARCH_BODY };
	int ret = 0;

	rfc2047_utf8_append(needle, len, &s.needle);
	buf_append(&s.needle, "", 0);
	for (size_t i = 0; i < s.needle.len; i++)
		if (s.needle.ptr[i] == '\0')
			s.needle.ptr[i] = ' ';
	if (len == 0)	/* the empty string is in every message */
		ret = store_msg_list(st, mailbox_id, 1, all_uids, &s.hits, &s.error);
	else if (store_index_fold(&st->ix, s.needle.ptr, s.needle.len, &s.folded) < 0) {
		s.error = "cannot fold search string";
		ret = -1;
	} else if (index_missing(&s) < 0 || search_run(&s) < 0) {
		ret = -1;
	}
	if (ret == 0)
		report(&s, cb, ctx);
	else
		*error_r = s.error;
	free(s.hits.v);
	buf_free(&s.needle);
	buf_free(&s.folded);
	buf_free(&s.scratch);
	return ret;
}

/* --- catching up after delivery (the queue's idle time) --- */

int store_fts_catch_up(struct store *st, size_t max, size_t *done_r,
		       const char **error_r)
{
	struct store_mailbox_ids c;
	struct search s;
	struct buf dir = BUF_INIT;
	int ret = 0;

	*done_r = 0;
	if (store_mailbox_ids(st, &c, error_r) < 0) {
		store_mailbox_ids_free(&c);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.st = st;
	for (size_t i = 0; ret == 0 && i < c.n && *done_r < max; i++) {
		struct store_index_rows rows = { NULL, 0, 0 };
		size_t want = max - *done_r;
		s.mailbox_id = c.ids[i];
		if (store_folder_of(st, c.ids[i], &dir, NULL, NULL, error_r) != 1)
			continue;	/* gone meanwhile */
		if (store_index_fts_missing(&st->ix, c.ids[i],
					    want < STORE_FTS_LAZY_BATCH ? want :
					    STORE_FTS_LAZY_BATCH, &rows) < 0) {
			*error_r = "cannot read index";
			ret = -1;
		} else if (rows.count > 0) {
			ret = index_batch(&s, buf_cstr(&dir), &rows);
			if (ret < 0)
				*error_r = s.error;
			*done_r += rows.count;
			i--;	/* the same mailbox again, until it has none left */
		}
		store_index_rows_free(&rows);
	}
	store_mailbox_ids_free(&c);
	buf_free(&dir);
	return ret;
}
