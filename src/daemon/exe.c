/* exe: finding and starting the daemon's programs; see exe.h. */
#include "daemon/exe.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int exe_path(const char *name, struct buf *out, const char **error_r)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= sizeof(self) - 1) {
		*error_r = "cannot read /proc/self/exe";
		return -1;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	buf_reset(out);
	buf_append(out, self, slash != NULL ? (size_t)(slash - self) : 0);
	buf_printf(out, "/mailkeep-%s", name);
	return 0;
}

int exe_run(const char *name, char *const args[], const char **error_r)
{
	char *argv[16];
	struct buf path = BUF_INIT, arg0 = BUF_INIT;
	size_t n = 1;

	if (exe_path(name, &path, error_r) < 0) {
		buf_free(&path);
		return -1;
	}
	buf_printf(&arg0, "mailkeep-%s", name);
	argv[0] = (char *)buf_cstr(&arg0);
	for (size_t i = 0; args[i] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	execv(buf_cstr(&path), argv);
	*error_r = strerror(errno);
	buf_free(&path);
	buf_free(&arg0);
	return -1;
}

int exe_child_main(int argc, char **argv,
		   int (*run)(const char *config_path))
{
	if (argc != 3 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: %s -c FILE (started by `mailkeep "
			"serve`, with its channel on fd %d and the configuration "
			"on fd %d)\n", argc > 0 ? argv[0] : "mailkeep-ROLE",
			PROC_IPC_FD, PROC_CONFIG_FD);
		return 2;
	}
	return run(argv[2]);
}
