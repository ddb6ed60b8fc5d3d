/* dkim_sign: the signer (RFC 6376 §5). One pass over the message makes
 * one signature per key (e.g. RSA-2048 and Ed25519 side by side, RFC 8463
 * §5 recommends both); they share the header store and the body hash. */
#include "mailauth/dkim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim_crypto.h"
#include "mailauth/dkim_hdr.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_tags.h"

#define DKIM_FOLD_WIDTH 78	/* fold the field before this column */
#define DKIM_B64_CHUNK 64	/* b= characters per folded line */

const char *const dkim_sign_oversign[] = {
	"from", "to", "cc", "subject", "date", "reply-to", "message-id",
	"mime-version", "content-type", "content-transfer-encoding", NULL,
};

const char *const dkim_sign_headers[] = {
	"in-reply-to", "references", "sender", "list-id", "list-help",
	"list-unsubscribe", "list-unsubscribe-post", "list-subscribe",
	"list-post", "list-owner", "list-archive", "content-id",
	"content-description", NULL,
};

struct skey {
	char selector[DNSQ_NAME_MAX + 1];
	EVP_PKEY *pkey;
	enum dkim_algo algo;
};

struct dkim_sign {
	struct dkim_limits lim;
	char domain[DNSQ_NAME_MAX + 1];
	struct skey keys[DKIM_SIGN_MAX_KEYS];
	size_t n_keys;
	enum dkim_canon header_canon;
	char **names;			/* lower case, oversigned ones first */
	size_t n_names, n_over;
	struct buf identity;		/* i= as dkim-quoted-printable */
	long long t, x;			/* -1: omitted */
	struct dkim_hdr hdr;
	struct dkim_bodyhash *body;
};

void dkim_sign_params_default(struct dkim_sign_params *p)
{
	memset(p, 0, sizeof(*p));
	p->header_canon = DKIM_CANON_RELAXED;
	p->body_canon = DKIM_CANON_RELAXED;
}

static void *fail(const char **error_r, const char *why)
{
	if (error_r != NULL)
		*error_r = why;
	return NULL;
}

static int refuse(const char **error_r, const char *why)
{
	fail(error_r, why);
	return -1;
}

/* RFC 8301 §3.1, §3.2: rsa-sha256 with >= 1024 bits, or ed25519-sha256. */
static const char *add_key(struct dkim_sign *s, const struct dkim_sign_key *k)
{
	struct skey *sk = &s->keys[s->n_keys];
	char name[DNSQ_NAME_MAX + 1];

	if (k->key == NULL || k->selector == NULL ||
	    !dkim_domain_ok(k->selector, strlen(k->selector), true) ||
	    dkim_key_name(k->selector, s->domain, name) < 0)
		return "bad selector";
	if (k->key->type == DKIM_KEY_RSA &&
	    (k->key->bits < DKIM_RSA_MIN_BITS ||
	     k->key->bits > s->lim.rsa_max_bits))
		return "RSA key size out of range";
	str_copy(sk->selector, sizeof(sk->selector), k->selector);
	sk->algo = k->key->type == DKIM_KEY_RSA ? DKIM_RSA_SHA256 :
		   DKIM_ED25519_SHA256;
	sk->pkey = k->key->pkey;
	EVP_PKEY_up_ref(sk->pkey);
	s->n_keys++;
	return NULL;
}

static bool name_ok(const char *n)
{
	for (const char *p = n; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	return n[0] != '\0';
}

/* Copy the name lists, lower case; oversigned names first. */
static const char *add_names(struct dkim_sign *s, const char *const *over,
			     const char *const *plain)
{
	size_t n = 0;

	for (size_t i = 0; over[i] != NULL; i++)
		n++;
	for (size_t i = 0; plain[i] != NULL; i++)
		n++;
	s->names = xcalloc(n + 1, sizeof(*s->names));
	for (size_t i = 0; over[i] != NULL; i++, s->n_over++)
		s->names[s->n_names++] = xstrdup(over[i]);
	for (size_t i = 0; plain[i] != NULL; i++)
		s->names[s->n_names++] = xstrdup(plain[i]);
	for (size_t i = 0; i < s->n_names; i++) {
		if (!name_ok(s->names[i]))
			return "bad header field name";
		str_lower(s->names[i]);
	}
	return NULL;
}

/* i= in d= or below it (§3.5), written as dkim-quoted-printable (§2.11). */
static const char *add_identity(struct dkim_sign *s, const char *id)
{
	const char *at = strrchr(id, '@');
	size_t dlen, n = strlen(s->domain);

	if (at == NULL)
		return "bad identity";
	dlen = strlen(at + 1);
	if (!str_ieq(at + 1, s->domain) &&
	    !(dlen > n && at[dlen - n] == '.' && str_ieq(at + 1 + dlen - n,
							 s->domain)))
		return "identity not within the signing domain";
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != ';' && *p != '=')
			buf_appendc(&s->identity, (char)*p);
		else
			buf_printf(&s->identity, "=%02X", *p);
	}
	return NULL;
}

