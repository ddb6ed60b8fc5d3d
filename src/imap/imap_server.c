/* imap_server: the imap process — listeners, limits, accounts, routing. */
#include "imap/imap_server.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "daemon/proxy_accept.h"
#include "imap/imap_session.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/xalloc.h"
#include "pop3/pop3_session.h"
#include "store/store.h"
#include "store/store_mail.h"
#include "tls/tls.h"

#define MAX_LISTENERS 64
#define IP_BUCKETS 1024
#define SHUTDOWN_ABORT 5	/* seconds before open sessions are cut */
/* A store stays open this long after its last session (opening one
 * reconciles the Maildir with the index: a directory scan), for at most
 * this many accounts. */
#define ACCOUNT_IDLE_KEEP 600
#define ACCOUNT_IDLE_MAX 64
/* Message files are renamed to follow flag changes this long after the
 * change, this many per event-loop turn (store_flags.c). */
#define NAMES_DELAY_MS 200
#define NAMES_STEP 256

struct ip_count {
	struct ip_count *next;
	char ip[64];
	unsigned n;
};

struct auth_wait {
	struct auth_wait *next;
	uint32_t reqid;
	imap_server_auth_cb *cb;
	void *ctx;
};

static struct evconnlistener *listeners[MAX_LISTENERS];
static size_t nlisteners;
static unsigned nconns;
static struct ip_count *ip_counts[IP_BUCKETS];
static struct imap_account *accounts;
static struct auth_wait *auth_waits;
static SSL_CTX *tls_ctx;
static uint32_t next_reqid = 1, next_conn_id = 1;
static bool stopping;
static struct event *abort_ev, *sweep_ev;
static unsigned nidle_accounts;

SSL_CTX *imap_server_tls(void)
{
	return tls_ctx;
}

bool imap_server_stopping(void)
{
	return stopping;
}

uint32_t imap_server_conn_id(void)
{
	if (next_conn_id == 0)
		next_conn_id = 1;
	return next_conn_id++;
}

static void sweep_accounts(bool force);

/* Close the stores kept open (their indexes end cleanly), then exit. */
static void server_exit(void)
{
	sweep_accounts(true);
	proc_exit(0);
}

/* --- connection limits --- */

static struct ip_count **ip_find(const char *ip)
{
	unsigned h = 5381;
	struct ip_count **p;

	for (const char *c = ip; *c; c++)
		h = h * 33 + (unsigned char)*c;
	p = &ip_counts[h % IP_BUCKETS];
	while (*p != NULL && strcmp((*p)->ip, ip) != 0)
		p = &(*p)->next;
	return p;
}

static void refuse(int fd, int service, const char *ip, const char *why)
{
	const char *line = service == SVC_POP3 || service == SVC_POP3S ?
			   "-ERR [SYS/TEMP] too many connections\r\n" :
			   "* BYE [UNAVAILABLE] too many connections\r\n";
	ssize_t r;

	/* implicit TLS ports get no plaintext line: just the close */
	if (service == SVC_IMAP || service == SVC_POP3)
		r = write(fd, line, strlen(line));
	(void)r;
	close(fd);
	log_info("event=refused client=%s reason=\"%s\"", ip, why);
}

/* A connection, from its real client (after a PROXY header, if any). */
static void admit(int fd, int service, const struct sockaddr *sa,
		  socklen_t salen)
{
	struct ip_count **pc;
	char ip[64];

	netaddr_ip_string(sa, ip, sizeof(ip));
	if (stopping) {
		refuse(fd, service, ip, "shutdown");
		return;
	}
	if (nconns >= proc_cfg.imap_max_connections) {
		refuse(fd, service, ip, "max_connections");
		return;
	}
	pc = ip_find(ip);
	if (*pc != NULL && (*pc)->n >= proc_cfg.imap_max_connections_per_ip) {
		refuse(fd, service, ip, "max_connections_per_ip");
		return;
	}
	if (*pc == NULL) {
		*pc = xcalloc(1, sizeof(**pc));
		snprintf((*pc)->ip, sizeof((*pc)->ip), "%s", ip);
	}
	(*pc)->n++;
	nconns++;
	if (service == SVC_POP3 || service == SVC_POP3S)
		pop3_session_start(fd, service, sa, salen);
	else
		imap_session_start(fd, service, sa, salen);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	int service = (int)(intptr_t)arg;

	(void)l;
	if (!stopping && proxy_accept_required(service, sa))
		proxy_accept_read(fd, service, sa, (socklen_t)salen, admit);
	else
		admit(fd, service, sa, (socklen_t)salen);
}

void imap_server_conn_closed(const char *ip)
{
	struct ip_count **pc = ip_find(ip), *c = *pc;

	if (c != NULL && --c->n == 0) {
		*pc = c->next;
		free(c);
	}
	nconns--;
	if (stopping && nconns == 0)
		server_exit();
}

/* --- accounts --- */

static int recent_init_cb(void *ctx, const struct store_mailbox_info *mb);

