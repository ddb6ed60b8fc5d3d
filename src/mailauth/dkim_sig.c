/* dkim_sig: DKIM-Signature field parsing and validation (RFC 6376 §3.5,
 * §6.1.1). Any inconsistency makes the signature unusable; unknown tags
 * are ignored (§3.2). */
#include "dkim_sig.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

typedef int sig_step_fn(struct dkim_sig *s, const struct dkim_limits *lim,
			const char **error_r);

static int fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

static const struct dkim_tag *tag(const struct dkim_sig *s, const char *n)
{
	return dkim_tags_get(&s->tags, n);
}

/* v=1 (§3.5: anything else is an incompatible version) */
static int parse_version(struct dkim_sig *s, const struct dkim_limits *lim,
			 const char **error_r)
{
	const struct dkim_tag *v = tag(s, "v");

	if (v == NULL)
		return fail(error_r, "missing v= tag");
	if (v->value_len != 1 || v->value[0] != '1')
		return fail(error_r, "unsupported version");
	return 0;
}

/* a= (§3.3, RFC 8463 §3) */
static int parse_algo(struct dkim_sig *s, const struct dkim_limits *lim,
		      const char **error_r)
{
	static const enum dkim_algo all[] = {
		DKIM_RSA_SHA256, DKIM_RSA_SHA1, DKIM_ED25519_SHA256,
	};
	const struct dkim_tag *a = tag(s, "a");

	if (a == NULL)
		return fail(error_r, "missing a= tag");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (dkim_tag_is(a, dkim_algo_name(all[i]))) {
			s->algo = all[i];
			return 0;
		}
	}
	return fail(error_r, "unsupported algorithm");
}

