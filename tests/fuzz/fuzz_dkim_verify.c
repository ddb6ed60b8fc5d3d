/* libFuzzer target for the DKIM verifier: arbitrary messages, fed in
 * pieces the input picks, with fixed fake key answers (DNS errors too).
 * The seeds are signed with the keys below (selector "ed" and "rsa" at
 * example.org), so mutations reach the hashes and the signature checks.
 * Every signature must end with a final result once answered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The RFC 8032 §7.1 TEST 1 key, and an RSA-1024 key made for the seeds. */
static char ed_rec[] = "v=DKIM1; k=ed25519; "
		       "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static char rsa_rec[] = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB"
	"iQKBgQCqIEpWTjVLKM6AHWpfILwVTmJaasjryFe0ky329zMLxxpzAFPAA7v9OaBCi/M1me"
	"LRyRhbaZoLXPyHShUFt6XiZOCCp+ZB6dSz80Z7/m6D8z7p4bZl0EFd4lnbxbPjGne8RrPh"
	"PfG6xkw3pSAUu8fsfkKaKfvSURlD8nauNCITZwIDAQAB";
static char junk_rec[] = "v=DKIM1; k=rsa; t=y:s; h=sha1; s=email; p=";

/* Selector ed or rsa: its key; others: an answer the input picks. */
static void answer(struct dkim_verify *v, size_t i, uint8_t pick)
{
	const struct dnsq *q = dkim_verify_query(v, i);
	char *rr[2] = { junk_rec, ed_rec };
	struct dnsq_answer a = { DNSQ_OK, 2, rr, NULL, NULL };

	if (q == NULL)
		return;
	if (strcmp(q->name, "ed._domainkey.example.org") == 0) {
		rr[0] = ed_rec;
		a.n = 1;
	} else if (strcmp(q->name, "rsa._domainkey.example.org") == 0) {
		rr[0] = rsa_rec;
		a.n = 1;
	} else if (pick % 4 == 1) {
		a.rcode = DNSQ_NXDOMAIN;
	} else if (pick % 4 == 2) {
		a.rcode = DNSQ_TEMPFAIL;
	} else if (pick % 4 == 3) {
		a.n = 0;
	}
	dkim_verify_key_answer(v, i, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_verify *v;
	struct buf b = BUF_INIT;
	size_t step, n;
	bool early;

	if (size < 2)
		return 0;
	step = data[0] % 64;
	early = data[1] & 1;
	v = dkim_verify_new(NULL);
	dkim_verify_set_time(v, 1800000000);
	for (size_t off = 2; off < size;) {
		size_t len = step == 0 || size - off < step ? size - off : step;

		dkim_verify_feed(v, data + off, len);
		off += len;
		if (early && dkim_verify_header_done(v)) {
			for (size_t i = 0; i < DKIM_MAX_SIGNATURES; i++)
				answer(v, i, data[1] >> 1);
			early = false;
		}
	}
	n = dkim_verify_end(v);
	for (size_t i = 0; i < n; i++) {
		answer(v, i, data[1] >> 1);
		if (dkim_verify_result(v, i)->status == DKIM_PENDING ||
		    dkim_verify_query(v, i) != NULL)
			abort();
		dkim_result_format(dkim_verify_result(v, i), &b);
	}
	if (dkim_verify_result(v, n) != NULL)
		abort();
	buf_free(&b);
	dkim_verify_free(v);
	return 0;
}
