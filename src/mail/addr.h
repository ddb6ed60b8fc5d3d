/* addr: RFC 5321 mailbox and path syntax (§4.1.2, §4.1.3, §4.5.3.1),
 * extended with RFC 6531 SMTPUTF8 (UTF-8 in local part and domain).
 * Pure: no I/O, no allocation. Addresses are parsed into fixed buffers;
 * every length limit below is a limit on untrusted input. */
#ifndef MK_MAIL_ADDR_H
#define MK_MAIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* RFC 5321 §4.5.3.1.1 says 64; SRS/VERP addresses are longer in practice,
 * so we accept up to 255 octets (unquoted form). */
#define MAIL_LOCAL_MAX 255
/* Buffer size of the domain; hostnames are further held to 253 octets
 * (MAIL_HOSTNAME_MAX) and labels to 63 (MAIL_LABEL_MAX). */
#define MAIL_DOMAIN_MAX 255
#define MAIL_HOSTNAME_MAX 253
#define MAIL_LABEL_MAX 63

struct mail_addr {
	char local[MAIL_LOCAL_MAX + 1];   /* unquoted form (quotes and quoted-pair backslashes removed) */
	char domain[MAIL_DOMAIN_MAX + 1]; /* as given; "[192.0.2.1]" / "[IPv6:...]" kept with brackets; "" without domain */
	bool null;      /* the null reverse-path <> */
	bool utf8;      /* contains non-ASCII (needs SMTPUTF8) */
	bool literal;   /* domain is an address literal */
};

/* flags */
#define MAIL_ADDR_ALLOW_UTF8  0x1  /* accept UTF-8 in local part and domain (valid UTF-8 only) */
#define MAIL_ADDR_ALLOW_NULL  0x2  /* accept "<>" (reverse-path) */
#define MAIL_ADDR_ALLOW_NODOMAIN 0x4 /* accept a bare local part (any; "<Postmaster>" is the caller's check, RFC 5321 4.1.1.3) */

/* Parse a path "<...>" (with optional obsolete source route "@a,@b:" which is ignored) starting at s[0]=='<'; *end_r = index just past '>'. */
int mail_path_parse(const char *s, size_t len, unsigned flags,
		    struct mail_addr *out, size_t *end_r, const char **error_r);
/* Parse a bare mailbox "local@domain" (the whole string; "" is the null address with ALLOW_NULL). */
int mail_addr_parse(const char *s, size_t len, unsigned flags,
		    struct mail_addr *out, const char **error_r);
/* Append local@domain, quoting the local part when it is not a dot-string; nothing for the null address. */
void mail_addr_format(const struct mail_addr *a, struct buf *out);
/* Hostname syntax: labels 1-63, total <= 253, LDH (+UTF-8 if allowed), no leading/trailing hyphen, no trailing dot. */
bool mail_domain_valid(const char *domain, bool allow_utf8);
/* Length of the valid UTF-8 sequence (2-4 octets) at p, or 0 if invalid (overlong, surrogate, > U+10FFFF, truncated). */
size_t mail_utf8_seq_len(const unsigned char *p, size_t n);

#endif
