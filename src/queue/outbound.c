/* outbound: the scheduler and SMTP connections of remote delivery. */
#include "queue/outbound.h"
#include "queue/outbound_int.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "queue/bounce.h"
#include "queue/outbound_dkim.h"
#include "queue/retry.h"

/* Longest wait between two scheduler runs, seconds. */
#define OUTBOUND_SCAN_MAX_WAIT 30
/* The relay password file: first line, at most this long. */
#define RELAY_PASSWORD_MAX SMTP_CLIENT_CRED_MAX

struct spool *outbound_spool;
static void (*kick_local)(void);
static struct job *jobs;
/* What the last scheduler run found due and left waiting (connection
 * limits): a connection whose transaction ends takes its next message
 * for the same destination from here (entries taken: addr NULL). */
static struct spool_remote_rcpt *waiting;
static size_t nwaiting;
static size_t njobs;
static struct event *run_ev;
SSL_CTX *outbound_tls_ctx;
static struct dns *resolver;
char *outbound_relay_password;
bool outbound_stopping;

/* --- configuration --- */

static void relay_password_wipe(void)
{
	if (outbound_relay_password != NULL) {
		explicit_bzero(outbound_relay_password, strlen(outbound_relay_password));
		free(outbound_relay_password);
		outbound_relay_password = NULL;
	}
}

/* STYLE §13: refused when group/world-readable. */
static int relay_password_load(const char **error_r)
{
	struct buf b = BUF_INIT;
	struct stat st;
	int fd;

	relay_password_wipe();
	if (*proc_cfg.relay_user == '\0' || *proc_cfg.relay_password_file == '\0')
		return 0;
	fd = open(proc_cfg.relay_password_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = "[relay] password_file cannot be read";
	} else if ((st.st_mode & 077) != 0) {
		*error_r = "[relay] password_file is readable by group or others (chmod 600)";
	} else if (buf_read_fd(&b, fd, RELAY_PASSWORD_MAX + 2) < 0) {
		*error_r = "[relay] password_file cannot be read";
	} else {
		size_t n = strcspn(buf_cstr(&b), "\r\n");
		outbound_relay_password = xstrndup(b.ptr, n);
	}
	if (fd >= 0)
		close(fd);
	if (b.ptr != NULL)
		explicit_bzero(b.ptr, b.len);
	buf_free(&b);
	return outbound_relay_password != NULL ? 0 : -1;
}

static void resolver_new(void)
{
	const char *why = NULL;

	resolver = dns_new_configured(proc_base, &proc_cfg, &why);
	if (resolver == NULL)
		log_error("event=dns status=failed reason=\"%s\" action=\"remote "
			  "mail waits in the queue\"", why);
}

/* The resolver is made on first use (an idle queue holds no thread). */
struct dns *outbound_resolver(void)
{
	if (resolver == NULL)
		resolver_new();
	return resolver;
}

static void on_run_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	outbound_run();
}

int outbound_init(struct spool *sp, void (*kick)(void), const char **error_r)
{
	outbound_spool = sp;
	kick_local = kick;
	outbound_tls_ctx = SSL_CTX_new(TLS_client_method());
	if (outbound_tls_ctx == NULL) {
		*error_r = "cannot create the TLS client context";
		return -1;
	}
	/* Opportunistic TLS (RFC 7435): no certificate verification unless
	 * DANE or MTA-STS ask for it (not implemented yet). */
	SSL_CTX_set_verify(outbound_tls_ctx, SSL_VERIFY_NONE, NULL);
	run_ev = evtimer_new(proc_base, on_run_timer, NULL);
	if (relay_password_load(error_r) < 0)
		log_error("event=relay-config status=failed reason=\"%s\" "
			  "action=\"relay without AUTH\"", *error_r);
	return 0;
}

void outbound_reload(void)
{
	const char *why = NULL;

	if (relay_password_load(&why) < 0)
		log_error("event=relay-config status=failed reason=\"%s\"", why);
	if (resolver != NULL && dns_pending(resolver) == 0) {
		dns_free(resolver);
		resolver = NULL;
	}
}

/* --- jobs --- */

static const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static bool job_has(const struct job *j, const char *qid, int64_t idx)
{
	if (strcmp(j->qid, qid) != 0)
		return false;
	for (size_t i = 0; i < j->nrcpts; i++)
		if (j->rcpts[i].idx == idx)
			return true;
	return false;
}

