/* config: the option table and the mailkeep.conf parser.
 *
 * Each option is one row {section, key, type, field, default, bounds, doc};
 * defaults are parsed through the same code as file values, so the table is
 * the single source of truth for the parser, `config check`, and the
 * documentation test that compares docs/mailkeep.conf.5.md with it. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "lib/netaddr.h"

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_LINE 4096

enum opt_type { OPT_STRING, OPT_LIST, OPT_SIZE, OPT_COUNT, OPT_SECONDS,
		OPT_ENUM, OPT_BOOL };

static const char *const type_names[] = {
	"string", "list", "size", "count", "seconds", "enum", "bool"
};

struct opt {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t offset;
	const char *def;	/* NULL: required; "" empty string/list */
	uint64_t min, max;	/* numeric bounds */
	const char *const *enums;	/* OPT_ENUM values, index = stored value */
	const char *doc;
};

#define F(field) offsetof(struct config, field)

static const char *const bare_newline_values[] = { "normalize", "reject", NULL };
static const char *const log_level_values[] = {
	"error", "warn", "info", "debug", NULL
};
static const char *const tls_version_values[] = { "TLSv1.2", "TLSv1.3", NULL };
static const char *const dmarc_policy_values[] = {
	"none", "quarantine", "reject", NULL
};
static const char *const sender_check_values[] = { "own", "any", NULL };
static const char *const mta_sts_values[] = { "off", "testing", "enforce", NULL };
static const char *const ip_version_values[] = {
	"any", "prefer-ipv4", "ipv4", "ipv6", NULL
};
static const char *const relay_tls_values[] = {
	"none", "starttls", "implicit", NULL
};

#define KB 1024ull
#define MB (1024ull * 1024)
#define GB (1024ull * 1024 * 1024)

