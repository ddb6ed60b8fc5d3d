/* spf_macro: SPF macro-string syntax and expansion (RFC 7208 §7). Pure:
 * every value comes in through struct spf_macro_ctx; %{p} needs DNS, so an
 * expansion that meets it without ctx->p set asks the caller to find it. */
#ifndef MK_SPF_MACRO_H
#define MK_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/spf_record.h"

/* What the macro letters expand to (§7.3). */
struct spf_macro_ctx {
	const char *s;		/* <sender> */
	const char *l;		/* local-part of <sender> */
	const char *o;		/* domain of <sender> */
	const char *d;		/* <domain> being checked */
	const char *i;		/* dotted IPv4 or 32 dotted IPv6 nibbles */
	const char *p;		/* validated name or "unknown"; NULL: ask */
	const char *v;		/* "in-addr" or "ip6" */
	const char *h;		/* HELO/EHLO domain */
	const char *c;		/* client IP, readable form (exp only) */
	const char *r;		/* receiving host (exp only) */
	const char *t;		/* current time, decimal seconds (exp only) */
};

/* Flags: what kind of string is expanded. */
#define SPF_MACRO_DOMAIN 0	/* domain-spec: letters slodipvh, no SP */
#define SPF_MACRO_EXP 1		/* explain-string: also c r t and SP */
#define SPF_MACRO_ANY 2		/* unknown-modifier value: any letter */

enum spf_macro_status {
	SPF_MACRO_OK,
	SPF_MACRO_ERROR,	/* syntax error or expansion too long */
	SPF_MACRO_NEED_P,	/* %{p} used and ctx->p is NULL */
};

/* Check the syntax of a macro-string; *ends_macro_r (may be NULL) tells
 * whether it ends with a macro-expand (for domain-end, §7.1). */
int spf_macro_check(const char *s, size_t len, int flags, bool *ends_macro_r,
		    const char **error_r);
/* Expand s, appending to out (at most SPF_MAX_EXPANSION bytes; out is left
 * as it was unless OK). The whole string is syntax-checked first, so
 * NEED_P means it is valid. */
enum spf_macro_status spf_macro_expand(const char *s, size_t len, int flags,
				       const struct spf_macro_ctx *ctx,
				       struct buf *out, const char **error_r);
/* The "i" (dotted/nibble), "c" (readable) and "v" values of an address;
 * i needs 64 bytes, c 46 bytes. */
void spf_macro_ip(const struct spf_ip *ip, char *i, size_t isize, char *c,
		  size_t csize, const char **v);
/* The reverse-lookup name (%{ir}.%{v}.arpa) of an address. */
void spf_macro_revname(const struct spf_ip *ip, char *out, size_t size);

#endif
