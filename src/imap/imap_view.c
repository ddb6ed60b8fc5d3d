/* imap_view: sequence numbers, and changes reported as untagged responses. */
#include "imap/imap_view.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_mail.h"

static const struct {
	unsigned bit;
	const char *name;
} flag_names[] = {
	{ STORE_FLAG_ANSWERED, "\\Answered" },
	{ STORE_FLAG_FLAGGED, "\\Flagged" },
	{ STORE_FLAG_DELETED, "\\Deleted" },
	{ STORE_FLAG_SEEN, "\\Seen" },
	{ STORE_FLAG_DRAFT, "\\Draft" },
	{ STORE_FLAG_FORWARDED, "$Forwarded" },
};

void imap_flags_write(struct buf *out, unsigned flags, const char *keywords,
		      bool recent)
{
	bool first = true;

	buf_appendc(out, '(');
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(flags & flag_names[i].bit))
			continue;
		if (!first)
			buf_appendc(out, ' ');
		buf_appends(out, flag_names[i].name);
		first = false;
	}
	if (recent) {
		buf_appends(out, first ? "\\Recent" : " \\Recent");
		first = false;
	}
	if (keywords != NULL && *keywords != '\0') {
		if (!first)
			buf_appendc(out, ' ');
		buf_appends(out, keywords);
	}
	buf_appendc(out, ')');
}

uint32_t imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->count && v->uids[lo] == uid ? lo + 1 : 0;
}

static void view_append(struct imap_view *v, uint32_t uid)
{
	if (v->count == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->uids = xreallocarray(v->uids, v->cap, sizeof(*v->uids));
	}
	v->uids[v->count++] = uid;
}

bool imap_view_expunged(const struct imap_view *v, uint32_t uid)
{
	for (size_t i = 0; i < v->ngone; i++)
		if (v->gone_uids[i] == uid)
			return true;
	return false;
}

void imap_view_own_change(struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	if (v->nown == v->own_cap) {
		v->own_cap = v->own_cap ? v->own_cap * 2 : 16;
		v->own = xreallocarray(v->own, v->own_cap, sizeof(*v->own));
	}
	v->own[v->nown].uid = uid;
	v->own[v->nown++].modseq = modseq;
}

static bool own_change(const struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	for (size_t i = 0; i < v->nown; i++)
		if (v->own[i].uid == uid && v->own[i].modseq == modseq)
			return true;
	return false;
}

bool imap_view_is_recent(const struct imap_view *v, uint32_t uid)
{
	return imap_seqset_contains(&v->recent, uid);
}

uint32_t imap_view_recent(const struct imap_view *v)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < v->count; i++)
		n += imap_seqset_contains(&v->recent, v->uids[i]);
	return n;
}

/* Messages lo..hi (UIDs) became visible to s: those no session has seen
 * are \Recent here, and (read-write) now claimed, so no other session
 * sees them as recent (RFC 3501 §2.3.2). */
static void recent_take(struct imap_session *s, struct imap_view *v,
			uint32_t lo, uint32_t hi)
{
	/* EXAMINE shows what nobody claimed, and claims nothing */
	uint32_t first = v->readonly ? imap_server_recent_peek(s->acct, v->id) :
		imap_server_recent_claim(s->acct, v->id, hi + 1);

	if (first < lo)
		first = lo;
	if (first <= hi)
		imap_seqset_add_range(&v->recent, first, hi);
}

int imap_view_resolve(const struct imap_view *v, const struct imap_seqset *set,
		      bool uid_mode, uint32_t **uids_r, size_t *n_r)
{
	struct imap_seqset s = *set;
	uint32_t *out = NULL;
	size_t n = 0;

	*uids_r = NULL;
	*n_r = 0;
	s.r = xmemdup(set->r, set->n * sizeof(*set->r));
	s.cap = set->n;
	imap_seqset_resolve(&s, uid_mode ? (v->count ? v->uids[v->count - 1] : 0)
					 : v->count);
	/* RFC 9051 §9 seq-number: a number past the end is an error, "*"
	 * in an empty mailbox included (as James and Dovecot answer) */
	if (!uid_mode && v->count == 0 && set->star) {
		imap_seqset_free(&s);
		return -1;
	}
	if (!uid_mode && imap_seqset_max(&s) > v->count) {
		imap_seqset_free(&s);
		return -1;
	}
	if (v->count > 0)
		out = xmalloc(v->count * sizeof(*out));
	if (uid_mode) {
		for (uint32_t i = 0; i < v->count; i++)
			if (imap_seqset_contains(&s, v->uids[i]))
				out[n++] = v->uids[i];
	} else {
		struct imap_seqset_iter it;
		uint32_t seq;
		imap_seqset_iter_init(&it, &s);
		while (imap_seqset_next(&it, &seq))
			out[n++] = v->uids[seq - 1];
	}
	imap_seqset_free(&s);
	*uids_r = out;
	*n_r = n;
	return 0;
}

