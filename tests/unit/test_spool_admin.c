/* Unit tests for `mailkeep queue`'s building blocks: queue/qinfo.c (the
 * MSG_CTL_QUEUE_ITEM payload) and queue/spool_admin.c (list, show, hold,
 * release, delete, flush), including a queue.db of an older version. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/xalloc.h"
#include "queue/qinfo.h"
#include "queue/spool.h"
#include "queue/spool_admin.h"
#include "spool_fixture.h"

static char dir[] = "/tmp/mk-spool-admin-XXXXXX";

/* ---- qinfo ---- */

static void sample(struct qinfo_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->qid = xstrdup("0005f1e2a3b4c5d6e7f");
	m->size = 1234;
	m->created = 1700000000;
	m->sender = xstrdup("alice@a.test");
	m->held = true;
	m->headers = xstrdup("Subject: hi\r\n");
	qinfo_add_rcpt(m, 0, "bob@b.test", QINFO_REMOTE_WAITING, 2, 1700000600,
		       "connection refused");
	qinfo_add_rcpt(m, 1, "carol@a.test", QINFO_LOCAL_PENDING, 0, 0, NULL);
}

TEST(qinfo_round_trip)
{
	struct qinfo_msg a, b;
	struct buf p = BUF_INIT;

	sample(&a);
	qinfo_pack(&a, &p);
	CHECK(qinfo_unpack(&b, (const uint8_t *)p.ptr, p.len) == 0);
	CHECK_STREQ(b.qid, a.qid);
	CHECK_INTEQ(b.size, 1234);
	CHECK_INTEQ(b.created, 1700000000);
	CHECK_STREQ(b.sender, "alice@a.test");
	CHECK(b.held);
	CHECK_INTEQ(b.nrcpts, 2);
	if (b.nrcpts == 2) {
		CHECK_STREQ(b.rcpts[0].addr, "bob@b.test");
		CHECK_INTEQ(b.rcpts[0].state, QINFO_REMOTE_WAITING);
		CHECK_INTEQ(b.rcpts[0].attempts, 2);
		CHECK_INTEQ(b.rcpts[0].next_try, 1700000600);
		CHECK_STREQ(b.rcpts[0].last_error, "connection refused");
		CHECK_STREQ(b.rcpts[1].last_error, "");
		CHECK_INTEQ(b.rcpts[1].idx, 1);
	}
	CHECK_STREQ(b.headers, "Subject: hi\r\n");
	qinfo_free(&b);
	qinfo_free(&a);
	buf_free(&p);
}

/* Every truncation, and one byte too many, is refused. */
TEST(qinfo_malformed)
{
	struct qinfo_msg a, b;
	struct buf p = BUF_INIT;

	sample(&a);
	qinfo_pack(&a, &p);
	for (size_t n = 0; n < p.len; n++)
		CHECK(qinfo_unpack(&b, (const uint8_t *)p.ptr, n) < 0);
	buf_appendc(&p, 'x');
	CHECK(qinfo_unpack(&b, (const uint8_t *)p.ptr, p.len) < 0);
	/* a state out of range */
	a.rcpts[0].state = QINFO_STATE_COUNT;
	buf_reset(&p);
	qinfo_pack(&a, &p);
	CHECK(qinfo_unpack(&b, (const uint8_t *)p.ptr, p.len) < 0);
	qinfo_free(&a);
	buf_free(&p);
}

TEST(qinfo_limits)
{
	struct qinfo_msg m;
	char err[QINFO_ERROR_MAX + 50];

	memset(&m, 0, sizeof(m));
	memset(err, 'e', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	for (int i = 0; i < QINFO_RCPTS_MAX + 5; i++)
		qinfo_add_rcpt(&m, i, "x@y.test", QINFO_FAILED, 1, 0, err);
	CHECK_INTEQ(m.nrcpts, QINFO_RCPTS_MAX);
	CHECK_INTEQ(m.omitted, 5);
	CHECK_INTEQ(strlen(m.rcpts[0].last_error), QINFO_ERROR_MAX);
	CHECK_STREQ(qinfo_state_name(QINFO_REMOTE_ACTIVE), "remote active");
	CHECK_STREQ(qinfo_state_name(99), "?");
	qinfo_free(&m);
}

/* ---- spool_admin ---- */

/* A committed message to one remote recipient, waiting an hour. */
static void queue_remote(struct spool *sp, char qid[QUEUE_ID_MAX])
{
	static const char *const rcpt[] = { "bob@b.test" };
	static const struct fixture_msg m = {
		"Subject: t\r\nX-A: 1\r\n\r\nbody\r\n", "alice@a.test", "",
		"", "Received: by us\r\n", 0, rcpt, 1, 0, NULL, NULL
	};
	const char *why = NULL;

	fixture_spool_commit(sp, &m, qid);
	CHECK(spool_begin(sp, &why) == 0);
	CHECK(spool_set_remote(sp, qid, 0, SPOOL_REMOTE, time(NULL) + 3600,
			       "connection refused") == 0);
	CHECK(spool_commit_txn(sp, &why) == 0);
}

static size_t due_now(struct spool *sp)
{
	struct spool_remote_rcpt *r = NULL;
	size_t n = 0;

	CHECK(spool_remote_due(sp, time(NULL), 10, &r, &n) == 0);
	spool_remote_free(r, n);
	return n;
}

struct seen {
	size_t n;
	char qid[QUEUE_ID_MAX];
	bool held;
	uint32_t attempts;
};

static void collect(struct qinfo_msg *m, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->qid, sizeof(s->qid), "%s", m->qid);
	s->held = m->held;
	s->attempts = m->nrcpts == 1 ? m->rcpts[0].attempts : 99;
}

