/* libFuzzer target for src/pop3: the first three bytes choose the mode
 * (command lines or AUTH lines; RETR or TOP), TOP's line count and a
 * piece size. The rest goes through the line reader (in pieces) into the
 * command and AUTH parsers, and through the RETR/TOP encoder in one go
 * and in pieces, which must agree; a RETR encoding, un-stuffed the way a
 * client does, must give back the input with CRLF line ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_parse.h"
#include "pop3/pop3_stuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_command(const char *text, size_t len)
{
	char *line = malloc(len + 1);
	struct pop3_command c;
	const char *error = NULL;
	bool unknown;

	memcpy(line, text, len);
	line[len] = '\0';
	if (pop3_command_parse(line, len, &c, &unknown, &error) == 0) {
		if (c.verb >= POP3_CMD_COUNT || c.nargs > 2)
			abort();
		for (unsigned i = 0; i < c.nargs; i++)
			if (c.arg[i] < line || c.arg[i] + c.arglen[i] > line + len ||
			    strlen(c.arg[i]) != c.arglen[i])
				abort();
	} else if (error == NULL) {
		abort();
	}
	free(line);
}

static void frame(const char *in, size_t len, size_t step, bool sasl)
{
	struct pop3_line l;
	struct buf out = BUF_INIT;
	size_t off = 0, max = sasl ? POP3_SASL_LINE_MAX : POP3_LINE_MAX;

	pop3_line_init(&l, max);
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used, tlen;
		const char *t;

		if (pop3_line_feed(&l, in + off, n, &used) == POP3_LINE_DONE) {
			t = pop3_line_text(&l, &tlen);
			if (tlen > max - 2 || t[tlen] != '\0')
				abort();
			if (sasl) {
				buf_reset(&out);
				if (pop3_sasl_line(t, tlen, &out) == POP3_SASL_DATA &&
				    out.len > tlen)
					abort();
			} else {
				check_command(t, tlen);
			}
		}
		if (used == 0 || used > n)
			abort();
		off += used;
	}
	pop3_line_free(&l);
	buf_free(&out);
}

static void encode(const char *in, size_t len, size_t step, bool top,
		   uint32_t lines, struct buf *out)
{
	struct pop3_stuff st;
	size_t off = 0;

	pop3_stuff_init(&st, top, lines);
	while (off < len && !pop3_stuff_done(&st)) {
		size_t n = len - off < step ? len - off : step;
		pop3_stuff_feed(&st, in + off, n, out);
		off += n;
	}
	pop3_stuff_finish(&st, out);
}

/* What a client gets back: lines up to the lone ".", leading dot removed. */
static void unstuff(const struct buf *enc, struct buf *out)
{
	size_t i = 0;

	while (i < enc->len) {
		const char *lf = memchr(enc->ptr + i, '\n', enc->len - i);
		size_t n;

		if (lf == NULL || lf == enc->ptr + i || lf[-1] != '\r')
			abort();	/* every line ends in CRLF */
		n = (size_t)(lf - (enc->ptr + i)) + 1;
		if (n == 3 && enc->ptr[i] == '.') {
			if (i + 3 != enc->len)
				abort();	/* the termination is last */
			return;
		}
		if (enc->ptr[i] == '.')
			buf_append(out, enc->ptr + i + 1, n - 1);
		else
			buf_append(out, enc->ptr + i, n);
		i += n;
	}
	abort();	/* no termination */
}

static void check_retr(const char *in, size_t len, const struct buf *enc)
{
	struct buf want = BUF_INIT, got = BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			buf_appendc(&want, '\r');
		buf_appendc(&want, in[i]);
	}
	if (len > 0 && in[len - 1] != '\n')
		buf_appends(&want, in[len - 1] == '\r' ? "\n" : "\r\n");
	unstuff(enc, &got);
	if (got.len != want.len ||
	    (got.len > 0 && memcmp(got.ptr, want.ptr, got.len) != 0))
		abort();
	buf_free(&want);
	buf_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole = BUF_INIT, pieces = BUF_INIT;
	const char *in = (const char *)data + 3;
	size_t len, step;
	bool top;

	if (size < 3)
		return 0;
	len = size - 3;
	top = (data[0] & 2) != 0;
	step = data[2] == 0 ? 1 : data[2];
	frame(in, len, step, (data[0] & 1) != 0);
	encode(in, len, len + 1, top, data[1], &whole);
	encode(in, len, step, top, data[1], &pieces);
	if (whole.len != pieces.len || memcmp(whole.ptr, pieces.ptr, whole.len) != 0)
		abort();
	if (top)
		unstuff(&whole, &pieces);	/* well-formed, whatever it holds */
	else
		check_retr(in, len, &whole);
	buf_free(&whole);
	buf_free(&pieces);
	return 0;
}
