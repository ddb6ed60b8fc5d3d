/* xalloc: allocation that never returns NULL.
 * Internal allocation failure is not recoverable for a mail daemon process;
 * these abort with a message instead of scattering NULL checks (STYLE §3). */
#ifndef MK_XALLOC_H
#define MK_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for nmemb elements of size, failing (never wrapping) on overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
/* A copy of p[0..n) (n may be 0). */
void *xmemdup(const void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Overwrite then free: for passwords and key material. */
void xfree_secret(void *p, size_t n);

#endif
