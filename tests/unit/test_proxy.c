/* Unit tests for lib/proxy: PROXY protocol v1 and v2 headers, whole and
 * fed as growing prefixes the way the reader takes them off a socket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/netaddr.h"
#include "lib/proxy.h"

static const uint8_t sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* A v2 header: ver/cmd, fam, then the address block bytes. */
static size_t v2(uint8_t *out, uint8_t vc, uint8_t fam, const uint8_t *blk,
		 size_t n)
{
	memcpy(out, sig, 12);
	out[12] = vc;
	out[13] = fam;
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
	memcpy(out + 16, blk, n);
	return 16 + n;
}

/* Feed data the way smtp_proxy.c does: only the bytes asked for. */
static int feed(const uint8_t *data, size_t len, struct proxy_header *h,
		const char **why)
{
	size_t have = 0, need = 0;
	int rc;

	while ((rc = proxy_parse(data, have, h, &need, why)) == 0) {
		if (need == 0 || have + need > len)
			return 0;	/* wants more than there is */
		have += need;
	}
	return rc;
}

static void src_is(const struct proxy_header *h, const char *ip, unsigned port)
{
	char got[64];

	netaddr_ip_string((const struct sockaddr *)&h->src, got, sizeof(got));
	CHECK_STREQ(got, ip);
	CHECK_INTEQ(netaddr_port((const struct sockaddr *)&h->src), port);
}

struct v1_case {
	const char *in;
	int len;		/* expected return: header length, 0, -1 */
	const char *src;	/* NULL: local */
	unsigned port;
};

