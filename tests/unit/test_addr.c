/* Unit tests for src/mail/addr: RFC 5321 paths and mailboxes, RFC 6531 UTF-8. */
#include "harness.h"

#include <stdbool.h>

#include "mail/addr.h"

#define U MAIL_ADDR_ALLOW_UTF8
#define N MAIL_ADDR_ALLOW_NULL
#define D MAIL_ADDR_ALLOW_NODOMAIN

static char long_local[300], long_label[80], long_domain[512];

/* len 0 = strlen(in); expect NULL local = failure, with err substring. */
struct path_case {
	const char *in;
	size_t len;
	unsigned flags;
	const char *local;	/* NULL: must fail */
	const char *domain_or_err;
	bool utf8, literal, null;
	size_t end;		/* 0 = whole input */
};

static const struct path_case path_cases[] = {
	/* valid */
	{ "<user@example.org>", 0, U | N, "user", "example.org", false, false, false, 0 },
	{ "<User.Name+tag@Sub.Example.ORG>", 0, 0, "User.Name+tag", "Sub.Example.ORG", false, false, false, 0 },
	{ "<!#$%&'*+-/=?^_`{|}~@x.org>", 0, 0, "!#$%&'*+-/=?^_`{|}~", "x.org", false, false, false, 0 },
	{ "<\"john doe\"@example.org>", 0, 0, "john doe", "example.org", false, false, false, 0 },
	{ "<\"a\\\"b\"@example.org>", 0, 0, "a\"b", "example.org", false, false, false, 0 },
	{ "<\"a\\\\b\"@x.org>", 0, 0, "a\\b", "x.org", false, false, false, 0 },
	{ "<\"abc\"@x.org>", 0, 0, "abc", "x.org", false, false, false, 0 },
	{ "<\"a@b\"@x.org>", 0, 0, "a@b", "x.org", false, false, false, 0 },
	{ "<\"a..b.\"@x.org>", 0, 0, "a..b.", "x.org", false, false, false, 0 },
	{ "<a@[192.0.2.1]>", 0, 0, "a", "[192.0.2.1]", false, true, false, 0 },
	{ "<a@[IPv6:2001:db8::1]>", 0, 0, "a", "[IPv6:2001:db8::1]", false, true, false, 0 },
	{ "<a@[ipv6:::ffff:192.0.2.1]>", 0, 0, "a", "[ipv6:::ffff:192.0.2.1]", false, true, false, 0 },
	{ "<@relay.example,@r2.example:user@example.org>", 0, 0, "user", "example.org", false, false, false, 0 },
	{ "<@relay.example:user@example.org>", 0, 0, "user", "example.org", false, false, false, 0 },
	{ "<>", 0, N, "", "", false, false, true, 0 },
	{ "<> SIZE=10", 0, N, "", "", false, false, true, 2 },
	{ "<a@b.org> SIZE=10", 0, 0, "a", "b.org", false, false, false, 9 },
	{ "<postmaster>", 0, D, "postmaster", "", false, false, false, 0 },
	{ "<\"Post Master\">", 0, D, "Post Master", "", false, false, false, 0 },
	{ "<a@1.2.3.4>", 0, 0, "a", "1.2.3.4", false, false, false, 0 },
	{ "<a@xn--bcher-kva.example>", 0, 0, "a", "xn--bcher-kva.example", false, false, false, 0 },
	{ "<a@a-b--c.d>", 0, 0, "a", "a-b--c.d", false, false, false, 0 },
	{ "<\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1\xcf\x81.\xce\xb4\xce\xbf>", 0, U,
	  "\xce\xb4\xce\xbf\xce\xba", "\xcf\x80\xce\xb1\xcf\x81.\xce\xb4\xce\xbf", true, false, false, 0 },
	{ "<\xe7\x94\xa8\xe6\x88\xb7@example.org>", 0, U, "\xe7\x94\xa8\xe6\x88\xb7", "example.org", true, false, false, 0 },
	{ "<a@\xf0\x9f\x98\x80.example>", 0, U, "a", "\xf0\x9f\x98\x80.example", true, false, false, 0 },
	{ "<\"\xc3\xa9 x\"@example.org>", 0, U, "\xc3\xa9 x", "example.org", true, false, false, 0 },
	{ "<SRS0=HHH=TT=example.org=user@forwarder.example>", 0, 0,
	  "SRS0=HHH=TT=example.org=user", "forwarder.example", false, false, false, 0 },
	/* invalid */
	{ "", 0, U | N | D, NULL, "angle brackets", false, false, false, 0 },
	{ "a@b.org", 0, U | N, NULL, "angle brackets", false, false, false, 0 },
	{ "<a@b.org", 0, U | N, NULL, "'>'", false, false, false, 0 },
	{ "<a", 0, D, NULL, "'>'", false, false, false, 0 },
	{ "<\"a\"", 0, D, NULL, "'>'", false, false, false, 0 },
	{ "<>", 0, U, NULL, "Null address", false, false, false, 0 },
	{ "<a>", 0, U | N, NULL, "Missing domain", false, false, false, 0 },
	{ "<a@>", 0, 0, NULL, "Missing domain", false, false, false, 0 },
	{ "<@>", 0, 0, NULL, "source route", false, false, false, 0 },
	{ "<@a.b>", 0, 0, NULL, "source route", false, false, false, 0 },
	{ "<@a.b,c.d:x@y.z>", 0, 0, NULL, "source route", false, false, false, 0 },
	{ "<@:x@y.z>", 0, 0, NULL, "source route", false, false, false, 0 },
	{ "<@a_b:x@y.z>", 0, 0, NULL, "source route", false, false, false, 0 },
	{ "<.a@b.org>", 0, 0, NULL, "dot", false, false, false, 0 },
	{ "<a.@b.org>", 0, 0, NULL, "dot", false, false, false, 0 },
	{ "<a..b@b.org>", 0, 0, NULL, "dot", false, false, false, 0 },
	{ "<a b@b.org>", 0, 0, NULL, "Invalid character", false, false, false, 0 },
	{ "<a\tb@b.org>", 0, 0, NULL, "Invalid character", false, false, false, 0 },
	{ "<a(c)@b.org>", 0, 0, NULL, "Invalid character", false, false, false, 0 },
	{ "<a\\b@b.org>", 0, 0, NULL, "Invalid character", false, false, false, 0 },
	{ "<\"abc@b.org>", 0, 0, NULL, "Unterminated", false, false, false, 0 },
	{ "<\"a\\\x01\"@b.org>", 0, 0, NULL, "quoted-pair", false, false, false, 0 },
	{ "<\"a\x01\"@b.org>", 0, 0, NULL, "quoted local", false, false, false, 0 },
	{ "<\"a\x7f\"@b.org>", 0, 0, NULL, "quoted local", false, false, false, 0 },
	{ "<\"\"@b.org>", 0, 0, NULL, "Empty local", false, false, false, 0 },
	{ "<@b.org>", 0, 0, NULL, "source route", false, false, false, 0 },
	{ "<a\0b@c.org>", 11, 0, NULL, "Invalid character", false, false, false, 0 },
	{ "<a@c\0d.org>", 11, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@[1.2\0.3.4]>", 14, 0, NULL, "literal", false, false, false, 0 },
	{ "<a@b..c>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@.b.c>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@b.c.>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@-b.c>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@b-.c>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@b_c.d>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@b c.d>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@b.c@d>", 0, 0, NULL, "Invalid domain", false, false, false, 0 },
	{ "<a@[1.2.3]>", 0, 0, NULL, "IPv4", false, false, false, 0 },
	{ "<a@[1.2.3.256]>", 0, 0, NULL, "IPv4", false, false, false, 0 },
	{ "<a@[01.2.3.4]>", 0, 0, NULL, "IPv4", false, false, false, 0 },
	{ "<a@[IPv6:zz::1]>", 0, 0, NULL, "IPv6", false, false, false, 0 },
	{ "<a@[IPv6:1.2.3.4]>", 0, 0, NULL, "IPv6", false, false, false, 0 },
	{ "<a@[2001:db8::1]>", 0, 0, NULL, "Unsupported", false, false, false, 0 },
	{ "<a@[x400:c=us]>", 0, 0, NULL, "Unsupported", false, false, false, 0 },
	{ "<a@[1.2.3.4>", 0, 0, NULL, "literal", false, false, false, 0 },
	{ "<a@[]>", 0, 0, NULL, "literal", false, false, false, 0 },
	{ "<a@[>", 0, 0, NULL, "literal", false, false, false, 0 },
	{ "<\xce\xb4@b.org>", 0, N, NULL, "SMTPUTF8", false, false, false, 0 },
	{ "<a@\xce\xb4.org>", 0, N, NULL, "SMTPUTF8", false, false, false, 0 },
	{ "<\"\xce\xb4\"@b.org>", 0, N, NULL, "SMTPUTF8", false, false, false, 0 },
	{ "<\xc3\x28@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\xc0\xaf@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\xe0\x80\xaf@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\xed\xa0\x80@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\xf4\x90\x80\x80@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\xe2\x82@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\xff@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<\"\xe2\x82\"@b.org>", 0, U, NULL, "UTF-8", false, false, false, 0 },
	{ "<a@\xc3\x28.org>", 0, U, NULL, "Invalid domain", false, false, false, 0 },
};

static void check_path_case(const struct path_case *c)
{
	struct mail_addr a;
	const char *err = NULL;
	size_t end = 12345, len = c->len ? c->len : strlen(c->in);
	int ret = mail_path_parse(c->in, len, c->flags, &a, &end, &err);

	if (c->local == NULL) {
		CHECK_INTEQ(ret, -1);
		CHECK(err != NULL && strstr(err, c->domain_or_err) != NULL);
		if (err == NULL || strstr(err, c->domain_or_err) == NULL)
			fprintf(stderr, "  case %s: error \"%s\"\n", c->in, err ? err : "(null)");
		CHECK(!a.null && a.local[0] == '\0');
		return;
	}
	CHECK_INTEQ(ret, 0);
	if (ret != 0) {
		fprintf(stderr, "  case %s: %s\n", c->in, err);
		return;
	}
	CHECK_STREQ(a.local, c->local);
	CHECK_STREQ(a.domain, c->domain_or_err);
	CHECK_INTEQ(a.utf8, c->utf8);
	CHECK_INTEQ(a.literal, c->literal);
	CHECK_INTEQ(a.null, c->null);
	CHECK_INTEQ(end, c->end ? c->end : len);
}

TEST(path_table)
{
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++)
		check_path_case(&path_cases[i]);
}

