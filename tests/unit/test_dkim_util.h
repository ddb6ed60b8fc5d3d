/* Helpers shared by the DKIM unit tests: test data files, a key table
 * standing in for DNS, and a verifier run fed in one go or byte by byte.
 *
 * The external vectors live in ../shared/conformance/dkim (README §2);
 * tests using them are skipped, loudly, when that folder is missing. */
#ifndef MK_TEST_DKIM_UTIL_H
#define MK_TEST_DKIM_UTIL_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim.h"

#define DKIM_DATA SOURCE_ROOT "/../shared/conformance/dkim"
#define DKIM_MAX_RESULTS 16

static inline bool dkim_data_present(void)
{
	struct stat st;

	if (stat(DKIM_DATA, &st) == 0 && S_ISDIR(st.st_mode))
		return true;
	fprintf(stderr, "SKIP: conformance data not found at %s\n", DKIM_DATA);
	return false;
}

/* Read path (relative to DKIM_DATA unless absolute) into out. */
static inline bool read_data(const char *path, struct buf *out)
{
	char full[1024];
	char tmp[8192];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "%s%s%s", path[0] == '/' ? "" : DKIM_DATA,
		 path[0] == '/' ? "" : "/", path);
	buf_reset(out);
	if ((fd = open(full, O_RDONLY)) < 0) {
		fprintf(stderr, "cannot open %s\n", full);
		return false;
	}
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_append(out, tmp, (size_t)n);
	close(fd);
	return n == 0;
}

/* LF line ends to CRLF (CRLF stays). */
static inline void to_crlf(const char *p, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_appendc(out, '\r');
		buf_appendc(out, p[i]);
	}
}

/* A DNS stand-in: "name value" lines; value NXDOMAIN, ~~anything~~
 * (temporary failure) or "" (an empty record). Several lines with one
 * name are several records. */
struct keytab {
	const char *text;
};

static inline void keytab_answer(const struct keytab *kt, const char *name,
				 struct dnsq_answer *a, struct buf *store,
				 char **rr, size_t max)
{
	size_t nlen = strlen(name), off = 0;
	const char *line = kt->text;

	a->rcode = DNSQ_NXDOMAIN;
	a->n = 0;
	a->rr = rr;
	a->rr_len = NULL;
	buf_reset(store);
	for (; *line; line += strcspn(line, "\n"), line += *line == '\n') {
		const char *v = line + nlen;
		size_t vlen;

		if (!str_nieq(line, name, nlen) || (*v != ' ' && *v != '\t'))
			continue;
		v += strspn(v, " \t");
		vlen = strcspn(v, "\r\n");
		if (strncmp(v, "NXDOMAIN", 8) == 0)
			return;
		if (strncmp(v, "~~", 2) == 0) {
			a->rcode = DNSQ_TEMPFAIL;
			return;
		}
		if (vlen == 2 && strncmp(v, "\"\"", 2) == 0)
			vlen = 0;
		if (a->n == max)
			break;
		buf_append(store, v, vlen);
		buf_appendc(store, '\0');
		a->rcode = DNSQ_OK;
		a->n++;
	}
	for (size_t i = 0; i < a->n; i++) {	/* store.ptr is final now */
		rr[i] = store->ptr + off;
		off += strlen(rr[i]) + 1;
	}
}

struct vrun {
	size_t n;			/* signatures */
	size_t ignored;
	struct dkim_result r[DKIM_MAX_RESULTS];
};

/* Verify msg with keys; step 0: in one go, else pieces of step bytes.
 * early: answer the key queries as soon as the header is read. */
static inline void verify_run(const char *msg, size_t len, const char *keys,
			      const struct dkim_limits *lim, long long now,
			      size_t step, bool early, struct vrun *out)
{
	struct dkim_verify *v = dkim_verify_new(lim);
	struct keytab kt = { keys };
	struct buf store = BUF_INIT;
	char *rr[8];
	bool answered = false;

	if (now > 0)
		dkim_verify_set_time(v, now);
	for (size_t off = 0; off < len;) {
		size_t n = step == 0 || len - off < step ? len - off : step;

		dkim_verify_feed(v, msg + off, n);
		off += n;
		if (!early || answered || !dkim_verify_header_done(v))
			continue;
		answered = true;
		for (size_t i = 0; i < DKIM_MAX_RESULTS; i++) {
			const struct dnsq *q = dkim_verify_query(v, i);
			struct dnsq_answer a;

			if (q == NULL)
				continue;
			keytab_answer(&kt, q->name, &a, &store, rr, 8);
			dkim_verify_key_answer(v, i, &a);
		}
	}
	out->n = dkim_verify_end(v);
	for (size_t i = 0; i < out->n && i < DKIM_MAX_RESULTS; i++) {
		const struct dnsq *q = dkim_verify_query(v, i);
		struct dnsq_answer a;

		if (q != NULL) {
			keytab_answer(&kt, q->name, &a, &store, rr, 8);
			dkim_verify_key_answer(v, i, &a);
		}
		out->r[i] = *dkim_verify_result(v, i);
	}
	out->ignored = dkim_verify_ignored(v);
	buf_free(&store);
	dkim_verify_free(v);
}

/* The same verification in one go, byte by byte and in 7-byte pieces with
 * early key answers must agree; returns the one-go run in out. */
static inline bool verify_all_ways(const char *msg, size_t len,
				   const char *keys,
				   const struct dkim_limits *lim, long long now,
				   struct vrun *out)
{
	static struct vrun other;
	bool same = true;

	verify_run(msg, len, keys, lim, now, 0, false, out);
	for (int way = 0; way < 2; way++) {
		verify_run(msg, len, keys, lim, now, way ? 7 : 1, way == 1,
			   &other);
		same &= other.n == out->n;
		for (size_t i = 0; same && i < out->n; i++)
			same &= other.r[i].status == out->r[i].status &&
				other.r[i].reason == out->r[i].reason;
	}
	return same;
}

static inline void show_run(const char *what, const struct vrun *run)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < run->n; i++) {
		buf_reset(&b);
		dkim_result_format(&run->r[i], &b);
		fprintf(stderr, "  %s #%zu: %s\n", what, i, buf_cstr(&b));
	}
	buf_free(&b);
}

#endif
