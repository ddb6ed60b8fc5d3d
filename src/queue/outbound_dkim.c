/* outbound_dkim: signing at send time. */
#include "queue/outbound_dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "daemon/proc.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"

/* A private key file is PEM: a few KiB at most. */
#define DKIM_KEY_FILE_MAX (64 * 1024)

static struct userdb *udb;

struct key_list {
	const char *domain;
	size_t n;
	char *selector[DKIM_SIGN_MAX_KEYS];
	char *path[DKIM_SIGN_MAX_KEYS];
};

static void collect_key(void *ctx, const struct userdb_dkim_key *k)
{
	struct key_list *l = ctx;

	if (strcmp(k->domain, l->domain) != 0 || l->n == DKIM_SIGN_MAX_KEYS)
		return;
	l->selector[l->n] = xstrdup(k->selector);
	l->path[l->n] = xstrdup(k->path);
	l->n++;
}

static void key_list_free(struct key_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->selector[i]);
		free(l->path[i]);
	}
	l->n = 0;
}

/* The header block (up to the empty line) into out. */
static int read_header(int fd, struct buf *out)
{
	char chunk[8192];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf_append(out, chunk, (size_t)n);
		if (n == 0 || strstr(buf_cstr(out), "\r\n\r\n") != NULL ||
		    strstr(buf_cstr(out), "\n\n") != NULL ||
		    out->len >= OUTBOUND_DKIM_HEADER_MAX)
			return 0;
	}
}

/* RFC 5322 §3.6.2: the domain of the (single) From: mailbox, lower case. */
static int from_domain(const struct buf *h, char domain[256])
{
	struct dmarc_from f = { 0 };
	const char *why = NULL;

	for (const char *p = buf_cstr(h); *p != '\0' && *p != '\r' && *p != '\n';) {
		const char *end = p;
		size_t len;
		/* the field with its continuation lines */
		while ((end = strchr(end, '\n')) != NULL &&
		       (end[1] == ' ' || end[1] == '\t'))
			end++;
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len >= 5 && str_nieq(p, "from:", 5) &&
		    dmarc_from_parse(p + 5, len - 5, &f, &why) < 0)
			return -1;
		p = *end != '\0' ? end + 1 : end;
	}
	if (f.n != 1)
		return -1;	/* RFC 6376 §3.5: one author to sign for */
	str_copy(domain, 256, f.domain[0]);
	return 0;
}

static struct dkim_privkey *load_key(const char *path, const char **error_r)
{
	struct buf pem = BUF_INIT;
	struct dkim_privkey *k = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || buf_read_fd(&pem, fd, DKIM_KEY_FILE_MAX) < 0)
		*error_r = "cannot read a DKIM key file";
	else
		k = dkim_privkey_load(pem.ptr, pem.len, error_r);
	if (fd >= 0)
		close(fd);
	if (pem.ptr != NULL)
		explicit_bzero(pem.ptr, pem.cap);
	buf_free(&pem);
	return k;
}

static int keys_of(const char *domain, struct key_list *l, const char **error_r)
{
	struct buf path = BUF_INIT;
	int r = 0;

	l->domain = domain;
	if (udb == NULL) {
		config_data_path(&proc_cfg, "mailkeep.db", &path);
		r = userdb_open(&udb, path.ptr, error_r);
		buf_free(&path);
		if (r < 0) {
			udb = NULL;
			return -1;
		}
	}
	return userdb_dkim_list(udb, collect_key, l, error_r);
}

static int sign_with(int fd, time_t created, const char *domain,
		     const struct key_list *l, struct buf *out,
		     const char **error_r)
{
	struct dkim_privkey *keys[DKIM_SIGN_MAX_KEYS] = { 0 };
	struct dkim_sign_key sk[DKIM_SIGN_MAX_KEYS];
	struct dkim_sign_params p;
	struct dkim_sign *s = NULL;
	char chunk[65536];
	ssize_t n;
	int r = -1;

	for (size_t i = 0; i < l->n; i++) {
		if ((keys[i] = load_key(l->path[i], error_r)) == NULL)
			goto out;
		sk[i] = (struct dkim_sign_key){ l->selector[i], keys[i] };
	}
	dkim_sign_params_default(&p);
	p.domain = domain;
	p.keys = sk;
	p.n_keys = l->n;
	p.timestamp = (long long)created;	/* deterministic: see the header */
	if ((s = dkim_sign_new(&p, error_r)) == NULL)
		goto out;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		dkim_sign_feed(s, chunk, (size_t)n);
	if (n < 0)
		*error_r = "cannot read the queue file";
	else
		r = dkim_sign_finish(s, out, error_r);
out:
	dkim_sign_free(s);
	for (size_t i = 0; i < l->n; i++)
		dkim_privkey_free(keys[i]);
	return r;
}

int outbound_dkim_sign(int fd, time_t created, struct buf *out,
		       char domain_r[256], const char **error_r)
{
	struct buf h = BUF_INIT;
	struct key_list l = { 0 };
	off_t start = lseek(fd, 0, SEEK_CUR);	/* where the message starts */
	int r = 0;

	*domain_r = '\0';
	if (start < 0) {
		*error_r = "cannot read the queue file";
		return -1;
	}
	/* only our domains have keys in mailkeep.db */
	if (read_header(fd, &h) == 0 && from_domain(&h, domain_r) == 0) {
		if (keys_of(domain_r, &l, error_r) < 0) {
			r = -1;
		} else if (l.n > 0 && lseek(fd, start, SEEK_SET) == start) {
			r = sign_with(fd, created, domain_r, &l, out, error_r);
		}
	}
	if (l.n == 0 && r == 0)
		*domain_r = '\0';
	key_list_free(&l);
	buf_free(&h);
	if (lseek(fd, start, SEEK_SET) != start && r == 0) {
		*error_r = "cannot rewind the queue file";
		r = -1;
	}
	return r;
}

void outbound_dkim_shutdown(void)
{
	userdb_close(udb);
	udb = NULL;
}
