/* proc: process roles and the runtime every child process shares.
 *
 * main (daemon.c) forks and executes one program per role
 * (`mailkeep-ROLE -c FILE`, see exe.h) with its channel to main on fd 3 and
 * the configuration text main validated on fd 4 (children never read the
 * file itself, so a broken file on disk cannot stop a restart). The
 * child builds its event loop here, receives its peer channels and
 * listening sockets from main, and dispatches messages to its hooks. */
#ifndef MK_PROC_H
#define MK_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/conf/config.h"

enum proc_role {
	PROC_MAIN,
	PROC_AUTH,
	PROC_QUEUE,
	PROC_SMTP,
	PROC_IMAP,	/* IMAP and POP3 sessions */
	PROC_COUNT
};

#define PROC_IPC_FD 3
#define PROC_CONFIG_FD 4	/* the configuration text main validated */

struct proc_hooks {
	/* A message from a peer (or main); fd is -1 or owned by the hook. */
	void (*msg)(enum proc_role from, uint32_t type, uint32_t reqid,
		    const uint8_t *data, size_t len, int fd);
	void (*peer_up)(enum proc_role role);
	void (*peer_down)(enum proc_role role);
	void (*listener)(int service, int fd, const char *address);
	void (*start)(void);
	/* The new configuration is already in proc_cfg. */
	void (*reload)(void);
	/* Stop accepting, finish or abort the work, then call proc_exit(). */
	void (*shutdown)(void);
};

extern struct event_base *proc_base;
extern struct config proc_cfg;
extern enum proc_role proc_self;
/* PEM text of the certificate chain and key, as last sent by main. */
extern struct buf proc_tls_cert, proc_tls_key;
/* The aliases file as main read and validated it (like the config, so
 * that every process resolves with the same table); proc_aliases_set is
 * false when no aliases file is configured. */
extern struct buf proc_aliases;
extern bool proc_aliases_set;

/* (Re)build *ctx from the certificate and key main last sent, then wipe
 * the key text; on failure the previous context stays (open sessions
 * hold their own reference to it) and the log says so, naming what is
 * off without one. Nothing happens before main sent a certificate. */
struct ssl_ctx_st;
void proc_tls_load(struct ssl_ctx_st **ctx, const char *off_without);
const char *proc_role_name(enum proc_role role);
/* Entry point of a child process; returns the exit status. */
int proc_child_main(enum proc_role role, const char *config_path,
		    const struct proc_hooks *hooks);
/* Send to a peer; returns -1 (and sends nothing) when it is not connected. */
int proc_send(enum proc_role to, uint32_t type, uint32_t reqid,
	      const void *data, size_t len, int fd);
bool proc_peer_connected(enum proc_role role);
void proc_exit(int status);

#endif
