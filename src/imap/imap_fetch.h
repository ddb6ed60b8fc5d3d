/* imap_fetch: FETCH and UID FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5,
 * RFC 3516 BINARY, RFC 7162 CHANGEDSINCE/VANISHED).
 *
 * The items are parsed once; the messages are then answered in batches
 * as a session job, so a FETCH of thousands of bodies never holds more
 * than one batch of output in memory. ENVELOPE, BODY and BODYSTRUCTURE
 * come from the store's cache; a message file is read only for body
 * sections (and RFC822*, BINARY*). */
#ifndef MK_IMAP_FETCH_H
#define MK_IMAP_FETCH_H

#include <stdbool.h>

#include "imap/imap_parser.h"
#include "imap/imap_session.h"

void imap_fetch_run(struct imap_session *s, const struct imap_command *c,
		    const struct imap_arg *args, unsigned count, bool uid);

/* imap_cmd_search.c */
void imap_search_run(struct imap_session *s, const struct imap_command *c,
		     const struct imap_arg *args, unsigned count, bool uid);

/* imap_cmd_message.c */
int imap_set_arg(struct imap_session *s, const struct imap_arg *a, bool uid,
		 uint32_t **uids_r, size_t *n_r, const char **why);
void imap_copy_reply(struct imap_session *s, const char *tag, bool move,
		     const uint32_t *uids, const uint32_t *new_uids, size_t n,
		     size_t copied, uint32_t uidvalidity);

#endif
