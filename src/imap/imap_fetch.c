/* imap_fetch: FETCH items, and their answers in batches. */
#include "imap/imap_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_cmd.h"
#include "imap/imap_quote.h"
#include "imap/imap_section.h"
#include "imap/imap_view.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/mime.h"
#include "store/store.h"
#include "store/store_mail.h"

#define FETCH_ITEMS_MAX 64
#define FETCH_BATCH 64			/* messages per store query */
#define FETCH_MESSAGE_MAX (512ull * 1024 * 1024)	/* read into memory */

enum item_kind {
	IT_FLAGS, IT_UID, IT_INTERNALDATE, IT_SIZE, IT_ENVELOPE, IT_BODY,
	IT_BODYSTRUCTURE, IT_MODSEQ, IT_SECTION, IT_BINARY, IT_BINARY_SIZE,
	IT_RFC822, IT_RFC822_HEADER, IT_RFC822_TEXT, IT_SAVEDATE,
};

struct item {
	enum item_kind kind;
	bool peek;
	struct imap_section sec;	/* IT_SECTION, IT_BINARY* */
	char *label;			/* response name of a section item */
};

struct fetch_job {
	struct imap_job job;
	char tag[64];
	bool uid;
	struct item items[FETCH_ITEMS_MAX];
	unsigned nitems;
	bool need_file, set_seen, want_modseq;
	uint64_t changedsince;
	uint32_t *uids;
	size_t n, pos;
	bool failed_some;		/* a message could not be read */
	bool unknown_cte;		/* BINARY of an encoding we do not know */
	uint32_t *seen;			/* got \Seen from this batch */
	size_t nseen;
	bool want_cache;		/* ENVELOPE, BODY or BODYSTRUCTURE */
	struct cached {			/* this batch's cached values */
		uint32_t uid;
		char *v[3];		/* envelope, body, bodystructure */
	} *cache;
	size_t ncache;
};

static void cache_clear(struct fetch_job *f)
{
	for (size_t i = 0; i < f->ncache; i++)
		for (int k = 0; k < 3; k++)
			free(f->cache[i].v[k]);
	f->ncache = 0;
}

static int cache_cb(void *ctx, uint32_t uid, const char *envelope,
		    const char *body, const char *bodystructure)
{
	struct fetch_job *f = ctx;
	struct cached *c = &f->cache[f->ncache++];

	c->uid = uid;
	c->v[0] = xstrdup(envelope);
	c->v[1] = xstrdup(body);
	c->v[2] = xstrdup(bodystructure);
	return f->ncache == FETCH_BATCH;	/* full: stop */
}

/* The batch's cached values with one query per run of consecutive UIDs. */
static void cache_load(struct imap_session *s, struct fetch_job *f,
		       const uint32_t *uids, size_t n)
{
	const char *why = NULL;

	cache_clear(f);
	if (f->cache == NULL)
		f->cache = xcalloc(FETCH_BATCH, sizeof(*f->cache));
	for (size_t i = 0; i < n && f->ncache < FETCH_BATCH;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (store_msg_cached_range(s->acct->store, s->view->id, uids[i],
					   uids[j], cache_cb, f, &why) < 0)
			log_error("session=%s event=cache-failed reason=\"%s\"",
				  s->id, why);
		i = j + 1;
	}
}

