/* qinfo: MSG_CTL_QUEUE_ITEM payloads (queue/qinfo.h). */
#include "queue/qinfo.h"

#include <stdlib.h>
#include <string.h>

#include "lib/ipc.h"
#include "lib/xalloc.h"

static const char *const state_names[QINFO_STATE_COUNT] = {
	"local pending", "remote waiting", "remote active", "delivered", "failed"
};

const char *qinfo_state_name(uint32_t state)
{
	return state < QINFO_STATE_COUNT ? state_names[state] : "?";
}

/* A copy of s cut to at most max bytes, never inside a UTF-8 sequence. */
static char *dup_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

void qinfo_add_rcpt(struct qinfo_msg *m, int64_t idx, const char *addr,
		    uint32_t state, uint32_t attempts, int64_t next_try,
		    const char *last_error)
{
	struct qinfo_rcpt *r;

	if (m->nrcpts == QINFO_RCPTS_MAX) {
		m->omitted++;
		return;
	}
	m->rcpts = xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(*m->rcpts));
	r = &m->rcpts[m->nrcpts++];
	r->idx = idx;
	r->addr = xstrdup(addr);
	r->state = state;
	r->attempts = attempts;
	r->next_try = next_try;
	r->last_error = dup_cut(last_error ? last_error : "", QINFO_ERROR_MAX);
}

void qinfo_pack(const struct qinfo_msg *m, struct buf *out)
{
	ipc_w_str(out, m->qid);
	ipc_w_u64(out, m->size);
	ipc_w_u64(out, (uint64_t)m->created);
	ipc_w_str(out, m->sender);
	ipc_w_u32(out, m->held ? 1 : 0);
	ipc_w_u32(out, m->omitted);
	ipc_w_u32(out, (uint32_t)m->nrcpts);
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct qinfo_rcpt *r = &m->rcpts[i];
		ipc_w_u64(out, (uint64_t)r->idx);
		ipc_w_str(out, r->addr);
		ipc_w_u32(out, r->state);
		ipc_w_u32(out, r->attempts);
		ipc_w_u64(out, (uint64_t)r->next_try);
		ipc_w_str(out, r->last_error);
	}
	ipc_w_str(out, m->headers ? m->headers : "");
}

static void unpack_rcpt(struct qinfo_msg *m, struct ipc_reader *r)
{
	int64_t idx = (int64_t)ipc_r_u64(r);
	const char *addr = ipc_r_str(r);
	uint32_t state = ipc_r_u32(r);
	uint32_t attempts = ipc_r_u32(r);
	int64_t next = (int64_t)ipc_r_u64(r);
	const char *err = ipc_r_str(r);

	if (state >= QINFO_STATE_COUNT || strlen(err) > QINFO_ERROR_MAX)
		r->bad = true;
	if (!r->bad)
		qinfo_add_rcpt(m, idx, addr, state, attempts, next, err);
}

int qinfo_unpack(struct qinfo_msg *m, const uint8_t *data, size_t len)
{
	struct ipc_reader r;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	ipc_r_init(&r, data, len);
	m->qid = xstrdup(ipc_r_str(&r));
	m->size = ipc_r_u64(&r);
	m->created = (int64_t)ipc_r_u64(&r);
	m->sender = xstrdup(ipc_r_str(&r));
	m->held = ipc_r_u32(&r) != 0;
	m->omitted = ipc_r_u32(&r);
	n = ipc_r_u32(&r);
	if (n > QINFO_RCPTS_MAX)
		r.bad = true;
	for (uint32_t i = 0; i < n && !r.bad; i++)
		unpack_rcpt(m, &r);
	m->headers = xstrdup(ipc_r_str(&r));
	if (ipc_r_end(&r) < 0 || strlen(m->headers) > QINFO_HEADERS_MAX) {
		qinfo_free(m);
		return -1;
	}
	return 0;
}

void qinfo_free(struct qinfo_msg *m)
{
	free(m->qid);
	free(m->sender);
	free(m->headers);
	for (size_t i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].last_error);
	}
	free(m->rcpts);
	memset(m, 0, sizeof(*m));
}
