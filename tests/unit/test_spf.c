/* Unit tests for src/mailauth SPF: record parsing (RFC 7208 §4.5, §4.6,
 * §5, §6), macro expansion (§7, the §7.4 examples), address / CIDR
 * matching, and the resumable evaluator driven by a table resolver. */
#include "harness.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "mailauth/spf.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_record.h"

TEST(record_version)
{
	static const struct {
		const char *txt;
		bool spf;
	} cases[] = {
		{ "v=spf1", true },
		{ "v=spf1 -all", true },
		{ "V=SpF1 ~all", true },
		{ "v=spf1  a", true },
		{ "v=spf10", false },
		{ "v=spf1-all", false },
		{ "v=spf1\t-all", false },
		{ "v=spf", false },
		{ " v=spf1", false },
		{ "spf2.0/pra -all", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = spf_record_is_spf1(cases[i].txt, strlen(cases[i].txt));

		if (got != cases[i].spf)
			fprintf(stderr, "version case %zu: %s\n", i, cases[i].txt);
		CHECK(got == cases[i].spf);
	}
}

/* Every record here is v=spf1; ok says whether it parses. */
static const struct {
	const char *txt;
	bool ok;
} parse_cases[] = {
	{ "v=spf1", true },
	{ "v=spf1 -all ", true },
	{ "v=spf1 a mx ptr -all", true },
	{ "v=spf1 a:mail.example.com/24//64 mx:example.org//48 ~all", true },
	{ "v=spf1 a/0 mx//0 a//128 mx/32", true },
	{ "v=spf1 ip4:192.0.2.0/24 ip4:0.0.0.0/0 ip6:2001:db8::/32", true },
	{ "v=spf1 ip6:::ffff:1.2.3.4 ip6:::1.1.1.1/0 IP4:1.2.3.4", true },
	{ "v=spf1 include:_spf.example.com exists:%{i}.%{l1r-}.x.example.com", true },
	{ "v=spf1 a:foo:bar/baz.example.com a:foo.example.xn--zckzah", true },
	{ "v=spf1 ptr:example.Com ?Include:x.example.org", true },
	{ "v=spf1 redirect=_spf.example.com exp=exp.%{d2}", true },
	{ "v=spf1 moo.cow-far_out=man:dog/cat default=pass x=", true },
	{ "v=spf1 a:%{d}. exists:%{ir}.%{v}._spf.%{d2}", true },
	{ "v=spf1 a:macro%%percent%_%_space%-url.example.com", true },
	/* syntax errors anywhere make the record a permerror (§4.6) */
	{ "v=spf1 ip4:1.2.3.4 -all moo", false },
	{ "v=spf1 -all.", false },
	{ "v=spf1 all:foo", false },
	{ "v=spf1 -all/8", false },
	{ "v=spf1 ptr/0", false },
	{ "v=spf1 ptr:", false },
	{ "v=spf1 a:", false },
	{ "v=spf1 mx: -all", false },
	{ "v=spf1 include", false },
	{ "v=spf1 include:", false },
	{ "v=spf1 include:ip5.example.com/24", false },
	{ "v=spf1 exists", false },
	{ "v=spf1 exists:mail.example.com/24", false },
	{ "v=spf1 a//33", true },	/* ip6 prefix: fine */
	{ "v=spf1 a/33", false },
	{ "v=spf1 a//129", false },
	{ "v=spf1 a/24/64", false },
	{ "v=spf1 a/032", false },
	{ "v=spf1 ip4", false },
	{ "v=spf1 ip4:1.2.3", false },
	{ "v=spf1 ip4:1.2.3.4:8080", false },
	{ "v=spf1 ip4:1.2.3.4//32", false },
	{ "v=spf1 ip4:1.2.3.4/33", false },
	{ "v=spf1 ip4:1.2.3.04", false },
	{ "v=spf1 ip4:1.2.3.256", false },
	{ "v=spf1 ip6", false },
	{ "v=spf1 ip6::CAFE::BABE", false },
	{ "v=spf1 ip6:::1.1.1.1/129", false },
	{ "v=spf1 ip6:::1.1.1.1//33", false },
	{ "v=spf1 a:museum", false },
	{ "v=spf1 a:museum.", false },
	{ "v=spf1 a:abc.123", false },
	{ "v=spf1 a:111.222.33.44", false },
	{ "v=spf1 a:example.-com", false },
	{ "v=spf1 a:example.com:8080", false },
	{ "v=spf1 a:foo-bar", false },
	{ "v=spf1 redirect:t2.example.com", false },
	{ "v=spf1 moo.cow/far_out=man:dog/cat", false },
	{ "v=spf1 moo.cow:far_out=man:dog/cat", false },
	{ "v=spf1 1up=foo", false },
	{ "v=spf1 =all", false },
	{ "v=spf1 -redirect=x.example.com", false },
	{ "v=spf1 foo=%abc", false },
	{ "v=spf1 exp=", false },
	{ "v=spf1 exp=-all", false },
	{ "v=spf1 redirect=", false },
	{ "v=spf1 exp=a.example.com exp=b.example.com", false },
	{ "v=spf1 redirect=a.example.com redirect=a.example.com", false },
	{ "v=spf1 -all exp=%{r}.example.com", false },	/* r: exp text only */
	{ "v=spf1 a:%{c}.example.com", false },
	{ "v=spf1 a:%{a}.example.com", false },
	{ "v=spf1 a:%{d0}.example.com", false },
	{ "v=spf1 exists:%(ir).sbl.example.com", false },
	{ "v=spf1 exists:foo%.sbl.example.com", false },
	{ "v=spf1 a:%{d", false },
	{ "v=spf1 a:ctrl.example.com\rptr -all", false },
	{ "v=spf1 ip4:192.0.2.5\n include:x.example.com", false },
	{ "v=spf1 \x80" "a:example.net -all", false },
	{ "v=spf1 a:example.net \x96" "all", false },
};

TEST(record_parse_table)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const char *txt = parse_cases[i].txt, *error = NULL;
		struct spf_record *rec;
		size_t off;
		int rc = spf_record_parse(txt, strlen(txt), &rec, &error, &off);

		if ((rc == 0) != parse_cases[i].ok)
			fprintf(stderr, "parse case %zu: %s: %s\n", i, txt,
				error != NULL ? error : "accepted");
		CHECK((rc == 0) == parse_cases[i].ok);
		CHECK(rc == 0 || (error != NULL && off <= strlen(txt)));
		spf_record_free(rec);
	}
}

