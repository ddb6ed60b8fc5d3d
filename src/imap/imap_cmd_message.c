/* imap_cmd_message: commands on the messages of the selected mailbox:
 * CLOSE, UNSELECT, EXPUNGE, STORE, COPY, MOVE and the UID forms
 * (RFC 3501 §6.4, RFC 9051, RFC 4315 UIDPLUS, RFC 6851 MOVE, RFC 7162
 * CONDSTORE/QRESYNC). FETCH is in imap_fetch.c, SEARCH in
 * imap_cmd_search.c. */
#include "imap/imap_cmd.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_fetch.h"
#include "imap/imap_view.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_mail.h"

#define IMAP_KEYWORDS_MAX 64		/* keywords in one STORE/APPEND */
#define IMAP_KEYWORD_LEN_MAX 128

/* --- flags --- */

static const struct {
	const char *name;
	unsigned bit;
} system_flags[] = {
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
	{ "$Forwarded", STORE_FLAG_FORWARDED },
};

/* RFC 3501 §9 atom-specials excluded, no '\' at the start of a keyword */
static bool keyword_valid(const char *k, size_t len)
{
	if (len == 0 || len > IMAP_KEYWORD_LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

int imap_flags_parse(const struct imap_arg *a, unsigned *flags_r,
		     const char ***keywords_r, size_t *nkeywords_r,
		     const char **error_r)
{
	const struct imap_arg *v = a->type == IMAP_ARG_LIST ? a->list : a;
	unsigned n = a->type == IMAP_ARG_LIST ? a->count : 1;
	const char **kw = xcalloc(n + 1, sizeof(*kw));
	size_t nkw = 0;

	*flags_r = 0;
	for (unsigned i = 0; i < n; i++) {
		bool known = false;
		if (v[i].type != IMAP_ARG_ATOM)
			goto bad;
		for (size_t k = 0; k < sizeof(system_flags) / sizeof(system_flags[0]); k++)
			if (str_ieq(v[i].str, system_flags[k].name)) {
				*flags_r |= system_flags[k].bit;
				known = true;
			}
		if (known)
			continue;
		if (v[i].str[0] == '\\' || !keyword_valid(v[i].str, v[i].len) ||
		    nkw == IMAP_KEYWORDS_MAX)
			goto bad;
		kw[nkw++] = v[i].str;
	}
	*keywords_r = kw;
	*nkeywords_r = nkw;
	return 0;
bad:
	free(kw);
	*keywords_r = NULL;
	*nkeywords_r = 0;
	*error_r = "Invalid flag";
	return -1;
}

/* --- helpers --- */

/* The set argument: "$" (SEARCHRES) or a sequence set. */
int imap_set_arg(struct imap_session *s, const struct imap_arg *a, bool uid,
		 uint32_t **uids_r, size_t *n_r, const char **why)
{
	struct imap_seqset set;
	int r;

	*uids_r = NULL;
	*n_r = 0;
	if (a->type != IMAP_ARG_ATOM) {
		*why = "Sequence set expected";
		return -1;
	}
	if (strcmp(a->str, "$") == 0) {
		/* RFC 5182: the saved result, minus what has gone since */
		uint32_t *out = xcalloc(s->nsaved + 1, sizeof(*out));
		size_t n = 0;
		for (size_t i = 0; s->saved_valid && i < s->nsaved; i++)
			if (imap_view_seq(s->view, s->saved[i]) != 0)
				out[n++] = s->saved[i];
		*uids_r = out;
		*n_r = n;
		return 0;
	}
	imap_seqset_init(&set);
	if (imap_seqset_parse(&set, a->str, a->len, IMAP_SEQSET_RANGES_MAX, why) < 0) {
		imap_seqset_free(&set);
		return -1;
	}
	r = imap_view_resolve(s->view, &set, uid, uids_r, n_r);
	imap_seqset_free(&set);
	if (r < 0)
		*why = "Invalid sequence number";
	return r;
}

/* --- CLOSE, UNSELECT, EXPUNGE --- */

struct expunge_ctx {
	struct imap_session *s;
	uint32_t *uids;
	size_t n, cap;
	const struct imap_seqset *only;	/* UID EXPUNGE set, or NULL */
};

static int deleted_cb(void *ctx, const struct store_msg *m)
{
	struct expunge_ctx *c = ctx;

	if (!(m->flags & STORE_FLAG_DELETED) ||
	    imap_view_seq(c->s->view, m->uid) == 0)
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->uids = xreallocarray(c->uids, c->cap, sizeof(*c->uids));
	}
	c->uids[c->n++] = m->uid;
	return 0;
}

/* Remove the \Deleted messages (of uids, or all): 0, or -1 with *why. */
static int expunge_deleted(struct imap_session *s, const uint32_t *only,
			   size_t nonly, const char **why)
{
	struct expunge_ctx c = { s, NULL, 0, 0, NULL };
	int r;

	if (only != NULL)
		r = store_msg_get(s->acct->store, s->view->id, only, nonly,
				  deleted_cb, &c, why);
	else
		r = store_msg_list(s->acct->store, s->view->id, 1, deleted_cb, &c,
				   why);
	if (r == 0 && c.n > 0)
		r = store_expunge(s->acct->store, s->view->id, c.uids, c.n, NULL,
				  NULL, why);
	free(c.uids);
	if (r == 0 && c.n > 0)
		imap_server_account_changed(s->acct);
	return r;
}

void imap_cmd_close(struct imap_session *s, const struct imap_command *c)
{
	bool close = str_ieq(c->name, "CLOSE");
	const char *why = NULL;

	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "%s takes no arguments", c->name);
		return;
	}
	/* RFC 3501 §6.4.2: CLOSE expunges silently (not after EXAMINE) */
	if (close && !s->view->readonly && expunge_deleted(s, NULL, 0, &why) < 0)
		log_error("session=%s event=close-expunge-failed reason=\"%s\"",
			  s->id, why);
	imap_view_close(s);
	/* the session is done with the mailbox: its \Recent go (a plain
	 * SELECT of another mailbox keeps them for a re-SELECT) */
	imap_seqset_clear(&s->kept_recent);
	imap_tagged(s, c->tag, "OK", "%s completed", close ? "CLOSE" : "UNSELECT");
}

