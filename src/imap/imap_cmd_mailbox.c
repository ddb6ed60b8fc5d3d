/* imap_cmd_mailbox: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND, GETQUOTA(ROOT) (RFC 3501 §6.3,
 * RFC 9051 §6.3, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
 * SPECIAL-USE, RFC 4315 UIDPLUS, RFC 3502 MULTIAPPEND, RFC 7162,
 * RFC 9208 QUOTA). */
#include "imap/imap_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/proc.h"
#include "imap/imap_quote.h"
#include "imap/imap_utf7.h"
#include "imap/imap_view.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_mail.h"

#define LIST_PATTERNS_MAX 64

/* Bytes stored in all the account's mailboxes (QUOTA). */
struct size_ctx {
	struct store *st;
	uint64_t total;
};

static int size_cb(void *ctx, const struct store_mailbox_info *mb)
{
	struct size_ctx *c = ctx;
	struct store_mailbox_state st;
	const char *why = NULL;

	if (store_mailbox_open(c->st, mb->name, &st, &why) == 1)
		c->total += st.size;
	return 0;
}

static int account_size(struct imap_session *s, uint64_t *used,
			const char **why)
{
	struct size_ctx c = { s->acct->store, 0 };

	if (store_mailbox_list(s->acct->store, size_cb, &c, why) < 0)
		return -1;
	*used = c.total;
	return 0;
}

/* --- names --- */

/* Mailbox names travel as UTF-8 (RFC 6855 UTF8=ACCEPT, RFC 9051), else as
 * modified UTF-7 (RFC 3501 §5.1.3). */
static bool utf8_names(const struct imap_session *s)
{
	return (s->enabled & (IMAP_EN_UTF8 | IMAP_EN_REV2)) != 0;
}

int imap_mailbox_arg(struct imap_session *s, const struct imap_arg *a,
		     struct buf *out, const char **error_r)
{
	const char *name;
	size_t len;

	buf_reset(out);
	if (!imap_arg_astring(a, &name, &len)) {
		*error_r = "Mailbox name expected";
		return -1;
	}
	if (len == 5 && str_nieq(name, "INBOX", 5)) {
		buf_appends(out, "INBOX");
		return 0;
	}
	if (utf8_names(s) && !imap_utf7_is_valid(name, len))
		buf_append(out, name, len);	/* UTF-8 as sent (RFC 6855 §3) */
	else if (imap_utf7_decode(name, len, out, error_r) < 0)
		return -1;
	if (imap_utf7_name_check(out->ptr, out->len, error_r) < 0)
		return -1;
	if (strlen(buf_cstr(out)) != out->len || out->ptr[0] == '.' ||
	    out->ptr[out->len - 1] == '.' || memchr(out->ptr, '/', out->len) ||
	    strstr(buf_cstr(out), "..") != NULL) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	if (out->len > STORE_MAILBOX_NAME_MAX) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	/* "inbox.x" names a child of INBOX: keep INBOX's spelling */
	if (out->len > 6 && str_nieq(out->ptr, "INBOX.", 6))
		memcpy(out->ptr, "INBOX", 5);
	return 0;
}

void imap_mailbox_write(struct imap_session *s, const char *name,
			struct buf *out)
{
	struct buf enc = BUF_INIT;
	const char *why;

	if (utf8_names(s) ||
	    imap_utf7_encode(name, strlen(name), &enc, &why) < 0)
		imap_quote_string(out, name, strlen(name));
	else
		imap_quote_string(out, enc.ptr, enc.len);
	buf_free(&enc);
}

static bool one_mailbox_arg(struct imap_session *s, const struct imap_command *c,
			    unsigned nargs, struct buf *name)
{
	const char *why = NULL;

	if (c->count != nargs) {
		imap_tagged(s, c->tag, "BAD", "Wrong number of arguments");
		return false;
	}
	if (imap_mailbox_arg(s, &c->args[0], name, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "%s", why);
		return false;
	}
	return true;
}

/* --- SELECT / EXAMINE --- */

static int parse_qresync(const struct imap_arg *a, struct imap_qresync *qr,
			 const char **why)
{
	/* (QRESYNC (uidvalidity modseq [known-uids [seq-match]])) */
	const struct imap_arg *l;
	uint64_t v, m;

	if (a->type != IMAP_ARG_LIST || a->count < 2 || a->count > 4) {
		*why = "QRESYNC (uidvalidity modseq [known-uids])";
		return -1;
	}
	l = a->list;
	if (l[0].type != IMAP_ARG_ATOM || str_to_u64(l[0].str, &v) < 0 ||
	    v == 0 || v > UINT32_MAX || l[1].type != IMAP_ARG_ATOM ||
	    str_to_u64(l[1].str, &m) < 0 || m == 0) {
		*why = "Invalid QRESYNC numbers";
		return -1;
	}
	qr->given = true;
	qr->uidvalidity = (uint32_t)v;
	qr->modseq = m;
	if (a->count >= 3 && l[2].type == IMAP_ARG_ATOM) {
		if (imap_seqset_parse(&qr->known_uids, l[2].str, l[2].len,
				      IMAP_SEQSET_RANGES_MAX, why) < 0)
			return -1;
		imap_seqset_resolve(&qr->known_uids, UINT32_MAX);
		qr->have_known = true;
	}
	return 0;
}

