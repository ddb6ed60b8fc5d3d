/* throttle: failed-login counters per key (a client address, an account
 * name) for the auth process's delays and blocks (DESIGN §4, §8).
 *
 * A failure counts while less than `window` seconds have passed since the
 * key's last failure; so a key stays blocked until it has been quiet for a
 * whole window. From delay_after failures on, replies are delayed by
 * 1, 2, 4, ... seconds, at most THROTTLE_DELAY_MAX; from block_after on,
 * attempts are refused unchecked. Pure: the caller passes the time (in
 * seconds, monotonic) and does the waiting. Bounded: at most max_entries
 * keys; adding one more forgets the key whose last failure is oldest. */
#ifndef MK_THROTTLE_H
#define MK_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define THROTTLE_DELAY_MAX 15		/* seconds: cap of the doubling delay */
#define THROTTLE_MAX_ENTRIES 10000	/* default table bound */
#define THROTTLE_KEY_MAX 255		/* bytes of a key; longer ones are cut */

struct throttle_config {
	unsigned delay_after;	/* failures before replies are delayed */
	unsigned block_after;	/* failures before attempts are refused */
	uint64_t window;	/* seconds */
	size_t max_entries;	/* table bound (fixed at throttle_new) */
};

struct throttle;

/* seed makes the hash unpredictable to clients choosing the keys. */
struct throttle *throttle_new(const struct throttle_config *cfg, uint64_t seed);
void throttle_free(struct throttle *t);
/* New thresholds and window (on reload); the counts are kept. */
void throttle_set_config(struct throttle *t, const struct throttle_config *cfg);
/* Count one failure of key at time now. */
void throttle_fail(struct throttle *t, const char *key, uint64_t now);
/* Forget key (a successful login). */
void throttle_clear(struct throttle *t, const char *key);
/* Failures of key that still count at now. */
unsigned throttle_failures(const struct throttle *t, const char *key,
			   uint64_t now);
/* Seconds to delay a reply concerning key (0: none). */
unsigned throttle_delay(const struct throttle *t, const char *key, uint64_t now);
/* Is key over block_after: refuse without checking the password? */
bool throttle_blocked(const struct throttle *t, const char *key, uint64_t now);
/* Keys in the table (expired ones included until they are reused). */
size_t throttle_size(const struct throttle *t);

#endif
