/* smtp_local: local submission over run_dir/submit.sock (SVC_LOCAL), the
 * server side of the sendmail command (src/cli/cli_sendmail.c).
 *
 * The client is a local user, known by SO_PEERCRED rather than by an IP
 * address: trusted like an authenticated submission (may relay, gets
 * Message-ID:/Date: added, DKIM-signed on the way out when the From:
 * domain has a key) but without TLS or AUTH. Any envelope sender is
 * accepted, as Postfix's sendmail -f is, and logged with the uid. SPF,
 * iprev and PROXY do not apply (they are for SVC_SMTP / [proxy] services);
 * the per-IP connection limit counts per uid instead. */
#include "smtp/smtp_session.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/conf/config.h"
#include "lib/log.h"
#include "lib/str.h"

#define LOCAL_PWBUF 4096	/* getpwuid_r scratch space */

bool smtp_local_is_local(const struct smtp_session *s)
{
	return s->service == SVC_LOCAL;
}

/* The peer's uid, or -1 when the kernel does not say. */
static long peer_uid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred))
		return -1;
	return (long)cred.uid;
}

void smtp_local_key(int fd, char *key, size_t size)
{
	long uid = peer_uid(fd);

	if (uid < 0)
		snprintf(key, size, "uid:unknown");
	else
		snprintf(key, size, "uid:%ld", uid);
}

/* The login name of uid for the logs and Received:, "?" when unknown. */
static void user_name(long uid, char *out, size_t size)
{
	struct passwd pw, *res = NULL;
	char scratch[LOCAL_PWBUF];

	if (uid >= 0 && getpwuid_r((uid_t)uid, &pw, scratch, sizeof(scratch),
				   &res) == 0 && res != NULL)
		str_copy(out, size, res->pw_name);
	else
		str_copy(out, size, "?");
}

void smtp_local_identify(struct smtp_session *s)
{
	long uid = peer_uid(s->fd);

	s->local_uid = uid;
	user_name(uid, s->local_user, sizeof(s->local_user));
	if (uid < 0)
		str_copy(s->ip, sizeof(s->ip), "uid:unknown");
	else
		snprintf(s->ip, sizeof(s->ip), "uid:%ld", uid);
	snprintf(s->log_who, sizeof(s->log_who), " uid=%ld user=%s", uid,
		 s->local_user);
	/* non-empty auth_user in the envelope: submitted by us (DKIM) */
	snprintf(s->auth_user, sizeof(s->auth_user), "local:uid=%ld:%s", uid,
		 s->local_user);
}

void smtp_local_sender(struct smtp_session *s)
{
	log_info("session=%s event=local-sender uid=%ld user=%s from=<%s>",
		 s->id, s->local_uid, s->local_user, s->env.sender);
}

void smtp_local_received(const struct smtp_session *s, struct buf *h)
{
	if (s->local_uid < 0)
		buf_printf(h, "Received: from local (uid unknown)");
	else
		buf_printf(h, "Received: from local (uid %ld, user %s)",
			   s->local_uid, s->local_user);
}
