/* pop3_session: the POP3 server of the imap process (RFC 1939, RFC 2449
 * CAPA and response codes, RFC 2595 STLS, RFC 5034 AUTH, RFC 8314 port
 * 995). imap_server.c accepts the connections and calls these. */
#ifndef MK_POP3_SESSION_H
#define MK_POP3_SESSION_H

#include <sys/socket.h>

/* A new client on fd (owned from now on); service is SVC_POP3 (port 110,
 * STLS) or SVC_POP3S (implicit TLS). */
void pop3_session_start(int fd, int service, const struct sockaddr *sa,
			socklen_t salen);
/* The process is stopping: every session gets "-ERR [SYS/TEMP]" once its
 * current response is complete and is closed; nothing is deleted. */
void pop3_session_shutdown_all(void);

#endif
