/* Unit tests for src/mail/rfc5322: address lists and dates.
 *
 *   test_rfc5322                 built-in tables
 *   test_rfc5322 HEADERS.txt     + Stalwart's address and date vectors
 *                                  (mime_suite_gen.py headers) */
#include "harness.h"
#include "suite_io.h"

#include "mail/rfc2047.h"
#include "mail/rfc5322.h"

/* "name|route|mailbox|host;..." with - for NULL. */
static void describe(const struct rfc5322_addr_list *l, struct buf *out)
{
	buf_append(out, "", 0);
	for (size_t i = 0; i < l->n; i++) {
		const struct rfc5322_addr *a = &l->v[i];

		buf_printf(out, "%s%s|%s|%s|%s", i ? ";" : "",
			   a->name ? a->name : "-", a->route ? a->route : "-",
			   a->mailbox ? a->mailbox : "-", a->host ? a->host : "-");
	}
}

struct addr_case {
	const char *in;
	const char *want;
};

static const struct addr_case addr_cases[] = {
	{ "", "" },
	{ "  (just a comment)  ", "" },
	{ "a@b", "-|-|a|b" },
	{ "John Doe <jdoe@machine.example>", "John Doe|-|jdoe|machine.example" },
	{ "\"Joe Q. Public\" <john.q.public@example.com>",
	  "Joe Q. Public|-|john.q.public|example.com" },
	{ "Joe Q. Public <john.q.public@example.com>",
	  "Joe Q. Public|-|john.q.public|example.com" },
	{ "user@domain (Real Name)", "Real Name|-|user|domain" },
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	  "Pete|-|pete|silly.test" },
	{ "<@a,@b:user@host>", "-|@a,@b|user|host" },
	{ "<@a user@host>", "-|INVALID_ROUTE|user|host" },
	{ "jdoe@test  . example", "-|-|jdoe|test.example" },
	{ "a . b@c", "-|-|a.b|c" },
	{ "\"a b\"@c", "-|-|a b|c" },
	{ "x@[1.2.3.4]", "-|-|x|[1.2.3.4]" },
	{ "g: a@b, c@d;, e@f", "-|-|g|-;-|-|a|b;-|-|c|d;-|-|-|-;-|-|e|f" },
	{ "Undisclosed recipients:;", "-|-|Undisclosed recipients|-;-|-|-|-" },
	{ "g: a@b", "-|-|g|-;-|-|a|b;-|-|-|-" },			/* no ';' */
	{ "Whomever", "-|-|Whomever|MISSING_DOMAIN" },
	{ "Real Name", "Real Name|-|MISSING_MAILBOX|MISSING_DOMAIN" },
	{ "\"Joe\"", "Joe|-|MISSING_MAILBOX|MISSING_DOMAIN" },
	{ "<>", "-|-|MISSING_MAILBOX|MISSING_DOMAIN" },
	{ "@host", "-|-|MISSING_MAILBOX|host" },
	{ "Name <a@b", "Name|-|a|SYNTAX_ERROR" },
	{ "a@b c@d", "-|-|a|b" },					/* garbage: stop */
	{ "a@b,,c@d", "-|-|a|b;-|-|MISSING_MAILBOX|MISSING_DOMAIN;-|-|c|d" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@x>", "=?utf-8?q?J=C3=B6rg?=|-|j|x" },	/* raw */
	{ "\"a\x00z\"@b", "-|-|a\xef\xbf\xbdz|b" },	/* NUL: U+FFFD */
};

TEST(address_table)
{
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		struct rfc5322_addr_list l = RFC5322_ADDR_LIST_INIT;
		struct buf got = BUF_INIT;
		size_t len = strlen(addr_cases[i].in);

		if (i == sizeof(addr_cases) / sizeof(addr_cases[0]) - 1)
			len = 7;	/* the NUL case */
		rfc5322_addr_parse(&l, addr_cases[i].in, len);
		describe(&l, &got);
		CHECK_STREQ(buf_cstr(&got), addr_cases[i].want);
		buf_free(&got);
		rfc5322_addr_list_free(&l);
	}
}

TEST(address_limit)
{
	struct rfc5322_addr_list l = RFC5322_ADDR_LIST_INIT;
	struct buf in = BUF_INIT;

	for (int i = 0; i < RFC5322_ADDR_MAX + 100; i++)
		buf_appends(&in, "a@b,");
	rfc5322_addr_parse(&l, in.ptr, in.len);
	CHECK_INTEQ(l.n, RFC5322_ADDR_MAX);
	rfc5322_addr_list_free(&l);
	buf_free(&in);
}