static const char *setup(struct dkim_sign *s, const struct dkim_sign_params *p)
{
	const char *why;

	if (p->domain == NULL || !dkim_domain_ok(p->domain, strlen(p->domain),
						 false))
		return "bad signing domain";
	dkim_text_copy(s->domain, sizeof(s->domain), p->domain,
		       strlen(p->domain), true);
	if (p->n_keys == 0 || p->n_keys > DKIM_SIGN_MAX_KEYS)
		return "need one to four keys";
	for (size_t i = 0; i < p->n_keys; i++)
		if ((why = add_key(s, &p->keys[i])) != NULL)
			return why;
	why = add_names(s, p->oversign ? p->oversign : dkim_sign_oversign,
			p->headers ? p->headers : dkim_sign_headers);
	if (why == NULL && p->identity != NULL)
		why = add_identity(s, p->identity);
	return why;
}

struct dkim_sign *dkim_sign_new(const struct dkim_sign_params *p,
				const char **error_r)
{
	struct dkim_sign *s = xcalloc(1, sizeof(*s));
	const char *why;
	long long now = (long long)time(NULL);

	if (p->limits != NULL)
		s->lim = *p->limits;
	else
		dkim_limits_default(&s->lim);
	buf_init(&s->identity);
	dkim_hdr_init(&s->hdr, &s->lim);
	s->header_canon = p->header_canon;
	s->body = dkim_bodyhash_new(p->body_canon, DKIM_RSA_SHA256, UINT64_MAX);
	if ((why = setup(s, p)) != NULL) {
		dkim_sign_free(s);
		return fail(error_r, why);
	}
	s->t = p->timestamp == 0 ? now : p->timestamp < 0 ? -1 : p->timestamp;
	s->x = p->expire > 0 ? (s->t >= 0 ? s->t : now) + p->expire : -1;
	return s;
}

void dkim_sign_feed(struct dkim_sign *s, const void *data, size_t len)
{
	const char *p = data;

	if (!s->hdr.done) {
		size_t used = dkim_hdr_feed(&s->hdr, p, len);

		p += used;
		len -= used;
	}
	if (s->hdr.done)
		dkim_bodyhash_feed(s->body, p, len);
}

/* h=: each oversigned name once more than it occurs, the others as
 * often as they occur (§5.4.2, §8.15). */
static struct dkim_span *sign_list(const struct dkim_sign *s, size_t *n_out,
				   const char **error_r)
{
	size_t n = 0, max = s->lim.max_signed_headers;
	struct dkim_span *list = xcalloc((size_t)max + 1, sizeof(*list));

	for (size_t i = 0; i < s->n_names; i++) {
		const char *name = s->names[i];
		size_t len = strlen(name);
		size_t c = dkim_hdr_count(&s->hdr, name, len);
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= strcmp(s->names[j], name) == 0;
		if (dup)
			continue;
		if (i < s->n_over)
			c++;	/* oversigned */
		for (; c > 0; c--, n++) {
			if (n == max) {
				free(list);
				return fail(error_r, "too many fields to sign");
			}
			list[n] = (struct dkim_span){ name, len };
		}
	}
	*n_out = n;
	return list;
}

struct fold {
	struct buf *b;
	size_t col;
};

/* Append w, after a space, or after a fold when the line is full. */
static void put(struct fold *f, const char *w, size_t n, bool space)
{
	if (f->col + n + space > DKIM_FOLD_WIDTH && f->col > 8) {
		buf_append(f->b, "\r\n\t", 3);
		f->col = 8;
	} else if (space) {
		buf_appendc(f->b, ' ');
		f->col++;
	}
	buf_append(f->b, w, n);
	f->col += n;
}

