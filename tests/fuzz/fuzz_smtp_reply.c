/* libFuzzer target for src/smtp/smtp_reply and smtp_client: the input is
 * parsed as server replies in one go and one byte at a time (the replies
 * must be identical), then fed as a server's side of a session to the
 * client engine, which answers every state as a queue would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_client.h"
#include "smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse everything; record "code nlines text|" per reply into sig. */
static void parse_all(const char *in, size_t len, size_t step, struct buf *sig)
{
	struct smtp_reply_parser p;
	size_t off = 0;

	smtp_reply_parser_init(&p);
	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step, used;
		const char *err = NULL;
		enum smtp_reply_status st = smtp_reply_feed(&p, in + off, n, &used, &err);

		if (used > n)
			abort();
		off += used;
		if (st == SMTP_REPLY_ERROR) {
			if (err == NULL)
				abort();
			buf_appends(sig, "ERR");
			break;
		}
		if (st == SMTP_REPLY_DONE) {
			size_t nl = 0;

			if (p.reply.code < 200 || p.reply.code > 559 || p.reply.nlines == 0)
				abort();
			for (size_t i = 0; i < p.reply.text.len; i++)
				nl += p.reply.text.ptr[i] == '\n';
			if (nl + 1 != p.reply.nlines)
				abort();
			buf_printf(sig, "%d %u %s %s|", p.reply.code, p.reply.nlines,
				   p.reply.enh, buf_cstr(&p.reply.text));
			smtp_reply_oneline(&p.reply, sig);
		}
	}
	smtp_reply_parser_free(&p);
}

static void drive_client(const char *in, size_t len, bool bytewise)
{
	static const struct smtp_client_rcpt rcpts[] = {
		{ "a@b.example", SMTP_NOTIFY_FAILURE, "rfc822;a@b.example" },
		{ "c@b.example", 0, NULL },
	};
	static const struct smtp_client_msg msg = {
		.sender = "s@a.example", .body = SMTP_BODY_7BIT, .size = 100,
		.envid = "x", .rcpts = rcpts, .nrcpts = 2,
	};
	struct smtp_client_params params = {
		.helo_name = "me.example", .tls = SMTP_CLIENT_TLS_MAY,
		.auth_user = "u", .auth_pass = "p", .auth_without_tls = true,
	};
	struct smtp_client *c = smtp_client_new(&params);
	unsigned sent = 0;

	for (size_t off = 0; off < len && smtp_client_state(c) != SMTP_CLIENT_CLOSED;) {
		size_t n = bytewise ? 1 : len - off;

		switch (smtp_client_state(c)) {
		case SMTP_CLIENT_READY:
		case SMTP_CLIENT_MSG_DONE:
			if (sent++ < 2)
				smtp_client_send(c, &msg);
			else
				smtp_client_quit(c);
			continue;
		case SMTP_CLIENT_STARTTLS:
			smtp_client_tls_started(c);
			continue;
		case SMTP_CLIENT_DATA:
			smtp_client_data(c, ".x\r\n", 4);
			smtp_client_data_end(c);
			continue;
		default:
			break;
		}
		smtp_client_input(c, in + off, n);
		off += n;
		buf_reset(smtp_client_output(c));
	}
	for (size_t i = 0; i < 2; i++)
		if (smtp_client_rcpt_result(c, i) == NULL && sent > 0)
			abort();
	smtp_client_abort(c, "end of input");
	smtp_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (size > 65536)
		return 0;
	parse_all((const char *)data, size, 0, &a);
	parse_all((const char *)data, size, 1, &b);
	if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
		abort();
	buf_free(&a);
	buf_free(&b);
	drive_client((const char *)data, size, false);
	drive_client((const char *)data, size, true);
	return 0;
}