struct date_case {
	const char *in;
	int ret;
	int y, mo, d, h, mi, s, zone;
};

static const struct date_case date_cases[] = {
	{ "Tue, 1 Jul 2003 10:52:37 +0200", 0, 2003, 7, 1, 10, 52, 37, 120 },
	{ "1 jul 2003 10:52 -0330", 0, 2003, 7, 1, 10, 52, 0, -210 },
	{ " Thu,\r\n 13 (c) Feb 69 23:32:54 EST", 0, 1969, 2, 13, 23, 32, 54, -300 },
	{ "21 Nov 97 09:55:06 GMT", 0, 1997, 11, 21, 9, 55, 6, 0 },
	{ "21 Nov 03 09:55:06 Z", 0, 2003, 11, 21, 9, 55, 6, 0 },
	{ "21 Nov 103 09:55:06 +0000", 0, 2003, 11, 21, 9, 55, 6, 0 },
	{ "21 Nov 2003 09:55:06", 0, 2003, 11, 21, 9, 55, 6, 0 },	/* no zone */
	{ "31 Dec 1999 23:59:60 +0000", 0, 1999, 12, 31, 23, 59, 60, 0 },	/* leap */
	{ "13 Foo 2021 09:55:06 +0200", -1, 0, 0, 0, 0, 0, 0, 0 },
	{ "32 Jan 2021 09:55:06 +0200", -1, 0, 0, 0, 0, 0, 0, 0 },
	{ "1 Jan 2021 24:00:00 +0200", -1, 0, 0, 0, 0, 0, 0, 0 },
	{ "1 Jan 2021 09:55:06 +02", -1, 0, 0, 0, 0, 0, 0, 0 },
	{ "1 Jan 2021 09:55:06 +0260", -1, 0, 0, 0, 0, 0, 0, 0 },
	{ "1 Jan 2021", -1, 0, 0, 0, 0, 0, 0, 0 },
	{ "", -1, 0, 0, 0, 0, 0, 0, 0 },
};

TEST(date_table)
{
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
		const struct date_case *c = &date_cases[i];
		struct rfc5322_date d;
		int ret = rfc5322_date_parse(c->in, strlen(c->in), &d);

		CHECK_INTEQ(ret, c->ret);
		if (ret != 0 || c->ret != 0)
			continue;
		CHECK(d.year == c->y && d.month == c->mo && d.day == c->d);
		CHECK(d.hour == c->h && d.min == c->mi && d.sec == c->s);
		CHECK_INTEQ(d.zone, c->zone);
	}
}