static const char *cache_find(const struct fetch_job *f, uint32_t uid, int k)
{
	size_t lo = 0, hi = f->ncache;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->cache[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->ncache && f->cache[lo].uid == uid ? f->cache[lo].v[k] : NULL;
}

static bool seen_now(const struct fetch_job *f, uint32_t uid)
{
	for (size_t i = 0; i < f->nseen; i++)
		if (f->seen[i] == uid)
			return true;
	return false;
}

static void item_free(struct item *it)
{
	imap_section_free(&it->sec);
	free(it->label);
}

static void job_free(struct imap_job *job)
{
	struct fetch_job *f = (struct fetch_job *)job;

	for (unsigned i = 0; i < f->nitems; i++)
		item_free(&f->items[i]);
	cache_clear(f);
	free(f->cache);
	free(f->uids);
	free(f->seen);
	free(f);
}

/* --- parsing items --- */

static struct item *add(struct fetch_job *f, enum item_kind k)
{
	struct item *it;

	if (f->nitems == FETCH_ITEMS_MAX)
		return NULL;
	it = &f->items[f->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = k;
	return it;
}

static const struct {
	const char *name;
	enum item_kind kind;
} simple_items[] = {
	{ "FLAGS", IT_FLAGS }, { "UID", IT_UID },
	{ "INTERNALDATE", IT_INTERNALDATE }, { "RFC822.SIZE", IT_SIZE },
	{ "ENVELOPE", IT_ENVELOPE }, { "BODY", IT_BODY },
	{ "BODYSTRUCTURE", IT_BODYSTRUCTURE }, { "MODSEQ", IT_MODSEQ },
	{ "RFC822", IT_RFC822 }, { "RFC822.HEADER", IT_RFC822_HEADER },
	{ "RFC822.TEXT", IT_RFC822_TEXT }, { "SAVEDATE", IT_SAVEDATE },
};

/* BODY[..]<..>, BODY.PEEK[..], BINARY[..], BINARY.PEEK[..], BINARY.SIZE[..] */
static int parse_section_item(struct fetch_job *f, const struct imap_arg *a,
			      const char **why)
{
	size_t nlen = a->sect_off - 1;	/* name before '[' */
	const char *name = a->str;
	enum item_kind k;
	bool peek = false;
	struct item *it;
	struct buf label = BUF_INIT;

	if (nlen == 4 && str_nieq(name, "BODY", 4))
		k = IT_SECTION;
	else if (nlen == 9 && str_nieq(name, "BODY.PEEK", 9))
		k = IT_SECTION, peek = true;
	else if (nlen == 6 && str_nieq(name, "BINARY", 6))
		k = IT_BINARY;
	else if (nlen == 11 && str_nieq(name, "BINARY.PEEK", 11))
		k = IT_BINARY, peek = true;
	else if (nlen == 11 && str_nieq(name, "BINARY.SIZE", 11))
		k = IT_BINARY_SIZE, peek = true;
	else {
		*why = "Unknown FETCH item";
		return -1;
	}
	if ((it = add(f, k)) == NULL) {
		*why = "Too many FETCH items";
		return -1;
	}
	it->peek = peek;
	if (imap_section_parse(a->str + a->sect_off, a->sect_len, &it->sec, why) < 0)
		return -1;
	if (a->part_len > 0 &&
	    (k == IT_BINARY_SIZE ||
	     imap_section_parse_partial(a->str + a->part_off, a->part_len,
					&it->sec, why) < 0)) {
		*why = *why ? *why : "Invalid partial";
		return -1;
	}
	if (k != IT_SECTION && (it->sec.text != IMAP_SECTION_BODY)) {
		*why = "BINARY takes part numbers only";
		return -1;
	}
	buf_appends(&label, k == IT_SECTION ? "BODY[" : k == IT_BINARY ?
		    "BINARY[" : "BINARY.SIZE[");
	for (size_t i = 0; i < a->sect_len; i++) {
		char ch = a->str[a->sect_off + i];
		buf_appendc(&label, ch >= 'a' && ch <= 'z' && it->sec.nfields == 0 ?
				    (char)(ch - 32) : ch);
	}
	buf_appendc(&label, ']');
	if (it->sec.partial)
		buf_printf(&label, "<%llu>", (unsigned long long)it->sec.partial_off);
	it->label = buf_detach(&label);
	if (!peek)
		f->set_seen = true;
	f->need_file = true;
	return 0;
}

static int parse_item(struct fetch_job *f, const struct imap_arg *a,
		      const char **why)
{
	if (a->type != IMAP_ARG_ATOM) {
		*why = "FETCH items are atoms";
		return -1;
	}
	if (a->flags & IMAP_ARG_F_SECTION)
		return parse_section_item(f, a, why);
	for (size_t i = 0; i < sizeof(simple_items) / sizeof(simple_items[0]); i++)
		if (str_ieq(a->str, simple_items[i].name)) {
			enum item_kind k = simple_items[i].kind;
			if (add(f, k) == NULL) {
				*why = "Too many FETCH items";
				return -1;
			}
			if (k == IT_RFC822 || k == IT_RFC822_TEXT)
				f->set_seen = true;
			if (k == IT_RFC822 || k == IT_RFC822_HEADER ||
			    k == IT_RFC822_TEXT)
				f->need_file = true;
			if (k == IT_ENVELOPE || k == IT_BODY || k == IT_BODYSTRUCTURE)
				f->want_cache = true;
			if (k == IT_MODSEQ)
				f->want_modseq = true;
			return 0;
		}
	/* RFC 3501 §6.4.5 macros */
	if (str_ieq(a->str, "ALL") || str_ieq(a->str, "FAST") ||
	    str_ieq(a->str, "FULL")) {
		add(f, IT_FLAGS);
		add(f, IT_INTERNALDATE);
		add(f, IT_SIZE);
		if (!str_ieq(a->str, "FAST")) {
			add(f, IT_ENVELOPE);
			f->want_cache = true;
		}
		if (str_ieq(a->str, "FULL"))
			add(f, IT_BODY);
		return 0;
	}
	*why = "Unknown FETCH item";
	return -1;
}

static int parse_modifiers(struct imap_session *s, struct fetch_job *f,
			   const struct imap_arg *a, bool *vanished,
			   const char **why)
{
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_arg *m = &a->list[i];
		if (imap_arg_atom_eq(m, "CHANGEDSINCE") && i + 1 < a->count &&
		    a->list[i + 1].type == IMAP_ARG_ATOM &&
		    str_to_u64(a->list[i + 1].str, &f->changedsince) == 0 &&
		    f->changedsince > 0) {
			i++;
			f->want_modseq = true;
			imap_condstore_on(s);
		} else if (imap_arg_atom_eq(m, "VANISHED") && f->uid &&
			   (s->enabled & IMAP_EN_QRESYNC)) {
			*vanished = true;
		} else {
			*why = "Unknown FETCH modifier";
			return -1;
		}
	}
	if (*vanished && f->changedsince == 0) {
		*why = "VANISHED needs CHANGEDSINCE";
		return -1;
	}
	return 0;
}

/* --- answering one message --- */

struct msg_ctx {
	struct imap_session *s;
	struct fetch_job *f;
};

static void write_literal(struct imap_session *s, struct buf *line,
			  const char *data, size_t len)
{
	buf_printf(line, "{%zu}\r\n", len);
	imap_write(s, line->ptr, line->len);
	imap_write(s, data, len);
	buf_reset(line);
}

static void write_date(struct buf *out, int64_t t)
{
	static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	buf_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
		   mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec);
}

