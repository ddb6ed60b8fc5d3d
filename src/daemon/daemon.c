/* daemon: main process — listeners, children, supervision, signals. */
#include "daemon/conf/config.h"
#include "daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/exe.h"
#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/unixsock.h"
#include "lib/xalloc.h"
#include "mail/aliases.h"

#define MAX_LISTENERS 64
#define RESTART_DELAY_MIN 1	/* seconds before restarting a crashed child */
#define RESTART_DELAY_MAX 60
#define SHUTDOWN_GRACE 10	/* seconds children get to finish */

struct listener {
	int service;
	int fd;
	char address[128];	/* ADDRESS:PORT, or a UNIX socket path */
};

struct child {
	pid_t pid;
	struct ipc *ch;
	unsigned delay;		/* current restart back-off */
	time_t started;
	struct event *restart_ev;
};

static struct config cfg;
static struct buf aliases_text;		/* validated; sent to auth and queue */
static const char *config_file;
static struct event_base *base;
static struct listener listeners[MAX_LISTENERS];
static size_t nlisteners;
static struct child children[PROC_COUNT];
static bool shutting_down;
static uid_t run_uid;
static gid_t run_gid;
static bool drop_privileges;
static struct unixsock submit_sock = { BUF_INIT, 0, 0, -1 };	/* sendmail's */

/* Which roles talk to which: one socketpair per edge. */
static const struct { enum proc_role a, b; } edges[] = {
	{ PROC_SMTP, PROC_QUEUE },
	{ PROC_SMTP, PROC_AUTH },
	{ PROC_IMAP, PROC_AUTH },	/* logins */
	{ PROC_QUEUE, PROC_IMAP },	/* "new mail" for IDLE */
};

/* The process that serves a service's connections. */
static enum proc_role service_role(int service)
{
	switch (service) {
	case SVC_IMAP: case SVC_IMAPS: case SVC_POP3: case SVC_POP3S:
		return PROC_IMAP;
	default:
		return PROC_SMTP;
	}
}

/* The imap process runs only when some IMAP or POP3 listener is set:
 * a receive-only server costs no process for it. */
static bool role_wanted(enum proc_role role)
{
	if (role != PROC_IMAP)
		return true;
	for (int s = 0; s < SVC_COUNT; s++)
		if (service_role(s) == PROC_IMAP && cfg.listen[s].n > 0)
			return true;
	return false;
}

static int bind_one(int service, const char *spec, const char **error_r)
{
	struct netaddr a;
	int fd, one = 1;

	if (nlisteners == MAX_LISTENERS) {
		*error_r = "too many listen addresses";
		return -1;
	}
	if (netaddr_parse_hostport(spec, &a) < 0) {
		*error_r = "bad listen address";
		return -1;
	}
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(fd, 511) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	listeners[nlisteners].service = service;
	listeners[nlisteners].fd = fd;
	snprintf(listeners[nlisteners].address, sizeof(listeners[0].address),
		 "%s", spec);
	nlisteners++;
	return 0;
}

/* [sendmail] enabled: run_dir/submit.sock, served by smtp as SVC_LOCAL. */
static int bind_local(void)
{
	const char *why = "too many listeners";

	if (!cfg.sendmail_enabled)
		return 0;
	/* mode 0666: every local user may submit; the smtp process learns
	 * who from SO_PEERCRED */
	if (nlisteners == MAX_LISTENERS ||
	    unixsock_listen(&submit_sock, cfg.run_dir, UNIXSOCK_SUBMIT,
			    SOCK_STREAM, 0666, &why) < 0) {
		log_error("event=listen address=%s/%s status=failed reason=\"%s\"",
			  cfg.run_dir, UNIXSOCK_SUBMIT, why);
		unixsock_close(&submit_sock);
		return -1;
	}
	listeners[nlisteners].service = SVC_LOCAL;
	listeners[nlisteners].fd = submit_sock.fd;
	snprintf(listeners[nlisteners].address, sizeof(listeners[0].address),
		 "%s", buf_cstr(&submit_sock.path));
	nlisteners++;
	log_info("event=listen address=%s service=%s", buf_cstr(&submit_sock.path),
		 config_service_name(SVC_LOCAL));
	return 0;
}

