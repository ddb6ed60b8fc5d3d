/* Unit tests for src/cli/dnsrecords: the zone-file text of `dns records`. */
#include "harness.h"

#include <ctype.h>
#include <stdlib.h>

#include "cli/dnsrecords.h"
#include "mailauth/dkim.h"

static const char *const addrs1[] = { "203.0.113.5", "2001:db8::5" };

/* A domain with everything on, mail host inside the domain. */
static struct dnsrec_domain sample(void)
{
	struct dnsrec_domain d = {
		.domain = "example.org", .hostname = "mail.example.org",
		.addrs = addrs1, .naddrs = 2,
		.dmarc_policy = DNSREC_DMARC_QUARANTINE,
		.dmarc_rua = "postmaster@example.org",
		.mta_sts = DNSREC_STS_TESTING,
		.tls_rpt_rua = "postmaster@example.org",
		.srv_port = { 587, 465, 143, 993, 0, 0 },
	};
	return d;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* Every record line (not a comment) follows a "; " comment line. */
static bool every_record_explained(const char *text)
{
	const char *prev = NULL, *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		if (nl == NULL)
			return false;	/* every line ends in a newline */
		if (*p != ';' && (prev == NULL || strncmp(prev, "; ", 2) != 0))
			return false;
		prev = p;
		p = nl + 1;
	}
	return true;
}