/* Read the whole message file; -1 when it is gone or unreadable. */
static int read_message(struct imap_session *s, uint32_t uid, struct buf *data)
{
	const char *why = NULL;
	uint64_t size = 0;
	int fd, r;

	r = store_msg_open(s->acct->store, s->view->id, uid, &fd, &size, &why);
	if (r <= 0)
		return -1;
	r = buf_read_fd(data, fd, FETCH_MESSAGE_MAX);
	close(fd);
	return r;
}

static void section_item(struct imap_session *s, struct item *it,
			 const struct mime_message *msg, struct buf *line)
{
	struct imap_section_data d = { 0 };
	struct buf body = BUF_INIT;
	uint64_t size, off = 0, len;

	imap_section_resolve(msg, &it->sec, &d);
	size = imap_section_size(msg, &d);
	len = size;
	if (it->sec.partial) {
		off = it->sec.partial_off < size ? it->sec.partial_off : size;
		len = size - off < it->sec.partial_len ? size - off :
							 it->sec.partial_len;
	}
	imap_section_write(msg, &d, off, len, &body);
	buf_printf(line, "%s ", it->label);
	write_literal(s, line, body.ptr, body.len);
	buf_free(&body);
	imap_section_data_free(&d);
}

static void binary_item(struct imap_session *s, struct item *it,
			const struct mime_message *msg, struct buf *line,
			bool *bad_cte)
{
	struct buf body = BUF_INIT;
	const char *why = NULL;
	uint64_t off = 0, len;
	bool partial = it->sec.partial;

	it->sec.partial = false;
	if (imap_section_binary(msg, &it->sec, &body, &why) < 0)
		*bad_cte = true;
	it->sec.partial = partial;
	if (it->kind == IT_BINARY_SIZE) {
		buf_printf(line, "%s %zu", it->label, body.len);
		buf_free(&body);
		return;
	}
	len = body.len;
	if (partial) {
		off = it->sec.partial_off < body.len ? it->sec.partial_off : body.len;
		len = body.len - off < it->sec.partial_len ? body.len - off :
							      it->sec.partial_len;
	}
	buf_printf(line, "%s ~", it->label);	/* literal8: may hold NUL */
	write_literal(s, line, body.ptr + off, (size_t)len);
	buf_free(&body);
}

