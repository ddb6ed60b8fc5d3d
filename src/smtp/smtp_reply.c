/* smtp_reply: the SMTP reply parser (RFC 5321 §4.2, §4.2.1 multi-line
 * replies; RFC 2034 §4 enhanced status codes). A line is
 * "NNN" [("-" / SP) text] CRLF; a bare LF also ends a line (lenient
 * reading of the server's output costs nothing here). Every line of a
 * reply must carry the same code. */
#include "smtp/smtp_reply.h"

#include <ctype.h>
#include <string.h>

#include "lib/str.h"

void smtp_reply_parser_init(struct smtp_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->line);
	buf_init(&p->reply.text);
}

void smtp_reply_parser_free(struct smtp_reply_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->reply.text);
}

static void reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	buf_reset(&r->text);
}

/* RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39 */
static int parse_code(const char *s)
{
	if (s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    !isdigit((unsigned char)s[2]))
		return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* RFC 3463 §2: class "." subject "." detail, 1-3 digits each, class 2/4/5
 * and matching the reply code's class (RFC 2034 §4). */
static void parse_enh(struct smtp_reply *r, const char *text)
{
	size_t i = 0, part = 0, digits = 0;

	if (text[0] != (char)('0' + r->code / 100))
		return;
	for (;; i++) {
		if (isdigit((unsigned char)text[i])) {
			if (++digits > 3)
				return;
		} else if (text[i] == '.' && part < 2 && digits > 0) {
			part++;
			digits = 0;
		} else
			break;
	}
	if (part != 2 || digits == 0 || (text[i] != ' ' && text[i] != '\0') ||
	    i >= SMTP_ENH_MAX)
		return;
	memcpy(r->enh, text, i);
	r->enh[i] = '\0';
}

/* One complete line (without its line end): 1 last line, 0 more, -1 bad. */
static int take_line(struct smtp_reply_parser *p, const char **error_r)
{
	const char *s = buf_cstr(&p->line);
	int code;

	if (p->line.len < 3 || (code = parse_code(s)) < 0) {
		*error_r = "malformed reply code";
		return -1;
	}
	if (p->line.len > 3 && s[3] != ' ' && s[3] != '-') {
		*error_r = "malformed reply separator";
		return -1;
	}
	if (p->reply.nlines > 0 && code != p->reply.code) {
		*error_r = "reply code changed inside a multi-line reply";
		return -1;
	}
	if (++p->reply.nlines > SMTP_REPLY_LINES_MAX) {
		*error_r = "too many reply lines";
		return -1;
	}
	if (p->reply.nlines > 1)
		buf_appendc(&p->reply.text, '\n');
	else
		p->reply.code = code;
	buf_append(&p->reply.text, s + (p->line.len > 3 ? 4 : 3),
		   p->line.len > 3 ? p->line.len - 4 : 0);
	if (p->reply.nlines == 1)
		parse_enh(&p->reply, p->line.len > 3 ? s + 4 : "");
	return p->line.len > 3 && s[3] == '-' ? 0 : 1;
}

enum smtp_reply_status smtp_reply_feed(struct smtp_reply_parser *p,
				       const char *data, size_t len,
				       size_t *used, const char **error_r)
{
	const char *err = NULL;
	size_t i;

	*used = 0;
	if (p->failed) {
		*error_r = "reply parser failed earlier";
		return SMTP_REPLY_ERROR;
	}
	if (p->done) {
		reply_reset(&p->reply);
		p->done = false;
	}
	for (i = 0; i < len; i++) {
		char c = data[i];
		int r;

		if (c != '\n') {
			if (p->line.len >= SMTP_REPLY_LINE_MAX || c == '\0') {
				err = c ? "reply line too long" : "NUL in reply";
				goto fail;
			}
			buf_appendc(&p->line, c);
			continue;
		}
		if (p->line.len > 0 && p->line.ptr[p->line.len - 1] == '\r')
			buf_truncate(&p->line, p->line.len - 1);
		r = take_line(p, &err);
		buf_reset(&p->line);
		if (r < 0)
			goto fail;
		if (r == 1) {
			*used = i + 1;
			p->done = true;
			return SMTP_REPLY_DONE;
		}
	}
	*used = len;
	return SMTP_REPLY_MORE;
fail:
	p->failed = true;
	*used = i;
	*error_r = err;
	return SMTP_REPLY_ERROR;
}

void smtp_reply_oneline(const struct smtp_reply *r, struct buf *out)
{
	const char *t = buf_cstr(&r->text);

	buf_printf(out, "%03d", r->code);
	if (r->text.len > 0)
		buf_appendc(out, ' ');
	for (size_t i = 0; i < r->text.len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c == '\n')
			buf_appendc(out, ' ');
		else
			buf_appendc(out, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}
