/* conn: one server-side client connection over a libevent bufferevent,
 * shared by the IMAP and POP3 sessions: buffered input and output, TLS
 * (implicit, or STARTTLS-style upgrade once the last plaintext reply is
 * out, discarding whatever the client sent early: RFC 3207 §4.2,
 * RFC 2595 §3.1), COMPRESS=DEFLATE (RFC 4978), timeouts, and an orderly
 * close after the last reply.
 *
 * The owner gets callbacks only from the event loop, never from inside
 * its own conn_* calls, so it may free the connection in any callback. */
#ifndef MK_CONN_H
#define MK_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct conn;

struct conn_ops {
	/* New input is in conn_input(). */
	void (*input)(void *ctx);
	/* The output went down to empty (and is flushed to the kernel). */
	void (*drained)(void *ctx);
	/* The connection is over: peer gone, error, timeout (why says which)
	 * or conn_close() finished flushing (why NULL). The owner must call
	 * conn_free() (here or later); no callback follows. */
	void (*closed)(void *ctx, const char *why);
};

/* Wrap fd (a connected socket; the conn owns it). tls: implicit TLS with
 * this context (the handshake comes first), NULL for plaintext. */
struct conn *conn_new(struct event_base *base, int fd, SSL_CTX *tls,
		      const struct conn_ops *ops, void *ctx);
void conn_free(struct conn *c);

struct evbuffer *conn_input(struct conn *c);
/* Bytes queued for output and not yet handed to the kernel. */
size_t conn_output_pending(struct conn *c);
void conn_write(struct conn *c, const void *data, size_t len);
void conn_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append the whole evbuffer (moved, not copied). */
void conn_write_buffer(struct conn *c, struct evbuffer *buf);

/* Stop or restart reading input (backpressure, waiting for another
 * process). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Seconds without input / without output progress before closed("timeout"). */
void conn_set_timeouts(struct conn *c, unsigned read_secs, unsigned write_secs);

/* Start TLS once the output queued so far is out; input that arrives
 * before the handshake is discarded. -1 without a context. */
int conn_starttls(struct conn *c, SSL_CTX *tls);
/* Between conn_starttls and the switch: read nothing more. */
bool conn_starttls_pending(struct conn *c);
/* The TLS session once it is up (or being set up), else NULL. */
SSL *conn_ssl(struct conn *c);
/* "TLSv1.3 cipher=..." or "" (for logs). */
void conn_tls_describe(struct conn *c, char *out, size_t size);
/* RFC 9266 tls-exporter channel binding (32 bytes) into out; -1 without
 * TLS 1.3 (or TLS 1.2 with extended master secret). */
int conn_tls_exporter(struct conn *c, unsigned char out[32]);

/* RFC 4978: from now on both directions are raw DEFLATE streams (the
 * caller has queued its last uncompressed reply). -1 on failure. */
int conn_compress(struct conn *c);
bool conn_compressed(struct conn *c);

/* Flush what is queued, then closed(NULL). Input is no longer read. */
void conn_close(struct conn *c);
bool conn_closing(struct conn *c);

#endif
