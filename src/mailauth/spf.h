/* spf: the Sender Policy Framework check_host() function (RFC 7208) as a
 * resumable evaluator that does no I/O.
 *
 *   struct spf_eval *e = spf_eval_new(ip, mail_from, helo, my_hostname);
 *   struct dnsq q;
 *   enum spf_result r;
 *   while ((r = spf_eval_step(e, &q)) == SPF_NEED_DNS)
 *           spf_eval_answer(e, resolve(&q));    (or later, from a callback)
 *   ... spf_result_name(r), spf_eval_reason(e), spf_eval_explanation(e)
 *   spf_eval_free(e);
 *
 * Exactly one question is outstanding at a time; identical questions are
 * answered from a per-evaluation cache and never asked twice. The limits
 * below bound an evaluation to about 130 questions; a wall-clock limit
 * (§4.6.4: at least 20 s, then temperror) is the caller's. */
#ifndef MK_SPF_H
#define MK_SPF_H

#include "mailauth/dnsq.h"

/* Processing limits (RFC 7208 §4.6.4) and input bounds. */
#define SPF_MAX_DNS_TERMS 10	/* include a mx ptr exists redirect */
#define SPF_MAX_VOID_LOOKUPS 2	/* NXDOMAIN / no-answer term lookups */
#define SPF_MAX_MX_NAMES 10	/* more MX records: permerror */
#define SPF_MAX_PTR_NAMES 10	/* more PTR records: the rest are ignored */
#define SPF_MAX_RECORD_LEN 4096	/* longer SPF TXT records: permerror */
#define SPF_MAX_EXPANSION 2048	/* longest macro expansion, bytes */

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
	SPF_NEED_DNS,	/* not a result: spf_eval_step() wants an answer */
};

struct spf_eval;

/* Start check_host() for the MAIL FROM identity (mail_from "" for the null
 * sender: then the HELO identity postmaster@helo is checked, §2.4).
 * receiver_host is %{r} (NULL: "unknown"). An unparsable ip gives
 * permerror at the first step. */
struct spf_eval *spf_eval_new(const char *ip, const char *mail_from,
			      const char *helo, const char *receiver_host);
/* %{t} in explanations (default: the time at spf_eval_new()). */
void spf_eval_set_time(struct spf_eval *e, long long unix_time);
/* Macro-string used when a fail has no usable exp= (§6.2). */
void spf_eval_set_default_exp(struct spf_eval *e, const char *macro_string);
/* Run until a DNS answer is needed (SPF_NEED_DNS, *q filled) or done. */
enum spf_result spf_eval_step(struct spf_eval *e, struct dnsq *q);
/* The answer to the question of the last SPF_NEED_DNS (copied). */
void spf_eval_answer(struct spf_eval *e, const struct dnsq_answer *a);
/* Expanded exp= text (or the default) after a fail, else NULL; printable
 * ASCII (other bytes from macro values become '?'). */
const char *spf_eval_explanation(const struct spf_eval *e);
/* Short printable-ASCII text saying why, for logs and header comments. */
const char *spf_eval_reason(const struct spf_eval *e);
/* The domain whose policy was checked (MAIL FROM domain or HELO). */
const char *spf_eval_domain(const struct spf_eval *e);
/* Number of DNS questions asked so far (cache hits not counted). */
unsigned spf_eval_queries(const struct spf_eval *e);
void spf_eval_free(struct spf_eval *e);

/* "none" "neutral" "pass" "fail" "softfail" "temperror" "permerror". */
const char *spf_result_name(enum spf_result r);

#endif
