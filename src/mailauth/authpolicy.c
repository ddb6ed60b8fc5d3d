/* authpolicy: the receiver's decision and header fields from the verdicts
 * (authpolicy.h). */
#include "mailauth/authpolicy.h"

#include "mailauth/authres.h"

static bool any_dkim_pass(const struct authpolicy_input *in)
{
	for (size_t i = 0; i < in->ndkim; i++)
		if (in->dkim[i]->status == DKIM_PASS)
			return true;
	return false;
}

/* Issue 4 §6: a DMARC failure under p=reject is refused (RFC 7489 §6.6.3
 * leaves the disposition to the receiver); a failure under quarantine,
 * or an SPF fail (-all) that no DKIM pass outweighs, goes to Junk. */
enum authpolicy_action authpolicy_decide(const struct authpolicy_input *in,
					 const struct authpolicy_options *o,
					 const char **reason_r)
{
	const struct dmarc_verdict *dv = in->dmarc;
	bool dmarc_fail = dv != NULL && dv->result == DMARC_FAIL;
	const char *why = "no policy asks for more";
	enum authpolicy_action a = AUTHPOLICY_ACCEPT;

	if (dmarc_fail && dv->disposition == DMARC_POLICY_REJECT &&
	    o->dmarc_reject) {
		a = AUTHPOLICY_REJECT;
		why = "DMARC fail, the sender's policy is reject";
	} else if (o->junk && dmarc_fail &&
		   dv->disposition != DMARC_POLICY_NONE) {
		a = AUTHPOLICY_JUNK;
		why = "DMARC fail, the sender's policy is quarantine or reject";
	} else if (o->junk && in->spf == SPF_FAIL && !any_dkim_pass(in)) {
		a = AUTHPOLICY_JUNK;
		why = "SPF fail and no DKIM signature passed";
	}
	if (reason_r != NULL)
		*reason_r = why;
	return a;
}

const char *authpolicy_action_name(enum authpolicy_action a)
{
	switch (a) {
	case AUTHPOLICY_ACCEPT:
		return "accept";
	case AUTHPOLICY_JUNK:
		return "junk";
	case AUTHPOLICY_REJECT:
		return "reject";
	}
	return "?";
}

const char *authpolicy_dkim_result(enum dkim_status st)
{
	return st == DKIM_PENDING ? "temperror" : dkim_status_name(st);
}

/* One dkim= resinfo per signature, "dkim=none (no signature)" if none
 * (RFC 8601 §2.7.1). */
static void add_dkim(struct authres *ar, const struct authpolicy_input *in)
{
	if (in->ndkim == 0) {
		struct authres_dkim none = { "none", NULL, NULL, NULL, NULL, NULL,
					     "no signature" };
		authres_add_dkim(ar, &none);
	}
	for (size_t i = 0; i < in->ndkim; i++) {
		const struct dkim_result *r = in->dkim[i];
		struct authres_dkim d = {
			authpolicy_dkim_result(r->status), r->domain, r->identity,
			r->selector, r->algorithm, r->header_b, r->reason
		};
		authres_add_dkim(ar, &d);
	}
}

void authpolicy_headers(const struct authpolicy_input *in,
			const char *authserv_id, const char *receiver,
			struct buf *out)
{
	struct authres *ar = authres_new(authserv_id);
	struct authres_spf spf = { in->spf, in->ip, in->mail_from, in->helo,
				   in->spf_reason };

	if (in->have_ip) {
		authres_add_iprev(ar, in->iprev, in->ip, in->iprev_host);
		authres_add_spf(ar, &spf);
	}
	add_dkim(ar, in);
	if (in->dmarc != NULL)
		authres_add_dmarc(ar, in->dmarc);
	authres_format(ar, out);
	authres_free(ar);
	if (in->have_ip)
		authres_received_spf(&spf, receiver, out);
}