TEST(record_parse_fields)
{
	static const char txt[] = "v=spf1 ~a:mail.%{d}/24//64 ?mx ip6:2001:db8::/33 "
				  "exp=e.example.com x=y -ALL redirect=r.example.com";
	struct spf_record *rec;
	const char *error;
	size_t off;

	CHECK_INTEQ(spf_record_parse(txt, strlen(txt), &rec, &error, &off), 0);
	if (rec == NULL)
		return;
	CHECK_INTEQ(rec->nterms, 4);
	CHECK_INTEQ(rec->terms[0].mech, SPF_MECH_A);
	CHECK(rec->terms[0].qual == '~');
	CHECK_STREQ(rec->terms[0].spec, "mail.%{d}");
	CHECK_INTEQ(rec->terms[0].cidr4, 24);
	CHECK_INTEQ(rec->terms[0].cidr6, 64);
	CHECK_INTEQ(rec->terms[1].mech, SPF_MECH_MX);
	CHECK(rec->terms[1].qual == '?' && rec->terms[1].spec == NULL);
	CHECK_INTEQ(rec->terms[1].cidr4, 32);
	CHECK_INTEQ(rec->terms[1].cidr6, 128);
	CHECK_INTEQ(rec->terms[2].mech, SPF_MECH_IP6);
	CHECK_INTEQ(rec->terms[2].cidr6, 33);
	CHECK_INTEQ(rec->terms[3].mech, SPF_MECH_ALL);
	CHECK(rec->terms[3].qual == '-');
	CHECK_STREQ(rec->exp, "e.example.com");
	CHECK_STREQ(rec->redirect, "r.example.com");
	CHECK(strncmp(rec->text + rec->terms[2].off, "ip6:2001:db8::/33",
		      rec->terms[2].len) == 0);
	spf_record_free(rec);
}

TEST(record_parse_limits)
{
	struct buf b = BUF_INIT;
	struct spf_record *rec = NULL;
	const char *error = NULL;
	size_t off;

	buf_appends(&b, "v=spf1");
	while (b.len <= SPF_MAX_RECORD_LEN - 4)
		buf_appends(&b, " -a");
	CHECK_INTEQ(spf_record_parse(b.ptr, b.len, &rec, &error, &off), 0);
	spf_record_free(rec);
	buf_appends(&b, " -a");
	CHECK_INTEQ(spf_record_parse(b.ptr, b.len, &rec, &error, &off), -1);
	CHECK(rec == NULL);
	/* a NUL inside the record (TXT may carry one) is a syntax error */
	CHECK_INTEQ(spf_record_parse("v=spf1 a:x.example.com\0", 24, &rec,
				     &error, &off), -1);
	buf_free(&b);
}

/* RFC 7208 §7.4: sender strong-bad@email.example.com, client 192.0.2.3
 * or 2001:db8::cb01, PTR name mx.example.org. */
