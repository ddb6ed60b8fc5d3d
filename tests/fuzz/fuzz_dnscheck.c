/* libFuzzer: the judges of `mailkeep dns check` over hostile DNS answers
 * and a hostile MTA-STS policy file. The input is split at NUL bytes:
 * the first pieces are TXT/MX record texts, the last one the policy file.
 * Every judge must return a report (never crash), and the report must
 * turn into text and JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/dnscheck.h"
#include "cli/dnsrecords.h"
#include "lib/buf.h"
#include "mailauth/dnsq.h"

#define RECORDS_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[] = { "192.0.2.1", "2001:db8::1" };
	char *rr[RECORDS_MAX];
	size_t rr_len[RECORDS_MAX], n = 0, start = 0;
	struct dnsq_answer txt = { DNSQ_OK, 0, rr, rr_len, NULL };
	struct dnsrec_domain want = {
		.domain = "example.org", .hostname = "mail.example.org",
		.addrs = addrs, .naddrs = 2, .dmarc_policy = DNSREC_DMARC_QUARANTINE,
		.dmarc_rua = "postmaster@example.org", .mta_sts = DNSREC_STS_ENFORCE,
		.tls_rpt_rua = "postmaster@example.org",
	};
	struct dnscheck_report r = { 0 };
	struct buf out = BUF_INIT;
	const char *policy = "";
	size_t policy_len = 0;
	unsigned pref;
	char host[256];

	for (size_t i = 0; i <= size && n < RECORDS_MAX; i++) {
		if (i < size && data[i] != '\0')
			continue;
		rr[n] = (char *)data + start;
		rr_len[n] = i - start;
		n++;
		start = i + 1;
	}
	if (n > 1) {			/* the last piece is the policy file */
		policy = rr[n - 1];
		policy_len = rr_len[n - 1];
		n--;
	}
	txt.n = n;
	/* records end at NUL (or at the end of the input, not terminated:
	 * copy them so every one is a C string as the resolver gives them) */
	for (size_t i = 0; i < n; i++) {
		char *copy = malloc(rr_len[i] + 1);
		memcpy(copy, rr[i], rr_len[i]);
		copy[rr_len[i]] = '\0';
		rr[i] = copy;
	}
	for (size_t i = 0; i < n; i++)
		(void)dnscheck_mx_parse(rr[i], &pref, host, sizeof(host));
	dnscheck_dmarc(&r, &want, &txt);
	dnscheck_tls_rpt(&r, &want, &txt);
	dnscheck_mta_sts(&r, &want, &txt, policy, policy_len, NULL);
	dnscheck_report_text(&r, &out);
	buf_reset(&out);
	dnscheck_report_json(&r, &out);
	buf_free(&out);
	dnscheck_report_free(&r);
	for (size_t i = 0; i < n; i++)
		free(rr[i]);
	return 0;
}