/* --- opening --- */

struct open_ctx {
	struct imap_view *v;
};

static int list_cb(void *ctx, uint32_t uid)
{
	struct open_ctx *c = ctx;

	view_append(c->v, uid);
	return 0;
}

static int keyword_cb(void *ctx, const char *kw)
{
	struct buf *b = ctx;

	if (b->len > 0)
		buf_appendc(b, ' ');
	buf_appends(b, kw);
	return 0;
}

void imap_view_flags_lines(struct imap_session *s)
{
	struct imap_view *v = s->view;
	struct buf kw = BUF_INIT, line = BUF_INIT;
	const char *why = NULL;

	store_keywords(s->acct->store, v->id, keyword_cb, &kw, &why);
	buf_appends(&line, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded");
	if (kw.len > 0) {
		buf_appendc(&line, ' ');
		buf_append(&line, kw.ptr, kw.len);
	}
	buf_appendc(&line, ')');
	imap_printf(s, "%s", buf_cstr(&line));
	if (v->readonly)
		imap_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox");
	else
		imap_printf(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
			    "\\Seen \\Draft $Forwarded%s%s \\*)] Flags permitted",
			    kw.len ? " " : "", buf_cstr(&kw));
	buf_free(&kw);
	buf_free(&line);
}

struct qr_ctx {
	struct imap_session *s;
	struct imap_view *v;
	const struct imap_qresync *qr;
	struct imap_seqset vanished;
};

static int qr_changed(void *ctx, const struct store_msg *m)
{
	struct qr_ctx *c = ctx;
	uint32_t seq = imap_view_seq(c->v, m->uid);
	struct buf fl = BUF_INIT;

	if (seq == 0)
		return 0;
	imap_flags_write(&fl, m->flags, m->keywords,
			 imap_view_is_recent(c->v, m->uid));
	imap_printf(c->s, "* %u FETCH (UID %u FLAGS %s MODSEQ (%llu))", seq,
		    m->uid, buf_cstr(&fl), (unsigned long long)m->modseq);
	buf_free(&fl);
	return 0;
}

static int qr_expunged(void *ctx, uint32_t uid)
{
	struct qr_ctx *c = ctx;

	if (c->qr->have_known && !imap_seqset_contains(&c->qr->known_uids, uid))
		return 0;
	imap_seqset_add(&c->vanished, uid);
	return 0;
}

/* RFC 7162 §3.2.5.1: what changed since the client's last known state. */
static void qresync_report(struct imap_session *s, struct imap_view *v,
			   const struct imap_qresync *qr)
{
	struct qr_ctx c = { s, v, qr, { 0 } };
	const char *why = NULL;

	if (qr->uidvalidity != v->uidvalidity)
		return;
	imap_seqset_init(&c.vanished);
	store_changes(s->acct->store, v->id, qr->modseq, NULL, qr_expunged, &c,
		      &why);
	if (c.vanished.n > 0) {
		struct buf set = BUF_INIT;
		imap_seqset_format(&c.vanished, &set);
		imap_printf(s, "* VANISHED (EARLIER) %s", buf_cstr(&set));
		buf_free(&set);
	}
	imap_seqset_free(&c.vanished);
	store_changes(s->acct->store, v->id, qr->modseq, qr_changed, NULL, &c,
		      &why);
}

int imap_view_open(struct imap_session *s, const char *name, bool readonly,
		   bool condstore, const struct imap_qresync *qr,
		   const char **error_r)
{
	struct store_mailbox_state st;
	struct imap_view *v;
	struct open_ctx c;
	int r;

	imap_view_close(s);
	r = store_mailbox_open(s->acct->store, name, &st, error_r);
	if (r <= 0)
		return r;
	v = xcalloc(1, sizeof(*v));
	v->id = st.id;
	v->name = xstrdup(name);
	v->readonly = readonly;
	v->uidvalidity = st.uidvalidity;
	v->modseq = st.highestmodseq;
	v->reported_modseq = st.highestmodseq;
	c.v = v;
	if (store_msg_uids(s->acct->store, v->id, list_cb, &c, error_r) < 0) {
		free(v->uids);
		free(v->name);
		free(v);
		return -1;
	}
	v->uidnext = st.uidnext;
	imap_seqset_init(&v->recent);
	if (s->kept_recent_id == v->id)	/* claimed earlier in this session */
		imap_seqset_union(&v->recent, &s->kept_recent);
	if (st.uidnext > 1)
		recent_take(s, v, 1, st.uidnext - 1);
	s->view = v;
	s->state = IMAP_ST_SELECTED;
	imap_view_flags_lines(s);
	imap_printf(s, "* %u EXISTS", v->count);
	if (!(s->enabled & IMAP_EN_REV2)) {
		imap_printf(s, "* %u RECENT", imap_view_recent(v));
		if (st.first_unseen_uid != 0 &&
		    imap_view_seq(v, st.first_unseen_uid) != 0)
			imap_printf(s, "* OK [UNSEEN %u] First unseen",
				    imap_view_seq(v, st.first_unseen_uid));
	}
	imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid", v->uidvalidity);
	imap_printf(s, "* OK [UIDNEXT %u] Predicted next UID", v->uidnext);
	/* RFC 7162 §3.1.2.1: a server with persistent mod-sequences always
	 * says HIGHESTMODSEQ (harmless to clients that do not know it) */
	(void)condstore;
	imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest",
		    (unsigned long long)v->modseq);
	if (qr != NULL && qr->given)
		qresync_report(s, v, qr);
	return 1;
}

