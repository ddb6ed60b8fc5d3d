/* libFuzzer target for src/smtp/smtp_parse: a command line, then the
 * argument parser of its verb, with all and with no extensions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_EXT 0x7f

static void check_error(const struct smtp_error *err)
{
	if (err->code < 500 || err->code > 555 || err->status == NULL ||
	    err->status[0] != '5' || err->text == NULL)
		abort();
}

static void fuzz_mail(const char *arg, unsigned ext)
{
	struct smtp_mail_args m;
	struct smtp_error err;

	if (smtp_parse_mail(arg, ext, &m, &err) < 0) {
		check_error(&err);
		return;
	}
	if ((m.from.utf8 && !m.smtputf8) || strlen(m.envid) > SMTP_ENVID_MAX ||
	    (m.smtputf8 && !(ext & SMTP_EXT_SMTPUTF8)))
		abort();
}

static void fuzz_rcpt(const char *arg, unsigned ext, bool utf8)
{
	struct smtp_rcpt_args r;
	struct smtp_error err;

	if (smtp_parse_rcpt(arg, ext, utf8, &r, &err) < 0) {
		check_error(&err);
		return;
	}
	if ((r.to.utf8 && !utf8) || r.to.null || (r.notify && !(ext & SMTP_EXT_DSN)))
		abort();
}

/* decode(encode(decode(x))) == decode(x) */
static void fuzz_xtext(const char *arg)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;

	if (smtp_xtext_decode(arg, strlen(arg), &a) == 0) {
		smtp_xtext_encode(a.ptr, a.len, &b);
		if (smtp_xtext_decode(b.ptr, b.len, &c) < 0 || c.len != a.len ||
		    (a.len && memcmp(a.ptr, c.ptr, a.len) != 0))
			abort();
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

static void fuzz_arg(const struct smtp_command *cmd)
{
	struct smtp_error err;
	char helo[SMTP_HELO_MAX + 1];
	uint64_t size;
	bool last;

	switch (cmd->verb) {
	case SMTP_CMD_MAIL:
		fuzz_mail(cmd->arg, ALL_EXT);
		fuzz_mail(cmd->arg, 0);
		break;
	case SMTP_CMD_RCPT:
		fuzz_rcpt(cmd->arg, ALL_EXT, true);
		fuzz_rcpt(cmd->arg, 0, false);
		break;
	case SMTP_CMD_BDAT:
		if (smtp_parse_bdat(cmd->arg, &size, &last, &err) < 0)
			check_error(&err);
		break;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		if (smtp_parse_helo(cmd->arg, helo, sizeof(helo), &err) < 0)
			check_error(&err);
		else if (strlen(helo) == 0 || strchr(helo, ' ') != NULL)
			abort();
		break;
	default:
		fuzz_xtext(cmd->arg);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_command cmd;
	char *line = malloc(size + 1);

	memcpy(line, data, size);
	line[size] = '\0';
	if (smtp_command_parse(line, size, &cmd) == 0) {
		if (cmd.arg == NULL || cmd.verb_text == NULL || cmd.verb_text[0] == '\0')
			abort();
		fuzz_arg(&cmd);
	}
	free(line);
	return 0;
}
