/* str: string helpers. */
#include "str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static int lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool str_ieq(const char *a, const char *b)
{
	while (*a && lc((unsigned char)*a) == lc((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == *b;
}

bool str_nieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return false;
		if (a[i] == '\0')
			return true;
	}
	return true;
}

bool str_dname_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && str_nieq(a, b, la);
}

bool str_iprefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strlen(s) >= n && str_nieq(s, prefix, n);
}

void str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)lc((unsigned char)*s);
}

char *str_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

int str_to_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

bool str_secure_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void str_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t want = (n - 1 + 1) / 2, got = 0;

	if (n == 0)
		return;
	if (want > sizeof(raw))
		abort();
	while (got < want) {
		ssize_t r = getrandom(raw + got, want - got, 0);
		if (r < 0 && errno != EINTR)
			abort();
		if (r > 0)
			got += (size_t)r;
	}
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = hex[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 0xf];
	out[n - 1] = '\0';
}
