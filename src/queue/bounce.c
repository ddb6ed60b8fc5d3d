/* bounce: DSNs queued from <>. */
#include "queue/bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "smtp/smtp_parse.h"

static ssize_t read_fd(void *arg, char *b, size_t n)
{
	return read(*(int *)arg, b, n);
}

/* Queue text as a new message from <> to rcpt (spool_commit makes it durable). */
static int inject(struct spool *sp, const struct buf *text, const char *rcpt,
		  const char *orig_qid, const char **error_r)
{
	struct envelope e;
	struct envelope *ep = &e;
	bool ok = false;
	int fd;

	memset(&e, 0, sizeof(e));
	if (spool_create(sp, e.qid, &fd, error_r) < 0)
		return -1;
	if (buf_write_fd(fd, text->ptr, text->len) < 0) {
		*error_r = strerror(errno);
		close(fd);
		spool_discard(sp, e.qid);
		return -1;
	}
	close(fd);
	e.sender = xstrdup("");
	e.envid = xstrdup("");
	e.client_ip = xstrdup("");
	e.helo = xstrdup("");
	e.session = xstrdup("bounce");
	e.auth_user = xstrdup("");
	e.headers = xstrdup("");
	envelope_add_rcpt(&e, rcpt, SMTP_NOTIFY_NEVER, "");
	if (spool_commit(sp, &ep, 1, &ok, error_r) < 0 || !ok) {
		spool_discard(sp, e.qid);
		envelope_free(&e);
		return -1;
	}
	log_info("queue=%s event=committed from=<> nrcpt=1 dsn-for=%s to=<%s>",
		 e.qid, orig_qid, rcpt);
	envelope_free(&e);
	return 0;
}

int bounce_queue(struct spool *sp, const char *qid, const struct spool_meta *meta,
		 const struct dsn_rcpt *rcpts, size_t nrcpts, time_t retry_until,
		 const char **error_r)
{
	struct buf out = BUF_INIT, msgid = BUF_INIT;
	struct dsn_msg m;
	enum dsn_result r;
	int fd, ret = -1;

	fd = spool_open_message(sp, qid, meta->trace_len);
	if (fd < 0) {
		*error_r = "cannot open the original message";
		return -1;
	}
	buf_printf(&msgid, "%s.dsn.%lld@%s", qid, (long long)time(NULL),
		   proc_cfg.hostname);
	memset(&m, 0, sizeof(m));
	m.reporting_mta = proc_cfg.hostname;
	m.sender = meta->sender;
	m.envid = meta->envid;
	m.ret_full = meta->ret == SMTP_RET_FULL;
	m.arrival = meta->created;
	m.now = time(NULL);
	m.retry_until = retry_until;
	m.message_id = msgid.ptr;
	m.rcpts = rcpts;
	m.nrcpts = nrcpts;
	m.read = read_fd;
	m.read_arg = &fd;
	r = dsn_build(&m, &out, error_r);
	if (r == DSN_NONE)
		ret = 0;
	else if (r == DSN_BUILT)
		ret = inject(sp, &out, meta->sender, qid, error_r);
	close(fd);
	buf_free(&out);
	buf_free(&msgid);
	return ret;
}
