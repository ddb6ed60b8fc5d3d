/* netaddr: address parsing and matching. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

static int port_parse(const char *s, uint16_t *port)
{
	uint64_t v;

	if (str_to_u64(s, &v) < 0 || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int netaddr_parse_hostport(const char *s, struct netaddr *out)
{
	char host[128];
	const char *colon;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':' ||
		    (size_t)(end - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (port_parse(colon + 1, &port) < 0)
		return -1;
	if (strcmp(host, "*") == 0)
		str_copy(host, sizeof(host), "0.0.0.0");
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		out->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int netaddr_parse_cidr(const char *s, struct netaddr_cidr *out)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix = 0;

	memset(out, 0, sizeof(*out));
	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, ip, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	unsigned max = out->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (str_to_u64(slash + 1, &prefix) < 0 || prefix > max)
			return -1;
	} else {
		prefix = max;
	}
	out->prefix = (unsigned)prefix;
	return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool netaddr_cidr_match(const struct netaddr_cidr *net,
			const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		return net->family == AF_INET &&
		       prefix_match(net->addr, (const uint8_t *)&sin->sin_addr,
				    net->prefix);
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a =
			((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (net->family == AF_INET6)
			return prefix_match(net->addr, a, net->prefix);
		if (memcmp(a, mapped, 12) == 0)
			return prefix_match(net->addr, a + 12, net->prefix);
	}
	return false;
}

bool netaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return false;
}

void netaddr_ip_string(const struct sockaddr *sa, char *out, size_t size)
{
	const void *src = NULL;

	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (src == NULL ||
	    inet_ntop(sa->sa_family, src, out, (socklen_t)size) == NULL)
		str_copy(out, size, "unknown");
}

unsigned netaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

bool netaddr_hostname_valid(const char *name)
{
	size_t total = strlen(name), label = 0;

	if (total == 0 || total > 253)
		return false;
	for (const char *p = name; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == '\0')
				return true;
			label = 0;
			continue;
		}
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
		if (!ok || (label == 0 && *p == '-'))
			return false;
		label++;
	}
}
