/* spool_admin: `mailkeep queue` operations on queue.db (spool_admin.h). */
#include "queue/spool_admin.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/xalloc.h"
#include "queue/spool_int.h"

static int exec_sql(struct spool *sp, const char *sql, const char **error_r)
{
	if (sqlite3_exec(sp->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

bool spool_admin_qid_ok(const char *qid)
{
	size_t n = strlen(qid);

	return n > 0 && n < QUEUE_ID_MAX &&
	       strspn(qid, "0123456789abcdef") == n;
}

/* The spool's recipient status as the CLI names it. */
static uint32_t rcpt_state(int status)
{
	switch (status) {
	case SPOOL_PENDING:
		return QINFO_LOCAL_PENDING;
	case SPOOL_DELIVERED:
		return QINFO_DELIVERED;
	case SPOOL_FAILED:
		return QINFO_FAILED;
	default:
		return QINFO_REMOTE_WAITING;
	}
}

static int load_rcpts(struct spool *sp, struct qinfo_msg *m, const char **error_r)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(sp->db, "SELECT idx, address, status, attempts, "
			       "next_try, last_error FROM recipients WHERE qid=? "
			       "ORDER BY idx", -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, m->qid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		qinfo_add_rcpt(m, sqlite3_column_int64(st, 0), col_text(st, 1),
			       rcpt_state(sqlite3_column_int(st, 2)),
			       (uint32_t)sqlite3_column_int(st, 3),
			       sqlite3_column_int64(st, 4), col_text(st, 5));
	sqlite3_finalize(st);
	return 0;
}

#define MSG_COLUMNS "SELECT qid, size, created, sender, EXISTS(SELECT 1 FROM " \
	"holds h WHERE h.qid=m.qid), headers, trace_len FROM messages m "

/* The message of the current row of st (MSG_COLUMNS). */
static int row_msg(struct spool *sp, sqlite3_stmt *st, struct qinfo_msg *m,
		   const char **error_r)
{
	memset(m, 0, sizeof(*m));
	m->qid = xstrdup(col_text(st, 0));
	m->size = (uint64_t)sqlite3_column_int64(st, 1);
	m->created = sqlite3_column_int64(st, 2);
	m->sender = xstrdup(col_text(st, 3));
	m->held = sqlite3_column_int(st, 4) != 0;
	m->headers = xstrdup("");
	if (load_rcpts(sp, m, error_r) < 0) {
		qinfo_free(m);
		return -1;
	}
	return 0;
}

int spool_admin_list(struct spool *sp, spool_admin_cb *cb, void *arg,
		     const char **error_r)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	if (sqlite3_prepare_v2(sp->db, MSG_COLUMNS "ORDER BY qid", -1, &st,
			       NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct qinfo_msg m;
		r = row_msg(sp, st, &m, error_r);
		if (r == 0) {
			cb(&m, arg);
			qinfo_free(&m);
		}
	}
	if (r == 0 && rc != SQLITE_DONE) {
		*error_r = sqlite3_errmsg(sp->db);
		r = -1;
	}
	sqlite3_finalize(st);
	return r;
}

/* The header section of the queue file (up to the empty line), at most
 * max bytes; cut after the last whole line when longer. */
static void file_headers(struct spool *sp, const char *qid, uint64_t trace_len,
			 size_t max, struct buf *out)
{
	struct buf b = BUF_INIT;
	const char *end;
	size_t n;
	int fd = spool_open_message(sp, qid, trace_len);

	if (fd < 0)
		return;
	buf_reserve(&b, max + 1);
	n = 0;
	while (n < max) {
		ssize_t r = read(fd, b.ptr + n, max - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b.len = n;
	end = memmem(b.ptr, n, "\n\r\n", 3);
	if (end == NULL)
		end = memmem(b.ptr, n, "\n\n", 2);
	if (end == NULL)
		end = memrchr(b.ptr, '\n', n);
	if (end != NULL)
		buf_append(out, b.ptr, (size_t)(end - b.ptr) + 1);
	buf_free(&b);
}

int spool_admin_show(struct spool *sp, const char *qid, struct qinfo_msg *m,
		     const char **error_r)
{
	struct buf h = BUF_INIT;
	uint64_t trace_len;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, MSG_COLUMNS "WHERE qid=?", -1, &st,
			       NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	/* fields added at delivery first, as the recipient will see them */
	buf_appends(&h, col_text(st, 5));
	trace_len = (uint64_t)sqlite3_column_int64(st, 6);
	rc = row_msg(sp, st, m, error_r);
	sqlite3_finalize(st);
	if (rc < 0) {
		buf_free(&h);
		return -1;
	}
	if (h.len > QINFO_HEADERS_MAX)
		h.len = 0;
	file_headers(sp, qid, trace_len, QINFO_HEADERS_MAX - h.len, &h);
	free(m->headers);
	m->headers = xstrdup(buf_cstr(&h));
	buf_free(&h);
	return 1;
}

/* Run one statement with qid as ?1 and the time as ?2 (those it has);
 * changed rows into *n_r. */
static int run_qid(struct spool *sp, const char *sql, const char *qid,
		   int *n_r, const char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, sql, -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	if (n_r != NULL)
		*n_r = sqlite3_changes(sp->db);
	return 0;
}

static int msg_exists(struct spool *sp, const char *qid, const char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, "SELECT 1 FROM messages WHERE qid=?", -1,
			       &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	return rc == SQLITE_ROW ? 1 : 0;
}

/* One synced transaction (synchronous=FULL outside spool_begin) of the
 * statements in sql[], when the message exists. */
static int one_msg_txn(struct spool *sp, const char *qid,
		       const char *const *sql, size_t nsql, const char **error_r)
{
	int found;

	if (exec_sql(sp, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	found = msg_exists(sp, qid, error_r);
	if (found < 0)
		goto fail;
	for (size_t i = 0; found && i < nsql; i++)
		if (run_qid(sp, sql[i], qid, NULL, error_r) < 0)
			goto fail;
	if (exec_sql(sp, "COMMIT", error_r) < 0)
		goto fail;
	return found;
fail:
	sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int spool_admin_hold(struct spool *sp, const char *qid, bool hold,
		     const char **error_r)
{
	static const char *const hold_sql[] = {
		"INSERT OR IGNORE INTO holds(qid, since) VALUES(?1, ?2)",
	};
	static const char *const release_sql[] = {
		"DELETE FROM holds WHERE qid=?1",
		"UPDATE recipients SET next_try=0 WHERE qid=?1 AND status=3",
	};

	if (hold)
		return one_msg_txn(sp, qid, hold_sql, 1, error_r);
	return one_msg_txn(sp, qid, release_sql, 2, error_r);
}

int spool_admin_delete(struct spool *sp, const char *qid, const char **error_r)
{
	/* recipients, delay_notices and holds go by ON DELETE CASCADE */
	static const char *const sql[] = {
		"DELETE FROM messages WHERE qid=?1",
	};
	int r = one_msg_txn(sp, qid, sql, 1, error_r);

	if (r == 1) {
		/* that commit was synced: the file may go */
		spool_unlink(sp, qid);
		spool_flush_removed(sp);
	}
	return r;
}

int spool_admin_flush(struct spool *sp, size_t *n_r, const char **error_r)
{
	int n = 0;

	if (run_qid(sp, "UPDATE recipients SET next_try=0 WHERE status IN (0,3) "
		    "AND next_try>0 AND qid NOT IN (SELECT qid FROM holds)",
		    NULL, &n, error_r) < 0)
		return -1;
	*n_r = (size_t)n;
	return 0;
}