static int parse_bare(const char *s, unsigned flags, struct mail_addr *a)
{
	const char *err;

	return mail_addr_parse(s, strlen(s), flags, a, &err);
}

TEST(bare_mailbox)
{
	struct mail_addr a;

	CHECK_INTEQ(parse_bare("user@example.org", 0, &a), 0);
	CHECK_STREQ(a.local, "user");
	CHECK_STREQ(a.domain, "example.org");
	CHECK_INTEQ(parse_bare("\"a b\"@x.org", 0, &a), 0);
	CHECK_STREQ(a.local, "a b");
	CHECK_INTEQ(parse_bare("postmaster", D, &a), 0);
	CHECK_STREQ(a.domain, "");
	CHECK_INTEQ(parse_bare("postmaster", 0, &a), -1);
	CHECK_INTEQ(parse_bare("", N, &a), 0);
	CHECK(a.null);
	CHECK_INTEQ(parse_bare("", 0, &a), -1);
	CHECK_INTEQ(parse_bare("<a@b.org>", 0, &a), -1);
	CHECK_INTEQ(parse_bare("a@b.org>", 0, &a), -1);
	CHECK_INTEQ(parse_bare("a@b.org ", 0, &a), -1);
	CHECK_INTEQ(parse_bare("a@[192.0.2.1]", 0, &a), 0);
	CHECK(a.literal);
	CHECK_INTEQ(parse_bare("a@", 0, &a), -1);
	CHECK_INTEQ(parse_bare("@b.org", 0, &a), -1);
	CHECK_INTEQ(parse_bare("\xc3\xa9@b.org", 0, &a), -1);
	CHECK_INTEQ(parse_bare("\xc3\xa9@b.org", U, &a), 0);
	CHECK(a.utf8);
}

