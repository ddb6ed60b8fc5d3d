/* codec: incremental base64 / quoted-printable decoders (RFC 2045 §6.7,
 * §6.8) and the RFC 2047 §4.2 Q decoder. See codec.h for the leniency
 * rules; every state survives any split of the input. */
#include "mail/codec.h"

#include "lib/b64.h"

int codec_hex_value(unsigned char c)
{
	return hex_value(c);
}


static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == '\f' || c == '\v';
}

void codec_b64_init(struct codec_b64 *st)
{
	st->acc = 0;
	st->nsym = 0;
	st->padded = false;
	st->invalid = 0;
}

/* Add one 6-bit symbol; every fourth one completes three octets. */
static void b64_push(struct codec_b64 *st, unsigned v, struct buf *out)
{
	char o[3];

	st->acc = (st->acc << 6) | v;
	if (++st->nsym < 4)
		return;
	o[0] = (char)(st->acc >> 16);
	o[1] = (char)(st->acc >> 8);
	o[2] = (char)st->acc;
	buf_append(out, o, 3);
	st->acc = 0;
	st->nsym = 0;
}

/* '=' ends the data (§6.8): flush the 1 or 2 octets of a partial quantum. */
static void b64_pad(struct codec_b64 *st, struct buf *out)
{
	char o[2];

	if (st->nsym == 2) {
		o[0] = (char)(st->acc >> 4);
		buf_append(out, o, 1);
	} else if (st->nsym == 3) {
		o[0] = (char)(st->acc >> 10);
		o[1] = (char)(st->acc >> 2);
		buf_append(out, o, 2);
	} else if (st->nsym == 1) {
		st->invalid++;	/* 6 bits cannot make an octet */
	}
	st->acc = 0;
	st->nsym = 0;
	st->padded = true;
}

void codec_b64_decode(struct codec_b64 *st, const void *in, size_t len,
		      struct buf *out)
{
	const unsigned char *p = in;
	int v;

	for (size_t i = 0; i < len; i++) {
		if (is_space(p[i]))
			continue;
		if (st->padded) {
			if (p[i] != '=')
				st->invalid++;	/* data after the end */
			continue;
		}
		if (p[i] == '=') {
			b64_pad(st, out);
			continue;
		}
		v = b64_value(p[i]);
		if (v < 0)
			st->invalid++;
		else
			b64_push(st, (unsigned)v, out);
	}
}

int codec_b64_finish(struct codec_b64 *st, struct buf *out)
{
	bool cut = !st->padded && st->nsym != 0;

	if (cut)
		b64_pad(st, out);	/* salvage what the bits give */
	return cut || st->invalid > 0 ? -1 : 0;
}

int codec_b64_decode_all(const char *in, size_t len, struct buf *out)
{
	struct codec_b64 st;

	codec_b64_init(&st);
	codec_b64_decode(&st, in, len, out);
	return codec_b64_finish(&st, out);
}

void codec_qp_init(struct codec_qp *st)
{
	st->state = CODEC_QP_TEXT;
	st->hex = 0;
	st->nws = 0;
	st->invalid = 0;
}

static void qp_flush_ws(struct codec_qp *st, struct buf *out)
{
	buf_append(out, st->ws, st->nws);
	st->nws = 0;
}

static void qp_hold_ws(struct codec_qp *st, char c, struct buf *out)
{
	if (st->nws == CODEC_QP_WS_MAX)
		qp_flush_ws(st, out);
	st->ws[st->nws++] = c;
}

/* A hard line break: trailing white space is dropped (§6.7 rule 3). */
static void qp_line_break(struct codec_qp *st, struct buf *out)
{
	st->nws = 0;
	buf_append(out, "\r\n", 2);
	st->state = CODEC_QP_TEXT;
}

/* A '=' that started no valid escape: keep the bytes as they were. */
static void qp_bad_escape(struct codec_qp *st, struct buf *out)
{
	st->invalid++;
	buf_appendc(out, '=');
	if (st->state == CODEC_QP_EQ_HEX)
		buf_appendc(out, st->hex);
	qp_flush_ws(st, out);
	if (st->state == CODEC_QP_EQ_CR)
		buf_appendc(out, '\r');
	st->state = CODEC_QP_TEXT;
}

