/* queue_server: IPC with smtp, group commit, delivery scheduling. */
#include "queue/queue_server.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "queue/deliver.h"
#include "queue/outbound.h"
#include "queue/queue_ctl.h"
#include "queue/spool.h"

#define RETRY_SCAN 30		/* seconds between scans for retries */
/* Deliveries wait this long after a commit so that one delivery pass (one
 * syncfs, one index commit per account) serves every message committed
 * meanwhile; the cost of a pass hardly depends on its size. */
#define DELIVER_DELAY_US 20000

/* A file handed to smtp and not yet committed or aborted. */
struct incoming {
	struct incoming *next;
	char qid[QUEUE_ID_MAX];
};

struct pending_commit {
	uint32_t reqid;
	struct envelope env;
};

static struct spool *spool;
static struct incoming *incoming;
static struct pending_commit *commits;
static size_t ncommits, commits_cap;
static struct event *commit_ev, *deliver_ev, *retry_ev, *flush_ev;
static bool stopping;

static bool incoming_take(const char *qid)
{
	for (struct incoming **p = &incoming; *p != NULL; p = &(*p)->next) {
		if (strcmp((*p)->qid, qid) == 0) {
			struct incoming *i = *p;
			*p = i->next;
			free(i);
			return true;
		}
	}
	return false;
}

static void reply_created(uint32_t reqid, const char *qid, int fd)
{
	struct buf m = BUF_INIT;

	ipc_w_str(&m, qid);
	proc_send(PROC_SMTP, MSG_QUEUE_CREATED, reqid, m.ptr, m.len, fd);
	buf_free(&m);
}

static void on_create(uint32_t reqid)
{
	struct incoming *i;
	const char *why = NULL;
	int fd;

	if (stopping) {
		reply_created(reqid, "", -1);
		return;
	}
	i = xcalloc(1, sizeof(*i));
	if (spool_create(spool, i->qid, &fd, &why) < 0) {
		log_error("event=create-failed reason=\"%s\"", why);
		free(i);
		reply_created(reqid, "", -1);
		return;
	}
	i->next = incoming;
	incoming = i;
	reply_created(reqid, i->qid, fd);
	close(fd);
}

static void reply_committed(uint32_t reqid, bool ok, const char *reason)
{
	struct buf m = BUF_INIT;

	ipc_w_u32(&m, ok ? 1 : 0);
	ipc_w_str(&m, reason);
	proc_send(PROC_SMTP, MSG_QUEUE_COMMITTED, reqid, m.ptr, m.len, -1);
	buf_free(&m);
}

static void on_commit(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct envelope env;

	if (envelope_unpack(&env, data, len) < 0) {
		log_error("peer=smtp event=bad-message type=commit");
		reply_committed(reqid, false, "malformed envelope");
		return;
	}
	if (!incoming_take(env.qid)) {
		log_warn("queue=%s event=commit-refused reason=\"unknown queue file\"",
			 env.qid);
		reply_committed(reqid, false, "unknown queue file");
		envelope_free(&env);
		return;
	}
	if (ncommits == commits_cap) {
		commits_cap = commits_cap ? commits_cap * 2 : 64;
		commits = xrealloc(commits, commits_cap * sizeof(*commits));
	}
	commits[ncommits].reqid = reqid;
	commits[ncommits].env = env;
	ncommits++;
	/* Run after everything now readable was read: that is the batch. */
	event_active(commit_ev, 0, 0);
}

/* Run a delivery pass soon, unless one is already due. */
static void schedule_deliveries(void)
{
	struct timeval tv = { 0, DELIVER_DELAY_US };

	if (!evtimer_pending(deliver_ev, NULL))
		evtimer_add(deliver_ev, &tv);
}

/* Group commit: one pass of fsyncs for every message that arrived while
 * the previous pass ran (DESIGN §5: nothing is acknowledged before). */
