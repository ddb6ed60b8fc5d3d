/* store_index_fts: the full-text index (FTS5, trigram tokenizer with
 * case_sensitive 0, detail=none) behind IMAP SEARCH BODY and TEXT (RFC
 * 3501 §6.4.4: substring, case-insensitive). For a needle of three
 * characters or more the index gives the messages holding all of its
 * trigrams (detail=none knows no positions, so no phrases); the caller
 * then checks each candidate's text, folded by store_index_fold (the
 * tokenizer's own folding, so that the index and the check agree on what
 * "case-insensitive" means). Shorter needles scan all texts.
 *
 * The FTS5 table is contentless: the text it was made from is kept in
 * fts_text, deflated (zlib), under the same id: a third of the size of
 * FTS5's own copy for mail text, and so a third of the writes. A text row
 * is shared by the copies of a message (COPY, MOVE) and goes with the last
 * of them; removing it from the index needs the text itself (FTS5's
 * 'delete' command), which fts_text gives back. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_cache.h"
#include "store/store_index_int.h"

#define Q_FTS_MISSING                                                       \
	"SELECT " ROW_COLS " FROM messages WHERE mailbox_id = ?1"           \
	" AND fts_id IS NULL ORDER BY uid LIMIT ?2"
/* CROSS JOIN keeps SQLite from walking messages and matching per row:
 * the index's hits come first (1.4 s -> 2 ms for 100 hits in 10,000). */
#define Q_FTS_CANDIDATES                                                    \
	"SELECT m.uid, t.hdr_len, t.hdr, t.body_len, t.body FROM fts"       \
	" CROSS JOIN messages m ON m.fts_id = fts.rowid"                    \
	" JOIN fts_text t ON t.id = fts.rowid"                              \
	" WHERE fts MATCH ?1 AND m.mailbox_id = ?2 ORDER BY m.uid"
#define Q_FTS_TEXTS                                                         \
	"SELECT m.uid, t.hdr_len, t.hdr, t.body_len, t.body FROM messages m" \
	" JOIN fts_text t ON t.id = m.fts_id"                               \
	" WHERE m.mailbox_id = ?1 AND m.fts_full ORDER BY m.uid"
#define Q_FTS_TEXT_ADD                                                      \
	"INSERT INTO fts_text(hdr_len, hdr, body_len, body)"                \
	" VALUES (?1, ?2, ?3, ?4)"
#define Q_FTS_ADD "INSERT INTO fts(rowid, hdr, body) VALUES (?1, ?2, ?3)"
#define Q_FTS_USED "SELECT 1 FROM messages WHERE fts_id = ?1 LIMIT 1"
#define Q_FTS_TEXT_GET                                                      \
	"SELECT 0, hdr_len, hdr, body_len, body FROM fts_text WHERE id = ?1"
#define Q_FTS_DELETE                                                        \
	"INSERT INTO fts(fts, rowid, hdr, body) VALUES ('delete', ?1, ?2, ?3)"
#define Q_FTS_TEXT_DELETE "DELETE FROM fts_text WHERE id = ?1"

/* zlib level for the stored text: the fastest; level 6 saves a few
 * percent more for four times the CPU. */
#define FTS_TEXT_LEVEL Z_BEST_SPEED
#define Q_FTS_PARTIAL                                                       \
	"SELECT " ROW_COLS " FROM messages WHERE mailbox_id = ?1"           \
	" AND fts_id IS NOT NULL AND NOT fts_full ORDER BY uid"

/* Trigrams ANDed in one query. */
#define STORE_INDEX_FTS_TERMS_MAX 16

/* The trigram tokenizer, borrowed from FTS5 for folding. */
struct store_index_fold {
	fts5_tokenizer api;
	Fts5Tokenizer *tok;
};

int store_index_fts_missing(struct store_index *ix, int64_t mailbox_id,
			    size_t limit, struct store_index_rows *rows)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_FTS_MISSING, Q_FTS_MISSING);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, (int64_t)limit);
	return store_index_rows_read(ix, s, rows) < 0 ? -1 : 0;
}