static const struct opt options[] = {
	{ "", "hostname", OPT_STRING, F(hostname), NULL, 0, 0, NULL,
	  "fully qualified name of this mail host (SMTP banner, HELO, Received:)" },
	{ "", "domains", OPT_LIST, F(domains), NULL, 0, 0, NULL,
	  "mail domains this server receives mail for; the first is the primary domain" },
	{ "", "data_dir", OPT_STRING, F(data_dir), NULL, 0, 0, NULL,
	  "where accounts, mail and the queue live (relative paths are relative to the config file)" },
	{ "", "run_dir", OPT_STRING, F(run_dir), "/run/mailkeep", 0, 0, NULL,
	  "where the control socket and the local submission socket live" },
	{ "", "user", OPT_STRING, F(user), "mailkeep", 0, 0, NULL,
	  "unprivileged user the worker processes run as when started as root" },
	{ "", "log_level", OPT_STRING, F(log_level), "info", 0, 0, log_level_values,
	  "error, warn, info or debug" },

	{ "tls", "cert", OPT_STRING, F(tls_cert), "", 0, 0, NULL,
	  "PEM certificate chain (e.g. certbot's fullchain.pem); required when any service listens" },
	{ "tls", "key", OPT_STRING, F(tls_key), "", 0, 0, NULL,
	  "PEM private key; must not be readable by group or others" },
	{ "tls", "min_version", OPT_STRING, F(tls_min_version), "TLSv1.2", 0, 0,
	  tls_version_values, "lowest TLS version offered: TLSv1.2 or TLSv1.3" },
	{ "tls", "ciphers", OPT_STRING, F(tls_ciphers), "", 0, 0, NULL,
	  "OpenSSL cipher list for TLS 1.2; empty keeps OpenSSL's default" },

	{ "listen", "smtp", OPT_LIST, F(listen[SVC_SMTP]), "", 0, 0, NULL,
	  "addresses for SMTP (MX, port 25), e.g. 0.0.0.0:25, [::]:25" },
	{ "listen", "submission", OPT_LIST, F(listen[SVC_SUBMISSION]), "", 0, 0, NULL,
	  "addresses for mail submission with STARTTLS (port 587)" },
	{ "listen", "submissions", OPT_LIST, F(listen[SVC_SUBMISSIONS]), "", 0, 0, NULL,
	  "addresses for submission over implicit TLS (port 465)" },
	{ "listen", "imap", OPT_LIST, F(listen[SVC_IMAP]), "", 0, 0, NULL,
	  "addresses for IMAP with STARTTLS (port 143)" },
	{ "listen", "imaps", OPT_LIST, F(listen[SVC_IMAPS]), "", 0, 0, NULL,
	  "addresses for IMAP over implicit TLS (port 993)" },
	{ "listen", "pop3", OPT_LIST, F(listen[SVC_POP3]), "", 0, 0, NULL,
	  "addresses for POP3 with STLS (port 110)" },
	{ "listen", "pop3s", OPT_LIST, F(listen[SVC_POP3S]), "", 0, 0, NULL,
	  "addresses for POP3 over implicit TLS (port 995)" },

	{ "smtp", "max_message_size", OPT_SIZE, F(smtp_max_message_size), "50M",
	  1 * KB, 2 * GB, NULL,
	  "largest message accepted (SIZE, RFC 1870); larger gets 552 5.3.4" },
	{ "smtp", "max_recipients", OPT_COUNT, F(smtp_max_recipients), "100",
	  1, 1000, NULL,
	  "recipients per message; more get 452 4.5.3" },
	{ "smtp", "max_command_line", OPT_SIZE, F(smtp_max_command_line), "512",
	  512, 64 * KB, NULL,
	  "longest command line in octets with CRLF (RFC 5321 4.5.3.1.4); longer gets 500 5.5.2" },
	{ "smtp", "max_text_line", OPT_SIZE, F(smtp_max_text_line), "1000",
	  1000, 1 * MB, NULL,
	  "longest message text line in octets with CRLF (RFC 5321 4.5.3.1.6); longer is refused" },
	{ "smtp", "max_errors", OPT_COUNT, F(smtp_max_errors), "10", 1, 1000, NULL,
	  "bad commands in one session before the server closes it (421 4.7.0)" },
	{ "smtp", "max_connections", OPT_COUNT, F(smtp_max_connections), "1000",
	  1, 1000000, NULL,
	  "simultaneous SMTP sessions in all; more get 421 4.3.2" },
	{ "smtp", "max_connections_per_ip", OPT_COUNT,
	  F(smtp_max_connections_per_ip), "50", 1, 100000, NULL,
	  "simultaneous SMTP sessions from one client address; more get 421 4.7.0" },
	{ "smtp", "command_timeout", OPT_SECONDS, F(smtp_command_timeout), "5m",
	  1, 86400, NULL,
	  "idle time allowed while waiting for a command (RFC 5321 4.5.3.2.7)" },
	{ "smtp", "data_timeout", OPT_SECONDS, F(smtp_data_timeout), "3m",
	  1, 86400, NULL,
	  "idle time allowed between blocks of message data (RFC 5321 4.5.3.2.5)" },
	{ "smtp", "bare_newline", OPT_ENUM, F(smtp_bare_newline), "normalize",
	  0, 0, bare_newline_values,
	  "bare CR or LF in DATA (SMTP smuggling): normalize to CRLF, or reject the message with 550 5.5.2" },
	{ "smtp", "relay_networks", OPT_LIST, F(smtp_relay_networks), "", 0, 0, NULL,
	  "client networks (CIDR) trusted to relay to any domain without authentication" },
	{ "smtp", "banner", OPT_STRING, F(smtp_banner), "", 0, 0, NULL,
	  "extra text after \"220 HOSTNAME ESMTP\" in the greeting" },

	{ "submission", "sender_check", OPT_ENUM, F(submission_sender_check), "own",
	  0, 0, sender_check_values,
	  "own: MAIL FROM must be an address that delivers to the logged-in account; any: no check" },
	{ "submission", "hide_client_ip", OPT_BOOL, F(submission_hide_client_ip),
	  "no", 0, 0, NULL,
	  "leave the client's IP address out of the Received: field of submitted mail" },
	{ "submission", "plaintext_loopback", OPT_BOOL,
	  F(submission_plaintext_loopback), "no", 0, 0, NULL,
	  "allow AUTH and MAIL without STARTTLS on port 587 from loopback clients" },

	{ "sendmail", "enabled", OPT_BOOL, F(sendmail_enabled), "yes", 0, 0, NULL,
	  "accept local submission from the sendmail command through run_dir/submit.sock" },
	{ "sendmail", "origin", OPT_STRING, F(sendmail_origin), "", 0, 0, NULL,
	  "domain added to unqualified addresses and to the login name of local senders; empty: the primary domain" },

	{ "proxy", "trusted", OPT_LIST, F(proxy_trusted), "", 0, 0, NULL,
	  "addresses or networks of forwarders that must begin each connection with a PROXY protocol header" },
	{ "proxy", "services", OPT_LIST, F(proxy_services),
	  "smtp, submission, submissions", 0, 0, NULL,
	  "the [listen] services where [proxy] trusted applies (any of smtp, submission, submissions, imap, imaps, pop3, pop3s)" },

	{ "delivery", "recipient_delimiter", OPT_STRING, F(recipient_delimiter),
	  "+", 0, 0, NULL,
	  "characters that start an address extension (alice+news@ goes to alice); empty turns it off" },
	{ "delivery", "aliases_file", OPT_STRING, F(aliases_file), "", 0, 0, NULL,
	  "an aliases file in /etc/aliases format applied to every local domain; empty: none" },

	{ "dns", "forwarders", OPT_LIST, F(dns_forwarders), "", 0, 0, NULL,
	  "DNS servers to ask (\"IP\" or \"IP@PORT\"); empty: those of resolv_conf" },
	{ "dns", "resolv_conf", OPT_STRING, F(dns_resolv_conf), "/etc/resolv.conf",
	  0, 0, NULL,
	  "used when no forwarders are given; empty with no forwarders: full recursion" },
	{ "dns", "trust_anchor", OPT_STRING, F(dns_trust_anchor), "", 0, 0, NULL,
	  "DNSSEC trust anchor file (e.g. /usr/share/dns/root.key); empty: no validation" },
	{ "dns", "timeout", OPT_SECONDS, F(dns_timeout), "10s", 1, 120, NULL,
	  "how long one DNS question may take before it counts as a temporary error" },

	{ "checks", "enabled", OPT_BOOL, F(checks_enabled), "yes", 0, 0, NULL,
	  "judge incoming mail with SPF, DKIM, DMARC and iprev and add Authentication-Results" },
	{ "checks", "authserv_id", OPT_STRING, F(checks_authserv_id), "", 0, 0, NULL,
	  "the authserv-id of our Authentication-Results headers; empty: hostname" },
	{ "checks", "dmarc_reject", OPT_BOOL, F(checks_dmarc_reject), "yes", 0, 0, NULL,
	  "refuse mail failing DMARC under p=reject with 550 5.7.1" },
	{ "checks", "junk", OPT_BOOL, F(checks_junk), "yes", 0, 0, NULL,
	  "deliver DMARC p=quarantine failures, and SPF fail without a DKIM pass, to Junk" },

	{ "publish", "public_addresses", OPT_LIST, F(publish_addresses), "", 0, 0,
	  NULL, "the server's public IPv4/IPv6 addresses for DNS records and checks; empty: found on the network interfaces" },
	{ "publish", "dmarc_policy", OPT_ENUM, F(publish_dmarc_policy), "quarantine",
	  0, 0, dmarc_policy_values,
	  "DMARC policy published by `dns records`: none, quarantine or reject" },
	{ "publish", "dmarc_rua", OPT_STRING, F(publish_dmarc_rua), "", 0, 0, NULL,
	  "mailbox for DMARC aggregate reports; empty: postmaster@DOMAIN, none: no reports" },
	{ "publish", "mta_sts", OPT_ENUM, F(publish_mta_sts), "off", 0, 0,
	  mta_sts_values, "MTA-STS policy mode: off, testing or enforce (needs an HTTPS server for mta-sts.DOMAIN)" },
	{ "publish", "tls_rpt_rua", OPT_STRING, F(publish_tls_rpt_rua), "", 0, 0,
	  NULL, "mailbox for TLS-RPT reports; empty: postmaster@DOMAIN, none: no TLS-RPT record" },
	{ "publish", "dnsbl", OPT_LIST, F(publish_dnsbl), "", 0, 0, NULL,
	  "DNSBL zones `dns check` looks the public IPv4 addresses up in; empty: none" },

	{ "queue", "group_commit_max", OPT_COUNT, F(queue_group_commit_max), "256",
	  1, 100000, NULL,
	  "most messages made durable by one batch of fsyncs" },
	{ "queue", "retry_min", OPT_SECONDS, F(queue_retry_min), "5m", 1, 86400,
	  NULL, "wait before the second delivery attempt; doubles after each failure" },
	{ "queue", "retry_max", OPT_SECONDS, F(queue_retry_max), "1h", 1, 7 * 86400,
	  NULL, "longest wait between two delivery attempts" },
	{ "queue", "lifetime", OPT_SECONDS, F(queue_lifetime), "5d", 0, 60 * 86400,
	  NULL, "how long temporary failures are retried before the message bounces" },
	{ "queue", "delay_notice", OPT_SECONDS, F(queue_delay_notice), "4h", 0,
	  60 * 86400, NULL, "tell the sender once that a message is delayed after this long; 0: never" },
	{ "queue", "max_outbound", OPT_COUNT, F(queue_max_outbound), "100", 1,
	  10000, NULL, "outbound SMTP connections open at once" },
	{ "queue", "max_per_destination", OPT_COUNT, F(queue_max_per_destination),
	  "10", 1, 1000, NULL, "outbound SMTP connections open at once to one domain" },

	{ "outbound", "port", OPT_COUNT, F(outbound_port), "25", 1, 65535, NULL,
	  "port of the MX hosts mail is sent to (25; other values for tests and special setups)" },
	{ "outbound", "ip_version", OPT_ENUM, F(outbound_ip_version), "any", 0, 0,
	  ip_version_values, "address families tried: any (IPv6 first), prefer-ipv4, ipv4, ipv6" },
	{ "outbound", "bind_address_v4", OPT_STRING, F(outbound_bind_v4), "", 0, 0,
	  NULL, "source IPv4 address of outbound connections; empty: chosen by the system" },
	{ "outbound", "bind_address_v6", OPT_STRING, F(outbound_bind_v6), "", 0, 0,
	  NULL, "source IPv6 address of outbound connections; empty: chosen by the system" },
	{ "outbound", "max_messages_per_connection", OPT_COUNT,
	  F(outbound_max_messages_per_connection), "100", 1, 100000, NULL,
	  "messages sent over one connection to a destination before QUIT" },
	{ "outbound", "dane", OPT_BOOL, F(outbound_dane), "yes", 0, 0, NULL,
	  "DANE (RFC 7672): with [dns] trust_anchor set, require TLS verified against the TLSA records of MX hosts in DNSSEC-signed zones" },
	{ "outbound", "mta_sts", OPT_BOOL, F(outbound_mta_sts), "yes", 0, 0, NULL,
	  "MTA-STS (RFC 8461): fetch, cache and apply the policies of destination domains" },
	{ "outbound", "ca_file", OPT_STRING, F(outbound_ca_file), "", 0, 0, NULL,
	  "PEM file of trusted CAs for MTA-STS (policy fetch and MX certificates); empty: the system store" },

	{ "relay", "host", OPT_STRING, F(relay_host), "", 0, 0, NULL,
	  "smarthost that receives all remote mail (name or address); empty: deliver to MX hosts" },
	{ "relay", "port", OPT_COUNT, F(relay_port), "587", 1, 65535, NULL,
	  "port of the relay host" },
	{ "relay", "tls", OPT_ENUM, F(relay_tls), "starttls", 0, 0, relay_tls_values,
	  "TLS to the relay host: none, starttls (required) or implicit" },
	{ "relay", "user", OPT_STRING, F(relay_user), "", 0, 0, NULL,
	  "user name for AUTH at the relay host; empty: no AUTH" },
	{ "relay", "password_file", OPT_STRING, F(relay_password_file), "", 0, 0,
	  NULL, "file holding the relay password (first line; must not be group/world-readable)" },

	{ "auth", "fail_delay_after", OPT_COUNT, F(auth_fail_delay_after), "3",
	  1, 1000, NULL,
	  "failed logins from one client address or for one account before each further reply is delayed (1s, 2s, 4s ... 15s)" },
	{ "auth", "fail_block_after", OPT_COUNT, F(auth_fail_block_after), "10",
	  1, 100000, NULL,
	  "failed logins from one client address or for one account before logins are refused unchecked until fail_window passes" },
	{ "auth", "fail_window", OPT_SECONDS, F(auth_fail_window), "15m",
	  1, 7 * 86400, NULL,
	  "how long a failed login counts, from the last failure of that address or account" },
	{ "auth", "pam", OPT_BOOL, F(auth_pam), "no", 0, 0, NULL,
	  "system users (uid within pam_min_uid..pam_max_uid) get a mailbox USER@pam_domain and log in with their system password through PAM" },
	{ "auth", "pam_service", OPT_STRING, F(auth_pam_service), "mailkeep", 0, 0,
	  NULL, "PAM service name: the stack in /etc/pam.d/SERVICE checks the passwords" },
	{ "auth", "pam_domain", OPT_STRING, F(auth_pam_domain), "", 0, 0, NULL,
	  "domain of the system users' addresses (one of domains); empty: the primary domain" },
	{ "auth", "pam_min_uid", OPT_COUNT, F(auth_pam_min_uid), "1000", 1,
	  4294967294u, NULL, "lowest uid of a system user that gets a mailbox" },
	{ "auth", "pam_max_uid", OPT_COUNT, F(auth_pam_max_uid), "60000", 1,
	  4294967294u, NULL, "highest uid of a system user that gets a mailbox" },

	{ "imap", "max_connections", OPT_COUNT, F(imap_max_connections), "5000",
	  1, 1000000, NULL,
	  "simultaneous IMAP and POP3 sessions in all; more are refused with BYE / -ERR" },
	{ "imap", "max_connections_per_ip", OPT_COUNT,
	  F(imap_max_connections_per_ip), "100", 1, 100000, NULL,
	  "simultaneous IMAP and POP3 sessions from one client address" },
	{ "imap", "max_connections_per_user", OPT_COUNT,
	  F(imap_max_connections_per_user), "50", 1, 100000, NULL,
	  "simultaneous IMAP sessions logged in to one account; one more login gets NO [LIMIT]" },
	{ "imap", "plaintext_loopback", OPT_BOOL, F(imap_plaintext_loopback), "no",
	  0, 0, NULL,
	  "allow passwords without TLS from loopback clients (tests, local webmail); elsewhere LOGINDISABLED until STARTTLS" },
	{ "imap", "idle_timeout", OPT_SECONDS, F(imap_idle_timeout), "30m",
	  60, 86400, NULL,
	  "inactivity before a logged-in session is closed (RFC 3501 5.4 asks for at least 30 minutes)" },
	{ "imap", "login_timeout", OPT_SECONDS, F(imap_login_timeout), "1m",
	  5, 3600, NULL,
	  "inactivity allowed before a session has logged in" },
	{ "imap", "max_append", OPT_SIZE, F(imap_max_append), "64M",
	  1 * KB, 2 * GB, NULL,
	  "largest message APPEND accepts (APPENDLIMIT, RFC 7889)" },
	{ "imap", "quota", OPT_SIZE, F(imap_quota), "0", 0, 1024 * GB, NULL,
	  "storage per account (QUOTA, RFC 9208); 0 means no quota" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

size_t config_option_count(void)
{
	return NOPTIONS;
}

const struct config_option_info *config_option(size_t i)
{
	static struct config_option_info info;

	if (i >= NOPTIONS)
		return NULL;
	info.section = options[i].section;
	info.key = options[i].key;
	info.type = type_names[options[i].type];
	info.def = options[i].def;
	info.doc = options[i].doc;
	return &info;
}

const char *config_default_path(void)
{
	const char *env = getenv("MAILKEEP_CONFIG");

	return (env != NULL && *env != '\0') ? env : "/etc/mailkeep/mailkeep.conf";
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strlist_add(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

/* "50M" -> bytes; suffixes k/K, m/M, g/G (binary). */
static int parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t mul = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': mul = KB; break;
	case 'm': case 'M': mul = MB; break;
	case 'g': case 'G': mul = GB; break;
	default: break;
	}
	if (mul != 1)
		num[n - 1] = '\0';
	if (str_to_u64(num, &v) < 0 || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* "300", "5m", "1h", "2d" -> seconds. */
static int parse_seconds(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t mul = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mul = 1; num[n - 1] = '\0'; break;
	case 'm': mul = 60; num[n - 1] = '\0'; break;
	case 'h': mul = 3600; num[n - 1] = '\0'; break;
	case 'd': mul = 86400; num[n - 1] = '\0'; break;
	default: break;
	}
	if (str_to_u64(num, &v) < 0 || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int parse_list(const char *s, struct strlist *out)
{
	char *copy = xstrdup(s), *save = NULL, *tok;
	struct strlist l = { NULL, 0 };

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *t = str_trim(tok);
		if (*t == '\0') {
			free(copy);
			strlist_free(&l);
			return -1;
		}
		strlist_add(&l, t);
	}
	free(copy);
	strlist_free(out);
	*out = l;
	return 0;
}

/* Store value into the field of o; -1 with *why on a bad value. */
static int opt_set(struct config *cfg, const struct opt *o, const char *value,
		   const char **why)
{
	char *base = (char *)cfg + o->offset;
	uint64_t v = 0;
	int r = 0;

	switch (o->type) {
	case OPT_STRING:
		if (o->enums != NULL) {
			size_t i;
			for (i = 0; o->enums[i] && strcmp(o->enums[i], value); i++)
				;
			if (o->enums[i] == NULL) {
				*why = "not one of the allowed values";
				return -1;
			}
		}
		free(*(char **)base);
		*(char **)base = xstrdup(value);
		return 0;
	case OPT_LIST:
		if (*value == '\0') {
			strlist_free((struct strlist *)base);
			return 0;
		}
		if (parse_list(value, (struct strlist *)base) < 0) {
			*why = "empty item in list";
			return -1;
		}
		return 0;
	case OPT_ENUM:
		for (size_t i = 0; o->enums[i] != NULL; i++) {
			if (strcmp(o->enums[i], value) == 0) {
				*(int *)base = (int)i;
				return 0;
			}
		}
		*why = "not one of the allowed values";
		return -1;
	case OPT_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			*(bool *)base = true;
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			*(bool *)base = false;
		else {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case OPT_SIZE:
		r = parse_size(value, &v);
		break;
	case OPT_COUNT:
		r = str_to_u64(value, &v);
		break;
	case OPT_SECONDS:
		r = parse_seconds(value, &v);
		break;
	}
	if (r < 0) {
		*why = o->type == OPT_SIZE ? "expected a size like 512, 64k or 50M" :
		       o->type == OPT_SECONDS ? "expected a duration like 30s, 5m or 1h" :
		       "expected a whole number";
		return -1;
	}
	if (v < o->min || v > o->max) {
		*why = "value out of range";
		return -1;
	}
	*(uint64_t *)base = v;
	return 0;
}

static const struct opt *opt_find(const char *section, const char *key)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].section, section) == 0 &&
		    strcmp(options[i].key, key) == 0)
			return &options[i];
	return NULL;
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].section, section) == 0)
			return true;
	return false;
}

