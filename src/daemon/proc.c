/* proc: the shared child-process runtime. */
#include "proc.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/sandbox.h"

struct event_base *proc_base;
struct config proc_cfg;
enum proc_role proc_self;
struct buf proc_tls_cert, proc_tls_key;
struct buf proc_aliases;
bool proc_aliases_set;

static const struct proc_hooks *hooks;
static struct ipc *peers[PROC_COUNT];	/* peers[PROC_MAIN] = main */
static const char *config_file;
static bool exiting;

static const char *const role_names[PROC_COUNT] = {
	"main", "auth", "queue", "smtp", "imap"
};

const char *proc_role_name(enum proc_role role)
{
	return role < PROC_COUNT ? role_names[role] : "?";
}

bool proc_peer_connected(enum proc_role role)
{
	return role < PROC_COUNT && peers[role] != NULL;
}

int proc_send(enum proc_role to, uint32_t type, uint32_t reqid,
	      const void *data, size_t len, int fd)
{
	if (!proc_peer_connected(to))
		return -1;
	ipc_send(peers[to], type, reqid, data, len, fd);
	return 0;
}

void proc_exit(int status)
{
	exiting = true;
	if (peers[PROC_MAIN] != NULL)
		ipc_flush(peers[PROC_MAIN]);
	log_info("event=exit status=%d", status);
	exit(status);
}

static void on_peer_msg(struct ipc *ch, uint32_t type, uint32_t reqid,
			const uint8_t *data, size_t len, int fd, void *arg);

static void on_peer_close(struct ipc *ch, void *arg)
{
	enum proc_role role = (enum proc_role)(intptr_t)arg;

	if (peers[role] == ch)
		peers[role] = NULL;
	ipc_free(ch);
	if (role == PROC_MAIN) {
		/* main is gone: nothing supervises us any more. */
		if (!exiting)
			log_warn("event=main-lost action=exit");
		exit(0);
	}
	log_warn("peer=%s event=disconnected", proc_role_name(role));
	if (hooks->peer_down)
		hooks->peer_down(role);
}

static void attach_peer(enum proc_role role, int fd)
{
	if (peers[role] != NULL) {
		ipc_free(peers[role]);
		peers[role] = NULL;
		if (hooks->peer_down)
			hooks->peer_down(role);
	}
	peers[role] = ipc_new(proc_base, fd, proc_role_name(role), on_peer_msg,
			      on_peer_close, (void *)(intptr_t)role);
	if (hooks->peer_up)
		hooks->peer_up(role);
}

static void do_reload(int fd)
{
	struct config next;
	struct buf err = BUF_INIT;
	int r = config_load_fd(&next, config_file, fd, &err);

	close(fd);
	if (r < 0) {
		log_error("event=reload status=failed reason=\"%s\"",
			  buf_cstr(&err));
		buf_free(&err);
		return;
	}
	buf_free(&err);
	config_free(&proc_cfg);
	proc_cfg = next;
	log_set_level((enum log_level)log_level_parse(proc_cfg.log_level));
	if (hooks->reload)
		hooks->reload();
}

/* Read a whole (small) file from a passed descriptor. */
#define PROC_MAX_PASSED_FILE (1024 * 1024)

static void read_pem(int fd, struct buf *out)
{
	if (out->ptr != NULL)
		explicit_bzero(out->ptr, out->cap);
	buf_reset(out);
	if (buf_read_fd(out, fd, PROC_MAX_PASSED_FILE) < 0) {
		log_error("event=read-passed-file reason=\"%s\"", strerror(errno));
		buf_reset(out);
	}
	close(fd);
}

