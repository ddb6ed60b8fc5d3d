/* cli_quickstart: `mailkeep quickstart ADDRESS [--hostname H] [--ip ADDR]...
 * [--data-dir D] [--force]` (issue 6 §1): a fresh machine to a working
 * configuration in one command.
 *
 * It writes the configuration (-c path; an existing one only with --force,
 * and then the old file is kept as FILE.replaced-TIME), creates the data
 * directory and a self-signed certificate for the host name (OpenSSL, the
 * key 0600) to use until certbot's is configured, creates the account with
 * a generated password printed once, makes an RSA-2048 and an Ed25519 DKIM
 * key through `dkim genkey` (selectors mkYYYYMMr and mkYYYYMMe), and prints
 * the DNS records (`dns records`) and the next steps. What exists already
 * (account, DKIM keys, certificate) is kept, never replaced. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "cli/cli_dns.h"
#include "lib/netaddr.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store.h"

static const char usage_text[] =
	"quickstart ADDRESS [--hostname H] [--ip ADDR]... [--data-dir D] "
	"[--force]";

#define QS_DEFAULT_DATA_DIR "/var/lib/mailkeep"
#define QS_MAX_IPS DNSREC_MAX_ADDRS
#define QS_PASSWORD_LEN 20		/* letters and digits: ~119 bits */
#define QS_CERT_DAYS 365
#define QS_CERT_RSA_BITS 2048

struct qs_opts {
	struct buf address;		/* canonical local@domain */
	const char *domain;		/* points into address */
	char hostname[DNSQ_NAME_MAX + 1];
	struct buf data_dir;		/* absolute */
	const char *ips[QS_MAX_IPS];
	size_t nips;
	bool force;
};

/* ---- arguments ---- */

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int add_ip(struct qs_opts *o, const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1) {
		cli_fail("--ip %s is not an IP address", ip);
		return -1;
	}
	if (o->nips == QS_MAX_IPS) {
		cli_fail("at most %d --ip addresses", QS_MAX_IPS);
		return -1;
	}
	o->ips[o->nips++] = ip;
	return 0;
}

static void absolute_path(struct buf *out, const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		buf_printf(out, "%s/", cwd);
	buf_appends(out, path);
}

/* One option at argv[*i]: 0, or an exit status. */
static int parse_option(struct qs_opts *o, int argc, char **argv, int *i,
			const char **hostname)
{
	const char *v;

	if (strcmp(argv[*i], "--force") == 0)
		o->force = true;
	else if ((v = opt_value(argc, argv, i, "--hostname")) != NULL)
		*hostname = v;
	else if ((v = opt_value(argc, argv, i, "--ip")) != NULL)
		return add_ip(o, v) < 0 ? CLI_EXIT_USAGE : 0;
	else if ((v = opt_value(argc, argv, i, "--data-dir")) != NULL && *v)
		absolute_path(&o->data_dir, v);
	else
		return cli_usage(usage_text);
	return 0;
}

static int parse_args(struct qs_opts *o, int argc, char **argv)
{
	const char *address = NULL, *hostname = NULL, *error = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' && address == NULL)
			address = argv[i];
		else if ((rc = parse_option(o, argc, argv, &i, &hostname)) != 0)
			return rc;
	}
	if (address == NULL)
		return cli_usage(usage_text);
	if (userdb_address_normalize(address, &o->address, &error) < 0)
		return cli_fail("invalid address '%s': %s", address, error);
	o->domain = strrchr(o->address.ptr, '@') + 1;
	if (!netaddr_hostname_valid(o->domain))
		return cli_fail("'%s' is not a valid mail domain", o->domain);
	if (hostname == NULL)
		snprintf(o->hostname, sizeof(o->hostname), "mail.%s", o->domain);
	else if (str_copy(o->hostname, sizeof(o->hostname), hostname) < 0 ||
		 !netaddr_hostname_valid(hostname))
		return cli_fail("--hostname '%s' is not a valid host name", hostname);
	str_lower(o->hostname);
	if (o->data_dir.len == 0)
		buf_appends(&o->data_dir, QS_DEFAULT_DATA_DIR);
	return 0;
}

