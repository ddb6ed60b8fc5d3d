/* cli_alias: `mailkeep alias add|del|list` (DESIGN §9). An alias is a
 * mailbox in a local domain, or "@domain" for the domain's catch-all; its
 * targets are mailboxes anywhere (remote ones are forwarded to). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/buf.h"

static const char usage_text[] =
	"alias add ALIAS TARGET... | alias del ALIAS [TARGET] | alias list";

/* Name the first unusable target before anything is written. */
static int check_targets(int n, char **targets)
{
	struct buf canon = BUF_INIT;
	const char *error = NULL;
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++)
		if (userdb_address_normalize(targets[i], &canon, &error) < 0)
			rc = cli_fail("invalid target '%s': %s", targets[i], error);
	buf_free(&canon);
	return rc == 0 ? 0 : -1;
}

/* An alias on an account replaces its mailbox unless it names itself. */
static void note_shadowed_account(struct cli_env *env, const char *alias,
				  int n, char **targets)
{
	struct buf a = BUF_INIT, t = BUF_INIT;
	bool self = false;

	if (alias[0] == '@' || userdb_address_normalize(alias, &a, NULL) < 0 ||
	    userdb_user_lookup(env->db, a.ptr, NULL) != 1)
		goto out;
	for (int i = 0; i < n && !self; i++)
		self = userdb_address_normalize(targets[i], &t, NULL) == 0 &&
			strcmp(t.ptr, a.ptr) == 0;
	if (!self)
		fprintf(stderr, "mailkeep: note: %s is an account; its mail now "
			"goes only to the alias targets (add %s as a target to "
			"keep a copy)\n", a.ptr, a.ptr);
out:
	buf_free(&a);
	buf_free(&t);
}

static int alias_add(struct cli_env *env, int argc, char **argv)
{
	const char *error = NULL;

	if (check_targets(argc - 1, argv + 1) < 0)
		return CLI_EXIT_ERROR;
	if (userdb_alias_add(env->db, argv[0], (const char *const *)(argv + 1),
			     (size_t)(argc - 1), &error) < 0)
		return cli_fail("%s: %s", argv[0], error);
	note_shadowed_account(env, argv[0], argc - 1, argv + 1);
	return CLI_EXIT_OK;
}

static int alias_del(struct cli_env *env, int argc, char **argv)
{
	const char *error = NULL;

	if (userdb_alias_del(env->db, argv[0], argc > 1 ? argv[1] : NULL,
			     &error) < 0)
		return cli_fail("%s: %s", argv[0], error);
	return CLI_EXIT_OK;
}

/* Rows arrive sorted by alias: print "alias: t1, t2" per alias. */
struct alias_printer {
	struct buf alias;
	bool open;
};

static void print_alias(void *ctx, const char *alias, const char *target)
{
	struct alias_printer *p = ctx;

	if (p->open && strcmp(buf_cstr(&p->alias), alias) == 0) {
		printf(", %s", target);
		return;
	}
	if (p->open)
		putchar('\n');
	buf_reset(&p->alias);
	buf_appends(&p->alias, alias);
	p->open = true;
	printf("%s: %s", alias, target);
}

static int alias_list(struct cli_env *env, int argc, char **argv)
{
	struct alias_printer p = { BUF_INIT, false };
	const char *error = NULL;
	int rc;

	(void)argc;
	(void)argv;
	rc = userdb_alias_list(env->db, print_alias, &p, &error);
	if (p.open)
		putchar('\n');
	buf_free(&p.alias);
	return rc < 0 ? cli_fail("%s", error) : CLI_EXIT_OK;
}

static const struct cli_cmd alias_cmds[] = {
	{ "add", 2, INT_MAX, alias_add },
	{ "del", 1, 2, alias_del },
	{ "list", 0, 0, alias_list },
};

int cli_alias(const char *config_path, int argc, char **argv)
{
	return cli_dispatch(config_path, alias_cmds,
			    sizeof(alias_cmds) / sizeof(alias_cmds[0]),
			    usage_text, argc, argv);
}