static bool in_flight(const char *qid, int64_t idx)
{
	for (const struct job *j = jobs; j != NULL; j = j->next)
		if (job_has(j, qid, idx))
			return true;
	return false;
}

static size_t jobs_to(const char *domain)
{
	size_t n = 0;

	for (const struct job *j = jobs; j != NULL; j = j->next)
		n += strcmp(j->domain, domain) == 0;
	return n;
}

static void job_free(struct job *j)
{
	outbound_conn_close(j);
	outbound_dane_free(j);
	outbound_mtasts_free(j);
	for (size_t i = 0; j->addrs != NULL && i < 2 * j->mx.n; i++)
		dns_answer_free(&j->addrs[i]);
	free(j->addrs);
	free(j->aqs);
	mx_targets_free(&j->targets);
	mx_list_free(&j->mx);
	spool_remote_free(j->rcpts, j->nrcpts);
	free(j->crcpts);
	spool_meta_free(&j->meta);
	buf_free(&j->last_error);
	buf_free(&j->dkim);
	free(j);
}

static void job_unlink(struct job *j)
{
	for (struct job **p = &jobs; *p != NULL; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			njobs--;
			return;
		}
}

/* --- outcomes --- */

/* A delivery status notification entry for recipient i. */
static void dsn_entry(const struct job *j, size_t i, const struct outcome *o,
		      enum dsn_action action, time_t now, struct dsn_rcpt *d)
{
	memset(d, 0, sizeof(*d));
	d->addr = j->rcpts[i].addr;
	d->orcpt = j->rcpts[i].orcpt;
	d->notify = j->rcpts[i].notify;
	d->action = action;
	d->status = o->status;
	d->remote_mta = *j->relay ? j->host : NULL;
	d->diagnostic = buf_cstr(&o->reply);
	d->diagnostic_local = o->kind != SMTP_RCPT_DELIVERED && j->c == NULL;
	d->last_attempt = now;
}

static void log_attempt(const struct job *j, size_t i, const struct outcome *o,
			const char *status)
{
	/* verified= (DANE, MTA-STS) last: earlier fields keep their place */
	log_info("queue=%s to=<%s> relay=%s tls=%s status=%s dsn=%s reply=\"%s\"%s%s",
		 j->qid, j->rcpts[i].addr, *j->relay ? j->relay : "none",
		 *j->tls ? j->tls : "none", status, o->status, buf_cstr(&o->reply),
		 j->tls_verified ? " verified=" : "",
		 j->tls_verified ? j->tls_verified : "");
}

static void retry_policy_cfg(struct retry_policy *p)
{
	p->min = proc_cfg.queue_retry_min;
	p->max = proc_cfg.queue_retry_max;
	p->lifetime = proc_cfg.queue_lifetime;
	p->delay_notice = proc_cfg.queue_delay_notice;
}

/* Decide each recipient's fate; fill the bounce and delay lists. */
static void decide(struct job *j, struct outcome *os, time_t now, int *status,
		   time_t *next, struct dsn_rcpt *failed, size_t *nfailed,
		   struct dsn_rcpt *delayed, size_t *ndelayed)
{
	struct retry_policy pol;

	retry_policy_cfg(&pol);
	for (size_t i = 0; i < j->nrcpts; i++) {
		struct retry_plan plan;
		next[i] = 0;
		if (os[i].kind == SMTP_RCPT_DELIVERED) {
			status[i] = SPOOL_DELIVERED;
			log_attempt(j, i, &os[i], "sent");
			continue;
		}
		if (os[i].kind != SMTP_RCPT_PERMFAIL) {
			retry_plan(&pol, j->meta.created, now, j->rcpts[i].attempts + 1,
				   j->meta.delay_noticed, &plan);
			if (plan.decision == RETRY_AGAIN) {
				status[i] = SPOOL_REMOTE;
				next[i] = plan.next;
				if (plan.delay_notice)
					dsn_entry(j, i, &os[i], DSN_DELAYED, now,
						  &delayed[(*ndelayed)++]);
				log_attempt(j, i, &os[i], "deferred");
				continue;
			}
		}
		status[i] = SPOOL_FAILED;
		dsn_entry(j, i, &os[i], DSN_FAILED, now, &failed[(*nfailed)++]);
		log_attempt(j, i, &os[i], "bounced");
	}
}

