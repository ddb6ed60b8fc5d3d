/* pop3_maildrop: a POP3 session's maildrop (the account's INBOX): the
 * lock (RFC 1939 §8: one POP3 session per maildrop), the snapshot taken at
 * login (§5: messages that arrive later are not seen until the next
 * session), the TRANSACTION commands (§5) and the UPDATE state (§6).
 *
 * Sizes are the stored file sizes (RFC822.SIZE of IMAP; mailkeep writes
 * CRLF line ends). Unique ids are "<uidvalidity>.<uid>", stable for as
 * long as the store keeps its UIDs (a reindex changes UIDVALIDITY). */
#include "pop3/pop3_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proc.h"
#include "imap/imap_server.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store_mail.h"

#define POP3_READ_CHUNK (64 * 1024)	/* message bytes read per step */
#define POP3_LIST_CHUNK 1024		/* LIST / UIDL lines per step */

struct collect {
	struct pop3_session *s;
	uint32_t cap;
};

static int collect_msg(void *ctx, const struct store_msg *m)
{
	struct collect *c = ctx;
	struct pop3_session *s = c->s;

	if (s->nmsgs == UINT32_MAX)
		return 1;	/* more than POP3 can number: the rest waits */
	if (s->nmsgs == c->cap) {
		c->cap = c->cap ? (c->cap > UINT32_MAX / 2 ? UINT32_MAX : c->cap * 2) : 64;
		s->msgs = xrealloc(s->msgs, (size_t)c->cap * sizeof(*s->msgs));
	}
	s->msgs[s->nmsgs].uid = m->uid;
	s->msgs[s->nmsgs].deleted = false;
	s->msgs[s->nmsgs].size = m->size;
	s->nmsgs++;
	s->total_size += m->size;
	return 0;
}

/* INBOX as it is now, in UID order: message n is msgs[n - 1]. */
static int snapshot(struct pop3_session *s, struct imap_account *a,
		    const char **why_r)
{
	struct store_mailbox_state st;
	struct collect c = { s, 0 };
	int r = store_mailbox_open(a->store, "INBOX", &st, why_r);

	if (r <= 0) {
		if (r == 0)
			*why_r = "no INBOX";
		return -1;
	}
	s->mailbox_id = st.id;
	s->uidvalidity = st.uidvalidity;
	if (store_msg_list(a->store, st.id, 1, collect_msg, &c, why_r) < 0) {
		free(s->msgs);
		s->msgs = NULL;
		s->nmsgs = 0;
		s->total_size = 0;
		return -1;
	}
	return 0;
}

int pop3_maildrop_open(struct pop3_session *s, int64_t account,
		       const char *address)
{
	const char *why = NULL;
	struct imap_account *a = imap_server_account_get(account, &why);

	if (a == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] maildrop unavailable");
		return -1;
	}
	if (a->pop3_locked) {
		imap_server_account_put(a);
		log_info("session=%s event=login-refused user=<%s> reason=in-use",
			 s->id, address);
		/* RFC 2449 §8.1.1 [IN-USE] */
		pop3_reply(s, "-ERR [IN-USE] maildrop is locked by another "
			   "POP3 session");
		return -1;
	}
	if (snapshot(s, a, &why) < 0) {
		imap_server_account_put(a);
		log_error("session=%s event=maildrop-failed user=<%s> reason=\"%s\"",
			  s->id, address, why);
		pop3_reply(s, "-ERR [SYS/TEMP] maildrop unavailable");
		return -1;
	}
	a->pop3_locked = true;
	s->locked = true;
	s->acct = a;
	s->user = xstrdup(address);
	s->state = POP3_ST_TRANSACTION;
	pop3_session_set_timeout(s);
	log_info("session=%s event=login user=<%s> client=%s messages=%" PRIu32,
		 s->id, address, s->ip, s->nmsgs);
	pop3_reply(s, "+OK maildrop locked and ready, %" PRIu32 " messages "
		   "(%" PRIu64 " octets)", s->nmsgs, s->total_size);
	return 0;
}

