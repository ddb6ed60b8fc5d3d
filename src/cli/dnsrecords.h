/* dnsrecords: the DNS records a mailkeep domain needs, as zone-file text
 * (issue 6 §2), and the single record values `dns check` compares with.
 *
 * Pure: the caller gathers the facts (configuration, public addresses,
 * the DKIM key records made from the private key files) into a struct
 * dnsrec_host and one struct dnsrec_domain per domain; these functions
 * append text to a buf. Every record line is absolute ("name. TTL IN TYPE
 * rdata") and preceded by one "; comment" line saying what it is for, so
 * the output loads into an authoritative server as it is. */
#ifndef MK_DNSRECORDS_H
#define MK_DNSRECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define DNSREC_TTL 3600			/* seconds, every record */
#define DNSREC_MX_PREF 10
#define DNSREC_MAX_ADDRS 16		/* public addresses used; more ignored */
#define DNSREC_STS_MAX_AGE_TESTING 86400u	/* RFC 8461 §3.2 max_age */
#define DNSREC_STS_MAX_AGE_ENFORCE 1209600u	/* two weeks */
#define DNSREC_STS_ID_LEN 20		/* hex digits of the policy id (<= 32) */
#define DNSREC_REVERSE_MAX 74		/* longest PTR owner name + NUL (IPv6) */

enum dnsrec_dmarc { DNSREC_DMARC_NONE, DNSREC_DMARC_QUARANTINE,
		    DNSREC_DMARC_REJECT };
enum dnsrec_sts { DNSREC_STS_OFF, DNSREC_STS_TESTING, DNSREC_STS_ENFORCE };

/* Client service records of RFC 6186 (and RFC 8314 §5.1 _submissions). */
enum dnsrec_srv {
	DNSREC_SRV_SUBMISSION,
	DNSREC_SRV_SUBMISSIONS,
	DNSREC_SRV_IMAP,
	DNSREC_SRV_IMAPS,
	DNSREC_SRV_POP3,
	DNSREC_SRV_POP3S,
	DNSREC_SRV_COUNT
};

/* One DKIM key of the domain: record is "v=DKIM1; k=...; p=..." made from
 * the private key, or NULL when the key file could not be read (note says
 * why; the record is then left out with a comment). */
struct dnsrec_dkim {
	const char *selector;
	const char *record;
	const char *note;
};

/* The mail host: its name (the SMTP banner name) and public addresses. */
struct dnsrec_host {
	const char *hostname;
	const char *const *addrs;	/* IPv4 / IPv6 text */
	size_t naddrs;
	bool helo_spf;		/* publish "v=spf1 a -all" at the host name */
};

struct dnsrec_domain {
	const char *domain;
	const char *hostname;		/* the MX target */
	const char *const *addrs;
	size_t naddrs;
	const struct dnsrec_dkim *dkim;
	size_t ndkim;
	enum dnsrec_dmarc dmarc_policy;
	const char *dmarc_rua;		/* mailbox for aggregate reports, or NULL */
	enum dnsrec_sts mta_sts;
	const char *tls_rpt_rua;	/* mailbox for TLS reports, or NULL */
	unsigned srv_port[DNSREC_SRV_COUNT];	/* 0: service not offered */
};

/* Append the mail host's records: A/AAAA, HELO SPF, the PTR requests. */
void dnsrec_host_text(const struct dnsrec_host *h, struct buf *out);
/* Append every record of one domain (MX, SPF, DKIM, DMARC, TLS-RPT,
 * MTA-STS with its policy file as comments, SRV). */
void dnsrec_domain_text(const struct dnsrec_domain *d, struct buf *out);

/* The values themselves (appended to out), for `dns check` and its fixes. */
void dnsrec_spf(const struct dnsrec_domain *d, struct buf *out);
void dnsrec_dmarc_value(const struct dnsrec_domain *d, struct buf *out);
void dnsrec_tls_rpt_value(const struct dnsrec_domain *d, struct buf *out);
/* The MTA-STS policy file (RFC 8461 §3.2), lines ending in CRLF. */
void dnsrec_sts_policy(const struct dnsrec_domain *d, struct buf *out);
/* "v=STSv1; id=..." where id is a digest of the policy: it changes
 * exactly when the policy does (RFC 8461 §3.1). */
void dnsrec_sts_txt(const struct dnsrec_domain *d, struct buf *out);
/* A TXT RDATA as quoted character-strings of at most 255 octets, the
 * p= tag of a DKIM record starting a string of its own. */
void dnsrec_txt_rdata(const char *value, struct buf *out);
/* "name. TTL IN TYPE rdata\n" (the name made absolute). */
void dnsrec_line(struct buf *out, const char *name, const char *type,
		 const char *rdata);

/* The reverse-lookup name ("4.3.2.1.in-addr.arpa", nibbles under
 * ip6.arpa) of an address, without the final dot; -1 if not an address. */
int dnsrec_reverse_name(const char *ip, char out[DNSREC_REVERSE_MAX]);
/* Is host the domain itself or a name below it (case-insensitive)? */
bool dnsrec_host_in_domain(const char *host, const char *domain);
/* Is ip a global unicast address a server can be reached at from the
 * Internet (not loopback, RFC 1918, RFC 6598, link-local, ULA,
 * documentation, multicast)? false for text that is not an address. */
bool dnsrec_addr_is_public(const char *ip);
/* "_imaps._tcp" ... */
const char *dnsrec_srv_name(enum dnsrec_srv s);
/* "none" "quarantine" "reject"; "off" "testing" "enforce". */
const char *dnsrec_dmarc_name(enum dnsrec_dmarc p);
const char *dnsrec_sts_name(enum dnsrec_sts m);

#endif