static void queue_dsn(struct job *j, const struct dsn_rcpt *r, size_t n)
{
	struct retry_policy pol;
	const char *why = NULL;

	if (n == 0 || *j->meta.sender == '\0')
		return;		/* RFC 5321 §4.5.5: never to the null sender */
	retry_policy_cfg(&pol);
	if (bounce_queue(outbound_spool, j->qid, &j->meta, r, n,
			 retry_expiry(&pol, j->meta.created), &why) < 0)
		log_error("queue=%s event=dsn-failed reason=\"%s\"", j->qid, why);
	else if (kick_local != NULL)
		kick_local();
}

static void record(struct job *j, const int *status, const time_t *next,
		   const struct outcome *os, bool delay_noticed)
{
	const char *why = NULL;
	int done;

	if (spool_begin(outbound_spool, &why) < 0) {
		log_error("queue=%s event=record-failed reason=\"%s\"", j->qid, why);
		return;		/* retried: at-least-once */
	}
	for (size_t i = 0; i < j->nrcpts; i++)
		spool_set_remote(outbound_spool, j->qid, j->rcpts[i].idx, status[i], next[i],
				 buf_cstr(&os[i].reply));
	if (delay_noticed)
		spool_mark_delay_notice(outbound_spool, j->qid);
	done = spool_finish_if_done(outbound_spool, j->qid);
	if (spool_commit_txn(outbound_spool, &why) < 0) {
		log_error("queue=%s event=record-failed reason=\"%s\"", j->qid, why);
		return;
	}
	if (done == 1) {
		spool_unlink(outbound_spool, j->qid);
		log_info("queue=%s event=removed", j->qid);
	}
}

/* The attempt is over: record it and notify (the job stays). */
static void job_record(struct job *j, struct outcome *os)
{
	time_t now = time(NULL);
	int *status = xcalloc(j->nrcpts, sizeof(*status));
	time_t *next = xcalloc(j->nrcpts, sizeof(*next));
	struct dsn_rcpt *failed = xcalloc(j->nrcpts, sizeof(*failed));
	struct dsn_rcpt *delayed = xcalloc(j->nrcpts, sizeof(*delayed));
	size_t nfailed = 0, ndelayed = 0;

	if (j->deleted) {
		log_info("queue=%s event=attempt-ignored reason=\"deleted by admin\"",
			 j->qid);
	} else {
		decide(j, os, now, status, next, failed, &nfailed, delayed,
		       &ndelayed);
		/* DSNs first: a crash in between repeats a DSN rather than
		 * lose one */
		queue_dsn(j, failed, nfailed);
		queue_dsn(j, delayed, ndelayed);
		record(j, status, next, os, ndelayed > 0);
	}
	for (size_t i = 0; i < j->nrcpts; i++)
		buf_free(&os[i].reply);
	free(status);
	free(next);
	free(failed);
	free(delayed);
}

/* j is over: free it; its slot may start waiting mail. */
void outbound_job_done(struct job *j)
{
	job_unlink(j);
	job_free(j);
	if (!outbound_stopping)
		event_active(run_ev, 0, 0);	/* free slots: start waiting mail */
}

static void job_finish(struct job *j, struct outcome *os)
{
	job_record(j, os);
	outbound_job_done(j);
}

/* Every recipient gets the same local verdict (DNS, no host reached). */
void outbound_fail_all(struct job *j, bool perm, const char *status,
		       const char *text)
{
	struct outcome *os = xcalloc(j->nrcpts, sizeof(*os));

	for (size_t i = 0; i < j->nrcpts; i++) {
		os[i].kind = perm ? SMTP_RCPT_PERMFAIL : SMTP_RCPT_TEMPFAIL;
		str_copy(os[i].status, sizeof(os[i].status), status);
		buf_appends(&os[i].reply, text);
	}
	job_finish(j, os);
	free(os);
}

/* The engine's per-recipient results of the transaction that ended. */
static struct outcome *results_collect(struct job *j)
{
	struct outcome *os = xcalloc(j->nrcpts ? j->nrcpts : 1, sizeof(*os));