TEST(hold_flush_release_delete)
{
	struct spool *sp = NULL;
	struct qinfo_msg m;
	struct seen s = { 0 };
	const char *why = NULL;
	char qid[QUEUE_ID_MAX], path[160];
	size_t n = 0;

	CHECK(spool_open(&sp, dir, &why) == 0);
	if (sp == NULL)
		return;
	queue_remote(sp, qid);
	CHECK(due_now(sp) == 0);
	CHECK(spool_admin_list(sp, collect, &s, &why) == 0);
	CHECK(s.n == 1 && strcmp(s.qid, qid) == 0 && !s.held && s.attempts == 1);
	/* show: the fields added at delivery, then the file's header only */
	CHECK(spool_admin_show(sp, qid, &m, &why) == 1);
	CHECK_STREQ(m.headers, "Received: by us\r\nSubject: t\r\nX-A: 1\r\n");
	CHECK(m.nrcpts == 1 && m.rcpts[0].state == QINFO_REMOTE_WAITING);
	CHECK(m.nrcpts == 1 && strcmp(m.rcpts[0].last_error, "connection refused") == 0);
	qinfo_free(&m);
	/* held: flush leaves it waiting */
	CHECK(spool_admin_hold(sp, qid, true, &why) == 1);
	CHECK(spool_admin_hold(sp, qid, true, &why) == 1);
	CHECK(spool_admin_flush(sp, &n, &why) == 0 && n == 0);
	CHECK(due_now(sp) == 0);
	CHECK(spool_remote_next(sp) == 0);
	memset(&s, 0, sizeof(s));
	CHECK(spool_admin_list(sp, collect, &s, &why) == 0 && s.n == 1 && s.held);
	/* released: due now */
	CHECK(spool_admin_hold(sp, qid, false, &why) == 1);
	CHECK(due_now(sp) == 1);
	/* deleted: rows and file go; the id is unknown afterwards */
	CHECK(spool_admin_delete(sp, qid, &why) == 1);
	CHECK(due_now(sp) == 0);
	CHECK(spool_admin_delete(sp, qid, &why) == 0);
	CHECK(spool_admin_hold(sp, qid, true, &why) == 0);
	CHECK(spool_admin_show(sp, qid, &m, &why) == 0);
	spool_flush_removed(sp);
	snprintf(path, sizeof(path), "%s/queue/msg/%s", dir, qid);
	CHECK(access(path, F_OK) < 0);
	memset(&s, 0, sizeof(s));
	CHECK(spool_admin_list(sp, collect, &s, &why) == 0 && s.n == 0);
	spool_close(sp);
}

TEST(flush_makes_due)
{
	struct spool *sp = NULL;
	const char *why = NULL;
	char q1[QUEUE_ID_MAX], q2[QUEUE_ID_MAX];
	size_t n = 0;

	CHECK(spool_open(&sp, dir, &why) == 0);
	if (sp == NULL)
		return;
	queue_remote(sp, q1);
	queue_remote(sp, q2);
	CHECK(spool_admin_hold(sp, q2, true, &why) == 1);
	CHECK(spool_admin_flush(sp, &n, &why) == 0 && n == 1);
	CHECK(due_now(sp) == 1);
	CHECK(spool_admin_delete(sp, q1, &why) == 1);
	CHECK(spool_admin_delete(sp, q2, &why) == 1);
	spool_close(sp);
}

TEST(qid_syntax)
{
	CHECK(spool_admin_qid_ok("0005f1e2a3b4c5d6e7f"));
	CHECK(!spool_admin_qid_ok(""));
	CHECK(!spool_admin_qid_ok("../queue.db"));
	CHECK(!spool_admin_qid_ok("ABC"));
	CHECK(!spool_admin_qid_ok("0123456789abcdef0123456789abcdef0"));
}

