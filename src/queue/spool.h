/* spool: the durable queue — one file per message in DATA/queue/msg/ and
 * its envelope in DATA/queue/queue.db (DESIGN §5).
 *
 * A message exists once its envelope row is committed; the file is
 * fsynced before that. At start-up, files without a row (never
 * acknowledged) are removed. */
#ifndef MK_SPOOL_H
#define MK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"
#include "queue/envelope.h"

enum spool_rcpt_status {
	SPOOL_PENDING = 0,	/* local delivery to do */
	SPOOL_DELIVERED = 1,
	SPOOL_FAILED = 2,	/* permanent failure */
	SPOOL_REMOTE = 3,	/* waits for outbound delivery */
};

struct spool;

int spool_open(struct spool **sp_r, const char *data_dir, const char **error_r);
void spool_close(struct spool *sp);
/* A new unique queue id and its file, open for writing (O_EXCL). */
int spool_create(struct spool *sp, char qid[QUEUE_ID_MAX], int *fd_r,
		 const char **error_r);
/* Remove an uncommitted file. */
void spool_discard(struct spool *sp, const char *qid);
/* Path of a message file into out. */
void spool_path(struct spool *sp, const char *qid, struct buf *out);
/* The message file opened for reading, positioned at the message (past
 * the trace_len bytes of local trace): a descriptor, or -1. */
int spool_open_message(struct spool *sp, const char *qid, uint64_t trace_len);

/* Group commit: make every envelope's file durable, then insert all
 * envelopes in one transaction. ok[i] says which succeeded. */
int spool_commit(struct spool *sp, struct envelope **envs, size_t n, bool *ok,
		 const char **error_r);

/* Queue ids with local deliveries to do, oldest first (at most max). */
int spool_pending(struct spool *sp, char (*qids)[QUEUE_ID_MAX], size_t max,
		  size_t *n_r);

struct spool_rcpt {
	int64_t idx;
	char *addr;
	int status;
};

struct spool_msg {
	char qid[QUEUE_ID_MAX];
	char *sender;
	time_t created;
	char *session;
	char *headers;		/* prepended at delivery */
	bool junk;
	uint64_t trace_len;	/* the file starts with the local trace for
				 * recipient 0 (envelope.h), this long */
	struct spool_rcpt *rcpts;	/* the pending ones */
	size_t nrcpts;
};

int spool_load(struct spool *sp, const char *qid, struct spool_msg *m,
	       const char **error_r);
void spool_msg_free(struct spool_msg *m);

/* Record the outcome of a delivery batch in one transaction; it is not
 * synced (a lost record means a redelivery that the stores recognise). */
int spool_begin(struct spool *sp, const char **error_r);
int spool_set_status(struct spool *sp, const char *qid, int64_t idx,
		     int status, const char *error);
int spool_add_rcpt(struct spool *sp, const char *qid, const char *addr,
		   int status);
/* Delete the message if nothing is left to do; 1 when deleted. */
int spool_finish_if_done(struct spool *sp, const char *qid);
int spool_commit_txn(struct spool *sp, const char **error_r);
void spool_rollback(struct spool *sp);
/* Remove the file of a deleted message once its deletion is durable. */
void spool_unlink(struct spool *sp, const char *qid);
/* Make the records durable (checkpoint) and remove those files now. */
void spool_flush_removed(struct spool *sp);
/* Remove files that have no committed envelope (start-up). */
void spool_cleanup(struct spool *sp);

/* --- outbound delivery (queue/outbound.c) --- */

/* A recipient waiting for outbound delivery (status SPOOL_REMOTE). */
struct spool_remote_rcpt {
	char qid[QUEUE_ID_MAX];
	int64_t idx;
	char *addr;
	unsigned notify;	/* SMTP_NOTIFY_* bits, 0: not given */
	char *orcpt;		/* "" when not given */
	unsigned attempts;	/* outbound attempts made so far */
};

/* The message facts outbound delivery and bounces need. */
struct spool_meta {
	char *sender;
	time_t created;
	uint64_t size;
	int body;		/* enum smtp_body */
	bool smtputf8;
	int ret;		/* enum smtp_ret */
	char *envid;
	char *auth_user;	/* "" unless submitted by one of our accounts */
	bool delay_noticed;	/* the delay notice went out */
	uint64_t trace_len;	/* bytes before the message in the file */
};

/* Remote recipients with next_try <= now, by queue id then index (at most
 * max); held messages are left out (spool_admin.h). */
int spool_remote_due(struct spool *sp, time_t now, size_t max,
		     struct spool_remote_rcpt **out, size_t *n_r);
void spool_remote_free(struct spool_remote_rcpt *r, size_t n);
/* Earliest next_try of a remote recipient not held; 0 when there is none. */
time_t spool_remote_next(struct spool *sp);
int spool_meta_load(struct spool *sp, const char *qid, struct spool_meta *m,
		    const char **error_r);
void spool_meta_free(struct spool_meta *m);
/* Record an outbound attempt (inside spool_begin/spool_commit_txn). */
int spool_set_remote(struct spool *sp, const char *qid, int64_t idx,
		     int status, time_t next_try, const char *error);
/* Remember that the message's delay notice was sent (once per message). */
int spool_mark_delay_notice(struct spool *sp, const char *qid);

#endif
