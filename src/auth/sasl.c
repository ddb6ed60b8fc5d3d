/* sasl: the mechanism table and the exchange driver over sasl_plain and
 * sasl_scram (RFC 4422 §3: challenges, responses, outcome). */
#include "auth/sasl.h"

#include <string.h>

#include "auth/sasl_plain.h"
#include "auth/sasl_scram.h"
#include "lib/b64.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/addr.h"

struct sasl_exchange {
	enum sasl_mech mech;
	unsigned stage;		/* mechanism-specific, 0 at the start */
	bool over;		/* a final status was returned */
	bool cb_too_long;
	struct sasl_creds creds;
	struct sasl_scram scram;
};

static const char *const mech_names[SASL_MECH_COUNT] = {
	[SASL_MECH_PLAIN] = "PLAIN",
	[SASL_MECH_LOGIN] = "LOGIN",
	[SASL_MECH_SCRAM_SHA_256] = "SCRAM-SHA-256",
	[SASL_MECH_SCRAM_SHA_256_PLUS] = "SCRAM-SHA-256-PLUS",
};

/* LOGIN's prompts (draft-murchison-sasl-login-00 §2.1, as deployed). */
#define LOGIN_USER_PROMPT "Username:"
#define LOGIN_PASS_PROMPT "Password:"

int sasl_mech_parse(const char *name)
{
	for (int i = 0; i < SASL_MECH_COUNT; i++)
		if (str_ieq(name, mech_names[i]))
			return i;
	return -1;
}

const char *sasl_mech_name(enum sasl_mech mech)
{
	return mech < SASL_MECH_COUNT ? mech_names[mech] : "?";
}

static bool is_scram(enum sasl_mech mech)
{
	return mech == SASL_MECH_SCRAM_SHA_256 ||
	       mech == SASL_MECH_SCRAM_SHA_256_PLUS;
}

struct sasl_exchange *sasl_exchange_new(enum sasl_mech mech, const void *cb,
					size_t cb_len)
{
	struct sasl_exchange *x = xcalloc(1, sizeof(*x));

	x->mech = mech;
	x->cb_too_long = cb_len > SASL_CB_MAX;
	if (is_scram(mech))
		sasl_scram_init(&x->scram, mech == SASL_MECH_SCRAM_SHA_256_PLUS,
				cb, x->cb_too_long ? 0 : cb_len);
	return x;
}

void sasl_exchange_free(struct sasl_exchange *x)
{
	if (x == NULL)
		return;
	if (is_scram(x->mech))
		sasl_scram_clear(&x->scram);
	sasl_creds_wipe(&x->creds);
	xfree_secret(x, sizeof(*x));
}

enum sasl_mech sasl_exchange_mech(const struct sasl_exchange *x)
{
	return x->mech;
}

const char *sasl_exchange_authcid(const struct sasl_exchange *x)
{
	return is_scram(x->mech) ? x->scram.username : x->creds.authcid;
}

const char *sasl_exchange_password(const struct sasl_exchange *x)
{
	return x->creds.password;
}

static enum sasl_status failure(struct sasl_exchange *x, const char **error_r,
				const char *reason)
{
	x->over = true;
	if (reason != NULL)
		*error_r = reason;
	return SASL_FAILURE;
}

static enum sasl_status plain_step(struct sasl_exchange *x, const void *in,
				   size_t len, bool have_input,
				   const char **error_r)
{
	if (!have_input && x->stage == 0) {
		x->stage = 1;		/* empty challenge, then the message */
		return SASL_CHALLENGE;
	}
	if (sasl_plain_parse(in, len, &x->creds, error_r) < 0)
		return failure(x, error_r, NULL);
	x->over = true;
	return SASL_VERIFY;
}

/* LOGIN: stage 0 start, 1 user name asked, 2 password asked. An initial
 * response is the user name. */
static enum sasl_status login_step(struct sasl_exchange *x, const void *in,
				   size_t len, bool have_input,
				   struct buf *out, const char **error_r)
{
	if (x->stage == 0 && !have_input) {
		buf_appends(out, LOGIN_USER_PROMPT);
		x->stage = 1;
		return SASL_CHALLENGE;
	}
	if (x->stage <= 1) {
		if (sasl_login_field(in, len, true, x->creds.authcid,
				     sizeof(x->creds.authcid), error_r) < 0)
			return failure(x, error_r, NULL);
		buf_appends(out, LOGIN_PASS_PROMPT);
		x->stage = 2;
		return SASL_CHALLENGE;
	}
	if (sasl_login_field(in, len, false, x->creds.password,
			     sizeof(x->creds.password), error_r) < 0)
		return failure(x, error_r, NULL);
	x->over = true;
	return SASL_VERIFY;
}

