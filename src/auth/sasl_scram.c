/* sasl_scram: SCRAM-SHA-256(-PLUS) message parsing, proofs and secrets
 * (RFC 5802 §3, §5-§7; RFC 7677; RFC 9266; RFC 5803). */
#include "auth/sasl_scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"

static int fail(const char **error_r, const char *reason)
{
	*error_r = reason;
	return -1;
}

/* ---- keys (RFC 5802 §3) ---- */

static void hmac256(const uint8_t *key, size_t klen, const void *data,
		    size_t len, uint8_t out[SASL_SCRAM_KEY_LEN])
{
	unsigned olen = SASL_SCRAM_KEY_LEN;

	if (HMAC(EVP_sha256(), key, (int)klen, data, len, out, &olen) == NULL)
		abort();	/* OpenSSL without SHA-256: not recoverable */
}

int sasl_scram_secret_derive(const char *password, const uint8_t *salt,
			     size_t salt_len, unsigned iter,
			     struct sasl_scram_secret *out)
{
	uint8_t salted[SASL_SCRAM_KEY_LEN], client_key[SASL_SCRAM_KEY_LEN];
	int ok;

	memset(out, 0, sizeof(*out));
	if (salt_len == 0 || salt_len > SASL_SCRAM_SALT_MAX || iter == 0 ||
	    iter > SASL_SCRAM_ITER_MAX)
		return -1;
	/* SaltedPassword := Hi(password, salt, i) */
	ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
			       (int)salt_len, (int)iter, EVP_sha256(),
			       sizeof(salted), salted);
	if (ok == 1) {
		hmac256(salted, sizeof(salted), "Client Key", 10, client_key);
		SHA256(client_key, sizeof(client_key), out->stored_key);
		hmac256(salted, sizeof(salted), "Server Key", 10, out->server_key);
		memcpy(out->salt, salt, salt_len);
		out->salt_len = salt_len;
		out->iter = iter;
	}
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
	return ok == 1 ? 0 : -1;
}

void sasl_scram_secret_format(const struct sasl_scram_secret *s,
			      struct buf *out)
{
	buf_printf(out, "SCRAM-SHA-256$%u:", s->iter);
	sasl_b64_encode(s->salt, s->salt_len, out);
	buf_appendc(out, '$');
	sasl_b64_encode(s->stored_key, sizeof(s->stored_key), out);
	buf_appendc(out, ':');
	sasl_b64_encode(s->server_key, sizeof(s->server_key), out);
}

/* Decode the base64 text [p, end) into out[want] exactly (want 0: up to
 * max bytes, length into *got). */
static int b64_field(const char *p, const char *end, uint8_t *out,
		     size_t want, size_t max, size_t *got)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	if (sasl_b64_decode(p, (size_t)(end - p), &b) == 0 &&
	    (want ? b.len == want : (b.len > 0 && b.len <= max))) {
		memcpy(out, b.ptr, b.len);
		if (got != NULL)
			*got = b.len;
		rc = 0;
	}
	if (b.ptr != NULL)
		explicit_bzero(b.ptr, b.len);
	buf_free(&b);
	return rc;
}

/* RFC 5803 §3: SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey> */
int sasl_scram_secret_parse(const char *text, struct sasl_scram_secret *out,
			    const char **error_r)
{
	static const char prefix[] = "SCRAM-SHA-256$";
	const char *p = text, *colon1, *dollar, *colon2, *end;
	char *num_end;
	unsigned long iter;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
		return fail(error_r, "not a SCRAM-SHA-256 secret");
	p += sizeof(prefix) - 1;
	end = p + strlen(p);
	colon1 = strchr(p, ':');
	dollar = colon1 != NULL ? strchr(colon1, '$') : NULL;
	colon2 = dollar != NULL ? strchr(dollar, ':') : NULL;
	if (colon2 == NULL || p[0] < '1' || p[0] > '9')
		return fail(error_r, "malformed SCRAM secret");
	iter = strtoul(p, &num_end, 10);
	if (num_end != colon1 || iter > SASL_SCRAM_ITER_MAX)
		return fail(error_r, "bad SCRAM iteration count");
	out->iter = (unsigned)iter;
	if (b64_field(colon1 + 1, dollar, out->salt, 0, SASL_SCRAM_SALT_MAX,
		      &out->salt_len) < 0 ||
	    b64_field(dollar + 1, colon2, out->stored_key,
		      SASL_SCRAM_KEY_LEN, 0, NULL) < 0 ||
	    b64_field(colon2 + 1, end, out->server_key, SASL_SCRAM_KEY_LEN, 0,
		      NULL) < 0) {
		explicit_bzero(out, sizeof(*out));
		return fail(error_r, "bad base64 in SCRAM secret");
	}
	return 0;
}

