/* unixsock: the daemon's UNIX sockets in run_dir (control.sock for the
 * CLI, submit.sock for sendmail): their paths, binding over what a
 * crashed daemon left behind, removal at exit, and the client side. */
#ifndef MK_UNIXSOCK_H
#define MK_UNIXSOCK_H

#include <sys/types.h>

#include "lib/buf.h"

#define UNIXSOCK_CONTROL "control.sock"
#define UNIXSOCK_SUBMIT "submit.sock"

/* A bound socket: its file is removed at exit only if it is still ours. */
struct unixsock {
	struct buf path;
	dev_t dev;
	ino_t ino;
	int fd;
};

/* DIR/NAME into *out; -1 when it is too long for a UNIX socket address. */
int unixsock_path(const char *dir, const char *name, struct buf *out,
		  const char **error_r);
/* Bind DIR/NAME (type SOCK_STREAM or SOCK_SEQPACKET) with mode (never
 * wider meanwhile) and listen: u->fd (non-blocking, close-on-exec), or -1.
 * A socket file nothing answers on (a crashed daemon's) is replaced; a
 * live one, or a file of another kind, is an error. */
int unixsock_listen(struct unixsock *u, const char *dir, const char *name,
		    int type, mode_t mode, const char **error_r);
/* Close u and remove its file if it is still the one bound. */
void unixsock_close(struct unixsock *u);
/* A blocking client socket connected to path: fd, or -1 with errno. */
int unixsock_connect(const char *path, int type);

#endif
