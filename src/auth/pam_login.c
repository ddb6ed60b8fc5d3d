/* pam_login: sasl_server's PAM backend (route, start, cancel, done). */
#include "auth/pam_login.h"

#include <stdlib.h>
#include <unistd.h>

#include "auth/pam_auth.h"
#include "auth/pam_user.h"
#include "auth/sasl_server.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/xalloc.h"

struct pam_login {
	const struct config *cfg;
	struct userdb *db;
	struct sasl_server *sasl;
	struct pam_auth *workers;
};

static int route(void *ctx, const char *name, struct buf *address_r)
{
	struct pam_login *pl = ctx;
	struct pam_map_config c;

	if (!pl->cfg->auth_pam)
		return 0;
	pam_user_config(pl->cfg, &c);
	return pam_user_route(&c, name, address_r);
}

static void start(void *ctx, uint64_t token, const char *address,
		  const char *password, const char *ip)
{
	struct pam_login *pl = ctx;
	struct pam_map_config c;
	char user[PAM_MAP_USER_MAX + 1];

	pam_user_config(pl->cfg, &c);
	/* route() made address, but a reload may have come since (LOGIN
	 * sends the name and the password in two steps) */
	if (!pl->cfg->auth_pam || pam_map_name(&c, address, user) < 0)
		sasl_server_backend_done(pl->sasl, token, SASL_BACKEND_TEMPFAIL,
					 0, "PAM configuration changed");
	else if (pam_auth_start(pl->workers, token, pl->cfg->auth_pam_service,
				user, password, ip) < 0)
		sasl_server_backend_done(pl->sasl, token, SASL_BACKEND_TEMPFAIL,
					 0, "too many PAM checks waiting");
}

static void cancel(void *ctx, uint64_t token)
{
	struct pam_login *pl = ctx;

	pam_auth_cancel(pl->workers, token);
}

/* PAM's answer; a yes gets the system user's account (created at the
 * first login). */
static void on_done(void *ctx, uint64_t token, const char *user,
		    enum pam_auth_result r, const char *reason)
{
	struct pam_login *pl = ctx;
	struct pam_map_config c;
	int64_t account = 0;
	int rc;

	if (r != PAM_AUTH_OK) {
		sasl_server_backend_done(pl->sasl, token, r == PAM_AUTH_DENIED ?
					 SASL_BACKEND_FAIL : SASL_BACKEND_TEMPFAIL,
					 0, reason);
		return;
	}
	pam_user_config(pl->cfg, &c);
	rc = pam_user_account(&c, pl->db, user, &account);
	if (rc == 1)
		sasl_server_backend_done(pl->sasl, token, SASL_BACKEND_OK,
					 account, "");
	else if (rc == 0)	/* gone or out of range since the login began */
		sasl_server_backend_done(pl->sasl, token, SASL_BACKEND_FAIL, 0,
					 "unknown user");
	else
		sasl_server_backend_done(pl->sasl, token, SASL_BACKEND_TEMPFAIL,
					 0, "database error");
}

void pam_login_check_setup(const struct pam_login *pl)
{
	const struct config *cfg = pl->cfg;
	struct buf path = BUF_INIT;

	if (!cfg->auth_pam)
		return;
	buf_printf(&path, "/etc/pam.d/%s", cfg->auth_pam_service);
	if (access(path.ptr, R_OK) < 0)
		log_warn("event=pam service=%s status=degraded reason=\"%s is "
			 "missing: PAM uses its 'other' stack\" action=\"install "
			 "contrib/pam.d/mailkeep there\"", cfg->auth_pam_service,
			 path.ptr);
	if (geteuid() != 0 && access("/etc/shadow", R_OK) < 0)
		log_warn("event=pam status=degraded reason=\"/etc/shadow is not "
			 "readable: pam_unix can check only the password of the "
			 "user mailkeep runs as\" action=\"start mailkeep as root "
			 "(the auth process gets the group shadow)\"");
	buf_free(&path);
}

struct pam_login *pam_login_new(struct event_base *base, struct userdb *db,
				const struct config *cfg, struct sasl_server *s)
{
	struct pam_login *pl = xcalloc(1, sizeof(*pl));
	struct sasl_server_backend b = {
		.route = route, .start = start, .cancel = cancel, .ctx = pl,
	};

	pl->cfg = cfg;
	pl->db = db;
	pl->sasl = s;
	pl->workers = pam_auth_new(base, on_done, pl);
	sasl_server_set_backend(s, &b);
	pam_login_check_setup(pl);
	return pl;
}

void pam_login_free(struct pam_login *pl)
{
	if (pl == NULL)
		return;
	sasl_server_set_backend(pl->sasl, NULL);
	pam_auth_free(pl->workers);
	free(pl);
}
