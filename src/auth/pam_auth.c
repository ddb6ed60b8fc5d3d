/* pam_auth: the PAM worker pool — fork, one PAM transaction in the child,
 * an 8-byte result back over a pipe that the event loop reads. */
#include "auth/pam_auth.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xalloc.h"

enum stage { STAGE_START, STAGE_AUTH, STAGE_ACCT };

/* What a worker writes: one write, below PIPE_BUF, so it is atomic. */
struct worker_result {
	int32_t stage;
	int32_t rc;
};

struct job {
	struct job *next;
	struct pam_auth *p;
	uint64_t id;
	char *service, *user, *password, *rhost;
	pid_t pid;		/* 0: waiting for a worker */
	int fd;			/* the result pipe; -1 */
	struct event *rd, *timer;
};

struct pam_auth {
	struct event_base *base;
	pam_auth_done_fn *done;
	void *ctx;
	struct job *jobs;	/* running and waiting, oldest first */
	size_t njobs, running;
};

/* ---- the worker (child side) ---- */

static void free_responses(struct pam_response *r, int n)
{
	for (int i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
}

/* PAM asks; the password answers hidden prompts, the user name echoed ones. */
static int conversation(int n, const struct pam_message **msg,
			struct pam_response **resp, void *arg)
{
	const struct job *j = arg;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = xcalloc((size_t)n, sizeof(*r));
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = xstrdup(j->password);
			break;
		case PAM_PROMPT_ECHO_ON:
			r[i].resp = xstrdup(j->user);
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Replaces PAM's failure delay (pam_unix's ~2 s): ours is throttle.h's. */
static void no_delay(int status, unsigned usec, void *arg)
{
	(void)status;
	(void)usec;
	(void)arg;
}

static struct worker_result transaction(const struct job *j)
{
	struct pam_conv conv = { conversation, (void *)j };
	struct worker_result res = { STAGE_START, PAM_SUCCESS };
	void (*delay_fn)(int, unsigned, void *) = no_delay;
	pam_handle_t *h = NULL;
	int flags = PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK;

	res.rc = pam_start(j->service, j->user, &conv, &h);
	if (res.rc != PAM_SUCCESS)
		return res;
	pam_set_item(h, PAM_RHOST, j->rhost);
	pam_set_item(h, PAM_FAIL_DELAY, (const void *)delay_fn);
	res.stage = STAGE_AUTH;
	res.rc = pam_authenticate(h, flags);
	if (res.rc == PAM_SUCCESS) {
		res.stage = STAGE_ACCT;
		res.rc = pam_acct_mgmt(h, flags);
	}
	pam_end(h, res.rc);
	return res;
}

static void __attribute__((noreturn)) worker(struct job *j, int fd)
{
	struct worker_result res = transaction(j);
	ssize_t n = write(fd, &res, sizeof(res));

	explicit_bzero(j->password, strlen(j->password));
	_exit(n == (ssize_t)sizeof(res) ? 0 : 1);
}

/* ---- the pool (parent side) ---- */

enum pam_auth_result pam_auth_outcome(int stage, int rc, const char **reason)
{
	*reason = "PAM error";
	if (stage == STAGE_ACCT && rc == PAM_SUCCESS) {
		*reason = "";
		return PAM_AUTH_OK;
	}
	if (stage == STAGE_START) {
		*reason = "PAM: cannot start the service";
		return PAM_AUTH_ERROR;
	}
	switch (rc) {
	case PAM_AUTH_ERR: case PAM_MAXTRIES:
		*reason = stage == STAGE_AUTH ? "bad password" :
			"account refused by PAM";
		return PAM_AUTH_DENIED;
	case PAM_USER_UNKNOWN:
		*reason = "unknown user";
		return PAM_AUTH_DENIED;
	case PAM_PERM_DENIED: case PAM_CRED_INSUFFICIENT:
		*reason = "account refused by PAM";
		return PAM_AUTH_DENIED;
	case PAM_ACCT_EXPIRED:
		*reason = "account expired";
		return PAM_AUTH_DENIED;
	case PAM_NEW_AUTHTOK_REQD:
		*reason = "password expired";
		return PAM_AUTH_DENIED;
	case PAM_AUTHINFO_UNAVAIL:
		*reason = "PAM: authentication information unavailable";
		return PAM_AUTH_ERROR;
	default:
		return PAM_AUTH_ERROR;
	}
}

static void job_free(struct job *j)
{
	if (j->pid > 0) {
		kill(j->pid, SIGKILL);
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (j->rd != NULL)
		event_free(j->rd);
	if (j->timer != NULL)
		event_free(j->timer);
	if (j->fd >= 0)
		close(j->fd);
	explicit_bzero(j->password, strlen(j->password));
	free(j->service);
	free(j->user);
	free(j->password);
	free(j->rhost);
	free(j);
}

static void unlink_job(struct pam_auth *p, struct job *j)
{
	for (struct job **pp = &p->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			p->njobs--;
			if (j->pid != 0)
				p->running--;
			return;
		}
	}
}

static void pump(struct pam_auth *p);

/* The job is over: out of the list first, as done may start or cancel
 * others; then the next waiting job gets the worker. */
static void finish(struct job *j, enum pam_auth_result r, const char *reason)
{
	struct pam_auth *p = j->p;
	uint64_t id = j->id;

	unlink_job(p, j);
	p->done(p->ctx, id, j->user, r, reason);
	job_free(j);
	pump(p);
}

static void on_result(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	struct worker_result res;
	const char *reason = "PAM worker died";
	enum pam_auth_result r = PAM_AUTH_ERROR;
	ssize_t n = read(fd, &res, sizeof(res));

	(void)what;
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == (ssize_t)sizeof(res))
		r = pam_auth_outcome(res.stage, res.rc, &reason);
	while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
		;
	j->pid = -1;	/* reaped: job_free must not kill */
	finish(j, r, reason);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	finish(j, PAM_AUTH_ERROR, j->pid > 0 ? "PAM check timed out" :
	       "cannot start a PAM worker");
}

