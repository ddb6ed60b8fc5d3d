/* spf_suite: runs the openspf/pyspf SPF conformance suite against the SPF
 * evaluator with an in-memory resolver. The input is the line file that
 * spf_suite_gen.py makes from the suite's JSON (format described there).
 *
 *   spf_suite FILE [--report-only]
 *
 * Prints "PASS|FAIL id expected actual" per case and "N passed, N failed";
 * exits 1 on a failure unless --report-only (for the RFC 4408 suite, whose
 * expectations differ from RFC 7208 in places). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/spf.h"

#define MAX_FIELDS 8
#define MAX_ANSWER 64		/* records in one emulated answer */
#define MAX_QUERIES 500		/* per test: more means a loop */
#define MAX_CNAME_CHAIN 8

struct field {
	char *s;
	size_t len;
};

/* One "node", "rr" or "timeout" line of the current scenario. */
struct zline {
	char kind;		/* 'n'ode, 'r'r, 't'imeout */
	char *name;
	char *type;
	char *data;
	size_t len;
};

static struct zline *zone;
static size_t nzone, zone_cap;
static int passed, failed;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo the generator's \xNN escapes; "" is the empty field. */
static struct field unescape(const char *s)
{
	struct field f = { xmalloc(strlen(s) + 1), 0 };

	if (strcmp(s, "\"\"") == 0)
		s = "";
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\\' && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
		    hexval(s[i + 3]) >= 0) {
			f.s[f.len++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
			i += 3;
		} else {
			f.s[f.len++] = s[i];
		}
	}
	f.s[f.len] = '\0';
	return f;
}

static size_t split(char *line, struct field *fields)
{
	size_t n = 0;

	for (char *tok = strtok(line, " \n"); tok != NULL && n < MAX_FIELDS;
	     tok = strtok(NULL, " \n"))
		fields[n++] = unescape(tok);
	return n;
}

static void zone_reset(void)
{
	for (size_t i = 0; i < nzone; i++) {
		free(zone[i].name);
		free(zone[i].type);
		free(zone[i].data);
	}
	nzone = 0;
}

/* Zone names compare without case and without a trailing dot. */
static bool name_eq(const char *zname, const char *qname)
{
	size_t n = strlen(zname);

	if (n > 0 && zname[n - 1] == '.')
		n--;
	return strlen(qname) == n && str_nieq(zname, qname, n);
}

static bool zone_has(char kind, const char *name)
{
	for (size_t i = 0; i < nzone; i++) {
		if (zone[i].kind == kind && name_eq(zone[i].name, name))
			return true;
	}
	return false;
}

static const char *zone_cname(const char *name)
{
	for (size_t i = 0; i < nzone; i++) {
		if (zone[i].kind == 'r' && strcmp(zone[i].type, "CNAME") == 0 &&
		    name_eq(zone[i].name, name))
			return zone[i].data;
	}
	return NULL;
}

/* The suite's DNS: NXDOMAIN for unknown names, records of the type, else
 * TIMEOUT as tempfail, else a CNAME followed, else no data. */
static void resolve(const struct dnsq *q, struct dnsq_answer *a, char **rr,
		    size_t *len)
{
	const char *name = q->name, *type = dnsq_type_name(q->type);

	a->n = 0;
	a->rr = rr;
	a->rr_len = len;
	for (int hop = 0; hop < MAX_CNAME_CHAIN; hop++) {
		if (!zone_has('n', name)) {
			a->rcode = DNSQ_NXDOMAIN;
			return;
		}
		for (size_t i = 0; i < nzone && a->n < MAX_ANSWER; i++) {
			if (zone[i].kind == 'r' && strcmp(zone[i].type, type) == 0 &&
			    name_eq(zone[i].name, name)) {
				rr[a->n] = zone[i].data;
				len[a->n++] = zone[i].len;
			}
		}
		a->rcode = a->n > 0 ? DNSQ_OK : DNSQ_NODATA;
		if (a->n > 0)
			return;
		if (zone_has('t', name)) {
			a->rcode = DNSQ_TEMPFAIL;
			return;
		}
		if ((name = zone_cname(name)) == NULL)
			return;
	}
	a->rcode = DNSQ_TEMPFAIL;	/* CNAME loop */
}

