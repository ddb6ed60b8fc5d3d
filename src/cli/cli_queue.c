/* cli_queue: `mailkeep queue list|show|flush|delete|hold|release` — the
 * outbound queue, through the daemon's control socket (daemon/control.h).
 * The configuration is read only to find run_dir; every request goes to
 * the running daemon, which alone touches the queue.
 *
 * Exit: 0 done, 1 error (unknown queue id, ...), 2 usage,
 * 75 (EX_TEMPFAIL) when the daemon cannot be reached or its queue
 * process is restarting. */
#include "cli/cli.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/unixsock.h"
#include "lib/xalloc.h"
#include "queue/qinfo.h"

#define CLI_EXIT_TEMPFAIL 75		/* sysexits.h EX_TEMPFAIL */
#define QUEUE_REPLY_TIMEOUT 120		/* seconds to wait for an answer */

static const char queue_usage[] =
	"queue list [--json] | show ID [--json] | flush | delete ID... | "
	"hold ID... | release ID...";

/* One connection to the daemon and the request under way on it. */
struct qconn {
	struct event_base *base;
	struct ipc *ch;
	struct event *timeout;
	const char *path;
	uint32_t reqid;
	bool finished;		/* MSG_CTL_DONE came */
	bool lost;		/* closed, malformed reply, or timed out */
	uint32_t status;	/* enum ctl_status */
	struct buf detail;
	struct qinfo_msg *items;
	size_t nitems;
};

/* ---- talking to the daemon ---- */

static void on_reply(struct ipc *ch, uint32_t type, uint32_t reqid,
		     const uint8_t *data, size_t len, int fd, void *arg)
{
	struct qconn *q = arg;
	struct ipc_reader r;

	(void)ch;
	if (fd >= 0)
		close(fd);
	if (reqid != q->reqid || q->finished)
		return;
	if (type == MSG_CTL_QUEUE_ITEM) {
		q->items = xrealloc(q->items, (q->nitems + 1) * sizeof(*q->items));
		if (qinfo_unpack(&q->items[q->nitems], data, len) == 0)
			q->nitems++;
		else
			q->lost = true;
		return;
	}
	ipc_r_init(&r, data, len);
	q->status = ipc_r_u32(&r);
	buf_appends(&q->detail, ipc_r_str(&r));
	if (type != MSG_CTL_DONE || ipc_r_end(&r) < 0)
		q->lost = true;
	q->finished = true;
	event_base_loopbreak(q->base);
}

