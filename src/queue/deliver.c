/* deliver: local delivery passes. */
#include "queue/deliver.h"

#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/lookup.h"
#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store.h"

#define STORE_CACHE 32		/* open account stores kept between passes */
/* Full-text indexing happens after delivery, in the queue's idle time:
 * this many messages per turn of the event loop, once no delivery pass
 * has run for FTS_IDLE_MS (every commit brings a pass within
 * milliseconds, so a stream of mail is stored first and indexed after;
 * indexing a 100 KiB text costs more CPU than delivering it). */
#define FTS_STEP 8
#define FTS_IDLE_MS 500

struct open_store {
	int64_t account;
	struct store *st;
	bool touched;		/* delivered to in this pass: needs sync */
	bool failed;		/* sync failed: this pass's deliveries are void */
	bool fts_due;		/* has messages without full-text rows */
};

/* One recipient's outcome in the current pass. */
struct outcome {
	const char *qid;
	int64_t idx;
	int status;
	const char *error;
	int64_t *accounts;	/* stores this outcome depends on */
	size_t naccounts;
	char **forwards;
	size_t nforwards;
};

static struct open_store stores[STORE_CACHE];
static size_t nstores;
static struct event *fts_ev;
static int64_t last_pass_ms;	/* CLOCK_MONOTONIC of the last delivery pass */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arm the indexing timer to fire in ms milliseconds. */
static void fts_after(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(fts_ev, &tv);
}

/* One step of full-text indexing for the first store that needs it. */
static void on_fts(evutil_socket_t fd, short what, void *arg)
{
	int64_t quiet = now_ms() - last_pass_ms;

	(void)fd; (void)what; (void)arg;
	if (quiet < FTS_IDLE_MS) {	/* still busy: look again later */
		fts_after(FTS_IDLE_MS - quiet);
		return;
	}
	for (size_t i = 0; i < nstores; i++) {
		const char *why = NULL;
		size_t done = 0;
		if (!stores[i].fts_due)
			continue;
		if (store_fts_catch_up(stores[i].st, FTS_STEP, &done, &why) < 0) {
			log_error("account=%lld event=fts-index-failed reason=\"%s\" "
				  "action=\"indexed at the first search\"",
				  (long long)stores[i].account, why);
			stores[i].fts_due = false;
		} else if (done < FTS_STEP) {
			stores[i].fts_due = false;
		}
		fts_after(1);	/* more, after other events */
		return;
	}
}

static void schedule_fts(void)
{
	if (fts_ev == NULL)
		fts_ev = evtimer_new(proc_base, on_fts, NULL);
	if (!evtimer_pending(fts_ev, NULL))
		fts_after(FTS_IDLE_MS);
}

int deliver_init(const char **error_r)
{
	return lookup_init(&proc_cfg, error_r);
}

void deliver_reload(void)
{
	lookup_reload(&proc_cfg);
}

static void close_stores(void)
{
	for (size_t i = 0; i < nstores; i++)
		store_close(stores[i].st);
	nstores = 0;
}

void deliver_shutdown(void)
{
	if (fts_ev != NULL) {
		event_free(fts_ev);
		fts_ev = NULL;
	}
	close_stores();
	lookup_shutdown();
}

/* The outcomes of the current pass, so far (for syncs in mid-pass). */
static struct outcome *pass_outcomes;
static size_t pass_noutcomes;

static void sync_stores(struct outcome *os, size_t n);

static bool all_touched(void)
{
	for (size_t i = 0; i < nstores; i++)
		if (!stores[i].touched)
			return false;
	return true;
}

static struct open_store *get_store(int64_t account, const char **error_r)
{
	struct store *st;

	for (size_t i = 0; i < nstores; i++)
		if (stores[i].account == account)
			return &stores[i];
	if (store_open(&st, proc_cfg.data_dir, account, true, error_r) < 0)
		return NULL;
	store_set_fts_at_delivery(st, false);	/* on_fts does it */
	if (nstores == STORE_CACHE && all_touched())
		sync_stores(pass_outcomes, pass_noutcomes);	/* frees slots */
	if (nstores == STORE_CACHE) {
		/* Evict one not used in this pass (all are synced). */
		for (size_t i = 0; i < nstores; i++) {
			if (!stores[i].touched) {
				store_close(stores[i].st);
				stores[i] = stores[--nstores];
				break;
			}
		}
	}
	stores[nstores] = (struct open_store){ account, st, false, false, false };
	return &stores[nstores++];
}