TEST(reverse_names)
{
	static const struct { const char *ip, *want; } t[] = {
		{ "192.0.2.1", "1.2.0.192.in-addr.arpa" },
		{ "127.0.0.2", "2.0.0.127.in-addr.arpa" },
		{ "2001:db8::5", "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
				 "8.b.d.0.1.0.0.2.ip6.arpa" },
		{ "::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			 "0.0.0.0.ip6.arpa" },
	};
	char out[DNSREC_REVERSE_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_INTEQ(dnsrec_reverse_name(t[i].ip, out), 0);
		CHECK_STREQ(out, t[i].want);
	}
	CHECK_INTEQ(dnsrec_reverse_name("mail.example.org", out), -1);
	CHECK_INTEQ(dnsrec_reverse_name("1.2.3", out), -1);
	CHECK_INTEQ(dnsrec_reverse_name("", out), -1);
}

TEST(public_addresses)
{
	static const struct { const char *ip; bool pub; } t[] = {
		{ "8.8.8.8", true }, { "100.128.0.1", true }, { "172.32.0.1", true },
		{ "198.51.99.1", true }, { "2a01:4f8::1", true },
		{ "2600:1f18::5", true },
		{ "10.1.2.3", false }, { "100.64.0.1", false },
		{ "100.127.255.255", false }, { "127.0.0.1", false },
		{ "127.0.0.2", false }, { "169.254.1.1", false },
		{ "172.16.0.1", false }, { "172.31.255.255", false },
		{ "192.168.1.1", false }, { "192.0.2.1", false },
		{ "198.51.100.1", false }, { "203.0.113.5", false },
		{ "224.0.0.1", false }, { "255.255.255.255", false },
		{ "0.0.0.0", false }, { "::1", false }, { "::", false },
		{ "fe80::1", false }, { "fd00::1", false }, { "fc00::1", false },
		{ "ff02::1", false }, { "2001:db8::1", false },
		{ "2001:0:4136:e378::1", false }, { "2002:c000:204::1", false },
		{ "::ffff:8.8.8.8", false }, { "mail.example.org", false },
		{ "", false }, { "8.8.8.8.", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (dnsrec_addr_is_public(t[i].ip) != t[i].pub) {
			fprintf(stderr, "address %s\n", t[i].ip);
			CHECK(0);
		}
	}
}

TEST(host_in_domain)
{
	CHECK(dnsrec_host_in_domain("mail.example.org", "example.org"));
	CHECK(dnsrec_host_in_domain("MAIL.Example.ORG", "example.org"));
	CHECK(dnsrec_host_in_domain("example.org", "example.org"));
	CHECK(dnsrec_host_in_domain("a.b.example.org", "example.org"));
	CHECK(!dnsrec_host_in_domain("badexample.org", "example.org"));
	CHECK(!dnsrec_host_in_domain("mail.example.net", "example.org"));
	CHECK(!dnsrec_host_in_domain("org", "example.org"));
}

TEST(spf_choice)
{
	struct dnsrec_domain d = sample();
	struct buf b = BUF_INIT;

	dnsrec_spf(&d, &b);
	CHECK_STREQ(buf_cstr(&b), "v=spf1 mx -all");
	/* the mail host is named in another zone: addresses written out */
	d.hostname = "mx.hosting.example";
	buf_reset(&b);
	dnsrec_spf(&d, &b);
	CHECK_STREQ(buf_cstr(&b), "v=spf1 ip4:203.0.113.5 ip6:2001:db8::5 -all");
	/* ... unless they are unknown */
	d.naddrs = 0;
	buf_reset(&b);
	dnsrec_spf(&d, &b);
	CHECK_STREQ(buf_cstr(&b), "v=spf1 mx -all");
	buf_free(&b);
}

TEST(domain_records)
{
	struct dnsrec_domain d = sample();
	struct buf b = BUF_INIT;
	const char *t;

	dnsrec_domain_text(&d, &b);
	t = buf_cstr(&b);
	CHECK(every_record_explained(t));
	CHECK(has_line(t, "example.org. 3600 IN MX 10 mail.example.org."));
	CHECK(has_line(t, "example.org. 3600 IN TXT \"v=spf1 mx -all\""));
	CHECK(has_line(t, "_dmarc.example.org. 3600 IN TXT \"v=DMARC1; "
			  "p=quarantine; rua=mailto:postmaster@example.org\""));
	CHECK(has_line(t, "_smtp._tls.example.org. 3600 IN TXT \"v=TLSRPTv1; "
			  "rua=mailto:postmaster@example.org\""));
	CHECK(has_line(t, "_submission._tcp.example.org. 3600 IN SRV 0 1 587 "
			  "mail.example.org."));
	CHECK(has_line(t, "_submissions._tcp.example.org. 3600 IN SRV 0 1 465 "
			  "mail.example.org."));
	CHECK(has_line(t, "_imap._tcp.example.org. 3600 IN SRV 0 1 143 "
			  "mail.example.org."));
	CHECK(has_line(t, "_imaps._tcp.example.org. 3600 IN SRV 0 1 993 "
			  "mail.example.org."));
	CHECK(has_line(t, "_pop3._tcp.example.org. 3600 IN SRV 0 0 0 ."));
	CHECK(has_line(t, "_pop3s._tcp.example.org. 3600 IN SRV 0 0 0 ."));
	CHECK(has_line(t, "mta-sts.example.org. 3600 IN A 203.0.113.5"));
	CHECK(has_line(t, "mta-sts.example.org. 3600 IN AAAA 2001:db8::5"));
	CHECK(has_line(t, ";   mode: testing"));
	CHECK(has_line(t, ";   mx: mail.example.org"));
	CHECK(strstr(t, "_mta-sts.example.org. 3600 IN TXT \"v=STSv1; id=") != NULL);
	CHECK(strstr(t, "No DKIM key for example.org") != NULL);
	/* the rua is local: no authorisation record */
	CHECK(strstr(t, "_report._dmarc") == NULL);
	buf_free(&b);
}

TEST(options_change_records)
{
	struct dnsrec_domain d = sample();
	struct buf b = BUF_INIT;
	const char *t;

	d.dmarc_policy = DNSREC_DMARC_REJECT;
	d.dmarc_rua = "reports@example.net";
	d.tls_rpt_rua = NULL;
	d.mta_sts = DNSREC_STS_OFF;
	dnsrec_domain_text(&d, &b);
	t = buf_cstr(&b);
	CHECK(every_record_explained(t));
	CHECK(has_line(t, "_dmarc.example.org. 3600 IN TXT \"v=DMARC1; "
			  "p=reject; rua=mailto:reports@example.net\""));
	/* RFC 7489 §7.1: the other domain allows the reports */
	CHECK(has_line(t, "example.org._report._dmarc.example.net. 3600 IN TXT "
			  "\"v=DMARC1\""));
	CHECK(strstr(t, "_smtp._tls") == NULL);
	CHECK(strstr(t, "_mta-sts") == NULL);
	CHECK(strstr(t, "IN A ") == NULL);
	CHECK(strstr(t, "MTA-STS is off") != NULL);
	d.dmarc_rua = NULL;
	buf_reset(&b);
	dnsrec_domain_text(&d, &b);
	CHECK(has_line(buf_cstr(&b), "_dmarc.example.org. 3600 IN TXT "
				     "\"v=DMARC1; p=reject\""));
	buf_free(&b);
}

/* Quoted strings of a TXT line: each <= 255 octets, joined = value. */
static void check_strings(const char *line, const char *value)
{
	struct buf joined = BUF_INIT;
	const char *p = strchr(line, '"');

	while (p != NULL && *p == '"') {
		size_t n = 0;
		for (p++; *p != '"' && *p != '\0'; p++, n++) {
			if (*p == '\\')
				p++;
			buf_appendc(&joined, *p);
		}
		CHECK(n <= 255);
		p = strchr(p + 1, '"');
	}
	CHECK_STREQ(buf_cstr(&joined), value);
	buf_free(&joined);
}

TEST(dkim_records_split)
{
	struct dnsrec_domain d = sample();
	struct dkim_privkey *k = dkim_privkey_generate(DKIM_KEY_RSA, 2048, NULL);
	struct buf rec = BUF_INIT, b = BUF_INIT;
	struct dnsrec_dkim keys[2];
	const char *line;

	CHECK(k != NULL);
	dkim_privkey_record(k, &rec);
	keys[0] = (struct dnsrec_dkim){ "mk202611r", rec.ptr, NULL };
	keys[1] = (struct dnsrec_dkim){ "gone", NULL, "/x/gone.key: No such file" };
	d.dkim = keys;
	d.ndkim = 2;
	dnsrec_domain_text(&d, &b);
	CHECK(every_record_explained(buf_cstr(&b)));
	line = strstr(buf_cstr(&b), "mk202611r._domainkey.example.org. 3600 IN "
		      "TXT ( \"v=DKIM1; k=rsa; \" \"p=");
	CHECK(line != NULL);
	if (line != NULL) {
		char *one = strndup(line, strcspn(line, "\n"));
		CHECK(one[strlen(one) - 1] == ')');
		check_strings(one, rec.ptr);
		free(one);
	}
	CHECK(strstr(buf_cstr(&b), "; DKIM key gone left out: /x/gone.key: No "
		     "such file\n") != NULL);
	dkim_privkey_free(k);
	buf_free(&rec);
	buf_free(&b);
}

TEST(txt_quoting)
{
	struct buf b = BUF_INIT;
	char big[600];

	dnsrec_txt_rdata("say \"hi\" \\ there", &b);
	CHECK_STREQ(buf_cstr(&b), "\"say \\\"hi\\\" \\\\ there\"");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&b);
	dnsrec_txt_rdata(big, &b);
	CHECK(strncmp(buf_cstr(&b), "( \"", 3) == 0);
	check_strings(buf_cstr(&b), big);
	buf_free(&b);
}

TEST(host_records)
{
	struct dnsrec_host h = { "mail.example.org", addrs1, 2, true };
	struct buf b = BUF_INIT;
	const char *t;

	dnsrec_host_text(&h, &b);
	t = buf_cstr(&b);
	CHECK(every_record_explained(t));
	CHECK(has_line(t, "mail.example.org. 3600 IN A 203.0.113.5"));
	CHECK(has_line(t, "mail.example.org. 3600 IN AAAA 2001:db8::5"));
	CHECK(has_line(t, "mail.example.org. 3600 IN TXT \"v=spf1 a -all\""));
	CHECK(has_line(t, ";   5.113.0.203.in-addr.arpa. IN PTR mail.example.org."));
	CHECK(strstr(t, "ip6.arpa. IN PTR mail.example.org.\n") != NULL);
	/* no addresses: placeholders, no record lines */
	h.naddrs = 0;
	h.helo_spf = false;
	buf_reset(&b);
	dnsrec_host_text(&h, &b);
	t = buf_cstr(&b);
	CHECK(strstr(t, "--ip ADDRESS") != NULL);
	CHECK(strstr(t, "\nmail.example.org.") == NULL);
	CHECK(strstr(t, "IN PTR") == NULL);
	buf_free(&b);
}

TEST(sts_id_follows_policy)
{
	struct dnsrec_domain d = sample();
	struct buf a = BUF_INIT, b = BUF_INIT, pol = BUF_INIT;
	const char *id;

	dnsrec_sts_txt(&d, &a);
	dnsrec_sts_txt(&d, &b);
	CHECK_STREQ(buf_cstr(&a), buf_cstr(&b));
	id = strstr(buf_cstr(&a), "id=");
	CHECK(id != NULL && strlen(id + 3) == DNSREC_STS_ID_LEN);
	for (const char *p = id ? id + 3 : ""; *p; p++)
		CHECK(isxdigit((unsigned char)*p));
	d.mta_sts = DNSREC_STS_ENFORCE;
	buf_reset(&b);
	dnsrec_sts_txt(&d, &b);
	CHECK(strcmp(buf_cstr(&a), buf_cstr(&b)) != 0);
	dnsrec_sts_policy(&d, &pol);
	CHECK_STREQ(buf_cstr(&pol), "version: STSv1\r\nmode: enforce\r\n"
		    "mx: mail.example.org\r\nmax_age: 1209600\r\n");
	buf_free(&a);
	buf_free(&b);
	buf_free(&pol);
}

int main(void)
{
	RUN(reverse_names);
	RUN(public_addresses);
	RUN(host_in_domain);
	RUN(spf_choice);
	RUN(domain_records);
	RUN(options_change_records);
	RUN(dkim_records_split);
	RUN(txt_quoting);
	RUN(host_records);
	RUN(sts_id_follows_policy);
	return test_summary();
}
