/* mime_arena: bump allocator in growing chunks (see mime_arena.h). */
#include "mail/mime_arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

#define ARENA_CHUNK_MIN 4096

struct mime_arena_chunk {
	struct mime_arena_chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

static size_t align_up(size_t n)
{
	size_t a = alignof(max_align_t);

	if (n > (size_t)-1 - a)
		abort();	/* a bug: no parser asks for that much */
	return (n + a - 1) & ~(a - 1);
}

void *mime_arena_alloc(struct mime_arena *a, size_t n)
{
	struct mime_arena_chunk *c = a->head;
	size_t need = align_up(n ? n : 1), size;
	void *p;

	if (c == NULL || c->size - c->used < need) {
		size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
		c = xmalloc(sizeof(*c) + size);
		c->used = 0;
		c->size = size;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	memset(p, 0, need);
	return p;
}

char *mime_arena_strndup(struct mime_arena *a, const char *s, size_t n)
{
	size_t nuls = 0, j = 0;
	char *d;

	for (size_t i = 0; i < n; i++)
		nuls += s[i] == '\0';
	d = mime_arena_alloc(a, n + nuls * 2 + 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\0') {
			d[j++] = s[i];
			continue;
		}
		memcpy(d + j, "\xef\xbf\xbd", 3);
		j += 3;
	}
	d[j] = '\0';
	return d;
}

void mime_arena_free(struct mime_arena *a)
{
	while (a->head != NULL) {
		struct mime_arena_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
}