static void qp_text(struct codec_qp *st, char c, struct buf *out)
{
	switch (c) {
	case '=':
		qp_flush_ws(st, out);
		st->state = CODEC_QP_EQ;
		break;
	case ' ':
	case '\t':
		qp_hold_ws(st, c, out);
		break;
	case '\r':
		st->state = CODEC_QP_CR;
		break;
	case '\n':
		qp_line_break(st, out);
		break;
	default:
		qp_flush_ws(st, out);
		buf_appendc(out, c);
		break;
	}
}

/* One byte after '=' (states EQ, EQ_HEX, EQ_WS, EQ_CR); false when the
 * byte was not consumed and must be read again as text. */
static bool qp_escape(struct codec_qp *st, char c, struct buf *out)
{
	int hi, lo = codec_hex_value((unsigned char)c);

	if (c == '\n') {	/* soft line break (rule 5) */
		st->nws = 0;
		st->state = CODEC_QP_TEXT;
		return true;
	}
	if (st->state == CODEC_QP_EQ && lo >= 0) {
		st->hex = c;
		st->state = CODEC_QP_EQ_HEX;
		return true;
	}
	if (st->state == CODEC_QP_EQ_HEX && lo >= 0) {
		hi = codec_hex_value((unsigned char)st->hex);
		buf_appendc(out, (char)(hi << 4 | lo));
		st->state = CODEC_QP_TEXT;
		return true;
	}
	if ((c == ' ' || c == '\t') && st->state != CODEC_QP_EQ_HEX &&
	    st->state != CODEC_QP_EQ_CR && st->nws < CODEC_QP_WS_MAX) {
		st->ws[st->nws++] = c;	/* "=  CRLF" is still soft */
		st->state = CODEC_QP_EQ_WS;
		return true;
	}
	if (c == '\r' && st->state != CODEC_QP_EQ_HEX &&
	    st->state != CODEC_QP_EQ_CR) {
		st->state = CODEC_QP_EQ_CR;
		return true;
	}
	qp_bad_escape(st, out);
	return false;
}

static void qp_byte(struct codec_qp *st, char c, struct buf *out)
{
	switch (st->state) {
	case CODEC_QP_TEXT:
		qp_text(st, c, out);
		return;
	case CODEC_QP_CR:
		if (c == '\n') {
			qp_line_break(st, out);
			return;
		}
		qp_flush_ws(st, out);	/* a bare CR is content */
		buf_appendc(out, '\r');
		st->state = CODEC_QP_TEXT;
		qp_text(st, c, out);
		return;
	default:
		if (!qp_escape(st, c, out))
			qp_text(st, c, out);
		return;
	}
}

void codec_qp_decode(struct codec_qp *st, const void *in, size_t len,
		     struct buf *out)
{
	const char *p = in;

	for (size_t i = 0; i < len; i++)
		qp_byte(st, p[i], out);
}

int codec_qp_finish(struct codec_qp *st, struct buf *out)
{
	switch (st->state) {
	case CODEC_QP_EQ:
	case CODEC_QP_EQ_WS:
		break;		/* '=' at the very end: a soft break */
	case CODEC_QP_CR:
		buf_appendc(out, '\r');
		break;
	case CODEC_QP_EQ_HEX:
	case CODEC_QP_EQ_CR:
		qp_bad_escape(st, out);
		break;
	case CODEC_QP_TEXT:
		break;
	}
	st->nws = 0;		/* trailing white space of the last line */
	st->state = CODEC_QP_TEXT;
	return st->invalid > 0 ? -1 : 0;
}

int codec_q_decode(const char *in, size_t len, struct buf *out)
{
	int ret = 0, hi, lo;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '_') {
			buf_appendc(out, ' ');
			continue;
		}
		if (in[i] != '=') {
			buf_appendc(out, in[i]);
			continue;
		}
		hi = i + 1 < len ? codec_hex_value((unsigned char)in[i + 1]) : -1;
		lo = i + 2 < len ? codec_hex_value((unsigned char)in[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			buf_appendc(out, '=');
			ret = -1;
			continue;
		}
		buf_appendc(out, (char)(hi << 4 | lo));
		i += 2;
	}
	return ret;
}
