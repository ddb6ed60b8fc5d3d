/* Unit tests for src/imap/imap_seqset: parsing, '*' resolution,
 * normalisation, membership, counting, iteration, formatting, limits and
 * 32-bit overflow. */
#include "harness.h"

#include <stdint.h>

#include "imap/imap_seqset.h"

struct parse_case {
	const char *in;
	uint32_t max;		/* what '*' stands for */
	const char *want;	/* formatted after resolve; NULL: parse error */
	uint64_t count;
	bool last;		/* "$" seen */
};

static const struct parse_case parse_cases[] = {
	{ "1", 10, "1", 1, false },
	{ "1,3:5,7:*", 10, "1,3:5,7:10", 8, false },
	{ "5:3", 10, "3:5", 3, false },			/* either order */
	{ "*", 10, "10", 1, false },
	{ "*:7", 10, "7:10", 4, false },
	{ "12:*", 10, "10:12", 3, false },		/* RFC 3501 §6.4.8 */
	{ "*", 0, "", 0, false },			/* empty mailbox */
	{ "1:*", 0, "1", 1, false },
	{ "3,1,2", 10, "1:3", 3, false },		/* merged */
	{ "1:5,2:3", 10, "1:5", 5, false },		/* contained */
	{ "1:5,6:9", 10, "1:9", 9, false },		/* adjacent */
	{ "1:5,7:9", 10, "1:5,7:9", 8, false },
	{ "9,7,5,3,1", 10, "1,3,5,7,9", 5, false },
	{ "4294967295", 10, "4294967295", 1, false },
	{ "1:4294967295", 10, "1:4294967295", 4294967295ULL, false },
	{ "4294967295:1,4294967295", 1, "1:4294967295", 4294967295ULL, false },
	{ "$", 10, "", 0, true },			/* RFC 5182 */
	{ "1,$,3", 10, "1,3", 2, true },
	/* errors */
	{ "", 10, NULL, 0, false },
	{ "0", 10, NULL, 0, false },
	{ "0:5", 10, NULL, 0, false },
	{ "1:0", 10, NULL, 0, false },
	{ "01", 10, NULL, 0, false },
	{ "4294967296", 10, NULL, 0, false },
	{ "99999999999999999999999", 10, NULL, 0, false },
	{ "1,", 10, NULL, 0, false },
	{ ",1", 10, NULL, 0, false },
	{ "1,,2", 10, NULL, 0, false },
	{ "1:", 10, NULL, 0, false },
	{ ":1", 10, NULL, 0, false },
	{ "1:2:3", 10, NULL, 0, false },
	{ "1 2", 10, NULL, 0, false },
	{ "a", 10, NULL, 0, false },
	{ "-1", 10, NULL, 0, false },
	{ "1:*x", 10, NULL, 0, false },
	{ "$:3", 10, NULL, 0, false },
	{ "**", 10, NULL, 0, false },
};

TEST(parse_table)
{
	struct imap_seqset set;

	imap_seqset_init(&set);
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(*parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		const char *error = NULL;
		struct buf out = BUF_INIT;
		int ret = imap_seqset_parse(&set, c->in, strlen(c->in), 0, &error);

		if (c->want == NULL) {
			CHECK_INTEQ(ret, -1);
			CHECK(error != NULL);
			if (ret != -1)
				fprintf(stderr, "  accepted \"%s\"\n", c->in);
			continue;
		}
		CHECK_INTEQ(ret, 0);
		if (ret != 0) {
			fprintf(stderr, "  \"%s\": %s\n", c->in, error);
			continue;
		}
		imap_seqset_resolve(&set, c->max);
		imap_seqset_format(&set, &out);
		CHECK_STREQ(buf_cstr(&out), c->want);
		CHECK(imap_seqset_count(&set) == c->count);
		if (imap_seqset_count(&set) != c->count)
			fprintf(stderr, "  \"%s\": count %llu\n", c->in,
				(unsigned long long)imap_seqset_count(&set));
		CHECK(set.last == c->last);
		buf_free(&out);
	}
	imap_seqset_free(&set);
}

TEST(star_stays_symbolic)
{
	struct imap_seqset set;
	struct buf out = BUF_INIT;

	imap_seqset_init(&set);
	CHECK_INTEQ(imap_seqset_parse(&set, "2,5:*", 5, 0, NULL), 0);
	CHECK(set.star);
	imap_seqset_format(&set, &out);
	CHECK_STREQ(buf_cstr(&out), "2,*:5");
	imap_seqset_resolve(&set, 3);
	CHECK(!set.star);
	buf_reset(&out);
	imap_seqset_format(&set, &out);
	CHECK_STREQ(buf_cstr(&out), "2:5");
	buf_free(&out);
	imap_seqset_free(&set);
}