/* Deliver one recipient's copies; fills *o. The queue file at path
 * (size bytes, open as fd) starts with the local trace for recipient 0
 * when m->trace_len > 0: that recipient's mailboxes get the file itself
 * (a hard link), the others a copy of the message behind their trace. */
static void deliver_rcpt(const struct spool_msg *m, const struct spool_rcpt *r,
			 int fd, const char *path, uint64_t size,
			 struct outcome *o)
{
	bool whole = m->trace_len > 0 && r->idx == 0;
	uint64_t skip = whole ? 0 : m->trace_len;	/* the file's trace */
	struct resolve_result res;
	const char *why = NULL;
	struct buf prefix = BUF_INIT, key = BUF_INIT;
	enum resolve_status rs;

	rs = lookup_resolve(&proc_cfg, r->addr, &res, &why);
	o->status = SPOOL_DELIVERED;
	if (rs == RESOLVE_NOT_LOCAL) {
		o->status = SPOOL_REMOTE;
	} else if (rs == RESOLVE_UNKNOWN || rs == RESOLVE_LOOP) {
		o->status = SPOOL_FAILED;
		o->error = rs == RESOLVE_LOOP ? "5.4.6 alias loop" :
			   "5.1.1 user unknown";
	} else if (rs != RESOLVE_OK) {
		o->status = SPOOL_PENDING;
		o->error = "4.3.0 recipient lookup failed";
	}
	if (!whole)
		envelope_local_trace(&prefix, m->sender, r->addr, m->headers);
	for (size_t i = 0; rs == RESOLVE_OK && i < res.naccounts; i++) {
		struct open_store *os = get_store(res.accounts[i], &why);
		struct store_delivery d = {
			.mailbox = m->junk ? "Junk" : "INBOX",
			.prefix = prefix.ptr, .prefix_len = prefix.len,
			.src_fd = fd, .src_off = skip, .src_len = size - skip,
			.src_path = whole ? path : NULL,
			.internaldate = m->created,
		};
		uint32_t uid = 0;
		int dr = -1;

		buf_reset(&key);
		buf_printf(&key, "%s.%lld", m->qid, (long long)res.accounts[i]);
		d.delivery_key = key.ptr;
		if (os != NULL)
			dr = store_deliver(os->st, &d, &uid, &why);
		if (dr < 0) {
			log_error("queue=%s to=<%s> account=%lld status=deferred "
				  "reason=\"%s\"", m->qid, r->addr,
				  (long long)res.accounts[i], why);
			o->status = SPOOL_PENDING;
			o->error = "4.3.0 mailbox temporarily unavailable";
			continue;
		}
		os->touched = true;
		o->accounts = xrealloc(o->accounts, (o->naccounts + 1) *
				       sizeof(*o->accounts));
		o->accounts[o->naccounts++] = res.accounts[i];
		log_info("queue=%s to=<%s> mailbox=%s folder=%s uid=%u status=%s",
			 m->qid, r->addr, res.account_addrs[i], d.mailbox, uid,
			 dr == 1 ? "delivered" : "already-delivered");
	}
	for (size_t i = 0; rs == RESOLVE_OK && i < res.nremote; i++) {
		o->forwards = xrealloc(o->forwards, (o->nforwards + 1) *
				       sizeof(*o->forwards));
		o->forwards[o->nforwards++] = xstrdup(res.remote[i]);
	}
	if (o->status == SPOOL_FAILED || rs == RESOLVE_TEMPFAIL)
		log_info("queue=%s to=<%s> status=%s reason=\"%s\"", m->qid, r->addr,
			 o->status == SPOOL_FAILED ? "failed" : "deferred",
			 why ? why : "");
	resolve_result_free(&res);
	buf_free(&prefix);
	buf_free(&key);
}

/* Tell the imap process (IDLE sessions) that an account has new mail. */
static void notify_imap(int64_t account)
{
	struct buf m = BUF_INIT;

	if (!proc_peer_connected(PROC_IMAP))
		return;
	ipc_w_u64(&m, (uint64_t)account);
	proc_send(PROC_IMAP, MSG_STORE_CHANGED, 0, m.ptr, m.len, -1);
	buf_free(&m);
}

