/* dsn: RFC 3464 delivery status notifications in an RFC 3462
 * multipart/report, with the human-readable part first, the
 * message/delivery-status part second and the original (headers, RFC 3462
 * text/rfc822-headers, or the whole message/rfc822) third. Auto-Submitted:
 * auto-replied (RFC 3834 §5) keeps responders from answering it. */
#include "queue/dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"

bool dsn_wanted(const struct dsn_rcpt *r)
{
	unsigned n = r->notify ? r->notify : DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;

	if (n & DSN_NOTIFY_NEVER)
		return false;
	return r->action == DSN_FAILED ? (n & DSN_NOTIFY_FAILURE) != 0
				       : (n & DSN_NOTIFY_DELAY) != 0;
}

void dsn_date(struct buf *out, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	buf_printf(out, "%s, %d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday],
		   tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
		   tm.tm_min, tm.tm_sec);
}

/* A header-style field, control characters dropped, folded at spaces
 * before 78 columns where possible (RFC 5322 §2.2.3), value capped. */
static void field(struct buf *out, const char *name, const char *value)
{
	size_t col = strlen(name) + 2, n = strlen(value);

	buf_printf(out, "%s: ", name);
	if (n > DSN_DIAG_MAX)
		n = DSN_DIAG_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && col > 60) {
			const char *next = memchr(value + i + 1, ' ', n - i - 1);
			size_t word = next ? (size_t)(next - value - i - 1) : n - i - 1;

			if (col + word > 76) {
				buf_appends(out, "\r\n ");
				col = 1;
				continue;
			}
		}
		buf_appendc(out, (char)c);
		col++;
	}
	buf_appends(out, "\r\n");
}

static void field_date(struct buf *out, const char *name, time_t t)
{
	struct buf d = BUF_INIT;

	dsn_date(&d, t);
	field(out, name, buf_cstr(&d));
	buf_free(&d);
}

/* Plain words for the sender, by enhanced status (RFC 3463 codes). */
static const struct { const char *prefix; const char *say; } explain[] = {
	{ "5.1.1", "the mailbox does not exist at the receiving server. Check the address for typing mistakes." },
	{ "5.1.2", "the recipient's domain does not exist. Check the part of the address after the @." },
	{ "5.1.10", "the recipient's domain says that it does not accept mail at all (null MX)." },
	{ "5.2.2", "the recipient's mailbox is full. Try again later or reach them another way." },
	{ "5.3.4", "the message is too large for the receiving server. Send smaller attachments or share a link instead." },
	{ "5.4.4", "no mail server could be found for the recipient's domain." },
	{ "5.4.6", "the recipient's domain sends mail for it back to this server (a mail loop); its DNS records are wrong." },
	{ "5.6.3", "the message contains 8-bit data but the receiving server only accepts 7-bit messages." },
	{ "5.6.7", "the message uses international (UTF-8) addresses, which the receiving server does not support." },
	{ "5.7.", "the receiving server refused the message by its policy (for example spam filtering or sender authentication)." },
	{ "5.", "the receiving server refused the message permanently." },
	{ "4.", "the receiving server could not be reached or asked us to try again later." },
};

static const char *explain_status(const char *status)
{
	for (size_t i = 0; i < sizeof(explain) / sizeof(explain[0]); i++)
		if (strncmp(status, explain[i].prefix, strlen(explain[i].prefix)) == 0 &&
		    (explain[i].prefix[strlen(explain[i].prefix) - 1] == '.' ||
		     status[strlen(explain[i].prefix)] == '\0'))
			return explain[i].say;
	return "delivery failed.";
}

static void human_list(const struct dsn_msg *m, const bool *want,
		       enum dsn_action action, struct buf *out)
{
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct dsn_rcpt *r = &m->rcpts[i];

		if (!want[i] || r->action != action)
			continue;
		buf_printf(out, "\r\n<%s>: %s\r\n", r->addr, explain_status(r->status));
		if (r->diagnostic != NULL && r->diagnostic[0] != '\0')
			field(out, r->diagnostic_local ? "    Reason" :
			      "    The receiving server said", r->diagnostic);
	}
}

