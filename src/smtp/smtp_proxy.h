/* smtp_proxy: the PROXY protocol header (lib/proxy.h) on connections from
 * [proxy] trusted forwarders, read before the greeting (and before the
 * TLS handshake on port 465). The real client address then stands in for
 * the forwarder's everywhere: logs, limits, relay_networks, SPF, iprev. */
#ifndef MK_SMTP_PROXY_H
#define MK_SMTP_PROXY_H

#include <stdbool.h>
#include <sys/socket.h>

#define SMTP_PROXY_TIMEOUT 5		/* seconds for the whole header */
#define SMTP_PROXY_MAX_PENDING 256	/* connections reading one at a time */

/* The header was read: admit the connection as coming from sa. */
typedef void smtp_proxy_done_cb(int fd, int service, const struct sockaddr *sa,
				socklen_t salen);

/* Must a connection to service from sa begin with a PROXY header? */
bool smtp_proxy_required(int service, const struct sockaddr *sa);
/* Read the header off fd, then call done (or close fd with a log line). */
void smtp_proxy_read(int fd, int service, const struct sockaddr *sa,
		     socklen_t salen, smtp_proxy_done_cb *done);
/* Shutdown: drop the connections still reading a header. */
void smtp_proxy_drop_all(void);

#endif
