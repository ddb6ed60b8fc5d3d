/* pam_map: which system users get a mailbox, and under which address — the
 * pure rules of the PAM backend ("every Linux account gets a mailbox"),
 * no I/O, so they are unit-tested on their own (tests/unit/test_pam_map.c).
 *
 * A login name or recipient maps to the system user U when it is "U" or
 * "U@pam_domain" (domain compared case-insensitively). Mail addresses are
 * case-insensitive and stored lower-cased, so U is the lower-cased local
 * part; it must be a portable user name (POSIX 3.437: letters, digits,
 * '.', '_', '-', not starting with '-'), at most PAM_MAP_USER_MAX bytes.
 * The user must then exist, have a uid in [min_uid, max_uid] and not be
 * locked ('!' or '*' before the shadow hash) or expired (shadow sp_expire). */
#ifndef MK_PAM_MAP_H
#define MK_PAM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAM_MAP_USER_MAX 32	/* bytes of a system user name (useradd's limit) */

struct pam_map_config {
	const char *domain;	/* the domain system users' addresses are in */
	uint64_t min_uid, max_uid;
};

/* The system user name that name ("U" or "U@domain") maps to, into
 * user[PAM_MAP_USER_MAX + 1]: 0, or -1 when name cannot be a system user
 * of c->domain. */
int pam_map_name(const struct pam_map_config *c, const char *name,
		 char user[PAM_MAP_USER_MAX + 1]);
/* Is uid one of the mapped range? */
bool pam_map_uid_ok(const struct pam_map_config *c, uint64_t uid);
/* Is a shadow entry locked or expired? hash may be NULL (shadow not
 * readable: unknown, taken as not locked); expire and today are days
 * since 1970, expire < 0 meaning never. */
bool pam_map_locked(const char *hash, long expire, long today);

#endif