void pop3_maildrop_close(struct pop3_session *s)
{
	if (s->locked)
		s->acct->pop3_locked = false;
	s->locked = false;
	if (s->acct != NULL)
		imap_server_account_put(s->acct);
	s->acct = NULL;
	free(s->msgs);
	s->msgs = NULL;
	s->nmsgs = 0;
}

/* Message n, or NULL after "-ERR" (RFC 1939 §5: a deleted message may
 * not be referred to). A semantic error, not a bad command. */
static struct pop3_msg *msg_get(struct pop3_session *s, uint32_t n)
{
	if (n == 0 || n > s->nmsgs) {
		pop3_reply(s, "-ERR no such message");
		return NULL;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR message %" PRIu32 " is deleted", n);
		return NULL;
	}
	return &s->msgs[n - 1];
}

void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	pop3_reply(s, "+OK %" PRIu32 " %" PRIu64, s->nmsgs - s->ndeleted,
		   s->total_size - s->deleted_size);
}

void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *c)
{
	const struct pop3_msg *m;

	if (c->nargs == 1) {
		if ((m = msg_get(s, c->num[0])) != NULL)
			pop3_reply(s, "+OK %" PRIu32 " %" PRIu64, c->num[0],
				   m->size);
		return;
	}
	pop3_reply(s, "+OK %" PRIu32 " messages (%" PRIu64 " octets)",
		   s->nmsgs - s->ndeleted, s->total_size - s->deleted_size);
	s->job.kind = POP3_JOB_LIST;
	s->job.next = 0;
}

/* RFC 1939 §7 UIDL: 1-70 characters 0x21-0x7E, unique and persistent. */
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *c)
{
	const struct pop3_msg *m;

	if (c->nargs == 1) {
		if ((m = msg_get(s, c->num[0])) != NULL)
			pop3_reply(s, "+OK %" PRIu32 " %" PRIu32 ".%" PRIu32,
				   c->num[0], s->uidvalidity, m->uid);
		return;
	}
	pop3_reply(s, "+OK unique-id listing follows");
	s->job.kind = POP3_JOB_UIDL;
	s->job.next = 0;
}

/* RETR n, TOP n lines (RFC 1939 §5, §7): the file is streamed by jobs. */
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *c)
{
	bool top = c->verb == POP3_CMD_TOP;
	const struct pop3_msg *m = msg_get(s, c->num[0]);
	const char *why = NULL;
	uint64_t size;
	int fd = -1, r;

	if (m == NULL)
		return;
	r = store_msg_open(s->acct->store, s->mailbox_id, m->uid, &fd, &size,
			   &why);
	if (r <= 0) {
		if (r < 0)
			log_error("session=%s event=message-open-failed uid=%" PRIu32
				  " reason=\"%s\"", s->id, m->uid, why);
		pop3_reply(s, r < 0 ? "-ERR [SYS/TEMP] message unavailable" :
			   "-ERR message was removed by another session");
		return;
	}
	if (top)
		pop3_reply(s, "+OK top of message follows");
	else
		pop3_reply(s, "+OK %" PRIu64 " octets", m->size);
	s->retrieved += !top;
	s->job.kind = POP3_JOB_MSG;
	s->job.fd = fd;
	pop3_stuff_init(&s->job.stuff, top, top ? c->num[1] : 0);
}

void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *c)
{
	struct pop3_msg *m = msg_get(s, c->num[0]);

	if (m == NULL)
		return;
	m->deleted = true;
	s->ndeleted++;
	s->deleted_size += m->size;
	pop3_reply(s, "+OK message %" PRIu32 " deleted", c->num[0]);
}

