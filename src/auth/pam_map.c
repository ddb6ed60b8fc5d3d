/* pam_map: login names and addresses to system user names; uid ranges;
 * locked shadow entries. Pure: no lookups here (see pam_user.c). */
#include "auth/pam_map.h"

#include <string.h>

#include "lib/str.h"

/* POSIX portable user name characters, lower case only (see pam_map.h). */
static bool user_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || c == '_')
		return true;
	if (first)
		return false;
	return (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int user_copy(const char *s, size_t n, char user[PAM_MAP_USER_MAX + 1])
{
	if (n == 0 || n > PAM_MAP_USER_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];

		if (!user_char(c, i == 0))
			return -1;
		user[i] = c;
	}
	user[n] = '\0';
	return 0;
}

int pam_map_name(const struct pam_map_config *c, const char *name,
		 char user[PAM_MAP_USER_MAX + 1])
{
	const char *at = strrchr(name, '@');
	size_t n = at != NULL ? (size_t)(at - name) : strlen(name);

	user[0] = '\0';
	if (at != NULL && (c->domain == NULL || !str_ieq(at + 1, c->domain)))
		return -1;
	if (user_copy(name, n, user) < 0) {
		user[0] = '\0';
		return -1;
	}
	return 0;
}

bool pam_map_uid_ok(const struct pam_map_config *c, uint64_t uid)
{
	return uid >= c->min_uid && uid <= c->max_uid;
}

bool pam_map_locked(const char *hash, long expire, long today)
{
	if (hash != NULL && (hash[0] == '!' || hash[0] == '*'))
		return true;
	return expire >= 0 && today >= expire;
}
