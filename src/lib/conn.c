/* conn: client connection I/O for the IMAP and POP3 sessions. */
#include "lib/conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/xalloc.h"

#define COMPRESS_LEVEL 6

struct zctx {
	z_stream in, out;
	struct evbuffer *plain;		/* inflated input */
	struct event *flush_ev;
	bool flush_due;
};

struct conn {
	struct event_base *base;
	int fd;
	struct bufferevent *bev;	/* what the owner reads and writes */
	SSL *ssl;
	SSL_CTX *pending_tls;		/* STARTTLS once the output is out */
	struct zctx *z;
	const struct conn_ops *ops;
	void *ctx;
	struct event *later;		/* a callback due from the loop */
	const char *later_why;
	unsigned read_secs, write_secs;
	bool closing, done, paused;
};

static void zwrite(struct conn *c, const void *data, size_t len);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void finish(struct conn *c, const char *why)
{
	if (c->done)
		return;
	c->done = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->ops->closed(c->ctx, why);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd; (void)what;
	finish(c, c->later_why);
}

/* Report the end from the event loop, not from the caller's stack. */
static void finish_later(struct conn *c, const char *why)
{
	struct timeval now = { 0, 0 };

	c->later_why = why;
	evtimer_add(c->later, &now);
}

static void setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	conn_set_timeouts(c, c->read_secs, c->write_secs);
	bufferevent_enable(c->bev, c->paused ? EV_WRITE : EV_READ | EV_WRITE);
}

static struct bufferevent *tls_bev(struct conn *c, SSL_CTX *tls)
{
	if ((c->ssl = SSL_new(tls)) == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(
		c->base, c->fd, c->ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
}

struct conn *conn_new(struct event_base *base, int fd, SSL_CTX *tls,
		      const struct conn_ops *ops, void *ctx)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	c->base = base;
	c->fd = fd;
	c->ops = ops;
	c->ctx = ctx;
	c->read_secs = 1800;
	c->write_secs = 300;
	c->later = evtimer_new(base, on_later, c);
	evutil_make_socket_nonblocking(fd);
	/* Replies often go out in more than one write: without this, the
	 * tail of one waits for the client's delayed ACK (40 ms). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls != NULL)
		c->bev = tls_bev(c, tls);
	if (c->bev == NULL) {
		c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE |
						BEV_OPT_DEFER_CALLBACKS);
		if (tls != NULL)
			finish_later(c, "TLS setup failed");
	}
	setup_bev(c);
	return c;
}

static void zctx_free(struct zctx *z)
{
	if (z == NULL)
		return;
	inflateEnd(&z->in);
	deflateEnd(&z->out);
	evbuffer_free(z->plain);
	event_free(z->flush_ev);
	free(z);
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	event_free(c->later);
	bufferevent_free(c->bev);	/* closes fd; frees ssl and the filter */
	zctx_free(c->z);
	free(c);
}

struct evbuffer *conn_input(struct conn *c)
{
	return c->z != NULL ? c->z->plain : bufferevent_get_input(c->bev);
}

size_t conn_output_pending(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	       (c->z != NULL && c->z->flush_due ? 1 : 0);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->done)
		return;
	if (c->z != NULL)
		zwrite(c, data, len);
	else
		bufferevent_write(c->bev, data, len);
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	struct evbuffer *tmp;
	va_list ap;

	if (c->done)
		return;
	va_start(ap, fmt);
	if (c->z == NULL) {
		evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
		va_end(ap);
		return;
	}
	tmp = evbuffer_new();
	evbuffer_add_vprintf(tmp, fmt, ap);
	va_end(ap);
	conn_write_buffer(c, tmp);
	evbuffer_free(tmp);
}

void conn_write_buffer(struct conn *c, struct evbuffer *buf)
{
	struct evbuffer_iovec v;

	if (c->done) {
		evbuffer_drain(buf, evbuffer_get_length(buf));
		return;
	}
	if (c->z == NULL) {
		bufferevent_write_buffer(c->bev, buf);
		return;
	}
	while (evbuffer_peek(buf, -1, NULL, &v, 1) > 0) {
		zwrite(c, v.iov_base, v.iov_len);
		evbuffer_drain(buf, v.iov_len);
	}
}

void conn_pause(struct conn *c)
{
	c->paused = true;
	bufferevent_disable(c->bev, EV_READ);
}

void conn_resume(struct conn *c)
{
	c->paused = false;
	if (!c->closing && !c->done && c->pending_tls == NULL)
		bufferevent_enable(c->bev, EV_READ);
}

void conn_set_timeouts(struct conn *c, unsigned read_secs, unsigned write_secs)
{
	struct timeval rd = { (time_t)read_secs, 0 };
	struct timeval wr = { (time_t)write_secs, 0 };

	c->read_secs = read_secs;
	c->write_secs = write_secs;
	bufferevent_set_timeouts(c->bev, &rd, &wr);
}

int conn_starttls(struct conn *c, SSL_CTX *tls)
{
	if (tls == NULL || c->ssl != NULL || c->z != NULL)
		return -1;
	c->pending_tls = tls;
	bufferevent_disable(c->bev, EV_READ);
	if (conn_output_pending(c) == 0) {
		/* nothing to flush first: the loop switches (on_write) */
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS |
				    BEV_TRIG_IGNORE_WATERMARKS);
	}
	return 0;
}

