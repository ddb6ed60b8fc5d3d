/* retry: the retry schedule of the outbound queue. Exponential backoff
 * (retry_min, doubling, capped at retry_max), a message lifetime after
 * which a temporary failure becomes final (RFC 5321 §4.5.4.1: give up
 * after 4-5 days), and one delay notice (RFC 3464 Action: delayed) once a
 * message has waited delay_notice. Pure: every time is given. */
#ifndef MK_RETRY_H
#define MK_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RETRY_MIN_DEFAULT 300			/* 5 min */
#define RETRY_MAX_DEFAULT 3600			/* 1 h */
#define RETRY_LIFETIME_DEFAULT (5 * 86400)	/* 5 days */
#define RETRY_DELAY_NOTICE_DEFAULT (4 * 3600)	/* 4 h */

struct retry_policy {
	uint64_t min;		/* seconds before the 2nd attempt */
	uint64_t max;		/* longest wait between attempts */
	uint64_t lifetime;	/* seconds from arrival until a bounce */
	uint64_t delay_notice;	/* seconds from arrival until the delay notice; 0: none */
};

enum retry_decision {
	RETRY_AGAIN,		/* try again at plan.next */
	RETRY_GIVE_UP,		/* lifetime over: the failure is final (bounce) */
};

struct retry_plan {
	enum retry_decision decision;
	time_t next;		/* RETRY_AGAIN: when to try next */
	bool delay_notice;	/* send the delay notice now (once per message) */
};

/* The defaults above (the same as the config's [queue] defaults). */
void retry_policy_default(struct retry_policy *p);
/* Wait after the n-th failed attempt (n >= 1): min * 2^(n-1), at most max. */
uint64_t retry_delay(const struct retry_policy *p, unsigned attempts);
/* The moment the message's lifetime ends (DSN Will-Retry-Until). */
time_t retry_expiry(const struct retry_policy *p, time_t arrival);
/* After the attempts-th attempt (at now) failed temporarily, for a message
 * that arrived at arrival; notice_sent: a delay notice went out already.
 * The last retry is placed at the expiry moment, never after it. */
void retry_plan(const struct retry_policy *p, time_t arrival, time_t now,
		unsigned attempts, bool notice_sent, struct retry_plan *out);

#endif