static void set_defaults(struct config *cfg)
{
	const char *why;

	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].def != NULL &&
		    opt_set(cfg, &options[i], options[i].def, &why) < 0)
			abort();	/* a bad default is a bug in the table */
	}
}

__attribute__((format(printf, 4, 5)))
static void err_at(struct buf *err, const char *name, unsigned line,
		   const char *fmt, ...)
{
	va_list ap;

	buf_reset(err);
	if (line > 0)
		buf_printf(err, "%s:%u: ", name, line);
	else
		buf_printf(err, "%s: ", name);
	va_start(ap, fmt);
	buf_vprintf(err, fmt, ap);
	va_end(ap);
}

/* Parse one line into *section or an option. */
static int parse_line(struct config *cfg, char *line, char *section,
		      size_t section_size, bool *seen, const char *name,
		      unsigned lineno, struct buf *err)
{
	char *p = str_trim(line), *eq, *key, *value;
	const struct opt *o;
	const char *why = NULL;

	if (*p == '\0' || *p == '#')
		return 0;
	if (*p == '[') {
		char *end = strchr(p, ']');
		if (end == NULL || end[1] != '\0') {
			err_at(err, name, lineno, "%s", "malformed section header");
			return -1;
		}
		*end = '\0';
		p = str_trim(p + 1);
		if (!section_known(p)) {
			err_at(err, name, lineno, "unknown section [%s]", p);
			return -1;
		}
		str_copy(section, section_size, p);
		return 0;
	}
	eq = strchr(p, '=');
	if (eq == NULL) {
		err_at(err, name, lineno, "%s", "expected key = value");
		return -1;
	}
	*eq = '\0';
	key = str_trim(p);
	value = str_trim(eq + 1);
	o = opt_find(section, key);
	if (o == NULL) {
		err_at(err, name, lineno, "unknown option '%s'", key);
		if (*section != '\0')
			buf_printf(err, " in [%s]", section);
		return -1;
	}
	if (seen[o - options]) {
		err_at(err, name, lineno, "option '%s' given twice", key);
		return -1;
	}
	seen[o - options] = true;
	if (opt_set(cfg, o, value, &why) < 0) {
		err_at(err, name, lineno, "%s: ", key);
		buf_printf(err, "%s: '%s'", why, value);
		return -1;
	}
	return 0;
}

