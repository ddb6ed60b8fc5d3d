/* sandbox: what a process may still do to the file system once it is set
 * up (Landlock, Linux 5.13+). Reads stay allowed everywhere (the process
 * already runs as the unprivileged user); writing, creating, removing and
 * executing files are allowed only below the given directories. Where the
 * kernel has no Landlock this is a logged no-op. */
#ifndef MK_SANDBOX_H
#define MK_SANDBOX_H

enum sandbox_status {
	SANDBOX_ON,		/* restricted */
	SANDBOX_UNAVAILABLE,	/* kernel without Landlock: unrestricted */
	SANDBOX_FAILED,		/* -1: a setup error (error_r says which) */
};

/* writable: NULL-terminated directories that keep write access (may be
 * NULL: no writes at all). */
enum sandbox_status sandbox_restrict_fs(const char *const *writable,
					const char **error_r);

#endif
