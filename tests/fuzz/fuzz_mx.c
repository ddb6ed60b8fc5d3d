/* libFuzzer target for src/queue/mx: the input is split at newlines into
 * MX records ("pref exchange") and ordered; the result must be sorted by
 * preference and capped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "queue/mx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned rnd(void *arg, unsigned n)
{
	unsigned *seed = arg;

	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *rr[64];
	size_t len[64], n = 0, start = 0;
	unsigned seed = 1;
	struct mx_options opt = { .max_hosts = 5, .self = "me.example",
				  .random = rnd, .random_arg = &seed };
	struct mx_list l;
	const char *st, *err;

	if (size > 8192)
		return 0;
	for (size_t i = 0; i <= size && n < 64; i++) {
		if (i < size && data[i] != '\n')
			continue;
		rr[n] = xmemdup(data + start, i - start);
		len[n++] = i - start;
		start = i + 1;
	}
	struct dnsq_answer a = { DNSQ_OK, n, rr, len, NULL };
	if (mx_list_build("dest.example", &a, &opt, &l, &st, &err) == MX_OK) {
		if (l.n == 0 || l.n > 5)
			abort();
		for (size_t i = 1; i < l.n; i++)
			if (l.hosts[i].pref < l.hosts[i - 1].pref)
				abort();
	} else if (l.hosts != NULL || st[0] == '\0')
		abort();
	mx_list_free(&l);
	for (size_t i = 0; i < n; i++)
		free(rr[i]);
	return 0;
}