static int bind_all(void)
{
	const char *why = NULL;

	for (int s = 0; s < SVC_COUNT; s++) {
		for (size_t i = 0; i < cfg.listen[s].n; i++) {
			if (bind_one(s, cfg.listen[s].v[i], &why) < 0) {
				log_error("event=listen address=%s status=failed "
					  "reason=\"%s\"", cfg.listen[s].v[i], why);
				return -1;
			}
			log_info("event=listen address=%s service=%s",
				 cfg.listen[s].v[i], config_service_name(s));
		}
	}
	return 0;
}

static void chown_path(const char *path)
{
	if (drop_privileges && chown(path, run_uid, run_gid) < 0)
		log_warn("event=chown path=%s reason=\"%s\"", path, strerror(errno));
}

int daemon_prepare_data_dir(const struct config *c, const char **error_r)
{
	static const char *const subdirs[] = { "", "queue", "queue/msg",
					       "accounts" };
	struct buf path = BUF_INIT;

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		config_data_path(c, subdirs[i], &path);
		if (mkdir(path.ptr, 0750) < 0 && errno != EEXIST) {
			*error_r = strerror(errno);
			log_error("event=mkdir path=%s reason=\"%s\"", path.ptr,
				  *error_r);
			buf_free(&path);
			return -1;
		}
		chown_path(path.ptr);
	}
	buf_free(&path);
	/* Root's (or the starting user's): the sockets in it are bound by
	 * main, and other local users must reach submit.sock. */
	if (mkdir(c->run_dir, 0755) < 0 && errno != EEXIST) {
		*error_r = strerror(errno);
		log_error("event=mkdir path=%s reason=\"%s\"", c->run_dir,
			  *error_r);
		return -1;
	}
	return 0;
}

static int resolve_user(void)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(cfg.user);
	if (pw == NULL) {
		log_error("event=start status=failed reason=\"user '%s' does not "
			  "exist: create it (useradd --system %s) or set user =\"",
			  cfg.user, cfg.user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_error("event=start status=failed reason=\"user must not be root\"");
		return -1;
	}
	run_uid = pw->pw_uid;
	run_gid = pw->pw_gid;
	drop_privileges = true;
	return 0;
}

static void on_child_msg(struct ipc *ch, uint32_t type, uint32_t reqid,
			 const uint8_t *data, size_t len, int fd, void *arg)
{
	(void)ch;
	if ((enum proc_role)(intptr_t)arg == PROC_QUEUE && MSG_CTL_IS_REPLY(type) &&
	    fd < 0) {
		control_queue_reply(type, reqid, data, len);	/* to the CLI */
		return;
	}
	log_warn("child=%s event=unexpected-message type=%u",
		 proc_role_name((enum proc_role)(intptr_t)arg), type);
	if (fd >= 0)
		close(fd);
}

static void on_child_close(struct ipc *ch, void *arg)
{
	enum proc_role role = (enum proc_role)(intptr_t)arg;

	if (children[role].ch == ch)
		children[role].ch = NULL;
	ipc_free(ch);
	if (role == PROC_QUEUE)
		control_queue_down();
}

/* The control socket's way to the queue process (NULL while down). */
static struct ipc *queue_channel(void)
{
	return children[PROC_QUEUE].ch;
}


