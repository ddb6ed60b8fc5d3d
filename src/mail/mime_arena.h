/* mime_arena: one allocation pool per parsed message, freed in one call,
 * so a part tree with thousands of strings needs no per-field free. */
#ifndef MK_MAIL_MIME_ARENA_H
#define MK_MAIL_MIME_ARENA_H

#include <stddef.h>

struct mime_arena_chunk;

struct mime_arena {
	struct mime_arena_chunk *head;
};

#define MIME_ARENA_INIT { NULL }

/* n zeroed bytes, aligned for any type; never NULL (xalloc aborts). */
void *mime_arena_alloc(struct mime_arena *a, size_t n);
/* Copy of s[0..n) with a terminating NUL; NUL bytes inside become U+FFFD
 * so the copy is a proper C string. */
char *mime_arena_strndup(struct mime_arena *a, const char *s, size_t n);
/* Free everything allocated from a. */
void mime_arena_free(struct mime_arena *a);

#endif
