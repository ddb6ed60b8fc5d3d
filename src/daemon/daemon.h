/* daemon: the main process of `mailkeep serve` (DESIGN §4).
 * Binds the listeners, starts one child per role, hands them their
 * channels and sockets, restarts crashed children, reloads on SIGHUP and
 * shuts everything down cleanly on SIGTERM/SIGINT. */
#ifndef MK_DAEMON_H
#define MK_DAEMON_H

#include "daemon/conf/config.h"

/* Runs until shutdown; returns the exit status. */
int daemon_serve(const char *config_path);
/* Create DATA and its subfolders owned by the daemon user; -1 on error. */
int daemon_prepare_data_dir(const struct config *cfg, const char **error_r);

#endif
