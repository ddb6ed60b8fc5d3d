/* cli: the administrative subcommands (DESIGN §9) and what they share:
 * opening the configuration and the user database, reading a password,
 * giving created files to the daemon's user.
 *
 *   mailkeep [-c FILE] user add|del|passwd|list ...
 *   mailkeep [-c FILE] alias add|del|list ...
 *   mailkeep [-c FILE] domain add|del|list ...
 *   mailkeep [-c FILE] dkim genkey|list|del ...
 *   mailkeep [-c FILE] analyze [FILE] [--ip ADDR] ...
 *   mailkeep [-c FILE] dns records|check ...,  check (= dns check)
 *   mailkeep [-c FILE] quickstart ADDRESS ...
 *   mailkeep [-c FILE] sendmail [-t] [-i] [-f SENDER] ... (also as `sendmail`)
 *   mailkeep [-c FILE] queue list|show|flush|delete|hold|release ...
 *   mailkeep [-c FILE] reindex ADDRESS... | --all
 *
 * Each entry point takes argv[0] = the command name and returns the exit
 * status: 0 ok, 1 error ("mailkeep: reason" on stderr), 2 usage error. */
#ifndef MK_CLI_H
#define MK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "auth/userdb.h"
#include "daemon/conf/config.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2

/* Room for a password of USERDB_PASSWORD_MAX bytes and its terminator. */
#define CLI_PASSWORD_SIZE (USERDB_PASSWORD_MAX + 1)

int cli_user(const char *config_path, int argc, char **argv);
int cli_alias(const char *config_path, int argc, char **argv);
int cli_domain(const char *config_path, int argc, char **argv);
int cli_dkim(const char *config_path, int argc, char **argv);
int cli_analyze(const char *config_path, int argc, char **argv);
int cli_dns(const char *config_path, int argc, char **argv);
int cli_check(const char *config_path, int argc, char **argv);
int cli_quickstart(const char *config_path, int argc, char **argv);
/* sendmail(1) compatibility; exits with sysexits.h codes (cli_sendmail.c). */
int cli_sendmail(const char *config_path, int argc, char **argv);
/* Talks to the running daemon; exit 75 when it cannot be reached. */
int cli_queue(const char *config_path, int argc, char **argv);
/* Refuses while the daemon runs (cli_reindex.c). */
int cli_reindex(const char *config_path, int argc, char **argv);

/* What a subcommand works on, from cli_open to cli_close. */
struct cli_env {
	struct config cfg;
	struct userdb *db;
	bool give_away;		/* running as root and cfg.user exists */
	uid_t uid;		/* ... then created files go to this user */
	gid_t gid;
};

/* One subcommand: `mailkeep COMMAND name ARGS...` with min..max ARGS. */
struct cli_cmd {
	const char *name;
	int min_args, max_args;
	int (*run)(struct cli_env *env, int argc, char **argv);
};

/* Find argv[1] in cmds, check the argument count (else usage, exit 2),
 * open the environment and run it with the arguments after the name. */
int cli_dispatch(const char *config_path, const struct cli_cmd *cmds,
		 size_t ncmds, const char *usage, int argc, char **argv);
/* Load the configuration, create DATA if missing, open DATA/mailkeep.db.
 * On failure prints the reason and returns -1. */
int cli_open(struct cli_env *env, const char *config_path);
void cli_close(struct cli_env *env);
/* Print "mailkeep: ..." on stderr; returns CLI_EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "usage: mailkeep ..." on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const char *usage);
/* Read a password into pw[size]: the first line of stdin when stdin is not
 * a terminal (newline stripped), else prompted for twice with echo off.
 * The caller wipes pw with explicit_bzero. */
int cli_read_password(char *pw, size_t size, const char **error_r);
/* When give_away: hand path (and, if recursive, all below it, never
 * following symlinks) to the daemon's user. Failures are reported. */
void cli_give_away(const struct cli_env *env, const char *path, bool recursive);
/* DATA/mailkeep.db and its -wal/-shm files to the daemon's user. */
void cli_give_away_db(const struct cli_env *env);

#endif
