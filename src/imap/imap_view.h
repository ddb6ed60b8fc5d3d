/* imap_view: the selected mailbox as one session sees it (RFC 3501 §2.3.1,
 * §7.4.1; RFC 7162 CONDSTORE/QRESYNC).
 *
 * The view maps sequence numbers to UIDs and remembers up to which
 * MODSEQ it has seen the mailbox's changes. imap_view_sync asks the store
 * for everything newer and reports it: "* n EXPUNGE" (or "* VANISHED" with
 * QRESYNC) for messages gone, "* n EXISTS" for new ones, "* n FETCH
 * (FLAGS ...)" for flag changes made elsewhere. While a command that uses
 * sequence numbers runs (FETCH, STORE, SEARCH), expunges are held back,
 * because the client's numbers must stay valid (RFC 3501 §7.4.1). */
#ifndef MK_IMAP_VIEW_H
#define MK_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_seqset.h"
#include "imap/imap_session.h"

enum imap_sync_mode {
	IMAP_SYNC_ALL,		/* NOOP, IDLE, CHECK, after most commands */
	IMAP_SYNC_NO_EXPUNGE,	/* after FETCH, STORE, SEARCH (no UID) */
};

/* QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5). */
struct imap_qresync {
	bool given;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known_uids;	/* empty: all */
	bool have_known;
};

/* SELECT/EXAMINE name (store name); writes the untagged responses.
 * 1 selected, 0 no such mailbox, -1 error (*error_r). */
int imap_view_open(struct imap_session *s, const char *name, bool readonly,
		   bool condstore, const struct imap_qresync *qr,
		   const char **error_r);
/* CONDSTORE comes on implicitly (MODSEQ in FETCH/SEARCH, UNCHANGEDSINCE,
 * CHANGEDSINCE): announce HIGHESTMODSEQ the first time. */
void imap_condstore_on(struct imap_session *s);
/* Leave the selected mailbox (no responses). */
void imap_view_close(struct imap_session *s);
/* Report what changed since the view last looked. */
void imap_view_sync(struct imap_session *s, enum imap_sync_mode mode);

/* Sequence number of uid, 0 if not in the view. */
uint32_t imap_view_seq(const struct imap_view *v, uint32_t uid);
/* The UIDs a set names, ascending and without duplicates: uid_mode says
 * whether the numbers are UIDs or sequence numbers; "*" is the last.
 * The caller frees *uids_r. Sequence numbers beyond the view: -1 (BAD). */
int imap_view_resolve(const struct imap_view *v, const struct imap_seqset *set,
		      bool uid_mode, uint32_t **uids_r, size_t *n_r);
/* Whether uid was expunged by someone else and not yet reported. */
bool imap_view_expunged(const struct imap_view *v, uint32_t uid);
/* This session changed uid's flags itself (reported or .SILENT): the
 * next sync does not report that change again. */
void imap_view_own_change(struct imap_view *v, uint32_t uid, uint64_t modseq);
/* The "* FLAGS" and "* OK [PERMANENTFLAGS" lines of the selected mailbox. */
void imap_view_flags_lines(struct imap_session *s);
/* Whether uid is \Recent in this session. */
bool imap_view_is_recent(const struct imap_view *v, uint32_t uid);
/* Count of \Recent messages in the view. */
uint32_t imap_view_recent(const struct imap_view *v);
/* Append "(FLAGS (...))"-style flag list for flags + keywords. */
void imap_flags_write(struct buf *out, unsigned flags, const char *keywords,
		      bool recent);

#endif