static void human_part(const struct dsn_msg *m, const bool *want, bool failed,
		       bool delayed, bool full, struct buf *out)
{
	buf_printf(out, "This is the mail system at host %s.\r\n", m->reporting_mta);
	if (failed) {
		buf_appends(out, "\r\nYour message could not be delivered to the recipients "
			    "below. This is final: the mail system has given up.\r\n");
		human_list(m, want, DSN_FAILED, out);
	}
	if (delayed) {
		buf_appends(out, "\r\nYour message has not been delivered yet to the recipients "
			    "below. There is no need to send it again: the mail system keeps "
			    "trying until ");
		dsn_date(out, m->retry_until);
		buf_appends(out, " and tells you if it finally fails.\r\n");
		human_list(m, want, DSN_DELAYED, out);
	}
	buf_printf(out, "\r\n%s\r\n",
		   full ? "Your message is attached in full." :
		   "The headers of your message are attached.");
}

static void recipient_fields(const struct dsn_msg *m, const struct dsn_rcpt *r,
			     struct buf *out)
{
	struct buf t = BUF_INIT;
	const char *semi = r->orcpt ? strchr(r->orcpt, ';') : NULL;

	buf_appends(out, "\r\n");
	if (semi != NULL) {	/* RFC 3464 §2.3.1 */
		buf_append(&t, r->orcpt, (size_t)(semi - r->orcpt));
		buf_printf(&t, "; %s", semi + 1);
		field(out, "Original-Recipient", buf_cstr(&t));
		buf_reset(&t);
	}
	buf_printf(&t, "rfc822; %s", r->addr);	/* §2.3.2 */
	field(out, "Final-Recipient", buf_cstr(&t));
	field(out, "Action", r->action == DSN_FAILED ? "failed" : "delayed");
	field(out, "Status", r->status);
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0') {
		buf_reset(&t);
		buf_printf(&t, "dns; %s", r->remote_mta);
		field(out, "Remote-MTA", buf_cstr(&t));
	}
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0') {	/* §2.3.6 */
		buf_reset(&t);
		buf_printf(&t, "%s; %s", r->diagnostic_local ? "X-mailkeep" : "smtp",
			   r->diagnostic);
		field(out, "Diagnostic-Code", buf_cstr(&t));
	}
	if (r->last_attempt != 0)
		field_date(out, "Last-Attempt-Date", r->last_attempt);
	if (r->action == DSN_DELAYED && m->retry_until != 0)
		field_date(out, "Will-Retry-Until", m->retry_until);	/* §2.3.9 */
	buf_free(&t);
}

/* RFC 3464 §2.2 per-message fields, then §2.3 per-recipient fields. */
static void status_part(const struct dsn_msg *m, const bool *want, struct buf *out)
{
	struct buf t = BUF_INIT;

	buf_printf(&t, "dns; %s", m->reporting_mta);
	field(out, "Reporting-MTA", buf_cstr(&t));
	if (m->envid != NULL && m->envid[0] != '\0')
		field(out, "Original-Envelope-Id", m->envid);
	if (m->arrival != 0)
		field_date(out, "Arrival-Date", m->arrival);
	for (size_t i = 0; i < m->nrcpts; i++)
		if (want[i])
			recipient_fields(m, &m->rcpts[i], out);
	buf_free(&t);
}

/* Read the original: all of it up to max+1 bytes (to tell "too big"). */
static int read_original(const struct dsn_msg *m, struct buf *b, size_t max)
{
	char chunk[8192];

	while (b->len <= max) {
		size_t n = max + 1 - b->len < sizeof(chunk) ? max + 1 - b->len : sizeof(chunk);
		ssize_t r = m->read(m->read_arg, chunk, n);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		buf_append(b, chunk, (size_t)r);
		if (memmem(b->ptr, b->len, "\r\n\r\n", 4) && max == DSN_HEADERS_MAX)
			break;
	}
	return 0;
}

/* Cut to the header block, ending with one CRLF (RFC 3462 §3). */
static void headers_only(struct buf *b)
{
	const char *end = memmem(b->ptr ? b->ptr : "", b->len, "\r\n\r\n", 4);

	if (end != NULL)
		buf_truncate(b, (size_t)(end - b->ptr) + 2);
	else if (b->len > DSN_HEADERS_MAX)
		buf_truncate(b, DSN_HEADERS_MAX);
	if (b->len > 0 && (b->len < 2 || memcmp(b->ptr + b->len - 2, "\r\n", 2) != 0))
		buf_appends(b, "\r\n");
}

