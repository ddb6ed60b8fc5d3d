/* mime: part tree parser (RFC 2045, RFC 2046 §5.1, §5.2.1); the rules for
 * malformed input are in mime.h. The parser walks the message once, line
 * by line, recursing into multipart and message/rfc822 parts (depth is
 * bounded by max_depth); open multipart boundaries form a stack. */
#include "mail/mime.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/codec.h"
#include "mail/mime_header.h"

struct boundary {
	const char *s;
	size_t len;
};

/* How a part ended: at a boundary line (b >= 0) or at the end of data. */
struct stop {
	size_t end;		/* content end: before "[CR]LF--boundary" */
	size_t next;		/* just past the boundary line */
	int b;			/* index in the boundary stack, -1: end */
	bool close;		/* "--boundary--" */
};

struct parser {
	struct mime_message *msg;
	const char *d;
	size_t len;
	struct mime_limits lim;
	struct boundary *stack;	/* max_depth entries */
	unsigned nb;
};

void mime_limits_default(struct mime_limits *l)
{
	l->max_depth = MIME_DEPTH_MAX;
	l->max_parts = MIME_PARTS_MAX;
	l->max_header_scan = MIME_HEADER_SCAN_MAX;
}

void mime_range_size(const char *data, size_t from, size_t to,
		     struct mime_size *size)
{
	const char *p = data + from, *end = data + to, *lf;

	size->physical += to - from;
	size->virt += to - from;
	while (p < end && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size->lines++;
		if (lf == data || lf[-1] != '\r')
			size->virt++;
		p = lf + 1;
	}
}

static void size_add(struct mime_size *to, const struct mime_size *s)
{
	to->physical += s->physical;
	to->virt += s->virt;
	to->lines += s->lines;
}

/* Is the line at pos (n bytes) a boundary of an open multipart? Longest
 * prefix match, innermost first; an exact match ends the search. */
static bool match_boundary(struct parser *ps, size_t pos, size_t n,
			   struct stop *st)
{
	const char *rest;
	size_t rlen;
	bool dashes;
	int best = -1;

	if (ps->nb == 0 || n < 2 || ps->d[pos] != '-' || ps->d[pos + 1] != '-')
		return false;
	rest = ps->d + pos + 2;
	if (ps->msg->nparts >= ps->lim.max_parts) {
		ps->msg->overflow = true;	/* no more parts: all is body */
		return false;
	}
	rlen = n - 2;
	if (rlen > 0 && rest[rlen - 1] == '\n')
		rlen--;
	if (rlen > 0 && rest[rlen - 1] == '\r')
		rlen--;
	dashes = rlen > 2 && rest[rlen - 1] == '-' && rest[rlen - 2] == '-';
	for (int i = (int)ps->nb - 1; i >= 0; i--) {
		size_t bl = ps->stack[i].len;

		if (bl > rlen || memcmp(ps->stack[i].s, rest, bl) != 0 ||
		    (best >= 0 && ps->stack[best].len >= bl))
			continue;
		best = i;
		if (bl == rlen || (dashes && bl + 2 == rlen))
			break;
	}
	if (best < 0)
		return false;
	st->b = best;
	st->close = rlen >= ps->stack[best].len + 2 &&
		    memcmp(rest + ps->stack[best].len, "--", 2) == 0;
	st->next = pos + n;
	return true;
}

static void stop_at_end(struct parser *ps, struct stop *st)
{
	st->end = ps->len;
	st->next = ps->len;
	st->b = -1;
	st->close = false;
}

/* Length of the line break just before pos (pos > from): 1 or 2. */
static size_t newline_before(const struct parser *ps, size_t from, size_t pos)
{
	return pos - from >= 2 && ps->d[pos - 2] == '\r' ? 2 : 1;
}

/* Find the next boundary line from pos; the first line needs no line
 * break before it (body start, or just after another boundary line). */
static void scan_to_boundary(struct parser *ps, size_t pos, struct stop *st)
{
	size_t p = pos, n;

	while (ps->nb > 0 && p < ps->len) {
		n = mime_line_len(ps->d + p, ps->len - p);
		if (match_boundary(ps, p, n, st)) {
			st->end = p == pos ? p : p - newline_before(ps, pos, p);
			return;
		}
		p += n;
	}
	stop_at_end(ps, st);
}

/* Header block from pos: true when a boundary line or the end of data cut
 * it short (then the body is empty and st tells where the part ends);
 * else *blank_r is the length of the empty line that ended it. */
