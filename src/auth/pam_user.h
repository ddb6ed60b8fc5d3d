/* pam_user: system users as mail accounts — the lookups behind pam_map's
 * rules (getpwnam; getspnam where /etc/shadow is readable, which it is for
 * the auth process when started as root, see daemon.c) and the PAM-backed
 * account a system user gets in the user database at its first login or
 * first mail, so that it has an id, a store and the default mailboxes
 * like any account. Used by the auth process (logins, RCPT) and by local
 * delivery (lookup.c); needs no libpam. */
#ifndef MK_PAM_USER_H
#define MK_PAM_USER_H

#include <stdint.h>

#include "auth/pam_map.h"
#include "daemon/conf/config.h"
#include "lib/buf.h"

struct userdb;

/* The [auth] pam_* options of cfg as mapping rules (c points into cfg). */
void pam_user_config(const struct config *cfg, struct pam_map_config *c);
/* Does name ("U" or "U@domain") name a system user that gets a mailbox?
 * 1 yes, its canonical address in address_r; 0 no. */
int pam_user_route(const struct pam_map_config *c, const char *name,
		   struct buf *address_r);
/* The account of address when it is a mapped system user, created
 * (PAM-backed) at first use: 1 found or created (*id_r), 0 not a mapped
 * system user, -1 database error. */
int pam_user_account(const struct pam_map_config *c, struct userdb *db,
		     const char *address, int64_t *id_r);

#endif