TEST(date_convert)
{
	struct rfc5322_date d;
	struct buf b = BUF_INIT;

	CHECK_INTEQ(rfc5322_date_parse("Thu, 1 Jan 1970 01:00:00 +0100", 30, &d), 0);
	CHECK_INTEQ(rfc5322_date_to_unix(&d), 0);
	CHECK_INTEQ(rfc5322_date_parse("Tue, 30 Dec 1969 23:32:54 -0330", 31, &d), 0);
	CHECK_INTEQ(rfc5322_date_to_unix(&d), -75426);	/* 1969-12-31 03:02:54Z */
	rfc5322_date_format(1057049557, 120, &b);		/* 2003-07-01 08:52:37Z */
	CHECK_STREQ(buf_cstr(&b), "Tue, 1 Jul 2003 10:52:37 +0200");
	buf_reset(&b);
	rfc5322_date_format_imap(1057049557, -210, &b);
	CHECK_STREQ(buf_cstr(&b), "01-Jul-2003 05:22:37 -0330");
	buf_reset(&b);
	rfc5322_date_format(951782400, 0, &b);			/* leap day 2000 */
	CHECK_STREQ(buf_cstr(&b), "Tue, 29 Feb 2000 00:00:00 +0000");
	buf_reset(&b);
	rfc5322_date_format(-1, 0, &b);
	CHECK_STREQ(buf_cstr(&b), "Wed, 31 Dec 1969 23:59:59 +0000");
	buf_free(&b);
	/* parse(format(t)) == t over a range of days and zones */
	for (int64_t t = -86400LL * 400; t < 86400LL * 365 * 80; t += 86400LL * 37 + 3671) {
		buf_reset(&b);
		rfc5322_date_format(t, (int)(t % 840) - 420 + 0, &b);
		CHECK_INTEQ(rfc5322_date_parse(b.ptr, b.len, &d), 0);
		CHECK(rfc5322_date_to_unix(&d) == t);
	}
	buf_free(&b);
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Stalwart's address vectors: mail-parser shows names decoded (RFC 2047)
 * and comments folded into names; ENVELOPE needs raw names and
 * (like Dovecot) takes a comment as the name only for a bare addr-spec.
 * We compare names after decoding; these differ, and why: */
static const char *const address_known[] = {
	/* comments inside name-addr: mail-parser adds them to the name */
	"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\n",
	"Pete(A nice \n \\\n ) chap) <pete(his\n account)@silly\n .test(his host)>\n",
	"A Group(Some people)\n        :Chris Jones <c@(Chris's host.)public.example>,\n            joe@example.org,\n     John <jdoe@one.test> (my dear friend); (the end of the group)\n",
	"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\n",
	"John Doe <jdoe@machine(comment).  example>\n",
	"Nathaniel Borenstein <nsb@thumper.bellcore.com>\n    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)\n",
	"Name (comment) =?utf-8?q?Doe?= <a@b.com>\n",
	/* white space around dots in a domain is CFWS (RFC 5322 §4.4):
	 * ENVELOPE has the domain without it; so does the route */
	"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example\n",
	/* URLs in angle brackets (List-* fields) are not addresses */
	"<http://www.host.com/list/archive/> (Web Archive)\n",
	"<mailto:archive@host.com?subject=index%20list>\n",
	"<mailto:moderator@host.com> (Postings are Moderated)\n",
	"(Use this command to join the list)\n   <mailto:list-manager@host.com?body=subscribe%20list>\n",
	"<http://www.host.com/list.cgi?cmd=sub&lst=list>,\n   <mailto:list-manager@host.com?body=subscribe%20list>\n",
	"NO (posting not allowed on this list)\n",
	"<ftp://ftp.host.com/list.txt> (FTP),\n   <mailto:list@host.com?subject=help>\n",
	"<http://www.host.com/list/>, <mailto:list-info@host.com>\n",
	"(Use this command to get off the list)\n     <mailto:list-manager@host.com?body=unsubscribe%20list>\n",
	"<http://www.host.com/list.cgi?cmd=unsub&lst=list>,\n   <mailto:list-request@host.com?subject=unsubscribe>\n",
	"<mailto:listmom@host.com> (Contact Person for Help)\n",
	/* words after an angle-addr are garbage (RFC 5322 §3.4) */
	"<a@b.com> =?utf-8?q?Doe?=\n",
	/* groups end at ';'; mail-parser also turns what follows into a group */
	"List 1: addr1@test.com, addr2@test.com; List 2: addr3@test.com, addr4@test.com; addr5@test.com, addr6@test.com\n",
	"\"List 1\": addr1@test.com, addr2@test.com; \"List 2\": addr3@test.com, addr4@test.com; addr5@test.com, addr6@test.com\n",
	"\"=?utf-8?b?VGjDrXMgw61zIHbDoWzDrWQgw5pURjg=?=\": addr1@test.com, addr2@test.com; =?utf-8?b?VGjDrXMgw61zIHbDoWzDrWQgw5pURjg=?=: addr3@test.com, addr4@test.com; addr5@test.com, addr6@test.com\n",
	"\"  James Smythe\" <james@example.com>, Friends:\n  jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\n   <john@example.com>;\n",
	/* '@' is not allowed in an unquoted display name (RFC 5322 §3.2.3):
	 * we read an addr-spec followed by garbage (Dovecot too); the
	 * address is the same */
	"phil@example.com <phil@example.com>\n",
	NULL,
};

/* "name <mailbox@host>" items of our parse, names decoded for display;
 * group markers become "group:NAME". */
static void ours_flat(const struct suite_field *v, struct buf *out)
{
	struct rfc5322_addr_list l = RFC5322_ADDR_LIST_INIT;

	rfc5322_addr_parse(&l, v->s, v->len);
	for (size_t i = 0; i < l.n; i++) {
		const struct rfc5322_addr *a = &l.v[i];

		if (a->host == NULL) {
			if (a->mailbox != NULL)
				buf_printf(out, "group:%s;", a->mailbox);
			continue;
		}
		if (a->name != NULL)
			rfc2047_decode(a->name, strlen(a->name), out);
		else
			buf_appends(out, "-");
		buf_printf(out, " <%s@%s>;", a->mailbox, a->host);
	}
	buf_append(out, "", 0);
	rfc5322_addr_list_free(&l);
}

static void theirs_flat(const struct suite_line *l, struct buf *out)
{
	buf_append(out, "", 0);
	for (unsigned i = 1; i + 1 < l->n; i += 2) {
		if (strcmp(l->f[i].s, "group:") == 0) {
			if (!l->f[i + 1].null)
				buf_printf(out, "group:%s;", l->f[i + 1].s);
			continue;
		}
		buf_printf(out, "%s <%s>;", l->f[i].null ? "-" : l->f[i].s,
			   l->f[i + 1].null ? "-" : l->f[i + 1].s);
	}
}

/* The vectors hold the rest of the message after the field. */
static size_t field_len(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' && i + 1 < len && s[i + 1] != ' ' && s[i + 1] != '\t')
			return i + 1;
	return len;
}

static void compare(const char *what, const char *in, const char *ours,
		    const char *theirs, const char *const *known,
		    unsigned *pass, unsigned *nknown, unsigned *fail)
{
	bool same = strcmp(ours, theirs) == 0, k = in_list(known, in);

	*pass += same && !k;
	*nknown += !same && k;
	if (same != k)
		return;
	(*fail)++;
	fprintf(stderr, "%s %s %s\n  ours   %s\n  theirs %s\n",
		same ? "now agrees (drop from the list):" : "MISMATCH", what, in,
		ours, theirs);
}

/* Stalwart's date vectors; these differ, and why: */
static const char *const date_known[] = {
	/* a numeric month is not RFC 5322 (§3.3 month names only) */
	"20 11 (some \n 44 comments(more comments\n )) 79 05:34:27 -0300",
	" 4 8 15 16 23 42, 4 8 15 16 23 42, 4 8 15 16 23 42, ",
	/* a Received field: the caller passes the date after the ';' */
	"by 2002:aa7:cd10:0:b0:45c:2c83:1208 with SMTP id b16-20020aa7cd10000000b0045c2c831208mr4220805edw.81.1665423075119;\n\tMon, 10 Oct 2022 10:31:15 -0700 (PDT)",
	/* the vector puts a line break that is not a fold inside a comment;
	 * a field value cannot hold one, we read it as white space */
	"Tue, 1 Jul 2003 ((invalid)\ncomment) 10:52:37 +0200",
	NULL,
};

static const char *headers_path;

TEST(stalwart_vectors)
{
	struct suite_line l = { 0 };
	unsigned pass = 0, known = 0, fail = 0;
	FILE *fp = fopen(headers_path, "r");

	CHECK(fp != NULL);
	while (fp != NULL && suite_next(fp, &l)) {
		struct buf ours = BUF_INIT, theirs = BUF_INIT;

		if (strcmp(l.kw, "address") == 0) {
			struct suite_field f = l.f[0];

			f.len = field_len(f.s, f.len);
			ours_flat(&f, &ours);
			theirs_flat(&l, &theirs);
			compare("address", l.f[0].s, ours.ptr, theirs.ptr,
				address_known, &pass, &known, &fail);
		} else if (strcmp(l.kw, "date") == 0 && l.n >= 2) {
			struct rfc5322_date d;

			if (rfc5322_date_parse(l.f[0].s, l.f[0].len, &d) < 0)
				buf_appends(&ours, "-");
			else
				buf_printf(&ours, "%d %d %d %d %d %d %d", d.year, d.month,
					   d.day, d.hour, d.min, d.sec, d.zone);
			if (l.f[1].null)
				buf_appends(&theirs, "-");
			for (unsigned i = 1; i < l.n && !l.f[1].null; i++)
				buf_printf(&theirs, "%s%s", i > 1 ? " " : "", l.f[i].s);
			compare("date", l.f[0].s, buf_cstr(&ours), buf_cstr(&theirs),
				date_known, &pass, &known, &fail);
		}
		buf_free(&ours);
		buf_free(&theirs);
	}
	if (fp != NULL)
		fclose(fp);
	free(l.raw);
	printf("stalwart address+date: %u agree, %u known differences, %u mismatches\n",
	       pass, known, fail);
	CHECK(fail == 0 && pass > 0);
}

int main(int argc, char **argv)
{
	RUN(address_table);
	RUN(address_limit);
	RUN(date_table);
	RUN(date_convert);
	if (argc > 1) {
		headers_path = argv[1];
		RUN(stalwart_vectors);
	}
	return test_summary();
}
