/* Reader for the line files written by mime_suite_gen.py: one record per
 * line, fields separated by one space, bytes escaped as \xNN, "" empty,
 * - null. Header-only, for the unit test programs. */
#ifndef MK_TEST_SUITE_IO_H
#define MK_TEST_SUITE_IO_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUITE_FIELDS_MAX 64

struct suite_field {
	char *s;		/* unescaped, NUL-terminated (may hold NULs) */
	size_t len;
	bool null;
};

struct suite_line {
	char *raw;		/* getline buffer, fields point into it */
	size_t cap;
	unsigned n;		/* fields after the keyword */
	const char *kw;
	struct suite_field f[SUITE_FIELDS_MAX];
};

static inline int suite_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescape s in place. */
static inline void suite_unescape(char *s, struct suite_field *f)
{
	size_t j = 0;

	f->null = strcmp(s, "-") == 0;
	if (f->null || strcmp(s, "\"\"") == 0) {
		s[0] = '\0';
		f->s = s;
		f->len = 0;
		return;
	}
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\\' && s[i + 1] == 'x' && suite_hex(s[i + 2]) >= 0 &&
		    suite_hex(s[i + 3]) >= 0) {
			s[j++] = (char)(suite_hex(s[i + 2]) * 16 + suite_hex(s[i + 3]));
			i += 3;
		} else {
			s[j++] = s[i];
		}
	}
	s[j] = '\0';
	f->s = s;
	f->len = j;
}

/* Next record: 1, or 0 at the end of the file. */
static inline int suite_next(FILE *fp, struct suite_line *l)
{
	char *p, *save = NULL;
	ssize_t n = getline(&l->raw, &l->cap, fp);

	if (n <= 0)
		return 0;
	if (l->raw[n - 1] == '\n')
		l->raw[n - 1] = '\0';
	l->kw = strtok_r(l->raw, " ", &save);
	if (l->kw == NULL)
		l->kw = "";
	for (l->n = 0; l->n < SUITE_FIELDS_MAX &&
	     (p = strtok_r(NULL, " ", &save)) != NULL; l->n++)
		suite_unescape(p, &l->f[l->n]);
	return 1;
}

/* A copy of s with every bare LF turned into CRLF (caller frees). */
static inline char *suite_crlf(const char *s, size_t len, size_t *len_r)
{
	char *d = malloc(len * 2 + 1);
	size_t j = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			d[j++] = '\r';
		d[j++] = s[i];
	}
	d[j] = '\0';
	*len_r = j;
	return d;
}

/* A copy of s with every CRLF turned into LF (caller frees). */
static inline char *suite_lf(const char *s, size_t len, size_t *len_r)
{
	char *d = malloc(len + 1);
	size_t j = 0;

	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
			d[j++] = s[i];
	d[j] = '\0';
	*len_r = j;
	return d;
}

#endif