static int canon_word(const char *p, size_t len, enum dkim_canon *c)
{
	if (len == 6 && str_nieq(p, "simple", 6))
		*c = DKIM_CANON_SIMPLE;
	else if (len == 7 && str_nieq(p, "relaxed", 7))
		*c = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* c= header[/body], default simple/simple (§3.5) */
static int parse_canon(struct dkim_sig *s, const struct dkim_limits *lim,
		       const char **error_r)
{
	const struct dkim_tag *c = tag(s, "c");
	const char *slash;
	size_t hlen;

	s->header_canon = s->body_canon = DKIM_CANON_SIMPLE;
	if (c == NULL)
		return 0;
	slash = memchr(c->value, '/', c->value_len);
	hlen = slash ? (size_t)(slash - c->value) : c->value_len;
	if (canon_word(c->value, hlen, &s->header_canon) < 0 ||
	    (slash != NULL && canon_word(slash + 1, c->value_len - hlen - 1,
					 &s->body_canon) < 0))
		return fail(error_r, "unsupported canonicalization");
	return 0;
}

static int parse_domain(struct dkim_sig *s, const struct dkim_limits *lim,
			const char **error_r)
{
	const struct dkim_tag *d = tag(s, "d"), *sel = tag(s, "s");

	if (d == NULL)
		return fail(error_r, "missing d= tag");
	if (!dkim_domain_ok(d->value, d->value_len, false))
		return fail(error_r, "bad d= domain");
	dkim_text_copy(s->domain, sizeof(s->domain), d->value, d->value_len,
		       true);
	if (sel == NULL)
		return fail(error_r, "missing s= tag");
	if (!dkim_domain_ok(sel->value, sel->value_len, true))
		return fail(error_r, "bad s= selector");
	dkim_text_copy(s->selector, sizeof(s->selector), sel->value,
		       sel->value_len, false);
	return 0;
}

/* i= must be in d= or a subdomain of it (§3.5); default "@" d= */
static int parse_identity(struct dkim_sig *s, const struct dkim_limits *lim,
			  const char **error_r)
{
	const struct dkim_tag *i = tag(s, "i");
	const char *at, *dom;
	size_t dlen, n = strlen(s->domain);

	if (i == NULL) {
		buf_printf(&s->auid, "@%s", s->domain);
		return 0;
	}
	if (dkim_qp_decode(i->value, i->value_len, &s->auid) < 0 ||
	    (at = memrchr(s->auid.ptr, '@', s->auid.len)) == NULL)
		return fail(error_r, "bad i= tag");
	dom = at + 1;
	dlen = s->auid.len - (size_t)(dom - s->auid.ptr);
	if (!(dlen == n && str_nieq(dom, s->domain, n)) &&
	    !(dlen > n && dom[dlen - n - 1] == '.' &&
	      str_nieq(dom + dlen - n, s->domain, n)))
		return fail(error_r, "i= domain not within d=");
	return 0;
}

/* field-name = 1*ftext, ftext = %d33-57 / %d59-126 (RFC 5322 §3.6.8) */
static bool field_name_ok(const struct dkim_span *n)
{
	for (size_t i = 0; i < n->len; i++) {
		unsigned char c = (unsigned char)n->p[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return n->len > 0;
}

/* h= (§3.5); it MUST include From (§6.1.1) */
static int parse_headers(struct dkim_sig *s, const struct dkim_limits *lim,
			 const char **error_r)
{
	const struct dkim_tag *h = tag(s, "h");
	bool from = false;

	if (h == NULL)
		return fail(error_r, "missing h= tag");
	s->h = xcalloc((size_t)lim->max_signed_headers + 1, sizeof(*s->h));
	if (dkim_list_split(h->value, h->value_len, s->h,
			    lim->max_signed_headers, &s->n_h) < 0)
		return fail(error_r, "bad h= tag");
	for (size_t i = 0; i < s->n_h; i++) {
		if (!field_name_ok(&s->h[i]))
			return fail(error_r, "bad h= tag");
		if (s->h[i].len == 4 && str_nieq(s->h[i].p, "from", 4))
			from = true;
	}
	if (!from)
		return fail(error_r, "From field not signed");
	return 0;
}

static int parse_hashes(struct dkim_sig *s, const struct dkim_limits *lim,
			const char **error_r)
{
	const struct dkim_tag *bh = tag(s, "bh"), *b = tag(s, "b");

	if (bh == NULL)
		return fail(error_r, "missing bh= tag");
	if (dkim_b64_decode(bh->value, bh->value_len, s->bh, sizeof(s->bh),
			    &s->bh_len) < 0 || s->bh_len == 0)
		return fail(error_r, "bad bh= tag");
	if (b == NULL)
		return fail(error_r, "missing b= tag");
	if (dkim_b64_decode(b->value, b->value_len, s->b, sizeof(s->b),
			    &s->b_len) < 0 || s->b_len == 0)
		return fail(error_r, "bad b= tag");
	return 0;
}

static int number(const struct dkim_tag *t, unsigned digits, long long *out)
{
	uint64_t v;

	if (dkim_number(t->value, t->value_len, digits, &v) < 0 ||
	    v > (uint64_t)INT64_MAX)
		return -1;
	*out = (long long)v;
	return 0;
}

/* l= (1*76DIGIT, but a count past 2^63 can never fit a body), t= and
 * x= (1*12DIGIT); x= MUST be later than t= (§3.5). */
static int parse_numbers(struct dkim_sig *s, const struct dkim_limits *lim,
			 const char **error_r)
{
	const struct dkim_tag *l = tag(s, "l"), *t = tag(s, "t"),
			      *x = tag(s, "x");
	long long v;

	if (l != NULL) {
		if (number(l, 76, &v) < 0)
			return fail(error_r, "bad l= tag");
		s->l = (uint64_t)v;
	}
	if (t != NULL && number(t, 12, &s->t) < 0)
		return fail(error_r, "bad t= tag");
	if (x != NULL && number(x, 12, &s->x) < 0)
		return fail(error_r, "bad x= tag");
	if (t != NULL && x != NULL && s->x <= s->t)
		return fail(error_r, "x= not later than t=");
	return 0;
}

/* q= must offer dns/txt, the only method (§3.5) */
static int parse_query(struct dkim_sig *s, const struct dkim_limits *lim,
		       const char **error_r)
{
	const struct dkim_tag *q = tag(s, "q");

	if (q != NULL && !dkim_list_has(q->value, q->value_len, "dns/txt"))
		return fail(error_r, "unsupported q= method");
	return 0;
}

static sig_step_fn *const steps[] = {
	parse_version, parse_algo, parse_canon, parse_domain,
	parse_identity, parse_headers, parse_hashes, parse_numbers,
	parse_query,
};

/* What can be shown of the signature even when it is unusable. */
static void fill_result(const struct dkim_sig *s, struct dkim_result *r)
{
	const struct dkim_tag *t;
	char b[DKIM_HEADER_B_LEN];
	size_t n = 0;

	if ((t = tag(s, "d")) != NULL)
		dkim_text_copy(r->domain, sizeof(r->domain), t->value,
			       t->value_len, true);
	if ((t = tag(s, "s")) != NULL)
		dkim_text_copy(r->selector, sizeof(r->selector), t->value,
			       t->value_len, false);
	if ((t = tag(s, "a")) != NULL)
		dkim_text_copy(r->algorithm, sizeof(r->algorithm), t->value,
			       t->value_len, true);
	if ((t = tag(s, "i")) != NULL)
		dkim_text_copy(r->identity, sizeof(r->identity), t->value,
			       t->value_len, false);
	if ((t = tag(s, "b")) == NULL)
		return;
	for (size_t i = 0; i < t->value_len && n < sizeof(b); i++)
		if (t->value[i] != ' ' && t->value[i] != '\t' &&
		    t->value[i] != '\r' && t->value[i] != '\n')
			b[n++] = t->value[i];
	dkim_text_copy(r->header_b, sizeof(r->header_b), b, n, false);
}

int dkim_sig_parse(struct dkim_sig *s, const char *field, size_t len,
		   const struct dkim_limits *lim, struct dkim_result *r,
		   const char **error_r)
{
	const char *colon = memchr(field, ':', len);

	memset(s, 0, sizeof(*s));
	buf_init(&s->auid);
	s->l = UINT64_MAX;
	s->t = s->x = -1;
	s->field = field;
	s->field_len = len;
	if (colon == NULL)
		return fail(error_r, "not a header field");
	s->value_off = (size_t)(colon + 1 - field);
	if (len - s->value_off > lim->max_tag_list)
		return fail(error_r, "signature field too long");
	if (dkim_tags_parse(field + s->value_off, len - s->value_off, &s->tags,
			    error_r) < 0)
		return -1;
	fill_result(s, r);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i](s, lim, error_r) < 0)
			return -1;
	dkim_text_copy(r->identity, sizeof(r->identity), s->auid.ptr,
		       s->auid.len, false);
	return 0;
}

int dkim_sig_check_time(const struct dkim_sig *s, long long now,
			long long skew, const char **error_r)
{
	if (s->x >= 0 && s->x < now)
		return fail(error_r, "signature expired");
	if (s->t >= 0 && s->t > now + skew)
		return fail(error_r, "signature timestamp in the future");
	return 0;
}

void dkim_sig_strip_b(const struct dkim_sig *s, struct buf *out)
{
	const struct dkim_tag *b = tag(s, "b");
	size_t cut = s->value_off + b->raw_off;

	buf_append(out, s->field, cut);
	buf_append(out, s->field + cut + b->raw_len,
		   s->field_len - cut - b->raw_len);
}

void dkim_sig_free(struct dkim_sig *s)
{
	buf_free(&s->auid);
	free(s->h);
	s->h = NULL;
}
