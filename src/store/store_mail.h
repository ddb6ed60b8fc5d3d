/* store_mail: the mail store as IMAP (RFC 3501/9051 with UIDPLUS, MOVE,
 * CONDSTORE/QRESYNC, SPECIAL-USE) and POP3 see it: mailboxes, messages by
 * UID, flags and keywords, MODSEQ, expunges, copies, appends, text search.
 *
 * Model. Mailbox names are UTF-8 (the IMAP layer converts modified
 * UTF-7), '.' is the hierarchy delimiter (Maildir++: "Archive.2024" is the
 * folder directory Maildir/.Archive.2024, its name taken byte for byte),
 * "INBOX" is case-insensitive, also as the first level of a longer name
 * ("inbox.x" is "INBOX.x"). Valid names: store_name_mailbox_valid (no
 * "/", no control characters, no leading, trailing or double ".", at most
 * STORE_MAILBOX_NAME_MAX bytes).
 *
 * Every call is one transaction of its own, durable when it returns
 * (files fsynced before the index commits); another process's
 * transaction is waited for (up to STORE_INDEX_BUSY_TIMEOUT_MS). Calls
 * that change the store fail with "delivery batch open" while this handle
 * has store_deliver calls not yet synced. Callbacks run outside any transaction and may call the
 * store again; a callback returning non-0 stops the calls, and the
 * function still returns 0. Strings handed to callbacks live until the
 * callback returns. Fallible calls return -1 with a static reason in
 * *error_r. */
#ifndef MK_STORE_MAIL_H
#define MK_STORE_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"
#include "store/store.h"

/* Distinct keywords one mailbox may define (more are refused). */
#define STORE_KEYWORDS_MAX 64
/* Bytes of one keyword (an IMAP atom, RFC 3501 §9 flag-keyword). */
#define STORE_KEYWORD_LEN_MAX 100
/* Rows read per index query by the list calls (bounds their memory). */
#define STORE_LIST_CHUNK 1024
/* Messages given a text index row per transaction when a search finds
 * some without one (indexes of older versions, reconciled files). */
#define STORE_FTS_LAZY_BATCH 200

/* ---- mailboxes ---- */

struct store_mailbox_info {
	const char *name;
	const char *special_use;	/* RFC 6154 "\\Sent" ..., or NULL */
	bool subscribed;
	bool has_children;
	uint32_t uidvalidity;
};

typedef int store_mailbox_cb(void *ctx, const struct store_mailbox_info *mb);

/* Every mailbox: INBOX first, then in name (bytewise UTF-8) order. */
int store_mailbox_list(struct store *st, store_mailbox_cb *cb, void *ctx,
		       const char **error_r);
/* The subscribed names (RFC 3501 §6.3.6: they may name no mailbox),
 * INBOX first, then in name order. */
int store_subscription_list(struct store *st,
			    int (*cb)(void *ctx, const char *name), void *ctx,
			    const char **error_r);
/* CREATE (RFC 3501 §6.3.3): 1 created, 0 already exists, -1 error (invalid
 * name, unknown special_use). Missing parents are created too, as the RFC
 * says a server SHOULD ("a.b.c" makes "a" and "a.b"). special_use is an
 * RFC 6154 attribute for CREATE-SPECIAL-USE, NULL normally. Not
 * subscribed. */
int store_mailbox_create(struct store *st, const char *name,
			 const char *special_use, const char **error_r);
/* DELETE (RFC 3501 §6.3.4): 1 deleted, 0 no such mailbox, -1 error
 * (INBOX). Its files are removed; its subscription stays (§6.3.6). Its
 * inferiors stay: the name is then a level of their hierarchy only, which
 * LIST shows as \Noselect until it is created again. */
int store_mailbox_delete(struct store *st, const char *name,
			 const char **error_r);
/* RENAME (RFC 3501 §6.3.5): 1 renamed, 0 no such mailbox, -1 error (target
 * exists, target below the source, invalid name). Children move along;
 * ids, UIDVALIDITY, UIDs and flags are kept; missing parents of the
 * target are created; subscriptions of the renamed names follow them.
 * Renaming INBOX moves all its messages into a new mailbox `to` (new
 * UIDs there; expunged from INBOX, which stays) and leaves INBOX's
 * children alone. */
