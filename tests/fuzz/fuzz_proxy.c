/* libFuzzer target for lib/proxy: the input is parsed whole and as the
 * reader takes it (growing prefixes, only the bytes asked for); both must
 * agree, never ask past a complete header, and give sane addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_header(const struct proxy_header *h)
{
	if (h->version != 1 && h->version != 2)
		abort();
	if (!h->local && h->src.ss_family != AF_INET &&
	    h->src.ss_family != AF_INET6)
		abort();
	if (!h->local && h->src.ss_family != h->dst.ss_family)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	const char *why = NULL;
	size_t need = 0, have = 0;
	int whole, rc;

	whole = proxy_parse(data, size, &h, &need, &why);
	if (whole > 0) {
		if ((size_t)whole > size || whole > PROXY_MAX_HEADER)
			abort();
		check_header(&h);
	} else if (whole < 0 && why == NULL) {
		abort();
	} else if (whole == 0 && need == 0) {
		abort();
	}
	/* the reader's way: a complete header is found at the same length,
	 * and an error shows up no later than in the whole input */
	while ((rc = proxy_parse(data, have, &h, &need, &why)) == 0 &&
	       have + need <= size)
		have += need;
	if (rc > 0 && (whole != rc || (size_t)rc != have))
		abort();
	if (rc < 0 && whole >= 0)
		abort();
	return 0;
}
