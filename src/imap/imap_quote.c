/* imap_quote: quoted string or literal (RFC 3501 §4.3), see imap_quote.h. */
#include "imap/imap_quote.h"

#include <stdbool.h>
#include <string.h>

static void append_literal(struct buf *out, const char *s, size_t len)
{
	buf_printf(out, "{%zu}\r\n", len);
	buf_append(out, s, len);
}

void imap_quote_string(struct buf *out, const char *s, size_t len)
{
	unsigned escapes = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			escapes++;
		if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80 ||
		    escapes > IMAP_QUOTE_MAX_ESCAPES) {
			append_literal(out, s, len);
			return;
		}
	}
	buf_appendc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_appendc(out, '\\');
		buf_appendc(out, s[i]);
	}
	buf_appendc(out, '"');
}

void imap_quote_nstring(struct buf *out, const char *s)
{
	if (s == NULL)
		buf_appends(out, "NIL");
	else
		imap_quote_string(out, s, strlen(s));
}

static bool is_break_or_end(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

void imap_quote_nstring_nolf(struct buf *out, const char *s)
{
	struct buf tmp = BUF_INIT;

	if (s == NULL || strpbrk(s, "\r\n") == NULL) {
		imap_quote_nstring(out, s);
		return;
	}
	buf_append(&tmp, "", 0);
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			buf_appendc(&tmp, s[i]);
		else if (!is_break_or_end(s[i + 1]))
			buf_appendc(&tmp, ' ');
	}
	imap_quote_string(out, tmp.ptr, tmp.len);
	buf_free(&tmp);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s with white space runs collapsed and the ends trimmed. */
static void collapse(const char *s, size_t len, struct buf *dst)
{
	bool space = false;

	buf_append(dst, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (is_wsp(s[i])) {
			space = dst->len > 0;
			continue;
		}
		if (space)
			buf_appendc(dst, ' ');
		space = false;
		buf_appendc(dst, s[i]);
	}
}

void imap_quote_human(struct buf *out, const char *s, size_t len)
{
	struct buf tmp = BUF_INIT;
	bool plain;

	collapse(s, len, &tmp);
	plain = tmp.len == len;
	for (size_t i = 0; plain && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		plain = c != '"' && c != '\\' && c < 0x80 && c != '\0' &&
			c != '\t' && c != '\r' && c != '\n';
	}
	if (plain || tmp.len == 0) {
		buf_appendc(out, '"');
		buf_append(out, tmp.ptr, tmp.len);
		buf_appendc(out, '"');
	} else {
		append_literal(out, tmp.ptr, tmp.len);
	}
	buf_free(&tmp);
}
