/* Unit tests for src/auth/throttle: the doubling delay and its cap, the
 * block, the window (from the last failure), clearing, independent keys,
 * the table bound and its eviction order, long keys. */
#include "harness.h"

#include <stdio.h>

#include "auth/throttle.h"

static const struct throttle_config defaults = {
	.delay_after = 3, .block_after = 10, .window = 900, .max_entries = 0,
};

TEST(throttle_delay_doubles_then_caps)
{
	static const unsigned want[] = {
		/* delay after n failures, n = 0.. */
		0, 0, 0, 1, 2, 4, 8, 15, 15, 15, 15, 15,
	};
	struct throttle *t = throttle_new(&defaults, 42);

	for (unsigned n = 0; n < sizeof(want) / sizeof(want[0]); n++) {
		if (n > 0)
			throttle_fail(t, "ip:192.0.2.7", 100 + n);
		CHECK_INTEQ(throttle_failures(t, "ip:192.0.2.7", 100 + n), n);
		CHECK_INTEQ(throttle_delay(t, "ip:192.0.2.7", 100 + n), want[n]);
		CHECK(throttle_blocked(t, "ip:192.0.2.7", 100 + n) == (n >= 10));
	}
	/* another key is not affected */
	CHECK_INTEQ(throttle_delay(t, "ip:192.0.2.8", 200), 0);
	CHECK(!throttle_blocked(t, "user:alice@example.org", 200));
	throttle_free(t);
}

TEST(throttle_window_runs_from_last_failure)
{
	struct throttle *t = throttle_new(&defaults, 1);

	for (int i = 0; i < 10; i++)
		throttle_fail(t, "k", 1000 + (uint64_t)i * 60);	/* last at 1540 */
	CHECK(throttle_blocked(t, "k", 1540));
	CHECK(throttle_blocked(t, "k", 1540 + 899));
	CHECK(!throttle_blocked(t, "k", 1540 + 900));
	CHECK_INTEQ(throttle_failures(t, "k", 1540 + 900), 0);
	CHECK_INTEQ(throttle_delay(t, "k", 1540 + 900), 0);
	/* a failure after the window starts counting from one again */
	throttle_fail(t, "k", 3000);
	CHECK_INTEQ(throttle_failures(t, "k", 3000), 1);
	/* failures spaced less than a window apart keep adding up */
	throttle_fail(t, "k", 3800);
	throttle_fail(t, "k", 4600);
	CHECK_INTEQ(throttle_failures(t, "k", 5400), 3);
	CHECK_INTEQ(throttle_delay(t, "k", 5400), 1);
	CHECK_INTEQ(throttle_failures(t, "k", 5500), 0);
	throttle_free(t);
}

TEST(throttle_clear_and_reconfigure)
{
	struct throttle_config c = defaults;
	struct throttle *t = throttle_new(&c, 7);

	for (int i = 0; i < 5; i++)
		throttle_fail(t, "user:bob@example.org", 10);
	CHECK_INTEQ(throttle_delay(t, "user:bob@example.org", 10), 4);
	/* stricter thresholds apply to the counts already there */
	c.delay_after = 1;
	c.block_after = 5;
	throttle_set_config(t, &c);
	CHECK_INTEQ(throttle_delay(t, "user:bob@example.org", 10), 15);
	CHECK(throttle_blocked(t, "user:bob@example.org", 10));
	throttle_clear(t, "user:bob@example.org");
	CHECK_INTEQ(throttle_failures(t, "user:bob@example.org", 10), 0);
	CHECK(!throttle_blocked(t, "user:bob@example.org", 10));
	CHECK_INTEQ(throttle_size(t), 0);
	throttle_clear(t, "never-seen");	/* harmless */
	throttle_free(t);
}

TEST(throttle_bounded_evicts_oldest)
{
	struct throttle_config c = defaults;
	struct throttle *t;
	char key[32];

	c.max_entries = 4;
	t = throttle_new(&c, 3);
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		throttle_fail(t, key, 100 + (uint64_t)i);
	}
	CHECK_INTEQ(throttle_size(t), 4);
	throttle_fail(t, "k0", 110);	/* k0 is now the newest */
	throttle_fail(t, "k4", 111);	/* evicts k1, the oldest */
	CHECK_INTEQ(throttle_size(t), 4);
	CHECK_INTEQ(throttle_failures(t, "k0", 111), 2);
	CHECK_INTEQ(throttle_failures(t, "k1", 111), 0);
	CHECK_INTEQ(throttle_failures(t, "k2", 111), 1);
	throttle_fail(t, "k5", 112);	/* evicts k2 */
	CHECK_INTEQ(throttle_failures(t, "k2", 112), 0);
	CHECK_INTEQ(throttle_failures(t, "k3", 112), 1);
	/* expired keys go first, even when there is room */
	throttle_fail(t, "k6", 2000);
	CHECK_INTEQ(throttle_size(t), 1);
	throttle_free(t);
}

TEST(throttle_many_keys)
{
	struct throttle_config c = defaults;
	struct throttle *t = throttle_new(&c, 99);
	char key[32];
	unsigned present = 0;

	for (int i = 0; i < 3 * THROTTLE_MAX_ENTRIES; i++) {
		snprintf(key, sizeof(key), "user:u%d@example.org", i);
		throttle_fail(t, key, 50);
	}
	CHECK_INTEQ(throttle_size(t), THROTTLE_MAX_ENTRIES);
	for (int i = 0; i < 3 * THROTTLE_MAX_ENTRIES; i++) {
		snprintf(key, sizeof(key), "user:u%d@example.org", i);
		present += throttle_failures(t, key, 50);
		if (i == 2 * THROTTLE_MAX_ENTRIES - 1)
			CHECK_INTEQ(present, 0);	/* the old ones are gone */
	}
	CHECK_INTEQ(present, THROTTLE_MAX_ENTRIES);
	throttle_free(t);
}

TEST(throttle_long_keys_are_cut)
{
	struct throttle *t = throttle_new(&defaults, 5);
	char a[THROTTLE_KEY_MAX + 20], b[THROTTLE_KEY_MAX + 20];

	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[THROTTLE_KEY_MAX + 5] = 'b';	/* differs after the cut */
	throttle_fail(t, a, 1);
	throttle_fail(t, b, 1);
	CHECK_INTEQ(throttle_failures(t, a, 1), 2);
	b[THROTTLE_KEY_MAX - 1] = 'b';	/* differs before it */
	CHECK_INTEQ(throttle_failures(t, b, 1), 0);
	throttle_free(t);
}

int main(void)
{
	RUN(throttle_delay_doubles_then_caps);
	RUN(throttle_window_runs_from_last_failure);
	RUN(throttle_clear_and_reconfigure);
	RUN(throttle_bounded_evicts_oldest);
	RUN(throttle_many_keys);
	RUN(throttle_long_keys_are_cut);
	return test_summary();
}