/* Fork the worker of j; on failure the timer reports it at once. */
static void spawn(struct job *j)
{
	struct timeval tv = { PAM_AUTH_TIMEOUT, 0 };
	int fds[2];

	j->p->running++;
	j->pid = -1;
	j->timer = evtimer_new(j->p->base, on_timer, j);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_error("event=pam-worker status=failed reason=\"pipe: %s\"",
			  strerror(errno));
		tv.tv_sec = 0;
	} else if ((j->pid = fork()) == 0) {
		close(fds[0]);
		worker(j, fds[1]);
	} else {
		close(fds[1]);
		j->fd = fds[0];
		if (j->pid < 0) {
			log_error("event=pam-worker status=failed reason=\"fork: "
				  "%s\"", strerror(errno));
			tv.tv_sec = 0;
		} else {
			j->rd = event_new(j->p->base, j->fd, EV_READ, on_result, j);
			event_add(j->rd, NULL);
		}
	}
	evtimer_add(j->timer, &tv);
}

static void pump(struct pam_auth *p)
{
	for (struct job *j = p->jobs; j != NULL; j = j->next) {
		if (p->running >= PAM_AUTH_MAX_WORKERS)
			return;
		if (j->pid == 0)
			spawn(j);
	}
}

struct pam_auth *pam_auth_new(struct event_base *base, pam_auth_done_fn *done,
			      void *ctx)
{
	struct pam_auth *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->done = done;
	p->ctx = ctx;
	return p;
}

void pam_auth_free(struct pam_auth *p)
{
	if (p == NULL)
		return;
	while (p->jobs != NULL) {
		struct job *j = p->jobs;

		unlink_job(p, j);
		job_free(j);
	}
	free(p);
}

static bool field_ok(const char *s)
{
	return strnlen(s, PAM_AUTH_FIELD_MAX + 1) <= PAM_AUTH_FIELD_MAX;
}

int pam_auth_start(struct pam_auth *p, uint64_t id, const char *service,
		   const char *user, const char *password, const char *rhost)
{
	struct job *j, **tail = &p->jobs;

	if (p->njobs >= PAM_AUTH_MAX_WORKERS + PAM_AUTH_MAX_QUEUED ||
	    !field_ok(service) || !field_ok(user) || !field_ok(password) ||
	    !field_ok(rhost))
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->p = p;
	j->id = id;
	j->fd = -1;
	j->service = xstrdup(service);
	j->user = xstrdup(user);
	j->password = xstrdup(password);
	j->rhost = xstrdup(rhost);
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = j;
	p->njobs++;
	pump(p);
	return 0;
}

void pam_auth_cancel(struct pam_auth *p, uint64_t id)
{
	for (struct job *j = p->jobs; j != NULL; j = j->next) {
		if (j->id == id) {
			unlink_job(p, j);
			job_free(j);
			pump(p);
			return;
		}
	}
}
