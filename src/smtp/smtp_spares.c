/* smtp_spares: queue files asked for ahead of need (smtp_spares.h). */
#include "smtp/smtp_spares.h"

#include <event2/event.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/str.h"
#include "smtp/smtp_session.h"

struct spare {
	int fd;
	char qid[QUEUE_ID_MAX];
};

static struct spare spares[SMTP_SPARES_MAX];
static size_t nspares;
static uint32_t asked[SMTP_SPARES_MAX];	/* request ids in flight */
static size_t nasked;
static size_t target;		/* files to keep in hand */
static bool taken_lately;	/* one was taken since the last idle check */
static bool released;
static struct event *idle_ev;

static void give_back(const struct spare *sp)
{
	close(sp->fd);
	smtp_server_give_back(sp->qid);
}

void smtp_spares_refill(void)
{
	struct buf none = BUF_INIT;

	while (!released && nspares + nasked < target) {
		uint32_t id = smtp_server_reqid();

		if (proc_send(PROC_QUEUE, MSG_QUEUE_CREATE, id, none.ptr, none.len,
			      -1) < 0)
			break;
		asked[nasked++] = id;
	}
}

/* Every SMTP_SPARES_IDLE_SEC: a pool nobody took from shrinks to nothing,
 * and the check stops until the next take starts it again. */
static void on_idle_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	if (!taken_lately) {
		while (nspares > 0)
			give_back(&spares[--nspares]);
		target = 0;
		if (nasked == 0) {
			event_free(idle_ev);
			idle_ev = NULL;
		}
	}
	taken_lately = false;
}

static void start_idle_check(void)
{
	struct timeval tv = { SMTP_SPARES_IDLE_SEC, 0 };

	if (idle_ev != NULL || released)
		return;
	idle_ev = event_new(proc_base, -1, EV_PERSIST, on_idle_check, NULL);
	if (idle_ev != NULL)
		event_add(idle_ev, &tv);
}

bool smtp_spares_take(int *fd_r, char qid[QUEUE_ID_MAX])
{
	bool got = nspares > 0;

	taken_lately = true;
	if (got) {
		*fd_r = spares[0].fd;
		str_copy(qid, QUEUE_ID_MAX, spares[0].qid);
		memmove(spares, spares + 1, --nspares * sizeof(*spares));
	} else if (target < SMTP_SPARES_MAX) {
		/* found empty: more sessions need files at once than we keep */
		target = target == 0 ? 2 : target * 2;
		if (target > SMTP_SPARES_MAX)
			target = SMTP_SPARES_MAX;
	}
	start_idle_check();
	return got;
}

bool smtp_spares_created(uint32_t reqid, int fd, const char *qid)
{
	size_t i;

	for (i = 0; i < nasked && asked[i] != reqid; i++)
		;
	if (i == nasked)
		return false;
	asked[i] = asked[--nasked];
	if (fd < 0)		/* the queue is stopping or failing: ask later */
		return true;
	if (released || nspares == SMTP_SPARES_MAX) {
		close(fd);
		smtp_server_give_back(qid);
		return true;
	}
	spares[nspares].fd = fd;
	str_copy(spares[nspares].qid, QUEUE_ID_MAX, qid);
	nspares++;
	return true;
}

void smtp_spares_queue_down(void)
{
	/* a new queue process removes the old one's loose files itself */
	while (nspares > 0)
		close(spares[--nspares].fd);
	nasked = 0;
}

void smtp_spares_release(void)
{
	released = true;
	while (nspares > 0)
		give_back(&spares[--nspares]);
	if (idle_ev != NULL) {
		event_free(idle_ev);
		idle_ev = NULL;
	}
}