static bool scan_header(struct parser *ps, struct mime_part *part,
			size_t *blank_r, struct stop *st)
{
	size_t pos = part->hdr_off, p = pos, n;

	while (p < ps->len) {
		n = mime_line_len(ps->d + p, ps->len - p);
		if (match_boundary(ps, p, n, st)) {
			st->end = p == pos ? p : p - newline_before(ps, pos, p);
			part->body_off = st->end;
			return true;
		}
		if (ps->d[p] == '\n' || (n >= 2 && ps->d[p] == '\r' && ps->d[p + 1] == '\n')) {
			part->body_off = p + n;
			*blank_r = n;
			return false;
		}
		p += n;
	}
	part->body_off = ps->len;
	stop_at_end(ps, st);
	return true;
}

static struct mime_part *new_part(struct parser *ps, struct mime_part *parent,
				  size_t pos)
{
	struct mime_part *p = mime_arena_alloc(&ps->msg->arena, sizeof(*p));
	struct mime_part **tail;

	p->parent = parent;
	p->hdr_off = pos;
	p->depth = parent != NULL ? parent->depth + 1 : 0;
	ps->msg->nparts++;
	if (parent == NULL)
		return p;
	for (tail = &parent->children; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = p;
	parent->nchildren++;
	return p;
}

static const char *dup_value(struct parser *ps, const struct mime_header_field *f)
{
	return mime_arena_strndup(&ps->msg->arena, f->value, f->value_len);
}

/* One Content-* field (the first of each name counts). */
static void read_content_field(struct parser *ps, struct mime_part *p,
			       const struct mime_header_field *f)
{
	struct mime_arena *a = &ps->msg->arena;
	const char *n = f->name + 8;	/* after "Content-" */
	size_t nl = f->name_len - 8;

	if (nl == 4 && str_nieq(n, "type", 4) && p->type == NULL)
		(void)mime_content_type_parse(a, f->value, f->value_len, &p->type,
					      &p->subtype, &p->params);
	else if (nl == 17 && str_nieq(n, "transfer-encoding", 17) && p->encoding == NULL)
		p->encoding = mime_encoding_parse(a, f->value, f->value_len);
	else if (nl == 2 && str_nieq(n, "id", 2) && p->id == NULL)
		p->id = dup_value(ps, f);
	else if (nl == 11 && str_nieq(n, "description", 11) && p->description == NULL)
		p->description = dup_value(ps, f);
	else if (nl == 3 && str_nieq(n, "md5", 3) && p->md5 == NULL)
		p->md5 = dup_value(ps, f);
	else if (nl == 8 && str_nieq(n, "location", 8) && p->location == NULL)
		p->location = mime_location_parse(a, f->value, f->value_len);
	else if (nl == 8 && str_nieq(n, "language", 8) && p->languages == NULL)
		p->languages = mime_language_parse(a, f->value, f->value_len,
						   &p->nlanguages);
	else if (nl == 11 && str_nieq(n, "disposition", 11) && p->disposition == NULL)
		mime_disposition_parse(a, f->value, f->value_len,
				       &p->disposition, &p->disp_params);
}

static void clear_content(struct mime_part *p)
{
	p->type = p->subtype = NULL;
	p->params.v = NULL;
	p->params.n = 0;
	p->encoding = p->id = p->description = p->md5 = p->location = NULL;
	p->disposition = NULL;
	p->disp_params.v = NULL;
	p->disp_params.n = 0;
	p->languages = NULL;
	p->nlanguages = 0;
}

/* Content-* fields; MIME-Version or Content-Type make the part MIME
 * (RFC 2045 §4; Content-Type alone too, as Dovecot and clients do). */
static void read_header_fields(struct parser *ps, struct mime_part *p)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	size_t len = p->body_off - p->hdr_off;
	bool seen_type = false;

	if (len > ps->lim.max_header_scan)
		len = ps->lim.max_header_scan;
	mime_header_iter_init(&it, ps->d + p->hdr_off, len);
	while (mime_header_next(&it, &f) > 0) {
		if (mime_header_name_is(&f, "mime-version"))
			p->flags |= MIME_PART_IS_MIME;
		if (f.name_len <= 8 || !str_nieq(f.name, "content-", 8))
			continue;
		seen_type |= f.name_len == 12 && str_nieq(f.name + 8, "type", 4);
		read_content_field(ps, p, &f);
	}
	if (seen_type)
		p->flags |= MIME_PART_IS_MIME;
	if (p->parent != NULL && (p->parent->flags & MIME_PART_MULTIPART))
		p->flags |= MIME_PART_IS_MIME;
	if (!(p->flags & MIME_PART_IS_MIME))
		clear_content(p);
}

