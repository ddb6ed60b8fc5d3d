/* store_cache: ENVELOPE, BODY, BODYSTRUCTURE and the search text of one
 * message, from one parse of its bytes (RFC 3501 §7.4.2 values, §6.4.4
 * BODY and TEXT search keys). */
#include "store/store_cache.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_envelope.h"
#include "mail/codec.h"
#include "mail/mime.h"
#include "mail/mime_header.h"
#include "mail/rfc2047.h"

/* Where text goes and how much more may. */
struct text_out {
	struct buf *out;
	size_t max;		/* 0: no limit */
	size_t *used;		/* shared by header and body text */
	bool *full;
};

void store_cache_init(struct store_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->text_full = true;
}

void store_cache_free(struct store_cache *c)
{
	buf_free(&c->envelope);
	buf_free(&c->body);
	buf_free(&c->bodystructure);
	buf_free(&c->hdr_text);
	buf_free(&c->body_text);
}

/* Bytes that may still go in: none once something was cut, so that a cut
 * text is a prefix of the whole. */
static size_t text_room(const struct text_out *t)
{
	if (!*t->full)
		return 0;
	if (t->max == 0)
		return SIZE_MAX;
	return *t->used >= t->max ? 0 : t->max - *t->used;
}

/* Append UTF-8 s[0..len), NULs as spaces (the tokenizer stops at a NUL),
 * cut at the limit on a character boundary. */
static void text_put(struct text_out *t, const char *s, size_t len)
{
	size_t room = text_room(t), start = t->out->len;

	if (len > room) {
		len = room;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		*t->full = false;
	}
	buf_append(t->out, s, len);
	for (size_t i = start; i < t->out->len; i++)
		if (t->out->ptr[i] == '\0')
			t->out->ptr[i] = ' ';
	*t->used += len;
}

/* Every field of a header block as "Name: decoded value" lines. */
static void header_text(struct text_out *t, const char *hdr, size_t len)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	struct buf line = BUF_INIT;

	mime_header_iter_init(&it, hdr, len);
	while (*t->full && mime_header_next(&it, &f) == 1) {
		buf_reset(&line);
		if (f.name_len > 0) {
			rfc2047_utf8_append(f.name, f.name_len, &line);
			buf_appends(&line, ": ");
		}
		rfc2047_decode(f.value, f.value_len, &line);
		buf_appendc(&line, '\n');
		text_put(t, line.ptr, line.len);
	}
	buf_free(&line);
}

/* Chunked base64/quoted-printable decode of body[0..len), stopping once
 * out holds max bytes; true if the input was not all decoded. */
static bool decode_encoded(enum mime_cte cte, const char *body, size_t len,
			   struct buf *out, size_t max)
{
	struct codec_b64 b64;
	struct codec_qp qp;
	size_t off = 0;

	codec_b64_init(&b64);
	codec_qp_init(&qp);
	while (off < len && out->len < max) {
		size_t n = len - off < STORE_CACHE_DECODE_CHUNK ?
				   len - off : STORE_CACHE_DECODE_CHUNK;

		if (cte == MIME_CTE_BASE64)
			codec_b64_decode(&b64, body + off, n, out);
		else
			codec_qp_decode(&qp, body + off, n, out);
		off += n;
	}
	if (off < len)
		return true;
	if (cte == MIME_CTE_BASE64)
		(void)codec_b64_finish(&b64, out);
	else
		(void)codec_qp_finish(&qp, out);
	return false;
}

/* The part's body with its transfer encoding undone, at most about max
 * bytes; true if it was cut. Unknown encodings give the raw bytes. */
static bool decode_part(const struct mime_message *msg,
			const struct mime_part *p, struct buf *out, size_t max)
{
	const char *body = msg->data + p->body_off;
	size_t len = p->end_off - p->body_off;
	enum mime_cte cte = mime_part_cte(p);
	bool cut;

	if (cte == MIME_CTE_BASE64 || cte == MIME_CTE_QP) {
		cut = decode_encoded(cte, body, len, out, max);
	} else {
		cut = len > max;
		buf_append(out, body, cut ? max : len);
	}
	if (out->len > max) {
		buf_truncate(out, max);
		cut = true;
	}
	return cut;
}

/* A text/ * leaf: decoded, converted to UTF-8 by its charset parameter. */
static void leaf_text(struct text_out *t, const struct mime_message *msg,
		      const struct mime_part *p)
{
	struct buf raw = BUF_INIT, utf8 = BUF_INIT;
	size_t room = text_room(t);
	const char *cs = mime_params_get(&p->params, "charset");

	if (room == 0) {
		*t->full = false;	/* it would add at least its "\n" */
		return;
	}
	if (decode_part(msg, p, &raw, room))
		*t->full = false;
	if (raw.len > 0 && (cs == NULL ||
			    rfc2047_convert(cs, strlen(cs), raw.ptr, raw.len, &utf8) < 0))
		rfc2047_utf8_append(raw.ptr, raw.len, &utf8);
	buf_appendc(&utf8, '\n');
	text_put(t, utf8.ptr, utf8.len);
	buf_free(&raw);
	buf_free(&utf8);
}

static void part_text(struct text_out *t, const struct mime_message *msg,
		      const struct mime_part *p)
{
	const struct mime_part *c;

	if (p->flags & MIME_PART_OVERFLOW)
		return;
	if (p->flags & MIME_PART_MULTIPART) {
		for (c = p->children; c != NULL; c = c->next)
			part_text(t, msg, c);
	} else if ((p->flags & MIME_PART_MESSAGE) && p->children != NULL) {
		c = p->children;
		header_text(t, msg->data + c->hdr_off, c->body_off - c->hdr_off);
		part_text(t, msg, c);
	} else if (p->flags & MIME_PART_TEXT) {
		leaf_text(t, msg, p);
	}
}

void store_cache_compute(struct store_cache *c, const char *data, size_t len,
			 unsigned what, size_t text_max)
{
	struct mime_message msg;
	size_t used = 0;
	struct text_out hdr = { &c->hdr_text, text_max, &used, &c->text_full };
	struct text_out body = { &c->body_text, text_max, &used, &c->text_full };

	mime_parse(&msg, data, len, NULL);
	if (what & STORE_CACHE_STRUCTURE) {
		imap_envelope_write(data, msg.root->body_off, &c->envelope);
		imap_bodystructure_write(&msg, msg.root, false, &c->body);
		imap_bodystructure_write(&msg, msg.root, true, &c->bodystructure);
		c->has_structure = true;
	}
	if (what & STORE_CACHE_TEXT) {
		header_text(&hdr, data, msg.root->body_off);
		part_text(&body, &msg, msg.root);
		buf_append(&c->hdr_text, "", 0);	/* "" rather than NULL */
		buf_append(&c->body_text, "", 0);
		c->has_text = true;
	}
	mime_message_free(&msg);
}

int store_cache_fd(struct store_cache *c, int fd, unsigned what,
		   size_t text_max, const char **error_r)
{
	struct stat sb;
	void *map;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > SIZE_MAX) {
		*error_r = "cannot read message file";
		return -1;
	}
	if (sb.st_size == 0) {
		store_cache_compute(c, "", 0, what, text_max);
		return 0;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		*error_r = errno == ENOMEM ? "out of memory mapping message"
					   : "cannot map message file";
		return -1;
	}
	store_cache_compute(c, map, (size_t)sb.st_size, what, text_max);
	munmap(map, (size_t)sb.st_size);
	return 0;
}
