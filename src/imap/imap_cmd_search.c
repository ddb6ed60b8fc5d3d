/* imap_cmd_search: SEARCH and UID SEARCH (RFC 3501 §6.4.4, RFC 9051,
 * RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162 MODSEQ).
 *
 * The key tree comes from imap_search_parse. It is evaluated over the
 * index rows of the mailbox; BODY and TEXT are answered by the store's
 * full-text index (one query per key, before the walk); header keys read
 * only the header block of a message, and only when the cheaper keys of
 * an AND have not already ruled the message out. Strings match as
 * case-insensitive substrings of the decoded (RFC 2047) values. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_cmd.h"
#include "imap/imap_fetch.h"
#include "imap/imap_search.h"
#include "imap/imap_view.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/mime_header.h"
#include "mail/rfc2047.h"
#include "mail/rfc5322.h"
#include "store/store.h"
#include "store/store_mail.h"

#define SEARCH_HEADER_MAX (1024 * 1024)	/* bytes of a header block read */

struct row {
	uint32_t uid, seq;
	unsigned flags;
	char *keywords;
	uint64_t modseq, size;
	int64_t internaldate, savedate;
};

/* UIDs a BODY/TEXT key matched (from the full-text index). */
struct text_hits {
	const struct imap_search_node *node;
	uint32_t *uids;
	size_t n, cap;
};

struct eval {
	struct imap_session *s;
	struct row *rows;
	size_t n, cap;
	struct text_hits *hits;
	size_t nhits;
	/* the header of the message being looked at, read on demand */
	uint32_t hdr_uid;
	struct buf hdr;
	bool hdr_ok;
	uint64_t max_modseq;	/* of the matches, for (MODSEQ n) */
	bool used_modseq;
};

static int row_cb(void *ctx, const struct store_msg *m)
{
	struct eval *e = ctx;
	uint32_t seq = imap_view_seq(e->s->view, m->uid);
	struct row *r;

	if (seq == 0 || imap_view_expunged(e->s->view, m->uid))
		return 0;
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 256;
		e->rows = xreallocarray(e->rows, e->cap, sizeof(*e->rows));
	}
	r = &e->rows[e->n++];
	r->uid = m->uid;
	r->seq = seq;
	r->flags = m->flags;
	r->keywords = m->keywords ? xstrdup(m->keywords) : NULL;
	r->modseq = m->modseq;
	r->size = m->size;
	r->internaldate = m->internaldate;
	r->savedate = m->savedate;
	return 0;
}

static int hit_cb(void *ctx, uint32_t uid)
{
	struct text_hits *h = ctx;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->uids = xreallocarray(h->uids, h->cap, sizeof(*h->uids));
	}
	h->uids[h->n++] = uid;
	return 0;
}

/* Run every BODY/TEXT key against the full-text index first. */
static int text_queries(struct eval *e, const struct imap_search_node *n,
			const char **why)
{
	for (; n != NULL; n = n->next) {
		if (n->key == IMAP_SEARCH_BODY || n->key == IMAP_SEARCH_TEXT) {
			struct text_hits *h;
			e->hits = xreallocarray(e->hits, e->nhits + 1, sizeof(*e->hits));
			h = &e->hits[e->nhits++];
			memset(h, 0, sizeof(*h));
			h->node = n;
			if (store_search_text(e->s->acct->store, e->s->view->id,
					      n->key == IMAP_SEARCH_BODY ?
					      STORE_SEARCH_BODY : STORE_SEARCH_TEXT,
					      n->str, n->str_len, hit_cb, h, why) < 0)
				return -1;
		}
		if (n->child != NULL && text_queries(e, n->child, why) < 0)
			return -1;
	}
	return 0;
}

