/* cli_domain: `mailkeep domain add|del|list` (DESIGN §9). Domains added
 * here are local at once (the daemon reads the table on every lookup);
 * the configuration's `domains` are always local and listed as such. */
#include <stdio.h>

#include "cli/cli.h"

static const char usage_text[] =
	"domain add DOMAIN | domain del DOMAIN | domain list";

static int domain_add(struct cli_env *env, int argc, char **argv)
{
	const char *error = NULL;

	(void)argc;
	if (userdb_domain_add(env->db, argv[0], &error) < 0)
		return cli_fail("%s: %s", argv[0], error);
	return CLI_EXIT_OK;
}

static int domain_del(struct cli_env *env, int argc, char **argv)
{
	const char *error = NULL;

	(void)argc;
	if (userdb_domain_del(env->db, argv[0], &error) < 0)
		return cli_fail("%s: %s", argv[0], error);
	return CLI_EXIT_OK;
}

/* One domain per line, a tab, and where it comes from. */
static int domain_list(struct cli_env *env, int argc, char **argv)
{
	struct userdb_strv list;
	const char *error = NULL;

	(void)argc;
	(void)argv;
	if (userdb_domain_list(env->db, &list, &error) < 0)
		return cli_fail("%s", error);
	for (size_t i = 0; i < env->cfg.domains.n; i++)
		printf("%s\tconfig\n", env->cfg.domains.v[i]);
	for (size_t i = 0; i < list.n; i++)
		printf("%s\tdatabase\n", list.v[i]);
	userdb_strv_free(&list);
	return CLI_EXIT_OK;
}

static const struct cli_cmd domain_cmds[] = {
	{ "add", 1, 1, domain_add },
	{ "del", 1, 1, domain_del },
	{ "list", 0, 0, domain_list },
};

int cli_domain(const char *config_path, int argc, char **argv)
{
	return cli_dispatch(config_path, domain_cmds,
			    sizeof(domain_cmds) / sizeof(domain_cmds[0]),
			    usage_text, argc, argv);
}