static enum sasl_status scram_step(struct sasl_exchange *x, const void *in,
				   size_t len, bool have_input,
				   struct buf *out, const char **error_r)
{
	switch (x->scram.state) {
	case SCRAM_ST_CLIENT_FIRST:
		if (x->scram.plus && !x->scram.cb_available)
			return failure(x, error_r, "SCRAM-SHA-256-PLUS without "
				       "channel binding data (no TLS)");
		if (!have_input)
			return SASL_CHALLENGE;	/* empty: client sends first */
		if (sasl_scram_client_first(&x->scram, in, len, error_r) < 0)
			return failure(x, error_r, NULL);
		return SASL_LOOKUP;
	case SCRAM_ST_CLIENT_FINAL:
		if (sasl_scram_client_final(&x->scram, in, len, out,
					    error_r) < 0)
			return failure(x, error_r, NULL);
		x->over = true;
		return SASL_SUCCESS;
	case SCRAM_ST_LOOKUP:
	case SCRAM_ST_DONE:
		break;
	}
	return failure(x, error_r, "unexpected SCRAM message");
}

enum sasl_status sasl_exchange_step(struct sasl_exchange *x, const void *in,
				    size_t len, bool have_input,
				    struct buf *out, const char **error_r)
{
	if (x->over)
		return failure(x, error_r, "exchange already complete");
	if (x->cb_too_long)
		return failure(x, error_r, "channel binding data too long");
	if (have_input && len > SASL_RESPONSE_MAX)
		return failure(x, error_r, "response too long");
	switch (x->mech) {
	case SASL_MECH_PLAIN:
		return plain_step(x, in, len, have_input, error_r);
	case SASL_MECH_LOGIN:
		return login_step(x, in, len, have_input, out, error_r);
	case SASL_MECH_SCRAM_SHA_256:
	case SASL_MECH_SCRAM_SHA_256_PLUS:
		return scram_step(x, in, len, have_input, out, error_r);
	case SASL_MECH_COUNT:
		break;
	}
	return failure(x, error_r, "unknown mechanism");
}

enum sasl_status sasl_exchange_secret(struct sasl_exchange *x,
				      const struct sasl_scram_secret *secret,
				      const char *snonce, struct buf *out,
				      const char **error_r)
{
	if (x->over || !is_scram(x->mech))
		return failure(x, error_r, "unexpected SCRAM secret");
	if (sasl_scram_server_first(&x->scram, secret, snonce, out,
				    error_r) < 0)
		return failure(x, error_r, NULL);
	return SASL_CHALLENGE;
}

/* ---- base64 (RFC 4648 §4) and UTF-8 ---- */

int sasl_b64_decode(const char *in, size_t len, struct buf *out)
{
	size_t start = out->len;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		const unsigned char *q = (const unsigned char *)in + i;
		int v[4], pad = 0;
		bool last = i + 4 == len;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(q[k]);
			if (q[k] == '=' && last && k >= 2 &&
			    (k == 3 || q[3] == '=')) {
				v[k] = 0;
				pad++;
			} else if (v[k] < 0) {
				buf_truncate(out, start);
				return -1;
			}
		}
		/* the bits under the padding must be zero (canonical form) */
		if ((pad == 1 && (v[2] & 3) != 0) ||
		    (pad == 2 && (v[1] & 15) != 0)) {
			buf_truncate(out, start);
			return -1;
		}
		buf_appendc(out, (char)(v[0] << 2 | v[1] >> 4));
		if (pad < 2)
			buf_appendc(out, (char)((v[1] & 15) << 4 | v[2] >> 2));
		if (pad < 1)
			buf_appendc(out, (char)((v[2] & 3) << 6 | v[3]));
	}
	return 0;
}

void sasl_b64_encode(const void *in, size_t len, struct buf *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;

	buf_reserve(out, (len + 2) / 3 * 4);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		buf_appendc(out, abc[v >> 18 & 63]);
		buf_appendc(out, abc[v >> 12 & 63]);
		buf_appendc(out, n > 1 ? abc[v >> 6 & 63] : '=');
		buf_appendc(out, n > 2 ? abc[v & 63] : '=');
	}
}

bool sasl_utf8_valid(const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < len;) {
		size_t k;

		if (p[i] == '\0')
			return false;
		k = mail_utf8_seq_len(p + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}