int store_index_fts_partial(struct store_index *ix, int64_t mailbox_id,
			    struct store_index_rows *rows)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_FTS_PARTIAL, Q_FTS_PARTIAL);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	return store_index_rows_read(ix, s, rows) < 0 ? -1 : 0;
}

/* Length of the UTF-8 character at p (a lead byte; 1 for stray bytes). */
static size_t char_len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* The trigram at s[0..len) as an FTS5 string ('"' doubled). */
static void query_term(struct buf *q, const char *s, size_t len)
{
	if (q->len > 0)
		buf_appends(q, " AND ");
	buf_appendc(q, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			buf_appendc(q, '"');
		buf_appendc(q, s[i]);
	}
	buf_appendc(q, '"');
}

/* Byte length of the 3 characters at s[0..len), 0 if fewer remain. */
static size_t trigram_len(const char *s, size_t len)
{
	size_t n = 0;

	for (int k = 0; k < 3; k++) {
		if (n >= len)
			return 0;
		n += char_len((unsigned char)s[n]);
	}
	return n <= len ? n : 0;
}

/* "t1" AND "t2" ...: the trigrams starting at every third character and
 * the last one, at most STORE_INDEX_FTS_TERMS_MAX (enough to be
 * selective: the caller checks the candidates anyway). */
static void match_query(struct buf *q, const char *s, size_t len)
{
	size_t pos = 0, ch = 0, n = 0, last = 0, tlen;

	for (; pos < len; pos += char_len((unsigned char)s[pos]), ch++) {
		if ((tlen = trigram_len(s + pos, len - pos)) == 0)
			break;
		last = pos;
		if (ch % 3 == 0 && n + 1 < STORE_INDEX_FTS_TERMS_MAX) {
			query_term(q, s + pos, tlen);
			n++;
		}
	}
	if (n > 0 && (ch - 1) % 3 != 0)
		query_term(q, s + last, trigram_len(s + last, len - last));
}

/* Deflate s[0..len) into out (replacing its contents). */
static int text_pack(const char *s, size_t len, struct buf *out)
{
	uLongf n = compressBound((uLong)len);

	buf_reset(out);
	buf_reserve(out, n);
	if (compress2((Bytef *)out->ptr, &n, (const Bytef *)s, (uLong)len,
		      FTS_TEXT_LEVEL) != Z_OK)
		return -1;
	out->len = n;
	return 0;
}

/* Inflate column col (its length in column col - 1) of s into out. */
static int text_unpack(sqlite3_stmt *s, int col, struct buf *out)
{
	sqlite3_int64 want = sqlite3_column_int64(s, col - 1);
	const void *z = sqlite3_column_blob(s, col);
	uLongf n = (uLongf)want;

	buf_reset(out);
	if (want < 0 || want > (sqlite3_int64)STORE_FTS_TEXT_MAX * 2)
		return -1;
	buf_reserve(out, (size_t)want + 1);
	if (want > 0 &&
	    (z == NULL || uncompress((Bytef *)out->ptr, &n, z,
				     (uLong)sqlite3_column_bytes(s, col)) != Z_OK ||
	     n != (uLongf)want))
		return -1;
	out->len = (size_t)want;
	out->ptr[out->len] = '\0';
	return 0;
}

/* The texts of a statement selecting (x, hdr_len, hdr, body_len, body). */
struct texts {
	struct buf hdr, body;
};

static int texts_read(sqlite3_stmt *s, struct texts *t)
{
	return text_unpack(s, 2, &t->hdr) < 0 || text_unpack(s, 4, &t->body) < 0 ?
	       -1 : 0;
}

/* Step s, a statement selecting (uid, hdr_len, hdr, body_len, body), into
 * cb. A text that does not inflate is logged and skipped. */