/* A boundary that occurs nowhere in the content (RFC 2046 §5.1.1). */
static void pick_boundary(const struct dsn_msg *m, const struct buf *content,
			  char *bnd, size_t size)
{
	for (unsigned k = 0;; k++) {
		snprintf(bnd, size, "=_mk_%.40s_%u", m->message_id, k);
		for (char *p = bnd; *p; p++)
			if (*p == '@' || *p == ' ' || *p == '"')
				*p = '.';
		if (memmem(content->ptr ? content->ptr : "", content->len, bnd,
			   strlen(bnd)) == NULL)
			return;
	}
}

static void top_headers(const struct dsn_msg *m, bool failed, const char *bnd,
			struct buf *out)
{
	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", m->reporting_mta);
	buf_printf(out, "To: <%s>\r\n", m->sender);
	buf_printf(out, "Subject: %s\r\n", failed ?
		   "Undelivered Mail Returned to Sender" :
		   "Delayed Mail (still being retried)");
	field_date(out, "Date", m->now);
	buf_printf(out, "Message-ID: <%s>\r\n", m->message_id);
	buf_appends(out, "Auto-Submitted: auto-replied\r\n");
	buf_appends(out, "MIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		   " boundary=\"%s\"\r\n\r\n", bnd);
	buf_appends(out, "This is a MIME-encapsulated delivery status notification.\r\n");
}

static void assemble(const struct dsn_msg *m, const bool *want, bool failed,
		     bool delayed, bool full, const struct buf *orig, struct buf *out)
{
	struct buf human = BUF_INIT, status = BUF_INIT;
	char bnd[80];

	human_part(m, want, failed, delayed, full, &human);
	status_part(m, want, &status);
	pick_boundary(m, orig, bnd, sizeof(bnd));
	top_headers(m, failed, bnd, out);
	buf_printf(out, "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "Content-Description: Notification\r\n\r\n", bnd);
	buf_append(out, human.ptr, human.len);
	buf_printf(out, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n"
		   "Content-Description: Delivery report\r\n\r\n", bnd);
	buf_append(out, status.ptr, status.len);
	buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\nContent-Description: %s\r\n\r\n",
		   bnd, full ? "message/rfc822" : "text/rfc822-headers",
		   full ? "Undelivered message" : "Undelivered message headers");
	buf_append(out, orig->ptr, orig->len);
	if (orig->len >= 2 && memcmp(orig->ptr + orig->len - 2, "\r\n", 2) != 0)
		buf_appends(out, "\r\n");
	buf_printf(out, "\r\n--%s--\r\n", bnd);
	buf_free(&human);
	buf_free(&status);
}

enum dsn_result dsn_build(const struct dsn_msg *m, struct buf *out,
			  const char **error_r)
{
	bool *want, any = false, failed = false, delayed = false, full = m->ret_full;
	size_t max = m->full_max ? m->full_max : DSN_FULL_MAX_DEFAULT;
	struct buf orig = BUF_INIT;

	*error_r = "";
	if (m->sender == NULL || m->sender[0] == '\0')	/* RFC 3461 §6.2, RFC 5321 §4.5.5 */
		return DSN_NONE;
	want = calloc(m->nrcpts ? m->nrcpts : 1, sizeof(*want));
	for (size_t i = 0; i < m->nrcpts; i++) {
		want[i] = dsn_wanted(&m->rcpts[i]);
		any |= want[i];
		failed |= want[i] && m->rcpts[i].action == DSN_FAILED;
		delayed |= want[i] && m->rcpts[i].action == DSN_DELAYED;
	}
	if (!any) {
		free(want);
		return DSN_NONE;
	}
	if (read_original(m, &orig, full ? max : DSN_HEADERS_MAX) < 0) {
		free(want);
		buf_free(&orig);
		*error_r = "cannot read the original message";
		return DSN_ERROR;
	}
	if (!full || orig.len > max) {
		full = false;
		headers_only(&orig);
	}
	assemble(m, want, failed, delayed, full, &orig, out);
	free(want);
	buf_free(&orig);
	return DSN_BUILT;
}