static void ctx_74(struct spf_macro_ctx *ctx, struct spf_ip *ip,
		   const char *addr, char *i, char *c)
{
	CHECK_INTEQ(spf_ip_parse(addr, strlen(addr), ip), 0);
	spf_macro_ip(ip, i, 64, c, 46, &ctx->v);
	ctx->s = "strong-bad@email.example.com";
	ctx->l = "strong-bad";
	ctx->o = "email.example.com";
	ctx->d = "email.example.com";
	ctx->i = i;
	ctx->c = c;
	ctx->p = "mx.example.org";
	ctx->h = "mx.example.org";
	ctx->r = "receiver.example.net";
	ctx->t = "1400000000";
}

static const struct {
	const char *addr;
	int flags;
	const char *in;
	const char *out;
} macro_cases[] = {
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{s}", "strong-bad@email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{o}", "email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d}", "email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d4}", "email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d3}", "email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d2}", "example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d1}", "com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{dr}", "com.example.email" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d2r}", "example.email" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{l}", "strong-bad" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{l-}", "strong.bad" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{lr}", "strong-bad" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{lr-}", "bad.strong" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{l1r-}", "strong" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{ir}.%{v}._spf.%{d2}",
	  "3.2.0.192.in-addr._spf.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{lr-}.lp._spf.%{d2}",
	  "bad.strong.lp._spf.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d2}.trusted-domains.example.net",
	  "example.com.trusted-domains.example.net" },
	/* §7.4 shows lower-case nibbles; the case of hex digits carries no
	 * meaning in DNS, and the conformance suite (v-macro-ip6) expects
	 * upper case in explanations, so upper case it is. */
	{ "2001:db8::cb01", SPF_MACRO_DOMAIN, "%{ir}.%{v}._spf.%{d2}",
	  "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2"
	  ".ip6._spf.example.com" },
	{ "2001:db8::cb01", SPF_MACRO_EXP, "%{c} %{v} %{i}",
	  "2001:db8::cb01 ip6 2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
	  ".0.0.0.0.C.B.0.1" },
	{ "::ffff:192.0.2.3", SPF_MACRO_EXP, "%{c} %{v} %{i}",
	  "192.0.2.3 in-addr 192.0.2.3" },
	/* §7.1 escapes, upper-case URL escaping, other letters */
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "a%%b%_c%-d", "a%b c%20d" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{S}", "strong-bad%40email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{L}.%{P}.%{H}",
	  "strong-bad.mx.example.org.mx.example.org" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d99999999999}", "email.example.com" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{s2r.-}", "bad@email.strong" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{Sr}", "com.example.strong-bad%40email" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "%{d2.-+,/_=}", "example.com" },
	{ "192.0.2.3", SPF_MACRO_EXP, "%{c} at %{t} by %{r}",
	  "192.0.2.3 at 1400000000 by receiver.example.net" },
	{ "192.0.2.3", SPF_MACRO_EXP, "%{R}", "receiver.example.net" },
	{ "192.0.2.3", SPF_MACRO_DOMAIN, "", "" },
};

TEST(macro_expand_table)
{
	for (size_t k = 0; k < sizeof(macro_cases) / sizeof(macro_cases[0]); k++) {
		struct spf_macro_ctx ctx;
		struct spf_ip ip;
		struct buf out = BUF_INIT;
		const char *error = NULL;
		char i[64], c[46];

		ctx_74(&ctx, &ip, macro_cases[k].addr, i, c);
		CHECK_INTEQ(spf_macro_expand(macro_cases[k].in,
					     strlen(macro_cases[k].in),
					     macro_cases[k].flags, &ctx, &out,
					     &error), SPF_MACRO_OK);
		CHECK_STREQ(buf_cstr(&out), macro_cases[k].out);
		CHECK_INTEQ(spf_macro_check(macro_cases[k].in,
					    strlen(macro_cases[k].in),
					    macro_cases[k].flags, NULL, &error), 0);
		buf_free(&out);
	}
}

static const struct {
	int flags;
	const char *in;
} macro_errors[] = {
	{ SPF_MACRO_DOMAIN, "%" },
	{ SPF_MACRO_DOMAIN, "a%" },
	{ SPF_MACRO_DOMAIN, "%x" },
	{ SPF_MACRO_DOMAIN, "%(ir)" },
	{ SPF_MACRO_DOMAIN, "%{" },
	{ SPF_MACRO_DOMAIN, "%{}" },
	{ SPF_MACRO_DOMAIN, "%{d" },
	{ SPF_MACRO_DOMAIN, "%{z}" },
	{ SPF_MACRO_DOMAIN, "%{d0}" },
	{ SPF_MACRO_DOMAIN, "%{d2x}" },
	{ SPF_MACRO_DOMAIN, "%{d:}" },
	{ SPF_MACRO_DOMAIN, "%{c}" },
	{ SPF_MACRO_DOMAIN, "%{r}" },
	{ SPF_MACRO_DOMAIN, "%{t}" },
	{ SPF_MACRO_DOMAIN, "a b" },
	{ SPF_MACRO_EXP, "The %{x}-files." },
	{ SPF_MACRO_EXP, "tab\there" },
	{ SPF_MACRO_EXP, "\xef\xbb\xbf" "Explanation" },
};