void imap_cmd_select(struct imap_session *s, const struct imap_command *c)
{
	bool examine = str_ieq(c->name, "EXAMINE"), condstore = false;
	struct imap_qresync qr;
	struct buf name = BUF_INIT;
	const char *why = NULL;
	int r;

	memset(&qr, 0, sizeof(qr));
	imap_seqset_init(&qr.known_uids);
	if (c->count < 1 || c->count > 2 ||
	    (c->count == 2 && c->args[1].type != IMAP_ARG_LIST)) {
		imap_tagged(s, c->tag, "BAD", "%s mailbox [(parameters)]", c->name);
		goto out;
	}
	for (unsigned i = 0; c->count == 2 && i < c->args[1].count; i++) {
		const struct imap_arg *p = &c->args[1].list[i];
		if (imap_arg_atom_eq(p, "CONDSTORE")) {
			condstore = true;
		} else if (imap_arg_atom_eq(p, "QRESYNC") &&
			   i + 1 < c->args[1].count &&
			   (s->enabled & IMAP_EN_QRESYNC)) {
			if (parse_qresync(&c->args[1].list[++i], &qr, &why) < 0) {
				imap_tagged(s, c->tag, "BAD", "%s", why);
				goto out;
			}
		} else {
			imap_tagged(s, c->tag, "BAD", "Unknown SELECT parameter");
			goto out;
		}
	}
	if (imap_mailbox_arg(s, &c->args[0], &name, &why) < 0) {
		imap_view_close(s);
		imap_tagged(s, c->tag, "NO", "%s", why);
		goto out;
	}
	if (s->view != NULL)	/* RFC 7162 §3.2.11: CLOSED before the new one */
		if (s->enabled & IMAP_EN_QRESYNC)
			imap_printf(s, "* OK [CLOSED] Previous mailbox closed");
	if (condstore)
		s->enabled |= IMAP_EN_CONDSTORE;
	r = imap_view_open(s, buf_cstr(&name), examine, condstore, &qr, &why);
	if (r < 0)
		imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s", why);
	else if (r == 0)
		imap_tagged(s, c->tag, "NO", "[NONEXISTENT] No such mailbox");
	else {
		if (s->enabled & IMAP_EN_REV2) {
			struct buf l = BUF_INIT;
			imap_mailbox_write(s, buf_cstr(&name), &l);
			imap_printf(s, "* LIST () \".\" %s", buf_cstr(&l));
			buf_free(&l);
		}
		imap_tagged(s, c->tag, "OK", "[%s] %s completed",
			    examine ? "READ-ONLY" : "READ-WRITE", c->name);
	}
out:
	imap_seqset_free(&qr.known_uids);
	buf_free(&name);
}

/* --- CREATE, DELETE, RENAME, (UN)SUBSCRIBE --- */

/* RFC 3501 §6.3.3: a trailing delimiter only says the mailbox will have
 * children, and is ignored. */
static int create_name(struct imap_session *s, const struct imap_arg *a,
		       struct buf *name, const char **why)
{
	struct imap_arg trimmed = *a;

	if (a->type != IMAP_ARG_LIST && a->str != NULL && a->len > 1 &&
	    a->str[a->len - 1] == '.' && a->str[a->len - 2] != '.')
		trimmed.len--;
	if (a->str != NULL && a->str[0] == '#') {
		*why = "[CANNOT] Names starting with # are namespaces";
		return -1;
	}
	if (trimmed.len == a->len)
		return imap_mailbox_arg(s, a, name, why);
	{
		char *copy = xstrndup(a->str, trimmed.len);
		int r;
		trimmed.str = copy;
		r = imap_mailbox_arg(s, &trimmed, name, why);
		free(copy);
		return r;
	}
}

void imap_cmd_create(struct imap_session *s, const struct imap_command *c)
{
	struct buf name = BUF_INIT;
	const char *why = NULL, *use = NULL;
	int r;

	if (c->count == 2 && c->args[1].type == IMAP_ARG_LIST &&
	    c->args[1].count == 2 && imap_arg_atom_eq(&c->args[1].list[0], "USE") &&
	    c->args[1].list[1].type == IMAP_ARG_LIST &&
	    c->args[1].list[1].count == 1 &&
	    c->args[1].list[1].list[0].type == IMAP_ARG_ATOM) {
		use = c->args[1].list[1].list[0].str;	/* RFC 6154 §3 */
	} else if (c->count != 1) {
		imap_tagged(s, c->tag, "BAD", "CREATE mailbox [(USE (attr))]");
		return;
	}
	if (create_name(s, &c->args[0], &name, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "%s", why);
		goto out;
	}
	r = store_mailbox_create(s->acct->store, buf_cstr(&name), use, &why);
	if (r < 0)
		imap_tagged(s, c->tag, "NO", "%s%s",
			    use ? "[USEATTR] " : "[CANNOT] ", why);
	else if (r == 0)
		imap_tagged(s, c->tag, "NO", "[ALREADYEXISTS] Mailbox exists");
	else
		imap_tagged(s, c->tag, "OK", "CREATE completed");
out:
	buf_free(&name);
}

