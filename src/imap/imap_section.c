/* imap_section: section-spec parsing (RFC 3501 §9 "section"), part lookup
 * and the byte ranges of BODY[section] (§6.4.5), BINARY (RFC 3516). */
#include "imap/imap_section.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/mime_header.h"

struct cursor {
	const char *p;
	size_t len, pos;
};

static bool at(const struct cursor *c, char ch)
{
	return c->pos < c->len && c->p[c->pos] == ch;
}

static int fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

/* nz-number (RFC 3501 §9), 32 bits: 1 and *v, 0 if there is none (the
 * cursor unmoved), -1 if it is too large. */
static int take_nz_number(struct cursor *c, uint32_t *v)
{
	uint64_t n = 0;

	if (!(c->pos < c->len && c->p[c->pos] >= '1' && c->p[c->pos] <= '9'))
		return 0;
	while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
		n = n * 10 + (uint64_t)(c->p[c->pos++] - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*v = (uint32_t)n;
	return 1;
}

/* Case-insensitive keyword at the cursor, consumed if there. */
static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	if (c->len - c->pos < n || !str_nieq(c->p + c->pos, w, n))
		return false;
	c->pos += n;
	return true;
}

/* ASTRING-CHAR (§9): CHAR except atom-specials, but ']' allowed. */
static bool is_astring_char(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && strchr("(){%*\"\\", ch) == NULL;
}

/* header-fld-name: an atom or a quoted string, appended to out. */
static bool take_astring(struct cursor *c, struct buf *out)
{
	size_t start = c->pos;

	buf_append(out, "", 0);
	if (!at(c, '"')) {
		while (c->pos < c->len && is_astring_char((unsigned char)c->p[c->pos]))
			c->pos++;
		buf_append(out, c->p + start, c->pos - start);
		return c->pos > start;
	}
	for (c->pos++; c->pos < c->len && !at(c, '"'); c->pos++) {
		if (at(c, '\\') && c->pos + 1 < c->len)
			c->pos++;
		if (c->p[c->pos] == '\r' || c->p[c->pos] == '\n')
			return false;
		buf_appendc(out, c->p[c->pos]);
	}
	if (!at(c, '"'))
		return false;
	c->pos++;
	return true;
}

/* SP "(" header-fld-name *(SP header-fld-name) ")" */
static int take_header_list(struct cursor *c, struct imap_section *sec,
			    const char **error_r)
{
	struct buf name = BUF_INIT;
	int ret = 0;

	if (!take_word(c, " (") || at(c, ')'))
		return fail(error_r, "bad header field list");
	do {
		buf_reset(&name);
		if (!take_astring(c, &name) || name.len == 0 ||
		    name.len > IMAP_SECTION_FIELD_NAME_MAX) {
			ret = fail(error_r, "bad header field name");
			break;
		}
		if (sec->nfields == IMAP_SECTION_FIELDS_MAX) {
			ret = fail(error_r, "too many header field names");
			break;
		}
		sec->fields[sec->nfields++] = xstrndup(name.ptr, name.len);
	} while (take_word(c, " "));
	if (ret == 0 && !take_word(c, ")"))
		ret = fail(error_r, "bad header field list");
	buf_free(&name);
	return ret;
}

/* section-msgtext / "MIME" after the part numbers (or alone). */
static int take_text(struct cursor *c, struct imap_section *sec,
		     const char **error_r)
{
	if (take_word(c, "HEADER.FIELDS.NOT")) {
		sec->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		return take_header_list(c, sec, error_r);
	}
	if (take_word(c, "HEADER.FIELDS")) {
		sec->text = IMAP_SECTION_HEADER_FIELDS;
		return take_header_list(c, sec, error_r);
	}
	if (take_word(c, "HEADER"))
		sec->text = IMAP_SECTION_HEADER;
	else if (take_word(c, "TEXT"))
		sec->text = IMAP_SECTION_TEXT;
	else if (sec->nparts > 0 && take_word(c, "MIME"))
		sec->text = IMAP_SECTION_MIME;
	else
		return fail(error_r, "unknown section text");
	return 0;
}

int imap_section_parse(const char *s, size_t len, struct imap_section *sec,
		       const char **error_r)
{
	struct cursor c = { s, len, 0 };
	uint32_t n;
	int ret;

	memset(sec, 0, sizeof(*sec));
	sec->text = IMAP_SECTION_BODY;
	while ((ret = take_nz_number(&c, &n)) != 0) {
		if (ret < 0)
			return fail(error_r, "part number too large");
		if (sec->nparts == IMAP_SECTION_DEPTH_MAX)
			return fail(error_r, "section nested too deep");
		sec->part[sec->nparts++] = n;
		if (!take_word(&c, "."))
			break;
		if (c.pos < len && (c.p[c.pos] < '0' || c.p[c.pos] > '9'))
			break;
	}
	if ((c.pos > 0 && c.p[c.pos - 1] == '.' && c.pos == len) ||
	    (sec->nparts > 0 && c.pos < len && c.p[c.pos - 1] != '.'))
		return fail(error_r, "bad section");
	if (c.pos < len && take_text(&c, sec, error_r) < 0) {
		imap_section_free(sec);
		return -1;
	}
	if (c.pos != len || (c.pos > 0 && c.p[c.pos - 1] == '.')) {
		imap_section_free(sec);
		return fail(error_r, "bad section");
	}
	return 0;
}