TEST(macro_error_table)
{
	for (size_t k = 0; k < sizeof(macro_errors) / sizeof(macro_errors[0]); k++) {
		struct spf_macro_ctx ctx;
		struct spf_ip ip;
		struct buf out = BUF_INIT;
		const char *error = NULL;
		char i[64], c[46];

		ctx_74(&ctx, &ip, "192.0.2.3", i, c);
		CHECK_INTEQ(spf_macro_expand(macro_errors[k].in,
					     strlen(macro_errors[k].in),
					     macro_errors[k].flags, &ctx, &out,
					     &error), SPF_MACRO_ERROR);
		CHECK(error != NULL);
		CHECK_INTEQ(spf_macro_check(macro_errors[k].in,
					    strlen(macro_errors[k].in),
					    macro_errors[k].flags, NULL, &error), -1);
		buf_free(&out);
	}
}

TEST(macro_p_and_limits)
{
	struct spf_macro_ctx ctx;
	struct spf_ip ip;
	struct buf out = BUF_INIT;
	const char *error;
	char i[64], c[46];
	bool ends;

	ctx_74(&ctx, &ip, "192.0.2.3", i, c);
	ctx.p = NULL;	/* %{p} not known yet: the caller must look it up */
	CHECK_INTEQ(spf_macro_expand("x.%{p}", 6, SPF_MACRO_DOMAIN, &ctx, &out,
				     &error), SPF_MACRO_NEED_P);
	buf_reset(&out);
	CHECK_INTEQ(spf_macro_expand("%{d}", 4, SPF_MACRO_DOMAIN, &ctx, &out,
				     &error), SPF_MACRO_OK);
	buf_reset(&out);
	/* expansion is bounded */
	{
		struct buf big = BUF_INIT;

		for (int k = 0; k < 200; k++)
			buf_appends(&big, "%{s}");
		CHECK_INTEQ(spf_macro_expand(big.ptr, big.len, SPF_MACRO_DOMAIN,
					     &ctx, &out, &error), SPF_MACRO_ERROR);
		buf_free(&big);
	}
	CHECK_INTEQ(spf_macro_check("a.%{d}", 6, SPF_MACRO_DOMAIN, &ends, &error), 0);
	CHECK(ends);
	CHECK_INTEQ(spf_macro_check("%{d}.com", 8, SPF_MACRO_DOMAIN, &ends, &error), 0);
	CHECK(!ends);
	CHECK_INTEQ(spf_macro_check("a%%", 3, SPF_MACRO_DOMAIN, &ends, &error), 0);
	CHECK(ends);
	buf_free(&out);
}

TEST(domain_spec)
{
	static const struct {
		const char *spec;
		bool ok;
	} cases[] = {
		{ "example.com", true }, { "example.com.", true },
		{ "%{d}", true }, { "%{d}.", true }, { "_spf.%{d2}", true },
		{ "foo.example.xn--zckzah", true }, { "a.b-c", true },
		{ "x.1-2", true }, { "mail.example...com", true },
		{ "museum", false }, { "museum.", false }, { "abc.123", false },
		{ "example.-com", false }, { "example.com-", false },
		{ "example.com:8080", false }, { "", false }, { ".", false },
		{ "example.c%{d}", true }, { "x.%{d}%%", true },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const char *error;
		bool ok = spf_domain_spec_valid(cases[k].spec,
						strlen(cases[k].spec), &error);

		if (ok != cases[k].ok)
			fprintf(stderr, "domain-spec case %zu: %s\n", k,
				cases[k].spec);
		CHECK(ok == cases[k].ok);
	}
}

