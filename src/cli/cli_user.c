/* cli_user: `mailkeep user add|del|passwd|list` (DESIGN §9).
 *
 * `user add` creates the account row, then its mail store
 * (DATA/accounts/<id>); `user del` moves the store aside to
 * DATA/accounts/<id>.deleted-<unix time> before removing the row, so mail
 * is never destroyed by a typo. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "store/store.h"

static const char usage_text[] =
	"user add ADDRESS | user del ADDRESS | user passwd ADDRESS | user list";

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

static const struct cli_cmd user_cmds[] = {
	{ "add", 1, 1, user_add },
	{ "del", 1, 1, user_del },
	{ "passwd", 1, 1, user_passwd },
	{ "list", 0, 0, user_list },
};

int cli_user(const char *config_path, int argc, char **argv)
{
	return cli_dispatch(config_path, user_cmds,
			    sizeof(user_cmds) / sizeof(user_cmds[0]), usage_text,
			    argc, argv);
}
