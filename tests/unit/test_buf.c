/* Unit tests for src/lib: buf and str. */
#include "harness.h"

#include "lib/buf.h"
#include "lib/str.h"

TEST(buf_append_and_printf)
{
	struct buf b = BUF_INIT;

	CHECK_STREQ(buf_cstr(&b), "");
	buf_appends(&b, "hello");
	buf_appendc(&b, ' ');
	buf_printf(&b, "%d-%s", 42, "x");
	CHECK_STREQ(buf_cstr(&b), "hello 42-x");
	CHECK_INTEQ(b.len, 10);
	buf_consume(&b, 6);
	CHECK_STREQ(buf_cstr(&b), "42-x");
	buf_truncate(&b, 2);
	CHECK_STREQ(buf_cstr(&b), "42");
	buf_consume(&b, 99);
	CHECK_INTEQ(b.len, 0);
	buf_free(&b);
}

TEST(buf_grows_large)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < 100000; i++)
		buf_appendc(&b, 'a');
	CHECK_INTEQ(b.len, 100000);
	CHECK(b.cap > b.len);
	CHECK(b.ptr[b.len] == '\0');
	buf_free(&b);
}

TEST(str_helpers)
{
	char small[4];
	uint64_t v;

	CHECK_INTEQ(str_copy(small, sizeof(small), "abc"), 0);
	CHECK_INTEQ(str_copy(small, sizeof(small), "abcd"), -1);
	CHECK_STREQ(small, "abc");
	CHECK(str_ieq("MaIL", "mail"));
	CHECK(!str_ieq("mail", "mails"));
	CHECK(str_iprefix("MAIL FROM:", "mail from:"));
	CHECK_INTEQ(str_to_u64("18446744073709551615", &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INTEQ(str_to_u64("18446744073709551616", &v), -1);
	CHECK_INTEQ(str_to_u64("12a", &v), -1);
	CHECK_INTEQ(str_to_u64("", &v), -1);
	CHECK(str_secure_eq("abc", "abc", 3));
	CHECK(!str_secure_eq("abc", "abd", 3));
}

TEST(str_random_hex_shape)
{
	char a[13], b[13];

	str_random_hex(a, sizeof(a));
	str_random_hex(b, sizeof(b));
	CHECK_INTEQ(strlen(a), 12);
	CHECK(strspn(a, "0123456789abcdef") == 12);
	CHECK(strcmp(a, b) != 0);
}

int main(void)
{
	RUN(buf_append_and_printf);
	RUN(buf_grows_large);
	RUN(str_helpers);
	RUN(str_random_hex_shape);
	return test_summary();
}
