/* str: small string helpers that libc lacks or gets wrong. */
#ifndef MK_STR_H
#define MK_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy src into dst[size]; returns -1 (dst truncated, still terminated)
 * when src does not fit. */
int str_copy(char *dst, size_t size, const char *src);
/* ASCII case-insensitive comparisons (no locale). */
bool str_ieq(const char *a, const char *b);
bool str_nieq(const char *a, const char *b, size_t n);
bool str_iprefix(const char *s, const char *prefix);
/* The same DNS name: ASCII case-insensitive, one trailing dot ignored
 * on either side ("MX.Example.org." is "mx.example.org"). */
bool str_dname_eq(const char *a, const char *b);
/* Lower-case ASCII letters in place. */
void str_lower(char *s);
/* Trim ASCII space/tab at both ends in place; returns s advanced. */
char *str_trim(char *s);
/* Parse an unsigned decimal; whole string, no sign, no overflow. */
int str_to_u64(const char *s, uint64_t *out);
/* Constant-time equality for secrets. */
bool str_secure_eq(const void *a, const void *b, size_t n);
/* Fill out[n] with random lowercase hex (n-1 chars, terminated). */
void str_random_hex(char *out, size_t n);

#endif