TEST(ip_parse)
{
	struct spf_ip ip;

	CHECK_INTEQ(spf_ip_parse("192.0.2.1", 9, &ip), 0);
	CHECK(ip.family == 4 && ip.b[0] == 192 && ip.b[3] == 1);
	CHECK_INTEQ(spf_ip_parse("::FFFF:1.2.3.4", 14, &ip), 0);
	CHECK(ip.family == 4 && ip.b[0] == 1 && ip.b[3] == 4);	/* §5 ¶9 */
	CHECK_INTEQ(spf_ip_parse("CAFE:BABE::1", 12, &ip), 0);
	CHECK(ip.family == 6 && ip.b[0] == 0xca && ip.b[15] == 1);
	CHECK_INTEQ(spf_ip_parse("1.2.3", 5, &ip), -1);
	CHECK_INTEQ(spf_ip_parse("", 0, &ip), -1);
	CHECK_INTEQ(spf_ip_parse("example.com", 11, &ip), -1);
	CHECK_INTEQ(spf_ip4_parse_strict("10.0.0.1", 8, &ip), 0);
	CHECK_INTEQ(spf_ip4_parse_strict("010.0.0.1", 9, &ip), -1);
	CHECK_INTEQ(spf_ip4_parse_strict("1.2.3.4.", 8, &ip), -1);
	CHECK_INTEQ(spf_ip4_parse_strict("1.2.3.4 ", 8, &ip), -1);
	CHECK_INTEQ(spf_ip4_parse_strict("1..3.4", 6, &ip), -1);
	CHECK_INTEQ(spf_ip4_parse_strict("1.2.3.1234", 10, &ip), -1);
}

static const struct {
	const char *ip, *net;
	unsigned prefix;
	bool match;
} cidr_cases[] = {
	{ "192.0.2.3", "192.0.2.0", 24, true },
	{ "192.0.2.3", "192.0.3.0", 24, false },
	{ "192.0.2.3", "192.0.3.0", 23, true },
	{ "192.0.2.3", "192.0.2.3", 32, true },
	{ "192.0.2.3", "192.0.2.2", 32, false },
	{ "192.0.2.3", "192.0.2.2", 31, true },
	{ "192.0.2.3", "10.0.0.0", 0, true },
	{ "192.0.2.3", "128.0.0.0", 1, true },
	{ "127.0.0.1", "128.0.0.0", 1, false },
	{ "192.0.2.3", "192.0.2.3", 33, false },
	{ "2001:db8::1", "2001:db8::", 32, true },
	{ "2001:db9::1", "2001:db8::", 32, false },
	{ "cafe:babe:8000::", "cafe:babe:8000::", 33, true },
	{ "cafe:babe::", "cafe:babe:8000::", 33, false },
	{ "cafe:babe::", "cafe:babe:8000::", 32, true },
	{ "2001:db8::cb01", "2001:db8::cb00", 127, true },
	{ "2001:db8::cb01", "2001:db8::cb00", 128, false },
	{ "::1", "ffff::", 0, true },
	{ "1234::1", "1234::2", 128, false },
	/* families never match each other, even with /0 */
	{ "1.2.3.4", "::", 0, false },
	{ "::ffff:1.2.3.4", "::ffff:1.2.3.4", 128, false },
	{ "::ffff:1.2.3.4", "1.2.3.0", 24, true },
	{ "1234::1", "0.0.0.0", 0, false },
};

TEST(cidr_match_table)
{
	for (size_t k = 0; k < sizeof(cidr_cases) / sizeof(cidr_cases[0]); k++) {
		struct spf_ip ip, net;
		const char *n = cidr_cases[k].net;

		CHECK_INTEQ(spf_ip_parse(cidr_cases[k].ip,
					 strlen(cidr_cases[k].ip), &ip), 0);
		/* networks are parsed as published: no mapped-to-v4 folding */
		if (strchr(n, ':') != NULL) {
			net.family = 6;
			CHECK_INTEQ(inet_pton(AF_INET6, n, net.b), 1);
		} else {
			CHECK_INTEQ(spf_ip4_parse_strict(n, strlen(n), &net), 0);
		}
		if (spf_ip_match(&ip, &net, cidr_cases[k].prefix) !=
		    cidr_cases[k].match)
			fprintf(stderr, "cidr case %zu\n", k);
		CHECK(spf_ip_match(&ip, &net, cidr_cases[k].prefix) ==
		      cidr_cases[k].match);
	}
}

/* A table resolver: records by name and type, else NODATA for a known
 * name, else NXDOMAIN. */
struct zrr {
	const char *name;
	int type;
	enum dnsq_rcode rcode;
	const char *rr[12];
};

struct run {
	enum spf_result result;
	char asked[16][300];	/* the first questions, "TYPE name" */
	unsigned nasked;
	char explanation[200], reason[200];
};

