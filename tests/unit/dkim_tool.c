/* dkim_tool: a command-line wrapper over the DKIM library for the interop
 * tests (tests/integration/test_dkim_interop.py); not installed.
 *
 *   dkim_tool sign DOMAIN SELECTOR:KEYFILE... [-c HDR/BODY] [-t TIME]
 *                  [-x SECONDS] [-i IDENTITY] [-H a:b] [-O a:b] < msg
 *       prints the DKIM-Signature fields, then the message
 *   dkim_tool verify KEYSFILE [-t TIME] [-b MINBITS] [-1] < msg
 *       one line per signature: "N STATUS d=D s=S a=A (REASON)";
 *       exit 0 when there are signatures and all pass
 *   dkim_tool genkey rsa|ed25519 BITS PEMFILE
 *       writes the key (mode 0600), prints the record and its strings
 *
 * KEYSFILE lines are "NAME VALUE" (one TXT record; the same name again
 * adds a record), or "NAME NXDOMAIN", "NAME ~~SERVFAIL~~",
 * "NAME ~~Query timed out~~"; "#" starts a comment. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim.h"

static void die(const char *what, const char *why)
{
	fprintf(stderr, "dkim_tool: %s: %s\n", what, why);
	exit(2);
}

static void read_fd(int fd, struct buf *out)
{
	char tmp[65536];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read", strerror(errno));
		buf_append(out, tmp, (size_t)n);
	}
}

static void read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die(path, strerror(errno));
	read_fd(fd, out);
	close(fd);
}

/* Split "a:b:c" into a NULL-terminated list (strings point into s). */
static const char **split_names(char *s)
{
	const char **v = xcalloc(strlen(s) + 2, sizeof(*v));
	size_t n = 0;

	for (char *tok = strtok(s, ":"); tok; tok = strtok(NULL, ":"))
		v[n++] = tok;
	return v;
}

/* -c HDR/BODY, -t TIME, -x SECONDS, -i IDENTITY, -H a:b, -O a:b */
static void sign_options(struct dkim_sign_params *p, int i, int argc,
			 char **argv)
{
	for (; i + 1 < argc; i += 2) {
		const char *o = argv[i], *val = argv[i + 1];

		if (strcmp(o, "-c") == 0) {
			p->header_canon = strncmp(val, "simple", 6) == 0 ?
					  DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
			val = strchr(val, '/') ? strchr(val, '/') + 1 : "simple";
			p->body_canon = strcmp(val, "simple") == 0 ?
					DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
		} else if (strcmp(o, "-t") == 0) {
			p->timestamp = atoll(val);
		} else if (strcmp(o, "-x") == 0) {
			p->expire = atoll(val);
		} else if (strcmp(o, "-i") == 0) {
			p->identity = val;
		} else if (strcmp(o, "-H") == 0) {
			p->headers = split_names(argv[i + 1]);
		} else if (strcmp(o, "-O") == 0) {
			p->oversign = split_names(argv[i + 1]);
		} else {
			die(o, "unknown option");
		}
	}
	if (i < argc)
		die(argv[i], "option without a value");
}

static int cmd_sign(int argc, char **argv)
{
	struct dkim_sign_params p;
	struct dkim_sign_key keys[DKIM_SIGN_MAX_KEYS];
	struct buf msg = BUF_INIT, out = BUF_INIT;
	struct dkim_sign *s;
	const char *why;
	int i;

	dkim_sign_params_default(&p);
	p.domain = argv[2];
	p.keys = keys;
	for (i = 3; i < argc && argv[i][0] != '-'; i++) {
		struct buf key = BUF_INIT;
		char *colon = strchr(argv[i], ':');

		if (colon == NULL || p.n_keys == DKIM_SIGN_MAX_KEYS)
			die(argv[i], "want SELECTOR:KEYFILE");
		*colon = '\0';
		read_file(colon + 1, &key);
		keys[p.n_keys].selector = argv[i];
		keys[p.n_keys].key = dkim_privkey_load(key.ptr, key.len, &why);
		if (keys[p.n_keys++].key == NULL)
			die(colon + 1, why);
		xfree_secret(key.ptr, key.cap);
	}
	sign_options(&p, i, argc, argv);
	if ((s = dkim_sign_new(&p, &why)) == NULL)
		die("sign", why);
	read_fd(0, &msg);
	dkim_sign_feed(s, msg.ptr, msg.len);
	if (dkim_sign_finish(s, &out, &why) < 0)
		die("sign", why);
	fwrite(out.ptr, 1, out.len, stdout);
	fwrite(msg.ptr, 1, msg.len, stdout);
	dkim_sign_free(s);
	for (size_t k = 0; k < p.n_keys; k++)
		dkim_privkey_free((struct dkim_privkey *)keys[k].key);
	free((void *)p.headers);
	free((void *)p.oversign);
	buf_free(&msg);
	buf_free(&out);
	return 0;
}

