/* imap_parser: incremental parser of IMAP client commands (RFC 3501 §9,
 * RFC 9051 §9): tag, command name and the arguments as a tree of atoms,
 * NIL, quoted strings, literals ({n}, {n+} LITERAL+ RFC 7888, ~{n}
 * literal8 RFC 3516) and parenthesised lists. FETCH section atoms such as
 * BODY.PEEK[HEADER.FIELDS (From To)]<0.100> are one atom whose section
 * and partial parts are marked.
 *
 * Input may be split anywhere, down to one byte per call. The parser tells
 * the caller when a synchronising literal was accepted, so the "+"
 * continuation goes out before the client sends the data, and it checks
 * every announced literal against the limits before storing a byte: a
 * {4294967295} announcement costs nothing. The message literals of APPEND
 * can be streamed to the caller instead of kept in memory.
 *
 * Whitespace is lenient the way deployed servers are (runs of spaces,
 * spaces inside parentheses, none needed after a quoted string or ')',
 * a bare LF as line end); everything else follows the grammar. NUL is
 * accepted only in literal8 and APPEND message literals. Pure: no I/O. */
#ifndef MK_IMAP_PARSER_H
#define MK_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* Dovecot-style limits; tighter ones apply before authentication. */
struct imap_parser_limits {
	size_t max_line;	/* bytes of one line (literal data excluded) */
	uint64_t max_literal;	/* one literal other than an APPEND message */
	uint64_t max_append;	/* one APPEND message literal (APPENDLIMIT) */
	uint64_t max_command;	/* a whole command, literals included
				   (streamed message data excluded) */
	uint64_t max_drain;	/* largest non-synchronising literal skipped
				   after an error instead of closing */
	unsigned max_depth;	/* nesting of parenthesised lists */
	unsigned max_args;	/* arguments at all depths together */
};

/* After login: 64 KiB lines and literals, 64 MiB messages. */
extern const struct imap_parser_limits imap_parser_limits_default;
/* Before login: 8 KiB lines and literals, 4 levels, 128 arguments. */
extern const struct imap_parser_limits imap_parser_limits_preauth;

enum imap_arg_type {
	IMAP_ARG_ATOM,
	IMAP_ARG_NIL,		/* the atom NIL in any case; str is its text */
	IMAP_ARG_STRING,	/* quoted string, unescaped */
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

/* imap_arg.flags */
#define IMAP_ARG_F_NONSYNC  0x01	/* literal sent as {n+} */
#define IMAP_ARG_F_BINARY   0x02	/* literal8 ~{n}: may hold NUL */
#define IMAP_ARG_F_STREAMED 0x04	/* data went to the caller: str NULL */
#define IMAP_ARG_F_MESSAGE  0x08	/* an APPEND message literal */
#define IMAP_ARG_F_SECTION  0x10	/* atom with "[section]" (FETCH) */

struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	const char *str;	/* NUL-terminated (literal8 may hold more NULs);
				   NULL for lists and streamed literals */
	size_t len;		/* of str; of a literal also when streamed */
	const struct imap_arg *list;	/* IMAP_ARG_LIST: the elements */
	unsigned count;
	/* IMAP_ARG_F_SECTION: str[sect_off..+sect_len) is the text between
	 * '[' and ']', str[part_off..+part_len) the "<o.n>" (len 0: none) */
	unsigned sect_off, sect_len, part_off, part_len;
	size_t off_;		/* internal: offset of str while parsing */
};

struct imap_command {
	const char *tag;
	const char *name;	/* as sent; compare case-insensitively */
	const struct imap_arg *args;
	unsigned count;
};

enum imap_parse_status {
	IMAP_PARSE_MORE,	/* all input consumed; the command goes on */
	IMAP_PARSE_CONTINUE,	/* send "+ ..." now: a synchronising literal
				   was accepted and the client waits */
	IMAP_PARSE_CHUNK,	/* imap_parser_chunk() has streamed data */
	IMAP_PARSE_DONE,	/* imap_parser_command() is complete */
	IMAP_PARSE_ERROR,	/* answer with imap_parser_error_reply() */
};