/* [proxy]: networks must parse, services must be [listen] keys. */
static int validate_proxy(struct config *cfg, const char *name,
			  struct buf *err)
{
	struct netaddr_cidr c;

	for (size_t i = 0; i < cfg->proxy_trusted.n; i++)
		if (netaddr_parse_cidr(cfg->proxy_trusted.v[i], &c) < 0) {
			err_at(err, name, 0, "[proxy] trusted: '%s' is not a network",
			       cfg->proxy_trusted.v[i]);
			return -1;
		}
	for (size_t i = 0; i < cfg->proxy_services.n; i++) {
		const char *v = cfg->proxy_services.v[i];
		bool known = false;
		for (int svc = 0; svc < SVC_COUNT; svc++)
			known = known || (svc != SVC_LOCAL &&
					  strcmp(v, config_service_name(svc)) == 0);
		if (!known) {
			err_at(err, name, 0, "[proxy] services: '%s' is not a [listen] "
			       "service (smtp, submission, submissions, imap, imaps, "
			       "pop3, pop3s)", v);
			return -1;
		}
	}
	return 0;
}

/* [publish]: addresses, report mailboxes and DNSBL zones. */

static int validate_publish(struct config *cfg, const char *name,
			    struct buf *err)
{
	const char *const rua[2] = { cfg->publish_dmarc_rua,
				     cfg->publish_tls_rpt_rua };
	unsigned char a[16];

