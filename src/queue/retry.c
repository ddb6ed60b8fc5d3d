/* retry: backoff, lifetime and delay-notice decisions (see retry.h). */
#include "queue/retry.h"

void retry_policy_default(struct retry_policy *p)
{
	p->min = RETRY_MIN_DEFAULT;
	p->max = RETRY_MAX_DEFAULT;
	p->lifetime = RETRY_LIFETIME_DEFAULT;
	p->delay_notice = RETRY_DELAY_NOTICE_DEFAULT;
}

uint64_t retry_delay(const struct retry_policy *p, unsigned attempts)
{
	uint64_t d = p->min ? p->min : 1;

	for (unsigned i = 1; i < attempts && d < p->max; i++)
		d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
	return d < p->max ? d : p->max;
}

time_t retry_expiry(const struct retry_policy *p, time_t arrival)
{
	uint64_t life = p->lifetime > (uint64_t)INT32_MAX * 16 ?
			(uint64_t)INT32_MAX * 16 : p->lifetime;

	return arrival + (time_t)life;
}

void retry_plan(const struct retry_policy *p, time_t arrival, time_t now,
		unsigned attempts, bool notice_sent, struct retry_plan *out)
{
	time_t expiry = retry_expiry(p, arrival);
	uint64_t d = retry_delay(p, attempts ? attempts : 1);

	out->delay_notice = false;
	if (now >= expiry) {
		out->decision = RETRY_GIVE_UP;
		out->next = 0;
		return;
	}
	out->decision = RETRY_AGAIN;
	out->next = (uint64_t)(expiry - now) <= d ? expiry : now + (time_t)d;
	/* RFC 3464 Action: delayed, once, when the wait got long */
	out->delay_notice = !notice_sent && p->delay_notice > 0 &&
			    (uint64_t)(now - arrival) >= p->delay_notice;
}
