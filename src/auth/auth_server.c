/* auth_server: recipient lookups over IPC. */
#include "auth/auth_server.h"

#include <unistd.h>

#include "auth/lookup.h"
#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"

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

static void on_msg(enum proc_role from, uint32_t type, uint32_t reqid,
		   const uint8_t *data, size_t len, int fd)
{
	if (fd >= 0)
		close(fd);
	if (from == PROC_SMTP && type == MSG_RCPT_LOOKUP) {
		on_rcpt_lookup(reqid, data, len);
		return;
	}
	log_error("peer=%s event=unexpected-message type=%u",
		  proc_role_name(from), type);
}

static void on_start(void)
{
	const char *why = NULL;

	if (lookup_init(&proc_cfg, &why) < 0)
		fatal("event=start status=failed reason=\"user database: %s\"", why);
	log_info("event=ready");
}

static void on_reload(void)
{
	lookup_reload(&proc_cfg);
}

static const struct proc_hooks hooks = {
	.msg = on_msg,
	.start = on_start,
	.reload = on_reload,
};

int auth_server_main(const char *config_path)
{
	return proc_child_main(PROC_AUTH, config_path, &hooks);
}
