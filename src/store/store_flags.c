/* store_flags: STORE (RFC 3501 §6.4.6) with UNCHANGEDSINCE (RFC 7162
 * §3.1.3) and the keywords of a mailbox (RFC 3501 §2.3.2: atoms compared
 * case-insensitively, stored as first written, at most STORE_KEYWORDS_MAX
 * per mailbox).
 *
 * The index is authoritative. The file's ":2,FLAGS" suffix follows the
 * system flags (and the file moves from new/ to cur/) so that a reindex,
 * or a tool reading the Maildir, sees them, but not at once: STORE only
 * marks the row (rename_due), and store_flag_names_catch_up() renames the
 * marked files later, when the process is idle (as the text index is
 * filled), so a STORE over thousands of messages costs index updates
 * only. The renames are not fsynced: after a crash a file may show older
 * flags, which only matters to a reindex, and a stale location is found
 * again by name (store_row_open). Keywords live only in the index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store_index_int.h"
#include "store/store_private.h"

bool store_keyword_valid(const char *kw)
{
	size_t n = strlen(kw);

	if (n == 0 || n > STORE_KEYWORD_LEN_MAX || kw[0] == '\\')
		return false;
	for (const unsigned char *p = (const unsigned char *)kw; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	return true;
}

static int kwset_add_loaded(void *ctx, const char *kw)
{
	struct store_kwset *set = ctx;

	set->v = xrealloc(set->v, (set->count + 1) * sizeof(*set->v));
	set->v[set->count++] = xstrdup(kw);
	return 0;
}

int store_kwset_load(struct store *st, int64_t mailbox_id,
		     struct store_kwset *set)
{
	memset(set, 0, sizeof(*set));
	set->mailbox_id = mailbox_id;
	return store_index_kw_list(&st->ix, mailbox_id, kwset_add_loaded, set);
}

void store_kwset_free(struct store_kwset *set)
{
	for (size_t i = 0; i < set->count; i++)
		free(set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

const char *store_kwset_get(struct store *st, struct store_kwset *set,
			    const char *kw, bool add, const char **error_r)
{
	for (size_t i = 0; i < set->count; i++)
		if (str_ieq(set->v[i], kw))
			return set->v[i];
	if (!add)
		return NULL;
	if (set->count >= STORE_KEYWORDS_MAX) {
		*error_r = "too many keywords in this mailbox";
		return NULL;
	}
	if (store_index_kw_add(&st->ix, set->mailbox_id, kw) < 0) {
		*error_r = "cannot add keyword";
		return NULL;
	}
	kwset_add_loaded(set, kw);
	return set->v[set->count - 1];
}

/* Whether the space-separated list holds kw[0..len), case-insensitively. */
static bool kw_in(const char *list, const char *kw, size_t len)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && str_nieq(p, kw, len))
			return true;
		p += n;
		p += *p == ' ';
	}
	return false;
}

static void kw_append(struct buf *out, const char *kw, size_t len)
{
	if (kw_in(buf_cstr(out), kw, len))
		return;
	if (out->len > 0)
		buf_appendc(out, ' ');
	buf_append(out, kw, len);
}

int store_kwset_resolve(struct store *st, struct store_kwset *set,
			const char *const *keywords, size_t n, struct buf *out,
			const char **error_r)
{
	const char *kw;

	buf_append(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (keywords[i] == NULL || !store_keyword_valid(keywords[i])) {
			*error_r = "invalid keyword";
			return -1;
		}
		kw = store_kwset_get(st, set, keywords[i], true, error_r);
		if (kw == NULL)
			return -1;
		kw_append(out, kw, strlen(kw));
	}
	return 0;
}

int store_kwset_resolve_list(struct store *st, struct store_kwset *set,
			     const char *list, struct buf *out,
			     const char **error_r)
{
	const char *p = list, *kw;
	int ret = 0;

	buf_append(out, "", 0);
	while (ret == 0 && p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");
		char *one = xstrndup(p, n);

		kw = n > 0 ? store_kwset_get(st, set, one, true, error_r) : NULL;
		if (kw != NULL)
			kw_append(out, kw, strlen(kw));
		else if (n > 0)
			ret = -1;
		free(one);
		p += n;
		p += *p == ' ';
	}
	return ret;
}

/* The keywords after the change: current ones (less removed ones) and
 * the given ones (space-separated lists). */
static void kw_apply(enum store_flags_mode mode, const char *cur,
		     const char *given, struct buf *out)
{
	const char *p = cur;

	buf_append(out, "", 0);
	while (mode != STORE_FLAGS_REPLACE && p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0 && !(mode == STORE_FLAGS_REMOVE && kw_in(given, p, n)))
			kw_append(out, p, n);
		p += n;
		p += *p == ' ';
	}
	for (p = given; mode != STORE_FLAGS_REMOVE && *p != '\0';) {
		size_t n = strcspn(p, " ");

		kw_append(out, p, n);
		p += n;
		p += *p == ' ';
	}
}

