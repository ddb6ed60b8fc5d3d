/* rfc5322: address lists and dates of message headers (RFC 5322 §3.3,
 * §3.4, §4.3, §4.4), shaped for IMAP ENVELOPE (RFC 3501 §7.4.2).
 *
 * Addresses come out as IMAP address structures: a group is a start entry
 * (mailbox = group name, host NULL) and an end entry (all NULL). The parser
 * never fails; like Dovecot it keeps what it can and fills what is missing
 * with "MISSING_MAILBOX" / "MISSING_DOMAIN" (a NIL host would read as a
 * group marker to clients). A comment after a bare addr-spec becomes the
 * display name ("user@host (Real Name)"). Names stay raw: RFC 2047 words
 * are not decoded here (ENVELOPE is raw; rfc2047_decode for display).
 * Pure: no I/O. */
#ifndef MK_MAIL_RFC5322_H
#define MK_MAIL_RFC5322_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mail/mime_arena.h"

/* Addresses taken from one list; the rest is ignored. */
#define RFC5322_ADDR_MAX 10000

struct rfc5322_addr {
	const char *name;	/* display name, NULL if none */
	const char *route;	/* obsolete source route "@a,@b", or NULL */
	const char *mailbox;	/* local part, or the group name */
	const char *host;	/* domain; NULL for group start/end */
	bool invalid;		/* repaired from broken syntax */
};

struct rfc5322_addr_list {
	struct rfc5322_addr *v;
	size_t n, cap;
	struct mime_arena arena;	/* owns the strings */
};

#define RFC5322_ADDR_LIST_INIT { NULL, 0, 0, MIME_ARENA_INIT }

struct rfc5322_date {
	int year, month, day;		/* month 1-12 */
	int hour, min, sec;
	int zone;			/* minutes east of UTC */
};

/* Parse an address-list header value, appending to list (so several
 * From: fields merge as one list, as Dovecot does). */
void rfc5322_addr_parse(struct rfc5322_addr_list *list, const char *value,
			size_t len);
void rfc5322_addr_list_free(struct rfc5322_addr_list *list);
/* Parse a date-time (obsolete forms, comments, 2-digit years, named
 * zones accepted; day of week not checked): 0, or -1 if it is not one. */
int rfc5322_date_parse(const char *value, size_t len, struct rfc5322_date *d);
/* Seconds since the epoch (UTC) of a parsed date. */
int64_t rfc5322_date_to_unix(const struct rfc5322_date *d);
/* Append "Tue, 1 Jul 2003 10:52:37 +0200" for t shown in zone (minutes). */
void rfc5322_date_format(int64_t t, int zone, struct buf *out);
/* Append the IMAP date-time "01-Jul-2003 10:52:37 +0200" (RFC 3501 §9). */
void rfc5322_date_format_imap(int64_t t, int zone, struct buf *out);

#endif
