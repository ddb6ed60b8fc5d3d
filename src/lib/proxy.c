/* proxy: PROXY protocol v1 (text) and v2 (binary) header parser. */
#include "lib/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* spec 2.2: the v2 signature */
static const uint8_t v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
static const char v1_sig[] = "PROXY ";

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* A decimal port: 1-5 digits, at most 65535, no leading zero (spec 2.1). */
static int v1_port(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* Fill a socket address from text ip and port of the given family. */
static int v1_addr(int family, const char *ip, size_t iplen, unsigned port,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (iplen == 0 || iplen >= sizeof(tmp))
		return -1;
	memcpy(tmp, ip, iplen);
	tmp[iplen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return inet_pton(AF_INET, tmp, &sin->sin_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*sin6);
	return inet_pton(AF_INET6, tmp, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* Split the v1 line (without "PROXY " and CRLF) at single spaces. */
static size_t v1_fields(const char *p, size_t n, const char *f[5],
			size_t fl[5])
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ' ')
			continue;
		if (k == 5)
			return 6;	/* too many */
		f[k] = p + start;
		fl[k++] = i - start;
		start = i + 1;
	}
	return k;
}

/* spec 2.1: "PROXY TCP4|TCP6 src dst sport dport" or "PROXY UNKNOWN ..." */
static int v1_line(const char *p, size_t n, struct proxy_header *h,
		   const char **error_r)
{
	const char *f[5];
	size_t fl[5], k;
	unsigned sport, dport;
	int fam;

	h->version = 1;
	if (n >= 7 && memcmp(p, "UNKNOWN", 7) == 0 && (n == 7 || p[7] == ' ')) {
		h->local = true;	/* the rest is to be ignored */
		return 0;
	}
	k = v1_fields(p, n, f, fl);
	if (k != 5 || fl[0] != 4 || (memcmp(f[0], "TCP4", 4) != 0 &&
				     memcmp(f[0], "TCP6", 4) != 0)) {
		*error_r = "bad PROXY v1 line";
		return -1;
	}
	fam = f[0][3] == '4' ? AF_INET : AF_INET6;
	if (v1_port(f[3], fl[3], &sport) < 0 || v1_port(f[4], fl[4], &dport) < 0 ||
	    v1_addr(fam, f[1], fl[1], sport, &h->src, &h->src_len) < 0 ||
	    v1_addr(fam, f[2], fl[2], dport, &h->dst, &h->dst_len) < 0) {
		*error_r = "bad address or port in PROXY v1 line";
		return -1;
	}
	return 0;
}

static int parse_v1(const char *p, size_t len, struct proxy_header *h,
		    size_t *need_r, const char **error_r)
{
	size_t n = min_size(len, PROXY_V1_MAX);
	const char *lf = memchr(p, '\n', n);

	if (lf == NULL) {
		if (len >= PROXY_V1_MAX) {
			*error_r = "PROXY v1 line too long";
			return -1;
		}
		*need_r = len < PROXY_MIN_HEADER ? PROXY_MIN_HEADER - len : 1;
		return 0;
	}
	n = (size_t)(lf - p);
	if (n < sizeof(v1_sig) || p[n - 1] != '\r' ||
	    memchr(p, '\r', n - 1) != NULL || memchr(p, '\0', n) != NULL) {
		*error_r = "PROXY v1 line without CRLF ending";
		return -1;
	}
	if (v1_line(p + 6, n - 1 - 6, h, error_r) < 0)
		return -1;
	return (int)(n + 1);
}

/* spec 2.2: addresses of the PROXY command (TLVs after them are skipped) */
static int v2_addrs(const uint8_t *a, size_t alen, uint8_t fam,
		    struct proxy_header *h, const char **error_r)
{
	uint8_t af = fam >> 4, proto = fam & 0x0F;

	if (af == 0 || af == 3) {	/* UNSPEC, UNIX: keep the real peer */
		h->local = true;
		return 0;
	}
	if (af > 3 || proto != 1) {
		*error_r = "PROXY v2: unsupported address family or transport";
		return -1;
	}
	memset(&h->src, 0, sizeof(h->src));
	memset(&h->dst, 0, sizeof(h->dst));
	if (af == 1) {
		struct sockaddr_in *s = (struct sockaddr_in *)&h->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&h->dst;
		if (alen < 12)
			goto short_block;
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
		h->src_len = h->dst_len = sizeof(*s);
		return 0;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&h->dst;
	if (alen < 36)
		goto short_block;
	s6->sin6_family = d6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, a, 16);
	memcpy(&d6->sin6_addr, a + 16, 16);
	memcpy(&s6->sin6_port, a + 32, 2);
	memcpy(&d6->sin6_port, a + 34, 2);
	h->src_len = h->dst_len = sizeof(*s6);
	return 0;
short_block:
	*error_r = "PROXY v2: address block too short";
	return -1;
}

static int parse_v2(const uint8_t *p, size_t len, struct proxy_header *h,
		    size_t *need_r, const char **error_r)
{
	size_t total;

	if (len < PROXY_V2_HEAD) {
		*need_r = PROXY_V2_HEAD - len;
		return 0;
	}
	if ((p[12] >> 4) != 2 || (p[12] & 0x0F) > 1) {
		*error_r = "PROXY v2: bad version or command";
		return -1;
	}
	total = PROXY_V2_HEAD + ((size_t)p[14] << 8 | p[15]);
	if (total > PROXY_MAX_HEADER) {
		*error_r = "PROXY v2 header too long";
		return -1;
	}
	if (len < total) {
		*need_r = total - len;
		return 0;
	}
	h->version = 2;
	if ((p[12] & 0x0F) == 0) {	/* LOCAL: health check by the proxy */
		h->local = true;
		return (int)total;
	}
	if (v2_addrs(p + PROXY_V2_HEAD, total - PROXY_V2_HEAD, p[13], h,
		     error_r) < 0)
		return -1;
	return (int)total;
}

int proxy_parse(const void *data, size_t len, struct proxy_header *h,
		size_t *need_r, const char **error_r)
{
	const uint8_t *p = data;
	size_t n1 = min_size(len, sizeof(v1_sig) - 1);
	size_t n2 = min_size(len, sizeof(v2_sig));

	memset(h, 0, sizeof(*h));
	*need_r = 0;
	if (len == 0) {
		*need_r = PROXY_MIN_HEADER;
		return 0;
	}
	if (memcmp(p, v1_sig, n1) == 0 && len >= sizeof(v2_sig) - 1)
		return parse_v1(data, len, h, need_r, error_r);
	if (memcmp(p, v2_sig, n2) == 0 && len >= sizeof(v2_sig))
		return parse_v2(p, len, h, need_r, error_r);
	if (memcmp(p, v1_sig, n1) == 0 || memcmp(p, v2_sig, n2) == 0) {
		/* a prefix of either: v1 and v2 need at least this much */
		*need_r = PROXY_MIN_HEADER - len;
		return 0;
	}
	*error_r = "no PROXY protocol header";
	return -1;
}