static void switch_to_tls(struct conn *c)
{
	SSL_CTX *tls = c->pending_tls;

	c->pending_tls = NULL;
	/* the plaintext bufferevent and whatever it had read: gone */
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = tls_bev(c, tls);
	if (c->bev == NULL) {
		c->bev = bufferevent_socket_new(c->base, c->fd, BEV_OPT_CLOSE_ON_FREE |
						BEV_OPT_DEFER_CALLBACKS);
		setup_bev(c);
		finish_later(c, "TLS setup failed");
		return;
	}
	setup_bev(c);
}

bool conn_starttls_pending(struct conn *c)
{
	return c->pending_tls != NULL;
}

SSL *conn_ssl(struct conn *c)
{
	return c->ssl;
}

void conn_tls_describe(struct conn *c, char *out, size_t size)
{
	const SSL_CIPHER *cipher;

	if (c->ssl == NULL || (cipher = SSL_get_current_cipher(c->ssl)) == NULL) {
		if (size > 0)
			*out = '\0';
		return;
	}
	snprintf(out, size, "%s cipher=%s", SSL_get_version(c->ssl),
		 SSL_CIPHER_get_name(cipher));
}

int conn_tls_exporter(struct conn *c, unsigned char out[32])
{
	static const char label[] = "EXPORTER-Channel-Binding";

	if (c->ssl == NULL || SSL_version(c->ssl) < TLS1_2_VERSION)
		return -1;
	if (SSL_version(c->ssl) == TLS1_2_VERSION &&
	    !SSL_get_extms_support(c->ssl))
		return -1;
	return SSL_export_keying_material(c->ssl, out, 32, label,
					  sizeof(label) - 1, NULL, 0, 1) == 1 ? 0 : -1;
}

/* --- COMPRESS=DEFLATE (RFC 4978 §4: raw DEFLATE both ways) ---
 * Output is deflated as it is written and sync-flushed once per turn of
 * the event loop (so a burst of small replies makes one flush); input is
 * inflated into c->z->plain, which conn_input() then hands out. */

static int zrun(z_stream *z, const void *data, size_t len, int flush,
		struct evbuffer *dst)
{
	unsigned char obuf[16384];
	int rc;

	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	do {
		z->next_out = obuf;
		z->avail_out = sizeof(obuf);
		rc = flush == -1 ? inflate(z, Z_SYNC_FLUSH) : deflate(z, flush);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;	/* also Z_STREAM_END: the client ended it */
		evbuffer_add(dst, obuf, sizeof(obuf) - z->avail_out);
	} while (z->avail_out == 0 || z->avail_in > 0);
	return 0;
}

static void on_zflush(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd; (void)what;
	c->z->flush_due = false;
	if (!c->done)
		zrun(&c->z->out, NULL, 0, Z_SYNC_FLUSH,
		     bufferevent_get_output(c->bev));
}

static void zwrite(struct conn *c, const void *data, size_t len)
{
	struct timeval now = { 0, 0 };

	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		zrun(&c->z->out, data, n, Z_NO_FLUSH,
		     bufferevent_get_output(c->bev));
		data = (const char *)data + n;
		len -= n;
	}
	if (!c->z->flush_due) {
		c->z->flush_due = true;
		evtimer_add(c->z->flush_ev, &now);
	}
}

/* Inflate what arrived; -1 on a corrupt stream. */
static int zread(struct conn *c)
{
	struct evbuffer *raw = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;

	while (evbuffer_peek(raw, -1, NULL, &v, 1) > 0) {
		if (zrun(&c->z->in, v.iov_base, v.iov_len, -1, c->z->plain) < 0)
			return -1;
		evbuffer_drain(raw, v.iov_len);
	}
	return 0;
}

int conn_compress(struct conn *c)
{
	struct zctx *z;

	if (c->z != NULL || c->pending_tls != NULL)
		return -1;
	z = xcalloc(1, sizeof(*z));
	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return -1;
	}
	if (deflateInit2(&z->out, COMPRESS_LEVEL, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return -1;
	}
	z->plain = evbuffer_new();
	z->flush_ev = evtimer_new(c->base, on_zflush, c);
	c->z = z;
	/* bytes the client sent after COMPRESS are already compressed */
	if (zread(c) < 0) {
		finish_later(c, "bad DEFLATE data");
		return 0;
	}
	return 0;
}

bool conn_compressed(struct conn *c)
{
	return c->z != NULL;
}

/* --- lifecycle --- */

void conn_close(struct conn *c)
{
	if (c->closing || c->done)
		return;
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (conn_output_pending(c) == 0)
		finish_later(c, NULL);
}

bool conn_closing(struct conn *c)
{
	return c->closing || c->done;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing || c->done || c->pending_tls != NULL)
		return;
	if (c->z != NULL && zread(c) < 0) {
		finish(c, "bad DEFLATE data");
		return;
	}
	c->ops->input(c->ctx);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->done || conn_output_pending(c) != 0)
		return;
	if (c->closing) {
		finish(c, NULL);
		return;
	}
	if (c->pending_tls != NULL) {
		switch_to_tls(c);
		return;
	}
	if (c->ops->drained != NULL)
		c->ops->drained(c->ctx);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	static char why[160];

	if (what & BEV_EVENT_CONNECTED)
		return;		/* TLS handshake done */
	if (what & BEV_EVENT_TIMEOUT) {
		finish(c, c->closing ? NULL : "timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s",
				 errno ? strerror(errno) : "connection error");
		finish(c, why);
		return;
	}
	finish(c, c->closing ? NULL : "disconnected");
}
