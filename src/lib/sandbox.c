/* sandbox: Landlock file-system restriction. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The sanitizers run their symbolizer when they report: keep exec then. */
#if defined(__SANITIZE_ADDRESS__)
#define FS_EXEC_RIGHT 0
#else
#define FS_EXEC_RIGHT LANDLOCK_ACCESS_FS_EXECUTE
#endif

/* The rights we take away; reading files and directories is not one. */
#define FS_WRITE_RIGHTS                                                      \
	(FS_EXEC_RIGHT | LANDLOCK_ACCESS_FS_WRITE_FILE |                      \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |     \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |         \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |         \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |       \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Inside the writable directories: everything but executing. */
#define FS_DIR_RIGHTS (FS_WRITE_RIGHTS & ~(uint64_t)FS_EXEC_RIGHT)

static int ll_create_ruleset(const struct landlock_ruleset_attr *attr,
			     size_t size, uint32_t flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int ll_add_rule(int fd, enum landlock_rule_type type, const void *attr)
{
	return (int)syscall(SYS_landlock_add_rule, fd, type, attr, 0);
}

static int ll_restrict_self(int fd)
{
	return (int)syscall(SYS_landlock_restrict_self, fd, 0);
}

static int allow_dir(int ruleset, const char *dir, uint64_t rights)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = rights };
	int r;

	pb.parent_fd = open(dir, O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (pb.parent_fd < 0)
		return -1;
	r = ll_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb);
	close(pb.parent_fd);
	return r;
}

enum sandbox_status sandbox_restrict_fs(const char *const *writable,
					const char **error_r)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = FS_WRITE_RIGHTS };
	uint64_t dir_rights = FS_DIR_RIGHTS;
	int abi, fd;

	abi = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return SANDBOX_UNAVAILABLE;	/* ENOSYS or disabled at boot */
	if (abi >= 2) {
		/* renames between directories (Maildir tmp/ -> new/) */
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
		dir_rights |= LANDLOCK_ACCESS_FS_REFER;
	} else if (writable != NULL && writable[0] != NULL) {
		/* ABI 1 forbids every such rename: no sandbox rather than none
		 * of the work */
		return SANDBOX_UNAVAILABLE;
	}
	fd = ll_create_ruleset(&attr, sizeof(attr), 0);
	if (fd < 0) {
		*error_r = "landlock_create_ruleset failed";
		return SANDBOX_FAILED;
	}
	for (size_t i = 0; writable != NULL && writable[i] != NULL; i++) {
		if (allow_dir(fd, writable[i], dir_rights) < 0) {
			close(fd);
			*error_r = "cannot add a writable directory";
			return SANDBOX_FAILED;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || ll_restrict_self(fd) < 0) {
		close(fd);
		*error_r = "landlock_restrict_self failed";
		return SANDBOX_FAILED;
	}
	close(fd);
	return SANDBOX_ON;
}
