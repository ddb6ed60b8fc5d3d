/* auth_server: the auth process — recipient lookups for smtp, and SASL
 * logins for the processes that serve users (sasl_server.c), over IPC. */
#include "auth/auth_server.h"

#include <unistd.h>

#include "auth/auth_client.h"
#include "auth/lookup.h"
#include "auth/pam_login.h"
#include "auth/sasl_server.h"
#include "auth/userdb.h"
#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"

static struct userdb *login_db;		/* the logins' own connection */
static struct sasl_server *logins;
#ifdef MAILKEEP_HAVE_PAM
static struct pam_login *pam_logins;	/* system users ([auth] pam) */
#endif

static const uint32_t status_map[] = {
	[RESOLVE_OK] = RCPT_OK,
	[RESOLVE_UNKNOWN] = RCPT_UNKNOWN,
	[RESOLVE_NOT_LOCAL] = RCPT_NOT_LOCAL,
	[RESOLVE_LOOP] = RCPT_LOOP,
	[RESOLVE_TEMPFAIL] = RCPT_TEMPFAIL,
};

static void on_rcpt_lookup(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	struct resolve_result res;
	struct buf m = BUF_INIT;
	const char *addr, *why = NULL;
	enum resolve_status rs = RESOLVE_TEMPFAIL;

	ipc_r_init(&r, data, len);
	addr = ipc_r_str(&r);
	(void)ipc_r_u32(&r);	/* flags: none defined yet */
	if (ipc_r_end(&r) < 0) {
		log_error("peer=smtp event=bad-message type=rcpt-lookup");
		why = "malformed request";
	} else {
		rs = lookup_resolve(&proc_cfg, addr, &res, &why);
		resolve_result_free(&res);
	}
	log_debug("event=rcpt-lookup address=<%s> result=%s", addr,
		  resolve_status_name(rs));
	ipc_w_u32(&m, status_map[rs]);
	ipc_w_str(&m, why ? why : "");
	proc_send(PROC_SMTP, MSG_RCPT_RESULT, reqid, m.ptr, m.len, -1);
	buf_free(&m);
}

/* Submission: the MAIL FROM of an authenticated account must resolve to
 * that account (its own address, sub-addresses, aliases delivering to it). */
static uint32_t sender_owned(int64_t account, const char *addr)
{
	struct resolve_result res;
	const char *why = NULL;
	enum resolve_status rs = lookup_resolve(&proc_cfg, addr, &res, &why);
	uint32_t st = rs == RESOLVE_TEMPFAIL ? SENDER_TEMPFAIL : SENDER_NOT_OWNED;

	for (size_t i = 0; rs == RESOLVE_OK && i < res.naccounts; i++)
		if (res.accounts[i] == account)
			st = SENDER_OK;
	resolve_result_free(&res);
	return st;
}

static void on_sender_check(uint32_t reqid, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	struct buf m = BUF_INIT;
	int64_t account;
	const char *addr;
	uint32_t st = SENDER_TEMPFAIL;

	ipc_r_init(&r, data, len);
	account = (int64_t)ipc_r_u64(&r);
	addr = ipc_r_str(&r);
	if (ipc_r_end(&r) < 0)
		log_error("peer=smtp event=bad-message type=sender-check");
	else
		st = sender_owned(account, addr);
	log_debug("event=sender-check account=%lld address=<%s> result=%u",
		  (long long)account, addr, st);
	ipc_w_u32(&m, st);
	proc_send(PROC_SMTP, MSG_SENDER_RESULT, reqid, m.ptr, m.len, -1);
	buf_free(&m);
}

/* sasl_server's replies go back to the process that asked. */
static void send_auth_reply(void *ctx, int peer, uint32_t reqid,
			    const struct auth_reply *r)
{
	struct buf m = BUF_INIT;

	(void)ctx;
	auth_client_reply_build(&m, r);
	if (proc_send((enum proc_role)peer, MSG_AUTH_REPLY, reqid, m.ptr, m.len,
		      -1) < 0)
		log_warn("peer=%s event=auth-reply status=dropped reason=\"peer "
			 "not connected\"", proc_role_name((enum proc_role)peer));
	buf_free(&m);
}

