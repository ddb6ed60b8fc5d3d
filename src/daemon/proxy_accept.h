/* proxy_accept: the PROXY protocol header (lib/proxy.h) on connections
 * from [proxy] trusted forwarders, read by the smtp and imap processes
 * before the greeting (and before the TLS handshake on 465, 993, 995).
 * The real client address then stands in for the forwarder's everywhere:
 * logs, limits, relay_networks, SPF, iprev, login throttling. */
#ifndef MK_PROXY_ACCEPT_H
#define MK_PROXY_ACCEPT_H

#include <stdbool.h>
#include <sys/socket.h>

#define PROXY_ACCEPT_TIMEOUT 5		/* seconds for the whole header */
#define PROXY_ACCEPT_MAX_PENDING 256	/* connections reading one at a time */

/* The header was read: admit the connection as coming from sa. */
typedef void proxy_accept_cb(int fd, int service, const struct sockaddr *sa,
				socklen_t salen);

/* Must a connection to service from sa begin with a PROXY header? */
bool proxy_accept_required(int service, const struct sockaddr *sa);
/* Read the header off fd, then call done (or close fd with a log line). */
void proxy_accept_read(int fd, int service, const struct sockaddr *sa,
		     socklen_t salen, proxy_accept_cb *done);
/* Shutdown: drop the connections still reading a header. */
void proxy_accept_drop_all(void);

#endif
