/* libFuzzer target for src/cli/sendmail_parse: the recipients of hostile
 * To:/Cc:/Bcc: fields and the message prepared for DATA.
 * Invariants: every recipient is a canonical address that parses again
 * (no CR, LF or '>' that could smuggle an SMTP command); the data is all
 * CRLF lines, none of them a lone "." (dot-stuffing), none over
 * SENDMAIL_MAX_LINE + 1 octets, and without a Bcc: field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sendmail_parse.h"
#include "mail/addr.h"
#include "mail/mime_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rcpts(const struct sendmail_rcpts *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct mail_addr a;
		const char *why;

		if (strpbrk(r->v[i], "\r\n<>") != NULL && r->v[i][0] != '"')
			abort();
		if (mail_addr_parse(r->v[i], strlen(r->v[i]), MAIL_ADDR_ALLOW_UTF8,
				    &a, &why) < 0)
			abort();
	}
}

static void check_data(const struct buf *d)
{
	size_t pos = 0, hdr_end = mime_header_block_len(d->ptr ? d->ptr : "", d->len);
	struct mime_header_iter it;
	struct mime_header_field f;

	while (pos < d->len) {
		const char *nl = memchr(d->ptr + pos, '\n', d->len - pos);
		size_t n;
		if (nl == NULL || nl == d->ptr + pos || nl[-1] != '\r')
			abort();	/* every line ends with CRLF */
		n = (size_t)(nl - (d->ptr + pos)) - 1;
		if ((n == 1 && d->ptr[pos] == '.') || n > SENDMAIL_MAX_LINE + 1)
			abort();
		pos += n + 2;
	}
	mime_header_iter_init(&it, d->ptr ? d->ptr : "", hdr_end);
	while (mime_header_next(&it, &f) == 1)
		if (mime_header_name_is(&f, "Bcc"))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sendmail_rcpts r = { 0 };
	struct sendmail_msg_params p = { .origin = "example.org",
					 .from_addr = "me@example.org" };
	struct sendmail_msg m;
	const char *why = NULL;
	size_t bad;

	if (size == 0)
		return 0;
	p.ignore_dots = data[0] & 1;
	p.extract = data[0] & 2;
	p.fullname = (data[0] & 4) ? "Fuzz \"Q\" <x>\r\n" : NULL;
	sendmail_header_rcpts((const char *)data + 1, size - 1, "example.org", &r, &bad);
	check_rcpts(&r);
	sendmail_rcpts_free(&r);
	if (sendmail_msg_build((const char *)data + 1, size - 1, &p, &m, &why) == 0) {
		check_rcpts(&m.rcpts);
		check_data(&m.data);
	} else if (m.long_line == 0) {
		abort();
	}
	sendmail_msg_free(&m);
	return 0;
}
