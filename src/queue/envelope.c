/* envelope: pack and unpack the queue envelope. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

#include "lib/ipc.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#define ENVELOPE_MAX_RCPTS 100000

void envelope_add_rcpt(struct envelope *e, const char *addr, uint32_t notify,
		       const char *orcpt)
{
	e->rcpts = xrealloc(e->rcpts, (e->nrcpts + 1) * sizeof(*e->rcpts));
	e->rcpts[e->nrcpts].addr = xstrdup(addr);
	e->rcpts[e->nrcpts].notify = notify;
	e->rcpts[e->nrcpts].orcpt = xstrdup(orcpt);
	e->nrcpts++;
}

void envelope_local_trace(struct buf *out, const char *sender,
			  const char *rcpt, const char *headers)
{
	buf_printf(out, "Return-Path: <%s>\r\nDelivered-To: %s\r\n%s", sender,
		   rcpt, headers ? headers : "");
}

void envelope_pack(const struct envelope *e, struct buf *out)
{
	ipc_w_str(out, e->qid);
	ipc_w_str(out, e->sender);
	ipc_w_u32(out, e->body);
	ipc_w_u32(out, e->smtputf8);
	ipc_w_u32(out, e->ret);
	ipc_w_str(out, e->envid);
	ipc_w_str(out, e->client_ip);
	ipc_w_str(out, e->helo);
	ipc_w_str(out, e->session);
	ipc_w_str(out, e->auth_user);
	ipc_w_str(out, e->headers ? e->headers : "");
	ipc_w_u32(out, e->junk);
	ipc_w_u64(out, e->trace_len);
	ipc_w_u32(out, (uint32_t)e->nrcpts);
	for (size_t i = 0; i < e->nrcpts; i++) {
		ipc_w_str(out, e->rcpts[i].addr);
		ipc_w_u32(out, e->rcpts[i].notify);
		ipc_w_str(out, e->rcpts[i].orcpt);
	}
}

int envelope_unpack(struct envelope *e, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	uint32_t n;

	memset(e, 0, sizeof(*e));
	ipc_r_init(&r, data, len);
	if (str_copy(e->qid, sizeof(e->qid), ipc_r_str(&r)) < 0)
		r.bad = true;
	e->sender = xstrdup(ipc_r_str(&r));
	e->body = ipc_r_u32(&r);
	e->smtputf8 = ipc_r_u32(&r);
	e->ret = ipc_r_u32(&r);
	e->envid = xstrdup(ipc_r_str(&r));
	e->client_ip = xstrdup(ipc_r_str(&r));
	e->helo = xstrdup(ipc_r_str(&r));
	e->session = xstrdup(ipc_r_str(&r));
	e->auth_user = xstrdup(ipc_r_str(&r));
	e->headers = xstrdup(ipc_r_str(&r));
	e->junk = ipc_r_u32(&r);
	e->trace_len = ipc_r_u64(&r);
	n = ipc_r_u32(&r);
	if (n > ENVELOPE_MAX_RCPTS)
		r.bad = true;
	for (uint32_t i = 0; i < n && !r.bad; i++) {
		const char *addr = ipc_r_str(&r);
		uint32_t notify = ipc_r_u32(&r);
		const char *orcpt = ipc_r_str(&r);
		envelope_add_rcpt(e, addr, notify, orcpt);
	}
	if (ipc_r_end(&r) < 0 || e->qid[0] == '\0' || e->nrcpts == 0 ||
	    (e->trace_len > 0 && e->nrcpts != 1)) {
		envelope_free(e);
		return -1;
	}
	return 0;
}

void envelope_free(struct envelope *e)
{
	free(e->sender);
	free(e->envid);
	free(e->client_ip);
	free(e->helo);
	free(e->session);
	free(e->auth_user);
	free(e->headers);
	for (size_t i = 0; i < e->nrcpts; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].orcpt);
	}
	free(e->rcpts);
	memset(e, 0, sizeof(*e));
}
