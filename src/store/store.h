/* store: one account's mail store (DESIGN §5).
 *
 *   DATA/accounts/<id>/Maildir/    INBOX (cur/ new/ tmp/) and the Maildir++
 *                                  folders .Sent .Drafts .Junk .Trash .Archive
 *   DATA/accounts/<id>/index.db    mailboxes, UIDs, flags, keywords, MODSEQ,
 *                                  expunged, subscriptions, cached
 *                                  ENVELOPE/BODYSTRUCTURE, full-text index
 *
 * The message files are plain Maildir and the truth; the index can be
 * rebuilt from them (store_reindex: system flags come back from the file
 * names, keywords and subscriptions do not). Nothing in this interface
 * names the index engine, so it can later move to PostgreSQL + an object
 * store. This header is delivery (the queue process); IMAP and POP3 use
 * store_mail.h.
 *
 * Delivery is exactly-once per delivery key: the file name is derived from
 * the key, store_open reconciles files with the index, and a redelivery of a
 * known key returns 0 instead of storing a second copy. */
#ifndef MK_STORE_H
#define MK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Limits on what callers hand in (delivery keys come from the queue,
 * mailbox names later from IMAP clients). */
#define STORE_MAILBOX_NAME_MAX 200	/* bytes of a mailbox name */
#define STORE_DELIVERY_KEY_MAX 128	/* bytes of a key once file-name encoded */

/* System flags as stored in the index; the Maildir ":2," letters are
 * D F P R S T (maildir(5)); \Recent is a session property, never stored. */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,	/* S */
	STORE_FLAG_ANSWERED = 1 << 1,	/* R (replied) */
	STORE_FLAG_FLAGGED = 1 << 2,	/* F */
	STORE_FLAG_DELETED = 1 << 3,	/* T (trashed) */
	STORE_FLAG_DRAFT = 1 << 4,	/* D */
	STORE_FLAG_FORWARDED = 1 << 5,	/* P (passed): IMAP $Forwarded */
};

/* One account's store, opened by the queue process (delivery) and later
 * by the imap process. Single-threaded use per handle. */
struct store;

struct store_delivery {
	const char *mailbox;		/* "INBOX" or e.g. "Junk" (must exist) */
	const char *delivery_key;	/* unique per (queue message, account),
					   e.g. "<queueid>.<accountid>"; NULL = none */
	const char *prefix;		/* header lines to prepend (Return-Path:,
					   Delivered-To:), CRLF-terminated */
	size_t prefix_len;
	int src_fd;			/* the message source (the queue file) */
	uint64_t src_off;
	uint64_t src_len;
	const char *src_path;		/* or NULL. With no prefix and the whole
					   file as the source (src_off 0), the
					   file of this name is hard-linked into
					   the mailbox instead of copied: its data
					   must already be durable (fsynced), and
					   it must never be rewritten. A copy is
					   made where a link cannot be. */
	time_t internaldate;		/* > 0; must be the same on every
					   redelivery of a key (it is part of the
					   file name), e.g. the queue arrival time */
};

struct store_mailbox_status {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t messages;
	bool subscribed;
	const char *special_use;	/* "\\Sent" ... or NULL; static string */
};

/* Open account_id's store under data_dir; create=true makes the directories,
 * default mailboxes and index if missing (idempotent). Always reconciles. */
int store_open(struct store **st_r, const char *data_dir, int64_t account_id,
	       bool create, const char **error_r);
/* Close; deliveries not yet made durable by store_sync are abandoned. */
void store_close(struct store *st);
/* Store one message: 1 delivered, 0 already delivered earlier (uid_r is its
 * UID, or 0 if it has been expunged since), -1 error (nothing left behind).
 * Durable only after store_sync(). */
int store_deliver(struct store *st, const struct store_delivery *d,
		  uint32_t *uid_r, const char **error_r);
/* Make every store_deliver since the last sync durable (one directory fsync
 * per mailbox touched, one index commit). On -1 none of them counts as
 * delivered: the caller retries them (keyed deliveries stay exactly-once). */
int store_sync(struct store *st, const char **error_r);
/* Whether store_deliver also fills the full-text index (default: yes).
 * That is most of a delivery's CPU time (the trigram index of the
 * decoded text, about 1 ms per 4 KiB of text); off, the text rows are
 * made at the first SEARCH BODY/TEXT of the mailbox instead. ENVELOPE and
 * BODYSTRUCTURE are cached either way. */
void store_set_fts_at_delivery(struct store *st, bool on);
/* Give up to max messages that lack one their full-text rows (after
 * deliveries made with the above off; the queue calls this when idle, so
 * the index is filled soon after delivery without slowing it down).
 * *done_r says how many were indexed: fewer than max means none is left. */
int store_fts_catch_up(struct store *st, size_t max, size_t *done_r,
		       const char **error_r);
/* Rename up to max message files whose names are behind their flags
 * (store_flags.c: STORE only marks them); the IMAP process calls this
 * when idle after flag changes. *done_r: fewer than max means none is
 * left. */
int store_flag_names_catch_up(struct store *st, size_t max, size_t *done_r,
			      const char **error_r);
/* Number of messages in mailbox; -1 if it does not exist. */
int store_mailbox_count(struct store *st, const char *mailbox,
			uint64_t *messages_r);
/* UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, count and attributes of mailbox. */
int store_mailbox_status(struct store *st, const char *mailbox,
			 struct store_mailbox_status *status_r);
/* Rebuild index.db from the message files (`mailkeep reindex`); UIDs are
 * reassigned, so every UIDVALIDITY grows. No other process may have the
 * store open meanwhile. */
int store_reindex(const char *data_dir, int64_t account_id,
		  const char **error_r);

#endif
