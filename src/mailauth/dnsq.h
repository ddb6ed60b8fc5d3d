/* dnsq: the DNS question and answer types shared by the mail-authentication
 * evaluators (SPF, DKIM, DMARC). The evaluators do no I/O: they hand out a
 * struct dnsq and are given back a struct dnsq_answer, so unit tests feed
 * records from tables and the daemon drives them from libunbound. */
#ifndef MK_DNSQ_H
#define MK_DNSQ_H

#include <stddef.h>

/* Longest name in presentation form, without trailing dot (RFC 1035 §2.3.4
 * allows 255 octets on the wire, i.e. 253 characters of text). */
#define DNSQ_NAME_MAX 253

/* The RR type numbers themselves, so they pass straight to ub_resolve(). */
enum dnsq_type {
	DNSQ_A = 1,
	DNSQ_PTR = 12,
	DNSQ_MX = 15,
	DNSQ_TXT = 16,
	DNSQ_AAAA = 28,
	DNSQ_TLSA = 52,		/* RFC 6698: DANE (outbound, RFC 7672) */
};

/* name is text with "." between labels; SPF macros can put any other byte
 * in a label (spaces, '%', backslash), so a resolver API that parses
 * presentation format must escape them (or answer NXDOMAIN). */
struct dnsq {
	int type;			/* enum dnsq_type */
	char name[256];		/* <= DNSQ_NAME_MAX chars, no trailing dot */
};

enum dnsq_rcode {
	DNSQ_OK,	/* NOERROR with at least one record of the type */
	DNSQ_NXDOMAIN,	/* RCODE 3, "Name Error" */
	DNSQ_NODATA,	/* NOERROR but no record of the type */
	DNSQ_TEMPFAIL,	/* SERVFAIL, timeout, any other RCODE */
};

/* Records in presentation form: TXT with the character-strings of one RR
 * joined with no separator, A/AAAA as address text, MX as "pref exchange",
 * PTR as the name (a trailing dot is allowed everywhere), TLSA as
 * "USAGE SELECTOR MTYPE HEX" (RFC 6698 §2.2, lower-case hex). rr_len may be
 * NULL, then each record is a C string; with it, records may hold NUL bytes
 * (TXT can). DNSQ_OK with n == 0 is taken as DNSQ_NODATA. */
struct dnsq_answer {
	enum dnsq_rcode rcode;
	size_t n;
	char **rr;
	size_t *rr_len;
	/* The owner name of the records after CNAMEs were followed, when it
	 * is not the name asked (no trailing dot); NULL otherwise. */
	char *canon;
};

/* "A", "TXT", ... for logs ("?" for other types). */
const char *dnsq_type_name(int type);
/* "ok", "nxdomain", "nodata", "tempfail" for logs. */
const char *dnsq_rcode_name(enum dnsq_rcode rcode);

#endif
