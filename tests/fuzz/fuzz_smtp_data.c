/* libFuzzer target for src/smtp/smtp_data: the first two bytes choose the
 * mode and limits; the rest is decoded in one go and one byte at a time,
 * which must give identical results. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	struct smtp_data d;
	struct buf out;
	size_t consumed;
};

static void decode(struct result *r, const struct smtp_data_limits *lim,
		   bool bdat, const char *in, size_t len, size_t step)
{
	buf_init(&r->out);
	smtp_data_init(&r->d, lim, bdat);
	r->consumed = 0;
	while (r->consumed < len && !r->d.done) {
		size_t n = step == 0 || len - r->consumed < step ? len - r->consumed : step;
		size_t used = smtp_data_feed(&r->d, in + r->consumed, n, &r->out);

		if (used > n || (used < n && !r->d.done))
			abort();
		r->consumed += used;
	}
	if (bdat)
		smtp_data_finish_bdat(&r->d, &r->out);
}

static void same(const struct result *a, const struct result *b)
{
	if (a->consumed != b->consumed || a->d.done != b->d.done ||
	    a->d.bare_newline != b->d.bare_newline ||
	    a->d.line_too_long != b->d.line_too_long ||
	    a->d.too_big != b->d.too_big || a->d.size != b->d.size ||
	    a->out.len != b->out.len ||
	    (a->out.len && memcmp(a->out.ptr, b->out.ptr, a->out.len) != 0))
		abort();
}

/* Invariants of one decode. */
static void check(const struct result *r, const struct smtp_data_limits *lim,
		  const char *in)
{
	if (r->d.done && (r->consumed < 3 ||
			  memcmp(in + r->consumed - 3, ".\r\n", 3) != 0))
		abort();
	if (lim->max_size && r->out.len > lim->max_size)
		abort();
	if (!lim->max_size && r->out.len != r->d.size)
		abort();
	if (lim->bare != SMTP_BARE_NORMALIZE || lim->max_size)
		return;
	for (size_t i = 0; i < r->out.len; i++)
		if ((r->out.ptr[i] == '\r' && (i + 1 == r->out.len || r->out.ptr[i + 1] != '\n')) ||
		    (r->out.ptr[i] == '\n' && (i == 0 || r->out.ptr[i - 1] != '\r')))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data_limits lim;
	struct result one, bytes;
	const char *in = (const char *)data + 2;
	bool bdat;

	if (size < 2)
		return 0;
	lim.bare = (data[0] & 1) ? SMTP_BARE_REJECT : SMTP_BARE_NORMALIZE;
	bdat = (data[0] & 2) != 0;
	lim.max_line = (data[0] >> 2) == 0 ? 0 : (size_t)(data[0] >> 2) + 2;
	lim.max_size = data[1] == 0 ? 0 : (uint64_t)data[1] * 3;
	decode(&one, &lim, bdat, in, size - 2, 0);
	decode(&bytes, &lim, bdat, in, size - 2, 1);
	same(&one, &bytes);
	check(&one, &lim, in);
	buf_free(&one.out);
	buf_free(&bytes.out);
	return 0;
}