	for (size_t i = 0; i < cfg->publish_addresses.n; i++) {
		const char *s = cfg->publish_addresses.v[i];
		if (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1) {
			err_at(err, name, 0, "public_addresses: '%s' is not an "
			       "IP address", s);
			return -1;
		}
	}
	for (int i = 0; i < 2; i++) {
		const char *at = strrchr(rua[i], '@');
		if (*rua[i] != '\0' && strcmp(rua[i], "none") != 0 &&
		    (at == NULL || at == rua[i] || !netaddr_hostname_valid(at + 1) ||
		     strpbrk(rua[i], " \t,;!\"<>") != NULL)) {
			err_at(err, name, 0, "%s: '%s' is not a mailbox (or none)",
			       i == 0 ? "dmarc_rua" : "tls_rpt_rua", rua[i]);
			return -1;
		}
	}
	for (size_t i = 0; i < cfg->publish_dnsbl.n; i++) {
		if (!netaddr_hostname_valid(cfg->publish_dnsbl.v[i])) {
			err_at(err, name, 0, "dnsbl: '%s' is not a DNS zone",
			       cfg->publish_dnsbl.v[i]);
			return -1;
		}
	}
	return 0;
}

/* [auth] pam: needs libpam at build time, a domain of ours, a uid range. */
static int validate_pam(struct config *cfg, const char *name, struct buf *err)
{
#ifndef MAILKEEP_HAVE_PAM
	if (cfg->auth_pam) {
		err_at(err, name, 0, "%s", "[auth] pam = yes: this mailkeep was "
		       "built without PAM support (install libpam0g-dev and "
		       "rebuild)");
		return -1;
	}
#endif
	str_lower(cfg->auth_pam_domain);
	if (*cfg->auth_pam_domain != '\0' &&
	    !config_is_local_domain(cfg, cfg->auth_pam_domain)) {
		err_at(err, name, 0, "[auth] pam_domain: '%s' is not one of "
		       "domains", cfg->auth_pam_domain);
		return -1;
	}
	if (*cfg->auth_pam_service == '\0' ||
	    strchr(cfg->auth_pam_service, '/') != NULL) {
		err_at(err, name, 0, "%s", "[auth] pam_service: a file name in "
		       "/etc/pam.d is needed");
		return -1;
	}
	if (cfg->auth_pam_min_uid > cfg->auth_pam_max_uid) {
		err_at(err, name, 0, "%s", "[auth] pam_min_uid must not be "
		       "larger than pam_max_uid");
		return -1;
	}
	return 0;
}

