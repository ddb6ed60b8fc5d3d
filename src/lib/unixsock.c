/* unixsock: the daemon's UNIX sockets (see unixsock.h). */
#include "lib/unixsock.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIXSOCK_BACKLOG 128

static int addr_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int unixsock_path(const char *dir, const char *name, struct buf *out,
		  const char **error_r)
{
	struct sockaddr_un sun;

	buf_reset(out);
	buf_printf(out, "%s/%s", dir, name);
	if (out->len >= sizeof(sun.sun_path)) {
		*error_r = "run_dir is too long for a UNIX socket path";
		return -1;
	}
	return 0;
}

int unixsock_connect(const char *path, int type)
{
	struct sockaddr_un sun;
	int fd, e;

	if (addr_of(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* A socket file left by a daemon that did not stop cleanly goes; one that
 * a running daemon answers on, or any other kind of file, stays. */
static int remove_stale(const char *path, int type, const char **error_r)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*error_r = "a file that is not a socket is in the way";
		return -1;
	}
	if ((fd = unixsock_connect(path, type)) >= 0) {
		close(fd);
		*error_r = "another mailkeep serve is running with this run_dir";
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

static int bind_listen(struct unixsock *u, int type, mode_t mode,
		       const char **error_r)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || addr_of(buf_cstr(&u->path), &sun) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = strerror(errno);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sun.sun_path, mode) < 0 || lstat(sun.sun_path, &st) < 0 ||
	    listen(fd, UNIXSOCK_BACKLOG) < 0) {
		*error_r = strerror(errno);
		unlink(sun.sun_path);
		close(fd);
		return -1;
	}
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	return fd;
}

int unixsock_listen(struct unixsock *u, const char *dir, const char *name,
		    int type, mode_t mode, const char **error_r)
{
	u->fd = -1;
	if (unixsock_path(dir, name, &u->path, error_r) < 0 ||
	    remove_stale(buf_cstr(&u->path), type, error_r) < 0)
		return -1;
	u->fd = bind_listen(u, type, mode, error_r);
	return u->fd;
}

void unixsock_close(struct unixsock *u)
{
	struct stat st;

	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
		if (lstat(buf_cstr(&u->path), &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_dev == u->dev && st.st_ino == u->ino)
			unlink(buf_cstr(&u->path));
	}
	buf_free(&u->path);
}