TEST(length_limits)
{
	struct mail_addr a;
	char in[1024];
	const char *err = NULL;

	memset(long_local, 'l', 255);
	long_local[255] = '\0';
	snprintf(in, sizeof(in), "%s@x.org", long_local);
	CHECK_INTEQ(parse_bare(in, 0, &a), 0);
	CHECK_INTEQ(strlen(a.local), 255);
	snprintf(in, sizeof(in), "l%s@x.org", long_local);
	CHECK_INTEQ(mail_addr_parse(in, strlen(in), 0, &a, &err), -1);
	CHECK(err != NULL && strstr(err, "too long") != NULL);
	/* quoted: 255 unquoted octets fit even though the wire form is longer */
	snprintf(in, sizeof(in), "\"\\\\%s\"@x.org", long_local);
	CHECK_INTEQ(parse_bare(in, 0, &a), -1);	/* "\\" + 255: 256 octets */
	snprintf(in, sizeof(in), "\"%s\"@x.org", long_local);
	CHECK_INTEQ(parse_bare(in, 0, &a), 0);

	memset(long_label, 'a', 63);
	long_label[63] = '\0';
	snprintf(in, sizeof(in), "a@%s.org", long_label);
	CHECK_INTEQ(parse_bare(in, 0, &a), 0);
	snprintf(in, sizeof(in), "a@a%s.org", long_label);
	CHECK_INTEQ(parse_bare(in, 0, &a), -1);

	/* 4 x 63 + 3 dots = 255 > 253; 253 exactly passes */
	snprintf(long_domain, sizeof(long_domain), "%s.%s.%s.%.61s",
		 long_label, long_label, long_label, long_label);
	CHECK_INTEQ(strlen(long_domain), 253);
	snprintf(in, sizeof(in), "a@%s", long_domain);
	CHECK_INTEQ(parse_bare(in, 0, &a), 0);
	CHECK_INTEQ(strlen(a.domain), 253);
	snprintf(in, sizeof(in), "a@%s.%s.%s.%.62s", long_label, long_label,
		 long_label, long_label);
	CHECK_INTEQ(mail_addr_parse(in, strlen(in), 0, &a, &err), -1);
	CHECK(err != NULL && strstr(err, "too long") != NULL);
	snprintf(in, sizeof(in), "a@%s.%s.%s.%s.%s", long_label, long_label,
		 long_label, long_label, long_label);
	CHECK_INTEQ(parse_bare(in, 0, &a), -1);
}