enum imap_parser_error {
	IMAP_PARSER_ERR_NONE,
	IMAP_PARSER_ERR_TAG,		/* no valid tag: untagged BAD */
	IMAP_PARSER_ERR_SYNTAX,		/* tagged BAD */
	IMAP_PARSER_ERR_LINE_TOO_LONG,	/* tagged BAD, rest skipped */
	IMAP_PARSER_ERR_LITERAL_TOO_BIG,/* BAD; APPEND message: NO [TOOBIG] */
	IMAP_PARSER_ERR_TOO_DEEP,	/* tagged BAD */
	IMAP_PARSER_ERR_TOO_MANY_ARGS,	/* tagged BAD */
	IMAP_PARSER_ERR_COMMAND_TOO_BIG,/* tagged BAD */
};

struct imap_parser;

/* A parser with these limits (copied); stream_append: APPEND message
 * literals come out as IMAP_PARSE_CHUNK instead of being stored. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
				    bool stream_append);
void imap_parser_free(struct imap_parser *p);
/* Switch limits (after login); applies from the next command. */
void imap_parser_set_limits(struct imap_parser *p,
			    const struct imap_parser_limits *limits);
/* Parse from data[0..len); *consumed says how much was used (all of it for
 * IMAP_PARSE_MORE). Call again with the rest after CONTINUE and CHUNK;
 * after DONE and ERROR call imap_parser_next() first. */
enum imap_parse_status imap_parser_feed(struct imap_parser *p,
					const void *data, size_t len,
					size_t *consumed);
/* The complete command after IMAP_PARSE_DONE (valid until _next()). */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* After IMAP_PARSE_CHUNK: the next bytes of the streamed APPEND message
 * (pointing into the input given to imap_parser_feed()). */
void imap_parser_chunk(const struct imap_parser *p, const void **data,
		       size_t *len);
/* After IMAP_PARSE_CHUNK: bytes of the streamed literal still to come
 * (0: the chunk just given ended it, the next one starts a new message). */
uint64_t imap_parser_literal_left(const struct imap_parser *p);
/* After IMAP_PARSE_ERROR: the error, its reason and whether the connection
 * must be closed (nothing sensible can follow; reply "* BYE"). */
enum imap_parser_error imap_parser_error(const struct imap_parser *p,
					 const char **reason_r, bool *fatal_r);
/* The tag of the command in progress or failed ("" if none yet). */
const char *imap_parser_tag(const struct imap_parser *p);
/* Append the reply line for the last error with CRLF: "tag BAD reason",
 * "tag NO [TOOBIG] reason", "* BAD reason" or "* BYE reason". */
void imap_parser_error_reply(const struct imap_parser *p, struct buf *out);
/* Forget the command (after DONE or ERROR); after an error the rest of the
 * bad command is skipped, honouring non-synchronising literals. */
void imap_parser_next(struct imap_parser *p);
/* True between commands (nothing of the next one read yet). */
bool imap_parser_idle(const struct imap_parser *p);

/* Argument helpers (RFC 3501 §9: astring = atom / string; nstring). */
/* An atom, string or literal (NIL counts as the atom "NIL"); false for a
 * list or a streamed literal. */
bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len);
/* A string or literal; true with *s NULL for NIL. */
bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len);
/* An atom (not a string); case-insensitive comparison with word. */
bool imap_arg_atom_eq(const struct imap_arg *a, const char *word);
/* Append a canonical dump of the command ("tag NAME atom \"s\" {3}\"abc\"
 * (a b)") for tests and debugging; equal trees give equal dumps. */
void imap_command_dump(const struct imap_command *cmd, struct buf *out);

#endif