static int each_text(struct store_index *ix, sqlite3_stmt *s,
		     int (*cb)(void *ctx, uint32_t uid, const char *hdr,
			       size_t hdr_len, const char *body, size_t body_len),
		     void *ctx)
{
	struct texts t = { BUF_INIT, BUF_INIT };
	int rc = 0, stop = 0;

	while (stop == 0 && (rc = store_index_step_row(ix, s)) == 1) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(s, 0);

		if (texts_read(s, &t) < 0) {
			log_error("event=store op=search uid=%u error=\"text row"
				  " damaged\"", uid);
			continue;
		}
		stop = cb(ctx, uid, buf_cstr(&t.hdr), t.hdr.len,
			  buf_cstr(&t.body), t.body.len);
	}
	if (stop != 0)
		sqlite3_reset(s);
	buf_free(&t.hdr);
	buf_free(&t.body);
	return stop != 0 ? 0 : rc < 0 ? -1 : 0;
}

int store_index_fts_candidates(struct store_index *ix, int64_t mailbox_id,
			       const char *folded, size_t len,
			       int (*cb)(void *ctx, uint32_t uid, const char *hdr,
					 size_t hdr_len, const char *body,
					 size_t body_len),
			       void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_FTS_CANDIDATES,
					      Q_FTS_CANDIDATES);
	struct buf q = BUF_INIT;
	int ret;

	if (s == NULL)
		return -1;
	match_query(&q, folded, len);
	sqlite3_bind_text(s, 1, buf_cstr(&q), (int)q.len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, mailbox_id);
	ret = each_text(ix, s, cb, ctx);
	buf_free(&q);
	return ret;
}

int store_index_fts_texts(struct store_index *ix, int64_t mailbox_id,
			  int (*cb)(void *ctx, uint32_t uid, const char *hdr,
				    size_t hdr_len, const char *body,
				    size_t body_len),
			  void *ctx)
{
	sqlite3_stmt *s = store_index_prepare(ix, SIX_FTS_TEXTS, Q_FTS_TEXTS);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	return each_text(ix, s, cb, ctx);
}

int64_t store_index_fts_add(struct store_index *ix, const struct store_cache *c)
{
	sqlite3_stmt *t = store_index_prepare(ix, SIX_FTS_TEXT_ADD, Q_FTS_TEXT_ADD);
	sqlite3_stmt *f = store_index_prepare(ix, SIX_FTS_ADD, Q_FTS_ADD);
	struct texts z = { BUF_INIT, BUF_INIT };
	int64_t id = -1;

	if (t == NULL || f == NULL)
		return -1;
	if (text_pack(c->hdr_text.ptr, c->hdr_text.len, &z.hdr) < 0 ||
	    text_pack(c->body_text.ptr, c->body_text.len, &z.body) < 0) {
		log_error("event=store op=fts-add error=\"cannot compress text\"");
		goto out;
	}
	sqlite3_bind_int64(t, 1, (int64_t)c->hdr_text.len);
	sqlite3_bind_blob(t, 2, z.hdr.ptr, (int)z.hdr.len, SQLITE_STATIC);
	sqlite3_bind_int64(t, 3, (int64_t)c->body_text.len);
	sqlite3_bind_blob(t, 4, z.body.ptr, (int)z.body.len, SQLITE_STATIC);
	if (store_index_step_done(ix, t) < 0)
		goto out;
	id = sqlite3_last_insert_rowid(ix->db);
	sqlite3_bind_int64(f, 1, id);
	sqlite3_bind_text(f, 2, buf_cstr(&c->hdr_text), (int)c->hdr_text.len,
			  SQLITE_STATIC);
	sqlite3_bind_text(f, 3, buf_cstr(&c->body_text), (int)c->body_text.len,
			  SQLITE_STATIC);
	if (store_index_step_done(ix, f) < 0)
		id = -1;
out:
	sqlite3_clear_bindings(t);
	buf_free(&z.hdr);
	buf_free(&z.body);
	return id;
}

