/* resolve: which accounts (and forwarding addresses) a recipient address
 * reaches; shared by the SMTP RCPT check and local delivery.
 *
 * For L@D, comparisons case-insensitive, in the order Postfix's virtual and
 * local agents would apply them:
 *  1. D not a local domain (configuration or domains table): NOT_LOCAL.
 *  2. a database alias for exactly L@D: expand each target.
 *  3. an account L@D: that account (or, with system_account set, the
 *     account of a system user L, created at its first mail).
 *  4. an aliases-file entry for L (the file applies to every local domain;
 *     a bare target "alice" means alice@PRIMARY): expand each target.
 *  5. with a recipient delimiter and L containing one of its characters:
 *     steps 2-4 again for L'@D, L' = L up to the first delimiter character
 *     (alice+news@D reaches alice@D).
 *  6. the domain's catch-all alias "@D": expand.
 *  7. postmaster@D and abuse@D always exist (RFC 5321 4.5.1, RFC 2142):
 *     unmatched, they reach postmaster@PRIMARY if that resolves to anything,
 *     else the account with the lowest id in PRIMARY (none: UNKNOWN).
 *  8. otherwise UNKNOWN.
 * An address without '@' is taken as L@PRIMARY (RFC 5321 4.1.1.3 allows
 * RCPT TO:<Postmaster>).
 *
 * Expansion: targets may be local (expanded again, depth + 1), or outside
 * our domains (collected in remote[]). A target naming the alias itself
 * ("alice@D: alice@D, archive@D") means the real mailbox alice@D, as in
 * Postfix; so does a target leading back to an address being expanded
 * (when it has an account; when not, that branch is a loop). Each address is
 * expanded once; accounts appear once. An aliases-file "\name" target is
 * the mailbox only. Commands, files and :include: targets are logged and
 * skipped. Nothing delivered: LOOP if a loop was met, else UNKNOWN. */
#ifndef MK_RESOLVE_H
#define MK_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/userdb.h"
#include "mail/aliases.h"

#define RESOLVE_MAX_DEPTH 20		/* alias nesting: deeper is LOOP */
#define RESOLVE_MAX_ADDRESSES 1000	/* distinct addresses per expansion:
					 * more is TEMPFAIL (a config problem
					 * the operator must fix; no mail lost) */

enum resolve_status {
	RESOLVE_OK,		/* at least one account or remote target */
	RESOLVE_UNKNOWN,	/* local domain, no such user (5.1.1) */
	RESOLVE_NOT_LOCAL,	/* not one of our domains (relay decision) */
	RESOLVE_LOOP,		/* alias loop or nesting too deep (5.4.6) */
	RESOLVE_TEMPFAIL,	/* database error or expansion limit (4.3.0) */
};

struct resolve_ctx {
	struct userdb *db;
	const struct aliases *aliases;	/* may be NULL */
	const char *primary_domain;
	const char *const *config_domains;
	size_t nconfig_domains;
	const char *delimiter;		/* "" = no sub-addressing */
	/* Optional: the account of a canonical addr the database has none
	 * for, created on the spot (system users, auth/pam_user.h): 1
	 * (*id_r set), 0 none, -1 error. */
	int (*system_account)(void *arg, const char *addr, int64_t *id_r);
	void *system_arg;
};

struct resolve_result {
	int64_t *accounts;
	char **account_addrs;		/* canonical address of accounts[i] */
	size_t naccounts;
	char **remote;			/* forwarding targets outside our domains */
	size_t nremote;
};

/* Resolve address into *out (always initialised; free it with
 * resolve_result_free). error_r says why for every status but OK. */
enum resolve_status resolve_address(const struct resolve_ctx *ctx,
				    const char *address,
				    struct resolve_result *out,
				    const char **error_r);
void resolve_result_free(struct resolve_result *r);
/* "ok", "unknown", "not-local", "loop", "tempfail": for log lines. */
const char *resolve_status_name(enum resolve_status s);

#endif
