/* ipc: the framed message layer between mailkeep processes (DESIGN §4).
 *
 * Channels are AF_UNIX SOCK_SEQPACKET socketpairs, so one record is one
 * message: a fixed header {type, len, reqid} then len payload bytes, and
 * optionally one passed file descriptor (message bodies travel as fds).
 * The receiver checks that the record length equals the header's; a short,
 * long or truncated record is a protocol violation and closes the channel.
 * Payloads are built with ipc_w_* and read with ipc_r_*, and a reader that
 * does not end exactly at the payload's end is an error (STYLE §9). */
#ifndef MK_IPC_H
#define MK_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_MAX_PAYLOAD (1024 * 1024)

struct event_base;
struct ipc;

/* Called once per message; fd is -1 when none was passed, otherwise the
 * handler owns it. */
typedef void ipc_msg_cb(struct ipc *ch, uint32_t type, uint32_t reqid,
			const uint8_t *data, size_t len, int fd, void *arg);
/* Called once, from the event loop, when the peer is gone or broke the
 * protocol; the owner then frees the channel (ipc_free), possibly inside. */
typedef void ipc_close_cb(struct ipc *ch, void *arg);

struct ipc *ipc_new(struct event_base *base, int fd, const char *peer,
		    ipc_msg_cb *on_msg, ipc_close_cb *on_close, void *arg);
/* Queue a message; fd (or -1) is duplicated, the caller keeps its own. */
void ipc_send(struct ipc *ch, uint32_t type, uint32_t reqid,
	      const void *data, size_t len, int fd);
void ipc_free(struct ipc *ch);
const char *ipc_peer(const struct ipc *ch);
/* Block until everything queued is written (used before exit). */
void ipc_flush(struct ipc *ch);
/* Create a SOCK_SEQPACKET pair, close-on-exec. */
int ipc_socketpair(int fds[2]);

/* Payload writer/reader. Strings travel as u32 length + bytes + NUL. */
void ipc_w_u32(struct buf *b, uint32_t v);
void ipc_w_u64(struct buf *b, uint64_t v);
void ipc_w_str(struct buf *b, const char *s);

struct ipc_reader {
	const uint8_t *p;
	size_t left;
	bool bad;
};
void ipc_r_init(struct ipc_reader *r, const uint8_t *data, size_t len);
uint32_t ipc_r_u32(struct ipc_reader *r);
uint64_t ipc_r_u64(struct ipc_reader *r);
/* Points into the message; "" (and r->bad) on error. */
const char *ipc_r_str(struct ipc_reader *r);
/* 0 when the payload was read exactly and without error, else -1. */
int ipc_r_end(const struct ipc_reader *r);

#endif
