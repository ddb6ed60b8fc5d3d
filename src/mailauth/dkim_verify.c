/* dkim_verify: the verifier (RFC 6376 §6.1). The header is kept (bounded
 * by the limits); body hashes are computed while the body streams by, one
 * per distinct (canonicalisation, hash, l=) among the signatures. Key
 * answers may come as soon as the header is read; a result is final once
 * its key answer and the end of the message are both in. */
#include "mailauth/dkim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim_crypto.h"
#include "mailauth/dkim_hdr.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_sig.h"

struct vsig {
	struct dkim_sig sig;
	struct dkim_result res;
	struct dnsq q;
	bool need_key;			/* q is asked and not yet answered */
	bool have_key;			/* key holds a usable key */
	struct dkim_pubkey key;
	struct dkim_bodyhash *body;	/* shared, owned by the verifier */
};

struct dkim_verify {
	struct dkim_limits lim;
	long long now;
	struct dkim_hdr hdr;
	struct vsig *sigs;
	size_t n_sigs;
	size_t ignored;
	struct dkim_bodyhash **bodies;
	size_t n_bodies;
	bool ended;
};

struct dkim_verify *dkim_verify_new(const struct dkim_limits *limits)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));

	if (limits != NULL)
		v->lim = *limits;
	else
		dkim_limits_default(&v->lim);
	v->now = (long long)time(NULL);
	dkim_hdr_init(&v->hdr, &v->lim);
	v->sigs = xcalloc((size_t)v->lim.max_signatures + 1, sizeof(*v->sigs));
	v->bodies = xcalloc((size_t)v->lim.max_signatures + 1,
			    sizeof(*v->bodies));
	return v;
}

void dkim_verify_set_time(struct dkim_verify *v, long long now)
{
	v->now = now;
}

static void settle(struct vsig *s, enum dkim_status st, const char *why)
{
	s->res.status = st;
	s->res.reason = why;
	s->need_key = false;
}

/* Signatures with the same body canonicalisation, hash and l= share one
 * body hash. */
static struct dkim_bodyhash *body_for(struct dkim_verify *v,
				      const struct dkim_sig *sig)
{
	struct dkim_bodyhash *bh;

	for (size_t i = 0; i < v->n_bodies; i++) {
		bh = v->bodies[i];
		if (bh->canon.canon == sig->body_canon && bh->limit == sig->l &&
		    dkim_algo_md(bh->algo) == dkim_algo_md(sig->algo))
			return bh;
	}
	bh = dkim_bodyhash_new(sig->body_canon, sig->algo, sig->l);
	v->bodies[v->n_bodies++] = bh;
	return bh;
}

/* §6.1.1: everything that can be checked before the key is fetched. */
static void add_sig(struct dkim_verify *v, size_t field)
{
	struct vsig *s;
	const char *why;

	if (v->n_sigs >= v->lim.max_signatures) {
		v->ignored++;
		return;
	}
	s = &v->sigs[v->n_sigs++];
	s->res.status = DKIM_PENDING;
	if (dkim_sig_parse(&s->sig, dkim_hdr_text(&v->hdr, field),
			   v->hdr.f[field].len, &v->lim, &s->res, &why) < 0)
		settle(s, DKIM_NEUTRAL, why);
	else if (dkim_sig_check_time(&s->sig, v->now, v->lim.max_clock_skew,
				     &why) < 0)
		settle(s, DKIM_PERMERROR, why);
	else if (v->hdr.overflow)
		settle(s, DKIM_PERMERROR, "message header over the limits");
	else if (dkim_key_name(s->sig.selector, s->sig.domain, s->q.name) < 0)
		settle(s, DKIM_PERMERROR, "key name too long");
	else {
		s->q.type = DNSQ_TXT;
		s->need_key = true;
		s->body = body_for(v, &s->sig);
	}
}

static void header_done(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->hdr.n; i++)
		if (dkim_hdr_is(&v->hdr, i, "DKIM-Signature", 14))
			add_sig(v, i);
}

bool dkim_verify_header_done(const struct dkim_verify *v)
{
	return v->hdr.done;
}

void dkim_verify_feed(struct dkim_verify *v, const void *data, size_t len)
{
	const char *p = data;

	if (v->ended)
		return;
	if (!v->hdr.done) {
		size_t used = dkim_hdr_feed(&v->hdr, p, len);

		p += used;
		len -= used;
		if (!v->hdr.done)
			return;
		header_done(v);
	}
	for (size_t i = 0; i < v->n_bodies; i++)
		dkim_bodyhash_feed(v->bodies[i], p, len);
}

