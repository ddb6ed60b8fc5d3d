/* pam_auth: PAM transactions (pam_authenticate + pam_acct_mgmt) run in
 * short-lived forked workers, so that a module that blocks (pam_unix's
 * failure delay, a slow NSS or network module) never stalls the auth
 * process's event loop. At most PAM_AUTH_MAX_WORKERS run at once; more
 * wait in a queue of at most PAM_AUTH_MAX_QUEUED; a worker that takes
 * longer than PAM_AUTH_TIMEOUT seconds is killed. The worker answers
 * PAM's conversation with the password (and the user name when asked to
 * echo), sets PAM_RHOST to the client address, and replaces PAM's
 * failure delay with none (PAM_FAIL_DELAY): throttling is the auth
 * process's own (throttle.h). Only built with libpam. */
#ifndef MK_PAM_AUTH_H
#define MK_PAM_AUTH_H

#include <stdint.h>

#define PAM_AUTH_MAX_WORKERS 4		/* PAM transactions at once */
#define PAM_AUTH_MAX_QUEUED 1000	/* waiting for a worker */
#define PAM_AUTH_TIMEOUT 20		/* seconds before a worker is killed */
#define PAM_AUTH_FIELD_MAX 1024		/* bytes of a user, password, rhost */

struct event_base;
struct pam_auth;

enum pam_auth_result {
	PAM_AUTH_OK,		/* authenticated and the account is usable */
	PAM_AUTH_DENIED,	/* bad password, unknown, expired, refused */
	PAM_AUTH_ERROR,		/* PAM itself failed: try again later */
};

/* The outcome of job id for user; reason is a static string ("" when OK). */
typedef void pam_auth_done_fn(void *ctx, uint64_t id, const char *user,
			      enum pam_auth_result result, const char *reason);

struct pam_auth *pam_auth_new(struct event_base *base, pam_auth_done_fn *done,
			      void *ctx);
/* Kills the running workers; no more callbacks. */
void pam_auth_free(struct pam_auth *p);
/* Check user's password with service's stack; done(id) follows from the
 * event loop (never from inside this call). -1 (nothing queued) when the
 * queue is full or a field is too long. */
int pam_auth_start(struct pam_auth *p, uint64_t id, const char *service,
		   const char *user, const char *password, const char *rhost);
/* Forget job id: its worker (if any) is killed, done is not called. */
void pam_auth_cancel(struct pam_auth *p, uint64_t id);
/* The result and log reason of a transaction that stopped at stage
 * (0 pam_start, 1 pam_authenticate, 2 pam_acct_mgmt) with PAM code rc. */
enum pam_auth_result pam_auth_outcome(int stage, int rc, const char **reason);

#endif