/* ---- files ---- */

/* Create path (not there before) with mode and contents, synced. */
static int write_new(const char *path, mode_t mode, const struct buf *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      mode), rc = 0;

	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || buf_write_fd(fd, text->ptr, text->len) < 0 ||
	    fsync(fd) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc < 0)
		unlink(path);
	return rc;
}

/* mkdir -p the parent directories of path (mode 0755). */
static void make_parents(const char *path)
{
	struct buf p = BUF_INIT;

	buf_appends(&p, path);
	for (size_t i = 1; i < p.len; i++) {
		if (p.ptr[i] != '/')
			continue;
		p.ptr[i] = '\0';
		mkdir(p.ptr, 0755);
		p.ptr[i] = '/';
	}
	buf_free(&p);
}

/* ---- the configuration ---- */

/* Can this machine listen on IPv6 at all? Then [::] entries are added. */
static bool have_ipv6(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void config_text(const struct qs_opts *o, const char *const *ips,
			size_t nips, struct buf *t)
{
	static const struct { const char *key; int port; } listen[] = {
		{ "smtp       ", 25 }, { "submission ", 587 },
		{ "submissions", 465 }, { "imap       ", 143 },
		{ "imaps      ", 993 },
	};
	bool v6 = have_ipv6();
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	buf_printf(t, "# mailkeep configuration, written by `mailkeep quickstart` "
		   "on %04d-%02d-%02d.\n# Every option: mailkeep.conf(5). Check it "
		   "with `mailkeep config check`,\n# the DNS with `mailkeep dns "
		   "check`.\nhostname = %s\ndomains  = %s\ndata_dir = %s\n\n[tls]\n"
		   "# A self-signed certificate made by quickstart. Once certbot has "
		   "one:\n#   cert = /etc/letsencrypt/live/%s/fullchain.pem\n"
		   "#   key  = /etc/letsencrypt/live/%s/privkey.pem\n"
		   "cert = %s/tls/%s.crt\nkey  = %s/tls/%s.key\n\n[listen]\n",
		   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, o->hostname,
		   o->domain, o->data_dir.ptr, o->hostname, o->hostname,
		   o->data_dir.ptr, o->hostname, o->data_dir.ptr, o->hostname);
	for (size_t i = 0; i < sizeof(listen) / sizeof(listen[0]); i++) {
		buf_printf(t, "%s = 0.0.0.0:%d", listen[i].key, listen[i].port);
		if (v6)
			buf_printf(t, ", [::]:%d", listen[i].port);
		buf_appendc(t, '\n');
	}
	buf_appends(t, "# POP3 is off; to offer it:\n# pop3s = 0.0.0.0:995\n\n"
		    "[publish]\n");
	if (nips == 0)
		buf_appends(t, "# No public address found: set it here.\n"
			    "# public_addresses = 203.0.113.5\n");
	for (size_t i = 0; i < nips; i++)
		buf_printf(t, "%s%s", i ? ", " : "public_addresses = ", ips[i]);
	if (nips > 0)
		buf_appendc(t, '\n');
}

/* Move an existing config aside (--force) to FILE.replaced-TIME[.N]. */
static int move_aside(const char *path, struct buf *to)
{
	long long now = (long long)time(NULL);

	for (int i = 0; i < 100; i++) {
		buf_reset(to);
		buf_printf(to, "%s.replaced-%lld", path, now);
		if (i > 0)
			buf_printf(to, ".%d", i);
		if (renameat2(AT_FDCWD, path, AT_FDCWD, to->ptr,
			      RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static int write_config(const struct qs_opts *o, const char *path,
			const char *const *ips, size_t nips)
{
	struct buf text = BUF_INIT, old = BUF_INIT, tmp = BUF_INIT;
	int rc = -1;

	if (access(path, F_OK) == 0 && !o->force) {
		cli_fail("%s exists; use --force to replace it (the old file is "
			 "kept as %s.replaced-TIME)", path, path);
		return -1;
	}
	config_text(o, ips, nips, &text);
	make_parents(path);
	buf_printf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	if (write_new(tmp.ptr, 0644, &text) < 0)
		cli_fail("cannot write %s: %s", tmp.ptr, strerror(errno));
	else if (access(path, F_OK) == 0 && move_aside(path, &old) < 0)
		cli_fail("cannot move %s aside: %s", path, strerror(errno));
	else if (rename(tmp.ptr, path) < 0)
		cli_fail("cannot put %s in place: %s", path, strerror(errno));
	else
		rc = 0;
	if (rc < 0)
		unlink(tmp.ptr);
	else if (old.len > 0)
		printf("configuration: %s written (the old one is kept as %s)\n",
		       path, old.ptr);
	else
		printf("configuration: %s written\n", path);
	buf_free(&text);
	buf_free(&old);
	buf_free(&tmp);
	return rc;
}

/* ---- the certificate ---- */

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed server certificate for hostname (RFC 5280 profile). */
static X509 *self_signed(EVP_PKEY *pk, const char *hostname)
{
	X509 *x = X509_new();
	X509_NAME *name;
	struct buf san = BUF_INIT;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	bool ok;

	buf_printf(&san, "DNS:%s", hostname);
	ok = x != NULL && RAND_bytes(serial, sizeof(serial)) == 1;
	serial[0] &= 0x7f;	/* positive */
	ok = ok && (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	     X509_set_version(x, 2) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)QS_CERT_DAYS * 86400) != NULL &&
	     X509_set_pubkey(x, pk) == 1 && (name = X509_get_subject_name(x)) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)hostname, -1, -1,
					0) == 1 &&
	     X509_set_issuer_name(x, name) == 1 &&
	     add_ext(x, NID_subject_alt_name, san.ptr) == 0 &&
	     add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
	     add_ext(x, NID_key_usage,
		     "critical,digitalSignature,keyEncipherment") == 0 &&
	     add_ext(x, NID_ext_key_usage, "serverAuth") == 0 &&
	     X509_sign(x, pk, EVP_sha256()) > 0;
	BN_free(bn);
	buf_free(&san);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* The certificate, then the key (secret), as PEM appended to out. */
static void pem_cert(X509 *x, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		buf_append(out, p, (size_t)n);
	BIO_free(b);
}

static void pem_key(EVP_PKEY *pk, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p;
	long n;

	if (b != NULL && PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL,
						  NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		buf_append(out, p, (size_t)n);
	BIO_free(b);
}

/* DATA/tls/HOST.crt and .key, kept when both exist. */
static int make_certificate(const struct qs_opts *o)
{
	struct buf dir = BUF_INIT, crt = BUF_INIT, key = BUF_INIT;
	struct buf crt_pem = BUF_INIT, key_pem = BUF_INIT;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	int rc = -1;

	buf_printf(&dir, "%s/tls", o->data_dir.ptr);
	buf_printf(&crt, "%s/%s.crt", dir.ptr, o->hostname);
	buf_printf(&key, "%s/%s.key", dir.ptr, o->hostname);
	if (access(crt.ptr, F_OK) == 0 && access(key.ptr, F_OK) == 0) {
		printf("certificate: %s kept\n", crt.ptr);
		rc = 0;
		goto out;
	}
	if (mkdir(dir.ptr, 0700) < 0 && errno != EEXIST) {
		cli_fail("cannot create %s: %s", dir.ptr, strerror(errno));
		goto out;
	}
	pk = EVP_RSA_gen(QS_CERT_RSA_BITS);
	if (pk == NULL || (x = self_signed(pk, o->hostname)) == NULL) {
		cli_fail("cannot make a certificate for %s", o->hostname);
		goto out;
	}
	pem_cert(x, &crt_pem);
	pem_key(pk, &key_pem);
	unlink(crt.ptr);
	unlink(key.ptr);
	if (write_new(key.ptr, 0600, &key_pem) < 0 ||
	    write_new(crt.ptr, 0644, &crt_pem) < 0) {
		cli_fail("cannot write %s: %s", dir.ptr, strerror(errno));
		goto out;
	}
	printf("certificate: %s (self-signed for %s, %d days; key %s, mode 0600)\n",
	       crt.ptr, o->hostname, QS_CERT_DAYS, key.ptr);
	rc = 0;
out:
	ERR_clear_error();
	if (key_pem.len > 0)
		explicit_bzero(key_pem.ptr, key_pem.len);
	EVP_PKEY_free(pk);
	X509_free(x);
	buf_free(&dir);
	buf_free(&crt);
	buf_free(&key);
	buf_free(&crt_pem);
	buf_free(&key_pem);
	return rc;
}

/* ---- account and keys ---- */

static void random_password(char out[QS_PASSWORD_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
				       "abcdefghijkmnopqrstuvwxyz23456789";
	const unsigned n = sizeof(alphabet) - 1;	/* 57 */
	unsigned char b;
	size_t i = 0;

	while (i < QS_PASSWORD_LEN) {
		if (RAND_bytes(&b, 1) != 1)
			abort();
		if (b < 256 - 256 % n)		/* no modulo bias */
			out[i++] = alphabet[b % n];
	}
	out[i] = '\0';
}

static int make_store(struct cli_env *env, int64_t id, const char **error_r)
{
	struct store *st;
	struct buf dir = BUF_INIT;

	if (store_open(&st, env->cfg.data_dir, id, true, error_r) < 0)
		return -1;
	store_close(st);
	config_data_path(&env->cfg, "accounts", &dir);
	cli_give_away(env, dir.ptr, false);
	buf_printf(&dir, "/%lld", (long long)id);
	cli_give_away(env, dir.ptr, true);
	buf_free(&dir);
	return 0;
}

static int make_account(struct cli_env *env, const char *address)
{
	char pw[QS_PASSWORD_LEN + 1];
	const char *error = NULL;
	int64_t id;

	if (userdb_user_lookup(env->db, address, NULL) == 1) {
		printf("account: %s exists; its password is unchanged\n", address);
		return 0;
	}
	random_password(pw);
	if (userdb_user_add(env->db, address, pw, &id, &error) < 0) {
		explicit_bzero(pw, sizeof(pw));
		cli_fail("%s: %s", address, error);
		return -1;
	}
	if (make_store(env, id, &error) < 0) {
		explicit_bzero(pw, sizeof(pw));
		userdb_user_del(env->db, address, NULL, NULL);
		cli_fail("%s: cannot create the mail store: %s", address, error);
		return -1;
	}
	printf("account: %s  password: %s\n  (shown only now; change it with "
	       "`mailkeep user passwd %s`)\n", address, pw, address);
	explicit_bzero(pw, sizeof(pw));
	return 0;
}

static void count_key(void *ctx, const struct userdb_dkim_key *k)
{
	struct { const char *domain; int n; } *c = ctx;

	if (strcmp(k->domain, c->domain) == 0)
		c->n++;
}

/* `dkim genkey DOMAIN SELECTOR --type TYPE` with its record output
 * silenced (dns records prints every record at the end). */
static int genkey(const char *config_path, const char *domain,
		  const char *selector, const char *type)
{
	char *argv[] = { "dkim", "genkey", (char *)domain, (char *)selector,
			 "--type", (char *)type, NULL };
	int saved, null, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0) {
		rc = cli_fail("cannot redirect output: %s", strerror(errno));
	} else {
		rc = cli_dkim(config_path, 6, argv);
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
	}
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	if (rc == 0)
		printf("DKIM key: %s %s for %s\n", type, selector, domain);
	return rc;
}

static int make_keys(struct cli_env *env, const char *config_path,
		     const char *domain)
{
	struct { const char *domain; int n; } c = { domain, 0 };
	char rsa[32], ed[32];
	const char *error = NULL;
	time_t now = time(NULL);
	struct tm tm;

	if (userdb_dkim_list(env->db, count_key, &c, &error) < 0) {
		cli_fail("%s", error);
		return -1;
	}
	if (c.n > 0) {
		printf("DKIM keys: %s has %d already; kept (`mailkeep dkim list`)\n",
		       domain, c.n);
		return 0;
	}
	gmtime_r(&now, &tm);
	snprintf(rsa, sizeof(rsa), "mk%04d%02dr", tm.tm_year + 1900, tm.tm_mon + 1);
	snprintf(ed, sizeof(ed), "mk%04d%02de", tm.tm_year + 1900, tm.tm_mon + 1);
	return genkey(config_path, domain, rsa, "rsa") == 0 &&
	       genkey(config_path, domain, ed, "ed25519") == 0 ? 0 : -1;
}

/* ---- output ---- */

static void next_steps(const struct qs_opts *o, const char *config_path,
		       size_t nips)
{
	const char *h = o->hostname;
	int n = 1;

	printf("\nNext steps:\n");
	if (nips == 0)
		printf("  %d. No public address was found on this machine (behind "
		       "NAT?): rerun with --force --ip ADDRESS, or set [publish] "
		       "public_addresses in %s.\n", n++, config_path);
	printf("  %d. Publish the records above in the DNS zone of %s.\n", n++,
	       o->domain);
	printf("  %d. Ask your hosting provider to set the reverse DNS (PTR) of "
	       "each address to %s (the PTR lines above).\n", n++, h);
	printf("  %d. Replace the self-signed certificate: with port 80 free,\n"
	       "       certbot certonly --standalone -d %s --deploy-hook "
	       "'systemctl reload mailkeep'\n"
	       "     then in %s set\n"
	       "       cert = /etc/letsencrypt/live/%s/fullchain.pem\n"
	       "       key  = /etc/letsencrypt/live/%s/privkey.pem\n"
	       "     and run `systemctl reload mailkeep` (SIGHUP: mailkeep re-reads "
	       "them; the deploy hook does this after every renewal).\n", n++,
	       h, config_path, h, h);
	if (geteuid() == 0 && getpwnam("mailkeep") == NULL)
		printf("  %d. Create the daemon's user: useradd --system --home-dir "
		       "/nonexistent --shell /usr/sbin/nologin mailkeep\n", n++);
	printf("  %d. Start it: systemctl enable --now mailkeep (contrib/mailkeep."
	       "service), or mailkeep -c %s serve\n", n++, config_path);
	printf("  %d. Once DNS has the records: mailkeep -c %s dns check\n", n,
	       config_path);
}

/* Everything after the configuration is written. */
static int set_up(const struct qs_opts *o, const char *config_path)
{
	struct cli_env env;
	int rc = CLI_EXIT_ERROR;

	if (cli_open(&env, config_path) < 0)
		return CLI_EXIT_ERROR;
	if (make_certificate(o) == 0 && make_account(&env, o->address.ptr) == 0 &&
	    make_keys(&env, config_path, o->domain) == 0)
		rc = CLI_EXIT_OK;
	cli_close(&env);
	if (rc != CLI_EXIT_OK || cli_open(&env, config_path) < 0)
		return CLI_EXIT_ERROR;
	printf("\n");
	rc = cli_dns_print_records(&env, o->domain, stdout);
	cli_close(&env);
	return rc;
}

int cli_quickstart(const char *config_path, int argc, char **argv)
{
	struct qs_opts o;
	struct userdb_strv found = { NULL, 0 };
	const char *const *ips;
	size_t nips;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_args(&o, argc, argv)) != 0)
		goto out;
	ips = o.ips;
	nips = o.nips;
	if (nips == 0) {
		cli_probe_addresses(&found);
		ips = (const char *const *)found.v;
		nips = found.n;
	}
	rc = CLI_EXIT_ERROR;
	if (write_config(&o, config_path, ips, nips) == 0 &&
	    (rc = set_up(&o, config_path)) == CLI_EXIT_OK)
		next_steps(&o, config_path, nips);
out:
	userdb_strv_free(&found);
	buf_free(&o.address);
	buf_free(&o.data_dir);
	return rc;
}
