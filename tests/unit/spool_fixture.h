/* A spool for the queue's unit tests: a temporary DIR/queue/msg tree and
 * messages committed into it as the smtp process hands them over.
 * Header-only, included after harness.h. */
#ifndef MK_TEST_SPOOL_FIXTURE_H
#define MK_TEST_SPOOL_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xalloc.h"
#include "queue/spool.h"

struct fixture_msg {
	const char *body;	/* the message file's text */
	const char *sender, *envid, *auth_user, *headers;
	int ret;		/* DSN RET */
	const char *const *rcpts;
	size_t nrcpts;
	unsigned notify;	/* DSN NOTIFY and ORCPT of the first recipient */
	const char *orcpt;
	const char *trace;	/* NULL, or the local trace written before
				 * body (one recipient only) */
};

/* mkdtemp(dir), then dir/queue and dir/queue/msg. */
static inline void fixture_spool_dirs(char *dir)
{
	char p[128];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/queue", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/queue/msg", dir);
	mkdir(p, 0700);
}

/* Commit message m; its queue id into qid. */
static inline void fixture_spool_commit(struct spool *sp,
					const struct fixture_msg *m,
					char qid[QUEUE_ID_MAX])
{
	struct envelope e, *ep = &e;
	const char *why = NULL;
	bool ok = false;
	int fd;

	memset(&e, 0, sizeof(e));
	CHECK(spool_create(sp, e.qid, &fd, &why) == 0);
	if (m->trace != NULL) {
		e.trace_len = strlen(m->trace);
		CHECK(write(fd, m->trace, e.trace_len) == (ssize_t)e.trace_len);
	}
	CHECK(write(fd, m->body, strlen(m->body)) == (ssize_t)strlen(m->body));
	close(fd);
	e.sender = xstrdup(m->sender);
	e.envid = xstrdup(m->envid);
	e.client_ip = xstrdup("127.0.0.1");
	e.helo = xstrdup("h");
	e.session = xstrdup("s");
	e.auth_user = xstrdup(m->auth_user);
	e.headers = xstrdup(m->headers);
	e.ret = m->ret;
	for (size_t i = 0; i < m->nrcpts; i++)
		envelope_add_rcpt(&e, m->rcpts[i], i == 0 ? m->notify : 0,
				  i == 0 && m->orcpt ? m->orcpt : "");
	CHECK(spool_commit(sp, &ep, 1, &ok, &why) == 0 && ok);
	memcpy(qid, e.qid, QUEUE_ID_MAX);
	envelope_free(&e);
}

#endif