	for (size_t i = 0; i < j->nrcpts; i++) {
		const struct smtp_client_result *r = smtp_client_rcpt_result(j->c, i);
		os[i].kind = r->outcome == SMTP_RCPT_PENDING ? SMTP_RCPT_TEMPFAIL :
			     r->outcome;
		str_copy(os[i].status, sizeof(os[i].status),
			 *r->status ? r->status : "4.4.2");
		buf_appends(&os[i].reply, r->reply.len ? buf_cstr(&r->reply) :
			    "connection lost during the transaction");
	}
	return os;
}

/* The transaction ended (MSG_DONE, or CLOSED in the middle of it). */
void outbound_results(struct job *j)
{
	struct outcome *os = results_collect(j);

	job_finish(j, os);
	free(os);
}

/* --- the scheduler --- */

static void job_fill_msg(struct job *j)
{
	j->crcpts = xcalloc(j->nrcpts, sizeof(*j->crcpts));
	for (size_t i = 0; i < j->nrcpts; i++) {
		j->crcpts[i].addr = j->rcpts[i].addr;
		j->crcpts[i].notify = j->rcpts[i].notify;
		j->crcpts[i].orcpt = j->rcpts[i].orcpt;
	}
	j->msg.sender = j->meta.sender;
	j->msg.body = (enum smtp_body)j->meta.body;
	j->msg.smtputf8 = j->meta.smtputf8;
	j->msg.ret = (enum smtp_ret)j->meta.ret;
	j->msg.envid = j->meta.envid;
	j->msg.size = j->meta.size;
	j->msg.rcpts = j->crcpts;
	j->msg.nrcpts = j->nrcpts;
}

/* Load into j the message of due[first] and its recipients to j's
 * domain among due[first..]; those are moved out of due (addr NULL). */
static int job_load(struct job *j, struct spool_remote_rcpt *due, size_t n,
		    size_t first)
{
	const char *why = NULL, *domain = j->domain;

	str_copy(j->qid, sizeof(j->qid), due[first].qid);
	if (spool_meta_load(outbound_spool, j->qid, &j->meta, &why) < 0) {
		log_error("queue=%s event=load-failed reason=\"%s\"", j->qid, why);
		return -1;
	}
	for (size_t i = first; i < n && j->nrcpts < OUTBOUND_RCPTS_MAX &&
	     strcmp(due[i].qid, j->qid) == 0; i++) {
		if (due[i].addr == NULL ||
		    (*domain && strcasecmp(addr_domain(due[i].addr), domain) != 0) ||
		    in_flight(due[i].qid, due[i].idx))
			continue;
		j->rcpts = xrealloc(j->rcpts, (j->nrcpts + 1) * sizeof(*j->rcpts));
		j->rcpts[j->nrcpts++] = due[i];
		due[i].addr = NULL;
		due[i].orcpt = NULL;
	}
	job_fill_msg(j);
	return 0;
}

/* A new job for due[first..] sharing first's message and domain. */
static struct job *job_new(struct spool_remote_rcpt *due, size_t n, size_t first,
			   const char *domain)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->fd = -1;
	str_copy(j->domain, sizeof(j->domain), domain);
	if (job_load(j, due, n, first) < 0) {
		free(j);
		return NULL;
	}
	return j;
}

/* Forget j's message, whose outcome is recorded; the connection stays. */
static void job_clear_message(struct job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	spool_remote_free(j->rcpts, j->nrcpts);
	j->rcpts = NULL;
	j->nrcpts = 0;
	free(j->crcpts);
	j->crcpts = NULL;
	spool_meta_free(&j->meta);
	memset(&j->msg, 0, sizeof(j->msg));
	buf_reset(&j->dkim);
	j->sent = j->data_eof = j->signed_once = j->dkim_fed = j->deleted = false;
}

static void drop_due(struct spool_remote_rcpt *r)
{
	free(r->addr);
	r->addr = NULL;
}

/* j's connection is free: load the next waiting message for its
 * destination (the same domain, or the relay host). */
static bool take_waiting(struct job *j)
{
	for (size_t i = 0; i < nwaiting; i++) {
		struct spool_remote_rcpt *w = &waiting[i];
		if (w->addr == NULL || in_flight(w->qid, w->idx) ||
		    (*j->domain && strcasecmp(addr_domain(w->addr), j->domain) != 0))
			continue;
		if (job_load(j, waiting, nwaiting, i) == 0)
			return true;
		spool_meta_free(&j->meta);	/* gone meanwhile: not again */
		drop_due(w);
	}
	return false;
}

