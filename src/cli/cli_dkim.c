/* cli_dkim: `mailkeep dkim genkey|list|del` (issue 4 §2, DESIGN §9).
 *
 * genkey makes a signing key (RSA, default 2048 bits, or Ed25519 of
 * RFC 8463) for a local domain, writes it as DATA/dkim/DOMAIN/SELECTOR.key
 * (PKCS#8 PEM, mode 0600, directories 0700, owned by the daemon's user
 * when run as root), records it in mailkeep.db and prints the TXT record
 * to publish as zone-file text, in character-strings of at most 255
 * octets (RFC 1035 §3.3). Keys are never silently destroyed: --force moves
 * the old file aside to SELECTOR.key.replaced-TIME, `dkim del` to
 * SELECTOR.key.deleted-TIME. Files are created relative to directory
 * descriptors opened without following symlinks, so a planted link in
 * DATA/dkim cannot redirect a write made as root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "mailauth/dkim.h"

static const char usage_text[] =
	"dkim genkey DOMAIN SELECTOR [--type rsa|ed25519] [--bits N] [--force]"
	" | dkim list | dkim del DOMAIN SELECTOR";

#define DKIM_DIR "dkim"			/* under DATA */
#define DKIM_DEFAULT_RSA_BITS 2048u

struct genkey_opts {
	char domain[DNSQ_NAME_MAX + 1];
	char selector[USERDB_DKIM_SELECTOR_MAX + 1];
	enum dkim_keytype type;
	unsigned bits;
	bool force;
};

/* ---- names and options ---- */

/* Lower-cased LDH labels joined by dots (RFC 6376 §3.1 selectors, RFC 1035
 * host names): the only names that may become path components here. */
static int name_copy(char *out, size_t size, const char *in)
{
	size_t len = strlen(in);

	if (len == 0 || len >= size || in[0] == '.' || in[0] == '-' ||
	    in[len - 1] == '.' || in[len - 1] == '-' || strstr(in, "..") ||
	    strstr(in, "-.") || strstr(in, ".-"))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return -1;
	}
	if (str_copy(out, size, in) < 0)
		return -1;
	str_lower(out);
	return 0;
}

/* "--opt VALUE" or "--opt=VALUE": the value, advancing *i; NULL if absent. */
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

/* A bad option value: say why; a usage error. */
static int bad_value(const char *why)
{
	cli_fail("%s", why);
	return CLI_EXIT_USAGE;
}

/* One option at argv[*i]: 0, or the exit status of a usage error. */
static int parse_option(struct genkey_opts *o, int argc, char **argv, int *i,
			bool *bits_given)
{
	const char *v;
	uint64_t n;

	if (strcmp(argv[*i], "--force") == 0) {
		o->force = true;
	} else if ((v = opt_value(argc, argv, i, "--type")) != NULL) {
		if (strcmp(v, "rsa") != 0 && strcmp(v, "ed25519") != 0)
			return bad_value("--type must be rsa or ed25519");
		o->type = strcmp(v, "rsa") == 0 ? DKIM_KEY_RSA : DKIM_KEY_ED25519;
	} else if ((v = opt_value(argc, argv, i, "--bits")) != NULL) {
		/* RFC 8301 §3.2: at least 1024; verifiers stop at 8192 */
		if (str_to_u64(v, &n) < 0 || n < DKIM_RSA_MIN_BITS ||
		    n > DKIM_RSA_MAX_BITS)
			return bad_value("--bits must be 1024 to 8192");
		o->bits = (unsigned)n;
		*bits_given = true;
	} else {
		return cli_usage(usage_text);
	}
	return 0;
}

