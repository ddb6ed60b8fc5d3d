/* smtp_checks: judging incoming mail (issue: mail authentication) — SPF at
 * MAIL FROM (RFC 7208), iprev once per connection (RFC 8601 §3), DKIM over
 * the message as it streams in (RFC 6376), DMARC at the end of DATA
 * (RFC 7489). The evaluators in src/mailauth do no I/O; this module feeds
 * them DNS answers from the asynchronous resolver (src/dns) and turns
 * their verdicts into header fields, a log line and a decision. */
#ifndef MK_SMTP_CHECKS_H
#define MK_SMTP_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

struct smtp_session;
struct smtp_checks;

/* The configuration is new (start, reload): the resolver is (re)made
 * with it when next needed. */
void smtp_checks_setup(void);

/* Are checks run for this session (enabled, MX service, untrusted)? */
bool smtp_checks_wanted(const struct smtp_session *s);
/* MAIL accepted: start SPF (and iprev on the first MAIL). */
void smtp_checks_mail(struct smtp_session *s);
/* The message starts: DKIM verification and From collection. */
void smtp_checks_data_begin(struct smtp_session *s);
/* Message bytes as received (after dot-unstuffing). */
void smtp_checks_data(struct smtp_session *s, const char *p, size_t n);
/* One complete header field of the message (name: value, folded). */
void smtp_checks_header_field(struct smtp_session *s, const char *f, size_t n);
/* End of data: collect the verdicts; false when they are all in (then
 * smtp_checks_result is ready), true when the session must wait for DNS
 * (smtp_msg_checked is called once they are). */
bool smtp_checks_end(struct smtp_session *s);
/* Forget the transaction's checks (RSET, new MAIL, end of message). */
void smtp_checks_reset(struct smtp_session *s);
/* The connection is gone: also the per-connection iprev. */
void smtp_checks_free(struct smtp_session *s);

struct smtp_verdict {
	const char *reject;	/* a 5xx reply, or NULL to accept */
	bool junk;		/* deliver into Junk */
	struct buf headers;	/* Authentication-Results:, Received-SPF: */
};
/* After smtp_checks_end: the decision; headers owned by the caller. */
void smtp_checks_result(struct smtp_session *s, struct smtp_verdict *v);

#endif