int store_index_fts_release(struct store_index *ix, int64_t fts_id)
{
	sqlite3_stmt *used = store_index_prepare(ix, SIX_FTS_USED, Q_FTS_USED);
	sqlite3_stmt *get = store_index_prepare(ix, SIX_FTS_TEXT_GET, Q_FTS_TEXT_GET);
	sqlite3_stmt *del = store_index_prepare(ix, SIX_FTS_DELETE, Q_FTS_DELETE);
	sqlite3_stmt *drop = store_index_prepare(ix, SIX_FTS_TEXT_DELETE,
						 Q_FTS_TEXT_DELETE);
	struct texts t = { BUF_INIT, BUF_INIT };
	int ret;

	if (fts_id <= 0)
		return 0;
	if (used == NULL || get == NULL || del == NULL || drop == NULL)
		return -1;
	sqlite3_bind_int64(used, 1, fts_id);
	if ((ret = store_index_step_row(ix, used)) != 0) {
		sqlite3_reset(used);
		return ret < 0 ? -1 : 0;	/* a copy still has it */
	}
	sqlite3_bind_int64(get, 1, fts_id);
	ret = store_index_step_row(ix, get);
	if (ret == 1 && texts_read(get, &t) == 0) {
		/* the index forgets exactly the text it was given */
		sqlite3_reset(get);
		sqlite3_bind_int64(del, 1, fts_id);
		sqlite3_bind_text(del, 2, buf_cstr(&t.hdr), (int)t.hdr.len,
				  SQLITE_STATIC);
		sqlite3_bind_text(del, 3, buf_cstr(&t.body), (int)t.body.len,
				  SQLITE_STATIC);
		ret = store_index_step_done(ix, del);
	} else if (ret == 1) {
		/* Its trigrams stay behind: a later row with this id may be a
		 * candidate for them, which the check of its text undoes. */
		sqlite3_reset(get);
		log_error("event=store op=fts-release id=%lld error=\"text row"
			  " damaged\"", (long long)fts_id);
		ret = 0;
	}
	buf_free(&t.hdr);
	buf_free(&t.body);
	if (ret < 0)
		return -1;
	sqlite3_bind_int64(drop, 1, fts_id);
	return store_index_step_done(ix, drop);
}

static fts5_api *fts5_api_of(struct store_index *ix)
{
	sqlite3_stmt *s = NULL;
	fts5_api *api = NULL;

	if (sqlite3_prepare_v2(ix->db, "SELECT fts5(?1)", -1, &s, NULL) != SQLITE_OK) {
		store_index_sql_error(ix, "fts5");
		return NULL;
	}
	sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
	(void)sqlite3_step(s);
	sqlite3_finalize(s);
	return api;
}

static struct store_index_fold *fold_setup(struct store_index *ix)
{
	static const char *const args[] = { "case_sensitive", "0" };
	struct store_index_fold *f;
	fts5_api *api;
	void *uctx;

	if (ix->fold != NULL)
		return ix->fold;
	api = fts5_api_of(ix);
	f = xcalloc(1, sizeof(*f));
	if (api == NULL ||
	    api->xFindTokenizer(api, "trigram", &uctx, &f->api) != SQLITE_OK ||
	    f->api.xCreate(uctx, (const char **)args, 2, &f->tok) != SQLITE_OK) {
		free(f);
		return NULL;
	}
	ix->fold = f;
	return f;
}

void store_index_fold_free(struct store_index *ix)
{
	if (ix->fold != NULL) {
		ix->fold->api.xDelete(ix->fold->tok);
		free(ix->fold);
		ix->fold = NULL;
	}
}

/* Each trigram token starts at one character of the input: its first
 * (folded) character is that character folded. */
static int fold_token(void *ctx, int tflags, const char *tok, int ntok,
		      int start, int end)
{
	struct buf *out = ctx;
	unsigned char c = (unsigned char)tok[0];
	int n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	buf_append(out, tok, (size_t)(n < ntok ? n : ntok));
	return SQLITE_OK;
}

int store_index_fold(struct store_index *ix, const char *s, size_t len,
		     struct buf *out)
{
	struct store_index_fold *f = fold_setup(ix);
	struct buf in = BUF_INIT;
	int rc;

	if (f == NULL || len > (size_t)INT32_MAX - 2)
		return -1;
	/* two characters more, so that the last real ones start trigrams
	 * too; they fold to themselves and are not copied */
	buf_append(&in, s, len);
	buf_appends(&in, "\x01\x01");
	rc = f->api.xTokenize(f->tok, out, FTS5_TOKENIZE_DOCUMENT, in.ptr,
			      (int)in.len, fold_token);
	buf_free(&in);
	return rc == SQLITE_OK ? 0 : -1;
}