/* 0, or the exit status of a usage error or an invalid name. */
static int parse_genkey(struct genkey_opts *o, int argc, char **argv)
{
	const char *pos[2];
	int npos = 0, rc;
	bool bits_given = false;

	memset(o, 0, sizeof(*o));
	o->type = DKIM_KEY_RSA;
	o->bits = DKIM_DEFAULT_RSA_BITS;
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] != '-' && npos < 2)
			pos[npos++] = argv[i];
		else if ((rc = parse_option(o, argc, argv, &i, &bits_given)) != 0)
			return rc;
	}
	if (npos != 2)
		return cli_usage(usage_text);
	if (bits_given && o->type == DKIM_KEY_ED25519)
		return bad_value("--bits applies to RSA keys only");
	if (name_copy(o->domain, sizeof(o->domain), pos[0]) < 0)
		return cli_fail("invalid domain '%s'", pos[0]);
	if (name_copy(o->selector, sizeof(o->selector), pos[1]) < 0)
		return cli_fail("invalid selector '%s' (letters, digits, '-' and "
				"'.', at most %d characters)", pos[1],
				USERDB_DKIM_SELECTOR_MAX);
	return 0;
}

/* ---- files ---- */

/* Open (creating with mode 0700, given to the daemon's user) directory
 * name below dirfd without following a symlink. -1 with errno. */
static int open_dir(const struct cli_env *env, int dirfd, const char *name)
{
	bool made = mkdirat(dirfd, name, 0700) == 0;
	int fd;

	if (!made && errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && made) {
		fchmod(fd, 0700);
		if (env->give_away && fchown(fd, env->uid, env->gid) < 0)
			cli_fail("cannot give %s to the daemon user: %s", name,
				 strerror(errno));
	}
	return fd;
}

/* DATA/dkim/DOMAIN as a directory descriptor, or -1 after saying why. */
static int domain_dir(const struct cli_env *env, const char *domain)
{
	int data, top = -1, dom = -1;

	data = open(env->cfg.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data >= 0)
		top = open_dir(env, data, DKIM_DIR);
	if (top >= 0)
		dom = open_dir(env, top, domain);
	if (dom < 0)
		cli_fail("cannot make %s/%s/%s: %s", env->cfg.data_dir, DKIM_DIR,
			 domain, strerror(errno));
	if (data >= 0)
		close(data);
	if (top >= 0)
		close(top);
	return dom;
}

/* Write the secret to a new file tmp in dir: mode 0600, synced. */
static int write_key(const struct cli_env *env, int dir, const char *tmp,
		     const struct buf *pem)
{
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) < 0 || buf_write_fd(fd, pem->ptr, pem->len) < 0 ||
	    (env->give_away && fchown(fd, env->uid, env->gid) < 0) ||
	    fsync(fd) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc < 0) {
		int e = errno;
		unlinkat(dir, tmp, 0);
		errno = e;
	}
	return rc;
}

#define ASIDE_TRIES 100	/* name.WHAT-TIME, then .WHAT-TIME.1 ... */

/* Rename name (relative to dir) to name.WHAT-TIME without replacing an
 * older one of the same second; *moved_r says if there was a file. */
static int move_aside(int dir, const char *name, const char *what,
		      struct buf *to, bool *moved_r)
{
	long long now = (long long)time(NULL);

	*moved_r = false;
	for (int i = 0; i < ASIDE_TRIES; i++) {
		buf_reset(to);
		buf_printf(to, "%s.%s-%lld", name, what, now);
		if (i > 0)
			buf_printf(to, ".%d", i);
		if (renameat2(dir, name, dir, to->ptr, RENAME_NOREPLACE) == 0) {
			*moved_r = true;
			return 0;
		}
		if (errno != EEXIST)
			return errno == ENOENT ? 0 : -1;
	}
	return -1;
}

/* ---- genkey ---- */

static int check_local(struct cli_env *env, const char *domain)
{
	int local = userdb_domain_is_local(env->db, domain);

	if (local < 0)
		cli_fail("cannot read the user database");
	else if (local == 0)
		cli_fail("%s is not a local domain (add it with 'mailkeep domain "
			 "add %s' or to 'domains' in the configuration)", domain,
			 domain);
	return local == 1 ? 0 : -1;
}

