/* spool: queue files and queue.db. */
#include "queue/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#include "queue/spool_int.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS messages("
	" qid TEXT PRIMARY KEY, sender TEXT NOT NULL, created INTEGER NOT NULL,"
	" size INTEGER NOT NULL, body INTEGER, smtputf8 INTEGER, ret INTEGER,"
	" envid TEXT, client_ip TEXT, helo TEXT, session TEXT, auth_user TEXT,"
	" headers TEXT NOT NULL DEFAULT '', junk INTEGER NOT NULL DEFAULT 0,"
	" trace_len INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS recipients("
	" qid TEXT NOT NULL REFERENCES messages(qid) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL, address TEXT NOT NULL, notify INTEGER,"
	" orcpt TEXT, status INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT, PRIMARY KEY(qid, idx));"
	"CREATE INDEX IF NOT EXISTS recipients_status ON recipients(status);"
	/* outbound: messages whose sender got the delay notice (RFC 3464) */
	"CREATE TABLE IF NOT EXISTS delay_notices("
	" qid TEXT PRIMARY KEY REFERENCES messages(qid) ON DELETE CASCADE);"
	/* `mailkeep queue hold`: no outbound attempt until released. A table
	 * of its own, so queue.db files of older versions simply gain it. */
	"CREATE TABLE IF NOT EXISTS holds("
	" qid TEXT PRIMARY KEY REFERENCES messages(qid) ON DELETE CASCADE,"
	" since INTEGER NOT NULL);"
	/* MTA-STS (RFC 8461 §5.1) policy cache: spool_mtasts.c. A table of
	 * its own, so older queue.db files simply gain it. */
	"CREATE TABLE IF NOT EXISTS mta_sts("
	" domain TEXT PRIMARY KEY, id TEXT NOT NULL, policy TEXT NOT NULL,"
	" fetched INTEGER NOT NULL, expires INTEGER NOT NULL);";

