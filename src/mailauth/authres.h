/* authres: the Authentication-Results header field (RFC 8601) and
 * Received-SPF (RFC 7208 §9.1) built from the verdicts of spf.h, dmarc.h,
 * iprev.h and the DKIM verifier; and the check that finds incoming
 * Authentication-Results fields that claim our authserv-id (§5), which the
 * receiver must delete as forgeries.
 *
 *   struct authres *ar = authres_new("mx.example.org");
 *   authres_add_iprev(ar, IPREV_PASS, "192.0.2.1", "mail.example.com");
 *   authres_add_spf(ar, &spf);  authres_add_dkim(ar, &sig);
 *   authres_add_dmarc(ar, dmarc_eval_verdict(e));
 *   authres_format(ar, &out);   ->  "Authentication-Results: mx...;\r\n\t..."
 *   authres_free(ar);
 *
 * Values from the message or the network (domains, selectors, comments)
 * are quoted per §2.2 where they are no token, and control characters are
 * replaced, so no input can end the field or add one. */
#ifndef MK_AUTHRES_H
#define MK_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/dmarc.h"
#include "mailauth/iprev.h"
#include "mailauth/spf.h"

/* Longer comments (reasons) are cut to this many characters. */
#define AUTHRES_MAX_COMMENT 200
/* Lines are folded before this column where a break is possible. */
#define AUTHRES_FOLD_COLUMN 78
/* header.b: the first characters of the signature (RFC 6008 §4). */
#define AUTHRES_HEADER_B_LEN 8

struct authres_spf {
	enum spf_result result;
	const char *ip;			/* client-ip (Received-SPF) */
	const char *mail_from;		/* NULL or "": null sender, HELO checked */
	const char *helo;
	const char *comment;		/* e.g. spf_eval_reason(); NULL: none */
};

struct authres_dkim {
	const char *result;	/* §2.7.1: none pass fail policy neutral
				 * temperror permerror (others: permerror) */
	const char *d, *i, *s;	/* header.d= header.i= header.s=; NULL: omit */
	const char *a;		/* header.a= (algorithm); NULL: omit */
	const char *b;		/* the b= tag value (whitespace ignored); NULL: omit */
	const char *comment;	/* e.g. "2048-bit key"; NULL: none */
};

struct authres;

struct authres *authres_new(const char *authserv_id);
/* spf=RESULT (comment) smtp.mailfrom=... or smtp.helo=... (§2.7.2). */
void authres_add_spf(struct authres *ar, const struct authres_spf *spf);
/* dkim=RESULT (comment) header.d= header.i= header.s= header.a= header.b= (§2.7.1). */
void authres_add_dkim(struct authres *ar, const struct authres_dkim *dkim);
/* dmarc=RESULT (p=REJECT sp=NONE dis=NONE) header.from= policy.dmarc= (RFC 7489 §11.2). */
void authres_add_dmarc(struct authres *ar, const struct dmarc_verdict *v);
/* iprev=RESULT (host) policy.iprev=IP (§2.7.3, §3). */
void authres_add_iprev(struct authres *ar, enum iprev_result r,
		       const char *ip, const char *host);
/* Append the whole folded field, name to final CRLF ("; none" if empty). */
void authres_format(const struct authres *ar, struct buf *out);
void authres_free(struct authres *ar);

/* Append a whole folded Received-SPF field (RFC 7208 §9.1) to out;
 * receiver is our host name (receiver= and the comment). */
void authres_received_spf(const struct authres_spf *spf, const char *receiver,
			  struct buf *out);

/* Is this header field (name, colon, value; folding allowed) an
 * Authentication-Results field whose authserv-id is ours (RFC 8601 §5)?
 * The ids compare ASCII case-insensitively, a trailing dot ignored. */
bool authres_is_ours(const char *field, size_t len, const char *authserv_id);

#endif