/* RFC822, RFC822.HEADER, RFC822.TEXT as BODY[], BODY.PEEK[HEADER], BODY[TEXT] */
static void rfc822_item(struct imap_session *s, enum item_kind k,
			const struct mime_message *msg, struct buf *line)
{
	struct item tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.sec.text = k == IT_RFC822 ? IMAP_SECTION_BODY :
		       k == IT_RFC822_HEADER ? IMAP_SECTION_HEADER :
					      IMAP_SECTION_TEXT;
	tmp.label = (char *)(k == IT_RFC822 ? "RFC822" : k == IT_RFC822_HEADER ?
			     "RFC822.HEADER" : "RFC822.TEXT");
	section_item(s, &tmp, msg, line);
}

static void cached_item(struct imap_session *s, const struct fetch_job *f,
			enum item_kind k, uint32_t uid, struct buf *line)
{
	struct buf v = BUF_INIT;
	const char *why = NULL;
	const char *hit = cache_find(f, uid, k == IT_ENVELOPE ? 0 :
					     k == IT_BODY ? 1 : 2);

	if (hit != NULL)
		buf_appends(&v, hit);
	else if (store_msg_cached(s->acct->store, s->view->id, uid,
			     k == IT_ENVELOPE ? &v : NULL, k == IT_BODY ? &v : NULL,
			     k == IT_BODYSTRUCTURE ? &v : NULL, &why) < 0)
		log_error("session=%s event=cache-failed uid=%u reason=\"%s\"",
			  s->id, uid, why);
	buf_printf(line, "%s (%s)", k == IT_ENVELOPE ? "ENVELOPE" :
		   k == IT_BODY ? "BODY" : "BODYSTRUCTURE", buf_cstr(&v));
	buf_free(&v);
}

/* The space between two items; *first is true before the first one
 * (a literal empties the line buffer, so its length cannot tell). */
static void sep(struct buf *line, bool *first)
{
	if (!*first)
		buf_appendc(line, ' ');
	*first = false;
}