int store_mailbox_rename(struct store *st, const char *from, const char *to,
			 const char **error_r);
/* SUBSCRIBE / UNSUBSCRIBE: any valid name, existing or not. */
int store_mailbox_subscribe(struct store *st, const char *name,
			    bool subscribe, const char **error_r);

/* A selected mailbox. */
struct store_mailbox_state {
	int64_t id;		/* valid while the mailbox exists; a rename keeps it */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint64_t messages;
	uint64_t unseen;	/* without \Seen */
	uint64_t size;		/* sum of RFC822.SIZE (RFC 8438 STATUS=SIZE) */
	uint64_t deleted;	/* with \Deleted */
	uint32_t first_unseen_uid;	/* 0: none */
	const char *special_use;	/* static string or NULL */
};

/* SELECT / EXAMINE / STATUS by name: 1 found, 0 no such mailbox, -1 an
 * invalid name or an index error. */
int store_mailbox_open(struct store *st, const char *name,
		       struct store_mailbox_state *state_r, const char **error_r);
/* Fresh state of an id: 1, or 0 when the mailbox is gone. */
int store_mailbox_state(struct store *st, int64_t mailbox_id,
			struct store_mailbox_state *state_r,
			const char **error_r);

/* ---- messages ---- */

struct store_msg {
	uint32_t uid;
	unsigned flags;		/* enum store_flag */
	const char *keywords;	/* space-separated, or NULL */
	uint64_t modseq;
	uint64_t size;		/* RFC822.SIZE: the file's size */
	int64_t internaldate;
	int64_t savedate;	/* RFC 8514; 0: unknown (older index) */
};

typedef int store_msg_cb(void *ctx, const struct store_msg *m);

/* Messages with uid >= uid_min in UID order, read STORE_LIST_CHUNK at a
 * time (each chunk one snapshot). An id that is gone lists nothing (as do
 * store_msg_get and store_changes); the calls that change messages fail
 * with "no such mailbox" instead. */
int store_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_min,
		   store_msg_cb *cb, void *ctx, const char **error_r);
/* Just the UIDs, in order (SELECT: read from the index's key alone). One
 * snapshot: the callback must not change the store. */
int store_msg_uids(struct store *st, int64_t mailbox_id,
		   int (*cb)(void *ctx, uint32_t uid), void *ctx,
		   const char **error_r);
/* The given UIDs (ascending); UIDs that do not exist are skipped. */
int store_msg_get(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		  size_t n, store_msg_cb *cb, void *ctx, const char **error_r);
/* RFC 7162: cb for every message with modseq > since (new or changed),
 * then expunged_cb (may be NULL) for every UID expunged with modseq >
 * since; each in ascending UID order. */
int store_changes(struct store *st, int64_t mailbox_id, uint64_t since,
		  store_msg_cb *cb, int (*expunged_cb)(void *ctx, uint32_t uid),
		  void *ctx, const char **error_r);

/* The message file, read-only (O_CLOEXEC), and its size: 1, or 0 when
 * the message is gone (expunged meanwhile). */
int store_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid,
		   int *fd_r, uint64_t *size_r, const char **error_r);
/* ENVELOPE, BODY and BODYSTRUCTURE appended to the bufs (any may be NULL),
 * without the outer parentheses; computed and saved if the index lacks
 * them. 1, or 0 when the message is gone. */
int store_msg_cached(struct store *st, int64_t mailbox_id, uint32_t uid,
		     struct buf *envelope, struct buf *body,
		     struct buf *bodystructure, const char **error_r);

/* The cached values of the messages with first <= uid <= last, in UID
 * order (one index query: FETCH of many ENVELOPEs); values missing in
 * older rows are computed and saved first. */
typedef int store_cached_cb(void *ctx, uint32_t uid, const char *envelope,
			    const char *body, const char *bodystructure);
int store_msg_cached_range(struct store *st, int64_t mailbox_id, uint32_t first,
			   uint32_t last, store_cached_cb *cb, void *ctx,
			   const char **error_r);