static bool text_hit(const struct eval *e, const struct imap_search_node *n,
		     uint32_t uid)
{
	for (size_t i = 0; i < e->nhits; i++) {
		const struct text_hits *h = &e->hits[i];
		size_t lo = 0, hi = h->n;
		if (h->node != n)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (h->uids[mid] < uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < h->n && h->uids[lo] == uid;
	}
	return false;
}

/* The header block of uid into e->hdr; false when it cannot be read. */
static bool load_header(struct eval *e, uint32_t uid)
{
	const char *why = NULL;
	uint64_t size = 0;
	char chunk[8192];
	int fd;
	ssize_t r;

	if (e->hdr_uid == uid)
		return e->hdr_ok;
	e->hdr_uid = uid;
	e->hdr_ok = false;
	buf_reset(&e->hdr);
	if (store_msg_open(e->s->acct->store, e->s->view->id, uid, &fd, &size,
			   &why) <= 0)
		return false;
	while (e->hdr.len < SEARCH_HEADER_MAX &&
	       (r = read(fd, chunk, sizeof(chunk))) > 0) {
		size_t old = e->hdr.len;
		buf_append(&e->hdr, chunk, (size_t)r);
		/* stop once the empty line is in */
		if (mime_header_block_len(e->hdr.ptr, e->hdr.len) < e->hdr.len &&
		    old < e->hdr.len)
			break;
	}
	close(fd);
	e->hdr.len = mime_header_block_len(e->hdr.ptr, e->hdr.len);
	e->hdr_ok = true;
	return true;
}

/* ASCII-case-insensitive substring (the needle is short: naive is fine). */
static bool contains_ci(const char *hay, size_t hl, const char *needle,
			size_t nl)
{
	if (nl == 0)
		return true;
	for (size_t i = 0; i + nl <= hl; i++)
		if (str_nieq(hay + i, needle, nl))
			return true;
	return false;
}

static bool header_match(struct eval *e, const struct row *r,
			 const struct imap_search_node *n)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	struct buf raw = BUF_INIT, dec = BUF_INIT;
	bool hit = false;

	if (!load_header(e, r->uid))
		return false;
	mime_header_iter_init(&it, e->hdr.ptr, e->hdr.len);
	while (!hit && mime_header_next(&it, &f) == 1) {
		if (f.name_len == 0 || !mime_header_name_is(&f, n->field))
			continue;
		if (n->str_len == 0) {
			hit = true;	/* HEADER name "": the field exists */
			break;
		}
		buf_reset(&raw);
		buf_reset(&dec);
		mime_header_unfold(f.value, f.value_len, &raw);
		rfc2047_decode(raw.ptr, raw.len, &dec);
		hit = contains_ci(dec.ptr, dec.len, n->str, n->str_len) ||
		      contains_ci(raw.ptr, raw.len, n->str, n->str_len);
	}
	buf_free(&raw);
	buf_free(&dec);
	return hit;
}

