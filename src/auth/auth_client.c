/* auth_client: MSG_AUTH_* payloads. Byte strings travel as u32 length +
 * the bytes (ipc_w_str cannot carry NULs, which SASL PLAIN has). */
#include "auth/auth_client.h"

#include <string.h>

#include "daemon/proc.h"
#include "lib/ipc.h"

#define AUTH_F_ALL (AUTH_F_TLS | AUTH_F_FIRST | AUTH_F_NO_IR)

static void w_bytes(struct buf *b, const void *p, size_t n)
{
	ipc_w_u32(b, (uint32_t)n);
	if (n > 0)
		buf_append(b, p, n);
}

/* Points into the message; empty (and r->bad) on error. */
static const uint8_t *r_bytes(struct ipc_reader *r, size_t *n)
{
	uint32_t len = ipc_r_u32(r);
	const uint8_t *p = r->p;

	if (r->bad || r->left < len) {
		r->bad = true;
		*n = 0;
		return (const uint8_t *)"";
	}
	r->p += len;
	r->left -= len;
	*n = len;
	return p;
}

void auth_client_step_build(struct buf *out, const struct auth_step *s)
{
	ipc_w_u32(out, s->conn);
	ipc_w_u32(out, s->service);
	ipc_w_str(out, s->ip);
	ipc_w_u32(out, s->flags);
	ipc_w_str(out, s->mech);
	w_bytes(out, s->resp, s->resp_len);
	w_bytes(out, s->cb, s->cb_len);
}

int auth_client_step_parse(const uint8_t *data, size_t len,
			   struct auth_step *s)
{
	struct ipc_reader r;

	ipc_r_init(&r, data, len);
	s->conn = ipc_r_u32(&r);
	s->service = ipc_r_u32(&r);
	s->ip = ipc_r_str(&r);
	s->flags = ipc_r_u32(&r);
	s->mech = ipc_r_str(&r);
	s->resp = r_bytes(&r, &s->resp_len);
	s->cb = r_bytes(&r, &s->cb_len);
	if (ipc_r_end(&r) < 0 || s->service >= AUTH_SVC_COUNT ||
	    (s->flags & ~AUTH_F_ALL) != 0)
		return -1;
	return 0;
}

void auth_client_reply_build(struct buf *out, const struct auth_reply *r)
{
	ipc_w_u32(out, r->status);
	w_bytes(out, r->challenge, r->challenge_len);
	ipc_w_u64(out, (uint64_t)r->account);
	ipc_w_str(out, r->address != NULL ? r->address : "");
	ipc_w_str(out, r->reason != NULL ? r->reason : "");
}

int auth_client_reply_parse(const uint8_t *data, size_t len,
			    struct auth_reply *r)
{
	struct ipc_reader rd;

	ipc_r_init(&rd, data, len);
	r->status = ipc_r_u32(&rd);
	r->challenge = r_bytes(&rd, &r->challenge_len);
	r->account = (int64_t)ipc_r_u64(&rd);
	r->address = ipc_r_str(&rd);
	r->reason = ipc_r_str(&rd);
	if (ipc_r_end(&rd) < 0 || r->status > AUTH_TEMPFAIL)
		return -1;
	return 0;
}

int auth_client_cancel_parse(const uint8_t *data, size_t len, uint32_t *conn)
{
	struct ipc_reader r;

	ipc_r_init(&r, data, len);
	*conn = ipc_r_u32(&r);
	return ipc_r_end(&r);
}

int auth_client_step(uint32_t reqid, uint32_t conn, enum auth_service svc,
		     const char *ip, unsigned flags, const char *mech,
		     const void *resp, size_t resp_len, const void *cb,
		     size_t cb_len)
{
	struct auth_step s = {
		.conn = conn, .service = svc, .ip = ip, .flags = flags,
		.mech = mech != NULL ? mech : "", .resp = resp,
		.resp_len = resp_len, .cb = cb, .cb_len = cb_len,
	};
	struct buf m = BUF_INIT;
	int rc;

	auth_client_step_build(&m, &s);
	rc = proc_send(PROC_AUTH, MSG_AUTH_STEP, reqid, m.ptr, m.len, -1);
	explicit_bzero(m.ptr, m.len);	/* it may hold a password */
	buf_free(&m);
	return rc;
}

int auth_client_cancel(uint32_t conn)
{
	struct buf m = BUF_INIT;
	int rc;

	ipc_w_u32(&m, conn);
	rc = proc_send(PROC_AUTH, MSG_AUTH_CANCEL, 0, m.ptr, m.len, -1);
	buf_free(&m);
	return rc;
}

const char *auth_service_name(uint32_t svc)
{
	static const char *const names[AUTH_SVC_COUNT] = {
		[AUTH_SVC_IMAP] = "imap",
		[AUTH_SVC_POP3] = "pop3",
		[AUTH_SVC_SUBMISSION] = "submission",
	};

	return svc < AUTH_SVC_COUNT ? names[svc] : "?";
}
