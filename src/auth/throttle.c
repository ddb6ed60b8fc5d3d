/* throttle: a bounded hash table of failure counters with a list in order
 * of last failure (oldest first), so eviction and expiry are O(1). */
#include "auth/throttle.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

struct entry {
	struct entry *next;		/* hash chain */
	struct entry *older, *newer;	/* list by last failure */
	uint64_t last;			/* time of the last failure */
	unsigned count;
	char key[];
};

struct throttle {
	struct throttle_config cfg;
	uint64_t seed;
	struct entry **buckets;
	size_t nbuckets;		/* a power of two */
	size_t size;
	struct entry *oldest, *newest;
};

/* FNV-1a over the seed and the key. */
static size_t key_hash(const struct throttle *t, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	return (size_t)h & (t->nbuckets - 1);
}

struct throttle *throttle_new(const struct throttle_config *cfg, uint64_t seed)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	t->cfg = *cfg;
	if (t->cfg.max_entries == 0)
		t->cfg.max_entries = THROTTLE_MAX_ENTRIES;
	t->seed = seed;
	t->nbuckets = 16;
	while (t->nbuckets < t->cfg.max_entries)
		t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

void throttle_free(struct throttle *t)
{
	struct entry *e, *next;

	if (t == NULL)
		return;
	for (e = t->oldest; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	free(t->buckets);
	free(t);
}

void throttle_set_config(struct throttle *t, const struct throttle_config *cfg)
{
	size_t max = t->cfg.max_entries;

	t->cfg = *cfg;
	t->cfg.max_entries = max;
}

/* Keys longer than THROTTLE_KEY_MAX are compared by their first bytes. */
static void key_cut(const char *key, char out[THROTTLE_KEY_MAX + 1])
{
	size_t n = strnlen(key, THROTTLE_KEY_MAX);

	memcpy(out, key, n);
	out[n] = '\0';
}

static struct entry *find(const struct throttle *t, const char *key)
{
	struct entry *e = t->buckets[key_hash(t, key)];

	while (e != NULL && strcmp(e->key, key) != 0)
		e = e->next;
	return e;
}

static void list_unlink(struct throttle *t, struct entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void list_append(struct throttle *t, struct entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void remove_entry(struct throttle *t, struct entry *e)
{
	struct entry **pp = &t->buckets[key_hash(t, e->key)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	list_unlink(t, e);
	t->size--;
	free(e);
}

static bool expired(const struct throttle *t, const struct entry *e,
		    uint64_t now)
{
	return now >= e->last && now - e->last >= t->cfg.window;
}

/* Drop expired keys from the old end, then the oldest while full. */
static void make_room(struct throttle *t, uint64_t now)
{
	while (t->oldest != NULL && expired(t, t->oldest, now))
		remove_entry(t, t->oldest);
	while (t->size >= t->cfg.max_entries && t->oldest != NULL)
		remove_entry(t, t->oldest);
}

void throttle_fail(struct throttle *t, const char *key, uint64_t now)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry *e;
	size_t n;

	key_cut(key, k);
	e = find(t, k);
	if (e == NULL) {
		make_room(t, now);
		n = strlen(k);
		e = xcalloc(1, sizeof(*e) + n + 1);
		memcpy(e->key, k, n + 1);
		e->next = t->buckets[key_hash(t, k)];
		t->buckets[key_hash(t, k)] = e;
		t->size++;
	} else {
		list_unlink(t, e);
		if (expired(t, e, now))
			e->count = 0;
	}
	if (e->count < UINT32_MAX)
		e->count++;
	e->last = now;
	list_append(t, e);
}

void throttle_clear(struct throttle *t, const char *key)
{
	char k[THROTTLE_KEY_MAX + 1];
	struct entry *e;

	key_cut(key, k);
	e = find(t, k);
	if (e != NULL)
		remove_entry(t, e);
}

unsigned throttle_failures(const struct throttle *t, const char *key,
			   uint64_t now)
{
	char k[THROTTLE_KEY_MAX + 1];
	const struct entry *e;

	key_cut(key, k);
	e = find(t, k);
	return e == NULL || expired(t, e, now) ? 0 : e->count;
}

unsigned throttle_delay(const struct throttle *t, const char *key, uint64_t now)
{
	unsigned n = throttle_failures(t, key, now), over;

	if (n == 0 || n < t->cfg.delay_after)
		return 0;
	over = n - t->cfg.delay_after;
	if (over >= 16 || (1u << over) > THROTTLE_DELAY_MAX)
		return THROTTLE_DELAY_MAX;
	return 1u << over;
}

bool throttle_blocked(const struct throttle *t, const char *key, uint64_t now)
{
	unsigned n = throttle_failures(t, key, now);

	return n > 0 && n >= t->cfg.block_after;
}

size_t throttle_size(const struct throttle *t)
{
	return t->size;
}