/* Without --force, neither a key file nor a record may exist yet. */
static int check_new(struct cli_env *env, const struct genkey_opts *o,
		     int dir, const char *file)
{
	struct buf path = BUF_INIT;
	struct stat st;
	int rc = 0;

	if (o->force)
		rc = 0;
	else if (fstatat(dir, file, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rc = cli_fail("%s/%s already has a key file %s; use --force to "
			      "replace it (the old one is kept aside)",
			      o->domain, o->selector, file);
	else if (userdb_dkim_lookup(env->db, o->domain, o->selector, &path) != 0)
		rc = cli_fail("%s already has a DKIM key with selector %s (%s); "
			      "use --force to replace it", o->domain, o->selector,
			      path.len ? path.ptr : "database unreadable");
	buf_free(&path);
	return rc == 0 ? 0 : -1;
}

/* The record as zone-file text: the tags before p=, then p= in strings
 * of at most 255 octets. */
static void print_record(const struct genkey_opts *o,
			 const struct dkim_privkey *k, const char *path)
{
	struct buf rec = BUF_INIT, txt = BUF_INIT;
	const char *p;
	char name[DNSQ_NAME_MAX + 1];

	dkim_privkey_record(k, &rec);
	p = strstr(rec.ptr, "p=");
	dkim_record_strings(rec.ptr, (size_t)(p - rec.ptr), &txt);
	buf_appendc(&txt, ' ');
	dkim_record_strings(p, strlen(p), &txt);
	if (dkim_key_name(o->selector, o->domain, name) < 0)
		str_copy(name, sizeof(name), "(name too long)");
	printf("; DKIM key %s for %s: %s %u bits in %s\n", o->selector, o->domain,
	       o->type == DKIM_KEY_RSA ? "rsa" : "ed25519",
	       dkim_privkey_bits(k), path);
	printf("%s. IN TXT ( %s )\n", name, txt.ptr);
	buf_free(&rec);
	buf_free(&txt);
}

/* Write the new key file and put it in place (old one aside). */
static int install_key(struct cli_env *env, const struct genkey_opts *o,
		       int dir, const char *file, const struct dkim_privkey *k)
{
	struct buf pem = BUF_INIT, tmp = BUF_INIT, old = BUF_INIT;
	bool moved = false;
	int rc = -1;

	dkim_privkey_pem(k, &pem);
	buf_printf(&tmp, ".%s.tmp-%ld", file, (long)getpid());
	if (write_key(env, dir, tmp.ptr, &pem) < 0)
		cli_fail("cannot write %s: %s", file, strerror(errno));
	else if (o->force && move_aside(dir, file, "replaced", &old, &moved) < 0)
		cli_fail("cannot move the old %s aside: %s", file, strerror(errno));
	else if (renameat(dir, tmp.ptr, dir, file) < 0 || fsync(dir) < 0)
		cli_fail("cannot put %s in place: %s", file, strerror(errno));
	else
		rc = 0;
	if (rc < 0)
		unlinkat(dir, tmp.ptr, 0);
	if (rc == 0 && moved)
		printf("; the old key is kept as %s\n", old.ptr);
	explicit_bzero(pem.ptr, pem.len);
	buf_free(&pem);
	buf_free(&tmp);
	buf_free(&old);
	return rc;
}

static int record_key(struct cli_env *env, const struct genkey_opts *o,
		      const struct dkim_privkey *k, const char *path)
{
	struct userdb_dkim_key row = {
		o->domain, o->selector,
		o->type == DKIM_KEY_RSA ? "rsa" : "ed25519",
		dkim_privkey_bits(k), path, 0
	};
	const char *error = NULL;

	if (userdb_dkim_add(env->db, &row, o->force, &error) == 0)
		return 0;
	cli_fail("%s: key written but not recorded: %s", path, error);
	return -1;
}

static int dkim_genkey(struct cli_env *env, int argc, char **argv)
{
	struct genkey_opts o;
	struct buf file = BUF_INIT, path = BUF_INIT;
	struct dkim_privkey *k = NULL;
	const char *error = NULL;
	int dir = -1, rc;

	if ((rc = parse_genkey(&o, argc, argv)) != 0)
		return rc;
	rc = CLI_EXIT_ERROR;
	buf_printf(&file, "%s.key", o.selector);
	buf_printf(&path, "%s/%s/%s/%s", env->cfg.data_dir, DKIM_DIR, o.domain,
		   file.ptr);
	if (check_local(env, o.domain) < 0 ||
	    (dir = domain_dir(env, o.domain)) < 0 ||
	    check_new(env, &o, dir, file.ptr) < 0)
		goto out;
	k = dkim_privkey_generate(o.type, o.bits, &error);
	if (k == NULL)
		cli_fail("cannot generate the key: %s", error);
	else if (install_key(env, &o, dir, file.ptr, k) == 0 &&
		 record_key(env, &o, k, path.ptr) == 0) {
		print_record(&o, k, path.ptr);
		rc = CLI_EXIT_OK;
	}
out:
	if (dir >= 0)
		close(dir);
	dkim_privkey_free(k);
	buf_free(&file);
	buf_free(&path);
	return rc;
}

/* ---- list, del ---- */

/* DOMAIN SELECTOR TYPE BITS FILE, tab-separated; "missing" after a
 * file that is gone. */
static void print_key(void *ctx, const struct userdb_dkim_key *k)
{
	(void)ctx;
	printf("%s\t%s\t%s\t%u\t%s%s\n", k->domain, k->selector, k->type,
	       k->bits, k->path, access(k->path, F_OK) == 0 ? "" : "\tmissing");
}

static int dkim_list(struct cli_env *env, int argc, char **argv)
{
	const char *error = NULL;

	(void)argc;
	(void)argv;
	if (userdb_dkim_list(env->db, print_key, NULL, &error) < 0)
		return cli_fail("%s", error);
	return CLI_EXIT_OK;
}

static int dkim_del(struct cli_env *env, int argc, char **argv)
{
	struct buf path = BUF_INIT, to = BUF_INIT;
	char d[DNSQ_NAME_MAX + 1], s[USERDB_DKIM_SELECTOR_MAX + 1];
	const char *error = NULL;
	bool moved = false;
	int rc = CLI_EXIT_ERROR;

	(void)argc;
	if (name_copy(d, sizeof(d), argv[0]) < 0 ||
	    name_copy(s, sizeof(s), argv[1]) < 0 ||
	    userdb_dkim_lookup(env->db, d, s, &path) != 1) {
		rc = cli_fail("%s: no DKIM key with selector %s", argv[0], argv[1]);
		goto out;
	}
	if (move_aside(AT_FDCWD, path.ptr, "deleted", &to, &moved) < 0) {
		rc = cli_fail("cannot move %s aside: %s; key kept", path.ptr,
			      strerror(errno));
	} else if (userdb_dkim_del(env->db, d, s, &error) < 0) {
		if (moved && rename(to.ptr, path.ptr) < 0)
			cli_fail("cannot move %s back: %s", to.ptr, strerror(errno));
		rc = cli_fail("%s: %s", d, error);
	} else {
		printf("deleted DKIM key %s of %s; %s%s\nremove its TXT record "
		       "%s._domainkey.%s from DNS once no mail signed with it is "
		       "in transit\n", s, d,
		       moved ? "the key file is kept as " : "it had no key file",
		       moved ? to.ptr : "", s, d);
		rc = CLI_EXIT_OK;
	}
out:
	buf_free(&path);
	buf_free(&to);
	return rc;
}

static const struct cli_cmd dkim_cmds[] = {
	{ "genkey", 2, 7, dkim_genkey },
	{ "list", 0, 0, dkim_list },
	{ "del", 2, 2, dkim_del },
};

int cli_dkim(const char *config_path, int argc, char **argv)
{
	return cli_dispatch(config_path, dkim_cmds,
			    sizeof(dkim_cmds) / sizeof(dkim_cmds[0]), usage_text,
			    argc, argv);
}