static unsigned flags_apply(enum store_flags_mode mode, unsigned cur,
			    unsigned given)
{
	if (mode == STORE_FLAGS_REPLACE)
		return given;
	return mode == STORE_FLAGS_ADD ? cur | given : cur & ~given;
}

/* One STORE call inside its transaction. */
struct flags_op {
	struct store *st;
	int64_t mailbox_id;
	const struct store_flags_change *ch;
	struct buf given;		/* the change's keywords, resolved */
	struct store_index_rows changed;
	struct store_uids failed;
	uint64_t modseq;		/* of this command's changes, once taken */
};

/* Apply the change to row r: 0 (changed or not), -1 error. */
static int flags_one(struct flags_op *op, struct store_index_row *r,
		     const char **error_r)
{
	const struct store_flags_change *ch = op->ch;
	unsigned flags = flags_apply(ch->mode, r->flags, ch->flags);
	struct buf kw = BUF_INIT;
	int ret = 0;

	kw_apply(ch->mode, r->keywords, buf_cstr(&op->given), &kw);
	if (flags == r->flags && strcmp(buf_cstr(&kw), r->keywords ? r->keywords : "") == 0)
		goto out;	/* unchanged: keeps its MODSEQ */
	ret = store_index_row_set_flags(&op->st->ix, op->mailbox_id, r, flags,
					kw.len ? buf_cstr(&kw) : NULL,
					flags != r->flags, &op->modseq);
	r->modseq = op->modseq;
	if (ret < 0) {
		*error_r = "cannot change flags";
		goto out;
	}
	r->flags = flags;
	free(r->keywords);
	r->keywords = kw.len ? xstrdup(buf_cstr(&kw)) : NULL;
	store_rows_add(&op->changed, r);
out:
	buf_free(&kw);
	return ret;
}

static int flags_locked(struct flags_op *op, const uint32_t *uids, size_t n,
			const char **error_r)
{
	struct store_kwset set;
	struct buf dir = BUF_INIT;
	int ret = store_folder_of(op->st, op->mailbox_id, &dir, NULL, NULL,
				  error_r);

	buf_free(&dir);
	if (ret <= 0)
		return -1;
	if (store_kwset_load(op->st, op->mailbox_id, &set) < 0) {
		*error_r = "cannot read keywords";
		return -1;
	}
	ret = op->ch->mode == STORE_FLAGS_REMOVE ? 0 :
	      store_kwset_resolve(op->st, &set, op->ch->keywords,
				  op->ch->nkeywords, &op->given, error_r);
	store_kwset_free(&set);
	/* rows read a run of consecutive UIDs at a time (one query) */
	for (size_t i = 0; ret == 0 && i < n;) {
		struct store_index_rows run = { NULL, 0, 0 };
		size_t j = i;
		while (j + 1 < n && j + 1 - i < STORE_LIST_CHUNK &&
		       uids[j + 1] == uids[j] + 1)
			j++;
		if (store_index_row_range(&op->st->ix, op->mailbox_id, uids[i], 0,
					  j - i + 1, &run) < 0) {
			*error_r = "cannot read index";
			ret = -1;
		}
		for (size_t k = 0; ret == 0 && k < run.count; k++) {
			struct store_index_row *r = &run.v[k];
			if (r->uid > uids[j])
				break;
			if (op->ch->unchangedsince != 0 &&
			    r->modseq > op->ch->unchangedsince)
				store_uids_add(&op->failed, r->uid);	/* RFC 7162 §3.1.3 */
			else
				ret = flags_one(op, r, error_r);
		}
		store_index_rows_free(&run);
		i = j + 1;
	}
	return ret;
}

/* The change as given: system flags we know, keywords that are atoms. */
static int check_change(const struct store_flags_change *ch, struct buf *given,
			const char **error_r)
{
	if ((ch->flags & ~(unsigned)STORE_FLAGS_ALL) != 0 ||
	    (unsigned)ch->mode > STORE_FLAGS_REMOVE) {
		*error_r = "invalid flags";
		return -1;
	}
	for (size_t i = 0; i < ch->nkeywords; i++) {
		if (ch->keywords[i] == NULL || !store_keyword_valid(ch->keywords[i])) {
			*error_r = "invalid keyword";
			return -1;
		}
		if (ch->mode == STORE_FLAGS_REMOVE)
			kw_append(given, ch->keywords[i], strlen(ch->keywords[i]));
	}
	buf_append(given, "", 0);
	return 0;
}

/* Run fn in a transaction committed without the WAL fsync (as Dovecot
 * and Maildir renames do): a power loss may forget the last flag changes,
 * which hands out no UID twice. The next FULL commit makes them durable. */
