/* libFuzzer target for DKIM canonicalisation (RFC 6376 §3.4) and the
 * incremental header reader. The input is canonicalised as a header field
 * and as a body; the body and the header section are also fed byte by
 * byte and split at a point the input picks, which must change nothing.
 * Relaxed output never holds a tab, a double space or trailing space. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void collect(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

static void header(const char *s, size_t len)
{
	struct buf out = BUF_INIT;

	dkim_canon_header(DKIM_CANON_RELAXED, s, len, false, &out);
	if (memchr(out.ptr ? out.ptr : "", '\t', out.len) != NULL ||
	    (out.len > 0 && out.ptr[out.len - 1] == ' ') ||
	    strstr(buf_cstr(&out), "  ") != NULL)
		abort();
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_SIMPLE, s, len, true, &out);
	if (out.len != len + 2)
		abort();
	buf_free(&out);
}

/* step 0: split at cut; else pieces of step bytes. */
static void body(enum dkim_canon c, const char *s, size_t len, size_t cut,
		 size_t step, struct buf *out)
{
	struct dkim_body b;

	buf_reset(out);
	dkim_body_init(&b, c, collect, out);
	if (step == 0) {
		dkim_body_feed(&b, s, cut);
		dkim_body_feed(&b, s + cut, len - cut);
	} else {
		for (size_t off = 0; off < len; off += step)
			dkim_body_feed(&b, s + off, len - off < step ?
				       len - off : step);
	}
	dkim_body_end(&b);
	if (b.total != out->len)
		abort();
}

static void bodies(const char *s, size_t len, size_t cut)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	for (int c = 0; c < 2; c++) {
		body((enum dkim_canon)c, s, len, cut, 0, &a);
		body((enum dkim_canon)c, s, len, 0, 1, &b);
		if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
			abort();
		if (c == DKIM_CANON_SIMPLE &&
		    (a.len < 2 || memcmp(a.ptr + a.len - 2, "\r\n", 2) != 0))
			abort();
		if (c == DKIM_CANON_RELAXED && a.len > 0 &&
		    (strstr(a.ptr, " \r\n") != NULL ||
		     memcmp(a.ptr + a.len - 2, "\r\n", 2) != 0 ||
		     (a.len >= 4 &&
		      memcmp(a.ptr + a.len - 4, "\r\n\r\n", 4) == 0)))
			abort();
	}
	buf_free(&a);
	buf_free(&b);
}

static void reader(const char *s, size_t len, size_t cut)
{
	struct dkim_limits lim;
	struct dkim_hdr a, b;
	size_t used_a, used_b;

	dkim_limits_default(&lim);
	lim.max_header_fields = 50;
	lim.max_field_len = 300;
	lim.max_header_bytes = 2000;
	dkim_hdr_init(&a, &lim);
	dkim_hdr_init(&b, &lim);
	used_a = dkim_hdr_feed(&a, s, cut);
	if (used_a == cut)
		used_a += dkim_hdr_feed(&a, s + cut, len - cut);
	for (used_b = 0; used_b < len && !b.done;)
		used_b += dkim_hdr_feed(&b, s + used_b, 1);
	dkim_hdr_finish(&a);
	dkim_hdr_finish(&b);
	if (used_a != used_b || a.n != b.n || a.raw.len != b.raw.len ||
	    a.overflow != b.overflow ||
	    (a.raw.len > 0 && memcmp(a.raw.ptr, b.raw.ptr, a.raw.len) != 0))
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (a.f[i].len > lim.max_field_len ||
		    a.f[i].name_len > a.f[i].len)
			abort();
	dkim_hdr_free(&a);
	dkim_hdr_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t len, cut;

	if (size == 0)
		return 0;
	len = size - 1;
	cut = len ? data[0] % (len + 1) : 0;
	header(s, len);
	bodies(s, len, cut);
	reader(s, len, cut);
	return 0;
}