static void on_closed(struct ipc *ch, void *arg)
{
	struct qconn *q = arg;

	(void)ch;
	q->lost = true;
	event_base_loopbreak(q->base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct qconn *q = arg;

	(void)fd;
	(void)what;
	q->lost = true;
	event_base_loopbreak(q->base);
}

/* Connect to the control socket: 0, or an exit status (message printed). */
static int qconn_open(struct qconn *q, const char *path)
{
	int fd;

	memset(q, 0, sizeof(*q));
	q->path = path;
	if ((fd = unixsock_connect(path, SOCK_SEQPACKET)) < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			return cli_fail("cannot use %s: %s (run as root or as the "
					"user that started mailkeep)", path,
					strerror(e));
		cli_fail("cannot reach mailkeep at %s: is `mailkeep serve` "
			 "running?", path);
		return CLI_EXIT_TEMPFAIL;
	}
	q->base = event_base_new();
	if (q->base == NULL) {
		close(fd);
		return cli_fail("cannot create an event loop");
	}
	q->ch = ipc_new(q->base, fd, "mailkeep", on_reply, on_closed, q);
	q->timeout = evtimer_new(q->base, on_timeout, q);
	return 0;
}

static void qconn_reset(struct qconn *q)
{
	for (size_t i = 0; i < q->nitems; i++)
		qinfo_free(&q->items[i]);
	free(q->items);
	q->items = NULL;
	q->nitems = 0;
	buf_free(&q->detail);
	q->finished = false;
	q->status = CTL_OK;
}

static void qconn_close(struct qconn *q)
{
	qconn_reset(q);
	if (q->timeout != NULL)
		event_free(q->timeout);
	if (q->ch != NULL)
		ipc_free(q->ch);
	if (q->base != NULL)
		event_base_free(q->base);
}

/* Send one request, wait for its items and MSG_CTL_DONE: an exit
 * status (0 when the daemon said CTL_OK; message printed otherwise). */
static int qconn_request(struct qconn *q, uint32_t type, const char *qid)
{
	struct timeval tv = { QUEUE_REPLY_TIMEOUT, 0 };
	struct buf m = BUF_INIT;

	qconn_reset(q);
	if (q->lost)
		return CLI_EXIT_TEMPFAIL;
	if (qid != NULL)
		ipc_w_str(&m, qid);
	q->reqid++;
	ipc_send(q->ch, type, q->reqid, m.ptr, m.len, -1);
	buf_free(&m);
	evtimer_add(q->timeout, &tv);
	while (!q->finished && !q->lost)
		event_base_dispatch(q->base);
	evtimer_del(q->timeout);
	if (q->lost) {
		cli_fail("no complete answer from mailkeep at %s (did it stop?)",
			 q->path);
		return CLI_EXIT_TEMPFAIL;
	}
	switch (q->status) {
	case CTL_OK:
		return CLI_EXIT_OK;
	case CTL_TEMPFAIL:
		cli_fail("%s", buf_cstr(&q->detail));
		return CLI_EXIT_TEMPFAIL;
	case CTL_NOT_FOUND:
		return cli_fail("%s: %s", qid ? qid : "?", buf_cstr(&q->detail));
	default:
		return cli_fail("the daemon refused: %s", buf_cstr(&q->detail));
	}
}

/* ---- output ---- */

/* Text from the queue (hostile remote replies, headers) made safe for a
 * terminal: CR before LF goes, other control characters than keep[]
 * become '?'. */
static void put_safe(struct buf *out, const char *s, const char *keep)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r' && s[1] == '\n')
			continue;
		if ((c < 0x20 || c == 0x7f) && strchr(keep, c) == NULL)
			buf_appendc(out, '?');
		else
			buf_appendc(out, (char)c);
	}
}

static void put_time(struct buf *out, int64_t t, bool iso)
{
	char s[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), iso ? "%Y-%m-%dT%H:%M:%S%z" :
		     "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(s, sizeof(s), "%lld", (long long)t);
	buf_appends(out, s);
}

static void print_rcpt(struct buf *out, const struct qinfo_rcpt *r)
{
	buf_appends(out, "    ");
	put_safe(out, r->addr, "");
	buf_printf(out, "  [%s, %u attempt%s", qinfo_state_name(r->state),
		   r->attempts, r->attempts == 1 ? "" : "s");
	if (r->state == QINFO_REMOTE_WAITING && r->next_try > 0) {
		buf_appends(out, ", next try ");
		put_time(out, r->next_try, false);
	}
	buf_appends(out, "]\n");
	if (*r->last_error != '\0') {
		buf_appends(out, "        (");
		put_safe(out, r->last_error, "");
		buf_appends(out, ")\n");
	}
}

