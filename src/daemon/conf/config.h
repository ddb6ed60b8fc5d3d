/* config: mailkeep.conf, one table-driven parser (STYLE §6).
 *
 * The file is `key = value` lines, `[section]` headers and `#` comments
 * (DESIGN §9). Every option lives in one table in config.c with its type,
 * default, bounds and one line of documentation; docs/mailkeep.conf.5.md is
 * checked against that table by the unit tests. Unknown keys and bad
 * values are errors reported as FILE:LINE: reason. */
#ifndef MK_CONFIG_H
#define MK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* A comma-separated list value. */
struct strlist {
	char **v;
	size_t n;
};

enum bare_newline_policy {
	BARE_NEWLINE_NORMALIZE = 0,	/* bare CR/LF become CRLF */
	BARE_NEWLINE_REJECT = 1,	/* the message is refused with 5xx */
};

enum submission_sender_check {
	SENDER_CHECK_OWN = 0,	/* MAIL FROM must resolve to the account */
	SENDER_CHECK_ANY = 1,	/* any address */
};

enum outbound_ip_version {
	OUTBOUND_IP_ANY_V6_FIRST = 0,	/* "any": both, IPv6 first */
	OUTBOUND_IP_ANY_V4_FIRST = 1,	/* "prefer-ipv4" */
	OUTBOUND_IP_V4_ONLY = 2,	/* "ipv4" */
	OUTBOUND_IP_V6_ONLY = 3,	/* "ipv6" */
};

enum relay_tls {
	RELAY_TLS_NONE = 0,
	RELAY_TLS_STARTTLS = 1,		/* required */
	RELAY_TLS_IMPLICIT = 2,		/* TLS from the first byte (465) */
};

/* Services that can listen; index into config.listen[]. */
enum service {
	SVC_SMTP,
	SVC_SUBMISSION,
	SVC_SUBMISSIONS,
	SVC_IMAP,
	SVC_IMAPS,
	SVC_POP3,
	SVC_POP3S,
	SVC_LOCAL,	/* not a [listen] key: main binds run_dir/submit.sock
			 * itself when [sendmail] enabled (local submission) */
	SVC_COUNT
};

struct config {
	char *path;		/* the file this was read from */
	struct buf source;	/* the text that was parsed */

	/* global */
	char *hostname;
	struct strlist domains;	/* first one is the primary domain */
	char *data_dir;
	char *run_dir;		/* sockets for the CLI and for sendmail */
	char *user;		/* unprivileged user when started as root */
	char *log_level;

	/* [tls] */
	char *tls_cert;
	char *tls_key;
	char *tls_min_version;	/* "TLSv1.2" or "TLSv1.3" */
	char *tls_ciphers;	/* TLS 1.2 cipher list; empty: OpenSSL default */

	/* [listen] */
	struct strlist listen[SVC_COUNT];

	/* [smtp] */
	uint64_t smtp_max_message_size;
	uint64_t smtp_max_recipients;
	uint64_t smtp_max_command_line;
	uint64_t smtp_max_text_line;
	uint64_t smtp_max_errors;
	uint64_t smtp_max_connections;
	uint64_t smtp_max_connections_per_ip;
	uint64_t smtp_command_timeout;	/* seconds, RFC 5321 4.5.3.2.7 */
	uint64_t smtp_data_timeout;	/* seconds between DATA blocks */
	enum bare_newline_policy smtp_bare_newline;
	struct strlist smtp_relay_networks;	/* CIDRs allowed to relay */
	char *smtp_banner;	/* text after "220 hostname ESMTP" */

	/* [submission] ports 587 and 465 (smtp/smtp_submit.c) */
	int submission_sender_check;	/* enum submission_sender_check */
	bool submission_hide_client_ip;	/* no client IP in Received: */
	bool submission_plaintext_loopback;	/* AUTH without TLS from loopback */

	/* [sendmail] local submission through run_dir/submit.sock */
	bool sendmail_enabled;
	char *sendmail_origin;	/* "": the primary domain; see config_origin */

	/* [proxy] PROXY protocol v1/v2 from trusted forwarders (lib/proxy.h) */
	struct strlist proxy_trusted;	/* CIDRs that must send a PROXY header */
	struct strlist proxy_services;	/* [listen] keys it applies to */

	/* [delivery] */
	char *recipient_delimiter;	/* "+" ; empty disables sub-addressing */
	char *aliases_file;	/* /etc/aliases format; empty: none */

	/* [dns] */
	struct strlist dns_forwarders;	/* "IP" or "IP@PORT"; empty: resolv.conf */
	char *dns_resolv_conf;
	char *dns_trust_anchor;
	uint64_t dns_timeout;		/* seconds */

	/* [checks] inbound SPF, DKIM, DMARC, iprev (RFC 7208, 6376, 7489, 8601) */
	bool checks_enabled;
	char *checks_authserv_id;	/* empty: hostname */
	bool checks_dmarc_reject;	/* DMARC p=reject failures get 550 */
	bool checks_junk;		/* quarantine / SPF -all fails go to Junk */

