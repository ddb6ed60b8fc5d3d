/* dkim_sig: one DKIM-Signature header field parsed and checked against
 * RFC 6376 §3.5 and §6.1.1 (required tags, versions, algorithms, the i=
 * and d= relationship, h= containing From, t= and x=). */
#ifndef MK_DKIM_SIG_H
#define MK_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_tags.h"

#define DKIM_MAX_SIG_BYTES 1024		/* b= of an RSA-8192 signature */
#define DKIM_MAX_HASH_BYTES 64

struct dkim_sig {
	const char *field;		/* the whole field (not owned) */
	size_t field_len;
	size_t value_off;		/* the tag-list: after the colon */
	struct dkim_taglist tags;	/* points into field */
	enum dkim_algo algo;
	enum dkim_canon header_canon, body_canon;
	char domain[DNSQ_NAME_MAX + 1];	/* d=, lower case */
	char selector[DNSQ_NAME_MAX + 1];
	struct buf auid;		/* i= decoded, or "@" d= */
	struct dkim_span *h;		/* h= names (xmalloc'd) */
	size_t n_h;
	unsigned char bh[DKIM_MAX_HASH_BYTES];
	size_t bh_len;
	unsigned char b[DKIM_MAX_SIG_BYTES];
	size_t b_len;
	uint64_t l;			/* UINT64_MAX when absent */
	long long t, x;			/* -1 when absent */
};

/* Parse field (name "DKIM-Signature", colon, value) into s; the result's
 * d=/s=/i=/a=/b= strings are filled as far as they could be read. On
 * error: -1 with the reason, s still safe to free. */
int dkim_sig_parse(struct dkim_sig *s, const char *field, size_t len,
		   const struct dkim_limits *lim, struct dkim_result *r,
		   const char **error_r);
/* The time checks (§3.5 t=, x=) at now; -1 with a reason. */
int dkim_sig_check_time(const struct dkim_sig *s, long long now,
			long long skew, const char **error_r);
/* Append the field with the b= value (and the whitespace around it)
 * removed, as it is hashed (§3.7). */
void dkim_sig_strip_b(const struct dkim_sig *s, struct buf *out);
void dkim_sig_free(struct dkim_sig *s);

#endif
