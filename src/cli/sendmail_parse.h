/* sendmail_parse: the pure parts of the sendmail command (cli_sendmail.c):
 * the command line as Postfix's and Sendmail's sendmail(1) take it, the
 * recipients of the To:/Cc:/Bcc: fields (-t), address qualification with
 * the origin domain, and the message prepared for SMTP DATA (CRLF, dot
 * stuffing, Bcc: removed, From: added when missing).
 * Pure: no I/O; the caller reads stdin and speaks SMTP. */
#ifndef MK_CLI_SENDMAIL_PARSE_H
#define MK_CLI_SENDMAIL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* RFC 5322 §2.1.1 / RFC 5321 4.5.3.1.6: octets in a line, CRLF excluded. */
#define SENDMAIL_MAX_LINE 998
/* Recipients of one invocation (command line and header fields). */
#define SENDMAIL_MAX_RCPTS 10000
/* -F full name, -N and -R values. */
#define SENDMAIL_MAX_NAME 256

/* sysexits.h codes the command returns. */
#define SENDMAIL_EX_OK 0
#define SENDMAIL_EX_USAGE 64
#define SENDMAIL_EX_DATAERR 65
#define SENDMAIL_EX_NOUSER 67
#define SENDMAIL_EX_UNAVAILABLE 69
#define SENDMAIL_EX_SOFTWARE 70
#define SENDMAIL_EX_TEMPFAIL 75
#define SENDMAIL_EX_CONFIG 78

enum sendmail_mode {
	SENDMAIL_MODE_DELIVER,		/* -bm, the default */
	SENDMAIL_MODE_QUEUE_LIST,	/* -bp (mailq): mailkeep queue list */
	SENDMAIL_MODE_FLUSH,		/* -q: mailkeep queue flush */
	SENDMAIL_MODE_ALIASES,		/* -bi, -I (newaliases): nothing to do */
	SENDMAIL_MODE_UNSUPPORTED,	/* -bd -bs -bv -bh ... */
};

struct sendmail_opts {
	enum sendmail_mode mode;
	const char *mode_flag;		/* the -b.. / -q.. argument, for messages */
	bool extract;			/* -t: recipients from the header too */
	bool ignore_dots;		/* -i, -oi: "." alone does not end input */
	const char *sender;		/* -f / -r as given; NULL: the login */
	const char *fullname;		/* -F / -oF; NULL: none */
	char notify[32];		/* -N as an RCPT NOTIFY= value, or "" */
	char ret[8];			/* -R as a MAIL RET= value, or "" */
	bool verbose;			/* -v */
	const char **rcpts;		/* command-line recipients (argv strings) */
	size_t nrcpts;
};

/* Parse argv[1..argc) (argv[0] is the program name). -1 with *error_r
 * on a usage error. o->rcpts is allocated: sendmail_opts_free. */
int sendmail_opts_parse(int argc, char **argv, struct sendmail_opts *o,
			const char **error_r);
void sendmail_opts_free(struct sendmail_opts *o);

/* A list of canonical addresses without duplicates (exact match). */
struct sendmail_rcpts {
	char **v;
	size_t n, cap;
};

/* Add addr unless present or the list is full (-1 then). */
int sendmail_rcpts_add(struct sendmail_rcpts *r, const char *addr);
void sendmail_rcpts_free(struct sendmail_rcpts *r);

/* One address as a user writes it ("alice", "bob@example.net",
 * "<c@d>") into canonical local@domain; without a domain it gets
 * @origin. The null sender "<>" or "" gives "" when allow_null. */
int sendmail_qualify(const char *addr, size_t len, const char *origin,
		     bool allow_null, struct buf *out, const char **error_r);

/* The recipients of a header section (RFC 5322 §3.6.3): To:, Cc: and
 * Bcc:, or only the Resent-To:, Resent-Cc:, Resent-Bcc: fields when
 * there are any (§3.6.6). Group names are not addresses; unqualified
 * mailboxes get @origin; *bad counts the addresses that do not parse.
 * hdr may use CRLF or LF line ends and may include the empty line. */
void sendmail_header_rcpts(const char *hdr, size_t len, const char *origin,
			   struct sendmail_rcpts *out, size_t *bad);

/* Append the lines of in to out, each CRLF-ended, a leading "." doubled
 * (RFC 5321 4.5.2); a last line without a line end gets one. */
void sendmail_dot_stuff(const char *in, size_t len, struct buf *out);

/* How the message is taken from stdin. */
struct sendmail_msg_params {
	bool ignore_dots;		/* -i */
	bool extract;			/* -t: collect header recipients */
	const char *origin;		/* for unqualified addresses */
	const char *from_addr;		/* From: to add when missing */
	const char *fullname;		/* ... with this display name, or NULL */
};

struct sendmail_msg {
	struct buf data;		/* CRLF, dot-stuffed, no final "." */
	struct sendmail_rcpts rcpts;	/* from the header (extract) */
	size_t bad_rcpts;		/* header addresses that do not parse */
	bool eightbit;			/* an octet > 127 anywhere */
	bool utf8_header;		/* ... in the header section */
	bool added_from;
	size_t long_line;		/* line number over SENDMAIL_MAX_LINE, 0: none */
};

/* Prepare the message read from stdin (LF or CRLF line ends): stop at a
 * line "." unless ignore_dots, remove Bcc:/Resent-Bcc:, add From: when
 * missing, ensure an empty line after the header section. -1 when a line
 * is longer than SENDMAIL_MAX_LINE (m->long_line says which). */
int sendmail_msg_build(const char *in, size_t len,
		       const struct sendmail_msg_params *p,
		       struct sendmail_msg *m, const char **error_r);
void sendmail_msg_free(struct sendmail_msg *m);

/* Append the From: field body "Name <addr>" (the name quoted as RFC 5322
 * §3.2.4 needs, CR/LF turned into spaces) or "addr" without a name. */
void sendmail_from_value(const char *fullname, const char *addr,
			 struct buf *out);

#endif