/* Mark p as multipart or message/rfc822 if the limits allow another
 * level (and, for a message, another part); else it stays a leaf. */
static void set_container(struct parser *ps, struct mime_part *p, unsigned flag)
{
	if (p->depth + 1 < ps->lim.max_depth &&
	    (flag == MIME_PART_MULTIPART || ps->msg->nparts < ps->lim.max_parts)) {
		p->flags |= flag;
		return;
	}
	p->flags |= MIME_PART_OVERFLOW;
	ps->msg->overflow = true;
}

/* What the part is (RFC 2045 §5.2 default, RFC 2046 §5.1.5 digest). */
static void classify(struct parser *ps, struct mime_part *p)
{
	const struct mime_part *parent = p->parent;

	if (p->type == NULL) {
		if (parent != NULL && (parent->flags & MIME_PART_DIGEST))
			set_container(ps, p, MIME_PART_MESSAGE);
		else
			p->flags |= MIME_PART_TEXT;
	} else if (str_ieq(p->type, "text")) {
		p->flags |= MIME_PART_TEXT;
	} else if (str_ieq(p->type, "message") && str_ieq(p->subtype, "rfc822")) {
		set_container(ps, p, MIME_PART_MESSAGE);
	} else if (str_ieq(p->type, "multipart")) {
		set_container(ps, p, MIME_PART_MULTIPART);
		if ((p->flags & MIME_PART_MULTIPART) && str_ieq(p->subtype, "digest"))
			p->flags |= MIME_PART_DIGEST;
	}
}

/* Body sizes of a part with children: its own gaps plus the children. */
static void container_sizes(struct parser *ps, struct mime_part *p)
{
	size_t cur = p->body_off;

	for (struct mime_part *c = p->children; c != NULL; c = c->next) {
		mime_range_size(ps->d, cur, c->hdr_off, &p->body);
		size_add(&p->body, &c->header);
		size_add(&p->body, &c->body);
		cur = c->end_off;
	}
	mime_range_size(ps->d, cur, p->end_off, &p->body);
}

static void parse_part(struct parser *ps, struct mime_part *part,
		       struct stop *st);

/* RFC 2046 §5.1.1: preamble, parts between delimiter lines, the close
 * delimiter, epilogue; the part ends at an outer boundary or the end.
 * The part's own boundary is already on the stack (index mine). */
static void parse_multipart(struct parser *ps, struct mime_part *p,
			    unsigned mine, struct stop *st)
{
	scan_to_boundary(ps, p->body_off, st);
	while (st->b == (int)mine) {
		if (st->close) {
			ps->nb = mine;
			scan_to_boundary(ps, st->next, st);
			break;
		}
		parse_part(ps, new_part(ps, p, st->next), st);
		ps->nb = mine + 1;
	}
	ps->nb = mine;
}

/* Push the boundary of a multipart part; -1 if it has none to push. */
static int push_boundary(struct parser *ps, const struct mime_part *p)
{
	const char *bnd = mime_params_get(&p->params, "boundary");

	if (!(p->flags & MIME_PART_MULTIPART) || bnd == NULL || *bnd == '\0')
		return -1;
	ps->stack[ps->nb].s = bnd;
	ps->stack[ps->nb].len = strnlen(bnd, MIME_BOUNDARY_MAX);
	return (int)ps->nb++;
}

/* An enclosing boundary right after the empty line that ends the header:
 * that line break is the one before the boundary (RFC 2046 §5.1.1), so the
 * header gives it up and the body is empty (what Dovecot does too). */
static bool boundary_after_header(struct parser *ps, struct mime_part *p,
				  int mine, size_t blank, struct stop *st)
{
	size_t n;

	if (ps->nb == 0 || p->body_off >= ps->len)
		return false;
	n = mime_line_len(ps->d + p->body_off, ps->len - p->body_off);
	if (!match_boundary(ps, p->body_off, n, st) || st->b == mine)
		return false;
	p->body_off -= blank;
	st->end = p->body_off;
	return true;
}

/* Body of a part whose header ended with an empty line of blank bytes;
 * true when an enclosing boundary cut the part there instead. */
static bool parse_body(struct parser *ps, struct mime_part *p, size_t blank,
		       struct stop *st)
{
	int mine = push_boundary(ps, p);

