/* imap_cmd: command handlers, shared between the imap_cmd*.c files. */
#ifndef MK_IMAP_CMD_H
#define MK_IMAP_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "imap/imap_session.h"

/* A command whose output is produced in steps (imap_cmd_message.c). */
struct imap_job {
	/* Produce more output; true when done (the job is then freed). */
	bool (*step)(struct imap_session *s, struct imap_job *job);
	void (*free)(struct imap_job *job);
};

/* imap_cmd_mailbox.c */
void imap_cmd_select(struct imap_session *s, const struct imap_command *c);
void imap_cmd_create(struct imap_session *s, const struct imap_command *c);
void imap_cmd_delete(struct imap_session *s, const struct imap_command *c);
void imap_cmd_rename(struct imap_session *s, const struct imap_command *c);
void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *c);
void imap_cmd_list(struct imap_session *s, const struct imap_command *c);
void imap_cmd_status(struct imap_session *s, const struct imap_command *c);
void imap_cmd_append(struct imap_session *s, const struct imap_command *c);
void imap_cmd_quota(struct imap_session *s, const struct imap_command *c);

/* imap_cmd_message.c */
void imap_cmd_close(struct imap_session *s, const struct imap_command *c);
void imap_cmd_expunge(struct imap_session *s, const struct imap_command *c);
void imap_cmd_fetch(struct imap_session *s, const struct imap_command *c);
void imap_cmd_store(struct imap_session *s, const struct imap_command *c);
void imap_cmd_copy(struct imap_session *s, const struct imap_command *c);
void imap_cmd_search(struct imap_session *s, const struct imap_command *c);
void imap_cmd_uid(struct imap_session *s, const struct imap_command *c);
void imap_cmd_job_free(struct imap_session *s);

/* The store name of a client's mailbox argument (modified UTF-7, or UTF-8
 * after ENABLE UTF8=ACCEPT / IMAP4rev2) into out; "INBOX" in any case is
 * INBOX. -1 with *error_r for an invalid name. */
int imap_mailbox_arg(struct imap_session *s, const struct imap_arg *a,
		     struct buf *out, const char **error_r);
/* Append a store name as the client sees it (encoded and quoted). */
void imap_mailbox_write(struct imap_session *s, const char *name,
			struct buf *out);
/* Parse a flag list (or one flag atom) into store flags and keywords;
 * -1 with *error_r on anything invalid (\Recent and unknown \ flags). */
int imap_flags_parse(const struct imap_arg *a, unsigned *flags_r,
		     const char ***keywords_r, size_t *nkeywords_r,
		     const char **error_r);

#endif