/* The answer for name from the keys file (records are NUL-terminated). */
static void lookup(const char *keys, const char *name, struct dnsq_answer *a,
		   struct buf *store)
{
	size_t nlen = strlen(name);
	const char *line = keys;

	a->rcode = DNSQ_NXDOMAIN;
	a->n = 0;
	buf_reset(store);
	for (; *line; line += strcspn(line, "\n"), line += *line == '\n') {
		const char *val = line + nlen;
		size_t vlen;

		if (!str_nieq(line, name, nlen) || (*val != ' ' && *val != '\t'))
			continue;
		val += strspn(val, " \t");
		vlen = strcspn(val, "\r\n");
		if (vlen == 7 && memcmp(val, "NXDOMAIN", 7) == 0)
			return;
		if (val[0] == '~' && val[1] == '~') {
			a->rcode = DNSQ_TEMPFAIL;
			return;
		}
		if (vlen == 2 && memcmp(val, "\"\"", 2) == 0)
			vlen = 0;
		buf_append(store, val, vlen);
		buf_appendc(store, '\0');
		a->rcode = DNSQ_OK;
		a->n++;
	}
}

static void answer(struct dkim_verify *v, size_t i, const char *keys)
{
	struct buf store = BUF_INIT;
	struct dnsq_answer a = { DNSQ_NXDOMAIN, 0, NULL, NULL, NULL };
	const struct dnsq *q = dkim_verify_query(v, i);
	char *p;

	if (q == NULL)
		return;
	lookup(keys, q->name, &a, &store);
	a.rr = xcalloc(a.n + 1, sizeof(*a.rr));
	p = store.ptr;
	for (size_t k = 0; k < a.n; k++, p += strlen(p) + 1)
		a.rr[k] = p;
	dkim_verify_key_answer(v, i, &a);
	free(a.rr);
	buf_free(&store);
}

static int cmd_verify(int argc, char **argv)
{
	struct dkim_limits lim;
	struct buf keys = BUF_INIT, msg = BUF_INIT, line = BUF_INIT;
	struct dkim_verify *v;
	bool bytewise = false, all_pass;
	long long now = -1;
	size_t n;

	dkim_limits_default(&lim);
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "-1") == 0)
			bytewise = true;
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			now = atoll(argv[++i]);
		else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			lim.rsa_min_bits = (unsigned)atoi(argv[++i]);
		else
			die(argv[i], "unknown option");
	}
	read_file(argv[2], &keys);
	read_fd(0, &msg);
	v = dkim_verify_new(&lim);
	if (now >= 0)
		dkim_verify_set_time(v, now);
	for (size_t off = 0; off < msg.len; off += bytewise ? 1 : msg.len)
		dkim_verify_feed(v, msg.ptr + off, bytewise ? 1 : msg.len);
	n = dkim_verify_end(v);
	all_pass = n > 0;
	for (size_t i = 0; i < n; i++) {
		const struct dkim_result *r;

		answer(v, i, buf_cstr(&keys));
		r = dkim_verify_result(v, i);
		buf_reset(&line);
		dkim_result_format(r, &line);
		printf("%zu %s\n", i, line.ptr);
		all_pass &= r->status == DKIM_PASS;
	}
	dkim_verify_free(v);
	buf_free(&keys);
	buf_free(&msg);
	buf_free(&line);
	return all_pass ? 0 : 1;
}

static int cmd_genkey(int argc, char **argv)
{
	struct dkim_privkey *k;
	struct buf pem = BUF_INIT, rec = BUF_INIT, txt = BUF_INIT;
	const char *why;
	int fd;

	k = dkim_privkey_generate(strcmp(argv[2], "rsa") == 0 ?
				  DKIM_KEY_RSA : DKIM_KEY_ED25519,
				  (unsigned)atoi(argv[3]), &why);
	if (k == NULL)
		die("genkey", why);
	dkim_privkey_pem(k, &pem);
	fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, pem.ptr, pem.len) != (ssize_t)pem.len ||
	    close(fd) < 0)
		die(argv[4], strerror(errno));
	dkim_privkey_record(k, &rec);
	dkim_record_strings(rec.ptr, rec.len, &txt);
	printf("%s\n%s\n", rec.ptr, txt.ptr);
	xfree_secret(pem.ptr, pem.cap);
	buf_free(&rec);
	buf_free(&txt);
	dkim_privkey_free(k);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	if (argc == 5 && strcmp(argv[1], "genkey") == 0)
		return cmd_genkey(argc, argv);
	fprintf(stderr, "usage: dkim_tool sign DOMAIN SELECTOR:KEYFILE... "
		"[options] | verify KEYSFILE [-t TIME] [-b MINBITS] [-1] | "
		"genkey rsa|ed25519 BITS PEMFILE\n");
	return 2;
}