static const struct v1_case v1_cases[] = {
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO", 44, "192.0.2.1", 56324 },
	{ "PROXY TCP6 2001:db8::1 2001:db8::2 1 587\r\n", 42, "2001:db8::1", 1 },
	{ "PROXY UNKNOWN\r\n", 15, NULL, 0 },
	{ "PROXY UNKNOWN ffff:f...f ffff:f...f 65535 65535\r\n", 49, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 0 65535\r\n", 43, "192.0.2.1", 0 },
	/* negative */
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\n", -1, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\r\n", -1, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 025 25\r\n", -1, NULL, 0 },
	{ "PROXY TCP4 2001:db8::1 198.51.100.2 1 25\r\n", -1, NULL, 0 },
	{ "PROXY TCP6 192.0.2.1 2001:db8::2 1 25\r\n", -1, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1  198.51.100.2 1 25\r\n", -1, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 25 x\r\n", -1, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n", -1, NULL, 0 },
	{ "PROXY UDP4 192.0.2.1 198.51.100.2 1 25\r\n", -1, NULL, 0 },
	{ "PROXY tcp4 192.0.2.1 198.51.100.2 1 25\r\n", -1, NULL, 0 },
	{ "PROXY UNKNOWNX\r\n", -1, NULL, 0 },
	{ "PROXY TCP4 192.0.2.1\r198.51.100.2 1 25\r\n", -1, NULL, 0 },
	{ "EHLO client.example\r\n", -1, NULL, 0 },
	{ "proxy TCP4 192.0.2.1 198.51.100.2 1 25\r\n", -1, NULL, 0 },
	{ "GET / HTTP/1.0\r\n", -1, NULL, 0 },
	/* incomplete */
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r", 0, NULL, 0 },
	{ "PROXY", 0, NULL, 0 },
	{ "", 0, NULL, 0 },
};

TEST(v1_table)
{
	for (size_t i = 0; i < sizeof(v1_cases) / sizeof(v1_cases[0]); i++) {
		const struct v1_case *c = &v1_cases[i];
		struct proxy_header h;
		const char *why = NULL;
		size_t need;
		int rc = proxy_parse(c->in, strlen(c->in), &h, &need, &why);

		if (rc != c->len)
			fprintf(stderr, "case %zu: %s\n", i, c->in);
		CHECK_INTEQ(rc, c->len);
		CHECK(rc != -1 || why != NULL);
		CHECK(rc != 0 || need >= 1);
		/* the same through byte-exact reads */
		CHECK_INTEQ(feed((const uint8_t *)c->in, strlen(c->in), &h, &why),
			    c->len);
		if (rc <= 0)
			continue;
		CHECK_INTEQ(h.version, 1);
		CHECK(h.local == (c->src == NULL));
		if (c->src != NULL)
			src_is(&h, c->src, c->port);
	}
}

TEST(v1_too_long)
{
	char line[200];
	struct proxy_header h;
	const char *why = NULL;
	size_t need;

	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	CHECK_INTEQ(proxy_parse(line, PROXY_V1_MAX - 1, &h, &need, &why), 0);
	CHECK_INTEQ(proxy_parse(line, PROXY_V1_MAX, &h, &need, &why), -1);
	/* exactly 107 with CRLF is fine */
	line[PROXY_V1_MAX - 2] = '\r';
	line[PROXY_V1_MAX - 1] = '\n';
	CHECK_INTEQ(proxy_parse(line, PROXY_V1_MAX, &h, &need, &why), PROXY_V1_MAX);
}

TEST(v1_never_reads_past_header)
{
	const char *in = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	size_t len = strlen(in), have = 0, need = 0;
	struct proxy_header h;
	const char *why;

	while (proxy_parse(in, have, &h, &need, &why) == 0) {
		CHECK(have + need <= len);
		have += need;
	}
	CHECK_INTEQ(have, len);
}

TEST(v2_inet)
{
	uint8_t buf[64], blk[12] = { 192, 0, 2, 7, 198, 51, 100, 1, 0x1F, 0x90, 0, 25 };
	struct proxy_header h;
	const char *why = NULL;
	size_t n = v2(buf, 0x21, 0x11, blk, sizeof(blk)), need;

	CHECK_INTEQ(proxy_parse(buf, n, &h, &need, &why), 28);
	CHECK_INTEQ(h.version, 2);
	CHECK(!h.local);
	src_is(&h, "192.0.2.7", 8080);
	CHECK_INTEQ(feed(buf, n, &h, &why), 28);
	CHECK_INTEQ(proxy_parse(buf, n - 1, &h, &need, &why), 0);
	CHECK_INTEQ(need, 1);
	CHECK_INTEQ(proxy_parse(buf, 13, &h, &need, &why), 0);
	CHECK_INTEQ(need, 3);
}

TEST(v2_inet6_with_tlvs)
{
	uint8_t buf[128], blk[36 + 7] = { 0 };
	struct proxy_header h;
	const char *why = NULL;
	size_t n, need;

	inet_pton(AF_INET6, "2001:db8::5", blk);
	inet_pton(AF_INET6, "2001:db8::6", blk + 16);
	blk[32] = 0x01; blk[33] = 0x00;		/* port 256 */
	blk[35] = 25;
	blk[36] = 0x04; blk[37] = 0; blk[38] = 4;	/* a NOOP TLV, skipped */
	n = v2(buf, 0x21, 0x21, blk, sizeof(blk));
	CHECK_INTEQ(proxy_parse(buf, n, &h, &need, &why), (int)n);
	src_is(&h, "2001:db8::5", 256);
	CHECK_INTEQ(feed(buf, n, &h, &why), (int)n);
}

struct v2_case {
	uint8_t vc, fam;
	size_t blklen;
	int ok;		/* 1: header accepted, -1: refused */
	int local;
};

static const struct v2_case v2_cases[] = {
	{ 0x20, 0x00, 0, 1, 1 },	/* LOCAL */
	{ 0x20, 0x11, 12, 1, 1 },	/* LOCAL ignores the addresses */
	{ 0x21, 0x00, 0, 1, 1 },	/* PROXY UNSPEC */
	{ 0x21, 0x31, 216, 1, 1 },	/* PROXY AF_UNIX: keep the peer */
	{ 0x21, 0x11, 11, -1, 0 },	/* short IPv4 block */
	{ 0x21, 0x21, 35, -1, 0 },	/* short IPv6 block */
	{ 0x21, 0x12, 12, -1, 0 },	/* UDP */
	{ 0x21, 0x41, 12, -1, 0 },	/* unknown family */
	{ 0x22, 0x11, 12, -1, 0 },	/* unknown command */
	{ 0x11, 0x11, 12, -1, 0 },	/* version 1 in binary */
	{ 0x31, 0x11, 12, -1, 0 },	/* version 3 */
};

TEST(v2_table)
{
	uint8_t buf[PROXY_MAX_HEADER], blk[PROXY_MAX_HEADER] = { 0 };

	for (size_t i = 0; i < sizeof(v2_cases) / sizeof(v2_cases[0]); i++) {
		const struct v2_case *c = &v2_cases[i];
		struct proxy_header h;
		const char *why = NULL;
		size_t n = v2(buf, c->vc, c->fam, blk, c->blklen), need;
		int rc = proxy_parse(buf, n, &h, &need, &why);

		CHECK_INTEQ(rc, c->ok > 0 ? (int)n : -1);
		if (rc > 0)
			CHECK(h.local == (c->local != 0));
	}
}

TEST(v2_too_long)
{
	uint8_t buf[16];
	struct proxy_header h;
	const char *why = NULL;
	size_t need;

	memcpy(buf, sig, 12);
	buf[12] = 0x21;
	buf[13] = 0x11;
	buf[14] = 0xFF;
	buf[15] = 0xFF;
	CHECK_INTEQ(proxy_parse(buf, 16, &h, &need, &why), -1);
	buf[14] = (PROXY_MAX_HEADER - 16) >> 8;
	buf[15] = (PROXY_MAX_HEADER - 16) & 0xFF;
	CHECK_INTEQ(proxy_parse(buf, 16, &h, &need, &why), 0);
	CHECK_INTEQ(need, PROXY_MAX_HEADER - 16);
}

TEST(bad_signature_prefix)
{
	uint8_t buf[16];
	struct proxy_header h;
	const char *why = NULL;
	size_t need;

	memcpy(buf, sig, 12);
	buf[7] = 'X';
	CHECK_INTEQ(proxy_parse(buf, 8, &h, &need, &why), -1);
	CHECK_INTEQ(proxy_parse(buf, 7, &h, &need, &why), 0);
	CHECK_INTEQ(proxy_parse("\r\n\r\nX", 5, &h, &need, &why), -1);
}

int main(void)
{
	RUN(v1_table);
	RUN(v1_too_long);
	RUN(v1_never_reads_past_header);
	RUN(v2_inet);
	RUN(v2_inet6_with_tlvs);
	RUN(v2_table);
	RUN(v2_too_long);
	RUN(bad_signature_prefix);
	return test_summary();
}
