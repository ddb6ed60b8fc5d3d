/* cli_reindex: `mailkeep reindex ADDRESS... | --all` (DESIGN §5): rebuild
 * an account's index.db from its message files. UIDs are given anew, so
 * every mailbox's UIDVALIDITY grows and IMAP clients fetch the mailbox
 * again; flags come back from the file names, keywords and the full-text
 * rows are made again. The index is swapped in only once it is complete
 * (store_reindex). The store must not be open elsewhere meanwhile, so the
 * daemon must be stopped: the command refuses while its control socket
 * answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/unixsock.h"
#include "lib/xalloc.h"
#include "store/store.h"

static const char usage_text[] = "reindex ADDRESS... | reindex --all";

/* Accounts to rebuild. */
struct accounts {
	int64_t *ids;
	char **addrs;
	size_t n;
};

static void accounts_add(struct accounts *a, int64_t id, const char *address)
{
	a->ids = xrealloc(a->ids, (a->n + 1) * sizeof(*a->ids));
	a->addrs = xrealloc(a->addrs, (a->n + 1) * sizeof(*a->addrs));
	a->ids[a->n] = id;
	a->addrs[a->n++] = xstrdup(address);
}

static void accounts_free(struct accounts *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->addrs[i]);
	free(a->ids);
	free(a->addrs);
}

static void on_user(void *ctx, int64_t id, const char *address, bool disabled)
{
	(void)disabled;	/* a disabled account keeps its mail and index */
	accounts_add(ctx, id, address);
}

/* 0 when no daemon answers on the control socket, else an exit status. */
static int daemon_stopped(const struct cli_env *env)
{
	struct buf path = BUF_INIT;
	const char *why = NULL;
	int fd;

	if (unixsock_path(env->cfg.run_dir, UNIXSOCK_CONTROL, &path, &why) < 0)
		return cli_fail("%s", why);
	fd = unixsock_connect(buf_cstr(&path), SOCK_SEQPACKET);
	if (fd >= 0) {
		close(fd);
		cli_fail("mailkeep is running (%s answers): stop it first, the "
			 "index must not be open while it is rebuilt",
			 buf_cstr(&path));
		buf_free(&path);
		return CLI_EXIT_ERROR;
	}
	buf_free(&path);
	return 0;
}

static int reindex_one(const struct cli_env *env, int64_t id, const char *address)
{
	struct buf dir = BUF_INIT;
	const char *error = NULL;

	if (store_reindex(env->cfg.data_dir, id, &error) < 0)
		return cli_fail("%s: %s", address, error);
	/* files the rebuild made (index.db, missing folders) as the daemon's */
	buf_printf(&dir, "%s/accounts/%lld", env->cfg.data_dir, (long long)id);
	cli_give_away(env, buf_cstr(&dir), true);
	buf_free(&dir);
	printf("%s: index rebuilt\n", address);
	return CLI_EXIT_OK;
}

int cli_reindex(const char *config_path, int argc, char **argv)
{
	struct cli_env env;
	struct accounts a = { NULL, NULL, 0 };
	const char *error = NULL;
	bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
	int rc = CLI_EXIT_OK;

	if (argc < 2)
		return cli_usage(usage_text);
	for (int i = 1; !all && i < argc; i++)
		if (argv[i][0] == '-')
			return cli_usage(usage_text);
	if (cli_open(&env, config_path) < 0)
		return CLI_EXIT_ERROR;
	if ((rc = daemon_stopped(&env)) != 0)
		goto out;
	if (all && userdb_user_list(env.db, on_user, &a, &error) < 0) {
		rc = cli_fail("%s", error);
		goto out;
	}
	for (int i = 1; !all && i < argc; i++) {
		int64_t id;
		int found = userdb_user_lookup(env.db, argv[i], &id);

		if (found < 0) {
			rc = cli_fail("%s: cannot read the user database", argv[i]);
			goto out;
		}
		if (found == 0) {
			rc = cli_fail("%s: no such account", argv[i]);
			goto out;
		}
		accounts_add(&a, id, argv[i]);
	}
	/* go on after a failure: one broken account must not keep the
	 * others from being rebuilt */
	for (size_t i = 0; i < a.n; i++)
		if (reindex_one(&env, a.ids[i], a.addrs[i]) != CLI_EXIT_OK)
			rc = CLI_EXIT_ERROR;
out:
	accounts_free(&a);
	cli_close(&env);
	return rc;
}