/* §6.1.3: body hash, then the header hash and the signature. */
static void compute(struct dkim_verify *v, struct vsig *s)
{
	const struct dkim_bodyhash *bh = s->body;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	struct buf field = BUF_INIT;
	int bad;

	if (s->sig.l != UINT64_MAX && s->sig.l > bh->canon.total) {
		settle(s, DKIM_PERMERROR, "l= is longer than the body");
		return;
	}
	s->res.partial_body = s->sig.l != UINT64_MAX &&
			      s->sig.l < bh->canon.total;
	if (bh->digest_len != s->sig.bh_len ||
	    memcmp(bh->digest, s->sig.bh, bh->digest_len) != 0) {
		settle(s, DKIM_FAIL, "body hash mismatch");
		return;
	}
	dkim_sig_strip_b(&s->sig, &field);
	dkim_header_hash(s->sig.algo, s->sig.header_canon, &v->hdr, s->sig.h,
			 s->sig.n_h, field.ptr, field.len, digest, &dlen);
	buf_free(&field);
	bad = dkim_crypto_verify(s->key.pkey, s->sig.algo, digest, dlen,
				 s->sig.b, s->sig.b_len);
	if (bad)
		settle(s, DKIM_FAIL, "signature did not verify");
	else if (s->sig.algo == DKIM_RSA_SHA1)
		settle(s, DKIM_POLICY, "rsa-sha1 is not accepted, RFC 8301");
	else
		settle(s, DKIM_PASS, "ok");
}

size_t dkim_verify_end(struct dkim_verify *v)
{
	if (v->ended)
		return v->n_sigs;
	if (!v->hdr.done) {
		dkim_hdr_finish(&v->hdr);
		header_done(v);
	}
	for (size_t i = 0; i < v->n_bodies; i++)
		dkim_bodyhash_end(v->bodies[i]);
	v->ended = true;
	for (size_t i = 0; i < v->n_sigs; i++) {
		struct vsig *s = &v->sigs[i];

		if (s->have_key && s->res.status == DKIM_PENDING)
			compute(v, s);
	}
	return v->n_sigs;
}

const struct dnsq *dkim_verify_query(const struct dkim_verify *v, size_t i)
{
	if (i >= v->n_sigs || !v->sigs[i].need_key)
		return NULL;
	return &v->sigs[i].q;
}

/* t=s (§3.6.1): the i= domain must be d= itself, not a subdomain. */
static bool strict_ok(const struct vsig *s)
{
	const char *at = memrchr(s->sig.auid.ptr, '@', s->sig.auid.len);

	return at != NULL && str_ieq(at + 1, s->sig.domain);
}

/* §6.1.2: take the first record that parses (several are allowed). */
static const char *take_key(struct dkim_verify *v, struct vsig *s,
			    const struct dnsq_answer *a)
{
	const char *why = "no key for signature", *err;

	if (a->rcode == DNSQ_TEMPFAIL)
		return "key query failed";
	for (size_t k = 0; a->rcode == DNSQ_OK && k < a->n &&
			   k < DKIM_MAX_KEY_RECORDS; k++) {
		size_t len = a->rr_len ? a->rr_len[k] : strlen(a->rr[k]);

		if (dkim_pubkey_parse(&s->key, a->rr[k], len, &v->lim,
				      &err) == 0)
			break;
		dkim_pubkey_free(&s->key);
		if (k == 0) {
			why = err;
			s->res.key_bits = s->key.bits;	/* e.g. too short */
		}
	}
	if (s->key.pkey == NULL)
		return why;
	s->have_key = true;
	s->res.testing = s->key.testing;
	s->res.key_bits = s->key.bits;
	if (dkim_pubkey_check(&s->key, s->sig.algo, &err) < 0)
		return err;
	if (s->key.strict && !strict_ok(s))
		return "key needs i= domain equal to d=";
	return NULL;
}

void dkim_verify_key_answer(struct dkim_verify *v, size_t i,
			    const struct dnsq_answer *a)
{
	struct vsig *s;
	const char *why;

	if (i >= v->n_sigs || !v->sigs[i].need_key)
		return;
	s = &v->sigs[i];
	s->need_key = false;
	why = take_key(v, s, a);
	if (why != NULL) {
		s->have_key = false;
		settle(s, a->rcode == DNSQ_TEMPFAIL ? DKIM_TEMPERROR :
			  DKIM_PERMERROR, why);
		return;
	}
	if (v->ended)
		compute(v, s);
}

const struct dkim_result *dkim_verify_result(const struct dkim_verify *v,
					     size_t i)
{
	return i < v->n_sigs ? &v->sigs[i].res : NULL;
}

size_t dkim_verify_ignored(const struct dkim_verify *v)
{
	return v->ignored;
}

void dkim_verify_free(struct dkim_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n_sigs; i++) {
		dkim_sig_free(&v->sigs[i].sig);
		dkim_pubkey_free(&v->sigs[i].key);
	}
	for (size_t i = 0; i < v->n_bodies; i++)
		dkim_bodyhash_free(v->bodies[i]);
	free(v->sigs);
	free(v->bodies);
	dkim_hdr_free(&v->hdr);
	free(v);
}
