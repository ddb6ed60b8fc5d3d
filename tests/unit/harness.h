/* A tiny table-free unit test harness.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STREQ(s, "a"); }
 *   int main(void) { RUN(name); return test_summary(); }
 *
 * Each failed CHECK prints file:line and the expression; the summary prints
 * "N passed, N failed" and returns the exit status. */
#ifndef MK_TEST_HARNESS_H
#define MK_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks __attribute__((unused));
static int test_passed __attribute__((unused)), test_failed __attribute__((unused));

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                       \
	do {                                                            \
		int before_ = test_failed_checks;                       \
		test_##name();                                          \
		if (test_failed_checks == before_)                      \
			test_passed++;                                  \
		else {                                                  \
			test_failed++;                                  \
			fprintf(stderr, "FAIL %s\n", #name);            \
		}                                                       \
	} while (0)

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",    \
				__FILE__, __LINE__, #cond);             \
			test_failed_checks++;                           \
		}                                                       \
	} while (0)

#define CHECK_STREQ(a, b)                                               \
	do {                                                            \
		const char *a_ = (a), *b_ = (b);                        \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {  \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n",    \
				__FILE__, __LINE__, a_ ? a_ : "(null)", \
				b_ ? b_ : "(null)");                    \
			test_failed_checks++;                           \
		}                                                       \
	} while (0)

#define CHECK_INTEQ(a, b)                                               \
	do {                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);     \
		if (a_ != b_) {                                         \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n", \
				__FILE__, __LINE__, #a, a_, b_);        \
			test_failed_checks++;                           \
		}                                                       \
	} while (0)

static inline int test_summary(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