static void do_expunge(struct imap_session *s, const struct imap_command *c,
		       const struct imap_arg *set)
{
	uint32_t *uids = NULL, recent = imap_view_recent(s->view);
	size_t n = 0;
	const char *why = NULL;

	if (s->view->readonly) {
		imap_tagged(s, c->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (set != NULL && imap_set_arg(s, set, true, &uids, &n, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "%s", why);
		return;
	}
	if ((set == NULL || n > 0) &&
	    expunge_deleted(s, set ? uids : NULL, n, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s", why);
		free(uids);
		return;
	}
	free(uids);
	imap_view_sync(s, IMAP_SYNC_ALL);
	if (!(s->enabled & IMAP_EN_REV2) && imap_view_recent(s->view) != recent)
		imap_printf(s, "* %u RECENT", imap_view_recent(s->view));
	if (s->enabled & IMAP_EN_CONDSTORE)
		imap_tagged(s, c->tag, "OK", "[HIGHESTMODSEQ %llu] EXPUNGE completed",
			    (unsigned long long)s->view->modseq);
	else
		imap_tagged(s, c->tag, "OK", "EXPUNGE completed");
}

void imap_cmd_expunge(struct imap_session *s, const struct imap_command *c)
{
	if (c->count != 0) {
		imap_tagged(s, c->tag, "BAD", "EXPUNGE takes no arguments");
		return;
	}
	do_expunge(s, c, NULL);
}

/* --- STORE (RFC 3501 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE) --- */

struct store_ctx {
	struct imap_session *s;
	bool uid, silent;
	struct imap_seqset modified;	/* refused by UNCHANGEDSINCE */
	struct imap_seqset answered;	/* UIDs a FETCH went out for */
};

static int store_changed_cb(void *ctx, const struct store_msg *m)
{
	struct store_ctx *c = ctx;
	struct imap_session *s = c->s;
	uint32_t seq = imap_view_seq(s->view, m->uid);
	struct buf line = BUF_INIT;

	imap_view_own_change(s->view, m->uid, m->modseq);
	imap_seqset_add(&c->answered, m->uid);
	if (seq == 0 || (c->silent && !(s->enabled & IMAP_EN_CONDSTORE)))
		return 0;
	buf_printf(&line, "* %u FETCH (", seq);
	if (!c->silent) {
		buf_appends(&line, "FLAGS ");
		imap_flags_write(&line, m->flags, m->keywords,
				 imap_view_is_recent(s->view, m->uid));
		buf_appendc(&line, ' ');
	}
	if (c->uid || (s->enabled & IMAP_EN_QRESYNC))
		buf_printf(&line, "UID %u ", m->uid);
	if (s->enabled & IMAP_EN_CONDSTORE)
		buf_printf(&line, "MODSEQ (%llu) ", (unsigned long long)m->modseq);
	line.len--;	/* the last space */
	buf_appendc(&line, ')');
	imap_printf(s, "%s", buf_cstr(&line));
	buf_free(&line);
	return 0;
}

static int store_failed_cb(void *ctx, uint32_t uid)
{
	struct store_ctx *c = ctx;

	imap_seqset_add(&c->answered, uid);	/* MODIFIED, no FETCH */
	imap_seqset_add(&c->modified, c->uid ? uid : imap_view_seq(c->s->view, uid));
	return 0;
}

/* RFC 3501 §6.4.6: without .SILENT every message of the set gets its
 * FETCH FLAGS, also those whose flags did not change. */
static int unchanged_cb(void *ctx, const struct store_msg *m)
{
	struct store_ctx *c = ctx;
	struct imap_session *s = c->s;
	uint32_t seq = imap_view_seq(s->view, m->uid);
	struct buf line = BUF_INIT;

	if (seq == 0)
		return 0;
	buf_printf(&line, "* %u FETCH (FLAGS ", seq);
	imap_flags_write(&line, m->flags, m->keywords,
			 imap_view_is_recent(s->view, m->uid));
	if (c->uid || (s->enabled & IMAP_EN_QRESYNC))
		buf_printf(&line, " UID %u", m->uid);
	if (s->enabled & IMAP_EN_CONDSTORE)
		buf_printf(&line, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	buf_appendc(&line, ')');
	imap_printf(s, "%s", buf_cstr(&line));
	buf_free(&line);
	return 0;
}

static void store_unchanged(struct store_ctx *c, const uint32_t *uids, size_t n)
{
	uint32_t *rest = xcalloc(n + 1, sizeof(*rest));
	size_t k = 0;
	const char *why = NULL;

	for (size_t i = 0; i < n; i++)
		if (!imap_seqset_contains(&c->answered, uids[i]))
			rest[k++] = uids[i];
	if (k > 0)
		store_msg_get(c->s->acct->store, c->s->view->id, rest, k,
			      unchanged_cb, c, &why);
	free(rest);
}

/* "+FLAGS.SILENT" and friends */
static int store_mode(const struct imap_arg *a, enum store_flags_mode *mode,
		      bool *silent)
{
	const char *w;

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	w = a->str;
	*mode = STORE_FLAGS_REPLACE;
	if (*w == '+' || *w == '-')
		*mode = *w++ == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
	if (str_ieq(w, "FLAGS"))
		*silent = false;
	else if (str_ieq(w, "FLAGS.SILENT"))
		*silent = true;
	else
		return -1;
	return 0;
}

static void do_store(struct imap_session *s, const struct imap_command *c,
		     const struct imap_arg *args, unsigned count, bool uid)
{
	struct store_flags_change ch;
	struct store_ctx ctx = { s, uid, false, { 0 }, { 0 } };
	uint32_t *uids = NULL;
	size_t n = 0;
	const char *why = NULL, **kw = NULL;
	size_t nkw = 0;
	unsigned i = 1;

	memset(&ch, 0, sizeof(ch));
	imap_seqset_init(&ctx.modified);
	imap_seqset_init(&ctx.answered);
	if (count >= 3 && args[1].type == IMAP_ARG_LIST && args[1].count == 2 &&
	    imap_arg_atom_eq(&args[1].list[0], "UNCHANGEDSINCE") &&
	    args[1].list[1].type == IMAP_ARG_ATOM &&
	    str_to_u64(args[1].list[1].str, &ch.unchangedsince) == 0) {
		i = 2;
		imap_condstore_on(s);
	}
	if (count != i + 2 || store_mode(&args[i], &ch.mode, &ctx.silent) < 0 ||
	    imap_flags_parse(&args[i + 1], &ch.flags, &kw, &nkw, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "STORE set [(UNCHANGEDSINCE n)] "
			    "[+-]FLAGS[.SILENT] (flags)");
		goto out;
	}
	ch.keywords = kw;
	ch.nkeywords = nkw;
	if (imap_set_arg(s, &args[0], uid, &uids, &n, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "%s", why);
		goto out;
	}
	if (s->view->readonly) {
		imap_tagged(s, c->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	imap_view_sync(s, IMAP_SYNC_NO_EXPUNGE);
	if (n > 0 && store_msg_flags(s->acct->store, s->view->id, uids, n, &ch,
				     store_changed_cb, store_failed_cb, &ctx,
				     &why) < 0) {
		imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s", why);
		goto out;
	}
	if (n > 0) {
		imap_server_account_changed(s->acct);
		imap_server_flags_changed(s->acct);
	}
	if (!ctx.silent)
		store_unchanged(&ctx, uids, n);
	imap_view_sync(s, uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE);
	if (ctx.modified.n > 0) {
		struct buf set = BUF_INIT;
		imap_seqset_format(&ctx.modified, &set);
		imap_tagged(s, c->tag, "OK", "[MODIFIED %s] Conditional STORE failed",
			    buf_cstr(&set));
		buf_free(&set);
	} else {
		imap_tagged(s, c->tag, "OK", "STORE completed");
	}
out:
	imap_seqset_free(&ctx.modified);
	imap_seqset_free(&ctx.answered);
	free(kw);
	free(uids);
}

void imap_cmd_store(struct imap_session *s, const struct imap_command *c)
{
	do_store(s, c, c->args, c->count, false);
}

/* --- COPY / MOVE (RFC 4315 COPYUID, RFC 6851) --- */

static void do_copy(struct imap_session *s, const struct imap_command *c,
		    const struct imap_arg *args, unsigned count, bool uid,
		    bool move)
{
	struct store_mailbox_state dst;
	struct buf name = BUF_INIT;
	uint32_t *uids = NULL, *new_uids = NULL, uidvalidity = 0;
	size_t n = 0, copied = 0;
	const char *why = NULL;

	if (count != 2) {
		imap_tagged(s, c->tag, "BAD", "%s set mailbox", move ? "MOVE" : "COPY");
		goto out;
	}
	if (imap_set_arg(s, &args[0], uid, &uids, &n, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "%s", why);
		goto out;
	}
	if (imap_mailbox_arg(s, &args[1], &name, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "%s", why);
		goto out;
	}
	if (move && s->view->readonly) {
		imap_tagged(s, c->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	if (store_mailbox_open(s->acct->store, buf_cstr(&name), &dst, &why) <= 0) {
		imap_tagged(s, c->tag, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	if (n > 0) {
		new_uids = xcalloc(n, sizeof(*new_uids));
		if (store_copy(s->acct->store, s->view->id, uids, n, dst.id, move,
			       new_uids, &copied, &uidvalidity, &why) < 0) {
			imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s", why);
			goto out;
		}
		imap_server_account_changed(s->acct);
	}
	imap_copy_reply(s, c->tag, move, uids, new_uids, n, copied, uidvalidity);
out:
	free(uids);
	free(new_uids);
	buf_free(&name);
}

void imap_copy_reply(struct imap_session *s, const char *tag, bool move,
		     const uint32_t *uids, const uint32_t *new_uids, size_t n,
		     size_t copied, uint32_t uidvalidity)
{
	struct imap_seqset from, to;
	struct buf a = BUF_INIT, b = BUF_INIT, code = BUF_INIT;

	imap_seqset_init(&from);
	imap_seqset_init(&to);
	for (size_t i = 0; i < n && copied > 0; i++)
		if (new_uids[i] != 0) {
			imap_seqset_add(&from, uids[i]);
			imap_seqset_add(&to, new_uids[i]);
		}
	if (from.n > 0) {
		imap_seqset_format(&from, &a);
		imap_seqset_format(&to, &b);
		buf_printf(&code, "COPYUID %u %s %s", uidvalidity, buf_cstr(&a),
			   buf_cstr(&b));
	}
	if (move) {
		/* RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges */
		if (code.len > 0)
			imap_printf(s, "* OK [%s] Moved", buf_cstr(&code));
		imap_view_sync(s, IMAP_SYNC_ALL);
		imap_tagged(s, tag, "OK", "MOVE completed");
	} else {
		imap_view_sync(s, IMAP_SYNC_NO_EXPUNGE);
		if (code.len > 0)
			imap_tagged(s, tag, "OK", "[%s] COPY completed", buf_cstr(&code));
		else
			imap_tagged(s, tag, "OK", "COPY completed");
	}
	imap_seqset_free(&from);
	imap_seqset_free(&to);
	buf_free(&a);
	buf_free(&b);
	buf_free(&code);
}

void imap_cmd_copy(struct imap_session *s, const struct imap_command *c)
{
	do_copy(s, c, c->args, c->count, false, str_ieq(c->name, "MOVE"));
}

/* --- UID prefix (RFC 3501 §6.4.8) --- */

void imap_cmd_uid(struct imap_session *s, const struct imap_command *c)
{
	const char *sub;

	if (c->count < 1 || c->args[0].type != IMAP_ARG_ATOM) {
		imap_tagged(s, c->tag, "BAD", "UID FETCH|STORE|COPY|MOVE|SEARCH|EXPUNGE");
		return;
	}
	sub = c->args[0].str;
	if (str_ieq(sub, "FETCH"))
		imap_fetch_run(s, c, c->args + 1, c->count - 1, true);
	else if (str_ieq(sub, "STORE"))
		do_store(s, c, c->args + 1, c->count - 1, true);
	else if (str_ieq(sub, "COPY") || str_ieq(sub, "MOVE"))
		do_copy(s, c, c->args + 1, c->count - 1, true, str_ieq(sub, "MOVE"));
	else if (str_ieq(sub, "SEARCH"))
		imap_search_run(s, c, c->args + 1, c->count - 1, true);
	else if (str_ieq(sub, "EXPUNGE") && c->count == 2)
		do_expunge(s, c, &c->args[1]);
	else
		imap_tagged(s, c->tag, "BAD", "Unknown UID command");
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command *c)
{
	imap_fetch_run(s, c, c->args, c->count, false);
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *c)
{
	imap_search_run(s, c, c->args, c->count, false);
}

/* --- jobs --- */

void imap_cmd_job_step(struct imap_session *s)
{
	struct imap_job *job = s->job;

	if (job != NULL && job->step(s, job)) {
		s->job = NULL;
		job->free(job);
	}
}

void imap_cmd_job_free(struct imap_session *s)
{
	if (s->job != NULL) {
		s->job->free(s->job);
		s->job = NULL;
	}
}
