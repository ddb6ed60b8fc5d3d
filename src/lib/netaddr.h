/* netaddr: IP addresses, "host:port" listen specs and CIDR networks. */
#ifndef MK_NETADDR_H
#define MK_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct netaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct netaddr_cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* "127.0.0.1:25", "[::1]:587", "*:25" (all IPv4) -> socket address. */
int netaddr_parse_hostport(const char *s, struct netaddr *out);
/* "192.0.2.0/24", "2001:db8::/32", "127.0.0.1" (host) -> network. */
int netaddr_parse_cidr(const char *s, struct netaddr_cidr *out);
/* Is the address inside the network? IPv4-mapped IPv6 matches IPv4. */
bool netaddr_cidr_match(const struct netaddr_cidr *net,
			const struct sockaddr *sa);
/* 127.0.0.0/8 or ::1 (an IPv4-mapped address is not: listeners are
 * IPV6_V6ONLY, so only a PROXY header could name one). */
bool netaddr_is_loopback(const struct sockaddr *sa);
/* Numeric text of the address without port ("192.0.2.1", "2001:db8::1"). */
void netaddr_ip_string(const struct sockaddr *sa, char *out, size_t size);
unsigned netaddr_port(const struct sockaddr *sa);
/* Host name syntax: LDH labels of 1..63, total <= 253, no empty label. */
bool netaddr_hostname_valid(const char *name);

#endif
