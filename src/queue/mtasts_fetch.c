/* mtasts_fetch: HTTPS GET of MTA-STS policies with libcurl's multi
 * interface on the queue process's libevent loop (CURLMOPT_SOCKETFUNCTION
 * and CURLMOPT_TIMERFUNCTION feed curl_multi_socket_action()). */
#include "queue/mtasts_fetch.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/curl_dl.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "smtp/mtasts_policy.h"

struct mtasts_fetch {
	struct mtasts_fetch *next;
	CURL *h;
	struct curl_slist *resolve;
	struct buf body, url, error;
	char errbuf[CURL_ERROR_SIZE];
	bool too_big;
	mtasts_fetch_cb *cb;
	void *arg;
};

/* The one multi handle of the process and its timer. */
static struct {
	CURLM *multi;
	struct event_base *base;
	struct event *timer;
	struct mtasts_fetch *list;
} fx;

static void check_done(void);

/* ---- libcurl <-> libevent ---- */

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	int running = 0, flags = 0;

	(void)arg;
	flags |= (what & EV_READ) ? CURL_CSELECT_IN : 0;
	flags |= (what & EV_WRITE) ? CURL_CSELECT_OUT : 0;
	curl_dl.multi_socket_action(fx.multi, fd, flags, &running);
	check_done();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	int running = 0;

	(void)fd; (void)what; (void)arg;
	curl_dl.multi_socket_action(fx.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

/* CURLMOPT_SOCKETFUNCTION: watch s as libcurl asks (sockp: its event). */
static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct event *ev = sockp;
	short flags = EV_PERSIST;

	(void)e; (void)userp;
	if (ev != NULL)
		event_free(ev);
	if (what == CURL_POLL_REMOVE) {
		curl_dl.multi_assign(fx.multi, s, NULL);
		return 0;
	}
	flags |= (what & CURL_POLL_IN) ? EV_READ : 0;
	flags |= (what & CURL_POLL_OUT) ? EV_WRITE : 0;
	ev = event_new(fx.base, s, flags, on_sock, NULL);
	event_add(ev, NULL);
	curl_dl.multi_assign(fx.multi, s, ev);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer; -1 deletes it. */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	(void)m; (void)userp;
	if (timeout_ms < 0)
		evtimer_del(fx.timer);
	else
		evtimer_add(fx.timer, &tv);
	return 0;
}

static int multi_init(struct event_base *base, const char **error_r)
{
	if (fx.multi != NULL)
		return 0;
	if (curl_dl_load(error_r) < 0)
		return -1;
	if ((fx.multi = curl_dl.multi_init()) == NULL) {
		*error_r = "curl_multi_init failed";
		return -1;
	}
	fx.base = base;
	fx.timer = evtimer_new(base, on_timer, NULL);
	curl_dl.multi_setopt(fx.multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_dl.multi_setopt(fx.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	return 0;
}

/* ---- one fetch ---- */

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct mtasts_fetch *f = arg;

	if (f->body.len + size * n > MTASTS_POLICY_MAX) {
		f->too_big = true;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	buf_append(&f->body, data, size * n);
	return size * n;
}

/* RFC 8461 §3.3: "text/plain", parameters allowed. */
static bool text_plain(const char *ctype)
{
	return ctype != NULL && str_nieq(ctype, "text/plain", 10) &&
	       (ctype[10] == '\0' || ctype[10] == ';' || ctype[10] == ' ');
}

static void fetch_free(struct mtasts_fetch *f)
{
	for (struct mtasts_fetch **p = &fx.list; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	if (f->h != NULL) {
		curl_dl.multi_remove_handle(fx.multi, f->h);
		curl_dl.easy_cleanup(f->h);
	}
	curl_dl.slist_free_all(f->resolve);
	buf_free(&f->body);
	buf_free(&f->url);
	buf_free(&f->error);
	free(f);
}

static void fetch_done(struct mtasts_fetch *f, CURLcode cc)
{
	long status = 0;
	char *ctype = NULL;

	curl_dl.easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
	curl_dl.easy_getinfo(f->h, CURLINFO_CONTENT_TYPE, &ctype);
	if (cc != CURLE_OK)
		buf_printf(&f->error, "%s: %s", f->url.ptr, f->too_big ?
			   "policy larger than 64 KiB" : *f->errbuf ? f->errbuf :
			   curl_dl.easy_strerror(cc));
	else if (status != 200)		/* 3xx too: no redirects (§3.3) */
		buf_printf(&f->error, "%s: HTTP status %ld", f->url.ptr, status);
	else if (!text_plain(ctype))
		buf_printf(&f->error, "%s: Content-Type is not text/plain",
			   f->url.ptr);
	f->cb(f->arg, f->error.len ? NULL : &f->body,
	      f->error.len ? buf_cstr(&f->error) : NULL);
	fetch_free(f);
}

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_dl.multi_info_read(fx.multi, &left)) != NULL) {
		struct mtasts_fetch *f = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_dl.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &f);
		if (f != NULL)
			fetch_done(f, m->data.result);
	}
}

