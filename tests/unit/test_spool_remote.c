/* Unit tests for the outbound queries of queue/spool.c: remote recipients
 * due, attempts, delay-notice flag, removal when all are done. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "queue/spool.h"
#include "spool_fixture.h"

static char dir[] = "/tmp/mk-spool-remote-XXXXXX";

/* A committed message from sender with rcpts, all handed to outbound. */
static void queue_msg(struct spool *sp, const char *sender, const char *const *rcpts,
		      size_t n, char qid[QUEUE_ID_MAX])
{
	const struct fixture_msg m = {
		"Subject: t\r\n\r\nx\r\n", sender, "env-1", "alice@a.test", "",
		1, rcpts, n, 4, "rfc822;x@b.test", NULL
	};
	const char *why = NULL;

	fixture_spool_commit(sp, &m, qid);
	CHECK(spool_begin(sp, &why) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(spool_set_status(sp, qid, (int64_t)i, SPOOL_REMOTE, NULL) == 0);
	CHECK(spool_commit_txn(sp, &why) == 0);
}

TEST(due_attempts_and_removal)
{
	static const char *const rcpts[] = { "x@b.test", "y@c.test" };
	struct spool *sp = NULL;
	struct spool_remote_rcpt *r = NULL;
	struct spool_meta m;
	const char *why = NULL;
	char qid[QUEUE_ID_MAX];
	time_t now = time(NULL);
	size_t n = 0;

	fixture_spool_dirs(dir);
	CHECK(spool_open(&sp, dir, &why) == 0);
	if (sp == NULL)
		return;
	queue_msg(sp, "alice@a.test", rcpts, 2, qid);
	/* handing over to outbound is not an attempt */
	CHECK(spool_remote_due(sp, now, 10, &r, &n) == 0);
	CHECK(n == 2);
	CHECK(n == 2 && strcmp(r[0].addr, "x@b.test") == 0 && r[0].attempts == 0);
	CHECK(n == 2 && r[0].notify == 4 && strcmp(r[0].orcpt, "rfc822;x@b.test") == 0);
	CHECK(n == 2 && strcmp(r[1].orcpt, "") == 0 && r[1].idx == 1);
	spool_remote_free(r, n);
	CHECK(spool_remote_next(sp) <= now);
	/* x deferred an hour, y delivered: nothing due now, x later */
	CHECK(spool_begin(sp, &why) == 0);
	CHECK(spool_set_remote(sp, qid, 0, SPOOL_REMOTE, now + 3600, "451 later") == 0);
	CHECK(spool_set_remote(sp, qid, 1, SPOOL_DELIVERED, 0, "250 ok") == 0);
	CHECK(spool_mark_delay_notice(sp, qid) == 0);
	CHECK(spool_mark_delay_notice(sp, qid) == 0);	/* once is enough */
	CHECK(spool_finish_if_done(sp, qid) == 0);
	CHECK(spool_commit_txn(sp, &why) == 0);
	CHECK(spool_remote_due(sp, now, 10, &r, &n) == 0 && n == 0);
	spool_remote_free(r, n);
	CHECK(spool_remote_next(sp) == now + 3600);
	CHECK(spool_remote_due(sp, now + 3600, 10, &r, &n) == 0 && n == 1);
	CHECK(n == 1 && r[0].attempts == 1 && r[0].idx == 0);
	spool_remote_free(r, n);
	CHECK(spool_meta_load(sp, qid, &m, &why) == 0);
	CHECK(strcmp(m.sender, "alice@a.test") == 0 && m.delay_noticed);
	CHECK(strcmp(m.auth_user, "alice@a.test") == 0 && m.ret == 1);
	CHECK(strcmp(m.envid, "env-1") == 0 && m.size == 17);
	spool_meta_free(&m);
	/* the last recipient fails: the message goes */
	CHECK(spool_begin(sp, &why) == 0);
	CHECK(spool_set_remote(sp, qid, 0, SPOOL_FAILED, 0, "550 no") == 0);
	CHECK(spool_finish_if_done(sp, qid) == 1);
	CHECK(spool_commit_txn(sp, &why) == 0);
	CHECK(spool_meta_load(sp, qid, &m, &why) < 0);
	CHECK(spool_remote_next(sp) == 0);
	spool_close(sp);
}

TEST(limit_and_order)
{
	static const char *const rcpts[] = { "a@x.test", "b@x.test", "c@x.test" };
	struct spool *sp = NULL;
	struct spool_remote_rcpt *r = NULL;
	const char *why = NULL;
	char q1[QUEUE_ID_MAX], q2[QUEUE_ID_MAX];
	size_t n = 0;

	CHECK(spool_open(&sp, dir, &why) == 0);
	if (sp == NULL)
		return;
	queue_msg(sp, "", rcpts, 3, q1);
	queue_msg(sp, "s@a.test", rcpts, 1, q2);
	CHECK(spool_remote_due(sp, time(NULL), 2, &r, &n) == 0 && n == 2);
	CHECK(n == 2 && strcmp(r[0].qid, q1) == 0 && r[1].idx == 1);
	spool_remote_free(r, n);
	CHECK(spool_remote_due(sp, time(NULL), 10, &r, &n) == 0 && n == 4);
	CHECK(n == 4 && strcmp(r[3].qid, q2) == 0);
	spool_remote_free(r, n);
	spool_close(sp);
}

int main(void)
{
	char cmd[96];

	RUN(due_attempts_and_removal);
	RUN(limit_and_order);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return test_summary();
}
