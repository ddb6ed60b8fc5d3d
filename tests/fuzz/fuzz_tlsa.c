/* libFuzzer target for TLSA records: the first byte picks the path.
 * Even: the rest is wire rdata, converted by dns_conv.c into "U S M hex"
 * and parsed back, which must give the same bytes. Odd: the rest is
 * presentation text straight into tlsa_parse() and tlsa_unusable(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "dns/dns_conv.h"
#include "dns/dns.h"
#include "queue/tlsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void wire(const uint8_t *p, size_t n)
{
	char *d[2] = { (char *)p, NULL };
	int len[2] = { (int)n, 0 };
	struct ub_result r;
	struct dnsq_answer a;

	memset(&r, 0, sizeof(r));
	r.data = d;
	r.len = len;
	r.havedata = 1;
	dns_answer_convert(&a, DNSQ_TLSA, 0, &r);
	for (size_t i = 0; i < a.n; i++) {
		struct tlsa_rr rr;
		const char *why = NULL;
		if (tlsa_parse(a.rr[i], a.rr_len[i], &rr, &why) == 0) {
			/* the round trip keeps the fields and the data */
			if (n > 3 + TLSA_DATA_MAX || rr.usage != p[0] ||
			    rr.selector != p[1] || rr.mtype != p[2] ||
			    rr.len != n - 3 || memcmp(rr.data, p + 3, rr.len) != 0)
				abort();
			(void)tlsa_unusable(&rr);
			tlsa_free(&rr);
		} else if (n - 3 <= TLSA_DATA_MAX) {
			abort();	/* our own text must parse */
		}
	}
	dns_answer_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsa_rr rr;
	const char *why = NULL;

	if (size == 0 || size > 3 * TLSA_DATA_MAX)
		return 0;
	if (data[0] % 2 == 0) {
		wire(data + 1, size - 1);
		return 0;
	}
	if (tlsa_parse((const char *)data + 1, size - 1, &rr, &why) == 0) {
		(void)tlsa_unusable(&rr);
		(void)tlsa_usage_name(rr.usage);
		tlsa_free(&rr);
	}
	return 0;
}