void imap_cmd_delete(struct imap_session *s, const struct imap_command *c)
{
	struct buf name = BUF_INIT;
	const char *why = NULL;
	int r;

	if (!one_mailbox_arg(s, c, 1, &name))
		goto out;
	if (strcmp(buf_cstr(&name), "INBOX") == 0) {
		imap_tagged(s, c->tag, "NO", "[CANNOT] INBOX cannot be deleted");
		goto out;
	}
	if (s->view != NULL && strcmp(s->view->name, buf_cstr(&name)) == 0)
		imap_view_close(s);	/* RFC 9051 §6.3.4 */
	r = store_mailbox_delete(s->acct->store, buf_cstr(&name), &why);
	if (r < 0)
		imap_tagged(s, c->tag, "NO", "[CANNOT] %s", why);
	else if (r == 0)
		imap_tagged(s, c->tag, "NO", "[NONEXISTENT] No such mailbox");
	else {
		imap_server_account_changed(s->acct);
		imap_tagged(s, c->tag, "OK", "DELETE completed");
	}
out:
	buf_free(&name);
}

void imap_cmd_rename(struct imap_session *s, const struct imap_command *c)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	const char *why = NULL;
	int r;

	if (!one_mailbox_arg(s, c, 2, &from))
		goto out;
	if (imap_mailbox_arg(s, &c->args[1], &to, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "%s", why);
		goto out;
	}
	r = store_mailbox_rename(s->acct->store, buf_cstr(&from), buf_cstr(&to),
				 &why);
	if (r < 0)
		imap_tagged(s, c->tag, "NO", "%s", why);
	else if (r == 0)
		imap_tagged(s, c->tag, "NO", "[NONEXISTENT] No such mailbox");
	else {
		if (s->view != NULL && strcmp(s->view->name, buf_cstr(&from)) == 0) {
			free(s->view->name);
			s->view->name = xstrdup(buf_cstr(&to));
		}
		imap_server_account_changed(s->acct);
		imap_tagged(s, c->tag, "OK", "RENAME completed");
	}
out:
	buf_free(&from);
	buf_free(&to);
}

void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *c)
{
	bool on = str_ieq(c->name, "SUBSCRIBE");
	struct buf name = BUF_INIT;
	const char *why = NULL;

	if (!one_mailbox_arg(s, c, 1, &name))
		goto out;
	if (store_mailbox_subscribe(s->acct->store, buf_cstr(&name), on, &why) < 0)
		imap_tagged(s, c->tag, "NO", "%s", why);
	else
		imap_tagged(s, c->tag, "OK", "%s completed", on ? "SUBSCRIBE" :
			    "UNSUBSCRIBE");
out:
	buf_free(&name);
}

/* --- LIST / LSUB --- */

/* RFC 3501 §6.3.8: '*' matches anything, '%' anything but the delimiter. */
static bool pattern_match(const char *p, const char *n)
{
	for (; *p != '\0'; p++, n++) {
		if (*p == '*' || *p == '%') {
			for (;;) {
				if (pattern_match(p + 1, n))
					return true;
				if (*n == '\0' || (*p == '%' && *n == '.'))
					return false;
				n++;
			}
		}
		if (*p != *n)
			return false;
	}
	return *n == '\0';
}

/* INBOX matches case-insensitively, as does the INBOX part of children. */
static bool name_match(const char *pattern, const char *name)
{
	if (str_nieq(pattern, "INBOX", 5) && strncmp(name, "INBOX", 5) == 0 &&
	    (pattern[5] == '\0' || pattern[5] == '.' || pattern[5] == '*' ||
	     pattern[5] == '%')) {
		return pattern_match(pattern + 5, name + 5);
	}
	return pattern_match(pattern, name);
}

struct list_entry {
	char *name;
	const char *special_use;
	bool subscribed, exists, has_children;
	bool sub_parent;	/* LSUB: not subscribed, a descendant is */
	bool level;		/* no mailbox, but mailboxes below it */
};

struct list_req {
	struct imap_session *s;
	const char *tag;
	bool lsub;
	bool sel_subscribed, sel_special, recursive;
	bool ret_subscribed, ret_children, ret_special;
	struct imap_arg status_items;	/* LIST-STATUS */
	bool ret_status;
	bool empty_pattern;		/* LIST ref "": delimiter and root */
	char *patterns[LIST_PATTERNS_MAX];
	unsigned npatterns;
	struct list_entry *v;
	size_t n, cap;
};

