/* lookup: recipient resolution as the daemon processes use it — the user
 * database and the aliases file of the current configuration, reloaded
 * together on SIGHUP. The aliases text comes from main (proc_aliases),
 * which read and validated the file, so auth and queue never disagree. Shared by the auth process (RCPT checks) and the
 * queue process (local delivery). */
#ifndef MK_LOOKUP_H
#define MK_LOOKUP_H

#include "auth/resolve.h"
#include "daemon/conf/config.h"

int lookup_init(const struct config *cfg, const char **error_r);
/* Take the aliases table main sent (proc_aliases) and the configured
 * domains again. */
void lookup_reload(const struct config *cfg);
void lookup_shutdown(void);
enum resolve_status lookup_resolve(const struct config *cfg, const char *address,
				   struct resolve_result *out,
				   const char **error_r);

#endif