/* ---- state ---- */

void sasl_scram_init(struct sasl_scram *s, bool plus, const void *cb,
		     size_t cb_len)
{
	memset(s, 0, sizeof(*s));
	s->plus = plus;
	s->cb_available = cb_len > 0;
	if (cb_len > 0 && cb_len <= sizeof(s->cb)) {
		memcpy(s->cb, cb, cb_len);
		s->cb_len = cb_len;
	}
}

void sasl_scram_clear(struct sasl_scram *s)
{
	buf_free(&s->gs2_header);
	buf_free(&s->first_bare);
	buf_free(&s->server_first);
	buf_free(&s->nonce);
	explicit_bzero(s, sizeof(*s));
}

/* ---- message syntax (RFC 5802 §7) ---- */

struct attr {
	char name;
	const char *v;
	size_t len;
	const char *start;	/* of "x=" */
};

/* Walks "x=v,y=w": p is at an attribute (first) or at the ',' before the
 * next one. */
struct attr_iter {
	const char *p, *end;
	bool first;
};

static void attr_iter_init(struct attr_iter *it, const char *p,
			   const char *end)
{
	it->p = p;
	it->end = end;
	it->first = true;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The next attr-val ("x=value", value not empty): 1 one taken, 0 at
 * the end, -1 malformed (an empty one, a trailing ','). */
static int attr_next(struct attr_iter *it, struct attr *a)
{
	const char *q = it->p, *e;

	if (q >= it->end)
		return 0;
	if (!it->first && *q++ != ',')
		return -1;
	it->first = false;
	e = memchr(q, ',', (size_t)(it->end - q));
	if (e == NULL)
		e = it->end;
	if (e - q < 3 || !is_alpha(q[0]) || q[1] != '=')
		return -1;
	a->name = q[0];
	a->v = q + 2;
	a->len = (size_t)(e - q - 2);
	a->start = q;
	it->p = e;
	return 1;
}

/* Bit of an attribute letter, for the duplicate check. */
static uint64_t attr_bit(char c)
{
	return (uint64_t)1 << (c >= 'a' ? c - 'a' : 26 + c - 'A');
}

/* Optional extensions until the end (or, with stop, until attribute stop,
 * left in *a): letters may not repeat nor be one of seen. */
static int extensions(struct attr_iter *it, uint64_t seen, char stop,
		      struct attr *a, const char **error_r)
{
	int r;

	while ((r = attr_next(it, a)) == 1) {
		if (stop != 0 && a->name == stop)
			return 0;
		if (a->name == 'm')
			return fail(error_r, "unsupported mandatory extension (m=)");
		if (seen & attr_bit(a->name))
			return fail(error_r, "duplicate SCRAM attribute");
		seen |= attr_bit(a->name);
	}
	if (r < 0)
		return fail(error_r, "malformed SCRAM attribute");
	return stop != 0 ? fail(error_r, "missing client proof (p=)") : 0;
}

/* printable = %x21-2B / %x2D-7E: a nonce. */
static bool nonce_valid(const char *p, size_t n)
{
	if (n == 0 || n > SASL_SCRAM_NONCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* saslname (RFC 5802 §5.1): "=2C" is ',', "=3D" is '=', else no '='. */
static int saslname_decode(const char *p, size_t n, char *out, size_t size,
			   const char **error_r)
{
	size_t o = 0;

	if (n == 0)
		return fail(error_r, "empty user name");
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '=') {
			if (n - i < 3 || (memcmp(p + i, "=2C", 3) != 0 &&
					  memcmp(p + i, "=3D", 3) != 0))
				return fail(error_r, "bad '=' escape in a user name");
			c = p[i + 1] == '2' ? ',' : '=';
			i += 2;
		}
		if (o + 1 >= size)
			return fail(error_r, "identity too long");
		out[o++] = c;
	}
	out[o] = '\0';
	if (!sasl_utf8_valid(out, o))
		return fail(error_r, "identity is not UTF-8");
	return 0;
}

static bool cbname_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* gs2-cbind-flag = ("p=" cb-name) / "n" / "y" */
static int gs2_flag(struct sasl_scram *s, const char **p, const char *end,
		    char *flag, const char **error_r)
{
	const char *q = *p, *name;

	if (q < end && (*q == 'n' || *q == 'y')) {
		*flag = *q;
		*p = q + 1;
		return 0;
	}
	if (end - q < 2 || q[0] != 'p' || q[1] != '=')
		return fail(error_r, "bad gs2 header");
	name = q += 2;
	while (q < end && cbname_char(*q))
		q++;
	if (q == name)
		return fail(error_r, "bad gs2 header");
	if ((size_t)(q - name) != strlen(SASL_SCRAM_CB_NAME) ||
	    memcmp(name, SASL_SCRAM_CB_NAME, (size_t)(q - name)) != 0)
		return fail(error_r, "unsupported channel binding type");
	*flag = 'p';
	s->cb_used = true;
	*p = q;
	return 0;
}

/* gs2-header = gs2-cbind-flag "," [ authzid ] ","; authzid into az. */
static int gs2_header(struct sasl_scram *s, const char **p, const char *end,
		      char *flag, char *az, size_t az_size,
		      const char **error_r)
{
	const char *start = *p, *q;

	if (gs2_flag(s, p, end, flag, error_r) < 0)
		return -1;
	q = *p;
	if (q == end || *q++ != ',')
		return fail(error_r, "bad gs2 header");
	az[0] = '\0';
	if (q < end && *q != ',') {
		const char *v = q + 2, *e;

		if (end - q < 2 || q[0] != 'a' || q[1] != '=')
			return fail(error_r, "bad gs2 header");
		e = memchr(v, ',', (size_t)(end - v));
		if (e == NULL)
			return fail(error_r, "bad gs2 header");
		if (saslname_decode(v, (size_t)(e - v), az, az_size,
				    error_r) < 0)
			return -1;
		q = e;
	}
	if (q == end || *q++ != ',')
		return fail(error_r, "bad gs2 header");
	buf_append(&s->gs2_header, start, (size_t)(q - start));
	*p = q;
	return 0;
}

/* RFC 5802 §6: which flag goes with which mechanism and server offer. */
static int cb_policy(const struct sasl_scram *s, char flag,
		     const char **error_r)
{
	if (s->plus && flag != 'p')
		return fail(error_r, "SCRAM-SHA-256-PLUS without channel binding");
	if (!s->plus && flag == 'p')
		return fail(error_r, "channel binding with a non-PLUS mechanism");
	if (flag == 'y' && s->cb_available)
		return fail(error_r, "channel binding downgrade: client says 'y' "
			    "while -PLUS is offered");
	if (flag == 'p' && !s->cb_available)
		return fail(error_r, "no channel binding data (TLS)");
	return 0;
}

/* client-first-message-bare = [reserved-mext ","] username "," nonce
 * ["," extensions] */
static int first_bare(struct sasl_scram *s, const char *p, const char *end,
		      const char **error_r)
{
	const char *bare = p;
	struct attr_iter it;
	struct attr a;
	int r;

	attr_iter_init(&it, p, end);
	r = attr_next(&it, &a);

	if (r == 1 && a.name == 'm')
		return fail(error_r, "unsupported mandatory extension (m=)");
	if (r != 1 || a.name != 'n')
		return fail(error_r, "missing user name (n=)");
	if (saslname_decode(a.v, a.len, s->username, sizeof(s->username),
			    error_r) < 0)
		return -1;
	r = attr_next(&it, &a);
	if (r != 1 || a.name != 'r')
		return fail(error_r, "missing client nonce (r=)");
	if (!nonce_valid(a.v, a.len))
		return fail(error_r, "bad client nonce");
	buf_append(&s->nonce, a.v, a.len);
	if (extensions(&it, attr_bit('n') | attr_bit('r'), 0, &a, error_r) < 0)
		return -1;
	buf_append(&s->first_bare, bare, (size_t)(end - bare));
	return 0;
}

static int message_check(const void *msg, size_t len, const char **error_r)
{
	if (len == 0)
		return fail(error_r, "empty SCRAM message");
	if (len > SASL_RESPONSE_MAX)
		return fail(error_r, "SCRAM message too long");
	if (memchr(msg, '\0', len) != NULL)
		return fail(error_r, "NUL in a SCRAM message");
	return 0;
}

int sasl_scram_client_first(struct sasl_scram *s, const void *msg, size_t len,
			    const char **error_r)
{
	const char *p = msg, *end = p + len;
	char flag, authzid[SASL_AUTHCID_MAX + 1];

	if (s->state != SCRAM_ST_CLIENT_FIRST)
		return fail(error_r, "unexpected client-first-message");
	s->state = SCRAM_ST_DONE;	/* until it all checks out */
	if (message_check(msg, len, error_r) < 0 ||
	    gs2_header(s, &p, end, &flag, authzid, sizeof(authzid),
		       error_r) < 0 ||
	    cb_policy(s, flag, error_r) < 0 ||
	    first_bare(s, p, end, error_r) < 0)
		return -1;
	if (authzid[0] != '\0' && !str_ieq(authzid, s->username))
		return fail(error_r, "authorization identity differs from the "
			    "authentication identity");
	s->state = SCRAM_ST_LOOKUP;
	return 0;
}

int sasl_scram_server_first(struct sasl_scram *s,
			    const struct sasl_scram_secret *secret,
			    const char *snonce, struct buf *out,
			    const char **error_r)
{
	if (s->state != SCRAM_ST_LOOKUP)
		return fail(error_r, "unexpected SCRAM secret");
	if (!nonce_valid(snonce, strlen(snonce)) ||
	    s->nonce.len + strlen(snonce) > SASL_SCRAM_NONCE_MAX * 2)
		return fail(error_r, "bad server nonce");
	s->secret = *secret;
	buf_appends(&s->nonce, snonce);
	/* server-first-message = nonce "," salt "," iteration-count */
	buf_printf(&s->server_first, "r=%s,s=", buf_cstr(&s->nonce));
	sasl_b64_encode(secret->salt, secret->salt_len, &s->server_first);
	buf_printf(&s->server_first, ",i=%u", secret->iter);
	buf_append(out, s->server_first.ptr, s->server_first.len);
	s->state = SCRAM_ST_CLIENT_FINAL;
	return 0;
}

/* channel-binding = "c=" base64 of gs2-header [cbind-data] (§7). */
static int check_cbind(const struct sasl_scram *s, const struct attr *a,
		       const char **error_r)
{
	struct buf got = BUF_INIT, want = BUF_INIT;
	bool same;

	if (sasl_b64_decode(a->v, a->len, &got) < 0) {
		buf_free(&got);
		return fail(error_r, "bad base64 in channel binding (c=)");
	}
	buf_append(&want, s->gs2_header.ptr, s->gs2_header.len);
	if (s->cb_used)
		buf_append(&want, s->cb, s->cb_len);
	same = got.len == want.len && CRYPTO_memcmp(got.ptr, want.ptr,
						    got.len) == 0;
	buf_free(&got);
	buf_free(&want);
	return same ? 0 : fail(error_r, "channel binding mismatch");
}

/* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof is
 * right when H(ClientKey) = StoredKey (§3). */
static int check_proof(struct sasl_scram *s, const uint8_t *proof,
		       const char *without_proof, size_t wlen, struct buf *out)
{
	struct buf am = BUF_INIT;
	uint8_t sig[SASL_SCRAM_KEY_LEN], key[SASL_SCRAM_KEY_LEN];
	uint8_t stored[SASL_SCRAM_KEY_LEN];
	int ok;

	buf_printf(&am, "%s,%s,", buf_cstr(&s->first_bare),
		   buf_cstr(&s->server_first));
	buf_append(&am, without_proof, wlen);
	hmac256(s->secret.stored_key, SASL_SCRAM_KEY_LEN, am.ptr, am.len, sig);
	for (size_t i = 0; i < SASL_SCRAM_KEY_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	SHA256(key, sizeof(key), stored);
	ok = CRYPTO_memcmp(stored, s->secret.stored_key, sizeof(stored)) == 0;
	if (ok) {
		hmac256(s->secret.server_key, SASL_SCRAM_KEY_LEN, am.ptr,
			am.len, sig);
		buf_appends(out, "v=");
		sasl_b64_encode(sig, sizeof(sig), out);
	}
	explicit_bzero(key, sizeof(key));
	buf_free(&am);
	return ok ? 0 : -1;
}

/* client-final-message = channel-binding "," nonce ["," extensions] ","
 * proof */
int sasl_scram_client_final(struct sasl_scram *s, const void *msg, size_t len,
			    struct buf *out, const char **error_r)
{
	uint8_t proof[SASL_SCRAM_KEY_LEN];
	struct attr_iter it;
	struct attr a;

	if (s->state != SCRAM_ST_CLIENT_FINAL)
		return fail(error_r, "unexpected client-final-message");
	s->state = SCRAM_ST_DONE;
	if (message_check(msg, len, error_r) < 0)
		return -1;
	attr_iter_init(&it, msg, (const char *)msg + len);
	if (attr_next(&it, &a) != 1 || a.name != 'c')
		return fail(error_r, "missing channel binding (c=)");
	if (check_cbind(s, &a, error_r) < 0)
		return -1;
	if (attr_next(&it, &a) != 1 || a.name != 'r')
		return fail(error_r, "missing nonce (r=)");
	if (a.len != s->nonce.len || memcmp(a.v, s->nonce.ptr, a.len) != 0)
		return fail(error_r, "wrong nonce");
	if (extensions(&it, attr_bit('c') | attr_bit('r'), 'p', &a, error_r) < 0)
		return -1;
	if (it.p != it.end)
		return fail(error_r, "client proof (p=) is not last");
	if (b64_field(a.v, a.v + a.len, proof, sizeof(proof), 0, NULL) < 0)
		return fail(error_r, "bad client proof (p=)");
	if (check_proof(s, proof, msg, (size_t)(a.start - 1 - (const char *)msg),
			out) < 0)
		return fail(error_r, "bad password");
	return 0;
}