static int light_txn(struct store *st, int (*fn)(void *ctx, const char **error_r),
		     void *ctx, const char **error_r)
{
	int ret = 0;

	if (store_index_exec(&st->ix, "PRAGMA synchronous=NORMAL") < 0) {
		*error_r = "cannot set index durability";
		ret = -1;
	}
	if (ret == 0)
		ret = store_txn_begin(st, error_r);
	if (ret == 0) {
		ret = fn(ctx, error_r);
		if (ret == 0)
			ret = store_txn_commit(st, error_r);
		else
			store_index_rollback(&st->ix);
	}
	if (store_index_exec(&st->ix, "PRAGMA synchronous=FULL") < 0) {
		log_error("event=store op=sync-mode error=\"cannot restore FULL\"");
		if (ret == 0) {
			*error_r = "cannot set index durability";
			ret = -1;
		}
	}
	return ret;
}

struct flags_call {
	struct flags_op *op;
	const uint32_t *uids;
	size_t n;
};

static int flags_txn(void *ctx, const char **error_r)
{
	struct flags_call *c = ctx;

	return flags_locked(c->op, c->uids, c->n, error_r);
}

int store_msg_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		    size_t n, const struct store_flags_change *ch,
		    store_msg_cb *cb, int (*failed_cb)(void *ctx, uint32_t uid),
		    void *ctx, const char **error_r)
{
	struct flags_op op = { .st = st, .mailbox_id = mailbox_id, .ch = ch };
	struct flags_call call = { &op, uids, n };
	int ret = check_change(ch, &op.given, error_r);

	if (ret == 0)
		ret = light_txn(st, flags_txn, &call, error_r);
	if (ret == 0) {
		store_rows_report(&op.changed, 0, cb, ctx);
		store_uids_report(&op.failed, failed_cb, ctx);
	}
	free(op.failed.v);
	store_index_rows_free(&op.changed);
	buf_free(&op.given);
	return ret;
}

int store_keywords(struct store *st, int64_t mailbox_id,
		   int (*cb)(void *ctx, const char *kw), void *ctx,
		   const char **error_r)
{
	if (store_index_kw_list(&st->ix, mailbox_id, cb, ctx) < 0) {
		*error_r = "cannot read keywords";
		return -1;
	}
	return 0;
}

/* --- file names catching up with the flags (idle time) --- */

struct names_call {
	struct store *st;
	size_t max, done;
};

/* Rename row r's file to the name its flags give: the new location into
 * loc, or loc empty when the file stays where it is. */
static void name_one(const char *dir, const struct store_index_row *r,
		     struct buf *loc)
{
	struct buf to = BUF_INIT;

	store_name_location(loc, true, r->filename, r->flags);
	if (r->location != NULL && strcmp(r->location, buf_cstr(loc)) == 0)
		return;
	buf_printf(&to, "%s/%s", dir, buf_cstr(loc));
	if (store_row_transfer(dir, r, buf_cstr(&to), false, NULL) < 0) {
		if (errno != ENOENT)	/* ENOENT: expunged meanwhile */
			log_error("event=store op=rename path=%s error=%s",
				  buf_cstr(&to), strerror(errno));
		buf_reset(loc);
	}
	buf_free(&to);
}

static int names_mailbox(struct names_call *c, int64_t id, const char **error_r)
{
	struct store_index_rows rows = { NULL, 0, 0 };
	struct buf dir = BUF_INIT, loc = BUF_INIT;
	int ret = store_folder_of(c->st, id, &dir, NULL, NULL, error_r);

	if (ret == 1 && store_index_rename_due(&c->st->ix, id, c->max - c->done,
					       &rows) < 0) {
		*error_r = "cannot read index";
		ret = -1;
	}
	for (size_t i = 0; ret == 1 && i < rows.count; i++) {
		buf_reset(&loc);
		name_one(buf_cstr(&dir), &rows.v[i], &loc);
		if (store_index_rename_done(&c->st->ix, id, rows.v[i].uid,
					    loc.len ? buf_cstr(&loc) : NULL) < 0) {
			*error_r = "cannot update index";
			ret = -1;
		}
	}
	c->done += rows.count;
	store_index_rows_free(&rows);
	buf_free(&dir);
	buf_free(&loc);
	return ret < 0 ? -1 : 0;
}

static void add_id(int64_t id, void *ctx)
{
	store_mailbox_ids_add(ctx, id);
}

static int names_txn(void *ctx, const char **error_r)
{
	struct names_call *c = ctx;
	struct store_mailbox_ids ids = { NULL, 0, 0 };
	int ret = 0;

	if (store_index_rename_mailboxes(&c->st->ix, add_id, &ids) < 0) {
		*error_r = "cannot read index";
		ret = -1;
	}
	for (size_t i = 0; ret == 0 && i < ids.n && c->done < c->max; i++)
		ret = names_mailbox(c, ids.ids[i], error_r);
	store_mailbox_ids_free(&ids);
	return ret;
}

int store_flag_names_catch_up(struct store *st, size_t max, size_t *done_r,
			      const char **error_r)
{
	struct names_call c = { st, max, 0 };
	int ret = light_txn(st, names_txn, &c, error_r);

	*done_r = ret == 0 ? c.done : 0;
	return ret;
}
