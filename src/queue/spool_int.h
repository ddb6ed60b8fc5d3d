/* spool_int: the spool's state, shared by spool.c (delivery and outbound
 * queries) and spool_admin.c (`mailkeep queue`). Nothing else includes
 * it: no SQLite type leaves src/queue/spool*.c. */
#ifndef MK_SPOOL_INT_H
#define MK_SPOOL_INT_H

#include <sqlite3.h>
#include <stddef.h>

#include "queue/envelope.h"

struct spool {
	sqlite3 *db;
	char *dir;		/* DATA/queue/msg */
	int dirfd;
	/* Files of finished messages, unlinked once their removal from
	 * queue.db is durable (spool_flush_removed). */
	char (*removed)[QUEUE_ID_MAX];
	size_t nremoved, removed_cap;
};

#endif
