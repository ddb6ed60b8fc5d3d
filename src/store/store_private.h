/* store_private: the store handle and the helpers shared by the files of
 * src/store/: store.c (delivery), store_open.c (open, reconcile,
 * reindex) and the IMAP/POP3 calls of store_mail.h (store_mailbox.c,
 * store_msg.c, store_flags.c, store_copy.c, store_append.c,
 * store_search.c). Internal to src/store/. */
#ifndef MK_STORE_PRIVATE_H
#define MK_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_index.h"
#include "store/store_mail.h"
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
	bool fts_at_delivery;	/* store_set_fts_at_delivery */
	struct store_pending *pending;
	size_t npending, pending_cap;
	char **touched;		/* new/ directories to fsync at store_sync */
	size_t ntouched, touched_cap;
};

/* Every system flag the index keeps. */
#define STORE_FLAGS_ALL                                                     \
	(STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED |       \
	 STORE_FLAG_DELETED | STORE_FLAG_DRAFT | STORE_FLAG_FORWARDED)

/* UIDs collected inside a transaction, reported after it. */
struct store_uids {
	uint32_t *v;
	size_t count, cap;
};

/* File operations of one call, undone when its transaction fails. */
struct store_undo_op {
	char *from, *to;	/* renamed from -> to; from NULL: to was made */
};

struct store_undo {
	struct store_undo_op *v;
	size_t count, cap;
};

/* Keywords defined in one mailbox (at most STORE_KEYWORDS_MAX). */
struct store_kwset {
	int64_t mailbox_id;
	char **v;
	size_t count;
};

/* Start the write transaction of one call; refused while this handle has
 * an unsynced delivery batch. */
int store_txn_begin(struct store *st, const char **error_r);
/* Commit it; on failure it is rolled back. */
int store_txn_commit(struct store *st, const char **error_r);
/* The folder directory of mailbox id (its name too when name != NULL,
 * its UIDVALIDITY when uidvalidity_r != NULL): 1, 0 no such mailbox, -1. */
int store_folder_of(struct store *st, int64_t id, struct buf *dir,
		    struct buf *name, uint32_t *uidvalidity_r,
		    const char **error_r);
/* Open a message row's file read-only: its location, else a scan of the
 * folder for its base name (the location is then corrected when no
 * transaction is open). fd, or -1 with errno (ENOENT: gone). */
int store_row_open(struct store *st, int64_t mailbox_id, const char *dir,
		   const struct store_index_row *r);
/* Path of the row's file as the index has it. */
void store_row_path(struct buf *out, const char *dir,
		    const struct store_index_row *r);
/* Rename (hardlink: link) a row's file to to_path, looking for it by
 * base name if it moved: 0, or -1 with errno (ENOENT: gone). The path it
 * was found at is appended to from_r when not NULL. */
int store_row_transfer(const char *dir, const struct store_index_row *r,
		       const char *to_path, bool hardlink, struct buf *from_r);
/* A list of mailbox ids; store_mailbox_ids() fills it with all the
 * account's mailboxes (free it with store_mailbox_ids_free, also after
 * an error). */
struct store_mailbox_ids {
	int64_t *ids;
	size_t n, cap;
};
int store_mailbox_ids(struct store *st, struct store_mailbox_ids *out,
		      const char **error_r);
void store_mailbox_ids_add(struct store_mailbox_ids *ids, int64_t id);
void store_mailbox_ids_free(struct store_mailbox_ids *ids);
/* Make a unique keyless base name. */
void store_new_base(struct store *st, struct buf *out);

void store_uids_add(struct store_uids *u, uint32_t uid);
/* cb for each UID until one returns non-0; frees u. */
void store_uids_report(struct store_uids *u, int (*cb)(void *ctx, uint32_t uid),
		       void *ctx);
/* cb for each row as a struct store_msg until one returns non-0. */
int store_rows_report(const struct store_index_rows *rows, size_t from,
		      store_msg_cb *cb, void *ctx);
/* Append a copy of row r to rows. */
void store_rows_add(struct store_index_rows *rows, const struct store_index_row *r);

void store_undo_add(struct store_undo *u, const char *from, const char *to);
/* Undo the operations, newest first, and forget them. */
void store_undo_run(struct store_undo *u);
void store_undo_free(struct store_undo *u);

/* Keywords: valid atom (RFC 3501 §9 flag-keyword)? */
bool store_keyword_valid(const char *kw);
int store_kwset_load(struct store *st, int64_t mailbox_id,
		     struct store_kwset *set);
/* The mailbox's spelling of kw, defining it if new (add=true): NULL when
 * unknown (add=false) or when the mailbox has STORE_KEYWORDS_MAX. */
const char *store_kwset_get(struct store *st, struct store_kwset *set,
			    const char *kw, bool add, const char **error_r);
void store_kwset_free(struct store_kwset *set);
/* The same for a space-separated list (keywords of another mailbox). */
int store_kwset_resolve_list(struct store *st, struct store_kwset *set,
			     const char *list, struct buf *out,
			     const char **error_r);
/* Append to out (space-separated) the mailbox spellings of keywords,
 * defining new ones; -1 on an invalid keyword or too many. */
int store_kwset_resolve(struct store *st, struct store_kwset *set,
			const char *const *keywords, size_t n, struct buf *out,
			const char **error_r);

struct store_cache;
/* Compute c (structure values if structure, text cut at text_max) from the
 * file of row r in folder dir: 1, 0 the file is gone, -1 (store_msg.c). */
int store_msg_compute(struct store *st, int64_t mailbox_id, const char *dir,
		      const struct store_index_row *r, struct store_cache *c,
		      bool structure, size_t text_max, const char **error_r);
/* COPY/MOVE inside the caller's transaction (store_copy.c). */
int store_copy_locked(struct store *st, int64_t src_id, const uint32_t *uids,
		      size_t n, int64_t dst_id, bool move, uint32_t *dst_uids_r,
		      size_t *copied_r, struct store_undo *undo,
		      const char **error_r);
/* At open, under the write lock: finish a mailbox rename or delete that
 * a crash interrupted (store_mailbox.c). */
int store_mailbox_recover(struct store *st, const char **error_r);

#endif
