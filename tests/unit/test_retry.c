/* Unit tests for src/queue/retry: backoff, lifetime, delay notice. */
#include "harness.h"

#include "queue/retry.h"

TEST(retry_backoff)
{
	struct retry_policy p;
	static const struct { unsigned n; uint64_t want; } cases[] = {
		{ 0, 300 }, { 1, 300 }, { 2, 600 }, { 3, 1200 }, { 4, 2400 },
		{ 5, 3600 }, { 6, 3600 }, { 1000, 3600 },
	};

	retry_policy_default(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INTEQ(retry_delay(&p, cases[i].n), cases[i].want);
	p.min = 60;
	p.max = 100000;
	CHECK_INTEQ(retry_delay(&p, 4), 480);
	CHECK_INTEQ(retry_delay(&p, 64), 100000);
	p.max = 30;	/* max below min: max wins */
	CHECK_INTEQ(retry_delay(&p, 1), 30);
}

TEST(retry_lifetime_and_notice)
{
	struct retry_policy p;
	struct retry_plan pl;
	const time_t t0 = 1700000000;

	retry_policy_default(&p);
	CHECK(retry_expiry(&p, t0) == t0 + 5 * 86400);

	retry_plan(&p, t0, t0 + 10, 1, false, &pl);
	CHECK_INTEQ(pl.decision, RETRY_AGAIN);
	CHECK(pl.next == t0 + 310);
	CHECK(!pl.delay_notice);

	retry_plan(&p, t0, t0 + 4 * 3600 - 1, 5, false, &pl);
	CHECK(!pl.delay_notice);
	retry_plan(&p, t0, t0 + 4 * 3600, 6, false, &pl);
	CHECK(pl.delay_notice);
	CHECK(pl.next == t0 + 4 * 3600 + 3600);
	retry_plan(&p, t0, t0 + 5 * 3600, 7, true, &pl);
	CHECK(!pl.delay_notice);	/* only once */

	/* the last try lands on the expiry moment, then the failure is final */
	retry_plan(&p, t0, t0 + 5 * 86400 - 100, 50, true, &pl);
	CHECK_INTEQ(pl.decision, RETRY_AGAIN);
	CHECK(pl.next == t0 + 5 * 86400);
	retry_plan(&p, t0, t0 + 5 * 86400, 51, true, &pl);
	CHECK_INTEQ(pl.decision, RETRY_GIVE_UP);

	p.delay_notice = 0;	/* notices off */
	retry_plan(&p, t0, t0 + 86400, 20, false, &pl);
	CHECK(!pl.delay_notice);
	p.lifetime = 0;		/* no retries at all */
	retry_plan(&p, t0, t0, 1, false, &pl);
	CHECK_INTEQ(pl.decision, RETRY_GIVE_UP);
}

int main(void)
{
	RUN(retry_backoff);
	RUN(retry_lifetime_and_notice);
	return test_summary();
}
