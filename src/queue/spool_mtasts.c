/* spool_mtasts: the mta_sts table of queue.db (schema in spool.c). */
#include "queue/spool_mtasts.h"

#include <string.h>

#include "lib/str.h"
#include "queue/spool_int.h"

int spool_mtasts_get(struct spool *sp, const char *domain,
		     struct spool_mtasts *out)
{
	sqlite3_stmt *st;
	int rc = -1, step;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(sp->db, "SELECT id, policy, fetched, expires "
			       "FROM mta_sts WHERE domain=?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const void *pol = sqlite3_column_blob(st, 1);
		str_copy(out->id, sizeof(out->id), id != NULL ? id : "");
		if (pol != NULL)
			buf_append(&out->policy, pol,
				   (size_t)sqlite3_column_bytes(st, 1));
		out->fetched = (time_t)sqlite3_column_int64(st, 2);
		out->expires = (time_t)sqlite3_column_int64(st, 3);
		rc = 1;
	} else if (step == SQLITE_DONE) {
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int spool_mtasts_put(struct spool *sp, const char *domain,
		     const struct spool_mtasts *e, const char **error_r)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(sp->db, "INSERT OR REPLACE INTO mta_sts(domain, "
			       "id, policy, fetched, expires) VALUES(?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errmsg(sp->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->policy.len ? e->policy.ptr : "",
			  (int)e->policy.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)e->fetched);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)e->expires);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		*error_r = sqlite3_errmsg(sp->db);
	sqlite3_finalize(st);
	return rc;
}

void spool_mtasts_free(struct spool_mtasts *e)
{
	buf_free(&e->policy);
}