/* A queue.db made before holds existed opens, and hold works on it. */
/* A queue file that starts with the local trace: every reader starts
 * past it, and the size is the message's. */
TEST(trace_is_skipped)
{
	static const char trace[] = "Return-Path: <a@a.test>\r\n"
				    "Delivered-To: b@a.test\r\nX-V: 1\r\n";
	static const char *const rcpts[] = { "b@a.test" };
	struct fixture_msg f = {
		.body = "Subject: s\r\n\r\nbody\r\n", .trace = trace,
		.sender = "a@a.test", .envid = "", .auth_user = "",
		.headers = "X-V: 1\r\n", .rcpts = rcpts, .nrcpts = 1,
	};
	char qid[QUEUE_ID_MAX], back[64];
	struct spool *sp = NULL;
	struct spool_meta meta;
	struct spool_msg msg;
	struct qinfo_msg m;
	const char *why = NULL;
	int fd;

	CHECK(spool_open(&sp, dir, &why) == 0);
	fixture_spool_commit(sp, &f, qid);
	CHECK(spool_meta_load(sp, qid, &meta, &why) == 0);
	CHECK(meta.trace_len == strlen(trace) && meta.size == strlen(f.body));
	spool_meta_free(&meta);
	CHECK(spool_load(sp, qid, &msg, &why) == 0);
	CHECK(msg.trace_len == strlen(trace));
	spool_msg_free(&msg);
	fd = spool_open_message(sp, qid, strlen(trace));
	CHECK(fd >= 0 && read(fd, back, sizeof(back)) == (ssize_t)strlen(f.body));
	CHECK(memcmp(back, f.body, strlen(f.body)) == 0);
	close(fd);
	CHECK(spool_admin_show(sp, qid, &m, &why) == 1);
	/* the verdict fields once (from queue.db), then the file's header */
	CHECK(strcmp(m.headers, "X-V: 1\r\nSubject: s\r\n") == 0);
	CHECK(m.size == strlen(f.body));
	qinfo_free(&m);
	CHECK(spool_admin_delete(sp, qid, &why) == 1);
	spool_close(sp);
}

TEST(old_schema)
{
	static const char old[] =
		"CREATE TABLE messages(qid TEXT PRIMARY KEY, sender TEXT NOT NULL,"
		" created INTEGER NOT NULL, size INTEGER NOT NULL, body INTEGER,"
		" smtputf8 INTEGER, ret INTEGER, envid TEXT, client_ip TEXT,"
		" helo TEXT, session TEXT, auth_user TEXT,"
		" headers TEXT NOT NULL DEFAULT '', junk INTEGER NOT NULL DEFAULT 0);"
		"CREATE TABLE recipients(qid TEXT NOT NULL REFERENCES messages(qid)"
		" ON DELETE CASCADE, idx INTEGER NOT NULL, address TEXT NOT NULL,"
		" notify INTEGER, orcpt TEXT, status INTEGER NOT NULL DEFAULT 0,"
		" attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL"
		" DEFAULT 0, last_error TEXT, PRIMARY KEY(qid, idx));"
		"INSERT INTO messages(qid,sender,created,size) VALUES"
		" ('00aa','a@a.test',1,10);"
		"INSERT INTO recipients(qid,idx,address,status,next_try) VALUES"
		" ('00aa',0,'b@b.test',3,1);";
	char odir[] = "/tmp/mk-spool-old-XXXXXX", p[160];
	struct spool *sp = NULL;
	const char *why = NULL;
	sqlite3 *db;

	fixture_spool_dirs(odir);
	snprintf(p, sizeof(p), "%s/queue/queue.db", odir);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, old, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(spool_open(&sp, odir, &why) == 0);
	if (sp != NULL) {
		struct qinfo_msg m;
		CHECK(spool_admin_show(sp, "00aa", &m, &why) == 1);	/* trace_len 0 */
		qinfo_free(&m);
		CHECK(due_now(sp) == 1);
		CHECK(spool_admin_hold(sp, "00aa", true, &why) == 1);
		CHECK(due_now(sp) == 0);
		CHECK(spool_admin_delete(sp, "00aa", &why) == 1);
		spool_close(sp);
	}
	snprintf(p, sizeof(p), "rm -rf '%s'", odir);
	CHECK(system(p) == 0);
}

int main(void)
{
	char cmd[96];

	RUN(qinfo_round_trip);
	RUN(qinfo_malformed);
	RUN(qinfo_limits);
	RUN(qid_syntax);
	fixture_spool_dirs(dir);
	RUN(hold_flush_release_delete);
	RUN(flush_makes_due);
	RUN(trace_is_skipped);
	RUN(old_schema);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return test_summary();
}