TEST(range_limit)
{
	struct imap_seqset set;
	struct buf in = BUF_INIT;
	const char *error = NULL;

	imap_seqset_init(&set);
	CHECK_INTEQ(imap_seqset_parse(&set, "1,2,3", 5, 3, &error), 0);
	CHECK_INTEQ(imap_seqset_parse(&set, "1,2,3,4", 7, 3, &error), -1);
	CHECK(strstr(error, "too many") != NULL);
	for (unsigned i = 0; i <= IMAP_SEQSET_RANGES_MAX; i++)
		buf_printf(&in, "%s%u", i ? "," : "", 2 * i + 1);
	CHECK_INTEQ(imap_seqset_parse(&set, in.ptr, in.len, 0, &error), -1);
	buf_truncate(&in, (size_t)(strrchr(in.ptr, ',') - in.ptr));
	CHECK_INTEQ(imap_seqset_parse(&set, in.ptr, in.len, 0, &error), 0);
	CHECK_INTEQ(set.n, IMAP_SEQSET_RANGES_MAX);
	CHECK(imap_seqset_contains(&set, 19999));
	CHECK(!imap_seqset_contains(&set, 19998));
	CHECK(!imap_seqset_contains(&set, 20001));
	buf_free(&in);
	imap_seqset_free(&set);
}

TEST(contains)
{
	static const uint32_t yes[] = { 1, 3, 4, 5, 100, 4294967295u };
	static const uint32_t no[] = { 0, 2, 6, 99, 101, 4294967294u };
	struct imap_seqset set;

	imap_seqset_init(&set);
	CHECK_INTEQ(imap_seqset_parse(&set, "4294967295,100,3:5,1", 20, 0, NULL), 0);
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		CHECK(imap_seqset_contains(&set, yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		CHECK(!imap_seqset_contains(&set, no[i]));
	CHECK_INTEQ(imap_seqset_max(&set), 4294967295u);
	imap_seqset_clear(&set);
	CHECK(!imap_seqset_contains(&set, 1));
	CHECK_INTEQ(imap_seqset_max(&set), 0);
	imap_seqset_free(&set);
}

TEST(iterate)
{
	struct imap_seqset set;
	struct imap_seqset_iter it;
	struct buf out = BUF_INIT;
	uint32_t n;

	imap_seqset_init(&set);
	CHECK_INTEQ(imap_seqset_parse(&set, "7,2:4,9", 7, 0, NULL), 0);
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_next(&it, &n))
		buf_printf(&out, "%u ", n);
	CHECK_STREQ(buf_cstr(&out), "2 3 4 7 9 ");
	/* the top of the range ends the iteration instead of wrapping */
	CHECK_INTEQ(imap_seqset_parse(&set, "4294967294:*", 12, 0, NULL), 0);
	imap_seqset_resolve(&set, 4294967295u);
	buf_reset(&out);
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_next(&it, &n) && out.len < 100)
		buf_printf(&out, "%u ", n);
	CHECK_STREQ(buf_cstr(&out), "4294967294 4294967295 ");
	imap_seqset_clear(&set);
	imap_seqset_iter_init(&it, &set);
	CHECK(!imap_seqset_next(&it, &n));
	buf_free(&out);
	imap_seqset_free(&set);
}

TEST(build_and_union)
{
	struct imap_seqset a, b;
	struct buf out = BUF_INIT;

	imap_seqset_init(&a);
	imap_seqset_init(&b);
	for (uint32_t i = 1; i <= 10; i++)
		if (i != 5)
			imap_seqset_add(&a, i);
	imap_seqset_add(&a, 0);			/* ignored: not a number */
	imap_seqset_add(&a, 4294967295u);
	imap_seqset_add_range(&a, 30, 20);
	imap_seqset_format(&a, &out);
	CHECK_STREQ(buf_cstr(&out), "1:4,6:10,20:30,4294967295");
	imap_seqset_add(&a, 5);			/* out of order: merges */
	imap_seqset_add_range(&a, 4294967294u, 4294967295u);
	buf_reset(&out);
	imap_seqset_format(&a, &out);
	CHECK_STREQ(buf_cstr(&out), "1:10,20:30,4294967294:4294967295");
	CHECK_INTEQ(imap_seqset_parse(&b, "11:19,$", 7, 0, NULL), 0);
	imap_seqset_union(&a, &b);
	buf_reset(&out);
	imap_seqset_format(&a, &out);
	CHECK_STREQ(buf_cstr(&out), "1:30,4294967294:4294967295");
	CHECK(a.last);
	imap_seqset_clamp(&a, 25);
	buf_reset(&out);
	imap_seqset_format(&a, &out);
	CHECK_STREQ(buf_cstr(&out), "1:25");
	imap_seqset_clamp(&a, 0);
	CHECK_INTEQ(imap_seqset_count(&a), 0);
	buf_free(&out);
	imap_seqset_free(&a);
	imap_seqset_free(&b);
}

int main(void)
{
	RUN(parse_table);
	RUN(star_stays_symbolic);
	RUN(range_limit);
	RUN(contains);
	RUN(iterate);
	RUN(build_and_union);
	return test_summary();
}
