/* dsn: delivery status notifications (RFC 3464) — bounces and delay
 * notices — built as a whole message (RFC 3462 multipart/report) ready to
 * be queued with the null sender (RFC 5321 §4.5.5). Pure: the caller gives
 * the envelope facts, the per-recipient results and a reader of the
 * original message; the output is CRLF text. */
#ifndef MK_DSN_H
#define MK_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "lib/buf.h"

/* RET=FULL returns at most this much of the original by default; larger
 * messages are returned as headers only. */
#define DSN_FULL_MAX_DEFAULT (10 * 1024 * 1024)
/* The original's header block returned for RET=HDRS, at most. */
#define DSN_HEADERS_MAX (64 * 1024)
/* A Diagnostic-Code (remote reply) is cut at this length. */
#define DSN_DIAG_MAX 2048

/* Same bits as SMTP_NOTIFY_* (smtp/smtp_parse.h). */
#define DSN_NOTIFY_NEVER 1
#define DSN_NOTIFY_SUCCESS 2
#define DSN_NOTIFY_FAILURE 4
#define DSN_NOTIFY_DELAY 8

enum dsn_action { DSN_FAILED, DSN_DELAYED };

struct dsn_rcpt {
	const char *addr;		/* Final-Recipient (without <>) */
	const char *orcpt;		/* ORCPT "rfc822;addr" (decoded); NULL/"": none */
	unsigned notify;		/* DSN_NOTIFY_* bits; 0: not given (= FAILURE,DELAY) */
	enum dsn_action action;
	const char *status;		/* "5.1.1", "4.4.1", ... */
	const char *remote_mta;		/* host that answered; NULL: none */
	const char *diagnostic;		/* the remote reply "550 5.1.1 ..."; NULL: none */
	bool diagnostic_local;		/* diagnostic is our own text, not an SMTP reply */
	time_t last_attempt;		/* 0: never attempted */
};

/* Read up to n bytes of the original message: bytes read, 0 at end, -1 on error. */
typedef ssize_t dsn_read_fn(void *arg, char *buf, size_t n);

struct dsn_msg {
	const char *reporting_mta;	/* our host name */
	const char *sender;		/* the original envelope sender ("": null) */
	const char *envid;		/* ENVID (decoded); NULL/"": none */
	bool ret_full;			/* RET=FULL; else headers only (RET=HDRS, the default) */
	size_t full_max;		/* 0: DSN_FULL_MAX_DEFAULT */
	time_t arrival;			/* Arrival-Date */
	time_t now;			/* Date: */
	time_t retry_until;		/* Will-Retry-Until for delayed recipients */
	const char *message_id;		/* for the DSN's Message-ID, without <> */
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;
	dsn_read_fn *read;
	void *read_arg;
};

enum dsn_result {
	DSN_BUILT,	/* out holds the message */
	DSN_NONE,	/* no notification: null sender, or NOTIFY excludes everyone */
	DSN_ERROR,	/* the original could not be read (*error_r) */
};

/* Build the notification for the recipients whose NOTIFY asks for it. */
enum dsn_result dsn_build(const struct dsn_msg *m, struct buf *out,
			  const char **error_r);
/* Whether recipient r gets a notification (RFC 3461 §4.1 NOTIFY). */
bool dsn_wanted(const struct dsn_rcpt *r);
/* RFC 5322 §3.3 date-time in UTC, e.g. "Sun, 22 Nov 2026 10:00:00 +0000". */
void dsn_date(struct buf *out, time_t t);

#endif