/* Read and validate the aliases file of c into *out. */
static int load_aliases(const struct config *c, struct buf *out)
{
	struct buf err = BUF_INIT;
	struct aliases *a = NULL;
	int fd;

	buf_reset(out);
	if (*c->aliases_file == '\0')
		return 0;
	fd = open(c->aliases_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("event=aliases file=%s reason=\"%s\"", c->aliases_file,
			  strerror(errno));
		return -1;
	}
	if (buf_read_fd(out, fd, ALIASES_MAX_FILE) < 0) {
		log_error("event=aliases file=%s reason=\"%s\"", c->aliases_file,
			  strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (aliases_parse(c->aliases_file, buf_cstr(out), out->len, &a, &err) < 0) {
		log_error("event=aliases status=failed reason=\"%s\"", buf_cstr(&err));
		buf_free(&err);
		return -1;
	}
	aliases_free(a);
	buf_free(&err);
	return 0;
}

static int memfd_with(const char *name, const struct buf *text)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, text->ptr ? text->ptr : "", text->len) != (ssize_t)text->len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_aliases(enum proc_role role)
{
	struct buf m = BUF_INIT;
	bool present = *cfg.aliases_file != '\0';
	int fd = present ? memfd_with("aliases", &aliases_text) : -1;

	if (role != PROC_AUTH && role != PROC_QUEUE)
		return;
	if (present && fd < 0) {
		log_error("event=aliases reason=\"memfd: %s\"", strerror(errno));
		return;
	}
	ipc_w_u32(&m, present ? 1 : 0);
	ipc_send(children[role].ch, MSG_ALIASES, 0, m.ptr, m.len, fd);
	if (fd >= 0)
		close(fd);
	buf_free(&m);
}

/* The validated configuration text as a file children can read. */
static int config_memfd(void)
{
	return memfd_with("mailkeep.conf", &cfg.source);
}

/* Supplementary groups of a child: none, but with [auth] pam the auth
 * process gets the group shadow (if the system has one), so that its PAM
 * workers' pam_unix can read /etc/shadow. */
static size_t child_groups(enum proc_role role, gid_t *groups)
{
	struct group *gr;

	if (role != PROC_AUTH || !cfg.auth_pam)
		return 0;
	gr = getgrnam("shadow");
	if (gr == NULL)
		return 0;
	groups[0] = gr->gr_gid;
	return 1;
}

/* In the forked child: become the unprivileged user, exec the role's
 * program (exe.h). */
static void exec_child(enum proc_role role, int fd, int conf)
{
	char *args[] = { "-c", (char *)config_file, NULL };
	const char *why;
	gid_t groups[1];

	/* lifted above both targets first, so that one dup2 cannot
	 * overwrite the other's source */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	conf = fcntl(conf, F_DUPFD_CLOEXEC, 10);
	if (fd < 0 || conf < 0 || dup2(fd, PROC_IPC_FD) < 0 ||
	    dup2(conf, PROC_CONFIG_FD) < 0)
		_exit(127);
	if (drop_privileges) {
		if (setgroups(child_groups(role, groups), groups) < 0 ||
		    setgid(run_gid) < 0 ||
		    setuid(run_uid) < 0)
			_exit(126);
	}
	/* after the uid change, which would clear it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	exe_run(proc_role_name(role), args, &why);
	log_error("child=%s event=exec status=failed reason=\"%s\"",
		  proc_role_name(role), why);
	_exit(127);
}

static void send_pair(enum proc_role a, enum proc_role b)
{
	int fds[2];
	struct buf m = BUF_INIT;

	if (children[a].ch == NULL || children[b].ch == NULL)
		return;
	if (ipc_socketpair(fds) < 0) {
		log_error("event=socketpair reason=\"%s\"", strerror(errno));
		return;
	}
	ipc_w_u32(&m, b);
	ipc_send(children[a].ch, MSG_PEER, 0, m.ptr, m.len, fds[0]);
	buf_reset(&m);
	ipc_w_u32(&m, a);
	ipc_send(children[b].ch, MSG_PEER, 0, m.ptr, m.len, fds[1]);
	close(fds[0]);
	close(fds[1]);
	buf_free(&m);
}

static void send_listeners(enum proc_role role)
{
	struct buf m = BUF_INIT;

	for (size_t i = 0; i < nlisteners; i++) {
		int svc = listeners[i].service;
		if (service_role(svc) != role)
			continue;
		buf_reset(&m);
		ipc_w_u32(&m, (uint32_t)svc);
		ipc_w_str(&m, listeners[i].address);
		ipc_send(children[role].ch, MSG_LISTENER, 0, m.ptr, m.len,
			 listeners[i].fd);
	}
	buf_free(&m);
}

static int start_child(enum proc_role role)
{
	int fds[2], conf = config_memfd();
	pid_t pid;

	if (conf < 0)
		return -1;
	if (ipc_socketpair(fds) < 0) {
		close(conf);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		close(conf);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		exec_child(role, fds[1], conf);
	}
	close(fds[1]);
	close(conf);
	children[role].pid = pid;
	children[role].started = time(NULL);
	children[role].ch = ipc_new(base, fds[0], proc_role_name(role),
				    on_child_msg, on_child_close,
				    (void *)(intptr_t)role);
	log_info("child=%s pid=%d event=started", proc_role_name(role), (int)pid);
	return 0;
}

/* Send the certificate and key as open files: the key may be readable
 * only by root (certbot), and the children no longer are. */
static void send_tls(enum proc_role role)
{
	int cert, key;

	if ((role != PROC_SMTP && role != PROC_IMAP) || *cfg.tls_cert == '\0')
		return;
	cert = open(cfg.tls_cert, O_RDONLY | O_CLOEXEC);
	key = open(cfg.tls_key, O_RDONLY | O_CLOEXEC);
	if (cert >= 0 && key >= 0) {
		ipc_send(children[role].ch, MSG_TLS_CERT, 0, NULL, 0, cert);
		ipc_send(children[role].ch, MSG_TLS_KEY, 0, NULL, 0, key);
	} else {
		log_error("event=tls-open reason=\"%s\"", strerror(errno));
	}
	if (cert >= 0)
		close(cert);
	if (key >= 0)
		close(key);
}

/* Everything a child gets before it may start serving. */
static void start_msgs(enum proc_role role)
{
	send_tls(role);
	send_aliases(role);
	send_listeners(role);
	ipc_send(children[role].ch, MSG_START, 0, NULL, 0, -1);
}

/* Connect a restarted child to its peers and let it start. */
static void wire_child(enum proc_role role)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		if (edges[i].a == role)
			send_pair(role, edges[i].b);
		else if (edges[i].b == role)
			send_pair(edges[i].a, role);
	}
	start_msgs(role);
}