static int32_t day_of(int64_t t)
{
	return (int32_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
}

/* The Date: header's day (RFC 3501: "disregarding time and timezone"). */
static bool sent_day(struct eval *e, const struct row *r, int32_t *day)
{
	struct mime_header_field f;
	struct rfc5322_date d;
	struct rfc5322_date local;

	if (!load_header(e, r->uid) ||
	    mime_header_find(e->hdr.ptr, e->hdr.len, "Date", &f) != 1 ||
	    rfc5322_date_parse(f.value, f.value_len, &d) < 0)
		return false;
	local = d;
	local.zone = 0;	/* the date as written, not converted to UTC */
	*day = day_of(rfc5322_date_to_unix(&local));
	return true;
}

static bool has_keyword(const struct row *r, const char *kw)
{
	const char *p = r->keywords;
	size_t l = strlen(kw);

	while (p != NULL && *p != '\0') {
		const char *sp = strchr(p, ' ');
		size_t wl = sp ? (size_t)(sp - p) : strlen(p);
		if (wl == l && str_nieq(p, kw, l))
			return true;
		p = sp ? sp + 1 : NULL;
	}
	return false;
}

static bool flag_match(const struct eval *e, const struct row *r, unsigned f)
{
	switch (f) {
	case IMAP_SEARCH_F_ANSWERED: return r->flags & STORE_FLAG_ANSWERED;
	case IMAP_SEARCH_F_DELETED: return r->flags & STORE_FLAG_DELETED;
	case IMAP_SEARCH_F_DRAFT: return r->flags & STORE_FLAG_DRAFT;
	case IMAP_SEARCH_F_FLAGGED: return r->flags & STORE_FLAG_FLAGGED;
	case IMAP_SEARCH_F_SEEN: return r->flags & STORE_FLAG_SEEN;
	case IMAP_SEARCH_F_RECENT: return imap_view_is_recent(e->s->view, r->uid);
	}
	return false;
}

static bool in_saved(const struct imap_session *s, uint32_t uid)
{
	for (size_t i = 0; s->saved_valid && i < s->nsaved; i++)
		if (s->saved[i] == uid)
			return true;
	return false;
}

static bool set_match(const struct eval *e, const struct row *r,
		      const struct imap_search_node *n, bool uid)
{
	const struct imap_view *v = e->s->view;
	struct imap_seqset s;
	bool hit;

	if (n->set.last)
		return in_saved(e->s, r->uid);
	s = n->set;
	s.r = xmemdup(n->set.r, n->set.n * sizeof(*n->set.r));
	s.cap = n->set.n;
	imap_seqset_resolve(&s, uid ? (v->count ? v->uids[v->count - 1] : 0) :
				      v->count);
	hit = imap_seqset_contains(&s, uid ? r->uid : r->seq);
	imap_seqset_free(&s);
	return hit;
}

static bool match(struct eval *e, const struct row *r,
		  const struct imap_search_node *n);

static bool match_all(struct eval *e, const struct row *r,
		      const struct imap_search_node *n)
{
	for (; n != NULL; n = n->next)
		if (!match(e, r, n))
			return false;
	return true;
}

static bool match(struct eval *e, const struct row *r,
		  const struct imap_search_node *n)
{
	int32_t day;

	switch (n->key) {
	case IMAP_SEARCH_ALL: return true;
	case IMAP_SEARCH_AND: return match_all(e, r, n->child);
	case IMAP_SEARCH_OR:
		return match(e, r, n->child) || match(e, r, n->child->next);
	case IMAP_SEARCH_NOT: return !match(e, r, n->child);
	case IMAP_SEARCH_SEQSET: return set_match(e, r, n, false);
	case IMAP_SEARCH_UIDSET: return set_match(e, r, n, true);
	case IMAP_SEARCH_FLAG: return flag_match(e, r, n->flag);
	case IMAP_SEARCH_KEYWORD: return has_keyword(r, n->str);
	case IMAP_SEARCH_HEADER: return header_match(e, r, n);
	case IMAP_SEARCH_BODY: case IMAP_SEARCH_TEXT: return text_hit(e, n, r->uid);
	case IMAP_SEARCH_BEFORE: return day_of(r->internaldate) < n->date;
	case IMAP_SEARCH_ON: return day_of(r->internaldate) == n->date;
	case IMAP_SEARCH_SINCE: return day_of(r->internaldate) >= n->date;
	case IMAP_SEARCH_SAVEDBEFORE:
		return day_of(r->savedate ? r->savedate : r->internaldate) < n->date;
	case IMAP_SEARCH_SAVEDON:
		return day_of(r->savedate ? r->savedate : r->internaldate) == n->date;
	case IMAP_SEARCH_SAVEDSINCE:
		return day_of(r->savedate ? r->savedate : r->internaldate) >= n->date;
	case IMAP_SEARCH_SAVEDATESUPPORTED: return true;
	case IMAP_SEARCH_SENTBEFORE: return sent_day(e, r, &day) && day < n->date;
	case IMAP_SEARCH_SENTON: return sent_day(e, r, &day) && day == n->date;
	case IMAP_SEARCH_SENTSINCE: return sent_day(e, r, &day) && day >= n->date;
	case IMAP_SEARCH_LARGER: return r->size > n->num;
	case IMAP_SEARCH_SMALLER: return r->size < n->num;
	case IMAP_SEARCH_MODSEQ:
		e->used_modseq = true;
		return r->modseq >= n->num;
	}
	return false;
}

/* Whether the program uses MODSEQ (RFC 7162 §3.1.5: (MODSEQ n) answer). */
static bool has_modseq(const struct imap_search_node *n)
{
	for (; n != NULL; n = n->next)
		if (n->key == IMAP_SEARCH_MODSEQ || has_modseq(n->child))
			return true;
	return false;
}

/* --- the command --- */

#define RET_MIN   0x01
#define RET_MAX   0x02
#define RET_ALL   0x04
#define RET_COUNT 0x08
#define RET_SAVE  0x10

static int parse_return(const struct imap_arg *a, unsigned *ret,
			const char **why)
{
	*ret = 0;
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_arg *o = &a->list[i];
		if (imap_arg_atom_eq(o, "MIN")) *ret |= RET_MIN;
		else if (imap_arg_atom_eq(o, "MAX")) *ret |= RET_MAX;
		else if (imap_arg_atom_eq(o, "ALL")) *ret |= RET_ALL;
		else if (imap_arg_atom_eq(o, "COUNT")) *ret |= RET_COUNT;
		else if (imap_arg_atom_eq(o, "SAVE")) *ret |= RET_SAVE;
		else {
			*why = "Unknown RETURN option";
			return -1;
		}
	}
	if (*ret == 0)
		*ret = RET_ALL;		/* RFC 4731 §3.1: () means ALL */
	return 0;
}