TEST(domain_valid)
{
	CHECK(mail_domain_valid("example.org", false));
	CHECK(mail_domain_valid("a", false));
	CHECK(mail_domain_valid("1.2.3.4", false));
	CHECK(mail_domain_valid("xn--bcher-kva.example", false));
	CHECK(!mail_domain_valid("", false));
	CHECK(!mail_domain_valid(".", false));
	CHECK(!mail_domain_valid("example.org.", false));
	CHECK(!mail_domain_valid("-a.org", false));
	CHECK(!mail_domain_valid("a-.org", false));
	CHECK(!mail_domain_valid("a_b.org", false));
	CHECK(!mail_domain_valid("[1.2.3.4]", false));
	CHECK(!mail_domain_valid("b\xc3\xbc" "cher.example", false));
	CHECK(mail_domain_valid("b\xc3\xbc" "cher.example", true));
	CHECK(!mail_domain_valid("b\xc3" "cher.example", true));
	CHECK(!mail_domain_valid("a..b", true));
}

TEST(utf8_seq_len)
{
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"a", 1), 1);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xef\xbf\xbf", 3), 3);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xc1\xbf", 2), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xe0\x9f\xbf", 3), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xed\xbf\xbf", 3), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xf0\x8f\xbf\xbf", 4), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xf5\x80\x80\x80", 4), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\x80", 1), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xe2\x28\xa1", 3), 0);
	CHECK_INTEQ(mail_utf8_seq_len((const unsigned char *)"\xe2\x82\x28", 3), 0);
}

/* in -> formatted form; and the formatted form parses back to the same. */
static const struct {
	const char *in;
	const char *out;
} format_cases[] = {
	{ "user@example.org", "user@example.org" },
	{ "\"abc\"@x.org", "abc@x.org" },
	{ "\"a.b\"@x.org", "a.b@x.org" },
	{ "\"john doe\"@x.org", "\"john doe\"@x.org" },
	{ "\"a..b\"@x.org", "\"a..b\"@x.org" },
	{ "\".a\"@x.org", "\".a\"@x.org" },
	{ "\"a.\"@x.org", "\"a.\"@x.org" },
	{ "\"a\\\"b\"@x.org", "\"a\\\"b\"@x.org" },
	{ "\"a\\\\b\"@x.org", "\"a\\\\b\"@x.org" },
	{ "\"\\a\\b\\c\"@x.org", "abc@x.org" },
	{ "\"a@b\"@x.org", "\"a@b\"@x.org" },
	{ "\"a,b\"@[192.0.2.1]", "\"a,b\"@[192.0.2.1]" },
	{ "\xce\xb4.\xce\xb4@\xce\xb4.org", "\xce\xb4.\xce\xb4@\xce\xb4.org" },
	{ "\"\xce\xb4 \xce\xb4\"@x.org", "\"\xce\xb4 \xce\xb4\"@x.org" },
	{ "postmaster", "postmaster" },
	{ "", "" },
};

TEST(format_round_trip)
{
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		struct mail_addr a, b;
		struct buf out = BUF_INIT;
		unsigned fl = U | N | D;

		CHECK_INTEQ(parse_bare(format_cases[i].in, fl, &a), 0);
		mail_addr_format(&a, &out);
		CHECK_STREQ(buf_cstr(&out), format_cases[i].out);
		CHECK_INTEQ(mail_addr_parse(out.ptr ? out.ptr : "", out.len, fl, &b, NULL), 0);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		buf_free(&out);
	}
}

/* Every printable ASCII octet in a quoted local part survives a round trip. */
TEST(format_all_printable)
{
	struct mail_addr a, b;
	struct buf out = BUF_INIT;

	memset(&a, 0, sizeof(a));
	for (int c = 32; c <= 126; c++)
		a.local[c - 32] = (char)c;
	memcpy(a.domain, "x.org", 6);
	mail_addr_format(&a, &out);
	CHECK_INTEQ(mail_addr_parse(out.ptr, out.len, 0, &b, NULL), 0);
	CHECK_STREQ(b.local, a.local);
	buf_free(&out);
}

int main(void)
{
	RUN(path_table);
	RUN(bare_mailbox);
	RUN(length_limits);
	RUN(domain_valid);
	RUN(utf8_seq_len);
	RUN(format_round_trip);
	RUN(format_all_printable);
	return test_summary();
}