/* Is actual among the comma-separated expected results? */
static bool result_ok(const char *expected, const char *actual)
{
	size_t n = strlen(actual);

	for (const char *p = expected; p != NULL; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, actual, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* test ID HOST MAILFROM HELO RESULTS [EXPLANATION] */
static void run_test(struct field *f, size_t n)
{
	struct spf_eval *e = spf_eval_new(f[2].s, f[3].s, f[4].s, NULL);
	char *rr[MAX_ANSWER];
	size_t len[MAX_ANSWER];
	struct dnsq_answer a;
	struct dnsq q;
	enum spf_result r;
	const char *exp;
	int queries = 0;
	bool ok;

	spf_eval_set_default_exp(e, "DEFAULT");
	spf_eval_set_time(e, 1400000000);
	while ((r = spf_eval_step(e, &q)) == SPF_NEED_DNS &&
	       queries++ < MAX_QUERIES) {
		resolve(&q, &a, rr, len);
		spf_eval_answer(e, &a);
	}
	exp = spf_eval_explanation(e);
	ok = r != SPF_NEED_DNS && result_ok(f[5].s, spf_result_name(r));
	if (ok && n > 6)
		ok = exp != NULL && strcmp(exp, f[6].s) == 0;
	printf("%s %s %s %s", ok ? "PASS" : "FAIL", f[1].s, f[5].s,
	       spf_result_name(r));
	if (n > 6 || !ok)
		printf(" exp=\"%s\"", exp != NULL ? exp : "");
	if (!ok)
		printf(" reason=\"%s\"", spf_eval_reason(e));
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
	spf_eval_free(e);
}

static void zone_add(char kind, struct field *f, size_t n)
{
	struct zline *z;

	if (nzone == zone_cap) {
		zone_cap = zone_cap ? zone_cap * 2 : 64;
		zone = xrealloc(zone, zone_cap * sizeof(*zone));
	}
	z = &zone[nzone++];
	z->kind = kind;
	z->name = xstrdup(f[1].s);
	z->type = xstrdup(n > 2 ? f[2].s : "");
	z->len = n > 3 ? f[3].len : 0;
	z->data = xmalloc(z->len + 1);
	memcpy(z->data, n > 3 ? f[3].s : "", z->len + 1);
}

static void handle_line(char *line)
{
	struct field f[MAX_FIELDS];
	size_t n;

	if (line[0] == '#' || line[0] == '\n')
		return;
	n = split(line, f);
	if (n == 0)
		return;
	if (strcmp(f[0].s, "scenario") == 0)
		zone_reset();
	else if (strcmp(f[0].s, "node") == 0 && n == 2)
		zone_add('n', f, n);
	else if (strcmp(f[0].s, "rr") == 0 && n == 4)
		zone_add('r', f, n);
	else if (strcmp(f[0].s, "timeout") == 0 && n == 2)
		zone_add('t', f, n);
	else if (strcmp(f[0].s, "test") == 0 && n >= 6)
		run_test(f, n);
	else {
		fprintf(stderr, "spf_suite: bad line: %s\n", f[0].s);
		failed++;
	}
	for (size_t i = 0; i < n; i++)
		free(f[i].s);
}

int main(int argc, char **argv)
{
	bool report_only = argc > 2 && strcmp(argv[2], "--report-only") == 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	if (argc < 2 || (fp = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "usage: spf_suite FILE [--report-only]\n");
		return 2;
	}
	while (getline(&line, &cap, fp) > 0)
		handle_line(line);
	free(line);
	fclose(fp);
	zone_reset();
	free(zone);
	printf("%d passed, %d failed\n", passed, failed);
	if (passed == 0)
		return 1;
	return failed > 0 && !report_only ? 1 : 0;
}