enum store_flags_mode {
	STORE_FLAGS_REPLACE,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};

struct store_flags_change {
	enum store_flags_mode mode;
	unsigned flags;			/* enum store_flag */
	const char *const *keywords;	/* atoms, case-insensitive */
	size_t nkeywords;
	uint64_t unchangedsince;	/* 0: no condition (RFC 7162 §3.1.3) */
};

/* STORE: apply ch to uids (ascending; missing UIDs skipped). cb (may be
 * NULL) gets each message whose flags or keywords changed, with the new
 * values and MODSEQ; failed_cb (may be NULL) each UID refused because its
 * modseq > unchangedsince. A message that does not change keeps its
 * MODSEQ. -1 (nothing changed) for an invalid keyword or when the
 * mailbox would define more than STORE_KEYWORDS_MAX keywords. The file's
 * ":2,FLAGS" suffix follows the system flags (so a reindex keeps them). */
int store_msg_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		    size_t n, const struct store_flags_change *ch,
		    store_msg_cb *cb, int (*failed_cb)(void *ctx, uint32_t uid),
		    void *ctx, const char **error_r);
/* Keywords defined in the mailbox (FLAGS / PERMANENTFLAGS), in the order
 * they were first used. */
int store_keywords(struct store *st, int64_t mailbox_id,
		   int (*cb)(void *ctx, const char *kw), void *ctx,
		   const char **error_r);
/* EXPUNGE / UID EXPUNGE of uids (ascending; the IMAP layer chose them):
 * rows move to expunged with a new MODSEQ each, text rows and files go.
 * cb (may be NULL) per UID expunged. */
int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids,
		  size_t n, int (*cb)(void *ctx, uint32_t uid), void *ctx,
		  const char **error_r);
/* COPY / MOVE (RFC 4315 COPYUID, RFC 6851) of uids (ascending) into dst,
 * one transaction, keeping flags, keywords, internal date and cached
 * values (the file is hard-linked, or copied when that fails).
 * dst_uids_r[i] (caller array of n) is the new UID of uids[i], 0 if it
 * did not exist; *copied_r how many did. move=true expunges them from
 * src (the file is renamed). dst may be src. */
int store_copy(struct store *st, int64_t src_id, const uint32_t *uids, size_t n,
	       int64_t dst_id, bool move, uint32_t *dst_uids_r,
	       size_t *copied_r, uint32_t *dst_uidvalidity_r,
	       const char **error_r);

/* ---- APPEND: stream into a temporary file, then commit it ---- */

struct store_append;

struct store_append *store_append_begin(struct store *st, const char **error_r);
int store_append_write(struct store_append *a, const void *data, size_t len,
		       const char **error_r);
/* Durable on return; *uid_r and *uidvalidity_r for APPENDUID (RFC 4315).
 * Keywords as in store_flags_change; internaldate 0 = now. Frees a,
 * whatever the result. */
int store_append_finish(struct store_append *a, int64_t mailbox_id,
			unsigned flags, const char *const *keywords,
			size_t nkeywords, time_t internaldate, uint32_t *uid_r,
			uint32_t *uidvalidity_r, const char **error_r);
/* Drop the temporary file and free a. */
void store_append_abort(struct store_append *a);

/* ---- SEARCH BODY / TEXT (RFC 3501 §6.4.4) ---- */

enum store_search_what {
	STORE_SEARCH_BODY,	/* the decoded text parts */
	STORE_SEARCH_TEXT,	/* the decoded header fields or the body */
};

/* cb(uid), ascending, for every message of the mailbox whose text holds
 * needle[0..len) (UTF-8, case-insensitive as the index folds: Unicode
 * simple case folding, "É" matches "é"). Needles of 3 characters or more
 * use the index, shorter ones scan the stored text. */
int store_search_text(struct store *st, int64_t mailbox_id,
		      enum store_search_what what, const char *needle,
		      size_t len, int (*cb)(void *ctx, uint32_t uid), void *ctx,
		      const char **error_r);

/* A value that changes whenever any process (or this handle) committed a
 * change to this account's index: cheap, for IDLE and NOOP. */
uint64_t store_change_counter(struct store *st);

#endif