/* "mta-sts.DOMAIN:443:ADDR,[ADDR6]": libcurl connects where we resolved. */
static struct curl_slist *resolve_list(const char *host,
				       const char *const *addrs)
{
	struct buf r = BUF_INIT;
	struct curl_slist *l;

	buf_printf(&r, "%s:%d:", host, MTASTS_FETCH_PORT);
	for (size_t i = 0; addrs[i] != NULL; i++)
		buf_printf(&r, strchr(addrs[i], ':') ? "%s[%s]" : "%s%s",
			   i ? "," : "", addrs[i]);
	l = curl_dl.slist_append(NULL, r.ptr);
	buf_free(&r);
	return l;
}

static void fetch_options(struct mtasts_fetch *f, const char *ca_file)
{
	CURL *h = f->h;

	curl_dl.easy_setopt(h, CURLOPT_URL, f->url.ptr);
	curl_dl.easy_setopt(h, CURLOPT_RESOLVE, f->resolve);
	curl_dl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_dl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);	/* §3.3 */
	curl_dl.easy_setopt(h, CURLOPT_PROXY, "");	/* no *_proxy variables */
	curl_dl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_dl.easy_setopt(h, CURLOPT_TIMEOUT, (long)MTASTS_FETCH_TIMEOUT);
	curl_dl.easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_dl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_dl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_dl.easy_setopt(h, CURLOPT_MAXFILESIZE, (long)MTASTS_POLICY_MAX);
	curl_dl.easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_dl.easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_dl.easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_dl.easy_setopt(h, CURLOPT_PRIVATE, f);
	curl_dl.easy_setopt(h, CURLOPT_USERAGENT, "mailkeep/" MAILKEEP_VERSION);
	if (ca_file != NULL && *ca_file != '\0')
		curl_dl.easy_setopt(h, CURLOPT_CAINFO, ca_file);
}

struct mtasts_fetch *mtasts_fetch_start(struct event_base *base,
					const char *domain,
					const char *const *addrs,
					const char *ca_file, mtasts_fetch_cb *cb,
					void *arg, const char **error_r)
{
	struct mtasts_fetch *f;
	struct buf host = BUF_INIT;

	if (multi_init(base, error_r) < 0)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->cb = cb;
	f->arg = arg;
	buf_printf(&host, "mta-sts.%s", domain);
	buf_printf(&f->url, "https://%s/.well-known/mta-sts.txt", host.ptr);
	f->resolve = resolve_list(host.ptr, addrs);
	buf_free(&host);
	f->h = curl_dl.easy_init();
	if (f->h == NULL || f->resolve == NULL) {
		*error_r = "cannot set up libcurl";
		fetch_free(f);
		return NULL;
	}
	fetch_options(f, ca_file);
	if (curl_dl.multi_add_handle(fx.multi, f->h) != CURLM_OK) {
		*error_r = "curl_multi_add_handle failed";
		curl_dl.easy_cleanup(f->h);
		f->h = NULL;
		fetch_free(f);
		return NULL;
	}
	f->next = fx.list;
	fx.list = f;
	return f;
}

void mtasts_fetch_cancel(struct mtasts_fetch *f)
{
	fetch_free(f);
}

void mtasts_fetch_shutdown(void)
{
	while (fx.list != NULL)
		fetch_free(fx.list);
	if (fx.multi != NULL)
		curl_dl.multi_cleanup(fx.multi);	/* CURL_POLL_REMOVE frees events */
	fx.multi = NULL;
	if (fx.timer != NULL)
		event_free(fx.timer);
	fx.timer = NULL;
}