static struct list_entry *entry_get(struct list_req *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i].name, name) == 0)
			return &q->v[i];
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 32;
		q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
	}
	memset(&q->v[q->n], 0, sizeof(q->v[0]));
	q->v[q->n].name = xstrdup(name);
	return &q->v[q->n++];
}

static int list_mailbox_cb(void *ctx, const struct store_mailbox_info *mb)
{
	struct list_req *q = ctx;
	struct list_entry *e = entry_get(q, mb->name);

	e->exists = true;
	e->special_use = mb->special_use;
	e->has_children = mb->has_children;
	e->subscribed = e->subscribed || mb->subscribed;
	return 0;
}

static int list_sub_cb(void *ctx, const char *name)
{
	struct list_req *q = ctx;

	entry_get(q, name)->subscribed = true;
	return 0;
}

static bool matches_any(const struct list_req *q, const char *name)
{
	for (unsigned i = 0; i < q->npatterns; i++)
		if (name_match(q->patterns[i], name))
			return true;
	return false;
}

static bool status_write(struct imap_session *s, const char *name,
			 const struct imap_arg *items, bool *missing_r);

static void list_write(struct list_req *q, const struct list_entry *e,
		       bool child_subscribed)
{
	struct buf line = BUF_INIT;
	size_t mark;
	bool missing;	/* (it exists: listed from the store just now) */

	buf_appends(&line, q->lsub ? "* LSUB (" : "* LIST (");
	mark = line.len;
	if (q->lsub && e->sub_parent && !e->subscribed)
		buf_appends(&line, "\\Noselect");
	else if (e->level && !q->lsub)
		buf_appends(&line, "\\Noselect \\HasChildren");
	else if (!e->exists)
		buf_appends(&line, q->lsub ? "\\Noselect" : "\\NonExistent");
	if (e->exists && !q->lsub)
		buf_appends(&line, e->has_children ? "\\HasChildren" : "\\HasNoChildren");
	if (!q->lsub && e->subscribed && (q->ret_subscribed || q->sel_subscribed))
		buf_appends(&line, line.len > mark ? " \\Subscribed" : "\\Subscribed");
	if (e->special_use != NULL && !q->lsub)
		buf_printf(&line, "%s%s", line.len > mark ? " " : "", e->special_use);
	buf_appends(&line, ") \".\" ");
	imap_mailbox_write(q->s, e->name, &line);
	if (child_subscribed)
		buf_appends(&line, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	imap_printf(q->s, "%s", buf_cstr(&line));
	buf_free(&line);
	if (q->ret_status && e->exists)
		status_write(q->s, e->name, &q->status_items, &missing);
}

/* INBOX first, then by name (the order most servers answer in). */
static int cmp_entry(const void *a, const void *b)
{
	const char *x = ((const struct list_entry *)a)->name;
	const char *y = ((const struct list_entry *)b)->name;
	bool xi = strcmp(x, "INBOX") == 0, yi = strcmp(y, "INBOX") == 0;

	if (xi || yi)
		return yi - xi;
	return strcmp(x, y);
}

static bool parse_list_options(struct list_req *q, const struct imap_arg *a,
			       bool selection, const char **why)
{
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_arg *o = &a->list[i];
		if (selection && imap_arg_atom_eq(o, "SUBSCRIBED"))
			q->sel_subscribed = true;
		else if (selection && imap_arg_atom_eq(o, "REMOTE"))
			;
		else if (selection && imap_arg_atom_eq(o, "RECURSIVEMATCH"))
			q->recursive = true;
		else if (selection && imap_arg_atom_eq(o, "SPECIAL-USE"))
			q->sel_special = true;
		else if (!selection && imap_arg_atom_eq(o, "SUBSCRIBED"))
			q->ret_subscribed = true;
		else if (!selection && imap_arg_atom_eq(o, "CHILDREN"))
			q->ret_children = true;
		else if (!selection && imap_arg_atom_eq(o, "SPECIAL-USE"))
			q->ret_special = true;
		else if (!selection && imap_arg_atom_eq(o, "STATUS") &&
			 i + 1 < a->count && a->list[i + 1].type == IMAP_ARG_LIST) {
			q->ret_status = true;
			q->status_items = a->list[++i];
		} else {
			*why = "Unknown LIST option";
			return false;
		}
	}
	if (q->recursive && !q->sel_subscribed) {
		*why = "RECURSIVEMATCH needs another selection option";
		return false;
	}
	return true;
}

/* Reference + pattern -> the pattern to match (RFC 3501 §6.3.8). */
static int add_pattern(struct list_req *q, const char *ref, size_t rl,
		       const struct imap_arg *pa, const char **why)
{
	struct buf full = BUF_INIT, dec = BUF_INIT;
	const char *p;
	size_t pl;

	if (!imap_arg_astring(pa, &p, &pl) || q->npatterns == LIST_PATTERNS_MAX) {
		*why = "Bad pattern";
		return -1;
	}
	if (pl == 0)
		q->empty_pattern = true;	/* RFC 3501 §6.3.8: the delimiter */
	buf_append(&full, ref, rl);
	buf_append(&full, p, pl);
	if (!utf8_names(q->s) &&
	    imap_utf7_decode(full.ptr, full.len, &dec, why) == 0) {
		buf_free(&full);
		full = dec;
	} else {
		buf_free(&dec);
	}
	q->patterns[q->npatterns++] = buf_detach(&full);
	return 0;
}

