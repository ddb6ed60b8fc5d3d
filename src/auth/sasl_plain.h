/* sasl_plain: the client messages of PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login-00): pure parsers, no I/O. */
#ifndef MK_SASL_PLAIN_H
#define MK_SASL_PLAIN_H

#include <stddef.h>

#include "auth/sasl.h"

/* Credentials out of a PLAIN message or the LOGIN exchange. Wipe with
 * sasl_creds_wipe (the password is in it). */
struct sasl_creds {
	char authcid[SASL_AUTHCID_MAX + 1];
	char password[SASL_PASSWORD_MAX + 1];
};

/* RFC 4616 §2: [authzid] NUL authcid NUL passwd. authcid and password are
 * required, identities are UTF-8, and an authzid must be empty or equal
 * to authcid (ASCII case-insensitive): no proxy logins. */
int sasl_plain_parse(const void *msg, size_t len, struct sasl_creds *out,
		     const char **error_r);
/* One LOGIN answer (user name or password) into out[size]: not empty,
 * no NUL, shorter than size; a user name must be UTF-8. */
int sasl_login_field(const void *msg, size_t len, bool is_user, char *out,
		     size_t size, const char **error_r);
void sasl_creds_wipe(struct sasl_creds *c);

#endif