void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	for (uint32_t i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = false;
	s->ndeleted = 0;
	s->deleted_size = 0;
	pop3_reply(s, "+OK maildrop has %" PRIu32 " messages (%" PRIu64
		   " octets)", s->nmsgs, s->total_size);
}

/* RFC 1939 §6: QUIT from TRANSACTION removes the deleted messages, and
 * answers +OK only once that is durable. The lock goes at once, so the
 * client may log in again as soon as it has the answer. */
void pop3_maildrop_update(struct pop3_session *s)
{
	uint32_t *uids = xmalloc(((size_t)s->ndeleted + 1) * sizeof(*uids));
	const char *why = NULL;
	size_t n = 0;
	int r = 0;

	s->state = POP3_ST_UPDATE;
	for (uint32_t i = 0; i < s->nmsgs; i++)
		if (s->msgs[i].deleted)
			uids[n++] = s->msgs[i].uid;	/* ascending */
	if (n > 0)
		r = store_expunge(s->acct->store, s->mailbox_id, uids, n, NULL,
				  NULL, &why);
	if (r < 0) {
		log_error("session=%s event=update-failed user=<%s> reason=\"%s\"",
			  s->id, s->user, why);
		pop3_reply(s, "-ERR [SYS/TEMP] some deleted messages not removed");
	} else {
		if (n > 0)
			imap_server_account_changed(s->acct);
		log_info("session=%s event=update user=<%s> deleted=%zu", s->id,
			 s->user, n);
		pop3_reply(s, "+OK %s mailkeep POP3 signing off (%zu messages "
			   "deleted)", proc_cfg.hostname, n);
	}
	free(uids);
	pop3_maildrop_close(s);
	pop3_session_close(s, NULL);
}

/* --- multi-line responses, produced while the output has room --- */

void pop3_job_end(struct pop3_session *s)
{
	if (s->job.fd >= 0)
		close(s->job.fd);
	s->job.fd = -1;
	s->job.kind = POP3_JOB_NONE;
}

static void list_step(struct pop3_session *s)
{
	struct buf out = BUF_INIT;
	unsigned lines = 0;

	for (; s->job.next < s->nmsgs && lines < POP3_LIST_CHUNK; s->job.next++) {
		const struct pop3_msg *m = &s->msgs[s->job.next];
		uint32_t n = s->job.next + 1;

		if (m->deleted)
			continue;
		if (s->job.kind == POP3_JOB_LIST)
			buf_printf(&out, "%" PRIu32 " %" PRIu64 "\r\n", n, m->size);
		else
			buf_printf(&out, "%" PRIu32 " %" PRIu32 ".%" PRIu32 "\r\n",
				   n, s->uidvalidity, m->uid);
		lines++;
	}
	if (s->job.next == s->nmsgs) {
		buf_appends(&out, ".\r\n");
		pop3_job_end(s);
	}
	pop3_write(s, out.ptr, out.len);
	buf_free(&out);
}

static void msg_step(struct pop3_session *s)
{
	static char chunk[POP3_READ_CHUNK];
	struct buf out = BUF_INIT;
	ssize_t n = read(s->job.fd, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return;
	if (n < 0) {
		/* the response cannot be completed: the client must not take
		 * a cut message for the whole one */
		log_error("session=%s event=message-read-failed reason=\"%s\"",
			  s->id, strerror(errno));
		pop3_job_end(s);
		pop3_session_close(s, "message read failed");
		return;
	}
	if (n > 0)
		pop3_stuff_feed(&s->job.stuff, chunk, (size_t)n, &out);
	if (n == 0 || pop3_stuff_done(&s->job.stuff)) {
		pop3_stuff_finish(&s->job.stuff, &out);
		pop3_job_end(s);
	}
	pop3_write(s, out.ptr, out.len);
	buf_free(&out);
}

void pop3_job_step(struct pop3_session *s)
{
	if (s->job.kind == POP3_JOB_MSG)
		msg_step(s);
	else
		list_step(s);
}
