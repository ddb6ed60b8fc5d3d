/* libFuzzer target for the DMARC-side parsers of src/mailauth: the input
 * is parsed as a DMARC TXT record (RFC 7489 §6.3), as a From field value
 * (author domains) and as an Authentication-Results field (authserv-id
 * check, RFC 8601 §5). Checked invariants:
 *   - a usable record has valid policies, pct <= 100 and bounded URIs;
 *   - From domains are non-empty, at most 253 octets, lower case, with no
 *     specials or spaces; a failed parse adds nothing;
 *   - an Authentication-Results field we format with any parsed domain as
 *     authserv-id is recognised as ours, and values from the input never
 *     put a CR or LF anywhere but in the CRLF-TAB folds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mailauth/authres.h"
#include "mailauth/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool policy_ok(enum dmarc_policy p)
{
	return p == DMARC_POLICY_NONE || p == DMARC_POLICY_QUARANTINE ||
	       p == DMARC_POLICY_REJECT;
}

static void check_uris(char *const *uris, size_t n)
{
	if (n > DMARC_MAX_URIS)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(uris[i]);

		if (len == 0 || len > DMARC_MAX_URI_LEN ||
		    strpbrk(uris[i], " \t,;") != NULL)
			abort();
	}
}

static void fuzz_record(const char *s, size_t len)
{
	struct dmarc_record rec;
	const char *error;
	enum dmarc_parse r = dmarc_record_parse(s, len, &rec, &error);

	if (r == DMARC_REC_OK && (!policy_ok(rec.p) || !policy_ok(rec.sp) ||
				  !policy_ok(rec.np) || rec.pct > 100))
		abort();
	if (r != DMARC_REC_OK && error == NULL)
		abort();
	check_uris(rec.rua, rec.nrua);
	check_uris(rec.ruf, rec.nruf);
	dmarc_record_clear(&rec);
}

/* Only CRLF followed by TAB, and the final CRLF. */
static void check_folds(const struct buf *b)
{
	if (b->len < 2 || memcmp(b->ptr + b->len - 2, "\r\n", 2) != 0)
		abort();
	for (size_t i = 0; i + 2 < b->len; i++) {
		if (b->ptr[i] == '\r' && b->ptr[i + 1] == '\n' &&
		    b->ptr[i + 2] == '\t')
			i += 2;
		else if (b->ptr[i] == '\r' || b->ptr[i] == '\n' ||
			 b->ptr[i] == '\0')
			abort();
	}
}

/* Our own field, with a hostile header.from, must be ours and sound. */
static void round_trip(const char *id, const char *value)
{
	struct authres *ar = authres_new(id);
	struct dmarc_verdict v = { .result = DMARC_FAIL, .from_domain = value,
				   .policy = DMARC_POLICY_REJECT };
	struct buf out = BUF_INIT;

	authres_add_dmarc(ar, &v);
	authres_add_iprev(ar, IPREV_PASS, value, value);
	authres_format(ar, &out);
	check_folds(&out);
	if (!authres_is_ours(out.ptr, out.len, id))
		abort();
	authres_free(ar);
	buf_free(&out);
}

static void fuzz_from(const char *s, size_t len, const char *cstr)
{
	static struct dmarc_from f;
	const char *error;

	f.n = 0;
	if (dmarc_from_parse(s, len, &f, &error) < 0) {
		if (f.n != 0 || error == NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < f.n; i++) {
		const char *d = f.domain[i];
		size_t n = strlen(d);

		if (n == 0 || n > DNSQ_NAME_MAX ||
		    strpbrk(d, " \t\r\n()<>[]:;@\\,\"ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
			abort();
		round_trip(d, cstr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_record(s, size);
	fuzz_from(s, size, s);
	(void)authres_is_ours(s, size, "mx.example.org");
	free(s);
	return 0;
}
