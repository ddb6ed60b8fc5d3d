/* libFuzzer target for the MIME parser and everything built on it: the
 * part tree (src/mail/mime*), header decoders (rfc2047, rfc5322), body
 * decoders (codec) and the IMAP writers (ENVELOPE, BODYSTRUCTURE,
 * BODY[section]). Besides "no crash, no leak", it checks the tree's
 * invariants: parts nest inside their parent and in order, sizes agree
 * with offsets, and BODY[section] sends exactly imap_section_size bytes.
 * The first input byte picks small limits so the limit paths run too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_envelope.h"
#include "imap/imap_section.h"
#include "mail/codec.h"
#include "mail/mime.h"
#include "mail/mime_header.h"
#include "mail/rfc2047.h"
#include "mail/rfc5322.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_part(const struct mime_message *m, const struct mime_part *p)
{
	const struct mime_part *c;
	size_t prev_end;

	if (p->hdr_off > p->body_off || p->body_off > p->end_off || p->end_off > m->len)
		abort();
	if (p->header.physical != p->body_off - p->hdr_off ||
	    p->body.physical != p->end_off - p->body_off ||
	    p->header.virt < p->header.physical || p->body.virt < p->body.physical)
		abort();
	if ((p->flags & MIME_PART_MESSAGE) && (p->children == NULL || p->nchildren != 1))
		abort();
	prev_end = p->body_off;
	for (c = p->children; c != NULL; c = c->next) {
		if (c->parent != p || c->depth != p->depth + 1 ||
		    c->hdr_off < prev_end || c->end_off > p->end_off)
			abort();
		prev_end = c->end_off;
		check_part(m, c);
	}
}

/* Every section of part number path[0..n): sizes must match output. */
static void check_sections(const struct mime_message *m, uint32_t *path,
			   unsigned n)
{
	static const char *const texts[] = {
		"", "HEADER", "TEXT", "MIME", "HEADER.FIELDS (Subject From)",
		"HEADER.FIELDS.NOT (Content-Type)",
	};
	struct buf spec = BUF_INIT, out = BUF_INIT;
	const char *err;

	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		struct imap_section sec;
		struct imap_section_data d;

		buf_reset(&spec);
		for (unsigned i = 0; i < n; i++)
			buf_printf(&spec, "%s%u", i ? "." : "", path[i]);
		if (texts[t][0] != '\0')
			buf_printf(&spec, "%s%s", n ? "." : "", texts[t]);
		if (imap_section_parse(spec.ptr ? spec.ptr : "", spec.len, &sec, &err) < 0)
			continue;
		imap_section_resolve(m, &sec, &d);
		buf_reset(&out);
		imap_section_write(m, &d, 0, UINT64_MAX, &out);
		if (out.len != imap_section_size(m, &d))
			abort();
		buf_reset(&out);
		imap_section_write(m, &d, 3, 5, &out);
		if (out.len > 5)
			abort();
		imap_section_data_free(&d);
		buf_reset(&out);
		(void)imap_section_binary(m, &sec, &out, &err);
		imap_section_free(&sec);
	}
	buf_free(&spec);
	buf_free(&out);
}

/* Walk the IMAP part numbers (depth-limited to keep runs fast). */
static void walk_sections(const struct mime_message *m, const struct mime_part *p,
			  uint32_t *path, unsigned n)
{
	uint32_t i = 1;

	if (n >= 6)
		return;
	check_sections(m, path, n);
	if (p->flags & MIME_PART_MESSAGE)
		p = p->children;
	if (!(p->flags & MIME_PART_MULTIPART))
		return;
	for (const struct mime_part *c = p->children; c != NULL && i <= 8; c = c->next) {
		path[n] = i++;
		walk_sections(m, c, path, n + 1);
	}
}

/* Header decoders on every field of the root header. */
static void decode_headers(const struct mime_message *m)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	struct buf out = BUF_INIT;
	struct rfc5322_date date;

	mime_header_iter_init(&it, m->data, m->root->body_off);
	while (mime_header_next(&it, &f) > 0) {
		struct rfc5322_addr_list l = RFC5322_ADDR_LIST_INIT;

		if (f.start >= f.end || f.end > m->root->body_off)
			abort();
		buf_reset(&out);
		rfc2047_decode(f.value, f.value_len, &out);
		rfc5322_addr_parse(&l, f.value, f.value_len);
		for (size_t i = 0; i < l.n; i++)
			if (l.v[i].host != NULL && l.v[i].mailbox == NULL)
				abort();
		rfc5322_addr_list_free(&l);
		if (rfc5322_date_parse(f.value, f.value_len, &date) == 0)
			(void)rfc5322_date_to_unix(&date);
	}
	buf_free(&out);
}

/* A split decode must give the same bytes as one call. */
static void check_codecs(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct codec_qp qa, qb;
	struct codec_b64 ba, bb;
	size_t cut = size / 3;

	codec_qp_init(&qa);
	codec_qp_decode(&qa, data, size, &a);
	(void)codec_qp_finish(&qa, &a);
	codec_qp_init(&qb);
	codec_qp_decode(&qb, data, cut, &b);
	codec_qp_decode(&qb, data + cut, size - cut, &b);
	(void)codec_qp_finish(&qb, &b);
	if (a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0))
		abort();
	buf_reset(&a);
	buf_reset(&b);
	codec_b64_init(&ba);
	codec_b64_decode(&ba, data, size, &a);
	(void)codec_b64_finish(&ba, &a);
	codec_b64_init(&bb);
	codec_b64_decode(&bb, data, cut, &b);
	codec_b64_decode(&bb, data + cut, size - cut, &b);
	(void)codec_b64_finish(&bb, &b);
	if (a.len != b.len || (a.len && memcmp(a.ptr, b.ptr, a.len) != 0))
		abort();
	buf_free(&a);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits lim;
	struct mime_message m;
	struct buf out = BUF_INIT;
	uint32_t path[8];

	if (size < 1)
		return 0;
	mime_limits_default(&lim);
	if (data[0] & 1) {
		lim.max_depth = 1 + (data[0] >> 1) % 4;
		lim.max_parts = 1 + (data[0] >> 3) % 8;
		lim.max_header_scan = 64;
	}
	data++;
	size--;
	mime_parse(&m, (const char *)data, size, &lim);
	check_part(&m, m.root);
	if (m.root->hdr_off != 0 || m.root->end_off != size || m.nparts > lim.max_parts)
		abort();
	imap_bodystructure_write(&m, m.root, true, &out);
	buf_reset(&out);
	imap_bodystructure_write(&m, m.root, false, &out);
	buf_reset(&out);
	imap_envelope_write(m.data, m.root->body_off, &out);
	buf_free(&out);
	walk_sections(&m, m.root, path, 0);
	decode_headers(&m);
	mime_message_free(&m);
	check_codecs(data, size);
	return 0;
}