static void write_esearch(struct imap_session *s, const char *tag, bool uid,
			  unsigned ret, const uint32_t *hits, size_t n,
			  const struct eval *e)
{
	struct buf line = BUF_INIT;

	buf_printf(&line, "* ESEARCH (TAG \"%s\")%s", tag, uid ? " UID" : "");
	if ((ret & RET_MIN) && n > 0)
		buf_printf(&line, " MIN %u", hits[0]);
	if ((ret & RET_MAX) && n > 0)
		buf_printf(&line, " MAX %u", hits[n - 1]);
	if (ret & RET_COUNT)
		buf_printf(&line, " COUNT %zu", n);
	if ((ret & RET_ALL) && n > 0) {
		struct imap_seqset set;
		imap_seqset_init(&set);
		for (size_t i = 0; i < n; i++)
			imap_seqset_add(&set, hits[i]);
		buf_appends(&line, " ALL ");
		imap_seqset_format(&set, &line);
		imap_seqset_free(&set);
	}
	if (e->used_modseq && n > 0)
		buf_printf(&line, " MODSEQ %llu", (unsigned long long)e->max_modseq);
	imap_printf(s, "%s", buf_cstr(&line));
	buf_free(&line);
}

static void write_search(struct imap_session *s, const uint32_t *hits,
			 size_t n, const struct eval *e)
{
	struct buf line = BUF_INIT;

	buf_appends(&line, "* SEARCH");
	for (size_t i = 0; i < n; i++)
		buf_printf(&line, " %u", hits[i]);
	if (e->used_modseq && n > 0)
		buf_printf(&line, " (MODSEQ %llu)", (unsigned long long)e->max_modseq);
	imap_printf(s, "%s", buf_cstr(&line));
	buf_free(&line);
}

static void eval_free(struct eval *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->rows[i].keywords);
	free(e->rows);
	for (size_t i = 0; i < e->nhits; i++)
		free(e->hits[i].uids);
	free(e->hits);
	buf_free(&e->hdr);
}