static int parse_list(struct list_req *q, const struct imap_command *c,
		      const char **why)
{
	unsigned i = 0;
	const char *ref;
	size_t rl;

	if (!q->lsub && i < c->count && c->args[i].type == IMAP_ARG_LIST) {
		if (!parse_list_options(q, &c->args[i], true, why))
			return -1;
		i++;
	}
	if (i + 2 > c->count || !imap_arg_astring(&c->args[i], &ref, &rl)) {
		*why = "LIST reference pattern";
		return -1;
	}
	i++;
	if (c->args[i].type == IMAP_ARG_LIST && !q->lsub) {
		for (unsigned k = 0; k < c->args[i].count; k++)
			if (add_pattern(q, ref, rl, &c->args[i].list[k], why) < 0)
				return -1;
	} else if (add_pattern(q, ref, rl, &c->args[i], why) < 0) {
		return -1;
	}
	i++;
	if (i + 2 == c->count && !q->lsub && imap_arg_atom_eq(&c->args[i], "RETURN") &&
	    c->args[i + 1].type == IMAP_ARG_LIST) {
		if (!parse_list_options(q, &c->args[i + 1], false, why))
			return -1;
		i += 2;
	}
	if (i != c->count) {
		*why = "Unexpected LIST arguments";
		return -1;
	}
	return 0;
}

/* Whether a subscribed mailbox lies below e (RECURSIVEMATCH, LSUB). */
static bool child_subscribed(const struct list_req *q, const char *name)
{
	size_t l = strlen(name);

	for (size_t i = 0; i < q->n; i++)
		if (q->v[i].subscribed && strncmp(q->v[i].name, name, l) == 0 &&
		    q->v[i].name[l] == '.')
			return true;
	return false;
}

/* Mark the entries of the ancestors of every entry that `from` picks and
 * a pattern matches, with `mark` (entries are added for them as needed). */
static void mark_ancestors(struct list_req *q,
			   bool (*from)(const struct list_req *q,
					const struct list_entry *e),
			   void (*mark)(struct list_entry *e))
{
	size_t n = q->n;

	for (size_t i = 0; i < n; i++) {
		char *name = from(q, &q->v[i]) ? xstrdup(q->v[i].name) : NULL;
		for (char *dot = name ? strrchr(name, '.') : NULL; dot != NULL;
		     dot = strrchr(name, '.')) {
			*dot = '\0';
			if (matches_any(q, name))
				mark(entry_get(q, name));
		}
		free(name);
	}
}

static bool is_mailbox(const struct list_req *q, const struct list_entry *e)
{
	(void)q;
	return e->exists;
}

/* RFC 3501 §6.3.8: a level of the hierarchy that is no mailbox (its
 * mailbox was deleted, §6.3.4, and its inferiors stay) is listed as
 * \Noselect when a pattern matches it. */
static void mark_level(struct list_entry *e)
{
	e->level = !e->exists;
}

static bool is_unmatched_subscription(const struct list_req *q,
				      const struct list_entry *e)
{
	return e->subscribed && !matches_any(q, e->name);
}

/* RFC 3501 §6.3.9: LSUB "%" lists an unsubscribed parent of a subscribed
 * name as \Noselect (the name itself lies below what "%" matches). */
static void mark_sub_parent(struct list_entry *e)
{
	if (!e->subscribed)
		e->sub_parent = true;
}

static void list_run(struct list_req *q)
{
	const char *why = NULL;

	if (store_mailbox_list(q->s->acct->store, list_mailbox_cb, q, &why) < 0 ||
	    store_subscription_list(q->s->acct->store, list_sub_cb, q, &why) < 0) {
		imap_tagged(q->s, q->tag, "NO", "[SERVERBUG] %s", why);
		return;
	}
	if (q->lsub)
		mark_ancestors(q, is_unmatched_subscription, mark_sub_parent);
	else
		mark_ancestors(q, is_mailbox, mark_level);
	qsort(q->v, q->n, sizeof(*q->v), cmp_entry);
	for (size_t i = 0; i < q->n; i++) {
		struct list_entry *e = &q->v[i];
		bool child = false;
		if (!matches_any(q, e->name))
			continue;
		if (q->lsub || q->sel_subscribed) {
			child = q->recursive && child_subscribed(q, e->name);
			if (!e->subscribed && !child && !e->sub_parent)
				continue;
		} else if (!e->exists && !e->level) {
			continue;
		}
		if (q->sel_special && e->special_use == NULL)
			continue;
		list_write(q, e, child && !e->subscribed);
	}
	imap_tagged(q->s, q->tag, "OK", "%s completed", q->lsub ? "LSUB" : "LIST");
}