/* number64 (RFC 9051 §9), or -1. */
static int take_number64(struct cursor *c, uint64_t *v)
{
	size_t start = c->pos;

	*v = 0;
	while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
		unsigned d = (unsigned)(c->p[c->pos++] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return c->pos > start ? 0 : -1;
}

int imap_section_parse_partial(const char *s, size_t len,
			       struct imap_section *sec, const char **error_r)
{
	struct cursor c = { s, len, 0 };

	if (!take_word(&c, "<") || take_number64(&c, &sec->partial_off) < 0 ||
	    !take_word(&c, ".") || take_number64(&c, &sec->partial_len) < 0 ||
	    sec->partial_len == 0 || !take_word(&c, ">") || c.pos != len)
		return fail(error_r, "bad partial");
	sec->partial = true;
	return 0;
}

void imap_section_free(struct imap_section *sec)
{
	for (unsigned i = 0; i < sec->nfields; i++)
		free(sec->fields[i]);
	sec->nfields = 0;
}

/* n-th child (1-based) of p, or NULL. */
static const struct mime_part *child(const struct mime_part *p, uint32_t n)
{
	for (p = p->children; p != NULL && n > 1; n--)
		p = p->next;
	return p;
}

/* §6.4.5: every number picks a part of a multipart; "1" of anything else
 * is the part itself; a message/rfc822 part with more numbers to come
 * continues inside its message. */
const struct mime_part *imap_section_find_part(const struct mime_message *msg,
					       const uint32_t *part,
					       unsigned nparts)
{
	const struct mime_part *p = msg->root;

	for (unsigned i = 0; p != NULL && i < nparts; i++) {
		if (p->flags & MIME_PART_MULTIPART)
			p = child(p, part[i]);
		else if (part[i] != 1 ||
			 (i + 1 < nparts && !(p->flags & MIME_PART_MESSAGE)))
			p = NULL;
		if (p != NULL && i + 1 < nparts && (p->flags & MIME_PART_MESSAGE))
			p = p->children;
	}
	return p;
}

static void add_range(struct imap_section_data *d, size_t off, size_t len)
{
	if (len == 0)
		return;
	if (d->n > 0 && d->v[d->n - 1].off + d->v[d->n - 1].len == off) {
		d->v[d->n - 1].len += len;	/* adjacent: one range */
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n].off = off;
	d->v[d->n].len = len;
	d->n++;
}

static bool field_listed(const struct imap_section *sec,
			 const struct mime_header_field *f)
{
	for (unsigned i = 0; i < sec->nfields; i++)
		if (f->name_len > 0 && mime_header_name_is(f, sec->fields[i]))
			return true;
	return false;
}

/* HEADER.FIELDS[.NOT]: the (un)listed fields as written, then an empty
 * line (RFC 3501 §6.4.5: "the blank line ... is included"). */
static void header_fields(const struct mime_message *msg,
			  const struct mime_part *m,
			  const struct imap_section *sec,
			  struct imap_section_data *out)
{
	bool not = sec->text == IMAP_SECTION_HEADER_FIELDS_NOT;
	struct mime_header_iter it;
	struct mime_header_field f;

	mime_header_iter_init(&it, msg->data + m->hdr_off, m->body_off - m->hdr_off);
	while (mime_header_next(&it, &f) > 0)
		if (field_listed(sec, &f) != not)
			add_range(out, m->hdr_off + f.start, f.end - f.start);
	out->add_crlf = true;
}

void imap_section_resolve(const struct mime_message *msg,
			  const struct imap_section *sec,
			  struct imap_section_data *out)
{
	const struct mime_part *p = imap_section_find_part(msg, sec->part,
							   sec->nparts);

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return;
	if (sec->text == IMAP_SECTION_BODY) {
		if (sec->nparts == 0)
			add_range(out, 0, msg->len);
		else
			add_range(out, p->body_off, p->end_off - p->body_off);
		return;
	}
	if (sec->text == IMAP_SECTION_MIME) {
		add_range(out, p->hdr_off, p->body_off - p->hdr_off);
		return;
	}
	if (sec->nparts > 0) {	/* HEADER, TEXT: of a message/rfc822 part */
		if (!(p->flags & MIME_PART_MESSAGE))
			return;
		p = p->children;
	}
	if (sec->text == IMAP_SECTION_HEADER)
		add_range(out, p->hdr_off, p->body_off - p->hdr_off);
	else if (sec->text == IMAP_SECTION_TEXT)
		add_range(out, p->body_off, p->end_off - p->body_off);
	else
		header_fields(msg, p, sec, out);
}

void imap_section_data_free(struct imap_section_data *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

uint64_t imap_section_size(const struct mime_message *msg,
			   const struct imap_section_data *d)
{
	struct mime_size size = { 0, 0, 0 };

	for (size_t i = 0; i < d->n; i++)
		mime_range_size(msg->data, d->v[i].off, d->v[i].off + d->v[i].len,
				&size);
	return size.virt + (d->add_crlf ? 2 : 0);
}

/* Send bytes [skip, skip+*left) of one range as IMAP sees it: LF alone
 * becomes CRLF, NUL becomes 0x80. *skip and *left count down. */
/* The next byte in data[i..end) that IMAP sees changed: a bare LF (sent
 * as CRLF) or a NUL (sent as 0x80); end if none. */
static size_t next_special(const char *data, size_t i, size_t end)
{
	while (i < end) {
		const char *lf = memchr(data + i, '\n', end - i);
		const char *nul = memchr(data + i, '\0', end - i);
		size_t j = lf ? (size_t)(lf - data) : end;

		if (nul != NULL && (size_t)(nul - data) < j)
			return (size_t)(nul - data);
		if (j == end || j == 0 || data[j - 1] != '\r')
			return j;
		i = j + 1;	/* a CRLF: goes out as it is */
	}
	return end;
}

/* Append bytes as IMAP sees them, after skipping *skip of them, at most
 * *left; runs of unchanged bytes are copied whole. */
static void write_range(const char *data, size_t off, size_t len,
			uint64_t *skip, uint64_t *left, struct buf *out)
{
	size_t i = off, end = off + len;

	while (i < end && *left > 0) {
		size_t j = next_special(data, i, end), run = j - i, n;

		n = *skip < run ? (size_t)*skip : run;
		*skip -= n;
		i += n;
		run -= n;
		n = *left < run ? (size_t)*left : run;
		buf_append(out, data + i, n);
		*left -= n;
		i += n;
		if (i < j || i == end || *left == 0)
			continue;
		/* data[i] is a bare LF or a NUL */
		if (data[i] == '\n') {
			if (*skip > 0)
				(*skip)--;
			else {
				buf_appendc(out, '\r');
				(*left)--;
			}
			if (*left == 0)
				break;
		}
		if (*skip > 0)
			(*skip)--;
		else {
			buf_appendc(out, data[i] == '\0' ? (char)0x80 : data[i]);
			(*left)--;
		}
		i++;
	}
}

void imap_section_write(const struct mime_message *msg,
			const struct imap_section_data *d, uint64_t off,
			uint64_t len, struct buf *out)
{
	uint64_t skip = off, left = len;

	buf_append(out, "", 0);
	for (size_t i = 0; i < d->n && left > 0; i++) {
		struct mime_size s = { 0, 0, 0 };

		mime_range_size(msg->data, d->v[i].off, d->v[i].off + d->v[i].len, &s);
		if (skip >= s.virt) {
			skip -= s.virt;		/* the whole range is before off */
			continue;
		}
		write_range(msg->data, d->v[i].off, d->v[i].len, &skip, &left, out);
	}
	if (d->add_crlf)
		write_range("\r\n", 0, 2, &skip, &left, out);
}

/* Apply <partial> to bytes already in tmp. */
static void append_partial(const struct imap_section *sec,
			   const struct buf *tmp, struct buf *out)
{
	uint64_t off = sec->partial ? sec->partial_off : 0;
	uint64_t len = sec->partial ? sec->partial_len : UINT64_MAX;

	buf_append(out, "", 0);
	if (off >= tmp->len)
		return;
	if (len > tmp->len - off)
		len = tmp->len - off;
	buf_append(out, tmp->ptr + off, (size_t)len);
}

int imap_section_binary(const struct mime_message *msg,
			const struct imap_section *sec, struct buf *out,
			const char **error_r)
{
	const struct mime_part *p = imap_section_find_part(msg, sec->part,
							   sec->nparts);
	struct imap_section_data d;
	struct buf tmp = BUF_INIT;
	int ret = 0;

	if (sec->text != IMAP_SECTION_BODY)
		return fail(error_r, "BINARY takes part numbers only");
	if (p != NULL && sec->nparts > 0 &&
	    !(p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE))) {
		ret = mime_part_decode(msg, p, &tmp, error_r);
		/* damaged base64/QP: what could be decoded, as real mail needs;
		 * only an encoding we do not know is an error (UNKNOWN-CTE) */
		if (ret < 0 && mime_part_cte(p) != MIME_CTE_UNKNOWN)
			ret = 0;
	} else {
		imap_section_resolve(msg, sec, &d);
		imap_section_write(msg, &d, 0, UINT64_MAX, &tmp);
		imap_section_data_free(&d);
	}
	append_partial(sec, &tmp, out);
	buf_free(&tmp);
	return ret;
}
