/* Unit tests for src/lib: buf and str. */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

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
	CHECK(str_dname_eq("MX.Example.org.", "mx.example.org"));
	CHECK(str_dname_eq("a.test", "A.TEST."));
	CHECK(!str_dname_eq("mx.example.org", "mx.example.or"));
	CHECK(!str_dname_eq("mx.example.org..", "mx.example.org"));
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

TEST(buf_read_fd_whole_file_and_limit)
{
	char path[] = "/tmp/mk-test-buf-XXXXXX";
	int fd = mkstemp(path);
	struct buf b = BUF_INIT;
	char big[20000];

	CHECK(fd >= 0);
	memset(big, 'x', sizeof(big));
	CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
	/* the descriptor's offset is at the end: reading starts at 0 anyway */
	CHECK_INTEQ(buf_read_fd(&b, fd, sizeof(big)), 0);
	CHECK_INTEQ(b.len, sizeof(big));
	CHECK(b.ptr[b.len] == '\0');
	buf_reset(&b);
	errno = 0;
	CHECK_INTEQ(buf_read_fd(&b, fd, sizeof(big) - 1), -1);
	CHECK_INTEQ(errno, EFBIG);
	close(fd);
	unlink(path);
	buf_free(&b);
}

int main(void)
{
	RUN(buf_append_and_printf);
	RUN(buf_grows_large);
	RUN(str_helpers);
	RUN(str_random_hex_shape);
	RUN(buf_read_fd_whole_file_and_limit);
	return test_summary();
}
