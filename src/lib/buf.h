/* buf: the one growable byte-string type used everywhere {ptr, len, cap}.
 * ptr is always NUL-terminated after len once anything was appended, so
 * buf_cstr() is cheap; the NUL is not counted in len. */
#ifndef MK_BUF_H
#define MK_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *ptr;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Forget the contents, keep the allocation. */
void buf_reset(struct buf *b);
/* Make room for at least extra more bytes (plus the terminating NUL). */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_appends(struct buf *b, const char *s);
void buf_appendc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Shorten to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* NUL-terminated view of the contents ("" for an empty buf). */
const char *buf_cstr(const struct buf *b);
/* Append the whole file behind fd, read from offset 0 (the descriptor's
 * own offset is left alone: passed descriptors share it). -1 with errno
 * on a read error, or EFBIG when it holds more than max bytes. The
 * stack copy is wiped, as the file may be a private key. */
int buf_read_fd(struct buf *b, int fd, size_t max);
/* Write p[0..n) to fd whole (EINTR retried): 0, or -1 with errno set. */
int buf_write_fd(int fd, const void *p, size_t n);
/* Take ownership of the heap string; b is left empty. */
char *buf_detach(struct buf *b);

#endif
