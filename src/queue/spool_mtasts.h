/* spool_mtasts: the MTA-STS policy cache in queue.db (RFC 8461 §5.1):
 * per domain the policy text as fetched, its id and its expiry. */
#ifndef MK_SPOOL_MTASTS_H
#define MK_SPOOL_MTASTS_H

#include <stdint.h>
#include <time.h>

#include "lib/buf.h"
#include "smtp/mtasts_policy.h"

struct spool;

struct spool_mtasts {
	char id[MTASTS_ID_MAX + 1];
	struct buf policy;		/* the policy file as fetched */
	time_t fetched, expires;
};

/* The cached entry of domain (lower case): 1 found, 0 none, -1 error. */
int spool_mtasts_get(struct spool *sp, const char *domain,
		     struct spool_mtasts *out);
/* Store (replace) the entry of domain; -1 with a reason on error. */
int spool_mtasts_put(struct spool *sp, const char *domain,
		     const struct spool_mtasts *e, const char **error_r);
void spool_mtasts_free(struct spool_mtasts *e);

#endif