static void on_auth_step(enum proc_role from, uint32_t reqid,
			 const uint8_t *data, size_t len)
{
	struct auth_step req;
	struct auth_reply r = { .status = AUTH_FAIL, .reason = "malformed request" };

	if (auth_client_step_parse(data, len, &req) < 0) {
		log_error("peer=%s event=bad-message type=auth-step",
			  proc_role_name(from));
		send_auth_reply(NULL, (int)from, reqid, &r);
		return;
	}
	if (logins == NULL) {
		r.status = AUTH_TEMPFAIL;
		r.reason = "auth process not started";
		send_auth_reply(NULL, (int)from, reqid, &r);
		return;
	}
	sasl_server_step(logins, (int)from, reqid, &req);
}

static void on_auth_cancel(enum proc_role from, const uint8_t *data,
			   size_t len)
{
	uint32_t conn;

	if (auth_client_cancel_parse(data, len, &conn) < 0) {
		log_error("peer=%s event=bad-message type=auth-cancel",
			  proc_role_name(from));
		return;
	}
	if (logins != NULL)
		sasl_server_cancel(logins, (int)from, conn);
}

static void on_msg(enum proc_role from, uint32_t type, uint32_t reqid,
		   const uint8_t *data, size_t len, int fd)
{
	if (fd >= 0)
		close(fd);
	if (from == PROC_SMTP && type == MSG_RCPT_LOOKUP) {
		on_rcpt_lookup(reqid, data, len);
		return;
	}
	if (from == PROC_SMTP && type == MSG_SENDER_CHECK) {
		on_sender_check(reqid, data, len);
		return;
	}
	if (from != PROC_MAIN && type == MSG_AUTH_STEP) {
		on_auth_step(from, reqid, data, len);
		return;
	}
	if (from != PROC_MAIN && type == MSG_AUTH_CANCEL) {
		on_auth_cancel(from, data, len);
		return;
	}
	log_error("peer=%s event=unexpected-message type=%u",
		  proc_role_name(from), type);
}

/* The logins' database knows the configured domains too: the PAM
 * backend creates accounts through it. */
static void login_domains(void)
{
	userdb_set_config_domains(login_db, (const char *const *)proc_cfg.domains.v,
				  proc_cfg.domains.n);
}

static void login_config(struct sasl_server_config *c)
{
	*c = (struct sasl_server_config){
		.fail_delay_after = (unsigned)proc_cfg.auth_fail_delay_after,
		.fail_block_after = (unsigned)proc_cfg.auth_fail_block_after,
		.fail_window = proc_cfg.auth_fail_window,
	};
}

static void on_start(void)
{
	struct sasl_server_config sc;
	struct buf path = BUF_INIT;
	const char *why = NULL;

	if (lookup_init(&proc_cfg, &why) < 0)
		fatal("event=start status=failed reason=\"user database: %s\"", why);
	config_data_path(&proc_cfg, "mailkeep.db", &path);
	if (userdb_open(&login_db, path.ptr, &why) < 0)
		fatal("event=start status=failed reason=\"user database: %s\"", why);
	buf_free(&path);
	login_domains();
	login_config(&sc);
	logins = sasl_server_new(proc_base, login_db, &sc, send_auth_reply, NULL);
#ifdef MAILKEEP_HAVE_PAM
	pam_logins = pam_login_new(proc_base, login_db, &proc_cfg, logins);
#endif
	log_info("event=ready");
}

static void on_reload(void)
{
	struct sasl_server_config sc;

	lookup_reload(&proc_cfg);
	if (login_db != NULL)
		login_domains();
	if (logins != NULL) {
		login_config(&sc);
		sasl_server_reconfigure(logins, &sc);
	}
#ifdef MAILKEEP_HAVE_PAM
	if (pam_logins != NULL)
		pam_login_check_setup(pam_logins);
#endif
}

/* A requester restarted: its connections and their exchanges are gone. */
static void on_peer_down(enum proc_role role)
{
	if (logins != NULL)
		sasl_server_peer_down(logins, (int)role);
}

static const struct proc_hooks hooks = {
	.msg = on_msg,
	.peer_down = on_peer_down,
	.start = on_start,
	.reload = on_reload,
};

int auth_server_main(const char *config_path)
{
	return proc_child_main(PROC_AUTH, config_path, &hooks);
}
