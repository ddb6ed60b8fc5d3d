/* Unit tests for src/queue/tlsa.c (TLSA text into fields, RFC 7672 §3.1
 * usability) and the TLSA rdata conversion of src/dns/dns_conv.c. */
#include "harness.h"

#include <stdlib.h>
#include <unbound.h>

#include "dns/dns.h"
#include "dns/dns_conv.h"
#include "lib/buf.h"
#include "queue/tlsa.h"

#define H32 "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"

/* ---- tlsa_parse ---- */

static const struct {
	const char *in;
	int ok;
	unsigned usage, sel, mtype;
	size_t len;
	unsigned first;		/* data[0] */
} parse_cases[] = {
	{ "3 1 1 " H32, 1, 3, 1, 1, 32, 0x01 },
	{ "2 0 2 ff", 1, 2, 0, 2, 1, 0xff },
	{ "255 255 255 00", 1, 255, 255, 255, 1, 0 },
	{ "000 001 002 aB", 1, 0, 1, 2, 1, 0xab },
	{ "3 1 1", 0, 0, 0, 0, 0, 0 },		/* no data */
	{ "3 1 1 ", 0, 0, 0, 0, 0, 0 },
	{ "3 1 1 abc", 0, 0, 0, 0, 0, 0 },	/* odd */
	{ "3 1 1 zz", 0, 0, 0, 0, 0, 0 },
	{ "3 1 1 ab cd", 0, 0, 0, 0, 0, 0 },	/* space inside */
	{ "3 1 1 abcd ", 0, 0, 0, 0, 0, 0 },
	{ "256 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "1000 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "0003 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "-3 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "3  1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ " 3 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "3\t1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "3 1 x ab", 0, 0, 0, 0, 0, 0 },
	{ "", 0, 0, 0, 0, 0, 0 },
	{ "3 1 1 0x", 0, 0, 0, 0, 0, 0 },
};

TEST(parse_table)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(*parse_cases); i++) {
		struct tlsa_rr rr;
		const char *why = NULL;
		int r = tlsa_parse(parse_cases[i].in, strlen(parse_cases[i].in),
				   &rr, &why);
		if ((r == 0) != parse_cases[i].ok)
			fprintf(stderr, "case: \"%s\" (%s)\n", parse_cases[i].in,
				why ? why : "accepted");
		CHECK((r == 0) == parse_cases[i].ok);
		if (r == 0 && parse_cases[i].ok) {
			CHECK_INTEQ(rr.usage, parse_cases[i].usage);
			CHECK_INTEQ(rr.selector, parse_cases[i].sel);
			CHECK_INTEQ(rr.mtype, parse_cases[i].mtype);
			CHECK_INTEQ(rr.len, parse_cases[i].len);
			CHECK_INTEQ(rr.data[0], parse_cases[i].first);
		}
		if (r < 0)
			CHECK(why != NULL && rr.data == NULL);
		tlsa_free(&rr);
	}
}

/* The length given counts, not the NUL: embedded NULs are refused. */
TEST(parse_embedded_nul_and_length)
{
	struct tlsa_rr rr;
	const char *why = NULL;

	CHECK_INTEQ(tlsa_parse("3 1 1 ab\0cd", 11, &rr, &why), -1);
	CHECK_INTEQ(tlsa_parse("3 1 1 abcd", 8, &rr, &why), 0);	/* "3 1 1 ab" */
	CHECK_INTEQ(rr.len, 1);
	tlsa_free(&rr);
}

TEST(parse_data_limit)
{
	struct buf b = BUF_INIT;
	struct tlsa_rr rr;
	const char *why = NULL;

	buf_appends(&b, "3 0 0 ");
	for (size_t i = 0; i < TLSA_DATA_MAX; i++)
		buf_appends(&b, "5a");
	CHECK_INTEQ(tlsa_parse(b.ptr, b.len, &rr, &why), 0);
	CHECK_INTEQ(rr.len, TLSA_DATA_MAX);
	CHECK_INTEQ(rr.data[TLSA_DATA_MAX - 1], 0x5a);
	tlsa_free(&rr);
	buf_appends(&b, "5a");
	CHECK_INTEQ(tlsa_parse(b.ptr, b.len, &rr, &why), -1);
	CHECK_STREQ(why, "association data too long");
	buf_free(&b);
}