/* First start: every edge once, then every child starts. */
static void wire_all(void)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		send_pair(edges[i].a, edges[i].b);
	for (int r = 1; r < PROC_COUNT; r++)
		if (children[r].ch != NULL)
			start_msgs((enum proc_role)r);
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
	enum proc_role role = (enum proc_role)(intptr_t)arg;

	(void)fd; (void)what;
	if (shutting_down)
		return;
	if (start_child(role) < 0) {
		log_error("child=%s event=restart status=failed reason=\"%s\"",
			  proc_role_name(role), strerror(errno));
		return;
	}
	wire_child(role);
}

static void send_shutdown(enum proc_role role)
{
	if (children[role].ch != NULL)
		ipc_send(children[role].ch, MSG_SHUTDOWN, 0, NULL, 0, -1);
	else if (children[role].pid != 0)
		kill(children[role].pid, SIGTERM);
}

static void shutdown_back_ends(void)
{
	send_shutdown(PROC_QUEUE);
	send_shutdown(PROC_AUTH);
}

/* The processes that hold client sessions (smtp, imap) stop first: their
 * open transactions and logins still need the queue and auth. */
static bool front_ends_gone(void)
{
	return children[PROC_SMTP].pid == 0 && children[PROC_IMAP].pid == 0;
}