/* The transaction on j's open connection ended: record it; true when j
 * now holds the next message for the same destination, to be sent over
 * the same connection (up to [outbound] max_messages_per_connection). */
bool outbound_results_next(struct job *j)
{
	struct outcome *os = results_collect(j);

	job_record(j, os);
	free(os);
	job_clear_message(j);
	if (outbound_stopping ||
	    j->conn_msgs >= proc_cfg.outbound_max_messages_per_connection)
		return false;
	return take_waiting(j);
}

static void schedule_next_run(void)
{
	time_t next = spool_remote_next(outbound_spool), now = time(NULL);
	struct timeval tv = { OUTBOUND_SCAN_MAX_WAIT, 0 };

	if (next > 0 && next - now < OUTBOUND_SCAN_MAX_WAIT)
		tv.tv_sec = next > now ? next - now : 1;
	evtimer_add(run_ev, &tv);
}

/* Keep what this run left due for the connections that free up (the
 * previous run's list goes). A recipient in flight is not waiting: its
 * attempt may succeed, and it must not be sent twice. */
static void keep_waiting(struct spool_remote_rcpt *due, size_t n, size_t from,
			 size_t started)
{
	size_t held = 0;

	for (size_t i = from; i < n; i++)
		if (due[i].addr != NULL && in_flight(due[i].qid, due[i].idx))
			drop_due(&due[i]);
	for (size_t i = 0; i < n; i++)
		held += due[i].addr != NULL;
	if (n > 0)
		log_debug("event=outbound-scan due=%zu started=%zu waiting=%zu",
			  n, started, held);
	spool_remote_free(waiting, nwaiting);
	waiting = due;
	nwaiting = n;
}

void outbound_run(void)
{
	struct spool_remote_rcpt *due = NULL;
	size_t n = 0, i, started = 0;

	if (outbound_stopping || outbound_spool == NULL)
		return;
	if (spool_remote_due(outbound_spool, time(NULL), OUTBOUND_SCAN_MAX, &due, &n) < 0)
		n = 0;
	for (i = 0; i < n && njobs < proc_cfg.queue_max_outbound; i++) {
		char domain[DNSQ_NAME_MAX + 1] = "";
		struct job *j;
		if (due[i].addr != NULL && in_flight(due[i].qid, due[i].idx))
			drop_due(&due[i]);
		if (due[i].addr == NULL)
			continue;
		if (*proc_cfg.relay_host == '\0')
			str_copy(domain, sizeof(domain), addr_domain(due[i].addr));
		str_lower(domain);
		if (jobs_to(domain) >= proc_cfg.queue_max_per_destination)
			continue;
		j = job_new(due, n, i, domain);
		if (j == NULL)
			continue;
		j->next = jobs;
		jobs = j;
		njobs++;
		started++;
		outbound_conn_start(j);		/* may finish (and free) j at once */
	}
	keep_waiting(due, n, i, started);
	schedule_next_run();
}

bool outbound_active(const char *qid, int64_t idx)
{
	return in_flight(qid, idx);
}

void outbound_forget(const char *qid)
{
	for (struct job *j = jobs; j != NULL; j = j->next)
		if (strcmp(j->qid, qid) == 0)
			j->deleted = true;
}

void outbound_unwait(const char *qid)
{
	for (size_t i = 0; i < nwaiting; i++)
		if (waiting[i].addr != NULL && strcmp(waiting[i].qid, qid) == 0)
			drop_due(&waiting[i]);
}

void outbound_shutdown(void)
{
	outbound_stopping = true;
	while (jobs != NULL) {
		struct job *j = jobs;
		jobs = j->next;
		job_free(j);
	}
	njobs = 0;
	spool_remote_free(waiting, nwaiting);
	waiting = NULL;
	nwaiting = 0;
	outbound_conn_shutdown();
	outbound_mtasts_shutdown();
	if (resolver != NULL)
		dns_free(resolver);	/* cancels the callbacks */
	resolver = NULL;
	if (run_ev != NULL)
		event_free(run_ev);
	run_ev = NULL;
	SSL_CTX_free(outbound_tls_ctx);
	outbound_tls_ctx = NULL;
	outbound_dkim_shutdown();
	relay_password_wipe();
}
