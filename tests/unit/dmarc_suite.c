/* dmarc_suite: runs the DMARC conformance data (../shared/conformance/
 * dmarc, converted by dmarc_suite_gen.py) against src/mailauth:
 *   psl     the public suffix list tests -> dmarc_org_domain()
 *   record  OpenDMARC's record-parse table -> dmarc_record_parse()
 *   align   OpenDMARC's alignment table -> dmarc_aligned()
 *   case    authheaders' end-to-end cases -> dmarc_from_parse(), the
 *           evaluator over the case's DNS data, and authres: the expected
 *           Authentication-Results is compared field by field (method,
 *           result and the expected properties; comments are ignored, as
 *           their text is authheaders' own).
 * Prints one line per failure and a summary; exits 1 on any failure. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/authres.h"
#include "mailauth/dmarc.h"

#define MAX_FIELDS 8
#define MAX_ITEMS 32

struct counts {
	unsigned run, ok;
};

static struct counts c_psl, c_record, c_upstream, c_align, c_case;

/* Undo the generator's escapes in place: \xNN, "" for empty. */
static char *unescape(char *s, size_t *len)
{
	size_t o = 0;

	if (strcmp(s, "\"\"") == 0)
		s[0] = '\0';
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\\' && s[i + 1] == 'x' && s[i + 2] && s[i + 3]) {
			char hex[3] = { s[i + 2], s[i + 3], 0 };

			s[o++] = (char)strtoul(hex, NULL, 16);
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	s[o] = '\0';
	if (len != NULL)
		*len = o;
	return s;
}

static size_t split(char *line, char **f)
{
	size_t n = 0;

	for (char *tok = strtok(line, " \n"); tok && n < MAX_FIELDS;
	     tok = strtok(NULL, " \n"))
		f[n++] = tok;
	return n;
}

static void tally(struct counts *c, bool ok)
{
	c->run++;
	c->ok += ok;
}

static void run_psl(char **f)
{
	char out[DMARC_DOMAIN_BUF];
	bool in_null = strcmp(f[1], "-") == 0, want_null = strcmp(f[2], "-") == 0;
	int r = dmarc_org_domain(in_null ? NULL : unescape(f[1], NULL), out);
	bool ok = want_null ? r < 0 :
		(r == 0 && strcmp(out, unescape(f[2], NULL)) == 0);

	if (!ok)
		printf("FAIL psl %s: got %s want %s\n", f[1], r < 0 ? "null" : out,
		       f[2]);
	tally(&c_psl, ok);
}

static void run_record(char **f)
{
	static const char *const names[] = {
		[DMARC_REC_OK] = "ok", [DMARC_REC_NO_POLICY] = "nopolicy",
		[DMARC_REC_NOT_DMARC] = "notdmarc",
	};
	struct dmarc_record rec;
	const char *error, *got;
	size_t len;
	char *txt = unescape(f[3], &len);
	bool ok;

	got = names[dmarc_record_parse(txt, len, &rec, &error)];
	dmarc_record_clear(&rec);
	ok = strcmp(got, f[2]) == 0;
	if (!ok)
		printf("FAIL record \"%s\": got %s want %s\n", txt, got, f[2]);
	tally(&c_record, ok);
	/* OpenDMARC's BAD_VALUE rejects the record: our nopolicy agrees */
	tally(&c_upstream, strcmp(got, f[1]) == 0 ||
	      (strcmp(f[1], "badvalue") == 0 && strcmp(got, "nopolicy") == 0));
}

static void run_align(char **f)
{
	enum dmarc_align mode = strcmp(f[3], "strict") == 0 ?
		DMARC_ALIGN_STRICT : DMARC_ALIGN_RELAXED;
	bool got = dmarc_aligned(unescape(f[1], NULL), unescape(f[2], NULL), mode);
	bool ok = got == (strcmp(f[4], "yes") == 0);

	if (!ok)
		printf("FAIL align %s %s %s\n", f[1], f[2], f[3]);
	tally(&c_align, ok);
}

/* ---- end-to-end cases ---- */

struct item {
	char *a, *b;
};

struct kase {
	char name[64], authserv[256], checks[32];
	struct dmarc_from from;
	bool from_error;
	struct item dkim[MAX_ITEMS], txt[MAX_ITEMS], exists[MAX_ITEMS];
	size_t ndkim, ntxt, nexists;
	char *want_result, *want_policy, *want_ar;
};