void imap_cmd_list(struct imap_session *s, const struct imap_command *c)
{
	struct list_req q;
	const char *why = NULL;

	memset(&q, 0, sizeof(q));
	q.s = s;
	q.tag = c->tag;
	q.lsub = str_ieq(c->name, "LSUB");
	if (parse_list(&q, c, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "%s", why);
	} else if (!q.lsub && q.npatterns == 1 && q.empty_pattern) {
		/* RFC 3501: the delimiter and root */
		imap_printf(s, "* LIST (\\Noselect) \".\" \"\"");
		imap_tagged(s, c->tag, "OK", "LIST completed");
	} else {
		list_run(&q);
	}
	for (unsigned i = 0; i < q.npatterns; i++)
		free(q.patterns[i]);
	for (size_t i = 0; i < q.n; i++)
		free(q.v[i].name);
	free(q.v);
}

/* --- STATUS --- */

static int count_cb(void *ctx, const struct store_msg *m)
{
	(void)m;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Messages no session has seen yet (RFC 3501 §6.3.10 RECENT). */
static uint64_t count_recent(struct imap_session *s, int64_t mailbox_id)
{
	uint64_t n = 0;
	const char *why = NULL;

	if (s->view != NULL && s->view->id == mailbox_id)
		return imap_view_recent(s->view);
	store_msg_list(s->acct->store, mailbox_id,
		       imap_server_recent_peek(s->acct, mailbox_id), count_cb, &n,
		       &why);
	return n;
}

/* Writes "* STATUS name (...)"; false (nothing written) for a bad item. */
static bool status_write(struct imap_session *s, const char *name,
			 const struct imap_arg *items, bool *missing_r)
{
	struct store_mailbox_state st;
	struct buf line = BUF_INIT;
	const char *why = NULL;
	size_t mark;

	*missing_r = false;
	if (store_mailbox_open(s->acct->store, name, &st, &why) <= 0) {
		*missing_r = true;
		return true;
	}
	buf_appends(&line, "* STATUS ");
	imap_mailbox_write(s, name, &line);
	buf_appends(&line, " (");
	mark = line.len;
	for (unsigned i = 0; i < items->count; i++) {
		const struct imap_arg *it = &items->list[i];
		if (line.len > mark)
			buf_appendc(&line, ' ');
		if (imap_arg_atom_eq(it, "MESSAGES"))
			buf_printf(&line, "MESSAGES %llu", (unsigned long long)st.messages);
		else if (imap_arg_atom_eq(it, "RECENT"))
			buf_printf(&line, "RECENT %llu", (unsigned long long)
				   count_recent(s, st.id));
		else if (imap_arg_atom_eq(it, "UIDNEXT"))
			buf_printf(&line, "UIDNEXT %u", st.uidnext);
		else if (imap_arg_atom_eq(it, "UIDVALIDITY"))
			buf_printf(&line, "UIDVALIDITY %u", st.uidvalidity);
		else if (imap_arg_atom_eq(it, "UNSEEN"))
			buf_printf(&line, "UNSEEN %llu", (unsigned long long)st.unseen);
		else if (imap_arg_atom_eq(it, "SIZE"))
			buf_printf(&line, "SIZE %llu", (unsigned long long)st.size);
		else if (imap_arg_atom_eq(it, "DELETED"))
			buf_printf(&line, "DELETED %llu", (unsigned long long)st.deleted);
		else if (imap_arg_atom_eq(it, "HIGHESTMODSEQ")) {
			buf_printf(&line, "HIGHESTMODSEQ %llu",
				   (unsigned long long)st.highestmodseq);
		} else if (imap_arg_atom_eq(it, "APPENDLIMIT"))
			buf_printf(&line, "APPENDLIMIT %llu",
				   (unsigned long long)proc_cfg.imap_max_append);
		else {
			buf_free(&line);
			return false;
		}
	}
	buf_appendc(&line, ')');
	imap_printf(s, "%s", buf_cstr(&line));
	buf_free(&line);
	return true;
}

void imap_cmd_status(struct imap_session *s, const struct imap_command *c)
{
	struct buf name = BUF_INIT;
	const char *why = NULL;
	bool missing = false;

	if (c->count != 2 || c->args[1].type != IMAP_ARG_LIST ||
	    c->args[1].count == 0) {
		imap_tagged(s, c->tag, "BAD", "STATUS mailbox (items)");
		goto out;
	}
	if (imap_mailbox_arg(s, &c->args[0], &name, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "%s", why);
		goto out;
	}
	/* RFC 3501 §6.3.10: the selected mailbox's own news come first */
	if (s->view != NULL)
		imap_view_sync(s, IMAP_SYNC_NO_EXPUNGE);
	if (!status_write(s, buf_cstr(&name), &c->args[1], &missing))
		imap_tagged(s, c->tag, "BAD", "Unknown STATUS item");
	else if (missing)
		imap_tagged(s, c->tag, "NO", "[NONEXISTENT] No such mailbox");
	else
		imap_tagged(s, c->tag, "OK", "STATUS completed");
out:
	buf_free(&name);
}

/* --- APPEND (streamed: the message data reaches us before the command
 * is complete, so each message goes to a temporary file first) --- */

struct imap_append {
	struct store_append **msgs;	/* one per message literal */
	size_t n, cap;
	bool current_open;		/* msgs[n-1] still receives data */
	bool failed;
	const char *why;
};

void imap_cmd_append_chunk(struct imap_session *s, const void *data, size_t len)
{
	struct imap_append *ap = s->append;
	const char *why = NULL;

	if (ap == NULL)
		s->append = ap = xcalloc(1, sizeof(*ap));
	if (ap->failed)
		return;
	if (!ap->current_open) {
		struct store_append *a = NULL;
		if (s->acct != NULL)
			a = store_append_begin(s->acct->store, &why);
		if (a == NULL) {
			ap->failed = true;
			ap->why = why ? why : "not logged in";
			return;
		}
		if (ap->n == ap->cap) {
			ap->cap = ap->cap ? ap->cap * 2 : 4;
			ap->msgs = xreallocarray(ap->msgs, ap->cap, sizeof(*ap->msgs));
		}
		ap->msgs[ap->n++] = a;
		ap->current_open = true;
	}
	if (store_append_write(ap->msgs[ap->n - 1], data, len, &why) < 0) {
		ap->failed = true;
		ap->why = why;
	}
	if (imap_parser_literal_left(s->parser) == 0)
		ap->current_open = false;
}

void imap_cmd_append_abort(struct imap_session *s)
{
	struct imap_append *ap = s->append;

	if (ap == NULL)
		return;
	for (size_t i = 0; i < ap->n; i++)
		if (ap->msgs[i] != NULL)
			store_append_abort(ap->msgs[i]);
	free(ap->msgs);
	free(ap);
	s->append = NULL;
}

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). */
static int parse_date_time(const char *s, time_t *t_r)
{
	char mon[4];
	int d, y, hh, mm, ss, zone, n = 0;
	struct tm tm;

	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %5d%n", &d, mon, &y, &hh, &mm, &ss,
		   &zone, &n) != 7 || s[n] != '\0' || strlen(s) < 25)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (str_ieq(mon, months[i]))
			tm.tm_mon = i;
	if (tm.tm_mon < 0 || d < 1 || d > 31 || y < 1970 || hh > 23 || mm > 59 ||
	    ss > 60 || zone < -9959 || zone > 9959)
		return -1;
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	/* +0200 is two hours ahead of UTC: subtract it */
	*t_r = timegm(&tm) - (zone / 100 * 3600 + zone % 100 * 60);
	return 0;
}