static void run_eval(const struct zrr *zone, struct spf_eval *e, struct run *out)
{
	struct dnsq q;
	int guard = 0;

	memset(out, 0, sizeof(*out));
	while ((out->result = spf_eval_step(e, &q)) == SPF_NEED_DNS &&
	       guard++ < 200) {
		struct dnsq_answer a = { DNSQ_NXDOMAIN, 0, NULL, NULL, NULL };
		char *rr[12];

		if (out->nasked < 16)
			snprintf(out->asked[out->nasked++], sizeof(out->asked[0]),
				 "%s %s", dnsq_type_name(q.type), q.name);
		for (const struct zrr *z = zone; z->name != NULL; z++) {
			if (!str_ieq(z->name, q.name))
				continue;
			if (a.rcode == DNSQ_NXDOMAIN)
				a.rcode = DNSQ_NODATA;
			if (z->type != q.type)
				continue;
			a.rcode = z->rcode;
			for (a.n = 0; z->rr[a.n] != NULL; a.n++)
				rr[a.n] = (char *)z->rr[a.n];
			a.rr = rr;
			break;
		}
		spf_eval_answer(e, &a);
	}
	str_copy(out->explanation, sizeof(out->explanation),
		 spf_eval_explanation(e) != NULL ? spf_eval_explanation(e) : "-");
	str_copy(out->reason, sizeof(out->reason), spf_eval_reason(e));
}

static const struct zrr zone1[] = {
	{ "example.com", DNSQ_TXT, DNSQ_OK,
	  { "some other text", "v=spf1 ip4:192.0.2.0/24 a:mail.example.com "
	    "include:_spf.example.net -all exp=why.%{d}" } },
	{ "mail.example.com", DNSQ_A, DNSQ_OK, { "198.51.100.7", "198.51.100.8" } },
	{ "_spf.example.net", DNSQ_TXT, DNSQ_OK, { "v=spf1 ip6:2001:db8::/32 ~all" } },
	{ "why.example.com", DNSQ_TXT, DNSQ_OK,
	  { "%{c} may not send for %{o} as %{l} at %{t} (%{r}, %{p})" } },
	{ "7.100.51.198.in-addr.arpa", DNSQ_PTR, DNSQ_OK, { "mail.example.com." } },
	{ "helo.example.org", DNSQ_TXT, DNSQ_OK, { "v=spf1 a -all exp=x.example.org" } },
	{ "helo.example.org", DNSQ_A, DNSQ_OK, { "203.0.113.1" } },
	{ "x.example.org", DNSQ_TXT, DNSQ_OK, { "sender %{s} helo %{h}" } },
	{ "tmp.example.com", DNSQ_TXT, DNSQ_TEMPFAIL, { NULL } },
	{ NULL, 0, 0, { NULL } },
};

TEST(eval_basic)
{
	struct spf_eval *e = spf_eval_new("192.0.2.9", "joe@example.com",
					  "mx.example.org", "mx.receiver.example");
	struct run r;

	run_eval(zone1, e, &r);
	CHECK_INTEQ(r.result, SPF_PASS);
	CHECK_INTEQ(r.nasked, 1);	/* ip4 matched before any lookup */
	CHECK_STREQ(r.asked[0], "TXT example.com");
	CHECK_STREQ(r.explanation, "-");
	CHECK(strstr(r.reason, "ip4:192.0.2.0/24") != NULL);
	CHECK_STREQ(spf_eval_domain(e), "example.com");
	CHECK_INTEQ(spf_eval_step(e, NULL), SPF_PASS);	/* done stays done */
	spf_eval_free(e);

	e = spf_eval_new("198.51.100.8", "joe@EXAMPLE.com", "h", NULL);
	run_eval(zone1, e, &r);
	CHECK_INTEQ(r.result, SPF_PASS);
	CHECK_STREQ(r.asked[1], "A mail.example.com");
	spf_eval_free(e);

	e = spf_eval_new("2001:db8::1", "joe@example.com", "h", NULL);
	run_eval(zone1, e, &r);
	CHECK_INTEQ(r.result, SPF_PASS);	/* through the include */
	CHECK_STREQ(r.asked[1], "AAAA mail.example.com");
	CHECK_STREQ(r.asked[2], "TXT _spf.example.net");
	spf_eval_free(e);
}

static const struct zrr zone_nul[] = {
	{ "nul.example.com", DNSQ_TXT, DNSQ_OK, { "v=spf1 -all" } },
	{ NULL, 0, 0, { NULL } },
};

