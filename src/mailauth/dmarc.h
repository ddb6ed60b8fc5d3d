/* dmarc: Domain-based Message Authentication, Reporting and Conformance
 * (RFC 7489) as pure functions and a resumable evaluator that does no I/O.
 *
 *   struct dmarc_from from = { 0 };
 *   dmarc_from_parse(from_value, len, &from, &error);     (each From field)
 *   struct dmarc_eval *e = dmarc_eval_new(&in);            (domains, SPF, DKIM)
 *   struct dnsq q;
 *   while (dmarc_eval_step(e, &q) == DMARC_NEED_DNS)
 *           dmarc_eval_answer(e, resolve(&q));
 *   const struct dmarc_verdict *v = dmarc_eval_verdict(e);
 *   ... authres_add_dmarc(ar, v); v->disposition decides
 *   dmarc_eval_free(e);
 *
 * The organisational domain (§3.2) is the registrable domain of the
 * public suffix list, through libpsl. Extensions beyond RFC 7489: the
 * np= tag of RFC 9091 §4.1 (policy for non-existent subdomains), which
 * DMARCbis keeps. DMARCbis' DNS tree walk is not used. */
#ifndef MK_DMARC_H
#define MK_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dnsq.h"
#include "mailauth/spf.h"

/* Input bounds (limits on untrusted input). */
#define DMARC_MAX_RECORD_LEN 2048	/* longer TXT records are not DMARC */
#define DMARC_MAX_URIS 8		/* rua=/ruf= URIs kept; more ignored */
#define DMARC_MAX_URI_LEN 512		/* a longer URI is invalid */
#define DMARC_FROM_MAX 16		/* mailboxes in all From fields */
#define DMARC_MAX_AUTHOR_DOMAINS 8	/* distinct From domains evaluated */
#define DMARC_DOMAIN_BUF (DNSQ_NAME_MAX + 1)

enum dmarc_result {
	DMARC_NONE,		/* no policy record: DMARC not applied */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,	/* DNS error fetching the policy */
	DMARC_PERMERROR,	/* no usable From domain, too many domains */
	DMARC_NEED_DNS,		/* not a result: dmarc_eval_step() wants DNS */
};

enum dmarc_policy {
	DMARC_POLICY_UNSET,	/* tag absent or invalid */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED,	/* same organisational domain (§3.1) */
	DMARC_ALIGN_STRICT,	/* same domain */
};

/* fo= failure reporting options (§6.3) as bits. */
#define DMARC_FO_0 0x1
#define DMARC_FO_1 0x2
#define DMARC_FO_D 0x4
#define DMARC_FO_S 0x8

/* Outcome of parsing one TXT record (§6.3, §6.6.3). */
enum dmarc_parse {
	DMARC_REC_OK,		/* a policy record with a valid p= (and sp=) */
	DMARC_REC_NO_POLICY,	/* v=DMARC1, but p= missing/invalid or sp=
				 * invalid: §6.6.3 step 6 applies */
	DMARC_REC_NOT_DMARC,	/* does not start with v=DMARC1: discarded */
};

struct dmarc_record {
	enum dmarc_policy p, sp, np;	/* sp: p when absent; np: sp when absent */
	bool sp_given, np_given;
	enum dmarc_align adkim, aspf;
	unsigned pct;			/* 0..100, default 100 */
	unsigned fo;			/* DMARC_FO_*, default DMARC_FO_0 */
	uint32_t ri;			/* seconds, default 86400 */
	size_t nrua, nruf;		/* valid URIs kept, at most DMARC_MAX_URIS */
	char *rua[DMARC_MAX_URIS];
	char *ruf[DMARC_MAX_URIS];
};

/* Parse a DMARC TXT record (the character-strings joined). Unknown tags
 * and invalid values of optional tags are ignored (defaults apply, §6.3).
 * *error_r says why for NOT_DMARC and NO_POLICY, else the first ignored
 * problem or NULL. Free rec with dmarc_record_clear() in every case. */
enum dmarc_parse dmarc_record_parse(const char *txt, size_t len,
				    struct dmarc_record *rec,
				    const char **error_r);