static void run_commits(evutil_socket_t fd, short what, void *arg)
{
	size_t n = ncommits < proc_cfg.queue_group_commit_max ?
		   ncommits : (size_t)proc_cfg.queue_group_commit_max;
	struct envelope **envs = xcalloc(n, sizeof(*envs));
	bool *ok = xcalloc(n, sizeof(*ok));
	const char *why = "";

	(void)fd; (void)what; (void)arg;
	for (size_t i = 0; i < n; i++)
		envs[i] = &commits[i].env;
	if (spool_commit(spool, envs, n, ok, &why) < 0)
		log_error("event=commit-failed messages=%zu reason=\"%s\"", n, why);
	for (size_t i = 0; i < n; i++) {
		struct envelope *e = envs[i];
		if (ok[i]) {
			log_info("queue=%s session=%s event=committed from=<%s> "
				 "nrcpt=%zu", e->qid, e->session, e->sender, e->nrcpts);
		} else {
			spool_discard(spool, e->qid);
		}
		reply_committed(commits[i].reqid, ok[i], ok[i] ? "" : "commit failed");
		envelope_free(e);
	}
	memmove(commits, commits + n, (ncommits - n) * sizeof(*commits));
	ncommits -= n;
	if (ncommits > 0)
		event_active(commit_ev, 0, 0);
	free(envs);
	free(ok);
	schedule_deliveries();
}

static void on_abort(const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	const char *qid;

	ipc_r_init(&r, data, len);
	qid = ipc_r_str(&r);
	if (ipc_r_end(&r) < 0 || !incoming_take(qid))
		return;
	spool_discard(spool, qid);
}

static void on_msg(enum proc_role from, uint32_t type, uint32_t reqid,
		   const uint8_t *data, size_t len, int fd)
{
	if (fd >= 0)
		close(fd);
	if (from == PROC_MAIN && MSG_CTL_IS_REQUEST(type)) {
		queue_ctl_msg(type, reqid, data, len);	/* `mailkeep queue` */
		return;
	}
	if (from != PROC_SMTP) {
		log_error("peer=%s event=unexpected-message type=%u",
			  proc_role_name(from), type);
		return;
	}
	switch (type) {
	case MSG_QUEUE_CREATE:
		on_create(reqid);
		break;
	case MSG_QUEUE_COMMIT:
		on_commit(reqid, data, len);
		break;
	case MSG_QUEUE_ABORT:
		on_abort(data, len);
		break;
	default:
		log_error("peer=smtp event=unexpected-message type=%u", type);
	}
}

/* smtp died: the files it was writing will never be committed. */
static void on_peer_down(enum proc_role role)
{
	if (role != PROC_SMTP)
		return;
	while (incoming != NULL) {
		struct incoming *i = incoming;
		incoming = i->next;
		spool_discard(spool, i->qid);
		free(i);
	}
}

static void run_deliveries(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	/* A full batch means there may be more: go on after other events. */
	if (deliver_batch(spool) > 0)
		event_active(deliver_ev, 0, 0);
	else
		outbound_run();	/* remote recipients the pass handed over */
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	event_active(deliver_ev, 0, 0);
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	spool_flush_removed(spool);
}

static void on_start(void)
{
	const char *why = NULL;
	struct timeval tv = { RETRY_SCAN, 0 };
	struct timeval flush_tv = { 1, 0 };

	if (spool_open(&spool, proc_cfg.data_dir, &why) < 0)
		fatal("event=start status=failed reason=\"queue: %s\"", why);
	spool_cleanup(spool);
	if (deliver_init(&why) < 0)
		fatal("event=start status=failed reason=\"%s\"", why);
	if (outbound_init(spool, schedule_deliveries, &why) < 0)
		fatal("event=start status=failed reason=\"%s\"", why);
	queue_ctl_init(spool, schedule_deliveries);
	commit_ev = event_new(proc_base, -1, 0, run_commits, NULL);
	deliver_ev = evtimer_new(proc_base, run_deliveries, NULL);
	retry_ev = event_new(proc_base, -1, EV_PERSIST, on_retry_timer, NULL);
	evtimer_add(retry_ev, &tv);
	flush_ev = event_new(proc_base, -1, EV_PERSIST, on_flush_timer, NULL);
	evtimer_add(flush_ev, &flush_tv);
	event_active(deliver_ev, 0, 0);	/* what was left by the last run */
	log_info("event=ready");
}

static void on_reload(void)
{
	deliver_reload();
	outbound_reload();
}

static void on_shutdown(void)
{
	stopping = true;
	/* Commits already received are answered before exit. */
	if (ncommits > 0)
		run_commits(-1, 0, NULL);
	outbound_shutdown();
	deliver_shutdown();
	spool_close(spool);
	proc_exit(0);
}

static const struct proc_hooks hooks = {
	.msg = on_msg,
	.peer_down = on_peer_down,
	.start = on_start,
	.reload = on_reload,
	.shutdown = on_shutdown,
};

int queue_server_main(const char *config_path)
{
	return proc_child_main(PROC_QUEUE, config_path, &hooks);
}
