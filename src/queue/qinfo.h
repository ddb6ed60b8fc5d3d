/* qinfo: one queued message as `mailkeep queue list|show` sees it — the
 * payload of MSG_CTL_QUEUE_ITEM (daemon/proto.h), packed by the queue
 * process and unpacked by the CLI. Pure: no I/O.
 *
 * Layout (ipc_w_*): str qid, u64 size, u64 created, str sender, u32 held,
 * u32 recipients omitted, u32 n, n x {u64 idx, str address, u32 state,
 * u32 attempts, u64 next_try, str last_error}, str headers. */
#ifndef MK_QINFO_H
#define MK_QINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* Limits that keep one item far below IPC_MAX_PAYLOAD. */
#define QINFO_RCPTS_MAX 1000		/* recipients listed per message */
#define QINFO_ERROR_MAX 300		/* bytes of a last error kept */
#define QINFO_HEADERS_MAX (64 * 1024)	/* header section shown */

enum qinfo_state {
	QINFO_LOCAL_PENDING = 0,	/* local delivery to do (or retry) */
	QINFO_REMOTE_WAITING,		/* outbound: waits for its next try */
	QINFO_REMOTE_ACTIVE,		/* outbound: an attempt is under way */
	QINFO_DELIVERED,		/* done; the message waits for others */
	QINFO_FAILED,			/* bounced; likewise */
	QINFO_STATE_COUNT
};

struct qinfo_rcpt {
	int64_t idx;
	char *addr;
	uint32_t state;		/* enum qinfo_state */
	uint32_t attempts;
	int64_t next_try;	/* 0: not scheduled (due now or not remote) */
	char *last_error;	/* "" when none */
};

struct qinfo_msg {
	char *qid;
	uint64_t size;
	int64_t created;
	char *sender;		/* "" for the null sender */
	bool held;
	uint32_t omitted;	/* recipients beyond QINFO_RCPTS_MAX */
	struct qinfo_rcpt *rcpts;
	size_t nrcpts;
	char *headers;		/* "" except for `show` */
};

/* Append a recipient (strings copied; last_error cut to QINFO_ERROR_MAX;
 * beyond QINFO_RCPTS_MAX only counted in omitted). */
void qinfo_add_rcpt(struct qinfo_msg *m, int64_t idx, const char *addr,
		    uint32_t state, uint32_t attempts, int64_t next_try,
		    const char *last_error);
void qinfo_pack(const struct qinfo_msg *m, struct buf *out);
/* -1 when the payload is malformed or over a limit (m is then empty). */
int qinfo_unpack(struct qinfo_msg *m, const uint8_t *data, size_t len);
void qinfo_free(struct qinfo_msg *m);
/* "local pending", "remote waiting", ...; "?" when out of range. */
const char *qinfo_state_name(uint32_t state);

#endif