/* A mailq-style block: id, size, arrival, sender, HOLD; recipients. */
static void print_msg(struct buf *out, const struct qinfo_msg *m)
{
	buf_printf(out, "%-20s %9llu  ", m->qid, (unsigned long long)m->size);
	put_time(out, m->created, false);
	buf_appends(out, "  <");
	put_safe(out, m->sender, "");
	buf_appends(out, m->held ? ">  HOLD\n" : ">\n");
	for (size_t i = 0; i < m->nrcpts; i++)
		print_rcpt(out, &m->rcpts[i]);
	if (m->omitted > 0)
		buf_printf(out, "    ... and %u more recipients\n", m->omitted);
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD. */
static void json_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_appendc(out, '"');
	while (*p != '\0') {
		size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 :
			   (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
		size_t k = 1;
		while (k < n && (p[k] & 0xC0) == 0x80)
			k++;
		if (n == 0 || k < n || (n == 2 && *p < 0xC2)) {
			buf_appends(out, "\\ufffd");
			p++;
		} else if (n > 1) {
			buf_append(out, p, n);
			p += n;
		} else {
			if (*p == '"' || *p == '\\')
				buf_printf(out, "\\%c", *p);
			else if (*p < 0x20 || *p == 0x7f)
				buf_printf(out, "\\u%04x", *p);
			else
				buf_appendc(out, (char)*p);
			p++;
		}
	}
	buf_appendc(out, '"');
}

static void json_rcpt(struct buf *out, const struct qinfo_rcpt *r)
{
	buf_appends(out, "{\"address\": ");
	json_str(out, r->addr);
	buf_printf(out, ", \"state\": \"%s\", \"attempts\": %u, \"next_try\": ",
		   qinfo_state_name(r->state), r->attempts);
	if (r->state == QINFO_REMOTE_WAITING && r->next_try > 0)
		buf_printf(out, "%lld", (long long)r->next_try);
	else
		buf_appends(out, "null");
	buf_appends(out, ", \"last_error\": ");
	if (*r->last_error != '\0')
		json_str(out, r->last_error);
	else
		buf_appends(out, "null");
	buf_appendc(out, '}');
}

static void json_msg(struct buf *out, const struct qinfo_msg *m, bool headers)
{
	buf_appends(out, "{\"id\": ");
	json_str(out, m->qid);
	buf_printf(out, ", \"size\": %llu, \"arrival\": %lld, \"arrival_time\": \"",
		   (unsigned long long)m->size, (long long)m->created);
	put_time(out, m->created, true);
	buf_appends(out, "\", \"sender\": ");
	json_str(out, m->sender);
	buf_printf(out, ", \"held\": %s, \"recipients\": [",
		   m->held ? "true" : "false");
	for (size_t i = 0; i < m->nrcpts; i++) {
		buf_appends(out, i > 0 ? ", " : "");
		json_rcpt(out, &m->rcpts[i]);
	}
	buf_printf(out, "], \"recipients_omitted\": %u", m->omitted);
	if (headers) {
		buf_appends(out, ", \"headers\": ");
		json_str(out, m->headers);
	}
	buf_appendc(out, '}');
}

static void emit(struct buf *out)
{
	fwrite(out->ptr != NULL ? out->ptr : "", 1, out->len, stdout);
	fflush(stdout);
	buf_free(out);
}

/* ---- the subcommands ---- */

static bool take_json(int *argc, char **argv)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			continue;
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i - 1) * sizeof(*argv));
		(*argc)--;
		return true;
	}
	return false;
}

static int do_list(struct qconn *q, bool json)
{
	struct buf out = BUF_INIT;
	uint64_t total = 0;
	int rc = qconn_request(q, MSG_CTL_QUEUE_LIST, NULL);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (json)
		buf_appends(&out, "{\"messages\": [");
	for (size_t i = 0; i < q->nitems; i++) {
		total += q->items[i].size;
		if (json) {
			buf_appends(&out, i > 0 ? ",\n  " : "\n  ");
			json_msg(&out, &q->items[i], false);
		} else {
			print_msg(&out, &q->items[i]);
			buf_appendc(&out, '\n');
		}
	}
	if (json)
		buf_appends(&out, "\n]}\n");
	else if (q->nitems == 0)
		buf_appends(&out, "Mail queue is empty\n");
	else
		buf_printf(&out, "-- %llu KiB in %zu message%s.\n",
			   (unsigned long long)(total + 1023) / 1024, q->nitems,
			   q->nitems == 1 ? "" : "s");
	emit(&out);
	return CLI_EXIT_OK;
}

