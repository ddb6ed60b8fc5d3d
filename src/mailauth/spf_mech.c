/* spf_mech: the SPF mechanisms (RFC 7208 §5) over the evaluator's DNS
 * answer cache, target-name expansion (§7), and the PTR validation that
 * the ptr mechanism and the %{p} macro share (§5.5, §7.3). */
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/spf_eval_int.h"
#include "mailauth/spf_macro.h"

const struct spf_cached *spf_lookup(struct spf_eval *e, int type,
				    const char *name)
{
	for (size_t i = 0; i < e->ncache; i++) {
		if (e->cache[i].type == type && str_ieq(e->cache[i].name, name))
			return &e->cache[i];
	}
	e->q.type = type;
	str_copy(e->q.name, sizeof(e->q.name), name);
	e->waiting = true;
	return NULL;
}

void spf_cache_add(struct spf_eval *e, const struct dnsq *q,
		   const struct dnsq_answer *a)
{
	struct spf_cached *c;

	if (e->ncache == e->cache_cap) {
		e->cache_cap = e->cache_cap ? e->cache_cap * 2 : 16;
		e->cache = xrealloc(e->cache, e->cache_cap * sizeof(*e->cache));
	}
	c = &e->cache[e->ncache++];
	memset(c, 0, sizeof(*c));
	c->type = q->type;
	str_copy(c->name, sizeof(c->name), q->name);
	c->rcode = a->rcode <= DNSQ_TEMPFAIL ? a->rcode : DNSQ_TEMPFAIL;
	if (c->rcode != DNSQ_OK)
		return;
	c->n = a->n;
	c->rr = xcalloc(a->n + 1, sizeof(*c->rr));
	c->len = xcalloc(a->n + 1, sizeof(*c->len));
	for (size_t i = 0; i < a->n; i++) {
		c->len[i] = a->rr_len != NULL ? a->rr_len[i] : strlen(a->rr[i]);
		c->rr[i] = xmalloc(c->len[i] + 1);
		memcpy(c->rr[i], a->rr[i], c->len[i]);
		c->rr[i][c->len[i]] = '\0';
	}
	if (c->n == 0)
		c->rcode = DNSQ_NODATA;
}

void spf_cache_free(struct spf_eval *e)
{
	for (size_t i = 0; i < e->ncache; i++) {
		for (size_t j = 0; j < e->cache[i].n; j++)
			free(e->cache[i].rr[j]);
		free(e->cache[i].rr);
		free(e->cache[i].len);
	}
	free(e->cache);
}

/* A record of a cached answer as a C string, NULL if it holds a NUL. */
static const char *rr_str(const struct spf_cached *a, size_t i)
{
	return strlen(a->rr[i]) == a->len[i] ? a->rr[i] : NULL;
}

/* Copy a DNS name without its trailing dot; false if it does not fit. */
static bool name_copy(char out[SPF_NAME_BUF], const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len > DNSQ_NAME_MAX)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* Labels of 1..63 characters, at most 253 in all (RFC 1035 §2.3.4). */
bool spf_name_valid(const char *name)
{
	size_t label = 0, len = strlen(name);

	if (len == 0 || len > DNSQ_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (name[i] != '.' && name[i] != '\0') {
			if (++label > 63)
				return false;
			continue;
		}
		if (label == 0)
			return false;
		label = 0;
	}
	return true;
}

/* Is name the same as, or a subdomain of, domain? */
static bool name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return str_ieq(name, domain);
	return n > d && name[n - d - 1] == '.' && str_ieq(name + n - d, domain);
}

static int addr_type(const struct spf_eval *e)
{
	return e->ip.family == 4 ? DNSQ_A : DNSQ_AAAA;
}

/* Is the client address among the A/AAAA records of an answer? */
static bool addr_listed(const struct spf_eval *e, const struct spf_cached *a,
			unsigned prefix)
{
	struct spf_ip ip;

	for (size_t i = 0; i < a->n; i++) {
		if (spf_ip_parse(a->rr[i], a->len[i], &ip) == 0 &&
		    spf_ip_match(&e->ip, &ip, prefix))
			return true;
	}
	return false;
}

/* §5.5: look up the PTR names of the client, keep the first 10, and
 * validate each by an address lookup; errors just skip a name. */
static enum spf_mres rdns_run(struct spf_eval *e)
{
	struct spf_rdns *r = &e->rdns;
	const struct spf_cached *a;
	char name[SPF_NAME_BUF];