struct imap_account *imap_server_account_get(int64_t id, const char **error_r)
{
	struct imap_account *a;

	for (a = accounts; a != NULL; a = a->next)
		if (a->id == id) {
			if (a->refs++ == 0)
				nidle_accounts--;
			return a;
		}
	a = xcalloc(1, sizeof(*a));
	a->id = id;
	if (store_open(&a->store, proc_cfg.data_dir, id, true, error_r) < 0) {
		log_error("account=%lld event=store-open-failed reason=\"%s\"",
			  (long long)id, *error_r);
		free(a);
		return NULL;
	}
	(void)store_mailbox_list(a->store, recent_init_cb, a, error_r);
	a->refs = 1;
	a->next = accounts;
	accounts = a;
	imap_server_flags_changed(a);	/* renames left by an earlier run */
	return a;
}

static struct imap_recent *recent_find(struct imap_account *a, int64_t id)
{
	for (size_t i = 0; i < a->nrecent; i++)
		if (a->recent[i].mailbox_id == id)
			return &a->recent[i];
	return NULL;
}

static struct imap_recent *recent_add(struct imap_account *a, int64_t id,
				      uint32_t next)
{
	a->recent = xreallocarray(a->recent, a->nrecent + 1, sizeof(*a->recent));
	a->recent[a->nrecent].mailbox_id = id;
	a->recent[a->nrecent].next = next;
	return &a->recent[a->nrecent++];
}

/* Mail already there when the account is opened is not recent; mailboxes
 * created later start at UID 1. */
static int recent_init_cb(void *ctx, const struct store_mailbox_info *mb)
{
	struct imap_account *a = ctx;
	struct store_mailbox_state st;
	const char *why = NULL;

	if (store_mailbox_open(a->store, mb->name, &st, &why) == 1)
		recent_add(a, st.id, st.uidnext);
	return 0;
}

uint32_t imap_server_recent_peek(struct imap_account *a, int64_t mailbox_id)
{
	struct imap_recent *r = recent_find(a, mailbox_id);

	return r != NULL ? r->next : 1;
}

uint32_t imap_server_recent_claim(struct imap_account *a, int64_t mailbox_id,
				  uint32_t next)
{
	struct imap_recent *r = recent_find(a, mailbox_id);
	uint32_t was;

	if (r == NULL)
		r = recent_add(a, mailbox_id, 1);
	was = r->next;
	if (next > r->next)
		r->next = next;
	return was;
}

static int names_step(struct imap_account *a, size_t *done_r)
{
	const char *why = NULL;

	if (store_flag_names_catch_up(a->store, NAMES_STEP, done_r, &why) == 0)
		return 0;
	log_error("account=%lld event=flag-names-failed reason=\"%s\"",
		  (long long)a->id, why);
	return -1;
}

static void on_names(evutil_socket_t fd, short what, void *arg)
{
	struct imap_account *a = arg;
	struct timeval next_turn = { 0, 0 };
	size_t done = 0;

	(void)fd; (void)what;
	if (names_step(a, &done) == 0 && done == NAMES_STEP)
		evtimer_add(a->names_ev, &next_turn);
}

void imap_server_flags_changed(struct imap_account *a)
{
	struct timeval tv = { 0, NAMES_DELAY_MS * 1000 };

	if (a->names_ev == NULL)
		a->names_ev = evtimer_new(proc_base, on_names, a);
	if (!evtimer_pending(a->names_ev, NULL))
		evtimer_add(a->names_ev, &tv);
}

static void account_close(struct imap_account *a)
{
	struct imap_account **p;
	size_t done = NAMES_STEP;

	for (p = &accounts; *p != a; p = &(*p)->next)
		;
	*p = a->next;
	if (a->names_ev != NULL && evtimer_pending(a->names_ev, NULL))
		while (done == NAMES_STEP && names_step(a, &done) == 0)
			;
	if (a->names_ev != NULL)
		event_free(a->names_ev);
	store_close(a->store);
	free(a->recent);
	free(a);
	nidle_accounts--;
}

/* Close the stores unused for ACCOUNT_IDLE_KEEP seconds, and the oldest
 * unused ones beyond ACCOUNT_IDLE_MAX (force: all unused ones). */
static void sweep_accounts(bool force)
{
	time_t now = time(NULL);
	struct imap_account *a, *next, *oldest;

	for (a = accounts; a != NULL; a = next) {
		next = a->next;
		if (a->refs == 0 && (force || now - a->idle_since >= ACCOUNT_IDLE_KEEP))
			account_close(a);
	}
	while (nidle_accounts > ACCOUNT_IDLE_MAX) {
		oldest = NULL;
		for (a = accounts; a != NULL; a = a->next)
			if (a->refs == 0 && (oldest == NULL ||
					     a->idle_since < oldest->idle_since))
				oldest = a;
		account_close(oldest);
	}
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	sweep_accounts(false);
}

void imap_server_account_put(struct imap_account *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	a->idle_since = time(NULL);
	nidle_accounts++;
	sweep_accounts(false);
}

