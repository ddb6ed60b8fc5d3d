/* smtp_submit: policy of the submission ports 587 (STARTTLS, RFC 3207 and
 * RFC 6409) and 465 (implicit TLS, RFC 8314): TLS before passwords, AUTH
 * before MAIL (RFC 4954 §6), the sender must belong to the account
 * ([submission] sender_check), and Message-ID:/Date: are added when the
 * client left them out (RFC 6409 §8.2, §8.3), also for local submission
 * (smtp_local.c). */
#include "smtp/smtp_session.h"

#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "daemon/proc.h"
#include "daemon/proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/str.h"
#include "smtp/smtp_checks.h"

bool smtp_submit_is_submission(const struct smtp_session *s)
{
	return s->service == SVC_SUBMISSION || s->service == SVC_SUBMISSIONS;
}

bool smtp_submit_tls_ok(const struct smtp_session *s)
{
	return s->ssl != NULL || (proc_cfg.submission_plaintext_loopback &&
				  netaddr_is_loopback((const struct sockaddr *)&s->peer));
}

bool smtp_submit_mail_allowed(struct smtp_session *s)
{
	if (!smtp_submit_is_submission(s))
		return true;
	if (!smtp_submit_tls_ok(s)) {	/* RFC 3207 §4 */
		smtp_cmd_bad(s, "530 5.7.0 Must issue a STARTTLS command first");
		return false;
	}
	if (!s->authenticated) {	/* RFC 4954 §6 */
		smtp_cmd_bad(s, "530 5.7.0 Authentication required");
		return false;
	}
	return true;
}

static void sender_refused(struct smtp_session *s)
{
	log_info("session=%s event=sender-rejected user=<%s> from=<%s>", s->id,
		 s->auth_user, s->env.sender);
	smtp_transaction_reset(s);
	smtp_cmd_bad(s, "553 5.7.1 Sender address rejected: not owned by user");
}

void smtp_submit_sender(struct smtp_session *s)
{
	struct buf m = BUF_INIT;

	if (s->mail.from.null) {
		/* bounces come from the queue, not from users */
		sender_refused(s);
		return;
	}
	if (proc_cfg.submission_sender_check == SENDER_CHECK_ANY) {
		smtp_reply(s, "250 2.1.0 Ok");
		return;
	}
	ipc_w_u64(&m, (uint64_t)s->account);
	ipc_w_str(&m, s->env.sender);
	if (smtp_server_request(s, PROC_AUTH, MSG_SENDER_CHECK, &m,
				SMTP_WAIT_SENDER) == 0)
		smtp_submit_sender_result(s, SENDER_TEMPFAIL);
	buf_free(&m);
}

void smtp_submit_sender_result(struct smtp_session *s, uint32_t status)
{
	switch (status) {
	case SENDER_OK:
		smtp_reply(s, "250 2.1.0 Ok");
		break;
	case SENDER_NOT_OWNED:
		sender_refused(s);
		break;
	default:
		smtp_transaction_reset(s);
		smtp_reply(s, "451 4.3.0 Error: temporary sender lookup failure");
		break;
	}
}

void smtp_submit_header_field(struct smtp_session *s, const char *f, size_t n)
{
	if (n >= 11 && str_nieq(f, "Message-ID:", 11))
		s->hdr_msgid = true;
	else if (n >= 5 && str_nieq(f, "Date:", 5))
		s->hdr_date = true;
}

/* RFC 6409 §8.2 and §8.3: complete what the client left out; the domain
 * of the Message-ID is our host name (RFC 5322 §3.6.4). */
void smtp_submit_missing_fields(struct smtp_session *s, struct buf *out)
{
	char date[64], rnd[25];
	time_t now = time(NULL);
	struct tm tm;

	if (!smtp_submit_is_submission(s) && !smtp_local_is_local(s))
		return;
	if (!s->hdr_msgid) {
		str_random_hex(rnd, sizeof(rnd));
		buf_printf(out, "Message-ID: <%s@%s>\r\n", rnd, proc_cfg.hostname);
	}
	if (!s->hdr_date) {
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		buf_printf(out, "Date: %s\r\n", date);
	}
	s->hdr_msgid = s->hdr_date = true;
}