	if (!r->fetched) {
		if ((a = spf_lookup(e, DNSQ_PTR, e->revname)) == NULL)
			return M_WAIT;
		r->fetched = true;
		r->rcode = a->rcode;
		for (size_t i = 0; i < a->n && i < SPF_MAX_PTR_NAMES; i++) {
			const char *s = rr_str(a, i);

			if (s != NULL && name_copy(name, s, strlen(s)) &&
			    spf_name_valid(name))
				r->names[r->n++] = xstrdup(name);
		}
	}
	for (; r->next < r->n; r->next++) {
		if ((a = spf_lookup(e, addr_type(e), r->names[r->next])) == NULL)
			return M_WAIT;
		r->valid[r->next] = addr_listed(e, a, e->ip.family == 4 ? 32 : 128);
	}
	r->done = true;
	return M_OK;
}

void spf_rdns_free(struct spf_rdns *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->names[i]);
}

/* §7.3 "p": the validated name equal to, else under, else any; or
 * "unknown". Needs rdns_run() done. */
static const char *rdns_pick(const struct spf_eval *e, const char *domain)
{
	const struct spf_rdns *r = &e->rdns;
	const char *any = NULL, *sub = NULL;

	for (size_t i = 0; i < r->n; i++) {
		if (!r->valid[i])
			continue;
		if (str_ieq(r->names[i], domain))
			return r->names[i];
		if (sub == NULL && name_within(r->names[i], domain))
			sub = r->names[i];
		if (any == NULL)
			any = r->names[i];
	}
	return sub != NULL ? sub : any != NULL ? any : "unknown";
}

enum spf_mres spf_expand(struct spf_eval *e, const char *s, size_t len,
			 int flags, struct buf *out, const char **error_r)
{
	const char *domain = spf_top(e)->domain;
	struct spf_macro_ctx ctx = {
		.s = e->sender, .l = e->local, .o = e->sender_domain,
		.d = domain, .i = e->ip_i, .v = e->ip_v, .h = e->helo,
		.c = e->ip_c, .r = e->receiver, .t = e->time_str,
		.p = e->rdns.done ? rdns_pick(e, domain) : NULL,
	};

	switch (spf_macro_expand(s, len, flags, &ctx, out, error_r)) {
	case SPF_MACRO_OK:
		return M_OK;
	case SPF_MACRO_NEED_P:
		if (rdns_run(e) == M_WAIT)
			return M_WAIT;
		return spf_expand(e, s, len, flags, out, error_r);
	case SPF_MACRO_ERROR:
		break;
	}
	return M_PERMERROR;
}

/* §7.3: a name longer than 253 loses labels on the left until it fits. */
static const char *name_truncate(const char *s)
{
	while (strlen(s) > DNSQ_NAME_MAX) {
		const char *dot = strchr(s, '.');

		if (dot == NULL)
			return s;
		s = dot + 1;
	}
	return s;
}

enum spf_mres spf_target(struct spf_eval *e, const char *spec,
			 char name[SPF_NAME_BUF], const char **error_r)
{
	struct buf b = BUF_INIT;
	enum spf_mres r;
	const char *s;

	if (spec == NULL) {
		str_copy(name, SPF_NAME_BUF, spf_top(e)->domain);
		return M_OK;
	}
	r = spf_expand(e, spec, strlen(spec), SPF_MACRO_DOMAIN, &b, error_r);
	if (r == M_OK) {
		if (b.len > 0 && b.ptr[b.len - 1] == '.')
			buf_truncate(&b, b.len - 1);
		s = name_truncate(buf_cstr(&b));
		r = name_copy(name, s, strlen(s)) && spf_name_valid(name) ?
		    M_OK : M_BADNAME;
	}
	buf_free(&b);
	return r;
}

static enum spf_mres dns_error(struct spf_eval *e, const struct spf_cached *a)
{
	spf_set_reason(e, "DNS error looking up %s %s", dnsq_type_name(a->type),
		       a->name);
	return M_TEMPERROR;
}

/* a, and each exchange of mx: the addresses of name against the client. */
static enum spf_mres addrs_match(struct spf_eval *e, const char *name,
				 const struct spf_term *t)
{
	const struct spf_cached *a = spf_lookup(e, addr_type(e), name);

	if (a == NULL)
		return M_WAIT;
	if (a->rcode == DNSQ_TEMPFAIL)
		return dns_error(e, a);
	if (a->rcode != DNSQ_OK)
		return M_VOID;
	return addr_listed(e, a, e->ip.family == 4 ? t->cidr4 : t->cidr6) ?
	       M_MATCH : M_NOMATCH;
}

