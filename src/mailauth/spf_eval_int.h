/* spf_eval_int: the evaluator's state, shared by spf_eval.c (the check_host
 * frames and phases) and spf_mech.c (DNS cache, macros, mechanisms).
 *
 * check_host() recursion (include) is a stack of frames; redirect replaces
 * the top frame (§6.1). A step runs the top frame until it needs a DNS
 * answer that is not in the cache; the code that needed it is simply run
 * again when the answer is there, so a mechanism is written as straight
 * code over cached answers. Each term is bounded (§4.6.4: one lookup plus
 * at most 10 address lookups), so at most about 130 questions are asked. */
#ifndef MK_SPF_EVAL_INT_H
#define MK_SPF_EVAL_INT_H

#include <stdbool.h>

#include "lib/buf.h"
#include "mailauth/spf.h"
#include "mailauth/spf_record.h"

/* Each include counts as a DNS term, so nesting cannot go deeper. */
#define SPF_MAX_DEPTH (SPF_MAX_DNS_TERMS + 1)
#define SPF_NAME_BUF (DNSQ_NAME_MAX + 1)

enum spf_phase {
	PH_FETCH,	/* look up and parse the record of the domain (§4.4) */
	PH_TERMS,	/* evaluate the mechanisms in order (§4.6.2) */
	PH_REDIRECT,	/* none matched: redirect= or neutral (§6.1, §4.7) */
	PH_EXP,		/* top level failed: build the explanation (§6.2) */
};

struct spf_frame {
	char domain[SPF_NAME_BUF];	/* <domain> of this check_host() */
	struct spf_record *rec;
	enum spf_phase phase;
	size_t next;			/* index of the term being evaluated */
	bool counted;			/* its DNS-term count is taken */
	bool redirected;		/* reached by redirect: none is permerror */
	bool child_done;		/* the include above us has finished */
	enum spf_result child;		/* ... with this result */
};

/* One answered question. */
struct spf_cached {
	int type;
	char name[SPF_NAME_BUF];
	enum dnsq_rcode rcode;
	size_t n;
	char **rr;
	size_t *len;
};

/* PTR validation of the client address, shared by ptr and %{p} (§5.5). */
struct spf_rdns {
	bool fetched;			/* the PTR answer is in */
	bool done;			/* ... and every name is checked */
	enum dnsq_rcode rcode;		/* of the PTR lookup */
	size_t n, next;			/* names kept, next to validate */
	char *names[SPF_MAX_PTR_NAMES];
	bool valid[SPF_MAX_PTR_NAMES];
};

struct spf_eval {
	/* check_host() arguments and the macro values derived from them */
	struct spf_ip ip;
	bool ip_ok;
	char *sender, *local, *sender_domain, *helo, *receiver;
	char ip_i[64], ip_c[46], revname[80], time_str[24];
	const char *ip_v;
	char *default_exp;

	struct spf_frame frames[SPF_MAX_DEPTH];
	unsigned depth;
	unsigned dns_terms, void_lookups;
	struct spf_rdns rdns;

	struct spf_cached *cache;
	size_t ncache, cache_cap;
	struct dnsq q;			/* the outstanding question */
	bool waiting;
	unsigned queries;

	bool done;
	enum spf_result result;
	struct buf reason, explanation;
};

/* Outcome of evaluating (part of) a term. */
enum spf_mres {
	M_OK,		/* target computed, go on */
	M_WAIT,		/* stop: e->q is outstanding or a frame was pushed */
	M_MATCH,
	M_NOMATCH,
	M_VOID,		/* no match, and the lookup was void (§4.6.4) */
	M_BADNAME,	/* target is no usable domain name */
	M_TEMPERROR,	/* e->reason set */
	M_PERMERROR,	/* e->reason set */
};

/* spf_mech.c */
/* The cached answer to (type, name), or NULL with it made the question. */
const struct spf_cached *spf_lookup(struct spf_eval *e, int type,
				    const char *name);
/* Store (a copy of) the answer to q. */
void spf_cache_add(struct spf_eval *e, const struct dnsq *q,
		   const struct dnsq_answer *a);
void spf_cache_free(struct spf_eval *e);
/* Expand a macro-string for the top frame, finding %{p} when needed:
 * M_OK, M_WAIT, or M_PERMERROR with *error_r. */
enum spf_mres spf_expand(struct spf_eval *e, const char *s, size_t len,
			 int flags, struct buf *out, const char **error_r);
/* The target-name of a domain-spec (NULL: the current domain), §7.3:
 * M_OK, M_WAIT, M_BADNAME, or M_PERMERROR with *error_r. */
enum spf_mres spf_target(struct spf_eval *e, const char *spec,
			 char name[SPF_NAME_BUF], const char **error_r);
/* Evaluate one mechanism of the top frame (§5). */
enum spf_mres spf_mech_eval(struct spf_eval *e, const struct spf_term *t);
/* Labels of 1..63 characters, 253 in all, no empty label. */
bool spf_name_valid(const char *name);
void spf_rdns_free(struct spf_rdns *r);

/* spf_eval.c */
/* Replace the reason text (made printable). */
void spf_set_reason(struct spf_eval *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Replace control and non-ASCII bytes by '?'. */
void spf_printable(struct buf *b);
/* The frame being evaluated. */
struct spf_frame *spf_top(struct spf_eval *e);
/* Start check_host() for domain on top of the stack (include). */
void spf_frame_push(struct spf_eval *e, const char *domain);

#endif