/* Whether data has an LF without CR before it (IMAP sends CRLF). */
static bool has_bare_lf(const char *data, size_t len)
{
	for (const char *p = data, *end = data + len;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		if (p == data || p[-1] != '\r')
			return true;
	return false;
}

/* BODY[] / BODY.PEEK[] without a partial: the whole message. */
static bool whole_message(const struct item *it)
{
	return it->sec.nparts == 0 && it->sec.text == IMAP_SECTION_BODY &&
	       !it->sec.partial;
}

static void parse_once(struct mime_message *msg, const struct buf *data,
		       bool *parsed)
{
	if (!*parsed)
		mime_parse(msg, data->ptr, data->len, NULL);
	*parsed = true;
}

static int answer_message(void *ctx, const struct store_msg *m)
{
	struct msg_ctx *c = ctx;
	struct imap_session *s = c->s;
	struct fetch_job *f = c->f;
	uint32_t seq = imap_view_seq(s->view, m->uid);
	struct buf line = BUF_INIT, data = BUF_INIT;
	struct mime_message msg;
	bool parsed = false, bad_cte = false, flags_done = false, plain = false;
	bool first = true;

	if (seq == 0 || (f->changedsince && m->modseq <= f->changedsince))
		return 0;
	if (f->need_file) {
		if (read_message(s, m->uid, &data) < 0) {
			f->failed_some = true;
			buf_free(&data);
			return 0;
		}
		plain = memchr(data.ptr, '\0', data.len) == NULL &&
			!has_bare_lf(data.ptr, data.len);
	}
	buf_printf(&line, "* %u FETCH (", seq);
	if (f->uid) {
		buf_printf(&line, "UID %u", m->uid);
		first = false;
	}
	for (unsigned i = 0; i < f->nitems; i++) {
		struct item *it = &f->items[i];
		if (it->kind == IT_UID && f->uid)
			continue;
		if (it->kind == IT_FLAGS && flags_done)
			continue;
		sep(&line, &first);
		switch (it->kind) {
		case IT_FLAGS:
			buf_appends(&line, "FLAGS ");
			imap_flags_write(&line, m->flags, m->keywords,
					 imap_view_is_recent(s->view, m->uid));
			flags_done = true;
			break;
		case IT_UID:
			buf_printf(&line, "UID %u", m->uid);
			break;
		case IT_INTERNALDATE:
			buf_appends(&line, "INTERNALDATE ");
			write_date(&line, m->internaldate);
			break;
		case IT_SAVEDATE:
			buf_appends(&line, "SAVEDATE ");
			write_date(&line, m->savedate ? m->savedate : m->internaldate);
			break;
		case IT_SIZE:
			buf_printf(&line, "RFC822.SIZE %llu", (unsigned long long)m->size);
			break;
		case IT_MODSEQ:
			buf_printf(&line, "MODSEQ (%llu)", (unsigned long long)m->modseq);
			break;
		case IT_ENVELOPE: case IT_BODY: case IT_BODYSTRUCTURE:
			cached_item(s, f, it->kind, m->uid, &line);
			break;
		case IT_SECTION:
			if (whole_message(it) && plain) {
				/* BODY[]: the file as it is, no parsing */
				buf_printf(&line, "%s ", it->label);
				write_literal(s, &line, data.ptr, data.len);
				break;
			}
			parse_once(&msg, &data, &parsed);
			section_item(s, it, &msg, &line);
			break;
		case IT_BINARY: case IT_BINARY_SIZE:
			parse_once(&msg, &data, &parsed);
			binary_item(s, it, &msg, &line, &bad_cte);
			break;
		case IT_RFC822: case IT_RFC822_HEADER: case IT_RFC822_TEXT:
			parse_once(&msg, &data, &parsed);
			rfc822_item(s, it->kind, &msg, &line);
			break;
		}
	}
	/* the implicit \Seen changed the flags: say so (RFC 3501 §6.4.5) */
	if (!flags_done && seen_now(f, m->uid)) {
		sep(&line, &first);
		buf_appends(&line, "FLAGS ");
		imap_flags_write(&line, m->flags, m->keywords,
				 imap_view_is_recent(s->view, m->uid));
	}
	buf_appends(&line, ")\r\n");
	imap_write(s, line.ptr, line.len);
	if (bad_cte)
		f->unknown_cte = true;
	buf_free(&line);
	if (parsed)
		mime_message_free(&msg);
	buf_free(&data);
	return 0;
}

/* --- the job --- */

static int seen_cb(void *ctx, const struct store_msg *m)
{
	struct msg_ctx *c = ctx;

	imap_view_own_change(c->s->view, m->uid, m->modseq);
	c->f->seen[c->f->nseen++] = m->uid;
	return 0;
}

static bool fetch_step(struct imap_session *s, struct imap_job *job)
{
	struct fetch_job *f = (struct fetch_job *)job;
	struct msg_ctx c = { s, f };
	size_t n = f->n - f->pos;
	const char *why = NULL;

	if (s->view == NULL)
		return true;	/* the mailbox went away meanwhile */
	if (n > FETCH_BATCH)
		n = FETCH_BATCH;
	if (n > 0 && f->set_seen && !s->view->readonly) {
		struct store_flags_change ch = { .mode = STORE_FLAGS_ADD,
						 .flags = STORE_FLAG_SEEN };
		if (f->seen == NULL)
			f->seen = xcalloc(FETCH_BATCH, sizeof(*f->seen));
		f->nseen = 0;
		if (store_msg_flags(s->acct->store, s->view->id, f->uids + f->pos,
				    n, &ch, seen_cb, NULL, &c, &why) < 0)
			log_error("session=%s event=set-seen-failed reason=\"%s\"",
				  s->id, why);
	}
	if (n > 0 && f->want_cache)
		cache_load(s, f, f->uids + f->pos, n);
	if (n > 0 && store_msg_get(s->acct->store, s->view->id, f->uids + f->pos,
				   n, answer_message, &c, &why) < 0) {
		log_error("session=%s event=fetch-failed reason=\"%s\"", s->id, why);
		f->failed_some = true;
	}
	f->pos += n;
	if (f->pos < f->n)
		return false;
	imap_view_sync(s, f->uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE);
	if (f->unknown_cte)	/* RFC 3516 §4.3 */
		imap_tagged(s, f->tag, "NO", "[UNKNOWN-CTE] Unknown transfer encoding");
	else if (f->failed_some)
		imap_tagged(s, f->tag, "NO", "Some messages could not be fetched");
	else
		imap_tagged(s, f->tag, "OK", "%sFETCH completed", f->uid ? "UID " : "");
	if (f->set_seen && !s->view->readonly) {
		imap_server_account_changed(s->acct);
		imap_server_flags_changed(s->acct);
	}
	return true;
}

static void vanished_earlier(struct imap_session *s, struct fetch_job *f,
			     const struct imap_arg *set);

void imap_fetch_run(struct imap_session *s, const struct imap_command *c,
		    const struct imap_arg *args, unsigned count, bool uid)
{
	struct fetch_job *f = xcalloc(1, sizeof(*f));
	const char *why = NULL;
	bool vanished = false;

	f->job.step = fetch_step;
	f->job.free = job_free;
	f->uid = uid;
	str_copy(f->tag, sizeof(f->tag), c->tag);
	if (count < 2 || count > 3 || (count == 3 && args[2].type != IMAP_ARG_LIST)) {
		imap_tagged(s, c->tag, "BAD", "FETCH set items [(modifiers)]");
		goto fail;
	}
	if (args[1].type == IMAP_ARG_LIST) {
		for (unsigned i = 0; i < args[1].count; i++)
			if (parse_item(f, &args[1].list[i], &why) < 0)
				goto bad;
	} else if (parse_item(f, &args[1], &why) < 0) {
		goto bad;
	}
	if (count == 3 && parse_modifiers(s, f, &args[2], &vanished, &why) < 0)
		goto bad;
	if (f->want_modseq && !(s->enabled & IMAP_EN_CONDSTORE))
		imap_condstore_on(s);	/* RFC 7162 §3.1: MODSEQ enables */
	if (f->changedsince && !f->want_modseq)
		add(f, IT_MODSEQ);
	else if (f->changedsince) {
		bool listed = false;
		for (unsigned i = 0; i < f->nitems; i++)
			listed = listed || f->items[i].kind == IT_MODSEQ;
		if (!listed)
			add(f, IT_MODSEQ);
	}
	if (s->view->readonly)
		f->set_seen = false;
	if (imap_set_arg(s, &args[0], uid, &f->uids, &f->n, &why) < 0)
		goto bad;
	if (vanished)
		vanished_earlier(s, f, &args[0]);
	s->job = &f->job;
	return;
bad:
	imap_tagged(s, c->tag, "BAD", "%s", why ? why : "Invalid FETCH");
fail:
	job_free(&f->job);
}

/* RFC 7162 §3.2.6: UID FETCH ... (CHANGEDSINCE m VANISHED) */
struct vanish_ctx {
	struct imap_seqset set, out;
};

static int vanish_cb(void *ctx, uint32_t uid)
{
	struct vanish_ctx *v = ctx;

	if (imap_seqset_contains(&v->set, uid))
		imap_seqset_add(&v->out, uid);
	return 0;
}

static void vanished_earlier(struct imap_session *s, struct fetch_job *f,
			     const struct imap_arg *set)
{
	struct vanish_ctx v;
	const char *why = NULL;

	imap_seqset_init(&v.set);
	imap_seqset_init(&v.out);
	if (imap_seqset_parse(&v.set, set->str, set->len, IMAP_SEQSET_RANGES_MAX,
			      &why) == 0) {
		imap_seqset_resolve(&v.set, s->view->uidnext);
		store_changes(s->acct->store, s->view->id, f->changedsince, NULL,
			      vanish_cb, &v, &why);
		if (v.out.n > 0) {
			struct buf t = BUF_INIT;
			imap_seqset_format(&v.out, &t);
			imap_printf(s, "* VANISHED (EARLIER) %s", buf_cstr(&t));
			buf_free(&t);
		}
	}
	imap_seqset_free(&v.set);
	imap_seqset_free(&v.out);
}
