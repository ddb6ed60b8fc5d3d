/* lookup: recipient resolution as the daemon processes use it — the user
 * database and the aliases file of the current configuration, reloaded
 * together on SIGHUP. Shared by the auth process (RCPT checks) and the
 * queue process (local delivery). */
#ifndef MK_LOOKUP_H
#define MK_LOOKUP_H

#include "auth/resolve.h"
#include "daemon/conf/config.h"

int lookup_init(const struct config *cfg, const char **error_r);
/* Re-read the aliases file and the configured domains. */
void lookup_reload(const struct config *cfg);
void lookup_shutdown(void);
enum resolve_status lookup_resolve(const struct config *cfg, const char *address,
				   struct resolve_result *out,
				   const char **error_r);

#endif