void imap_condstore_on(struct imap_session *s)
{
	if (s->enabled & IMAP_EN_CONDSTORE)
		return;
	s->enabled |= IMAP_EN_CONDSTORE;
	/* RFC 7162 §3.1: the first CONDSTORE-enabling command on a selected
	 * mailbox gets the HIGHESTMODSEQ before its other answers */
	if (s->view != NULL)
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest",
			    (unsigned long long)s->view->modseq);
}

void imap_view_close(struct imap_session *s)
{
	struct imap_view *v = s->view;

	if (v == NULL)
		return;
	free(v->gone_uids);
	free(v->own);
	imap_seqset_free(&s->kept_recent);
	s->kept_recent = v->recent;	/* kept for a re-SELECT */
	s->kept_recent_id = v->id;
	free(v->uids);
	free(v->name);
	free(v);
	s->view = NULL;
	s->saved_valid = false;
	if (s->state == IMAP_ST_SELECTED)
		s->state = IMAP_ST_AUTH;
}

/* --- synchronising --- */

struct sync_ctx {
	struct imap_session *s;
	struct imap_view *v;
	uint32_t *fresh;		/* new UIDs */
	size_t nfresh, fresh_cap;
	struct buf changed;		/* FETCH lines, by UID, sent last */
	uint32_t *changed_uids;
	size_t nchanged, changed_cap;
};

static void gone_add(struct imap_view *v, uint32_t uid)
{
	if (v->ngone == v->gone_cap) {
		v->gone_cap = v->gone_cap ? v->gone_cap * 2 : 16;
		v->gone_uids = xreallocarray(v->gone_uids, v->gone_cap,
					     sizeof(*v->gone_uids));
	}
	v->gone_uids[v->ngone++] = uid;
}

static int sync_expunged(void *ctx, uint32_t uid)
{
	struct sync_ctx *c = ctx;

	if (imap_view_seq(c->v, uid) != 0 && !imap_view_expunged(c->v, uid))
		gone_add(c->v, uid);
	return 0;
}