/* Checks that need several options or more than syntax. */
static int validate(struct config *cfg, const char *name, const bool *seen,
		    struct buf *err)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].def == NULL && !seen[i]) {
			err_at(err, name, 0, "required option '%s' is missing",
			       options[i].key);
			return -1;
		}
	}
	if (!netaddr_hostname_valid(cfg->hostname)) {
		err_at(err, name, 0, "hostname '%s' is not a valid host name",
		       cfg->hostname);
		return -1;
	}
	for (size_t i = 0; i < cfg->domains.n; i++) {
		str_lower(cfg->domains.v[i]);
		if (!netaddr_hostname_valid(cfg->domains.v[i])) {
			err_at(err, name, 0, "domains: '%s' is not a valid domain",
			       cfg->domains.v[i]);
			return -1;
		}
	}
	for (int s = 0; s < SVC_COUNT; s++) {
		for (size_t i = 0; i < cfg->listen[s].n; i++) {
			struct netaddr a;
			if (netaddr_parse_hostport(cfg->listen[s].v[i], &a) < 0) {
				err_at(err, name, 0,
				       "listen: '%s' is not ADDRESS:PORT",
				       cfg->listen[s].v[i]);
				return -1;
			}
		}
		if (cfg->listen[s].n > 0 &&
		    (*cfg->tls_cert == '\0' || *cfg->tls_key == '\0')) {
			err_at(err, name, 0, "%s",
			       "[tls] cert and key are required when a service listens");
			return -1;
		}
	}
	if (validate_publish(cfg, name, err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->smtp_relay_networks.n; i++) {
		struct netaddr_cidr c;
		if (netaddr_parse_cidr(cfg->smtp_relay_networks.v[i], &c) < 0) {
			err_at(err, name, 0, "relay_networks: '%s' is not a network",
			       cfg->smtp_relay_networks.v[i]);
			return -1;
		}
	}
	if (validate_proxy(cfg, name, err) < 0)
		return -1;
	str_lower(cfg->sendmail_origin);
	if (*cfg->sendmail_origin != '\0' &&
	    !netaddr_hostname_valid(cfg->sendmail_origin)) {
		err_at(err, name, 0, "[sendmail] origin: '%s' is not a domain",
		       cfg->sendmail_origin);
		return -1;
	}
	if (cfg->auth_fail_block_after < cfg->auth_fail_delay_after) {
		err_at(err, name, 0, "%s", "[auth] fail_block_after must not be "
		       "smaller than fail_delay_after");
		return -1;
	}
	return validate_pam(cfg, name, err);
}

