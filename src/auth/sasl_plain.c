/* sasl_plain: PLAIN and LOGIN message parsing. */
#include "auth/sasl_plain.h"

#include <string.h>

#include "lib/str.h"

static int fail(const char **error_r, const char *reason)
{
	*error_r = reason;
	return -1;
}

/* Copy a field of n bytes (n < size checked by the caller) and end it. */
static void take(char *out, const char *p, size_t n)
{
	memcpy(out, p, n);
	out[n] = '\0';
}

/* RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
int sasl_plain_parse(const void *msg, size_t len, struct sasl_creds *out,
		     const char **error_r)
{
	const char *p = msg, *end = p + len, *nul1, *nul2;
	size_t zlen, clen, plen;

	memset(out, 0, sizeof(*out));
	if (len > SASL_RESPONSE_MAX)
		return fail(error_r, "PLAIN message too long");
	nul1 = memchr(p, '\0', len);
	nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1)) :
		NULL;
	if (nul2 == NULL)
		return fail(error_r, "PLAIN message without two NUL separators");
	if (memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL)
		return fail(error_r, "NUL in the PLAIN password");
	zlen = (size_t)(nul1 - p);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = (size_t)(end - nul2 - 1);
	if (clen == 0 || plen == 0)
		return fail(error_r, clen == 0 ? "empty authentication identity" :
			    "empty password");
	if (zlen > SASL_AUTHCID_MAX || clen > SASL_AUTHCID_MAX)
		return fail(error_r, "identity too long");
	if (plen > SASL_PASSWORD_MAX)
		return fail(error_r, "password too long");
	if (!sasl_utf8_valid(p, zlen) || !sasl_utf8_valid(nul1 + 1, clen))
		return fail(error_r, "identity is not UTF-8");
	take(out->authcid, nul1 + 1, clen);
	if (zlen > 0 && (zlen != clen || !str_nieq(p, out->authcid, clen))) {
		out->authcid[0] = '\0';
		return fail(error_r, "authorization identity differs from the "
			    "authentication identity");
	}
	take(out->password, nul2 + 1, plen);
	return 0;
}

int sasl_login_field(const void *msg, size_t len, bool is_user, char *out,
		     size_t size, const char **error_r)
{
	out[0] = '\0';
	if (len == 0)
		return fail(error_r, is_user ? "empty user name" :
			    "empty password");
	if (len >= size)
		return fail(error_r, is_user ? "identity too long" :
			    "password too long");
	if (memchr(msg, '\0', len) != NULL)
		return fail(error_r, "NUL in a LOGIN answer");
	if (is_user && !sasl_utf8_valid(msg, len))
		return fail(error_r, "identity is not UTF-8");
	take(out, msg, len);
	return 0;
}

void sasl_creds_wipe(struct sasl_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}