/* Messages from main are the runtime's own; the rest go to the hooks. */
static void main_msg(uint32_t type, const uint8_t *data, size_t len, int fd)
{
	struct ipc_reader r;

	ipc_r_init(&r, data, len);
	switch (type) {
	case MSG_PEER: {
		uint32_t role = ipc_r_u32(&r);
		if (ipc_r_end(&r) < 0 || fd < 0 || role == PROC_MAIN ||
		    role >= PROC_COUNT)
			break;
		attach_peer((enum proc_role)role, fd);
		return;
	}
	case MSG_LISTENER: {
		uint32_t svc = ipc_r_u32(&r);
		const char *addr = ipc_r_str(&r);
		if (ipc_r_end(&r) < 0 || fd < 0 || svc >= SVC_COUNT ||
		    hooks->listener == NULL)
			break;
		hooks->listener((int)svc, fd, addr);
		return;
	}
	case MSG_TLS_CERT:
	case MSG_TLS_KEY:
		if (ipc_r_end(&r) < 0 || fd < 0)
			break;
		read_pem(fd, type == MSG_TLS_CERT ? &proc_tls_cert : &proc_tls_key);
		return;
	case MSG_ALIASES: {
		uint32_t present = ipc_r_u32(&r);
		if (ipc_r_end(&r) < 0 || (present == 1) != (fd >= 0))
			break;
		proc_aliases_set = present == 1;
		buf_reset(&proc_aliases);
		if (fd >= 0)
			read_pem(fd, &proc_aliases);
		return;
	}
	case MSG_START:
		if (hooks->start)
			hooks->start();
		return;
	case MSG_RELOAD:
		if (ipc_r_end(&r) < 0 || fd < 0)
			break;
		do_reload(fd);
		return;
	case MSG_SHUTDOWN:
		exiting = true;
		if (hooks->shutdown)
			hooks->shutdown();
		else
			proc_exit(0);
		return;
	default:
		break;
	}
	log_error("peer=main event=bad-message type=%u", type);
	if (fd >= 0)
		close(fd);
}

static void on_peer_msg(struct ipc *ch, uint32_t type, uint32_t reqid,
			const uint8_t *data, size_t len, int fd, void *arg)
{
	enum proc_role role = (enum proc_role)(intptr_t)arg;

	(void)ch;
	if (role == PROC_MAIN && type < 100) {
		main_msg(type, data, len, fd);
		return;
	}
	hooks->msg(role, type, reqid, data, len, fd);
}

/* Once set up, a child may write only where its role needs to: smtp
 * nowhere (its queue files arrive as descriptors), queue and auth in the
 * data directory (DESIGN §4). */
static void enter_sandbox(enum proc_role role)
{
	const char *data[] = { proc_cfg.data_dir, NULL };
	const char *why = NULL;

	switch (sandbox_restrict_fs(role == PROC_SMTP ? NULL : data, &why)) {
	case SANDBOX_ON:
		log_info("event=sandbox status=on writable=%s",
			 role == PROC_SMTP ? "none" : proc_cfg.data_dir);
		break;
	case SANDBOX_UNAVAILABLE:
		log_info("event=sandbox status=unavailable reason=\"no Landlock "
			 "in this kernel\"");
		break;
	case SANDBOX_FAILED:
		fatal("event=sandbox status=failed reason=\"%s\"", why);
	}
}

int proc_child_main(enum proc_role role, const char *config_path,
		    const struct proc_hooks *h)
{
	struct buf err = BUF_INIT;

	proc_self = role;
	hooks = h;
	config_file = config_path;
	log_init(proc_role_name(role));
	signal(SIGPIPE, SIG_IGN);
	/* SIGHUP and SIGTERM are main's to handle; children follow main. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (config_load_fd(&proc_cfg, config_path, PROC_CONFIG_FD, &err) < 0) {
		log_error("event=start status=failed reason=\"%s\"", buf_cstr(&err));
		return 1;
	}
	buf_free(&err);
	close(PROC_CONFIG_FD);
	enter_sandbox(role);
	log_set_level((enum log_level)log_level_parse(proc_cfg.log_level));
	proc_base = event_base_new();
	if (proc_base == NULL)
		fatal("event=start status=failed reason=\"event_base_new\"");
	peers[PROC_MAIN] = ipc_new(proc_base, PROC_IPC_FD, "main", on_peer_msg,
				   on_peer_close, (void *)(intptr_t)PROC_MAIN);
	event_base_dispatch(proc_base);
	return 0;
}
