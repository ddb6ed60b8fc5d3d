/* cli_dns: what `dns records`, `dns check` and `quickstart` share: the
 * plan of a domain (the configuration, public addresses and DKIM keys as
 * dnsrecords.h facts) and the network probes of `dns check`. Internal to
 * src/cli. */
#ifndef MK_CLI_DNS_H
#define MK_CLI_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/dnscheck.h"
#include "cli/dnsrecords.h"

#define CLI_DNS_KEY_FILE_MAX (64 * 1024)	/* bytes of a DKIM key file */
#define CLI_PROBE_TIMEOUT_MS 10000	/* connect, each reply, the handshake */
#define CLI_PROBE_REPLY_MAX 8192	/* bytes of a greeting or reply */

/* The server's public addresses and where they came from. */
struct cli_dns_addrs {
	char **v;
	size_t n;
	const char *source;
};

/* One domain's facts; dkim_missing[i] tells a missing key file from an
 * unreadable one when dkim[i].record is NULL. */
struct cli_dns_plan {
	struct dnsrec_domain d;
	struct dnsrec_dkim *dkim;
	bool *dkim_missing;
	struct userdb_strv owned;	/* strings the above point into */
};

/* [publish] public_addresses, else the interfaces' global addresses. */
void cli_dns_addrs(const struct config *cfg, struct cli_dns_addrs *a);
void cli_dns_addrs_free(struct cli_dns_addrs *a);
/* The domains to cover: only (after checking it is local), else every
 * local domain (configuration, then `domain add`). -1 after saying why. */
int cli_dns_domains(struct cli_env *env, const char *only,
		    struct userdb_strv *out);
/* The mail host's facts (strings point into env and a). */
void cli_dns_host(struct cli_env *env, const struct cli_dns_addrs *a,
		  struct dnsrec_host *h);
/* One domain's facts: DKIM keys from mailkeep.db, records made from
 * their private key files. */
void cli_dns_plan(struct cli_env *env, const char *domain,
		  const struct cli_dns_addrs *a, struct cli_dns_plan *p);
void cli_dns_plan_free(struct cli_dns_plan *p);
/* Print the zone-file text of the host and the domains (only, or all). */
int cli_dns_print_records(struct cli_env *env, const char *only, FILE *out);
/* `dns check`: print the report; the exit status (0 nothing failed). */
int cli_dns_check(struct cli_env *env, const char *only, bool json);

/* ---- probes (cli_probe.c) ---- */

/* The global unicast addresses of the network interfaces
 * (dnsrec_addr_is_public), each once. */
void cli_probe_addresses(struct userdb_strv *out);
/* Connect to listen spec (0.0.0.0 and [::] mean this host's loopback),
 * start TLS as service does (smtp and imap: STARTTLS; imaps, smtps,
 * submissions: at once) with SNI hostname, and fill *p (address into
 * addr_text). Free p->leaf with X509_free. */
void cli_probe_tls(const char *service, const char *listen_spec,
		   const char *hostname, struct dnscheck_tls_probe *p,
		   struct buf *addr_text);
/* GET https://host/path from ip (the address our resolver gave for host),
 * no redirects, at most DNSCHECK_STS_POLICY_MAX bytes; the CA bundle is
 * $SSL_CERT_FILE when set, as for OpenSSL. -1 with a reason. */
int cli_probe_https(const char *host, const char *path, const char *ip,
		    struct buf *body, struct buf *error);

#endif