void imap_server_account_changed(struct imap_account *a)
{
	struct imap_session *s, *next;

	for (s = a->sessions; s != NULL; s = next) {
		next = s->acct_next;	/* notify may end the session */
		imap_session_notify(s);
	}
}

static void on_store_changed(const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	int64_t id;

	ipc_r_init(&r, data, len);
	id = (int64_t)ipc_r_u64(&r);
	if (ipc_r_end(&r) < 0) {
		log_error("peer=queue event=bad-message type=store-changed");
		return;
	}
	for (struct imap_account *a = accounts; a != NULL; a = a->next)
		if (a->id == id) {
			imap_server_account_changed(a);
			return;
		}
}

/* --- requests to auth --- */

uint32_t imap_server_auth_send(const struct buf *payload,
			       imap_server_auth_cb *cb, void *ctx)
{
	struct auth_wait *w;
	uint32_t reqid = next_reqid++;

	if (next_reqid == 0)
		next_reqid = 1;
	if (proc_send(PROC_AUTH, MSG_AUTH_STEP, reqid, payload->ptr,
		      payload->len, -1) < 0)
		return 0;
	w = xcalloc(1, sizeof(*w));
	w->reqid = reqid;
	w->cb = cb;
	w->ctx = ctx;
	w->next = auth_waits;
	auth_waits = w;
	return reqid;
}

static struct auth_wait *auth_take(uint32_t reqid)
{
	for (struct auth_wait **p = &auth_waits; *p != NULL; p = &(*p)->next)
		if ((*p)->reqid == reqid) {
			struct auth_wait *w = *p;
			*p = w->next;
			return w;
		}
	return NULL;
}

void imap_server_auth_forget(uint32_t reqid)
{
	free(auth_take(reqid));
}

static void on_auth_reply(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct auth_wait *w = auth_take(reqid);

	if (w == NULL)
		return;		/* the session is gone */
	w->cb(w->ctx, data, len);
	free(w);
}

static void on_msg(enum proc_role from, uint32_t type, uint32_t reqid,
		   const uint8_t *data, size_t len, int fd)
{
	if (fd >= 0)
		close(fd);
	if (from == PROC_AUTH && type == MSG_AUTH_REPLY) {
		on_auth_reply(reqid, data, len);
		return;
	}
	if (from == PROC_QUEUE && type == MSG_STORE_CHANGED) {
		on_store_changed(data, len);
		return;
	}
	log_error("peer=%s event=unexpected-message type=%u",
		  proc_role_name(from), type);
}

static void on_peer_down(enum proc_role role)
{
	if (role != PROC_AUTH)
		return;
	/* every login in flight fails temporarily */
	while (auth_waits != NULL) {
		struct auth_wait *w = auth_waits;
		auth_waits = w->next;
		w->cb(w->ctx, NULL, 0);
		free(w);
	}
}

/* --- lifecycle --- */

static void on_listener(int service, int fd, const char *address)
{
	struct evconnlistener *l;

	if ((service != SVC_IMAP && service != SVC_IMAPS && service != SVC_POP3 &&
	     service != SVC_POP3S) || nlisteners == MAX_LISTENERS) {
		log_error("service=%s address=%s event=unexpected-listener",
			  config_service_name(service), address);
		close(fd);
		return;
	}
	l = evconnlistener_new(proc_base, on_accept, (void *)(intptr_t)service,
			       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
			       fd);
	if (l == NULL) {
		close(fd);
		return;
	}
	evconnlistener_disable(l);
	listeners[nlisteners++] = l;
	log_info("event=listening address=%s service=%s", address,
		 config_service_name(service));
}

static void on_start(void)
{
	struct timeval every = { 60, 0 };

	sweep_ev = event_new(proc_base, -1, EV_PERSIST, on_sweep, NULL);
	evtimer_add(sweep_ev, &every);
	proc_tls_load(&tls_ctx, "TLS disabled");
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]);
	log_info("event=ready sessions_max=%llu",
		 (unsigned long long)proc_cfg.imap_max_connections);
}

static void on_reload(void)
{
	proc_tls_load(&tls_ctx, "TLS disabled");
	log_info("event=reloaded");
}

static void on_abort_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	log_warn("event=shutdown sessions=%u action=abort", nconns);
	proc_exit(0);
}

static void on_shutdown(void)
{
	struct timeval tv = { SHUTDOWN_ABORT, 0 };

	stopping = true;
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i]);
	nlisteners = 0;
	proxy_accept_drop_all();
	if (nconns == 0)
		server_exit();
	abort_ev = evtimer_new(proc_base, on_abort_timer, NULL);
	evtimer_add(abort_ev, &tv);
	imap_session_shutdown_all();
	pop3_session_shutdown_all();
}

static const struct proc_hooks hooks = {
	.msg = on_msg,
	.peer_down = on_peer_down,
	.listener = on_listener,
	.start = on_start,
	.reload = on_reload,
	.shutdown = on_shutdown,
};

int imap_server_main(const char *config_path)
{
	return proc_child_main(PROC_IMAP, config_path, &hooks);
}
