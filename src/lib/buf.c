/* buf: growable byte strings. */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

void buf_init(struct buf *b)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->ptr);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr != NULL)
		b->ptr[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;

	if (need < b->len)
		abort();	/* overflow: a bug, not input */
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	b->ptr = xrealloc(b->ptr, cap);
	b->cap = cap;
	b->ptr[b->len] = '\0';	/* buf_cstr() is valid at any time */
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->ptr + b->len, p, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void buf_appends(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_appendc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	char probe[1];
	int n;

	if (fmt == NULL)
		abort();	/* a bug in the caller */
	va_copy(ap2, ap);
	n = vsnprintf(probe, sizeof(probe), fmt, ap2);	/* length only */
	va_end(ap2);
	if (n < 0)
		abort();
	buf_reserve(b, (size_t)n);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

void buf_truncate(struct buf *b, size_t n)
{
	if (n >= b->len)
		return;
	b->len = n;
	b->ptr[n] = '\0';
}

const char *buf_cstr(const struct buf *b)
{
	return b->ptr ? b->ptr : "";
}

int buf_read_fd(struct buf *b, int fd, size_t max)
{
	char chunk[8192];
	size_t start = b->len;
	off_t off = 0;
	ssize_t n;
	int ret = 0;

	while ((n = pread(fd, chunk, sizeof(chunk), off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		if (b->len - start + (size_t)n > max) {
			errno = EFBIG;
			ret = -1;
			break;
		}
		buf_append(b, chunk, (size_t)n);
		off += n;
	}
	explicit_bzero(chunk, sizeof(chunk));
	return ret;
}

char *buf_detach(struct buf *b)
{
	char *p = b->ptr ? b->ptr : xstrdup("");

	buf_init(b);
	return p;
}

int buf_write_fd(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