/* ---- tlsa_unusable (RFC 7672 §3.1) ---- */

static const struct {
	const char *in;
	int usable;
} usable_cases[] = {
	{ "3 1 1 " H32, 1 },
	{ "3 0 1 " H32, 1 },
	{ "2 1 1 " H32, 1 },
	{ "2 0 2 " H32 H32, 1 },
	{ "3 1 0 3059", 1 },		/* full SPKI: OpenSSL parses it */
	{ "2 0 0 30", 1 },
	{ "0 1 1 " H32, 0 },		/* PKIX-TA */
	{ "1 1 1 " H32, 0 },		/* PKIX-EE */
	{ "4 1 1 " H32, 0 },
	{ "3 2 1 " H32, 0 },
	{ "3 1 3 " H32, 0 },
	{ "3 1 1 " H32 "00", 0 },	/* 33 bytes for SHA-256 */
	{ "3 1 1 abcd", 0 },
	{ "3 1 2 " H32, 0 },		/* 32 bytes for SHA-512 */
};

TEST(usable_table)
{
	for (size_t i = 0; i < sizeof(usable_cases) / sizeof(*usable_cases); i++) {
		struct tlsa_rr rr;
		const char *why = NULL;
		CHECK_INTEQ(tlsa_parse(usable_cases[i].in, strlen(usable_cases[i].in),
				       &rr, &why), 0);
		why = tlsa_unusable(&rr);
		if ((why == NULL) != usable_cases[i].usable)
			fprintf(stderr, "case: %s (%s)\n", usable_cases[i].in,
				why ? why : "usable");
		CHECK((why == NULL) == usable_cases[i].usable);
		tlsa_free(&rr);
	}
}

TEST(usage_names)
{
	CHECK_STREQ(tlsa_usage_name(2), "dane-ta");
	CHECK_STREQ(tlsa_usage_name(3), "dane-ee");
	CHECK_STREQ(tlsa_usage_name(0), "pkix-ta");
	CHECK_STREQ(tlsa_usage_name(200), "usage-other");
}

/* ---- dns_conv: TLSA rdata to "U S M hex" ---- */

static void convert(const unsigned char *rd, int len, struct dnsq_answer *a)
{
	char *data[2] = { (char *)rd, NULL };
	int lens[2] = { len, 0 };
	struct ub_result r;

	memset(&r, 0, sizeof(r));
	r.qtype = DNSQ_TLSA;
	r.data = data;
	r.len = lens;
	r.havedata = 1;
	dns_answer_convert(a, DNSQ_TLSA, 0, &r);
}

TEST(conv_tlsa)
{
	static const unsigned char rd[] = { 3, 1, 1, 0x00, 0xab, 0x7f, 0xff };
	static const unsigned char short_rd[] = { 3, 1, 1 };
	struct dnsq_answer a;
	struct tlsa_rr rr;
	const char *why = NULL;

	convert(rd, sizeof(rd), &a);
	CHECK_INTEQ(a.rcode, DNSQ_OK);
	CHECK_INTEQ(a.n, 1);
	if (a.n == 1) {
		CHECK_STREQ(a.rr[0], "3 1 1 00ab7fff");
		CHECK_INTEQ(a.rr_len[0], 14);
		/* and back through the parser */
		CHECK_INTEQ(tlsa_parse(a.rr[0], a.rr_len[0], &rr, &why), 0);
		CHECK_INTEQ(rr.len, 4);
		CHECK(memcmp(rr.data, rd + 3, 4) == 0);
		tlsa_free(&rr);
	}
	dns_answer_free(&a);
	/* no association data: dropped (nothing usable), so NODATA */
	convert(short_rd, sizeof(short_rd), &a);
	CHECK_INTEQ(a.rcode, DNSQ_NODATA);
	dns_answer_free(&a);
	CHECK_STREQ(dnsq_type_name(DNSQ_TLSA), "TLSA");
}

int main(void)
{
	RUN(parse_table);
	RUN(parse_embedded_nul_and_length);
	RUN(parse_data_limit);
	RUN(usable_table);
	RUN(usage_names);
	RUN(conv_tlsa);
	return test_summary();
}
