/* envelope: what the smtp process hands the queue with a message — the
 * SMTP envelope (RFC 5321), DSN parameters (RFC 3461) and the facts about
 * the session that logs and later checks need. Packed for MSG_QUEUE_COMMIT. */
#ifndef MK_ENVELOPE_H
#define MK_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define QUEUE_ID_MAX 32

struct envelope_rcpt {
	char *addr;		/* as given at RCPT, without <> */
	uint32_t notify;	/* SMTP_NOTIFY_* bits, 0 = not given */
	char *orcpt;		/* "rfc822;addr" or "" */
};

struct envelope {
	char qid[QUEUE_ID_MAX];
	char *sender;		/* "" for the null reverse-path */
	uint32_t body;		/* enum smtp_body */
	uint32_t smtputf8;
	uint32_t ret;		/* enum smtp_ret */
	char *envid;
	char *client_ip;
	char *helo;
	char *session;
	char *auth_user;	/* "" when not authenticated; else the account
				 * address that submitted it (587/465): the
				 * queue DKIM-signs such mail when it sends */
	char *headers;		/* header fields to prepend at delivery
				 * (Authentication-Results:, ...), CRLF-ended */
	uint32_t junk;		/* deliver into the Junk mailbox */
	uint64_t trace_len;	/* the queue file starts with this many bytes
				 * of envelope_local_trace() for rcpts[0]
				 * (0: it starts with the message) */
	struct envelope_rcpt *rcpts;
	size_t nrcpts;
};

/* The header fields local delivery puts above the message for one
 * recipient: Return-Path (RFC 5322 §3.6.7), Delivered-To, then headers
 * (the verdict fields). The smtp process writes them at the top of the
 * queue file of a message for one local recipient, so that delivery can
 * hard-link the file into the mailbox instead of copying it; delivery
 * writes them itself in front of a copy in every other case. */
void envelope_local_trace(struct buf *out, const char *sender,
			  const char *rcpt, const char *headers);
void envelope_add_rcpt(struct envelope *e, const char *addr, uint32_t notify,
		       const char *orcpt);
void envelope_pack(const struct envelope *e, struct buf *out);
/* -1 when the payload is malformed. */
int envelope_unpack(struct envelope *e, const uint8_t *data, size_t len);
void envelope_free(struct envelope *e);

#endif
