/* queue_ctl: `mailkeep queue` requests in the queue process. */
#include "queue/queue_ctl.h"

#include <string.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "queue/outbound.h"
#include "queue/qinfo.h"
#include "queue/spool_admin.h"

static struct spool *spool;
static void (*kick_deliveries)(void);

void queue_ctl_init(struct spool *sp, void (*kick)(void))
{
	spool = sp;
	kick_deliveries = kick;
}

static void reply_done(uint32_t reqid, enum ctl_status status,
		       const char *detail)
{
	struct buf m = BUF_INIT;

	ipc_w_u32(&m, (uint32_t)status);
	ipc_w_str(&m, detail);
	proc_send(PROC_MAIN, MSG_CTL_DONE, reqid, m.ptr, m.len, -1);
	buf_free(&m);
}

/* Send one message's item; remote recipients under way are "active". */
static void send_item(struct qinfo_msg *m, void *arg)
{
	uint32_t reqid = *(uint32_t *)arg;
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].state == QINFO_REMOTE_WAITING &&
		    outbound_active(m->qid, m->rcpts[i].idx))
			m->rcpts[i].state = QINFO_REMOTE_ACTIVE;
	qinfo_pack(m, &b);
	if (b.len > IPC_MAX_PAYLOAD) {	/* not reached with qinfo's limits */
		buf_reset(&b);
		m->headers[0] = '\0';
		m->omitted += (uint32_t)m->nrcpts;
		m->nrcpts = 0;
		qinfo_pack(m, &b);
	}
	proc_send(PROC_MAIN, MSG_CTL_QUEUE_ITEM, reqid, b.ptr, b.len, -1);
	buf_free(&b);
}

static void do_list(uint32_t reqid)
{
	const char *why = NULL;

	if (spool_admin_list(spool, send_item, &reqid, &why) < 0) {
		log_error("event=queue-list status=failed reason=\"%s\"", why);
		reply_done(reqid, CTL_FAILED, why);
		return;
	}
	reply_done(reqid, CTL_OK, "");
}

static void do_show(uint32_t reqid, const char *qid)
{
	struct qinfo_msg m;
	const char *why = NULL;
	int r = spool_admin_show(spool, qid, &m, &why);

	if (r < 0) {
		reply_done(reqid, CTL_FAILED, why);
		return;
	}
	if (r == 0) {
		reply_done(reqid, CTL_NOT_FOUND, "no such message in the queue");
		return;
	}
	send_item(&m, &reqid);
	qinfo_free(&m);
	reply_done(reqid, CTL_OK, "");
}

static void do_flush(uint32_t reqid)
{
	const char *why = NULL;
	size_t n = 0;

	if (spool_admin_flush(spool, &n, &why) < 0) {
		log_error("event=flush status=failed reason=\"%s\"", why);
		reply_done(reqid, CTL_FAILED, why);
		return;
	}
	log_info("event=flush by=admin recipients=%zu", n);
	kick_deliveries();
	outbound_run();
	reply_done(reqid, CTL_OK, "");
}

/* delete, hold, release: one message each. */
static void do_one(uint32_t reqid, uint32_t type, const char *qid)
{
	const char *why = NULL, *event;
	int r;

	if (type == MSG_CTL_QUEUE_DELETE) {
		event = "deleted";
		r = spool_admin_delete(spool, qid, &why);
	} else {
		event = type == MSG_CTL_QUEUE_HOLD ? "held" : "released";
		r = spool_admin_hold(spool, qid, type == MSG_CTL_QUEUE_HOLD, &why);
	}
	if (r < 0) {
		log_error("queue=%s event=%s status=failed reason=\"%s\"", qid,
			  event, why);
		reply_done(reqid, CTL_FAILED, why);
		return;
	}
	if (r == 0) {
		reply_done(reqid, CTL_NOT_FOUND, "no such message in the queue");
		return;
	}
	log_info("queue=%s event=%s by=admin", qid, event);
	if (type != MSG_CTL_QUEUE_RELEASE)
		outbound_unwait(qid);
	if (type == MSG_CTL_QUEUE_DELETE)
		outbound_forget(qid);
	else if (type == MSG_CTL_QUEUE_RELEASE)
		outbound_run();
	reply_done(reqid, CTL_OK, "");
}

void queue_ctl_msg(uint32_t type, uint32_t reqid, const uint8_t *data,
		   size_t len)
{
	struct ipc_reader r;
	const char *qid = NULL;

	ipc_r_init(&r, data, len);
	if (type != MSG_CTL_QUEUE_LIST && type != MSG_CTL_QUEUE_FLUSH)
		qid = ipc_r_str(&r);
	if (spool == NULL) {
		reply_done(reqid, CTL_TEMPFAIL, "the queue is not ready yet");
		return;
	}
	if (!MSG_CTL_IS_REQUEST(type) || ipc_r_end(&r) < 0) {
		reply_done(reqid, CTL_BAD_REQUEST, "malformed request");
		return;
	}
	if (qid != NULL && !spool_admin_qid_ok(qid)) {
		reply_done(reqid, CTL_NOT_FOUND, "not a queue id");
		return;
	}
	if (type == MSG_CTL_QUEUE_LIST)
		do_list(reqid);
	else if (type == MSG_CTL_QUEUE_SHOW)
		do_show(reqid, qid);
	else if (type == MSG_CTL_QUEUE_FLUSH)
		do_flush(reqid);
	else
		do_one(reqid, type, qid);
}