/* Take off "RETURN (...)" and "CHARSET x"; *first is where the keys start. */
static int search_prefix(const struct imap_arg *args, unsigned count,
			 unsigned *first, unsigned *ret, bool *esearch,
			 const char **why, bool *badcharset)
{
	unsigned i = 0;

	*esearch = false;
	*badcharset = false;
	if (i + 1 < count && imap_arg_atom_eq(&args[i], "RETURN") &&
	    args[i + 1].type == IMAP_ARG_LIST) {
		if (parse_return(&args[i + 1], ret, why) < 0)
			return -1;
		*esearch = true;
		i += 2;
	}
	if (i + 1 < count && imap_arg_atom_eq(&args[i], "CHARSET")) {
		const char *cs;
		size_t len;
		if (!imap_arg_astring(&args[i + 1], &cs, &len) ||
		    !(str_ieq(cs, "UTF-8") || str_ieq(cs, "US-ASCII"))) {
			*badcharset = true;
			return -1;
		}
		i += 2;
	}
	*first = i;
	return 0;
}

void imap_search_run(struct imap_session *s, const struct imap_command *c,
		     const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_search_node *root = NULL;
	struct eval e;
	uint32_t *hits = NULL;
	size_t nhits = 0;
	unsigned first = 0, ret = 0;
	bool esearch, badcharset;
	const char *why = NULL;

	memset(&e, 0, sizeof(e));
	e.s = s;
	if (search_prefix(args, count, &first, &ret, &esearch, &why,
			  &badcharset) < 0) {
		if (badcharset)
			imap_tagged(s, c->tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] "
				    "Unsupported charset");
		else
			imap_tagged(s, c->tag, "BAD", "%s", why);
		return;
	}
	if (imap_search_parse(args + first, count - first, &root, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "%s", why);
		return;
	}
	if (store_msg_list(s->acct->store, s->view->id, 1, row_cb, &e, &why) < 0 ||
	    text_queries(&e, root, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s", why);
		goto out;
	}
	hits = xcalloc(e.n + 1, sizeof(*hits));
	for (size_t i = 0; i < e.n; i++) {
		if (!match(&e, &e.rows[i], root))
			continue;
		hits[nhits++] = uid ? e.rows[i].uid : e.rows[i].seq;
		if (e.rows[i].modseq > e.max_modseq)
			e.max_modseq = e.rows[i].modseq;
	}
	if (e.used_modseq || has_modseq(root)) {
		e.used_modseq = true;
		imap_condstore_on(s);
	}
	if (esearch && (ret & RET_SAVE)) {
		free(s->saved);
		s->saved = xcalloc(nhits + 1, sizeof(*s->saved));
		s->nsaved = 0;
		for (size_t i = 0; i < e.n; i++)
			if (match(&e, &e.rows[i], root))
				s->saved[s->nsaved++] = e.rows[i].uid;
		/* RFC 5182 §2.4: with MIN and/or MAX (and not ALL or COUNT)
		 * only those are saved */
		if ((ret & (RET_MIN | RET_MAX)) && !(ret & (RET_ALL | RET_COUNT)) &&
		    s->nsaved > 0) {
			uint32_t lo = s->saved[0], hi = s->saved[s->nsaved - 1];
			s->nsaved = 0;
			if (ret & RET_MIN)
				s->saved[s->nsaved++] = lo;
			if ((ret & RET_MAX) && !(s->nsaved == 1 && lo == hi))
				s->saved[s->nsaved++] = hi;
		}
		s->saved_valid = true;
	}
	if (esearch && ret != RET_SAVE)
		write_esearch(s, c->tag, uid, ret, hits, nhits, &e);
	else if (!esearch && (s->enabled & IMAP_EN_REV2))
		write_esearch(s, c->tag, uid, RET_ALL, hits, nhits, &e);
	else if (!esearch)
		write_search(s, hits, nhits, &e);
	imap_view_sync(s, uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE);
	imap_tagged(s, c->tag, "OK", "%sSEARCH completed", uid ? "UID " : "");
out:
	free(hits);
	imap_search_free(root);
	eval_free(&e);
}
