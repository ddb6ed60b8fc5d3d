/* smtp_parse: pure parsers for SMTP command lines and their arguments
 * (RFC 5321 §4.1.1) and the ESMTP parameters of MAIL and RCPT:
 * SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531),
 * RET/ENVID/NOTIFY/ORCPT (RFC 3461), AUTH= (RFC 4954).
 * No I/O; errors come back as ready-to-send reply codes. */
#ifndef MK_SMTP_PARSE_H
#define MK_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mail/addr.h"

enum smtp_verb {
	SMTP_CMD_HELO, SMTP_CMD_EHLO, SMTP_CMD_MAIL, SMTP_CMD_RCPT,
	SMTP_CMD_DATA, SMTP_CMD_BDAT, SMTP_CMD_RSET, SMTP_CMD_NOOP,
	SMTP_CMD_QUIT, SMTP_CMD_HELP, SMTP_CMD_VRFY, SMTP_CMD_EXPN,
	SMTP_CMD_STARTTLS, SMTP_CMD_AUTH, SMTP_CMD_UNKNOWN
};

struct smtp_command {
	enum smtp_verb verb;
	const char *verb_text;	/* as received, for logs (NUL-terminated, points into the line) */
	const char *arg;	/* text after the verb and one space; "" if none; points into the line */
	bool syntax_error;	/* MAIL without "FROM:" / RCPT without "TO:" (arg is then ""): answer 501 5.5.4 */
};

/* Parse a command line (without CRLF, NUL-terminated, modified in place); -1 only for non-commands: empty, NUL bytes, empty or non-ASCII verb. */
int smtp_command_parse(char *line, size_t len, struct smtp_command *cmd);

/* A reply for the client, e.g. {501, "5.5.4", "Syntax error in parameters"}; strings are static. */
struct smtp_error {
	int code;
	const char *status;
	const char *text;
};

enum smtp_body { SMTP_BODY_UNSPEC, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_UNSPEC, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER 1
#define SMTP_NOTIFY_SUCCESS 2
#define SMTP_NOTIFY_FAILURE 4
#define SMTP_NOTIFY_DELAY 8

/* Advertised extensions (the `ext` mask): parameters of others are refused. */
#define SMTP_EXT_SIZE       0x01	/* RFC 1870: SIZE= */
#define SMTP_EXT_8BITMIME   0x02	/* RFC 6152: BODY=7BIT|8BITMIME */
#define SMTP_EXT_SMTPUTF8   0x04	/* RFC 6531: SMTPUTF8 */
#define SMTP_EXT_DSN        0x08	/* RFC 3461: RET= ENVID= NOTIFY= ORCPT= */
#define SMTP_EXT_CHUNKING   0x10	/* RFC 3030: BDAT (no MAIL parameter) */
#define SMTP_EXT_BINARYMIME 0x20	/* RFC 3030: BODY=BINARYMIME */
#define SMTP_EXT_AUTH       0x40	/* RFC 4954: AUTH= */

/* Limits on untrusted parameter values. */
#define SMTP_ENVID_MAX 100	/* RFC 3461 §4.4: ENVID at most 100 characters */
#define SMTP_ORCPT_MAX 500	/* RFC 3461 §4.2: ORCPT at most 500 characters */
#define SMTP_HELO_MAX 255	/* EHLO/HELO argument (a domain name) */
#define SMTP_SIZE_DIGITS 20	/* RFC 1870 size-value = 1*20DIGIT; also BDAT chunk-size */

struct smtp_mail_args {
	struct mail_addr from;
	uint64_t size;			/* 0 = not given */
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	char envid[SMTP_ENVID_MAX + 1];	/* xtext-decoded, RFC 3461 4.4 */
	char auth[MAIL_LOCAL_MAX + MAIL_DOMAIN_MAX + 4]; /* AUTH= param, xtext-decoded, "<>" allowed */
};

struct smtp_rcpt_args {
	struct mail_addr to;
	unsigned notify;	/* SMTP_NOTIFY_* bits; 0 = not given */
	char orcpt[520];	/* "addr-type;xtext-decoded-address" */
};

/* Parse "<path> [params]" after MAIL FROM:; 0 or -1 with *err filled (501 5.1.7 address, 555/501 5.5.4 params, 553 5.6.7 UTF-8). */
int smtp_parse_mail(const char *arg, unsigned ext, struct smtp_mail_args *out, struct smtp_error *err);
/* Parse "<path> [params]" after RCPT TO: (also "<Postmaster>"); smtputf8 = the transaction's MAIL had SMTPUTF8. */
int smtp_parse_rcpt(const char *arg, unsigned ext, bool smtputf8, struct smtp_rcpt_args *out, struct smtp_error *err);
/* BDAT <size> [LAST] (RFC 3030 §2) */
int smtp_parse_bdat(const char *arg, uint64_t *size, bool *last, struct smtp_error *err);
/* EHLO/HELO argument: first token, printable ASCII; empty or too long -> 501 5.5.4. */
int smtp_parse_helo(const char *arg, char *out, size_t outsize, struct smtp_error *err);
/* RFC 3461 §4 xtext: decode (appends to out; -1 on bad syntax) and encode. */
int smtp_xtext_decode(const char *in, size_t len, struct buf *out);
void smtp_xtext_encode(const char *in, size_t len, struct buf *out);

#endif