static int do_show(struct qconn *q, const char *qid, bool json)
{
	struct buf out = BUF_INIT;
	int rc = qconn_request(q, MSG_CTL_QUEUE_SHOW, qid);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (q->nitems != 1)
		return cli_fail("%s: malformed answer from the daemon", qid);
	if (json) {
		json_msg(&out, &q->items[0], true);
		buf_appendc(&out, '\n');
	} else {
		print_msg(&out, &q->items[0]);
		buf_appendc(&out, '\n');
		put_safe(&out, q->items[0].headers, "\t\n");
	}
	emit(&out);
	return CLI_EXIT_OK;
}

/* delete, hold, release: each id in turn; the worst status wins. */
static int do_each(struct qconn *q, uint32_t type, int argc, char **argv)
{
	static const char *const done_word[] = { "deleted", "held", "released" };
	int worst = CLI_EXIT_OK;

	for (int i = 0; i < argc; i++) {
		int rc = qconn_request(q, type, argv[i]);
		if (rc == CLI_EXIT_OK)
			printf("%s: %s\n", argv[i],
			       done_word[type - MSG_CTL_QUEUE_DELETE]);
		else if (worst != CLI_EXIT_TEMPFAIL)
			worst = rc;
	}
	return worst;
}

static int run(struct qconn *q, int argc, char **argv, bool json)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "list") == 0 && argc == 1)
		return do_list(q, json);
	if (strcmp(cmd, "show") == 0 && argc == 2)
		return do_show(q, argv[1], json);
	if (strcmp(cmd, "flush") == 0 && argc == 1) {
		int rc = qconn_request(q, MSG_CTL_QUEUE_FLUSH, NULL);
		if (rc == CLI_EXIT_OK)
			printf("queue flushed: waiting mail is being delivered\n");
		return rc;
	}
	if (strcmp(cmd, "delete") == 0 && argc >= 2)
		return do_each(q, MSG_CTL_QUEUE_DELETE, argc - 1, argv + 1);
	if (strcmp(cmd, "hold") == 0 && argc >= 2)
		return do_each(q, MSG_CTL_QUEUE_HOLD, argc - 1, argv + 1);
	if (strcmp(cmd, "release") == 0 && argc >= 2)
		return do_each(q, MSG_CTL_QUEUE_RELEASE, argc - 1, argv + 1);
	return cli_usage(queue_usage);
}

/* The subcommand and its argument count are right (before connecting). */
static bool args_ok(int argc, char **argv)
{
	static const struct { const char *name; int min, max; } cmds[] = {
		{ "list", 0, 0 }, { "show", 1, 1 }, { "flush", 0, 0 },
		{ "delete", 1, 1000 }, { "hold", 1, 1000 }, { "release", 1, 1000 },
	};

	for (size_t i = 0; argc >= 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return argc - 1 >= cmds[i].min && argc - 1 <= cmds[i].max;
	return false;
}

int cli_queue(const char *config_path, int argc, char **argv)
{
	struct config cfg;
	struct buf err = BUF_INIT, path = BUF_INIT;
	const char *why = NULL;
	struct qconn q;
	bool json;
	int rc;

	argc--;
	argv++;
	json = take_json(&argc, argv);
	if (!args_ok(argc, argv))
		return cli_usage(queue_usage);
	if (config_load(&cfg, config_path, &err) < 0) {
		rc = cli_fail("%s", buf_cstr(&err));
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	if (unixsock_path(cfg.run_dir, UNIXSOCK_CONTROL, &path, &why) < 0) {
		config_free(&cfg);
		return cli_fail("%s", why);
	}
	config_free(&cfg);
	rc = qconn_open(&q, buf_cstr(&path));
	if (rc == 0) {
		rc = run(&q, argc, argv, json);
		qconn_close(&q);
	}
	buf_free(&path);
	return rc;
}
