/* cli_user: `mailkeep user add|del|passwd|list|import|check` (DESIGN §9).
 *
 * `user add` creates the account row, then its mail store
 * (DATA/accounts/<id>); `user del` moves the store aside to
 * DATA/accounts/<id>.deleted-<unix time> before removing the row, so mail
 * is never destroyed by a typo. `user import` reads a Dovecot passwd-file
 * and keeps its crypt(3) hashes; `user check` verifies a password. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "store/store.h"

static const char usage_text[] =
	"user add ADDRESS | user del ADDRESS | user passwd ADDRESS | user list |\n"
	"       user import FILE | user check ADDRESS";

#define IMPORT_LINE_MAX 8192	/* bytes of one passwd-file line */

/* The account's id: 0, or -1 after saying why not. */
static int find_account(struct cli_env *env, const char *address,
			struct buf *canon, int64_t *id)
{
	const char *error = NULL;
	int rc;

	if (userdb_address_normalize(address, canon, &error) < 0) {
		cli_fail("invalid address '%s': %s", address, error);
		return -1;
	}
	rc = userdb_user_lookup(env->db, canon->ptr, id);
	if (rc == 1)
		return 0;
	cli_fail(rc < 0 ? "%s: cannot read the user database" :
		 "%s: no such account", canon->ptr);
	return -1;
}

/* Canonical address of an account in a local domain (existing or not). */
static int local_address(struct cli_env *env, const char *address,
			 struct buf *canon)
{
	const char *error = NULL, *domain;
	int rc;

	if (userdb_address_normalize(address, canon, &error) < 0) {
		cli_fail("invalid address '%s': %s", address, error);
		return -1;
	}
	domain = strrchr(canon->ptr, '@') + 1;
	rc = userdb_domain_is_local(env->db, domain);
	if (rc < 0) {
		cli_fail("cannot read the user database");
		return -1;
	}
	if (rc == 0) {
		cli_fail("%s is not a local domain (add it with 'mailkeep domain "
			 "add %s' or to 'domains' in %s)", domain, domain,
			 env->cfg.path != NULL ? env->cfg.path : "the configuration");
		return -1;
	}
	return 0;
}

static void account_dir(const struct cli_env *env, int64_t id, struct buf *out)
{
	struct buf rel = BUF_INIT;

	buf_printf(&rel, "accounts/%" PRId64, id);
	config_data_path(&env->cfg, rel.ptr, out);
	buf_free(&rel);
}

/* Create the account's mail store and give it to the daemon's user. */
static int create_store(struct cli_env *env, int64_t id, const char **error_r)
{
	struct store *st;
	struct buf dir = BUF_INIT;

	if (store_open(&st, env->cfg.data_dir, id, true, error_r) < 0)
		return -1;
	store_close(st);
	config_data_path(&env->cfg, "accounts", &dir);
	cli_give_away(env, dir.ptr, false);
	account_dir(env, id, &dir);
	cli_give_away(env, dir.ptr, true);
	buf_free(&dir);
	return 0;
}

static int user_add(struct cli_env *env, int argc, char **argv)
{
	char pw[CLI_PASSWORD_SIZE];
	struct buf canon = BUF_INIT;
	const char *error = NULL;
	int64_t id;
	int rc = CLI_EXIT_ERROR;

	(void)argc;
	if (local_address(env, argv[0], &canon) < 0)
		goto out;
	if (userdb_user_lookup(env->db, canon.ptr, NULL) != 0) {
		cli_fail("%s: account already exists or database unreadable",
			 canon.ptr);
		goto out;
	}
	if (cli_read_password(pw, sizeof(pw), &error) < 0) {
		explicit_bzero(pw, sizeof(pw));
		cli_fail("%s", error);
		goto out;
	}
	rc = userdb_user_add(env->db, canon.ptr, pw, &id, &error);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0) {
		rc = cli_fail("%s: %s", canon.ptr, error);
	} else if (create_store(env, id, &error) < 0) {
		userdb_user_del(env->db, canon.ptr, NULL, NULL);
		rc = cli_fail("%s: cannot create the mail store: %s", canon.ptr,
			      error);
	} else {
		printf("added %s (account %" PRId64 ")\n", canon.ptr, id);
	}
out:
	buf_free(&canon);
	return rc;
}

/* Move DATA/accounts/<id> aside; *moved says whether there was one. */
static int retire_store(const struct cli_env *env, int64_t id,
			struct buf *from, struct buf *to, bool *moved)
{
	account_dir(env, id, from);
	buf_reset(to);
	buf_printf(to, "%s.deleted-%lld", from->ptr, (long long)time(NULL));
	*moved = rename(from->ptr, to->ptr) == 0;
	if (*moved || errno == ENOENT)
		return 0;
	cli_fail("cannot move %s aside: %s; account kept", from->ptr,
		 strerror(errno));
	return -1;
}

