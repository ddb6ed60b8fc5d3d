/* store_reconcile: bring one mailbox's index rows in line with its files
 * (DESIGN §5: startup reconciles files and index). Internal to src/store/. */
#ifndef MK_STORE_RECONCILE_H
#define MK_STORE_RECONCILE_H

#include <stdint.h>
#include <time.h>

#include "store/store_index.h"

/* Inside the caller's write transaction: files in new/ and cur/ without a
 * row get one (UIDs in file-name order, delivery key from the name, flags
 * from ":2,"), rows without a file are expunged, stale tmp/ files removed. */
int store_reconcile_mailbox(struct store_index *ix, int64_t mailbox_id,
			    const char *dir, time_t now, const char **error_r);

#endif
