/* authpolicy: what a receiving server does with the verdicts of iprev, SPF,
 * DKIM and DMARC (issue 4 §6), and the Authentication-Results (RFC 8601)
 * and Received-SPF (RFC 7208 §9.1) fields it adds. One rule for the smtp
 * process and for `mailkeep analyze`, so both give the same decision and
 * the same header fields for the same message. Pure: no I/O.
 *
 *   struct authpolicy_input in = { ...verdicts... };
 *   const char *why;
 *   enum authpolicy_action a = authpolicy_decide(&in, &opts, &why);
 *   authpolicy_headers(&in, authserv_id, hostname, &out);
 */
#ifndef MK_AUTHPOLICY_H
#define MK_AUTHPOLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"
#include "mailauth/iprev.h"
#include "mailauth/spf.h"

/* The SMTP reply to a message refused by its DMARC policy. */
#define AUTHPOLICY_REJECT_REPLY \
	"550 5.7.1 Message rejected by the DMARC policy of the sender's domain"

enum authpolicy_action {
	AUTHPOLICY_ACCEPT,
	AUTHPOLICY_JUNK,	/* deliver into the Junk mailbox */
	AUTHPOLICY_REJECT,	/* AUTHPOLICY_REJECT_REPLY at the end of DATA */
};

/* The [checks] switches of mailkeep.conf(5). */
struct authpolicy_options {
	bool dmarc_reject;	/* DMARC fail under p=reject: refuse */
	bool junk;		/* quarantine, or SPF fail without DKIM pass: Junk */
};

/* The verdicts for one message. Without a client address (have_ip false)
 * neither iprev nor SPF ran: they are left out of the fields, and spf
 * must be SPF_NONE. */
struct authpolicy_input {
	bool have_ip;
	const char *ip;			/* the client address */
	enum iprev_result iprev;
	const char *iprev_host;		/* iprev_host(): NULL unless pass */
	enum spf_result spf;
	const char *mail_from;		/* "" or NULL: the null sender */
	const char *helo;
	const char *spf_reason;		/* spf_eval_reason() */
	const struct dkim_result *const *dkim;	/* in header order */
	size_t ndkim;			/* 0: no signature (dkim=none) */
	const struct dmarc_verdict *dmarc;	/* NULL: not evaluated */
};

/* The decision; *reason_r (may be NULL) gets a short static text. */
enum authpolicy_action authpolicy_decide(const struct authpolicy_input *in,
					 const struct authpolicy_options *o,
					 const char **reason_r);
/* "accept", "junk", "reject". */
const char *authpolicy_action_name(enum authpolicy_action a);
/* The Authentication-Results result of a DKIM status: a signature still
 * waiting for its key (no answer in time) is a temperror. */
const char *authpolicy_dkim_result(enum dkim_status st);
/* Append Authentication-Results (authserv_id) and, when SPF ran,
 * Received-SPF (receiver: our host name), folded, CRLF line ends. */
void authpolicy_headers(const struct authpolicy_input *in,
			const char *authserv_id, const char *receiver,
			struct buf *out);

#endif
