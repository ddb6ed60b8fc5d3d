/* libFuzzer target for src/mailauth SPF record parsing and macro expansion.
 * The input is one TXT record. Whatever parses must have valid domain-specs
 * that expand (for an IPv4 and an IPv6 client, with and without %{p}
 * known) within the expansion limit; the input is also expanded as
 * explanation text, which must agree with the syntax check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ctx_init(struct spf_macro_ctx *ctx, const char *addr, char *i,
		     char *c)
{
	struct spf_ip ip;

	if (spf_ip_parse(addr, strlen(addr), &ip) < 0)
		abort();
	spf_macro_ip(&ip, i, 64, c, 46, &ctx->v);
	ctx->s = "strong-bad+x=y@email.example.com";
	ctx->l = "strong-bad+x=y";
	ctx->o = "email.example.com";
	ctx->d = "sub.email.example.com";
	ctx->i = i;
	ctx->c = c;
	ctx->p = "mx.example.org";
	ctx->h = "helo with spaces/and%signs";
	ctx->r = "receiver.example";
	ctx->t = "1400000000";
}

/* One expansion: a syntax error must be reported as such, %{p} asked for
 * only when p is unknown, and nothing left in out unless it succeeded. */
static void expand_one(const char *s, size_t len, int flags,
		       const struct spf_macro_ctx *ctx, int checked)
{
	struct buf out = BUF_INIT;
	const char *error;
	enum spf_macro_status st;

	st = spf_macro_expand(s, len, flags, ctx, &out, &error);
	if (checked < 0 && st != SPF_MACRO_ERROR)
		abort();
	if (st == SPF_MACRO_NEED_P && ctx->p != NULL)
		abort();
	if (st != SPF_MACRO_OK && out.len != 0)
		abort();
	if (st == SPF_MACRO_OK && out.len > SPF_MAX_EXPANSION)
		abort();
	buf_free(&out);
}

/* Expand a macro-string with %{p} known and unknown. */
static void expand(const char *s, size_t len, int flags,
		   const struct spf_macro_ctx *ctx)
{
	struct spf_macro_ctx nop = *ctx;
	const char *error;
	int checked = spf_macro_check(s, len, flags, NULL, &error);

	expand_one(s, len, flags, ctx, checked);
	nop.p = NULL;
	expand_one(s, len, flags, &nop, checked);
}

static void expand_spec(const char *spec, const struct spf_macro_ctx *ctx)
{
	const char *error;

	if (spec == NULL)
		return;
	if (!spf_domain_spec_valid(spec, strlen(spec), &error))
		abort();
	expand(spec, strlen(spec), SPF_MACRO_DOMAIN, ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt = (const char *)data, *error;
	struct spf_macro_ctx ctx4, ctx6;
	char i4[64], c4[46], i6[64], c6[46];
	struct spf_record *rec;
	size_t off;

	ctx_init(&ctx4, "192.0.2.3", i4, c4);
	ctx_init(&ctx6, "2001:db8::cb01", i6, c6);
	(void)spf_record_is_spf1(txt, size);
	if (spf_record_parse(txt, size, &rec, &error, &off) == 0) {
		for (size_t k = 0; k < rec->nterms; k++) {
			const struct spf_term *t = &rec->terms[k];

			if (t->off + t->len > size || t->cidr4 > 32 ||
			    t->cidr6 > 128)
				abort();
			expand_spec(t->spec, &ctx4);
			expand_spec(t->spec, &ctx6);
		}
		expand_spec(rec->redirect, &ctx4);
		expand_spec(rec->exp, &ctx6);
		spf_record_free(rec);
	} else if (rec != NULL || off > size) {
		abort();
	}
	expand(txt, size, SPF_MACRO_EXP, &ctx4);
	return 0;
}