/* §5.4: "pref exchange" -> exchange; false for the null MX ("."). */
static bool mx_exchange(const char *rr, char name[SPF_NAME_BUF])
{
	rr += strspn(rr, "0123456789");
	rr += strspn(rr, " \t");
	return name_copy(name, rr, strlen(rr)) && spf_name_valid(name);
}

/* §5.4: MX lookup, then an address lookup of each exchange. */
static enum spf_mres mech_mx(struct spf_eval *e, const char *target,
			     const struct spf_term *t)
{
	const struct spf_cached *mx = spf_lookup(e, DNSQ_MX, target);
	char name[SPF_NAME_BUF];

	if (mx == NULL)
		return M_WAIT;
	if (mx->rcode == DNSQ_TEMPFAIL)
		return dns_error(e, mx);
	if (mx->rcode != DNSQ_OK)
		return M_VOID;
	if (mx->n > SPF_MAX_MX_NAMES) {	/* §4.6.4 */
		spf_set_reason(e, "more than %d MX records for %s",
			       SPF_MAX_MX_NAMES, target);
		return M_PERMERROR;
	}
	for (size_t i = 0; i < mx->n; i++) {
		const char *rr = rr_str(mx, i);
		enum spf_mres r;

		if (rr == NULL || !mx_exchange(rr, name))
			continue;
		r = addrs_match(e, name, t);
		if (r != M_NOMATCH && r != M_VOID)
			return r;
	}
	return M_NOMATCH;
}

/* §5.5: a validated name of the client in or under the target. */
static enum spf_mres mech_ptr(struct spf_eval *e, const char *target)
{
	if (rdns_run(e) == M_WAIT)
		return M_WAIT;
	if (e->rdns.rcode == DNSQ_NXDOMAIN || e->rdns.rcode == DNSQ_NODATA)
		return M_VOID;
	for (size_t i = 0; i < e->rdns.n; i++) {
		if (e->rdns.valid[i] && name_within(e->rdns.names[i], target))
			return M_MATCH;
	}
	return M_NOMATCH;	/* also on a PTR lookup error */
}

/* §5.7: any A record, whatever the client's address family. */
static enum spf_mres mech_exists(struct spf_eval *e, const char *target)
{
	const struct spf_cached *a = spf_lookup(e, DNSQ_A, target);

	if (a == NULL)
		return M_WAIT;
	if (a->rcode == DNSQ_TEMPFAIL)
		return dns_error(e, a);
	return a->rcode == DNSQ_OK ? M_MATCH : M_VOID;
}

/* §5.2: recursive check_host(); the mapping of its result is done when
 * the pushed frame has finished. */
static enum spf_mres mech_include(struct spf_eval *e, const char *target)
{
	struct spf_frame *f = spf_top(e);

	if (!f->child_done) {
		spf_frame_push(e, target);
		return M_WAIT;
	}
	switch (f->child) {
	case SPF_PASS:
		return M_MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return M_NOMATCH;
	case SPF_TEMPERROR:
		return M_TEMPERROR;
	case SPF_NONE:
		spf_set_reason(e, "included domain %s has no SPF record",
			       target);
		return M_PERMERROR;
	default:
		return M_PERMERROR;
	}
}

enum spf_mres spf_mech_eval(struct spf_eval *e, const struct spf_term *t)
{
	char target[SPF_NAME_BUF];
	const char *error;
	enum spf_mres r;

	switch (t->mech) {
	case SPF_MECH_ALL:
		return M_MATCH;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return spf_ip_match(&e->ip, &t->net, t->mech == SPF_MECH_IP4 ?
				    (unsigned)t->cidr4 : (unsigned)t->cidr6) ?
		       M_MATCH : M_NOMATCH;
	default:
		break;
	}
	r = spf_target(e, t->spec, target, &error);
	if (r == M_PERMERROR)
		spf_set_reason(e, "%s in \"%s\"", error, t->spec);
	if (r == M_BADNAME && t->mech == SPF_MECH_INCLUDE) {
		spf_set_reason(e, "include target is not a domain name");
		return M_PERMERROR;
	}
	if (r == M_BADNAME)	/* §4.3 by analogy: no such name */
		return M_NOMATCH;
	if (r != M_OK)
		return r;
	switch (t->mech) {
	case SPF_MECH_A:
		return addrs_match(e, target, t);
	case SPF_MECH_MX:
		return mech_mx(e, target, t);
	case SPF_MECH_PTR:
		return mech_ptr(e, target);
	case SPF_MECH_EXISTS:
		return mech_exists(e, target);
	case SPF_MECH_INCLUDE:
		return mech_include(e, target);
	default:
		return M_PERMERROR;	/* not reached */
	}
}
