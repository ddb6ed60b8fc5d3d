/* libFuzzer target: modified UTF-7 (src/imap/imap_utf7.c).
 *
 * Properties: whatever decodes is canonical, so encoding the result gives
 * the input back byte for byte; whatever encodes decodes to the input and
 * is valid; the name check never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *error;

	if (imap_utf7_decode(in, size, &a, &error) == 0) {
		if (imap_utf7_encode(a.ptr ? a.ptr : "", a.len, &b, &error) < 0 ||
		    b.len != size || (size > 0 && memcmp(b.ptr, in, size) != 0))
			abort();
		imap_utf7_name_check(a.ptr ? a.ptr : "", a.len, &error);
	} else if (imap_utf7_is_valid(in, size)) {
		abort();
	}
	buf_reset(&a);
	buf_reset(&b);
	if (imap_utf7_encode(in, size, &a, &error) == 0) {
		if (!imap_utf7_is_valid(a.ptr ? a.ptr : "", a.len) ||
		    imap_utf7_decode(a.ptr ? a.ptr : "", a.len, &b, &error) < 0 ||
		    b.len != size || (size > 0 && memcmp(b.ptr, in, size) != 0))
			abort();
	}
	imap_utf7_name_check(in, size, &error);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