static void put_tag(struct fold *f, const char *name, const char *value)
{
	struct buf t = BUF_INIT;

	buf_printf(&t, "%s=%s;", name, value);
	put(f, t.ptr, t.len, true);
	buf_free(&t);
}

/* The field up to "b=", the last tag (§3.5 order is free). */
static void field_head(const struct dkim_sign *s, const struct skey *k,
		       const struct dkim_span *h, size_t nh, struct fold *f)
{
	static const char *const canon[] = { "simple", "relaxed" };
	struct buf t = BUF_INIT;

	buf_appends(f->b, "DKIM-Signature:");
	f->col = 15;
	put_tag(f, "v", "1");
	put_tag(f, "a", dkim_algo_name(k->algo));
	buf_printf(&t, "%s/%s", canon[s->header_canon],
		   canon[s->body->canon.canon]);
	put_tag(f, "c", t.ptr);
	put_tag(f, "d", s->domain);
	put_tag(f, "s", k->selector);
	buf_reset(&t);
	if (s->t >= 0) {
		buf_printf(&t, "%lld", s->t);
		put_tag(f, "t", t.ptr);
	}
	buf_reset(&t);
	if (s->x >= 0) {
		buf_printf(&t, "%lld", s->x);
		put_tag(f, "x", t.ptr);
	}
	if (s->identity.len > 0)
		put_tag(f, "i", s->identity.ptr);
	for (size_t i = 0; i < nh; i++) {
		buf_reset(&t);
		buf_printf(&t, "%s%.*s%c", i == 0 ? "h=" : "", (int)h[i].len,
			   h[i].p, i + 1 < nh ? ':' : ';');
		put(f, t.ptr, t.len, i == 0);
	}
	buf_reset(&t);
	dkim_b64_encode(s->body->digest, s->body->digest_len, &t);
	put_tag(f, "bh", t.ptr);
	put(f, "b=", 2, true);
	buf_free(&t);
}

/* One complete signature field for key k, appended to out. */
static int sign_one(const struct dkim_sign *s, const struct skey *k,
		    const struct dkim_span *h, size_t nh, struct buf *out)
{
	struct buf field = BUF_INIT, sig = BUF_INIT, b64 = BUF_INIT;
	struct fold f = { &field, 0 };
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	int ret = -1;

	field_head(s, k, h, nh, &f);
	dkim_header_hash(k->algo, s->header_canon, &s->hdr, h, nh, field.ptr,
			 field.len, digest, &dlen);
	if (dkim_crypto_sign(k->pkey, k->algo, digest, dlen, &sig) == 0) {
		dkim_b64_encode((unsigned char *)sig.ptr, sig.len, &b64);
		for (size_t i = 0; i < b64.len; i += DKIM_B64_CHUNK)
			put(&f, b64.ptr + i, b64.len - i < DKIM_B64_CHUNK ?
			    b64.len - i : DKIM_B64_CHUNK, false);
		buf_append(&field, "\r\n", 2);
		buf_append(out, field.ptr, field.len);
		ret = 0;
	}
	buf_free(&field);
	buf_free(&sig);
	buf_free(&b64);
	return ret;
}

int dkim_sign_finish(struct dkim_sign *s, struct buf *out,
		     const char **error_r)
{
	struct dkim_span *h;
	size_t nh;
	int ret = 0;

	dkim_hdr_finish(&s->hdr);
	dkim_bodyhash_end(s->body);
	if (s->hdr.overflow)
		return refuse(error_r, "message header over the limits");
	if (dkim_hdr_count(&s->hdr, "from", 4) == 0)
		return refuse(error_r, "message has no From field");
	if ((h = sign_list(s, &nh, error_r)) == NULL)
		return -1;
	for (size_t i = 0; i < s->n_keys && ret == 0; i++)
		if (sign_one(s, &s->keys[i], h, nh, out) < 0)
			ret = refuse(error_r, "signing failed");
	free(h);
	return ret;
}

void dkim_sign_free(struct dkim_sign *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_keys; i++)
		EVP_PKEY_free(s->keys[i].pkey);
	for (size_t i = 0; i < s->n_names; i++)
		free(s->names[i]);
	free(s->names);
	buf_free(&s->identity);
	dkim_hdr_free(&s->hdr);
	dkim_bodyhash_free(s->body);
	free(s);
}
