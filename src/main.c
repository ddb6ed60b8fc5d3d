/* mailkeep: subcommand dispatch (DESIGN §1, §9).
 *
 *   mailkeep [-c FILE] COMMAND ...
 *
 * `serve` executes mailkeep-main, which starts one program per process
 * role, mailkeep-smtp and so on (see src/daemon/exe.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/conf/config.h"
#include "daemon/exe.h"

struct command {
	const char *name;
	int (*run)(const char *config, int argc, char **argv);
	const char *usage;
};

static int usage(FILE *out);

static int cmd_serve(const char *config, int argc, char **argv)
{
	char *args[] = { "-c", (char *)config, NULL };
	const char *why;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: mailkeep serve\n");
		return 2;
	}
	exe_run("main", args, &why);
	fprintf(stderr, "mailkeep: cannot run mailkeep-main: %s\n", why);
	return 1;
}

static int cmd_config(const char *config, int argc, char **argv)
{
	struct config cfg;
	struct buf err = BUF_INIT;

	if (argc == 2 && strcmp(argv[1], "check") == 0) {
		if (config_load(&cfg, config, &err) < 0) {
			fprintf(stderr, "%s\n", buf_cstr(&err));
			buf_free(&err);
			return 1;
		}
		printf("%s: ok\n", config);
		config_free(&cfg);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "options") == 0) {
		for (size_t i = 0; i < config_option_count(); i++) {
			const struct config_option_info *o = config_option(i);
			printf("%s%s%s\t%s\t%s\t%s\n", *o->section ? o->section : "",
			       *o->section ? "." : "", o->key, o->type,
			       o->def ? (*o->def ? o->def : "\"\"") : "(required)",
			       o->doc);
		}
		return 0;
	}
	fprintf(stderr, "usage: mailkeep config check|options\n");
	return 2;
}

static int cmd_version(const char *config, int argc, char **argv)
{
	(void)config; (void)argc; (void)argv;
	printf("mailkeep %s\n", MAILKEEP_VERSION);
	return 0;
}

static int cmd_help(const char *config, int argc, char **argv)
{
	(void)config; (void)argc; (void)argv;
	return usage(stdout);
}

static const struct command commands[] = {
	{ "serve", cmd_serve, "run the mail server (foreground, logs to stderr)" },
	{ "config", cmd_config, "check | options: validate the configuration, list options" },
	{ "user", cli_user, "add|del|passwd|check ADDRESS, list, import FILE: mail accounts" },
	{ "alias", cli_alias, "add|del|list ALIAS [TARGET...]: aliases, @domain catch-alls" },
	{ "domain", cli_domain, "add|del|list DOMAIN: mail domains added at run time" },
	{ "dkim", cli_dkim, "genkey|del DOMAIN SELECTOR, list: DKIM signing keys" },
	{ "analyze", cli_analyze, "[FILE] [--ip ADDR] [--helo NAME] [--mail-from ADDR]: SPF/DKIM/DMARC verdicts" },
	{ "quickstart", cli_quickstart, "ADDRESS [--hostname H] [--ip ADDR]...: config, account, keys, DNS records" },
	{ "dns", cli_dns, "records [DOMAIN] | check [DOMAIN] [--json]: DNS records to publish, live check" },
	{ "check", cli_check, "[DOMAIN] [--json]: same as dns check" },
	{ "sendmail", cli_sendmail, "[-t] [-i] [-f SENDER] [-F NAME] [RCPT...]: submit a message from stdin" },
	{ "queue", cli_queue, "list [--json] | show ID | flush | delete|hold|release ID...: the mail queue" },
	{ "reindex", cli_reindex, "ADDRESS... | --all: rebuild accounts' mail indexes from their files (server stopped)" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "this text" },
};

static int usage(FILE *out)
{
	fprintf(out, "usage: mailkeep [-c FILE] COMMAND [ARGS...]\n\n"
		"The configuration file is FILE, else $MAILKEEP_CONFIG, else\n"
		"/etc/mailkeep/mailkeep.conf.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].usage);
	return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *config = config_default_path();
	int i = 1;

	/* argv[0] compatibility: /usr/sbin/sendmail -> mailkeep */
	if (argc > 0 && strcmp(strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
			       argv[0], "sendmail") == 0)
		return cli_sendmail(config, argc, argv);
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		config = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage(stderr);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(commands[k].name, argv[i]) == 0)
			return commands[k].run(config, argc - i, argv + i);
	fprintf(stderr, "mailkeep: unknown command '%s'\n", argv[i]);
	return usage(stderr);
}