static int db_exec(struct spool *sp, const char *sql, const char **error_r)
{
	if (sqlite3_exec(sp->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	return 0;
}

/* queue.db files made before messages.trace_len existed gain it. */
static int add_trace_len(struct spool *sp, const char **error_r)
{
	sqlite3_stmt *st;
	bool have = false;

	if (sqlite3_prepare_v2(sp->db, "SELECT 1 FROM pragma_table_info('messages')"
			       " WHERE name='trace_len'", -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	have = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return have ? 0 : db_exec(sp, "ALTER TABLE messages ADD COLUMN trace_len"
				  " INTEGER NOT NULL DEFAULT 0", error_r);
}

int spool_open(struct spool **sp_r, const char *data_dir, const char **error_r)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/queue/msg", data_dir);
	sp->dir = buf_detach(&path);
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	buf_printf(&path, "%s/queue/queue.db", data_dir);
	if (sp->dirfd < 0) {
		*error_r = strerror(errno);
	} else if (sqlite3_open(path.ptr, &sp->db) != SQLITE_OK) {
		*error_r = "cannot open queue.db";
	} else {
		sqlite3_busy_timeout(sp->db, 5000);
		/* synchronous=FULL: a commit is on disk before we answer 250 */
		/* temp_store: the sandbox allows files only in DATA */
		if (db_exec(sp, schema, error_r) == 0 &&
		    add_trace_len(sp, error_r) == 0 &&
		    db_exec(sp, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
			    " PRAGMA temp_store=MEMORY;", error_r) == 0) {
			buf_free(&path);
			*sp_r = sp;
			return 0;
		}
	}
	buf_free(&path);
	spool_close(sp);
	return -1;
}

void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	spool_flush_removed(sp);
	sqlite3_close(sp->db);
	free(sp->removed);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->dir);
	free(sp);
}

void spool_path(struct spool *sp, const char *qid, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/%s", sp->dir, qid);
}

int spool_open_message(struct spool *sp, const char *qid, uint64_t trace_len)
{
	int fd = openat(sp->dirfd, qid, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, (off_t)trace_len, SEEK_SET) != (off_t)trace_len) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Queue ids sort by arrival: microseconds in hex, then randomness. */
static void make_qid(char qid[QUEUE_ID_MAX])
{
	struct timeval tv;
	char rnd[7];

	gettimeofday(&tv, NULL);
	str_random_hex(rnd, sizeof(rnd));
	snprintf(qid, QUEUE_ID_MAX, "%013llx%s",
		 (unsigned long long)tv.tv_sec * 1000000ull +
		 (unsigned long long)tv.tv_usec, rnd);
}

int spool_create(struct spool *sp, char qid[QUEUE_ID_MAX], int *fd_r,
		 const char **error_r)
{
	for (int tries = 0; tries < 5; tries++) {
		make_qid(qid);
		*fd_r = openat(sp->dirfd, qid,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (*fd_r >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	*error_r = strerror(errno);
	return -1;
}

void spool_discard(struct spool *sp, const char *qid)
{
	if (strchr(qid, '/') == NULL && *qid != '.' && *qid != '\0')
		unlinkat(sp->dirfd, qid, 0);
}

void spool_unlink(struct spool *sp, const char *qid)
{
	if (sp->nremoved == sp->removed_cap) {
		sp->removed_cap = sp->removed_cap ? sp->removed_cap * 2 : 64;
		sp->removed = xrealloc(sp->removed, sp->removed_cap * QUEUE_ID_MAX);
	}
	str_copy(sp->removed[sp->nremoved++], QUEUE_ID_MAX, qid);
}

static void unlink_removed(struct spool *sp)
{
	for (size_t i = 0; i < sp->nremoved; i++)
		spool_discard(sp, sp->removed[i]);
	sp->nremoved = 0;
}

/* Delivery records are committed without a sync (a lost one only causes a
 * redelivery, which the stores recognise by its key); a checkpoint makes
 * them durable, and only then may the files of removed messages go. */
void spool_flush_removed(struct spool *sp)
{
	int log_frames = -1, done = -2;

	if (sp->nremoved == 0)
		return;
	if (sqlite3_wal_checkpoint_v2(sp->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
				      &log_frames, &done) == SQLITE_OK &&
	    log_frames == done)
		unlink_removed(sp);
}

static int file_size(struct spool *sp, const char *qid, off_t *size)
{
	struct stat st;

	if (fstatat(sp->dirfd, qid, &st, 0) < 0)
		return -1;
	*size = st.st_size;
	return 0;
}

static int insert_env(struct spool *sp, const struct envelope *e, off_t size)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(sp->db,
		"INSERT INTO messages(qid,sender,created,size,body,smtputf8,ret,"
		"envid,client_ip,helo,session,auth_user,headers,junk,trace_len) "
		"VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, e->qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(st, 4, (sqlite3_int64)(size - (off_t)e->trace_len));
	sqlite3_bind_int(st, 5, (int)e->body);
	sqlite3_bind_int(st, 6, (int)e->smtputf8);
	sqlite3_bind_int(st, 7, (int)e->ret);
	sqlite3_bind_text(st, 8, e->envid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, e->client_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, e->helo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, e->session, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, e->auth_user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, e->headers ? e->headers : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 14, (int)e->junk);
	sqlite3_bind_int64(st, 15, (sqlite3_int64)e->trace_len);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	rc = sqlite3_prepare_v2(sp->db,
		"INSERT INTO recipients(qid,idx,address,notify,orcpt) VALUES(?,?,?,?,?)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -1;
	for (size_t i = 0; i < e->nrcpts; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, e->qid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, e->rcpts[i].addr, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, (int)e->rcpts[i].notify);
		sqlite3_bind_text(st, 5, e->rcpts[i].orcpt, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

int spool_commit(struct spool *sp, struct envelope **envs, size_t n, bool *ok,
		 const char **error_r)
{
	off_t *sizes = xcalloc(n, sizeof(*sizes));
	size_t good = 0;

	for (size_t i = 0; i < n; i++) {
		ok[i] = file_size(sp, envs[i]->qid, &sizes[i]) == 0 &&
			(uint64_t)sizes[i] >= envs[i]->trace_len;
		good += ok[i];
	}
	/* One syncfs makes every file of the batch durable, data and names
	 * (it is an fsync of every file of the file system): the cost of a
	 * batch does not grow with the number of messages in it. */
	if (good > 0 && syncfs(sp->dirfd) < 0) {
		*error_r = strerror(errno);
		goto fail;
	}
	if (db_exec(sp, "BEGIN IMMEDIATE", error_r) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (ok[i] && insert_env(sp, envs[i], sizes[i]) < 0) {
			log_error("queue=%s event=commit-failed reason=\"%s\"",
				  envs[i]->qid, sqlite3_errmsg(sp->db));
			ok[i] = false;
			db_exec(sp, "ROLLBACK", error_r);
			goto fail;
		}
	}
	if (db_exec(sp, "COMMIT", error_r) < 0) {
		db_exec(sp, "ROLLBACK", error_r);
		goto fail;
	}
	/* that commit synced the log, earlier records included */
	unlink_removed(sp);
	free(sizes);
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		ok[i] = false;
	free(sizes);
	return -1;
}

int spool_pending(struct spool *sp, char (*qids)[QUEUE_ID_MAX], size_t max,
		  size_t *n_r)
{
	sqlite3_stmt *st;
	size_t n = 0;

	if (sqlite3_prepare_v2(sp->db,
		"SELECT DISTINCT qid FROM recipients WHERE status=0 AND next_try<=? "
		"ORDER BY qid LIMIT ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		str_copy(qids[n++], QUEUE_ID_MAX,
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	*n_r = n;
	return 0;
}

int spool_load(struct spool *sp, const char *qid, struct spool_msg *m,
	       const char **error_r)
{
	sqlite3_stmt *st;

	memset(m, 0, sizeof(*m));
	str_copy(m->qid, sizeof(m->qid), qid);
	if (sqlite3_prepare_v2(sp->db, "SELECT sender, created, session, headers, "
			       "junk, trace_len FROM messages WHERE qid=?", -1, &st,
			       NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		*error_r = "no such message";
		return -1;
	}
	m->sender = xstrdup((const char *)sqlite3_column_text(st, 0));
	m->created = (time_t)sqlite3_column_int64(st, 1);
	m->session = xstrdup((const char *)sqlite3_column_text(st, 2));
	m->headers = xstrdup((const char *)sqlite3_column_text(st, 3));
	m->junk = sqlite3_column_int(st, 4) != 0;
	m->trace_len = (uint64_t)sqlite3_column_int64(st, 5);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(sp->db, "SELECT idx, address, status FROM "
			       "recipients WHERE qid=? AND status=0 ORDER BY idx",
			       -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		spool_msg_free(m);
		return -1;
	}
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		m->rcpts = xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(*m->rcpts));
		m->rcpts[m->nrcpts].idx = sqlite3_column_int64(st, 0);
		m->rcpts[m->nrcpts].addr =
			xstrdup((const char *)sqlite3_column_text(st, 1));
		m->rcpts[m->nrcpts].status = sqlite3_column_int(st, 2);
		m->nrcpts++;
	}
	sqlite3_finalize(st);
	return 0;
}

void spool_msg_free(struct spool_msg *m)
{
	free(m->sender);
	free(m->session);
	free(m->headers);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i].addr);
	free(m->rcpts);
	memset(m, 0, sizeof(*m));
}

int spool_begin(struct spool *sp, const char **error_r)
{
	if (db_exec(sp, "PRAGMA synchronous=NORMAL", error_r) < 0)
		return -1;
	if (db_exec(sp, "BEGIN IMMEDIATE", error_r) < 0) {
		db_exec(sp, "PRAGMA synchronous=FULL", error_r);
		return -1;
	}
	return 0;
}

int spool_commit_txn(struct spool *sp, const char **error_r)
{
	int r = db_exec(sp, "COMMIT", error_r);

	if (r < 0)
		spool_rollback(sp);
	/* back to FULL: commits acknowledged to clients are synced */
	db_exec(sp, "PRAGMA synchronous=FULL", error_r);
	return r;
}

void spool_rollback(struct spool *sp)
{
	sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
}

int spool_set_status(struct spool *sp, const char *qid, int64_t idx,
		     int status, const char *error)
{
	sqlite3_stmt *st;
	int rc;

	/* handing a recipient to outbound delivery is not an attempt */
	if (sqlite3_prepare_v2(sp->db, "UPDATE recipients SET status=?1, "
			       "attempts=attempts+(?1<>3), last_error=?2, next_try=?3 "
			       "WHERE qid=?4 AND idx=?5", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, status);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, status == SPOOL_PENDING ?
			   (sqlite3_int64)time(NULL) + 60 : 0);
	sqlite3_bind_text(st, 4, qid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, idx);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int spool_add_rcpt(struct spool *sp, const char *qid, const char *addr,
		   int status)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, "INSERT INTO recipients(qid,idx,address,"
			       "status) SELECT ?, COALESCE(MAX(idx),0)+1, ?, ? "
			       "FROM recipients WHERE qid=?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, status);
	sqlite3_bind_text(st, 4, qid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int spool_finish_if_done(struct spool *sp, const char *qid)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, "DELETE FROM messages WHERE qid=? AND "
			       "NOT EXISTS (SELECT 1 FROM recipients WHERE qid=? "
			       "AND status IN (0,3))", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, qid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(sp->db) > 0 ? 1 : 0;
}

static bool qid_committed(struct spool *sp, const char *qid)
{
	sqlite3_stmt *st;
	bool found = true;	/* when in doubt, keep the file */

	if (sqlite3_prepare_v2(sp->db, "SELECT 1 FROM messages WHERE qid=?", -1,
			       &st, NULL) != SQLITE_OK)
		return true;
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

void spool_cleanup(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	unsigned removed = 0;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || qid_committed(sp, de->d_name))
			continue;
		unlinkat(sp->dirfd, de->d_name, 0);
		removed++;
	}
	closedir(d);
	if (removed > 0)
		log_info("event=queue-cleanup removed=%u reason=\"files of "
			 "messages never acknowledged\"", removed);
}

/* --- outbound delivery (queue/outbound.c) --- */

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return xstrdup(t ? (const char *)t : "");
}

int spool_remote_due(struct spool *sp, time_t now, size_t max,
		     struct spool_remote_rcpt **out, size_t *n_r)
{
	sqlite3_stmt *st;
	size_t n = 0;

	*out = NULL;
	*n_r = 0;
	if (sqlite3_prepare_v2(sp->db, "SELECT qid, idx, address, notify, orcpt, "
			       "attempts FROM recipients WHERE status=3 AND "
			       "next_try<=? AND qid NOT IN (SELECT qid FROM holds) "
			       "ORDER BY qid, idx LIMIT ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct spool_remote_rcpt *r;
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		r = &(*out)[n++];
		str_copy(r->qid, QUEUE_ID_MAX, (const char *)sqlite3_column_text(st, 0));
		r->idx = sqlite3_column_int64(st, 1);
		r->addr = col_dup(st, 2);
		r->notify = (unsigned)sqlite3_column_int(st, 3);
		r->orcpt = col_dup(st, 4);
		r->attempts = (unsigned)sqlite3_column_int(st, 5);
	}
	sqlite3_finalize(st);
	*n_r = n;
	return 0;
}

void spool_remote_free(struct spool_remote_rcpt *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].addr);
		free(r[i].orcpt);
	}
	free(r);
}

time_t spool_remote_next(struct spool *sp)
{
	sqlite3_stmt *st;
	time_t t = 0;

	if (sqlite3_prepare_v2(sp->db, "SELECT MIN(next_try) FROM recipients "
			       "WHERE status=3 AND qid NOT IN (SELECT qid FROM "
			       "holds)", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = (time_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

int spool_meta_load(struct spool *sp, const char *qid, struct spool_meta *m,
		    const char **error_r)
{
	sqlite3_stmt *st;

	memset(m, 0, sizeof(*m));
	if (sqlite3_prepare_v2(sp->db, "SELECT sender, created, size, body, "
			       "smtputf8, ret, envid, auth_user, EXISTS(SELECT 1 "
			       "FROM delay_notices d WHERE d.qid=m.qid), trace_len FROM "
			       "messages m WHERE qid=?", -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		*error_r = "no such message";
		return -1;
	}
	m->sender = col_dup(st, 0);
	m->created = (time_t)sqlite3_column_int64(st, 1);
	m->size = (uint64_t)sqlite3_column_int64(st, 2);
	m->body = sqlite3_column_int(st, 3);
	m->smtputf8 = sqlite3_column_int(st, 4) != 0;
	m->ret = sqlite3_column_int(st, 5);
	m->envid = col_dup(st, 6);
	m->auth_user = col_dup(st, 7);
	m->delay_noticed = sqlite3_column_int(st, 8) != 0;
	m->trace_len = (uint64_t)sqlite3_column_int64(st, 9);
	sqlite3_finalize(st);
	return 0;
}

void spool_meta_free(struct spool_meta *m)
{
	free(m->sender);
	free(m->envid);
	free(m->auth_user);
	memset(m, 0, sizeof(*m));
}

int spool_set_remote(struct spool *sp, const char *qid, int64_t idx,
		     int status, time_t next_try, const char *error)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, "UPDATE recipients SET status=?, "
			       "attempts=attempts+1, last_error=?, next_try=? "
			       "WHERE qid=? AND idx=?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, status);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)next_try);
	sqlite3_bind_text(st, 4, qid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, idx);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int spool_mark_delay_notice(struct spool *sp, const char *qid)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(sp->db, "INSERT OR IGNORE INTO delay_notices(qid) "
			       "VALUES(?)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