static int user_del(struct cli_env *env, int argc, char **argv)
{
	struct buf canon = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	const char *error = NULL;
	bool moved = false;
	int64_t id;
	int rc = CLI_EXIT_ERROR;

	(void)argc;
	if (find_account(env, argv[0], &canon, &id) < 0)
		rc = CLI_EXIT_ERROR;
	else if (retire_store(env, id, &from, &to, &moved) < 0)
		rc = CLI_EXIT_ERROR;
	else if (userdb_user_del(env->db, canon.ptr, NULL, &error) < 0) {
		if (moved && rename(to.ptr, from.ptr) < 0)
			cli_fail("cannot move %s back: %s", to.ptr, strerror(errno));
		rc = cli_fail("%s: %s", canon.ptr, error);
	} else {
		printf(moved ? "deleted %s; its mail is kept in %s\n" :
		       "deleted %s (it had no mail store)%s\n", canon.ptr,
		       moved ? to.ptr : "");
		rc = CLI_EXIT_OK;
	}
	buf_free(&canon);
	buf_free(&from);
	buf_free(&to);
	return rc;
}

static int user_passwd(struct cli_env *env, int argc, char **argv)
{
	char pw[CLI_PASSWORD_SIZE];
	struct buf canon = BUF_INIT;
	const char *error = NULL;
	int64_t id;
	int rc = CLI_EXIT_ERROR;

	(void)argc;
	if (find_account(env, argv[0], &canon, &id) < 0)
		goto out;
	rc = cli_read_password(pw, sizeof(pw), &error) < 0 ? -1 :
		userdb_user_passwd(env->db, canon.ptr, pw, &error);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0)
		rc = cli_fail("%s: %s", canon.ptr, error);
	else
		printf("password changed for %s\n", canon.ptr);
out:
	buf_free(&canon);
	return rc;
}

static void print_user(void *ctx, int64_t id, const char *address,
		       bool disabled)
{
	(void)ctx;
	printf("%" PRId64 "\t%s%s\n", id, address, disabled ? "\tdisabled" : "");
}

static int user_list(struct cli_env *env, int argc, char **argv)
{
	const char *error = NULL;

	(void)argc;
	(void)argv;
	if (userdb_user_list(env->db, print_user, NULL, &error) < 0)
		return cli_fail("%s", error);
	return CLI_EXIT_OK;
}

/* `user check ADDRESS`: exit 0 when the password on stdin is right. */
static int user_check(struct cli_env *env, int argc, char **argv)
{
	char pw[CLI_PASSWORD_SIZE];
	const char *error = NULL;
	int64_t id = 0;
	int rc;

	(void)argc;
	if (cli_read_password(pw, sizeof(pw), &error) < 0) {
		explicit_bzero(pw, sizeof(pw));
		return cli_fail("%s", error);
	}
	rc = userdb_user_verify(env->db, argv[0], pw, &id);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0)
		return cli_fail("cannot read the user database");
	if (rc == 0)
		return cli_fail("%s: authentication failed", argv[0]);
	printf("ok: %s (account %" PRId64 ")\n", argv[0], id);
	return CLI_EXIT_OK;
}

/* ---- user import: Dovecot passwd-file ---- */

/* Dovecot password schemes that are crypt(3) hashes, with the prefixes
 * their hashes must start with (NULL: any crypt(3) hash). PLAIN and CLEAR
 * are hashed here. */
static const struct import_scheme {
	const char *name;
	const char *prefix[3];
} import_schemes[] = {
	{ "CRYPT", { NULL } },
	{ "SHA512-CRYPT", { "$6$" } },
	{ "SHA256-CRYPT", { "$5$" } },
	{ "MD5-CRYPT", { "$1$" } },
	{ "BLF-CRYPT", { "$2a$", "$2b$", "$2y$" } },
	{ "BCRYPT", { "$2a$", "$2b$", "$2y$" } },
	{ "PLAIN", { NULL } },
	{ "CLEAR", { NULL } },
};

enum import_outcome { IMPORTED, SKIPPED, REFUSED };

struct import_line {
	char *user;
	const struct import_scheme *scheme;
	char *secret;	/* the hash, or the password for PLAIN/CLEAR */
};

static const struct import_scheme *scheme_find(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(import_schemes) / sizeof(import_schemes[0]);
	     i++)
		if (strlen(import_schemes[i].name) == n &&
		    str_nieq(import_schemes[i].name, name, n))
			return &import_schemes[i];
	return NULL;
}

static bool scheme_plain(const struct import_scheme *s)
{
	return s->prefix[0] == NULL && strcmp(s->name, "CRYPT") != 0;
}

/* Does the hash fit its scheme? */
static bool scheme_matches(const struct import_scheme *s, const char *hash)
{
	if (s->prefix[0] == NULL)
		return true;
	for (size_t i = 0; i < 3 && s->prefix[i] != NULL; i++)
		if (strncmp(hash, s->prefix[i], strlen(s->prefix[i])) == 0)
			return true;
	return false;
}