TEST(eval_fail_explanation)
{
	struct spf_eval *e = spf_eval_new("198.51.100.7", "Joe@example.com",
					  "mx.example.org", "mx.receiver.example");
	struct run r;

	spf_eval_set_time(e, 1234567890);
	run_eval(zone1, e, &r);
	CHECK_INTEQ(r.result, SPF_PASS);
	spf_eval_free(e);

	/* 198.51.100.9 is nowhere: -all, then exp= with %{p} (not valid
	 * there: no PTR) and the exp-only letters */
	e = spf_eval_new("198.51.100.9", "Joe@example.com", "mx.example.org",
			 "mx.receiver.example");
	spf_eval_set_time(e, 1234567890);
	run_eval(zone1, e, &r);
	CHECK_INTEQ(r.result, SPF_FAIL);
	CHECK_STREQ(r.explanation, "198.51.100.9 may not send for example.com as "
		    "Joe at 1234567890 (mx.receiver.example, unknown)");
	CHECK(strstr(r.reason, "-all") != NULL);
	spf_eval_free(e);

	/* the HELO identity for the null sender: postmaster@helo */
	e = spf_eval_new("203.0.113.9", "", "helo.example.org", NULL);
	run_eval(zone1, e, &r);
	CHECK_INTEQ(r.result, SPF_FAIL);
	CHECK_STREQ(r.explanation, "sender postmaster@helo.example.org helo "
		    "helo.example.org");
	CHECK_STREQ(spf_eval_domain(e), "helo.example.org");
	spf_eval_free(e);

	/* the default explanation when there is no exp= */
	e = spf_eval_new("2001:db8::1", "@nul.example.com", "h", NULL);
	spf_eval_set_default_exp(e, "no: %{l} %{c} %{v} for %{d} (%{r})");
	run_eval(zone_nul, e, &r);
	CHECK_INTEQ(r.result, SPF_FAIL);
	CHECK_STREQ(r.explanation,
		    "no: postmaster 2001:db8::1 ip6 for nul.example.com (unknown)");
	spf_eval_free(e);
}

static const struct zrr zone_ptr[] = {
	{ "p.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 ptr:example.com -all exp=e.example.com" } },
	{ "e.example.com", DNSQ_TXT, DNSQ_OK, { "%{p} / %{P}" } },
	{ "7.100.51.198.in-addr.arpa", DNSQ_PTR, DNSQ_OK,
	  { "other.example.org.", "mail.d.example.com." } },
	{ "8.100.51.198.in-addr.arpa", DNSQ_PTR, DNSQ_OK, { "mail.example.com" } },
	{ "other.example.org", DNSQ_A, DNSQ_OK, { "198.51.100.7" } },
	{ "mail.d.example.com", DNSQ_A, DNSQ_OK, { "198.51.100.7" } },
	{ "mail.example.com", DNSQ_A, DNSQ_OK, { "198.51.100.7" } },
	{ "d.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 exists:%{l}.%{p}.x.example.com -all" } },
	{ "jo.mail.d.example.com.x.example.com", DNSQ_A, DNSQ_OK, { "127.0.0.2" } },
	{ NULL, 0, 0, { NULL } },
};

TEST(eval_ptr_and_p_macro)
{
	struct spf_eval *e = spf_eval_new("198.51.100.7", "jo@p.example.com",
					  "h.example", NULL);
	struct run r;

	run_eval(zone_ptr, e, &r);
	CHECK_INTEQ(r.result, SPF_PASS);
	CHECK_STREQ(r.asked[1], "PTR 7.100.51.198.in-addr.arpa");
	spf_eval_free(e);

	/* PTR name does not validate: no match, %{p} is "unknown" */
	e = spf_eval_new("198.51.100.8", "jo@p.example.com", "h.example", NULL);
	run_eval(zone_ptr, e, &r);
	CHECK_INTEQ(r.result, SPF_FAIL);
	CHECK_STREQ(r.explanation, "unknown / unknown");
	spf_eval_free(e);

	/* %{p} prefers a name in <domain>; looked up once, cached */
	e = spf_eval_new("198.51.100.7", "jo@d.example.com", "h.example", NULL);
	run_eval(zone_ptr, e, &r);
	CHECK_INTEQ(r.result, SPF_PASS);
	CHECK_INTEQ(spf_eval_queries(e), 5);
	spf_eval_free(e);
}

static const struct zrr zone_limits[] = {
	{ "void.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 a:n1.example.com mx:n2.example.com exists:n3.example.com -all" } },
	{ "void2.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 a:n1.example.com a:n1.example.com ip4:192.0.2.0/24 -all" } },
	{ "loop.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 include:loop.example.com -all" } },
	{ "mx.example.com", DNSQ_TXT, DNSQ_OK, { "v=spf1 mx -all" } },
	{ "mx.example.com", DNSQ_MX, DNSQ_OK,
	  { "1 a.example.com", "2 a.example.com", "3 a.example.com",
	    "4 a.example.com", "5 a.example.com", "6 a.example.com",
	    "7 a.example.com", "8 a.example.com", "9 a.example.com",
	    "10 a.example.com", "11 a.example.com." } },
	{ "nul.example.com", DNSQ_TXT, DNSQ_OK, { "v=spf1 -all" } },
	{ "redir.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 ip4:10.0.0.0/8 redirect=nowhere.example.com" } },
	{ "redir2.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 redirect=nul.example.com exp=never.example.com" } },
	{ "tf.example.com", DNSQ_TXT, DNSQ_OK,
	  { "v=spf1 a:tmp.example.com -all" } },
	{ "tmp.example.com", DNSQ_A, DNSQ_TEMPFAIL, { NULL } },
	{ "tmp.example.com", DNSQ_TXT, DNSQ_TEMPFAIL, { NULL } },
	{ NULL, 0, 0, { NULL } },
};