/* One message of the command: [flags] [date] literal at args[*i]. */
struct append_item {
	unsigned flags;
	const char **kw;
	size_t nkw;
	time_t date;
};

static int append_items(const struct imap_command *c, struct append_item *items,
			size_t max, size_t *n_r, const char **why)
{
	size_t n = 0;

	for (unsigned i = 1; i < c->count; n++) {
		struct append_item *it = &items[n];
		if (n == max) {
			*why = "Too many messages";
			return -1;
		}
		memset(it, 0, sizeof(*it));
		if (c->args[i].type == IMAP_ARG_LIST) {
			if (imap_flags_parse(&c->args[i], &it->flags, &it->kw,
					     &it->nkw, why) < 0)
				return -1;
			i++;
		}
		if (i < c->count && c->args[i].type == IMAP_ARG_STRING) {
			if (parse_date_time(c->args[i].str, &it->date) < 0) {
				*why = "Invalid date-time";
				return -1;
			}
			i++;
		}
		if (i >= c->count || c->args[i].type != IMAP_ARG_LITERAL ||
		    !(c->args[i].flags & IMAP_ARG_F_MESSAGE)) {
			*why = "APPEND mailbox [(flags)] [date-time] message";
			return -1;
		}
		i++;
	}
	*n_r = n;
	return n > 0 ? 0 : -1;
}

static void append_undo(struct imap_session *s, int64_t mailbox_id,
			const struct imap_seqset *uids)
{
	struct imap_seqset_iter it;
	uint32_t *v = xcalloc(imap_seqset_count(uids) + 1, sizeof(*v)), uid;
	size_t n = 0;
	const char *why = NULL;

	imap_seqset_iter_init(&it, uids);
	while (imap_seqset_next(&it, &uid))
		v[n++] = uid;
	if (n > 0 && store_expunge(s->acct->store, mailbox_id, v, n, NULL, NULL,
				   &why) < 0)
		log_error("session=%s event=append-undo-failed reason=\"%s\"",
			  s->id, why);
	free(v);
}