static struct dnsq_answer zone_answer(const struct kase *k,
				      const struct dnsq *q, char **rr)
{
	struct dnsq_answer a = { .rcode = DNSQ_NXDOMAIN, .rr = rr };

	for (size_t i = 0; i < k->ntxt; i++) {
		if (!str_ieq(k->txt[i].a, q->name))
			continue;
		a.rcode = DNSQ_NODATA;
		if (q->type == DNSQ_TXT && a.n < MAX_ITEMS) {
			rr[a.n++] = k->txt[i].b;
			a.rcode = DNSQ_OK;
		}
	}
	for (size_t i = 0; i < k->nexists; i++) {
		if (!str_ieq(k->exists[i].a, q->name))
			continue;
		a.rcode = DNSQ_NODATA;
		if (q->type == DNSQ_A) {
			rr[a.n++] = (char *)"192.0.2.1";
			a.rcode = DNSQ_OK;
		}
	}
	return a;
}

/* One resinfo of an A-R: "method=result" and its properties, comments
 * dropped, everything lower-cased. */
struct resinfo {
	char method[64];
	char prop[MAX_FIELDS][256];
	size_t nprop;
};

/* Drop (comments) and quotes, turn folding into spaces. */
static void strip_cfws(const char *in, struct buf *out)
{
	int depth = 0;

	for (const char *p = in; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			if (depth == 0)
				buf_appendc(out, p[1]);
			p++;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && *p != '"') {
			buf_appendc(out, *p == '\r' || *p == '\n' || *p == '\t' ?
				    ' ' : *p);
		}
	}
}

static size_t parse_ar(const char *field, struct resinfo *ri, size_t max)
{
	struct buf b = BUF_INIT;
	char *save, *part, *tok, *save2;
	size_t n = 0;

	strip_cfws(strchr(field, ':') + 1, &b);
	str_lower(b.ptr);
	part = strtok_r(b.ptr, ";", &save);	/* the authserv-id */
	while ((part = strtok_r(NULL, ";", &save)) != NULL && n < max) {
		memset(&ri[n], 0, sizeof(ri[n]));
		tok = strtok_r(part, " ", &save2);
		if (tok == NULL)
			continue;
		str_copy(ri[n].method, sizeof(ri[n].method), tok);
		while ((tok = strtok_r(NULL, " ", &save2)) != NULL &&
		       ri[n].nprop < MAX_FIELDS)
			str_copy(ri[n].prop[ri[n].nprop++], 256, tok);
		n++;
	}
	buf_free(&b);
	return n;
}

/* Same resinfos, each expected property present in ours. */
static bool ar_match(const char *ours, const char *want)
{
	struct resinfo a[MAX_ITEMS], b[MAX_ITEMS];
	size_t na = parse_ar(ours, a, MAX_ITEMS), nb = parse_ar(want, b, MAX_ITEMS);

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i].method, b[i].method) != 0)
			return false;
		for (size_t j = 0; j < b[i].nprop; j++) {
			bool found = false;

			for (size_t k = 0; k < a[i].nprop; k++)
				found |= strcmp(a[i].prop[k], b[i].prop[j]) == 0;
			if (!found)
				return false;
		}
	}
	return true;
}

static const struct dmarc_verdict *evaluate(const struct kase *k,
					    struct dmarc_eval **e_r)
{
	struct dmarc_dkim dkim[MAX_ITEMS];
	struct dmarc_input in = { .from = &k->from, .spf = SPF_NONE,
		.dkim = dkim, .ndkim = k->ndkim };
	char *rr[MAX_ITEMS];
	struct dnsq q;
	struct dnsq_answer a;

	for (size_t i = 0; i < k->ndkim; i++)
		dkim[i] = (struct dmarc_dkim){ k->dkim[i].a,
			strcmp(k->dkim[i].b, "pass") == 0 };
	*e_r = dmarc_eval_new(&in);
	while (dmarc_eval_step(*e_r, &q) == DMARC_NEED_DNS) {
		a = zone_answer(k, &q, rr);
		dmarc_eval_answer(*e_r, &a);
	}
	return dmarc_eval_verdict(*e_r);
}