TEST(eval_limits_and_errors)
{
	static const struct {
		const char *ip, *from;
		enum spf_result want;
	} cases[] = {
		{ "192.0.2.1", "a@void.example.com", SPF_PERMERROR },	/* 3 voids */
		{ "192.0.2.1", "a@void2.example.com", SPF_PASS },	/* 2 voids */
		{ "192.0.2.1", "a@loop.example.com", SPF_PERMERROR },	/* 11 includes */
		{ "192.0.2.1", "a@mx.example.com", SPF_PERMERROR },	/* 11 MX */
		{ "192.0.2.1", "a@tf.example.com", SPF_TEMPERROR },
		{ "192.0.2.1", "a@tmp.example.com", SPF_TEMPERROR },
		{ "192.0.2.1", "a@nowhere.example.com", SPF_NONE },
		{ "192.0.2.1", "a@single", SPF_NONE },
		{ "192.0.2.1", "a@[192.0.2.1]", SPF_NONE },
		{ "192.0.2.1", "a@x..example.com", SPF_NONE },
		{ "not-an-ip", "a@void.example.com", SPF_PERMERROR },
		{ "192.0.2.1", "a@nul.example.com", SPF_FAIL },
		{ "10.1.2.3", "a@redir.example.com", SPF_PASS },
		{ "192.0.2.1", "a@redir.example.com", SPF_PERMERROR },	/* §6.1 */
		{ "192.0.2.1", "a@redir2.example.com", SPF_FAIL },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct spf_eval *e = spf_eval_new(cases[k].ip, cases[k].from,
						  "h.example", NULL);
		struct run r;

		run_eval(zone_limits, e, &r);
		if (r.result != cases[k].want)
			fprintf(stderr, "limits case %zu: %s (%s)\n", k,
				spf_result_name(r.result), r.reason);
		CHECK_INTEQ(r.result, cases[k].want);
		CHECK(r.reason[0] != '\0');
		spf_eval_free(e);
	}
}

TEST(eval_protocol)
{
	struct spf_eval *e = spf_eval_new("192.0.2.1", "a@example.com", "h", NULL);
	char rec[] = "v=spf1 a:x.example.com\0 -all";
	char *rr[1] = { rec };
	size_t len[1] = { sizeof(rec) - 1 };
	struct dnsq_answer a = { DNSQ_OK, 1, rr, len, NULL };
	struct dnsq q, q2;

	/* an answer with no question outstanding is ignored */
	spf_eval_answer(e, &a);
	CHECK_INTEQ(spf_eval_step(e, &q), SPF_NEED_DNS);
	/* asking again without answering repeats the question */
	CHECK_INTEQ(spf_eval_step(e, &q2), SPF_NEED_DNS);
	CHECK_STREQ(q2.name, q.name);
	CHECK_INTEQ(q.type, DNSQ_TXT);
	/* a NUL inside the record (with rr_len) is a permerror */
	spf_eval_answer(e, &a);
	CHECK_INTEQ(spf_eval_step(e, &q), SPF_PERMERROR);
	CHECK(strstr(spf_eval_reason(e), "control") != NULL);
	CHECK(spf_eval_explanation(e) == NULL);
	spf_eval_free(e);
	spf_eval_free(NULL);
	CHECK_STREQ(spf_result_name(SPF_SOFTFAIL), "softfail");
	CHECK_STREQ(spf_result_name(SPF_NONE), "none");
}

int main(void)
{
	RUN(record_version);
	RUN(record_parse_table);
	RUN(record_parse_fields);
	RUN(record_parse_limits);
	RUN(macro_expand_table);
	RUN(macro_error_table);
	RUN(macro_p_and_limits);
	RUN(domain_spec);
	RUN(ip_parse);
	RUN(cidr_match_table);
	RUN(eval_basic);
	RUN(eval_fail_explanation);
	RUN(eval_ptr_and_p_macro);
	RUN(eval_limits_and_errors);
	RUN(eval_protocol);
	return test_summary();
}
