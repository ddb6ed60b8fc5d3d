/* libFuzzer target for store_cache: what delivery and APPEND compute from
 * a hostile message (ENVELOPE, BODY, BODYSTRUCTURE and the search text of
 * decoded parts). Besides "no crash, no leak", it checks the promises the
 * text index relies on: valid UTF-8, no NUL, within the limit, and that a
 * cut text says so. The first input byte picks the text limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/addr.h"
#include "store/store_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const struct buf *t)
{
	const unsigned char *p = (const unsigned char *)t->ptr;

	for (size_t i = 0; i < t->len;) {
		size_t n = p[i] < 0x80 ? 1 : mail_utf8_seq_len(p + i, t->len - i);

		if (p[i] == 0 || n == 0)
			abort();
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 0, 1, 7, 64, 1000 };
	struct store_cache c, whole;
	size_t limit;

	if (size == 0)
		return 0;
	limit = limits[data[0] % 5];
	store_cache_init(&c);
	store_cache_compute(&c, (const char *)data + 1, size - 1,
			    STORE_CACHE_STRUCTURE | STORE_CACHE_TEXT, limit);
	check_text(&c.hdr_text);
	check_text(&c.body_text);
	if (c.envelope.len == 0 || c.bodystructure.len == 0 || !c.has_text)
		abort();
	if (limit > 0 && c.hdr_text.len + c.body_text.len > limit)
		abort();
	/* what the limit kept is the start of the whole text */
	store_cache_init(&whole);
	store_cache_compute(&whole, (const char *)data + 1, size - 1,
			    STORE_CACHE_TEXT, 0);
	if (!whole.text_full ||
	    (c.text_full && (c.hdr_text.len != whole.hdr_text.len ||
			     c.body_text.len != whole.body_text.len)) ||
	    c.hdr_text.len > whole.hdr_text.len ||
	    memcmp(c.hdr_text.ptr, whole.hdr_text.ptr, c.hdr_text.len) != 0)
		abort();
	store_cache_free(&c);
	store_cache_free(&whole);
	return 0;
}
