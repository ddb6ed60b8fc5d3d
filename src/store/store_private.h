/* store_private: the store handle, shared by store.c (delivery) and
 * store_open.c (open, reconcile, reindex). Internal to src/store/. */
#ifndef MK_STORE_PRIVATE_H
#define MK_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_index.h"
#include "store/store_name.h"

/* A message file of the open batch. */
struct store_pending {
	char *path;		/* .../new/<name>; NULL: adopted, not ours */
	char *tmp;		/* .../tmp/<name> until store_sync renames it */
	bool keyed;
};

struct store {
	int64_t account_id;
	char *root;		/* DATA/accounts/<id> */
	char *maildir;		/* root/Maildir (INBOX) */
	char host[STORE_NAME_HOST_MAX + 1];
	struct store_index ix;
	unsigned counter;	/* makes keyless names unique in this process */
	bool failed;		/* the batch was rolled back: store_sync fails */
	struct store_pending *pending;
	size_t npending, pending_cap;
	char **touched;		/* new/ directories to fsync at store_sync */
	size_t ntouched, touched_cap;
};

#endif