/* user:password[:uid:gid:gecos:home:shell:extra]; a password without
 * {SCHEME} is CRYPT (Dovecot's passwd-file default). */
static int import_split(char *line, struct import_line *out,
			const char **why)
{
	char *colon = strchr(line, ':'), *end;

	if (colon == NULL) {
		*why = "no password field (user@domain:{SCHEME}hash expected)";
		return -1;
	}
	*colon = '\0';
	out->user = line;
	out->secret = colon + 1;
	if ((colon = strchr(out->secret, ':')) != NULL)
		*colon = '\0';
	out->scheme = &import_schemes[0];
	if (out->secret[0] == '{') {
		end = strchr(out->secret, '}');
		out->scheme = end != NULL ? scheme_find(out->secret + 1,
					(size_t)(end - out->secret - 1)) : NULL;
		if (out->scheme == NULL) {
			*why = "unsupported password scheme (crypt(3) schemes only)";
			return -1;
		}
		out->secret = end + 1;
	}
	if (strchr(out->user, '@') == NULL) {
		*why = "user name without a domain (user@domain expected)";
		return -1;
	}
	if (out->secret[0] == '\0') {
		*why = "empty password field";
		return -1;
	}
	if (!scheme_matches(out->scheme, out->secret)) {
		*why = "the hash does not match its {SCHEME}";
		return -1;
	}
	return 0;
}

static enum import_outcome import_account(struct cli_env *env, char *line,
					  struct buf *canon, int64_t *id,
					  const char **why)
{
	struct import_line l;
	int rc;

	if (import_split(line, &l, why) < 0)
		return REFUSED;
	if (userdb_address_normalize(l.user, canon, why) < 0)
		return REFUSED;
	rc = userdb_user_lookup(env->db, canon->ptr, NULL);
	if (rc != 0) {
		*why = rc < 0 ? "cannot read the user database" : NULL;
		return rc < 0 ? REFUSED : SKIPPED;
	}
	rc = scheme_plain(l.scheme) ?
		userdb_user_add(env->db, canon->ptr, l.secret, id, why) :
		userdb_user_add_hash(env->db, canon->ptr, l.secret, id, why);
	if (rc < 0)
		return REFUSED;
	if (create_store(env, *id, why) < 0) {
		userdb_user_del(env->db, canon->ptr, NULL, NULL);
		return REFUSED;
	}
	return IMPORTED;
}

/* One line (without its newline): counted in n[] and reported. */
static void import_one(struct cli_env *env, const char *file, unsigned lineno,
		       char *line, unsigned n[3])
{
	struct buf canon = BUF_INIT;
	const char *why = NULL;
	enum import_outcome o;
	int64_t id = 0;

	o = import_account(env, line, &canon, &id, &why);
	n[o]++;
	if (o == IMPORTED)
		printf("imported %s (account %" PRId64 ")\n", canon.ptr, id);
	else if (o == SKIPPED)
		printf("skipped %s: account exists\n", canon.ptr);
	else
		fprintf(stderr, "%s:%u: %s\n", file, lineno, why);
	buf_free(&canon);
}

static void chomp(char *line, size_t *len)
{
	while (*len > 0 && (line[*len - 1] == '\n' || line[*len - 1] == '\r'))
		line[--*len] = '\0';
}

static int user_import(struct cli_env *env, int argc, char **argv)
{
	FILE *f = fopen(argv[0], "re");
	unsigned n[3] = { 0, 0, 0 }, lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;

	(void)argc;
	if (f == NULL)
		return cli_fail("%s: %s", argv[0], strerror(errno));
	while ((got = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)got;

		lineno++;
		chomp(line, &len);
		if (len > IMPORT_LINE_MAX || memchr(line, '\0', len) != NULL) {
			fprintf(stderr, "%s:%u: %s\n", argv[0], lineno,
				len > IMPORT_LINE_MAX ? "line too long" :
				"NUL byte in line");
			n[REFUSED]++;
		} else if (len > 0 && line[0] != '#') {
			import_one(env, argv[0], lineno, line, n);
		}
		explicit_bzero(line, cap);	/* hashes, maybe passwords */
	}
	free(line);
	fclose(f);
	printf("%u imported, %u skipped, %u refused\n", n[IMPORTED], n[SKIPPED],
	       n[REFUSED]);
	return n[REFUSED] > 0 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

static const struct cli_cmd user_cmds[] = {
	{ "add", 1, 1, user_add },
	{ "del", 1, 1, user_del },
	{ "passwd", 1, 1, user_passwd },
	{ "list", 0, 0, user_list },
	{ "import", 1, 1, user_import },
	{ "check", 1, 1, user_check },
};

int cli_user(const char *config_path, int argc, char **argv)
{
	return cli_dispatch(config_path, user_cmds,
			    sizeof(user_cmds) / sizeof(user_cmds[0]), usage_text,
			    argc, argv);
}