	/* [publish] what `dns records` prints and `dns check` expects */
	struct strlist publish_addresses;	/* public IPs; empty: discovered */
	int publish_dmarc_policy;	/* enum dnsrec_dmarc: none quarantine reject */
	char *publish_dmarc_rua;	/* "": postmaster@DOMAIN, "none": no rua= */
	int publish_mta_sts;		/* enum dnsrec_sts: off testing enforce */
	char *publish_tls_rpt_rua;	/* "": postmaster@DOMAIN, "none": no record */
	struct strlist publish_dnsbl;	/* zones `dns check` looks addresses up in */

	/* [queue] */
	uint64_t queue_group_commit_max;	/* messages per fsync batch */
	uint64_t queue_retry_min;	/* seconds, first retry wait (queue/retry.h) */
	uint64_t queue_retry_max;	/* seconds, backoff cap */
	uint64_t queue_lifetime;	/* seconds until a bounce */
	uint64_t queue_delay_notice;	/* seconds until the delay notice, 0: none */
	uint64_t queue_max_outbound;	/* outbound SMTP connections at once */
	uint64_t queue_max_per_destination;	/* ... to one domain (or relay) */

	/* [outbound] the SMTP client of the queue (queue/outbound.c) */
	uint64_t outbound_port;		/* port of MX hosts: 25 (tests: others) */
	int outbound_ip_version;	/* enum outbound_ip_version */
	char *outbound_bind_v4;		/* source address; empty: the kernel's */
	char *outbound_bind_v6;
	uint64_t outbound_max_messages_per_connection;	/* then QUIT */
	bool outbound_dane;		/* RFC 7672 TLSA checks (queue/outbound_dane.c) */
	bool outbound_mta_sts;		/* RFC 8461 policies (queue/outbound_mtasts.c) */
	char *outbound_ca_file;		/* PEM trust store for MTA-STS; empty: the system's */

	/* [relay] smarthost: all remote mail goes there when host is set */
	char *relay_host;
	uint64_t relay_port;
	int relay_tls;			/* enum relay_tls */
	char *relay_user;
	char *relay_password_file;	/* 0600; empty: no AUTH */

	/* [auth] login throttling (auth/throttle.h) */
	uint64_t auth_fail_delay_after;	/* failures before replies wait */
	uint64_t auth_fail_block_after;	/* failures before logins are refused */
	uint64_t auth_fail_window;	/* seconds a failure counts */
	/* [auth] system users through PAM (auth/pam_user.h, auth/pam_auth.h) */
	bool auth_pam;			/* system users get a mailbox */
	char *auth_pam_service;		/* /etc/pam.d/<service> */
	char *auth_pam_domain;		/* their addresses' domain; "": primary */
	uint64_t auth_pam_min_uid;
	uint64_t auth_pam_max_uid;

	/* [imap] IMAP and POP3 sessions */
	uint64_t imap_max_connections;
	uint64_t imap_max_connections_per_ip;
	uint64_t imap_max_connections_per_user;
	bool imap_plaintext_loopback;	/* LOGIN without TLS from 127/8, ::1 */
	uint64_t imap_idle_timeout;	/* seconds, RFC 3501 5.4: >= 30 min */
	uint64_t imap_login_timeout;	/* seconds before authentication */
	uint64_t imap_max_append;	/* APPENDLIMIT (RFC 7889) */
	uint64_t imap_quota;		/* bytes per account, 0: none (RFC 9208) */
};

/* Read and validate FILE into *cfg. On failure returns -1 and writes
 * "FILE:LINE: reason" (or "FILE: reason") to *err. */
int config_load(struct config *cfg, const char *file, struct buf *err);
/* Parse from memory (tests, fuzzing); name is used in messages. */
int config_parse(struct config *cfg, const char *name, const char *text,
		 size_t len, struct buf *err);
void config_free(struct config *cfg);
/* Parse the text of a file already read into memory (or passed as an fd
 * by main, see config_load_fd); name is used in messages and to resolve
 * relative paths. */
int config_load_fd(struct config *cfg, const char *name, int fd,
		   struct buf *err);
/* The configuration file to use: -c FILE, else $MAILKEEP_CONFIG, else
 * /etc/mailkeep/mailkeep.conf. */
const char *config_default_path(void);

/* One entry per option, for documentation checks and `config dump`. */
struct config_option_info {
	const char *section;	/* "" for the global section */
	const char *key;
	const char *type;	/* string, list, size, count, seconds, enum, bool */
	const char *def;	/* default value as written in the file */
	const char *doc;
};
size_t config_option_count(void);
const struct config_option_info *config_option(size_t i);

/* "smtp", "submission", ... : the [listen] key of a service. */
const char *config_service_name(int service);
/* The domain of locally generated mail ([sendmail] origin, else the
 * primary domain): appended to unqualified addresses. */
const char *config_origin(const struct config *cfg);
/* Is domain (any case) one of ours? */
bool config_is_local_domain(const struct config *cfg, const char *domain);
/* Path under data_dir: DATA/<rel> into *out. */
void config_data_path(const struct config *cfg, const char *rel,
		      struct buf *out);

#endif