void dmarc_record_clear(struct dmarc_record *rec);
/* "none" "quarantine" "reject" ("unset" for DMARC_POLICY_UNSET). */
const char *dmarc_policy_name(enum dmarc_policy p);

/* The domains of the mailboxes of From fields (RFC 5322 §3.6.2, with
 * groups per RFC 6854), lower-cased, without a trailing dot. */
struct dmarc_from {
	size_t n;
	char domain[DMARC_FROM_MAX][DMARC_DOMAIN_BUF];
};
/* Append the domains of one raw From field value (folding allowed;
 * display names, comments, quoted strings, groups, encoded words, obsolete
 * routes). -1 with *error_r on a syntax error, a mailbox without a domain,
 * a domain literal or more than DMARC_FROM_MAX mailboxes in all. */
int dmarc_from_parse(const char *value, size_t len, struct dmarc_from *out,
		     const char **error_r);

/* Use the public suffix list of file (libpsl's .dafsa or .dat form; NULL:
 * the newer of libpsl's built-in list and the distribution's file). Call
 * before sandboxing; otherwise the first use loads the default. */
int dmarc_psl_load(const char *file, const char **error_r);
/* The organisational domain (§3.2, the registrable domain) of a domain
 * (ASCII case-insensitive, UTF-8 or A-labels, one trailing dot allowed),
 * lower-cased into out; -1 for a public suffix itself or an invalid name. */
int dmarc_org_domain(const char *domain, char out[DMARC_DOMAIN_BUF]);
/* Identifier alignment (§3.1): strict compares the names, relaxed their
 * organisational domains (a name with none stands for itself). Leading
 * and trailing dots are ignored, as OpenDMARC does. */
bool dmarc_aligned(const char *from_domain, const char *auth_domain,
		   enum dmarc_align mode);

/* One DKIM signature result: only a pass can give DMARC a pass (§4.2). */
struct dmarc_dkim {
	const char *domain;		/* d= */
	bool pass;
};

struct dmarc_input {
	const struct dmarc_from *from;	/* the author domains */
	enum spf_result spf;		/* of the MAIL FROM (or HELO) identity */
	const char *spf_domain;		/* its domain (spf_eval_domain()) */
	const struct dmarc_dkim *dkim;
	size_t ndkim;
	/* pct= sampling (§6.6.4): returns 0..99; NULL: arc4random. */
	unsigned (*rand100)(void *arg);
	void *rand_arg;
};

struct dmarc_verdict {
	enum dmarc_result result;
	const char *from_domain;	/* header.from (the deciding domain) */
	const char *policy_domain;	/* where the record was found, or NULL */
	bool org_record;		/* found at the organisational domain */
	enum dmarc_policy p, sp;	/* of the record, as applied (for "p= sp=") */
	enum dmarc_policy policy;	/* requested: p, sp or np (policy.dmarc) */
	enum dmarc_policy disposition;	/* what to do, after pct: none on pass */
	bool spf_aligned, dkim_aligned;
	unsigned pct;
	const char *reason;		/* printable ASCII, for logs and comments */
};

struct dmarc_eval;

/* Start an evaluation; the input is copied. */
struct dmarc_eval *dmarc_eval_new(const struct dmarc_input *in);
/* Run until a DNS answer is needed (DMARC_NEED_DNS, *q filled) or done. */
enum dmarc_result dmarc_eval_step(struct dmarc_eval *e, struct dnsq *q);
/* The answer to the question of the last DMARC_NEED_DNS (copied). */
void dmarc_eval_answer(struct dmarc_eval *e, const struct dnsq_answer *a);
/* The outcome once dmarc_eval_step() returned a result (NULL before). */
const struct dmarc_verdict *dmarc_eval_verdict(const struct dmarc_eval *e);
/* Number of DNS questions asked so far. */
unsigned dmarc_eval_queries(const struct dmarc_eval *e);
void dmarc_eval_free(struct dmarc_eval *e);

/* "none" "pass" "fail" "temperror" "permerror". */
const char *dmarc_result_name(enum dmarc_result r);

#endif
