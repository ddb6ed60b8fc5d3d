/* libFuzzer target for the DKIM tag-list parser (RFC 6376 §3.2) and what
 * reads tag lists: DKIM-Signature fields and key records, plus the value
 * decoders. Tags found must lie inside the input, with distinct names and
 * their value inside the raw span; b= removal must cut exactly that span. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_sig.h"
#include "mailauth/dkim_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tags(const char *s, size_t len, const struct dkim_taglist *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct dkim_tag *g = &t->tag[i];

		if (g->name < s || g->name + g->name_len > s + len ||
		    g->value < s + g->raw_off ||
		    g->value + g->value_len > s + g->raw_off + g->raw_len ||
		    g->raw_off + g->raw_len > len || g->name_len == 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (t->tag[j].name_len == g->name_len &&
			    memcmp(t->tag[j].name, g->name, g->name_len) == 0)
				abort();
	}
}

static void signature(const char *s, size_t len)
{
	struct dkim_limits lim;
	struct dkim_result r;
	struct dkim_sig sig;
	struct buf field = BUF_INIT, out = BUF_INIT;
	const char *why;

	dkim_limits_default(&lim);
	memset(&r, 0, sizeof(r));
	buf_appends(&field, "DKIM-Signature:");
	buf_append(&field, s, len);
	if (dkim_sig_parse(&sig, field.ptr, field.len, &lim, &r, &why) == 0) {
		const struct dkim_tag *b = dkim_tags_get(&sig.tags, "b");

		dkim_sig_strip_b(&sig, &out);
		if (b == NULL || out.len != field.len - b->raw_len ||
		    sig.n_h == 0 || sig.b_len == 0 || sig.domain[0] == '\0')
			abort();
		(void)dkim_sig_check_time(&sig, 1700000000, 300, &why);
	}
	dkim_sig_free(&sig);
	buf_free(&field);
	buf_free(&out);
}

static void key_record(const char *s, size_t len)
{
	struct dkim_limits lim;
	struct dkim_pubkey k;
	const char *why;

	dkim_limits_default(&lim);
	if (dkim_pubkey_parse(&k, s, len, &lim, &why) == 0) {
		if (k.pkey == NULL)
			abort();
		(void)dkim_pubkey_check(&k, DKIM_RSA_SHA256, &why);
		(void)dkim_pubkey_check(&k, DKIM_ED25519_SHA256, &why);
	}
	dkim_pubkey_free(&k);
}

static void values(const char *s, size_t len)
{
	unsigned char out[256];
	struct dkim_span items[8];
	struct buf b = BUF_INIT;
	size_t n;
	uint64_t v;

	if (dkim_b64_decode(s, len, out, sizeof(out), &n) == 0) {
		dkim_b64_encode(out, n, &b);	/* whitespace-free: same text */
		if (b.len > len)
			abort();
	}
	(void)dkim_list_split(s, len, items, 8, &n);
	(void)dkim_list_has(s, len, "email");
	(void)dkim_number(s, len, 76, &v);
	(void)dkim_domain_ok(s, len, true);
	buf_reset(&b);
	(void)dkim_qp_decode(s, len, &b);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct dkim_taglist t;
	const char *why;

	if (dkim_tags_parse(s, size, &t, &why) == 0)
		check_tags(s, size, &t);
	signature(s, size);
	key_record(s, size);
	values(s, size);
	return 0;
}