	if (boundary_after_header(ps, p, mine, blank, st)) {
		ps->nb = mine >= 0 ? (unsigned)mine : ps->nb;
		return true;
	}
	if (mine >= 0)
		parse_multipart(ps, p, (unsigned)mine, st);
	else if (p->flags & MIME_PART_MESSAGE)
		parse_part(ps, new_part(ps, p, p->body_off), st);
	else
		scan_to_boundary(ps, p->body_off, st);
	return false;
}

static void parse_part(struct parser *ps, struct mime_part *part,
		       struct stop *st)
{
	size_t blank = 0;
	bool cut = scan_header(ps, part, &blank, st);

	read_header_fields(ps, part);
	classify(ps, part);
	if (!cut)
		cut = parse_body(ps, part, blank, st);
	if (cut && (part->flags & MIME_PART_MESSAGE)) {
		struct mime_part *c = new_part(ps, part, part->body_off);

		c->body_off = c->end_off = part->body_off;	/* empty message */
	}
	part->end_off = st->end;
	mime_range_size(ps->d, part->hdr_off, part->body_off, &part->header);
	if (part->children != NULL)
		container_sizes(ps, part);
	else
		mime_range_size(ps->d, part->body_off, part->end_off, &part->body);
}

void mime_parse(struct mime_message *msg, const char *data, size_t len,
		const struct mime_limits *limits)
{
	struct parser ps = { .msg = msg, .d = data, .len = len };
	struct stop st;

	memset(msg, 0, sizeof(*msg));
	msg->data = data;
	msg->len = len;
	if (limits != NULL)
		ps.lim = *limits;
	else
		mime_limits_default(&ps.lim);
	if (ps.lim.max_depth == 0)
		ps.lim.max_depth = 1;
	if (ps.lim.max_depth > MIME_DEPTH_HARD_MAX)
		ps.lim.max_depth = MIME_DEPTH_HARD_MAX;	/* bounds the recursion */
	ps.stack = xcalloc(ps.lim.max_depth, sizeof(*ps.stack));
	msg->root = new_part(&ps, NULL, 0);
	parse_part(&ps, msg->root, &st);
	free(ps.stack);
}

void mime_message_free(struct mime_message *msg)
{
	mime_arena_free(&msg->arena);
	msg->root = NULL;
}

enum mime_cte mime_part_cte(const struct mime_part *part)
{
	static const struct {
		const char *name;
		enum mime_cte cte;
	} names[] = {
		{ "7bit", MIME_CTE_7BIT }, { "8bit", MIME_CTE_8BIT },
		{ "binary", MIME_CTE_BINARY }, { "base64", MIME_CTE_BASE64 },
		{ "quoted-printable", MIME_CTE_QP },
	};

	if (part->encoding == NULL)
		return MIME_CTE_7BIT;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_ieq(part->encoding, names[i].name))
			return names[i].cte;
	return MIME_CTE_UNKNOWN;
}

void mime_append_crlf(const char *data, size_t len, struct buf *out)
{
	size_t start = 0;

	buf_append(out, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n' || (i > 0 && data[i - 1] == '\r'))
			continue;
		buf_append(out, data + start, i - start);
		buf_append(out, "\r", 1);
		start = i;
	}
	buf_append(out, data + start, len - start);
}

int mime_part_decode(const struct mime_message *msg,
		     const struct mime_part *part, struct buf *out,
		     const char **error_r)
{
	const char *body = msg->data + part->body_off;
	size_t len = part->end_off - part->body_off;
	struct codec_b64 b64;
	struct codec_qp qp;

	switch (mime_part_cte(part)) {
	case MIME_CTE_BASE64:
		codec_b64_init(&b64);
		codec_b64_decode(&b64, body, len, out);
		buf_append(out, "", 0);
		if (codec_b64_finish(&b64, out) < 0) {
			*error_r = "invalid base64 data";
			return -1;
		}
		return 0;
	case MIME_CTE_QP:
		codec_qp_init(&qp);
		codec_qp_decode(&qp, body, len, out);
		buf_append(out, "", 0);
		if (codec_qp_finish(&qp, out) < 0) {
			*error_r = "invalid quoted-printable data";
			return -1;
		}
		return 0;
	case MIME_CTE_BINARY:
		buf_append(out, body, len);
		return 0;
	case MIME_CTE_UNKNOWN:
		*error_r = "unknown Content-Transfer-Encoding";
		return -1;
	default:
		mime_append_crlf(body, len, out);
		return 0;
	}
}
