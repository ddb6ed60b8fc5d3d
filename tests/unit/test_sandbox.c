/* Unit tests for src/lib/sandbox: after sandbox_restrict_fs, a process
 * writes only below its writable directories (checked in a child). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/sandbox.h"

static char dir_ok[64], dir_no[64];

static int can_create(const char *dir, const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* In a child: 0 when every expectation held, else the failed step. */
static int child_checks(const char *const *writable)
{
	const char *why = NULL;
	char a[128], b[128];

	if (sandbox_restrict_fs(writable, &why) != SANDBOX_ON)
		return 10;
	if (writable != NULL && !can_create(dir_ok, "inside"))
		return 11;
	if (can_create(dir_no, "outside") || errno != EACCES)
		return 12;
	if (writable != NULL) {
		/* Maildir's tmp/ -> new/ rename stays possible */
		snprintf(a, sizeof(a), "%s/sub1", dir_ok);
		snprintf(b, sizeof(b), "%s/sub2", dir_ok);
		if (mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0 ||
		    !can_create(a, "f"))
			return 13;
		snprintf(a, sizeof(a), "%s/sub1/f", dir_ok);
		snprintf(b, sizeof(b), "%s/sub2/f", dir_ok);
		if (rename(a, b) < 0)
			return 14;
	}
	/* reading stays allowed */
	if (open("/etc/hostname", O_RDONLY) < 0 && open("/etc/passwd", O_RDONLY) < 0)
		return 15;
	return 0;
}

static int run_child(const char *const *writable)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child_checks(writable));
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static int landlock_present(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		const char *why;
		_exit(sandbox_restrict_fs(NULL, &why) == SANDBOX_UNAVAILABLE ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(writes_confined)
{
	const char *writable[] = { dir_ok, NULL };

	if (!landlock_present()) {
		printf("sandbox: this kernel has no Landlock; nothing to check\n");
		return;
	}
	CHECK_INTEQ(run_child(writable), 0);
	CHECK_INTEQ(run_child(NULL), 0);
	/* the parent was never restricted */
	CHECK(can_create(dir_no, "parent"));
}

int main(void)
{
	snprintf(dir_ok, sizeof(dir_ok), "/tmp/mk-sandbox-ok-XXXXXX");
	snprintf(dir_no, sizeof(dir_no), "/tmp/mk-sandbox-no-XXXXXX");
	if (mkdtemp(dir_ok) == NULL || mkdtemp(dir_no) == NULL)
		return 2;
	RUN(writes_confined);
	{
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir_ok, dir_no);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return test_summary();
}
