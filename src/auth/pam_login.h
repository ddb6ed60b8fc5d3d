/* pam_login: the PAM backend of the auth process's logins — routes the
 * login names of system users (pam_user.h), runs their password checks in
 * PAM workers (pam_auth.h) with the configured service, and gives a
 * system user whose check passed its PAM-backed account (created at the
 * first login). Plugged into sasl_server as its backend, so throttling and
 * the fail2ban log lines are those of every login. Only built with libpam. */
#ifndef MK_PAM_LOGIN_H
#define MK_PAM_LOGIN_H

#include "daemon/conf/config.h"

struct event_base;
struct sasl_server;
struct userdb;
struct pam_login;

/* The backend of s, reading the [auth] pam options from cfg at each login
 * (cfg must outlive it; reloads are seen). Logs a warning when the
 * service's file is missing or /etc/shadow is not readable. */
struct pam_login *pam_login_new(struct event_base *base, struct userdb *db,
				const struct config *cfg, struct sasl_server *s);
/* Detaches from the sasl_server and kills the workers. */
void pam_login_free(struct pam_login *pl);
/* Say what the current configuration will do (start, reload). */
void pam_login_check_setup(const struct pam_login *pl);

#endif