static void run_case(struct kase *k)
{
	struct authres *ar = authres_new(k->authserv);
	struct dmarc_eval *e = NULL;
	const struct dmarc_verdict *v = NULL;
	struct buf out = BUF_INIT, i_tag = BUF_INIT;
	bool ok = !k->from_error;

	for (size_t i = 0; i < k->ndkim; i++) {
		buf_reset(&i_tag);
		buf_printf(&i_tag, "@%s", k->dkim[i].a);
		authres_add_dkim(ar, &(struct authres_dkim){ .result = k->dkim[i].b,
			.d = k->dkim[i].a, .i = buf_cstr(&i_tag) });
	}
	if (strstr(k->checks, "dmarc") != NULL) {
		v = evaluate(k, &e);
		authres_add_dmarc(ar, v);
		if (k->want_result != NULL)
			ok &= strcmp(dmarc_result_name(v->result), k->want_result) == 0;
		if (k->want_policy != NULL && strcmp(k->want_policy, "-") != 0)
			ok &= strcmp(dmarc_policy_name(v->policy), k->want_policy) == 0;
	}
	authres_format(ar, &out);
	ok &= ar_match(buf_cstr(&out), k->want_ar);
	if (!ok)
		printf("FAIL case %s:\n  got  %s  want %s\n  (%s)\n", k->name,
		       buf_cstr(&out), k->want_ar, v && v->reason ? v->reason : "");
	tally(&c_case, ok);
	dmarc_eval_free(e);
	authres_free(ar);
	buf_free(&out);
	buf_free(&i_tag);
}

static void item_add(struct item *items, size_t *n, char *a, char *b)
{
	if (*n == MAX_ITEMS)
		return;
	items[*n].a = xstrdup(unescape(a, NULL));
	items[*n].b = b != NULL ? xstrdup(unescape(b, NULL)) : NULL;
	(*n)++;
}

static void case_free(struct kase *k)
{
	struct item *lists[] = { k->dkim, k->txt, k->exists };
	size_t counts[] = { k->ndkim, k->ntxt, k->nexists };

	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			free(lists[l][i].a);
			free(lists[l][i].b);
		}
	}
	free(k->want_result);
	free(k->want_policy);
	free(k->want_ar);
	memset(k, 0, sizeof(*k));
}

/* One line inside a case block. */
static void case_line(struct kase *k, char **f, size_t n)
{
	const char *error;
	size_t len;

	if (strcmp(f[0], "from") == 0 && n >= 2) {
		char *v = unescape(f[1], &len);

		k->from_error |= dmarc_from_parse(v, len, &k->from, &error) < 0;
	} else if (strcmp(f[0], "dkim") == 0 && n >= 3) {
		item_add(k->dkim, &k->ndkim, f[1], f[2]);
	} else if (strcmp(f[0], "txt") == 0 && n >= 3) {
		item_add(k->txt, &k->ntxt, f[1], f[2]);
	} else if (strcmp(f[0], "exists") == 0 && n >= 2) {
		item_add(k->exists, &k->nexists, f[1], NULL);
	} else if (strcmp(f[0], "expect") == 0 && n >= 3) {
		k->want_result = xstrdup(f[1]);
		k->want_policy = xstrdup(f[2]);
	} else if (strcmp(f[0], "ar") == 0 && n >= 2) {
		k->want_ar = xstrdup(unescape(f[1], NULL));
	} else if (strcmp(f[0], "end") == 0) {
		run_case(k);
		case_free(k);
	}
}

static void report(const char *what, const struct counts *c)
{
	printf("%s: %u/%u\n", what, c->ok, c->run);
}

int main(int argc, char **argv)
{
	static struct kase k;
	char line[8192], *f[MAX_FIELDS];
	FILE *fp;
	size_t n;

	if (argc != 2 || (fp = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "usage: dmarc_suite FILE\n");
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((n = split(line, f)) == 0)
			continue;
		if (strcmp(f[0], "psl") == 0 && n == 3)
			run_psl(f);
		else if (strcmp(f[0], "record") == 0 && n == 4)
			run_record(f);
		else if (strcmp(f[0], "align") == 0 && n == 5)
			run_align(f);
		else if (strcmp(f[0], "case") == 0 && n == 4) {
			str_copy(k.name, sizeof(k.name), unescape(f[1], NULL));
			str_copy(k.authserv, sizeof(k.authserv), unescape(f[2], NULL));
			str_copy(k.checks, sizeof(k.checks), f[3]);
		} else
			case_line(&k, f, n);
	}
	fclose(fp);
	report("public suffix list (test_psl.txt)", &c_psl);
	report("OpenDMARC record parse (RFC 7489 expectations)", &c_record);
	report("  same outcome as OpenDMARC itself", &c_upstream);
	report("OpenDMARC alignment", &c_align);
	report("authheaders end-to-end cases", &c_case);
	return c_psl.ok == c_psl.run && c_record.ok == c_record.run &&
	       c_align.ok == c_align.run && c_case.ok == c_case.run &&
	       c_case.run > 0 && c_psl.run > 0 ? 0 : 1;
}
