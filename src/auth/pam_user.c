/* pam_user: system user lookups and PAM-backed accounts. */
#include "auth/pam_user.h"

#include <pwd.h>
#include <shadow.h>
#include <time.h>

#include "auth/userdb.h"
#include "lib/log.h"

void pam_user_config(const struct config *cfg, struct pam_map_config *c)
{
	c->domain = *cfg->auth_pam_domain != '\0' ? cfg->auth_pam_domain :
		cfg->domains.n > 0 ? cfg->domains.v[0] : NULL;
	c->min_uid = cfg->auth_pam_min_uid;
	c->max_uid = cfg->auth_pam_max_uid;
}

/* Locked or expired in /etc/shadow (unknown when it is not readable). */
static bool shadow_locked(const char *user)
{
	struct spwd *sp = getspnam(user);
	long today = (long)(time(NULL) / 86400);

	if (sp == NULL)
		return false;
	return pam_map_locked(sp->sp_pwdp, sp->sp_expire, today);
}

/* Is user an existing, unlocked system user of the uid range? */
static bool user_ok(const struct pam_map_config *c, const char *user)
{
	struct passwd *pw = getpwnam(user);

	return pw != NULL && pam_map_uid_ok(c, pw->pw_uid) &&
	       !shadow_locked(user);
}

int pam_user_route(const struct pam_map_config *c, const char *name,
		   struct buf *address_r)
{
	char user[PAM_MAP_USER_MAX + 1];
	struct buf a = BUF_INIT;
	int rc = 0;

	if (pam_map_name(c, name, user) < 0 || !user_ok(c, user))
		return 0;
	buf_printf(&a, "%s@%s", user, c->domain);
	if (userdb_address_normalize(a.ptr, address_r, NULL) == 0)
		rc = 1;
	buf_free(&a);
	return rc;
}

/* Create the PAM-backed account; another process may have just done so. */
static int create(struct userdb *db, const char *address, int64_t *id_r)
{
	const char *why = NULL;
	int rc;

	if (userdb_user_add_pam(db, address, id_r, &why) == 0) {
		log_info("event=pam-account address=<%s> account=%lld "
			 "status=created", address, (long long)*id_r);
		return 1;
	}
	rc = userdb_user_lookup(db, address, id_r);
	if (rc == 0)
		log_error("event=pam-account address=<%s> status=failed "
			  "reason=\"%s\"", address, why);
	return rc == 1 ? 1 : -1;
}

int pam_user_account(const struct pam_map_config *c, struct userdb *db,
		     const char *address, int64_t *id_r)
{
	struct buf a = BUF_INIT;
	int rc = pam_user_route(c, address, &a);

	if (rc == 1) {
		rc = userdb_user_lookup(db, a.ptr, id_r);
		if (rc == 0)
			rc = create(db, a.ptr, id_r);
	}
	buf_free(&a);
	return rc;
}