static void append_commit(struct imap_session *s, const struct imap_command *c,
			  struct imap_append *ap, struct append_item *items,
			  size_t n, int64_t mailbox_id)
{
	struct imap_seqset uids;
	uint32_t uidvalidity = 0;
	const char *why = NULL;
	size_t done = 0;

	imap_seqset_init(&uids);
	for (size_t k = 0; k < n; k++) {
		uint32_t uid;
		int r = store_append_finish(ap->msgs[k], mailbox_id, items[k].flags,
					    items[k].kw, items[k].nkw,
					    items[k].date, &uid, &uidvalidity, &why);
		ap->msgs[k] = NULL;	/* finish consumed it */
		if (r < 0)
			break;
		imap_seqset_add(&uids, uid);
		done++;
	}
	if (done < n) {
		/* RFC 3502 §6.3.11: MULTIAPPEND is all or nothing: take back
		 * the messages of this command already stored */
		append_undo(s, mailbox_id, &uids);
		for (size_t k = done + 1; k < n; k++) {
			store_append_abort(ap->msgs[k]);
			ap->msgs[k] = NULL;
		}
		imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s",
			    why ? why : "Append failed");
	} else {
		struct buf set = BUF_INIT;
		imap_seqset_format(&uids, &set);
		imap_server_account_changed(s->acct);
		if (s->view != NULL)
			imap_view_sync(s, IMAP_SYNC_ALL);
		imap_tagged(s, c->tag, "OK", "[APPENDUID %u %s] APPEND completed",
			    uidvalidity, buf_cstr(&set));
		buf_free(&set);
	}
	imap_seqset_free(&uids);
}

#define APPEND_MESSAGES_MAX 1000

void imap_cmd_append(struct imap_session *s, const struct imap_command *c)
{
	struct imap_append *ap = s->append;
	struct append_item *items = xcalloc(APPEND_MESSAGES_MAX, sizeof(*items));
	struct store_mailbox_state st;
	struct buf name = BUF_INIT;
	const char *why = NULL;
	size_t n = 0;

	if (append_items(c, items, APPEND_MESSAGES_MAX, &n, &why) < 0) {
		imap_tagged(s, c->tag, "BAD", "%s", why ? why : "APPEND syntax");
		goto out;
	}
	if (ap == NULL || ap->failed || ap->n != n) {
		imap_tagged(s, c->tag, "NO", "%s", ap != NULL && ap->failed ?
			    ap->why : "[CANNOT] Empty messages are not stored");
		goto out;
	}
	if (imap_mailbox_arg(s, &c->args[0], &name, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "%s", why);
		goto out;
	}
	if (store_mailbox_open(s->acct->store, buf_cstr(&name), &st, &why) <= 0) {
		imap_tagged(s, c->tag, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	if (proc_cfg.imap_quota > 0) {
		uint64_t used = 0;
		if (account_size(s, &used, &why) == 0 &&
		    used >= proc_cfg.imap_quota) {
			imap_tagged(s, c->tag, "NO", "[OVERQUOTA] Quota exceeded");
			goto out;
		}
	}
	append_commit(s, c, ap, items, n, st.id);
out:
	for (size_t k = 0; k < n; k++)
		free(items[k].kw);
	free(items);
	buf_free(&name);
	imap_cmd_append_abort(s);
}

/* --- QUOTA (RFC 9208): one root per account, STORAGE in KiB --- */

void imap_cmd_quota(struct imap_session *s, const struct imap_command *c)
{
	bool root = str_ieq(c->name, "GETQUOTAROOT");
	uint64_t used = 0;
	const char *why = NULL, *arg;
	size_t len;
	struct buf name = BUF_INIT;

	if (proc_cfg.imap_quota == 0) {
		imap_tagged(s, c->tag, "BAD", "No quota configured");
		goto out;
	}
	if (root && !one_mailbox_arg(s, c, 1, &name))
		goto out;
	if (!root && (c->count != 1 || !imap_arg_astring(&c->args[0], &arg, &len))) {
		imap_tagged(s, c->tag, "BAD", "GETQUOTA root");
		goto out;
	}
	if (!root && len != 0) {	/* the one root is "" */
		imap_tagged(s, c->tag, "NO", "[NONEXISTENT] No such quota root");
		goto out;
	}
	if (account_size(s, &used, &why) < 0) {
		imap_tagged(s, c->tag, "NO", "[SERVERBUG] %s", why);
		goto out;
	}
	if (root) {
		struct buf l = BUF_INIT;
		imap_mailbox_write(s, buf_cstr(&name), &l);
		imap_printf(s, "* QUOTAROOT %s \"\"", buf_cstr(&l));
		buf_free(&l);
	}
	imap_printf(s, "* QUOTA \"\" (STORAGE %llu %llu)",
		    (unsigned long long)((used + 1023) / 1024),
		    (unsigned long long)(proc_cfg.imap_quota / 1024));
	imap_tagged(s, c->tag, "OK", "%s completed", root ? "GETQUOTAROOT" :
		    "GETQUOTA");
out:
	buf_free(&name);
}