static int sync_changed(void *ctx, const struct store_msg *m)
{
	struct sync_ctx *c = ctx;
	struct imap_view *v = c->v;
	struct buf fl = BUF_INIT;

	if (imap_view_seq(v, m->uid) == 0) {
		if (v->count > 0 && m->uid <= v->uids[v->count - 1])
			return 0;	/* expunged before we saw it */
		if (c->nfresh == c->fresh_cap) {
			c->fresh_cap = c->fresh_cap ? c->fresh_cap * 2 : 16;
			c->fresh = xreallocarray(c->fresh, c->fresh_cap,
						 sizeof(*c->fresh));
		}
		c->fresh[c->nfresh++] = m->uid;
		return 0;
	}
	if (m->modseq <= v->reported_modseq || own_change(v, m->uid, m->modseq))
		return 0;
	imap_flags_write(&fl, m->flags, m->keywords, imap_view_is_recent(v, m->uid));
	if (c->nchanged == c->changed_cap) {
		c->changed_cap = c->changed_cap ? c->changed_cap * 2 : 16;
		c->changed_uids = xreallocarray(c->changed_uids, c->changed_cap,
						sizeof(*c->changed_uids));
	}
	c->changed_uids[c->nchanged++] = m->uid;
	buf_printf(&c->changed, "UID %u FLAGS %s", m->uid, buf_cstr(&fl));
	if (c->s->enabled & (IMAP_EN_CONDSTORE | IMAP_EN_QRESYNC))
		buf_printf(&c->changed, " MODSEQ (%llu)",
			   (unsigned long long)m->modseq);
	buf_appendc(&c->changed, '\0');
	buf_free(&fl);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Report and drop the held-back expunges. */
static void flush_expunges(struct imap_session *s, struct imap_view *v)
{
	struct imap_seqset set;

	if (v->ngone == 0)
		return;
	qsort(v->gone_uids, v->ngone, sizeof(*v->gone_uids), cmp_u32);
	imap_seqset_init(&set);
	for (size_t i = 0; i < v->ngone; i++) {
		uint32_t seq = imap_view_seq(v, v->gone_uids[i]);
		if (seq == 0)
			continue;
		if (s->enabled & IMAP_EN_QRESYNC)
			imap_seqset_add(&set, v->gone_uids[i]);
		else
			imap_printf(s, "* %u EXPUNGE", seq);
		memmove(&v->uids[seq - 1], &v->uids[seq],
			(v->count - seq) * sizeof(*v->uids));
		v->count--;
	}
	if (set.n > 0) {
		struct buf t = BUF_INIT;
		imap_seqset_format(&set, &t);
		imap_printf(s, "* VANISHED %s", buf_cstr(&t));
		buf_free(&t);
	}
	imap_seqset_free(&set);
	v->ngone = 0;
}

void imap_view_sync(struct imap_session *s, enum imap_sync_mode mode)
{
	struct imap_view *v = s->view;
	struct store_mailbox_state st;
	struct sync_ctx c;
	const char *why = NULL;
	size_t off = 0;

	if (v == NULL || s->acct == NULL)
		return;
	if (store_mailbox_state(s->acct->store, v->id, &st, &why) <= 0) {
		if (!v->gone) {
			v->gone = true;
			imap_printf(s, "* BYE mailbox deleted or renamed elsewhere");
			imap_session_close(s, "selected mailbox gone");
		}
		return;
	}
	if (st.highestmodseq > v->modseq) {
		memset(&c, 0, sizeof(c));
		c.s = s;
		c.v = v;
		if (store_changes(s->acct->store, v->id, v->modseq, sync_changed,
				  sync_expunged, &c, &why) < 0) {
			log_error("session=%s event=sync-failed reason=\"%s\"",
				  s->id, why);
			free(c.fresh);
			free(c.changed_uids);
			buf_free(&c.changed);
			return;
		}
		v->modseq = st.highestmodseq;
		/* flag changes first: their sequence numbers are the current ones */
		for (size_t i = 0; i < c.nchanged; i++) {
			const char *line = c.changed.ptr + off;
			uint32_t seq = imap_view_seq(v, c.changed_uids[i]);
			off += strlen(line) + 1;
			if (seq != 0 && !imap_view_expunged(v, c.changed_uids[i]))
				imap_printf(s, "* %u FETCH (%s)", seq, line);
		}
		if (c.nfresh > 0)
			qsort(c.fresh, c.nfresh, sizeof(*c.fresh), cmp_u32);
		for (size_t i = 0; i < c.nfresh; i++)
			view_append(v, c.fresh[i]);
		if (c.nfresh > 0) {
			/* new mail is \Recent in every session that has the
			 * mailbox selected when it arrives (as James does; a
			 * later SELECT does not see it as recent) */
			recent_take(s, v, c.fresh[0], c.fresh[c.nfresh - 1]);
			imap_seqset_add_range(&v->recent, c.fresh[0],
					      c.fresh[c.nfresh - 1]);
		}
		free(c.fresh);
		free(c.changed_uids);
		buf_free(&c.changed);
		if (c.nfresh > 0) {
			imap_printf(s, "* %u EXISTS", v->count);
			if (!(s->enabled & IMAP_EN_REV2))
				imap_printf(s, "* %u RECENT", imap_view_recent(v));
		}
	}
	v->reported_modseq = v->modseq;
	v->nown = 0;
	if (mode == IMAP_SYNC_ALL)
		flush_expunges(s, v);
	v->uidnext = st.uidnext;
}