static void child_exited(enum proc_role role, int status)
{
	struct child *c = &children[role];
	struct timeval tv = { 0, 0 };

	c->pid = 0;
	if (c->ch != NULL) {
		ipc_free(c->ch);
		c->ch = NULL;
	}
	if (role == PROC_QUEUE)
		control_queue_down();
	if (shutting_down) {
		log_info("child=%s event=exited status=%d", proc_role_name(role),
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		if ((role == PROC_SMTP || role == PROC_IMAP) && front_ends_gone())
			shutdown_back_ends();
		return;
	}
	if (WIFSIGNALED(status))
		log_error("child=%s event=crashed signal=%d action=restart",
			  proc_role_name(role), WTERMSIG(status));
	else
		log_error("child=%s event=exited status=%d action=restart",
			  proc_role_name(role), WEXITSTATUS(status));
	/* Back off when a child keeps dying right after its start. */
	if (time(NULL) - c->started < 10)
		c->delay = c->delay ? (c->delay * 2 > RESTART_DELAY_MAX ?
				       RESTART_DELAY_MAX : c->delay * 2) :
				      RESTART_DELAY_MIN;
	else
		c->delay = 0;
	tv.tv_sec = c->delay;
	evtimer_add(c->restart_ev, &tv);
}

static bool all_children_gone(void)
{
	for (int r = 1; r < PROC_COUNT; r++)
		if (children[r].pid != 0)
			return false;
	return true;
}

/* The certificate check runs in `mailkeep-smtp -c FILE check-tls`, given
 * the configuration text to check on fd 4: main never links OpenSSL and
 * never parses key files as root in its own memory. The child is reaped
 * here, before the event loop's SIGCHLD handler runs. */
static int check_tls(const struct config *c, const char **error_r)
{
	static char why[512];
	size_t len = 0;
	ssize_t n;
	int p[2], status = 0, conf;
	pid_t pid;

	conf = memfd_with("mailkeep.conf", &c->source);
	if (conf < 0 || pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		if (conf >= 0)
			close(conf);
		*error_r = "cannot start the certificate check";
		return -1;
	}
	if (pid == 0) {
		char *args[] = { "-c", (char *)config_file, "check-tls", NULL };
		const char *w = NULL;
		conf = fcntl(conf, F_DUPFD_CLOEXEC, 10);
		if (conf < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
		    dup2(conf, PROC_CONFIG_FD) < 0)
			_exit(127);
		exe_run("smtp", args, &w);
		dprintf(STDOUT_FILENO, "cannot run mailkeep-smtp: %s", w);
		_exit(127);
	}
	close(conf);
	close(p[1]);
	while (len < sizeof(why) - 1 &&
	       ((n = read(p[0], why + len, sizeof(why) - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	why[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	*error_r = len > 0 ? why : "the certificate check failed";
	return -1;
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	int status;
	pid_t pid;

	(void)sig; (void)what; (void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int r = 1; r < PROC_COUNT; r++)
			if (children[r].pid == pid)
				child_exited((enum proc_role)r, status);
	}
	if (shutting_down && all_children_gone())
		event_base_loopexit(base, NULL);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct config next;
	struct buf err = BUF_INIT, next_aliases = BUF_INIT;
	const char *why;

	(void)sig; (void)what; (void)arg;
	if (config_load(&next, config_file, &err) < 0) {
		log_error("event=reload status=failed reason=\"%s\" "
			  "action=\"keeping the running configuration\"",
			  buf_cstr(&err));
		buf_free(&err);
		return;
	}
	buf_free(&err);
	if (check_tls(&next, &why) < 0) {
		log_error("event=reload status=failed reason=\"%s\" "
			  "action=\"keeping the running configuration\"", why);
		config_free(&next);
		return;
	}
	if (load_aliases(&next, &next_aliases) < 0) {
		log_error("event=reload status=failed reason=\"aliases file\" "
			  "action=\"keeping the running configuration\"");
		config_free(&next);
		buf_free(&next_aliases);
		return;
	}
	config_free(&cfg);
	cfg = next;
	buf_free(&aliases_text);
	aliases_text = next_aliases;
	log_set_level((enum log_level)log_level_parse(cfg.log_level));
	for (int r = 1; r < PROC_COUNT; r++) {
		if (children[r].ch == NULL)
			continue;
		int conf = config_memfd();
		if (conf < 0) {
			log_error("event=reload child=%s reason=\"memfd: %s\"",
				  proc_role_name((enum proc_role)r), strerror(errno));
			continue;
		}
		send_tls((enum proc_role)r);
		send_aliases((enum proc_role)r);
		ipc_send(children[r].ch, MSG_RELOAD, 0, NULL, 0, conf);
		close(conf);
	}
	log_info("event=reload status=ok note=\"listen addresses change only on restart\"");
}

static void on_kill_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	for (int r = 1; r < PROC_COUNT; r++) {
		if (children[r].pid != 0) {
			log_warn("child=%s event=kill reason=\"shutdown timeout\"",
				 proc_role_name((enum proc_role)r));
			kill(children[r].pid, SIGKILL);
		}
	}
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct timeval grace = { SHUTDOWN_GRACE, 0 };

	(void)what; (void)arg;
	if (shutting_down)
		return;
	shutting_down = true;
	log_info("event=shutdown signal=%d", (int)sig);
	/* Front ends first; the back ends stop once they are gone
	 * (child_exited). */
	if (front_ends_gone())
		shutdown_back_ends();
	send_shutdown(PROC_SMTP);
	send_shutdown(PROC_IMAP);
	event_base_once(base, -1, EV_TIMEOUT, on_kill_timeout, NULL, &grace);
	if (all_children_gone())
		event_base_loopexit(base, NULL);
}

int daemon_serve(const char *config_path)
{
	struct buf err = BUF_INIT;
	const char *why = NULL;
	struct event *sigs[4];

	config_file = config_path;
	log_init("main");
	if (config_load(&cfg, config_path, &err) < 0) {
		log_error("event=start status=failed reason=\"%s\"", buf_cstr(&err));
		buf_free(&err);
		return 1;
	}
	buf_free(&err);
	log_set_level((enum log_level)log_level_parse(cfg.log_level));
	if (check_tls(&cfg, &why) < 0) {
		log_error("event=start status=failed reason=\"%s\"", why);
		return 1;
	}
	if (load_aliases(&cfg, &aliases_text) < 0 || resolve_user() < 0 ||
	    daemon_prepare_data_dir(&cfg, &why) < 0 || bind_all() < 0 ||
	    bind_local() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	sigs[0] = evsignal_new(base, SIGCHLD, on_sigchld, NULL);
	sigs[1] = evsignal_new(base, SIGHUP, on_sighup, NULL);
	sigs[2] = evsignal_new(base, SIGTERM, on_sigterm, NULL);
	sigs[3] = evsignal_new(base, SIGINT, on_sigterm, NULL);
	for (int i = 0; i < 4; i++)
		evsignal_add(sigs[i], NULL);
	if (control_open(base, cfg.run_dir, queue_channel, &why) < 0) {
		log_error("event=listen service=control status=failed "
			  "reason=\"%s\"", why);
		return 1;
	}
	for (int r = 1; r < PROC_COUNT; r++) {
		children[r].restart_ev = evtimer_new(base, restart_cb,
						     (void *)(intptr_t)r);
		if (!role_wanted((enum proc_role)r))
			continue;
		if (start_child((enum proc_role)r) < 0)
			fatal("event=start status=failed reason=\"fork: %s\"",
			      strerror(errno));
	}
	wire_all();
	log_info("event=started version=%s hostname=%s", MAILKEEP_VERSION,
		 cfg.hostname);
	event_base_dispatch(base);
	log_info("event=stopped");
	control_close();
	unixsock_close(&submit_sock);
	for (int i = 0; i < 4; i++)
		event_free(sigs[i]);
	config_free(&cfg);
	return 0;
}
