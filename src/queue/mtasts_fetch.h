/* mtasts_fetch: the MTA-STS policy fetch of the queue process (RFC 8461
 * §3.3): https://mta-sts.DOMAIN/.well-known/mta-sts.txt over libcurl's
 * multi interface driven by the libevent loop (never blocking it), with
 * libcurl loaded by dlopen (lib/curl_dl.h). HTTPS only, no redirects, a
 * 200 answer of Content-Type text/plain, at most MTASTS_POLICY_MAX bytes,
 * within MTASTS_FETCH_TIMEOUT seconds; the certificate is verified against
 * ca_file (empty: the system store) for the name mta-sts.DOMAIN. */
#ifndef MK_MTASTS_FETCH_H
#define MK_MTASTS_FETCH_H

#include <stddef.h>

#include "lib/buf.h"

struct event_base;
struct mtasts_fetch;

/* The whole fetch, connection included, seconds (§3.3: senders may
 * limit it; 60 s is the RFC's example of a reasonable upper bound). */
#define MTASTS_FETCH_TIMEOUT 60
/* The HTTPS port of the policy host (§3.3). */
#define MTASTS_FETCH_PORT 443

/* Called once from the event loop: body set on success (200, text/plain),
 * else error says why. */
typedef void mtasts_fetch_cb(void *arg, const struct buf *body,
			     const char *error);

/* Fetch the policy of domain from host mta-sts.DOMAIN at the given
 * addresses (the queue's resolver found them; libcurl does not resolve),
 * NULL-terminated. NULL with a static reason when it cannot start. */
struct mtasts_fetch *mtasts_fetch_start(struct event_base *base,
					const char *domain,
					const char *const *addrs,
					const char *ca_file, mtasts_fetch_cb *cb,
					void *arg, const char **error_r);
/* Stop a fetch; its callback will not run. */
void mtasts_fetch_cancel(struct mtasts_fetch *f);
/* Cancel everything and free libcurl's multi handle. */
void mtasts_fetch_shutdown(void);

#endif
