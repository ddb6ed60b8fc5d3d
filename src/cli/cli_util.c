/* cli_util: helpers shared by the administrative subcommands (cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lib/buf.h"

int cli_fail(const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;

	buf_appends(&line, "mailkeep: ");
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", buf_cstr(&line));
	buf_free(&line);
	return CLI_EXIT_ERROR;
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "usage: mailkeep %s\n", usage);
	return CLI_EXIT_USAGE;
}

int cli_dispatch(const char *config_path, const struct cli_cmd *cmds,
		 size_t ncmds, const char *usage, int argc, char **argv)
{
	struct cli_env env;
	int rc;

	for (size_t i = 0; argc >= 2 && i < ncmds; i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if (argc - 2 < cmds[i].min_args || argc - 2 > cmds[i].max_args)
			break;
		if (cli_open(&env, config_path) < 0)
			return CLI_EXIT_ERROR;
		rc = cmds[i].run(&env, argc - 2, argv + 2);
		cli_close(&env);
		return rc;
	}
	return cli_usage(usage);
}

/* ---- ownership ---- */

static uid_t walk_uid;
static gid_t walk_gid;

static int give_one(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (lchown(path, walk_uid, walk_gid) < 0)
		cli_fail("cannot give %s to the daemon user: %s", path,
			 strerror(errno));
	return 0;
}

void cli_give_away(const struct cli_env *env, const char *path, bool recursive)
{
	if (!env->give_away)
		return;
	walk_uid = env->uid;
	walk_gid = env->gid;
	if (!recursive) {
		give_one(path, NULL, 0, NULL);
		return;
	}
	if (nftw(path, give_one, 16, FTW_PHYS) < 0)
		cli_fail("cannot walk %s: %s", path, strerror(errno));
}

void cli_give_away_db(const struct cli_env *env)
{
	static const char *const files[] = {
		"mailkeep.db", "mailkeep.db-wal", "mailkeep.db-shm",
	};
	struct buf p = BUF_INIT;

	for (size_t i = 0; env->give_away && i < 3; i++) {
		config_data_path(&env->cfg, files[i], &p);
		if (access(p.ptr, F_OK) == 0)
			cli_give_away(env, p.ptr, false);
	}
	buf_free(&p);
}

/* Running as root with an existing daemon user: remember who that is. */
static void find_daemon_user(struct cli_env *env)
{
	const struct passwd *pw;

	env->give_away = false;
	if (geteuid() != 0 || env->cfg.user == NULL || env->cfg.user[0] == '\0')
		return;
	pw = getpwnam(env->cfg.user);
	if (pw == NULL)
		return;
	env->give_away = true;
	env->uid = pw->pw_uid;
	env->gid = pw->pw_gid;
}

/* ---- opening ---- */

/* mkdir -p path: parents 0755 (the daemon's user must traverse them), path
 * itself 0700; *created if it made path itself. */
static int make_dirs(const char *path, bool *created)
{
	struct buf p = BUF_INIT;
	int rc = 0;

	*created = false;
	buf_appends(&p, path);
	for (size_t i = 1; i <= p.len && rc == 0; i++) {
		if (i < p.len && p.ptr[i] != '/')
			continue;
		p.ptr[i] = '\0';
		if (mkdir(p.ptr, i == p.len ? 0700 : 0755) == 0)
			*created = i == p.len;
		else if (errno != EEXIST)
			rc = -1;
		if (i < p.len)
			p.ptr[i] = '/';
	}
	buf_free(&p);
	return rc;
}

static int open_data_dir(struct cli_env *env)
{
	bool created;

	if (make_dirs(env->cfg.data_dir, &created) < 0) {
		cli_fail("cannot create data directory %s: %s",
			 env->cfg.data_dir, strerror(errno));
		return -1;
	}
	if (created)
		cli_give_away(env, env->cfg.data_dir, false);
	return 0;
}

int cli_open(struct cli_env *env, const char *config_path)
{
	struct buf err = BUF_INIT, path = BUF_INIT;
	const char *error = NULL;

	memset(env, 0, sizeof(*env));
	if (config_load(&env->cfg, config_path, &err) < 0) {
		cli_fail("%s", buf_cstr(&err));
		buf_free(&err);
		return -1;
	}
	find_daemon_user(env);
	if (open_data_dir(env) < 0) {
		config_free(&env->cfg);
		return -1;
	}
	config_data_path(&env->cfg, "mailkeep.db", &path);
	if (userdb_open(&env->db, path.ptr, &error) < 0) {
		cli_fail("%s: %s", path.ptr, error);
		buf_free(&path);
		config_free(&env->cfg);
		return -1;
	}
	buf_free(&path);
	userdb_set_config_domains(env->db,
				  (const char *const *)env->cfg.domains.v,
				  env->cfg.domains.n);
	cli_give_away_db(env);
	return 0;
}

void cli_close(struct cli_env *env)
{
	userdb_close(env->db);
	env->db = NULL;
	/* the WAL files may have appeared since cli_open */
	cli_give_away_db(env);
	config_free(&env->cfg);
}

/* ---- passwords ---- */

/* One line from fd, byte by byte so nothing after it is consumed and no
 * stdio buffer keeps a copy. */
static int read_line(int fd, char *pw, size_t size, const char **error_r)
{
	bool any = false;
	size_t n = 0;
	char c = 0;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*error_r = strerror(errno);
			return -1;
		}
		if (r == 0 && n == 0 && !any) {
			*error_r = "no password given (end of input)";
			return -1;
		}
		any = true;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= size) {
			*error_r = "password too long";
			return -1;
		}
		pw[n++] = c;
	}
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	pw[n] = '\0';
	if (n == 0) {
		*error_r = "empty password";
		return -1;
	}
	return 0;
}

static struct termios saved_tty;

/* Put the echo back if interrupted while it was off, then die of sig. */
static void restore_tty(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int prompt(const char *text, char *pw, size_t size,
		  const char **error_r)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = restore_tty }, old[4];
	struct termios t;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	t = saved_tty;
	t.c_lflag &= ~(tcflag_t)ECHO;
	fputs(text, stderr);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	rc = read_line(STDIN_FILENO, pw, size, error_r);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	fputc('\n', stderr);
	return rc;
}

int cli_read_password(char *pw, size_t size, const char **error_r)
{
	char again[CLI_PASSWORD_SIZE];
	int rc;

	if (!isatty(STDIN_FILENO))
		return read_line(STDIN_FILENO, pw, size, error_r);
	rc = prompt("Password: ", pw, size, error_r);
	if (rc == 0)
		rc = prompt("Retype password: ", again,
			    size < sizeof(again) ? size : sizeof(again), error_r);
	if (rc == 0 && strcmp(pw, again) != 0) {
		*error_r = "the passwords do not match";
		rc = -1;
	}
	explicit_bzero(again, sizeof(again));
	if (rc < 0)
		explicit_bzero(pw, size);
	return rc;
}