/* Make a relative path absolute against the config file's directory. */
static void resolve_path(char **path, const char *config_name)
{
	struct buf b = BUF_INIT;
	const char *slash;

	if (**path == '\0' || **path == '/')
		return;
	slash = strrchr(config_name, '/');
	if (slash != NULL) {
		buf_append(&b, config_name, (size_t)(slash - config_name));
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return;
		buf_appends(&b, cwd);
	}
	if (b.len == 0 || b.ptr[0] != '/') {
		char cwd[PATH_MAX];
		struct buf abs = BUF_INIT;
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			buf_free(&b);
			return;
		}
		buf_printf(&abs, "%s/%s", cwd, buf_cstr(&b));
		buf_free(&b);
		b = abs;
	}
	buf_printf(&b, "/%s", *path);
	free(*path);
	*path = buf_detach(&b);
}

static int parse_into(struct config *cfg, const char *name, const char *text,
		      size_t len, struct buf *err)
{
	bool seen[NOPTIONS] = { false };
	char section[64] = "";
	size_t pos = 0;
	unsigned lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = xstrdup(name);
	buf_append(&cfg->source, text, len);
	set_defaults(cfg);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[CONFIG_MAX_LINE];

		lineno++;
		if (n >= sizeof(line)) {
			err_at(err, name, lineno, "%s", "line too long");
			return -1;
		}
		if (memchr(text + pos, '\0', n) != NULL) {
			err_at(err, name, lineno, "%s", "NUL byte in line");
			return -1;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (parse_line(cfg, line, section, sizeof(section), seen, name,
			       lineno, err) < 0)
			return -1;
		pos += n + (nl ? 1 : 0);
	}
	if (validate(cfg, name, seen, err) < 0)
		return -1;
	resolve_path(&cfg->data_dir, name);
	resolve_path(&cfg->run_dir, name);
	resolve_path(&cfg->tls_cert, name);
	resolve_path(&cfg->tls_key, name);
	resolve_path(&cfg->aliases_file, name);
	return 0;
}

