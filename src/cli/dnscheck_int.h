/* dnscheck_int: helpers shared by dnscheck.c and dnscheck_policy.c (not
 * for other users). */
#ifndef MK_DNSCHECK_INT_H
#define MK_DNSCHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mailauth/dnsq.h"

/* Record i of an answer and its length (TXT may hold NUL bytes). */
const char *dnscheck_rr(const struct dnsq_answer *a, size_t i, size_t *len);
/* Append p[n] as printable ASCII, cut at DNSCHECK_TEXT_MAX with "...". */
void dnscheck_quote(struct buf *out, const char *p, size_t n);
/* Same address, whatever its text form? */
bool dnscheck_addr_eq(const char *a, const char *b);
/* Why an answer has no records: "does not exist (NXDOMAIN)" ... */
const char *dnscheck_rcode_text(enum dnsq_rcode rc);
/* The value of tag name in a "k=v; k=v" record (v=STSv1, v=TLSRPTv1):
 * whitespace trimmed; false if absent. */
bool dnscheck_tag(const char *rec, size_t len, const char *name,
		  const char **val, size_t *vlen);
/* Does the record start with prefix (ASCII case-insensitive) followed by
 * end, ';' or blank? */
bool dnscheck_has_version(const char *rec, size_t len, const char *prefix);
/* A record line (dnsrecords' form) for a fix, indented on its own line. */
void dnscheck_fix_line(struct buf *fix, const char *name, const char *type,
		       const char *rdata);
/* The same for a TXT value. */
void dnscheck_fix_txt(struct buf *fix, const char *name, const char *value);

#endif