/* fsync every store delivered to in this pass; failures void outcomes. */
static void sync_stores(struct outcome *os, size_t n)
{
	for (size_t i = 0; i < nstores; i++) {
		const char *why = NULL;
		if (!stores[i].touched)
			continue;
		stores[i].failed = store_sync(stores[i].st, &why) < 0;
		if (stores[i].failed)
			log_error("account=%lld event=sync-failed reason=\"%s\"",
				  (long long)stores[i].account, why);
	}
	for (size_t k = 0; k < n; k++)
		for (size_t a = 0; a < os[k].naccounts; a++)
			for (size_t i = 0; i < nstores; i++)
				if (stores[i].account == os[k].accounts[a] &&
				    stores[i].failed) {
					os[k].status = SPOOL_PENDING;
					os[k].error = "4.3.0 mailbox sync failed";
				}
	for (size_t i = 0; i < nstores; i++) {
		if (stores[i].touched && !stores[i].failed) {
			notify_imap(stores[i].account);
			stores[i].fts_due = true;
			schedule_fts();
		}
		if (stores[i].failed) {
			/* reopen next time: its state is unknown now */
			store_close(stores[i].st);
			stores[i] = stores[--nstores];
			i--;
			continue;
		}
		stores[i].touched = false;
	}
}

/* Record the pass in queue.db, then drop finished messages. */
static void record(struct spool *sp, struct spool_msg *msgs, size_t nmsgs,
		   struct outcome *os, size_t n)
{
	const char *why = NULL;
	char (*done)[QUEUE_ID_MAX] = xcalloc(nmsgs ? nmsgs : 1, QUEUE_ID_MAX);
	size_t ndone = 0;

	if (spool_begin(sp, &why) < 0) {
		log_error("event=record-failed reason=\"%s\"", why);
		free(done);
		return;	/* redelivery later is a no-op thanks to the keys */
	}
	for (size_t k = 0; k < n; k++) {
		spool_set_status(sp, os[k].qid, os[k].idx, os[k].status, os[k].error);
		for (size_t f = 0; f < os[k].nforwards; f++)
			spool_add_rcpt(sp, os[k].qid, os[k].forwards[f], SPOOL_REMOTE);
	}
	for (size_t i = 0; i < nmsgs; i++)
		if (spool_finish_if_done(sp, msgs[i].qid) == 1)
			memcpy(done[ndone++], msgs[i].qid, QUEUE_ID_MAX);
	if (spool_commit_txn(sp, &why) < 0) {
		log_error("event=record-failed reason=\"%s\"", why);
		free(done);
		return;
	}
	for (size_t i = 0; i < ndone; i++) {
		spool_unlink(sp, done[i]);
		log_info("queue=%s event=removed", done[i]);
	}
	free(done);
}

static void outcome_free(struct outcome *o)
{
	free(o->accounts);
	for (size_t i = 0; i < o->nforwards; i++)
		free(o->forwards[i]);
	free(o->forwards);
}

int deliver_batch(struct spool *sp)
{
	char qids[DELIVER_BATCH][QUEUE_ID_MAX];
	struct spool_msg msgs[DELIVER_BATCH];
	struct outcome *os = NULL;
	size_t nq = 0, nmsgs = 0, n = 0;
	struct buf path = BUF_INIT;

	last_pass_ms = now_ms();
	if (spool_pending(sp, qids, DELIVER_BATCH, &nq) < 0 || nq == 0)
		return 0;
	for (size_t q = 0; q < nq; q++) {
		const char *why = NULL;
		struct spool_msg *m = &msgs[nmsgs];
		struct stat st;
		int fd;

		if (spool_load(sp, qids[q], m, &why) < 0)
			continue;
		nmsgs++;
		spool_path(sp, m->qid, &path);
		fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 ||
		    (uint64_t)st.st_size < m->trace_len) {
			log_error("queue=%s event=open-failed path=%s", m->qid, path.ptr);
			if (fd >= 0)
				close(fd);
			continue;
		}
		os = xrealloc(os, (n + m->nrcpts) * sizeof(*os));
		for (size_t r = 0; r < m->nrcpts; r++, n++) {
			memset(&os[n], 0, sizeof(os[n]));
			os[n].qid = m->qid;
			os[n].idx = m->rcpts[r].idx;
			pass_outcomes = os;
			pass_noutcomes = n + 1;	/* this one included */
			deliver_rcpt(m, &m->rcpts[r], fd, path.ptr,
				     (uint64_t)st.st_size, &os[n]);
		}
		close(fd);
	}
	sync_stores(os, n);
	pass_outcomes = NULL;
	pass_noutcomes = 0;
	record(sp, msgs, nmsgs, os, n);
	for (size_t k = 0; k < n; k++)
		outcome_free(&os[k]);
	free(os);
	for (size_t i = 0; i < nmsgs; i++)
		spool_msg_free(&msgs[i]);
	buf_free(&path);
	return (int)nq == DELIVER_BATCH ? (int)nq : 0;
}