int config_parse(struct config *cfg, const char *name, const char *text,
		 size_t len, struct buf *err)
{
	if (parse_into(cfg, name, text, len, err) == 0)
		return 0;
	config_free(cfg);	/* nothing half-built survives a failure */
	return -1;
}

int config_load_fd(struct config *cfg, const char *name, int fd,
		   struct buf *err)
{
	struct buf text = BUF_INIT;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (buf_read_fd(&text, fd, CONFIG_MAX_FILE) < 0) {
		err_at(err, name, 0, "%s", errno == EFBIG ? "file too large" :
		       strerror(errno));
		buf_free(&text);
		return -1;
	}
	r = config_parse(cfg, name, buf_cstr(&text), text.len, err);
	buf_free(&text);
	return r;
}

int config_load(struct config *cfg, const char *file, struct buf *err)
{
	int fd, r;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_at(err, file, 0, "%s", strerror(errno));
		return -1;
	}
	r = config_load_fd(cfg, file, fd, err);
	close(fd);
	return r;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		char *base = (char *)cfg + options[i].offset;
		if (options[i].type == OPT_STRING) {
			free(*(char **)base);
			*(char **)base = NULL;
		} else if (options[i].type == OPT_LIST) {
			strlist_free((struct strlist *)base);
		}
	}
	free(cfg->path);
	cfg->path = NULL;
	buf_free(&cfg->source);
}

const char *config_service_name(int service)
{
	static const char *const names[SVC_COUNT] = {
		"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
		"local"
	};

	return service >= 0 && service < SVC_COUNT ? names[service] : "?";
}

const char *config_origin(const struct config *cfg)
{
	return *cfg->sendmail_origin != '\0' ? cfg->sendmail_origin :
						 cfg->domains.v[0];
}

bool config_is_local_domain(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->domains.n; i++)
		if (str_ieq(cfg->domains.v[i], domain))
			return true;
	return false;
}

void config_data_path(const struct config *cfg, const char *rel,
		      struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/%s", cfg->data_dir, rel);
}
