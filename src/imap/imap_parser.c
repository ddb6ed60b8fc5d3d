/* imap_parser: a resumable byte-at-a-time state machine over IMAP command
 * lines (RFC 3501 §9 / RFC 9051 §9 command, tag, astring, string,
 * literal, list; RFC 7888 LITERAL+; RFC 3516 literal8).
 *
 * All text of a command (tag, name, atoms, strings, literal data) goes
 * into one arena; arguments record offsets while parsing and get their
 * pointers when the command is complete, so the arena may grow. Lists are
 * arrays owned by their parent argument. Limits are checked before
 * anything is stored; after an error the rest of the command is skipped
 * without storing it. */
#include "imap/imap_parser.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

const struct imap_parser_limits imap_parser_limits_default = {
	.max_line = 65536,
	.max_literal = 65536,
	.max_append = 64 * 1024 * 1024,
	.max_command = 80 * 1024 * 1024,
	.max_drain = 128 * 1024 * 1024,
	.max_depth = 32,
	.max_args = 10000,
};

const struct imap_parser_limits imap_parser_limits_preauth = {
	.max_line = 8192,
	.max_literal = 8192,
	.max_append = 8192,
	.max_command = 16384,
	.max_drain = 16384,
	.max_depth = 4,
	.max_args = 128,
};

/* An arena kept between commands is given back above this size, so an
 * idle connection holds little memory. */
#define ARENA_KEEP_MAX 4096

enum state {
	ST_TAG, ST_NAME, ST_ARGS, ST_EOL_LF,
	ST_ATOM, ST_TILDE, ST_BRACKET, ST_BRACKET_Q, ST_BRACKET_QESC,
	ST_AFTER_BRACKET, ST_PARTIAL,
	ST_QUOTED, ST_QUOTED_ESC,
	ST_LIT_SIZE, ST_LIT_CLOSE, ST_LIT_CRLF, ST_LIT_LF, ST_LIT_DATA,
	ST_DONE, ST_ERROR,
	ST_SKIP_LINE, ST_SKIP_LITERAL,
};

/* The scan of a skipped line for a literal announcement at its end. */
enum skip_lit { SKIP_NONE, SKIP_DIGITS, SKIP_PLUS, SKIP_CLOSED };

struct frame {
	struct imap_arg *v;
	unsigned n, cap;
};

struct imap_parser {
	struct imap_parser_limits limits, limits_next;
	bool stream_append;
	enum state st;
	struct buf text;		/* the arena */
	struct frame *stack;		/* [0] top level, [depth] innermost */
	unsigned depth, stack_cap;
	size_t name_off, tok_off;	/* tok_off: current token in text */
	bool tag_done, name_done, need_sep;
	size_t line_len;
	uint64_t total;
	unsigned nargs;
	/* current atom with a section */
	unsigned sect_off, sect_len, part_off;
	/* current literal */
	uint64_t lit_size, lit_left;
	unsigned lit_flags;
	bool lit_bracket, lit_digits, lit_big;
	const void *chunk;
	size_t chunk_len;
	/* error and skipping */
	enum imap_parser_error err;
	const char *err_reason;
	bool err_fatal, err_message, err_skip;
	uint64_t skip_left, skip_num;
	enum skip_lit skip_lit;
	bool skip_nonsync;
	struct imap_command cmd;
};

/* Returned by the byte handlers; ERROR leaves the byte unconsumed. */
enum step {
	STEP_MORE, STEP_CONTINUE, STEP_DONE,
	STEP_ERROR,		/* the byte that failed stays unconsumed */
	STEP_ERROR_EAT,		/* the failing LF of "{n}" is consumed */
};

static const char *const section_atoms[] = {
	"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
};

static enum step byte_args(struct imap_parser *p, unsigned char c);
static enum step byte_name(struct imap_parser *p, unsigned char c);

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
				    bool stream_append)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->limits = p->limits_next = *limits;
	p->stream_append = stream_append;
	p->stack_cap = 4;
	p->stack = xcalloc(p->stack_cap, sizeof(*p->stack));
	p->st = ST_TAG;
	return p;
}

static void free_args(struct imap_arg *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (v[i].type == IMAP_ARG_LIST)
			free_args((struct imap_arg *)v[i].list, v[i].count);
	}
	free(v);
}

static void free_tree(struct imap_parser *p)
{
	for (unsigned d = 0; d <= p->depth; d++) {
		free_args(p->stack[d].v, p->stack[d].n);
		memset(&p->stack[d], 0, sizeof(p->stack[d]));
	}
	p->depth = 0;
}

void imap_parser_free(struct imap_parser *p)
{
	if (p == NULL)
		return;
	free_tree(p);
	free(p->stack);
	buf_free(&p->text);
	free(p);
}

void imap_parser_set_limits(struct imap_parser *p,
			    const struct imap_parser_limits *limits)
{
	p->limits_next = *limits;
	if (imap_parser_idle(p))
		p->limits = *limits;
}

/* Forget everything of the current command; the arena shrinks if big. */
static void reset_command(struct imap_parser *p)
{
	free_tree(p);
	if (p->text.cap > ARENA_KEEP_MAX)
		buf_free(&p->text);
	buf_reset(&p->text);
	p->tag_done = p->name_done = p->need_sep = false;
	p->line_len = 0;
	p->total = 0;
	p->nargs = 0;
	p->err = IMAP_PARSER_ERR_NONE;
	p->err_reason = NULL;
	p->err_fatal = p->err_message = p->err_skip = false;
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->limits = p->limits_next;
}

bool imap_parser_idle(const struct imap_parser *p)
{
	return p->st == ST_TAG && p->text.len == 0 && p->line_len == 0;
}

/* Record an error; the byte that caused it stays unconsumed, so the skip
 * that follows sees it (a '{' or the line's LF). */
static enum step fail(struct imap_parser *p, enum imap_parser_error err,
		      const char *reason)
{
	p->err = err;
	p->err_reason = reason;
	p->err_skip = true;
	p->st = ST_ERROR;
	return STEP_ERROR;
}

static enum step syntax(struct imap_parser *p, const char *reason)
{
	return fail(p, p->tag_done ? IMAP_PARSER_ERR_SYNTAX : IMAP_PARSER_ERR_TAG,
		    reason);
}

/* RFC 3501 §9 ATOM-CHAR plus list-wildcards, resp-specials and '\'
 * (flags, LIST patterns and sequence sets are sent as atoms). */
static bool is_atom_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '"';
}

/* tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 §9) */
static bool is_tag_char(unsigned char c)
{
	return is_atom_char(c) && c != '+' && c != '*' && c != '%' &&
	       c != '\\';
}

static struct imap_arg *push_arg(struct imap_parser *p, enum imap_arg_type t)
{
	struct frame *f = &p->stack[p->depth];
	struct imap_arg *a;

	if (f->n == f->cap) {
		f->cap = f->cap == 0 ? 8 : f->cap * 2;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	a = &f->v[f->n++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	a->off_ = p->tok_off;
	return a;
}

/* Count one more argument against the limit; the token starts here. */
static bool new_arg(struct imap_parser *p)
{
	if (++p->nargs > p->limits.max_args) {
		fail(p, IMAP_PARSER_ERR_TOO_MANY_ARGS, "Too many arguments");
		return false;
	}
	p->tok_off = p->text.len;
	return true;
}

static bool is_section_atom(const struct imap_parser *p)
{
	const char *s = p->text.ptr + p->tok_off;
	size_t len = p->text.len - p->tok_off;

	for (size_t i = 0; i < sizeof(section_atoms) / sizeof(*section_atoms); i++) {
		if (strlen(section_atoms[i]) == len &&
		    str_nieq(s, section_atoms[i], len))
			return true;
	}
	return false;
}

static void end_atom(struct imap_parser *p)
{
	size_t len = p->text.len - p->tok_off;
	bool sect = p->sect_off > 0;
	struct imap_arg *a;

	a = push_arg(p, !sect && len == 3 &&
		     str_nieq(p->text.ptr + p->tok_off, "NIL", 3) ?
		     IMAP_ARG_NIL : IMAP_ARG_ATOM);
	a->len = len;
	if (sect) {
		a->flags |= IMAP_ARG_F_SECTION;
		a->sect_off = p->sect_off;
		a->sect_len = p->sect_len;
		a->part_off = p->part_off;
		a->part_len = p->part_off > 0 ? (unsigned)len - p->part_off : 0;
	}
	buf_appendc(&p->text, '\0');
	p->need_sep = true;
	p->st = ST_ARGS;
}

static enum step byte_atom(struct imap_parser *p, unsigned char c)
{
	if (c == '[' && is_section_atom(p)) {
		buf_appendc(&p->text, '[');
		p->sect_off = (unsigned)(p->text.len - p->tok_off);
		p->st = ST_BRACKET;
		return STEP_MORE;
	}
	if (is_atom_char(c)) {
		buf_appendc(&p->text, (char)c);
		return STEP_MORE;
	}
	end_atom(p);
	return byte_args(p, c);
}

static void start_atom(struct imap_parser *p)
{
	p->sect_off = p->sect_len = p->part_off = 0;
	p->st = ST_ATOM;
}

/* Inside "BODY[...]": the section text up to ']' (RFC 3501 §9 section),
 * quoted header names included; a literal is folded in as a quoted
 * string, so imap_section_parse() sees one piece of text. */
static enum step byte_bracket(struct imap_parser *p, unsigned char c)
{
	if (c == ']') {
		p->sect_len = (unsigned)(p->text.len - p->tok_off) - p->sect_off;
		buf_appendc(&p->text, ']');
		p->st = ST_AFTER_BRACKET;
	} else if (c == '{') {
		p->lit_bracket = true;
		p->lit_flags = 0;
		p->lit_size = 0;
		p->lit_digits = p->lit_big = false;
		p->st = ST_LIT_SIZE;
	} else if (c < ' ' || c >= 0x7f) {
		return syntax(p, "Unterminated section");
	} else {
		buf_appendc(&p->text, (char)c);
		if (c == '"')
			p->st = ST_BRACKET_Q;
	}
	return STEP_MORE;
}

static enum step byte_bracket_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\0' || c == '\r' || c == '\n')
		return syntax(p, "Unterminated quoted string");
	if (p->st == ST_BRACKET_QESC && c != '"' && c != '\\')
		return syntax(p, "Invalid escape in quoted string");
	buf_appendc(&p->text, (char)c);
	if (p->st == ST_BRACKET_QESC)
		p->st = ST_BRACKET_Q;
	else if (c == '\\')
		p->st = ST_BRACKET_QESC;
	else if (c == '"')
		p->st = ST_BRACKET;
	return STEP_MORE;
}

/* After ']': an optional partial "<origin.octets>" (RFC 3501 §6.4.5). */
static enum step byte_partial(struct imap_parser *p, unsigned char c)
{
	if (p->st == ST_AFTER_BRACKET) {
		if (c != '<') {
			end_atom(p);
			return byte_args(p, c);
		}
		p->part_off = (unsigned)(p->text.len - p->tok_off);
		p->st = ST_PARTIAL;
	} else if (c == '>') {
		buf_appendc(&p->text, '>');
		end_atom(p);
		return STEP_MORE;
	} else if (!(c >= '0' && c <= '9') && c != '.') {
		return syntax(p, "Invalid partial");
	}
	buf_appendc(&p->text, (char)c);
	return STEP_MORE;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE; 8-bit allowed (RFC 9051 §9). */
static enum step byte_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\0' || c == '\r' || c == '\n')
		return syntax(p, "Unterminated quoted string");
	if (p->st == ST_QUOTED_ESC) {
		if (c != '"' && c != '\\')
			return syntax(p, "Invalid escape in quoted string");
		buf_appendc(&p->text, (char)c);
		p->st = ST_QUOTED;
	} else if (c == '\\') {
		p->st = ST_QUOTED_ESC;
	} else if (c == '"') {
		struct imap_arg *a = push_arg(p, IMAP_ARG_STRING);

		a->len = p->text.len - p->tok_off;
		buf_appendc(&p->text, '\0');
		p->need_sep = false;	/* '"*"RETURN' is common: lenient */
		p->st = ST_ARGS;
	} else {
		buf_appendc(&p->text, (char)c);
	}
	return STEP_MORE;
}

static enum step open_list(struct imap_parser *p)
{
	if (p->depth + 1 > p->limits.max_depth)
		return fail(p, IMAP_PARSER_ERR_TOO_DEEP, "Too deep nesting");
	if (!new_arg(p))
		return STEP_ERROR;
	if (++p->depth == p->stack_cap) {
		p->stack_cap *= 2;
		p->stack = xrealloc(p->stack, p->stack_cap * sizeof(*p->stack));
	}
	memset(&p->stack[p->depth], 0, sizeof(p->stack[p->depth]));
	p->need_sep = false;
	return STEP_MORE;
}

static enum step close_list(struct imap_parser *p)
{
	struct frame f = p->stack[p->depth];
	struct imap_arg *a;

	if (p->depth == 0)
		return syntax(p, "Unexpected ')'");
	memset(&p->stack[p->depth], 0, sizeof(f));
	p->depth--;
	a = push_arg(p, IMAP_ARG_LIST);
	a->list = f.v;
	a->count = f.n;
	p->need_sep = false;	/* "(a)(b)": lenient like the string end */
	return STEP_MORE;
}

/* Give every argument its pointer into the finished arena. */
static void fix_pointers(struct imap_parser *p, struct imap_arg *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (v[i].type == IMAP_ARG_LIST)
			fix_pointers(p, (struct imap_arg *)v[i].list, v[i].count);
		else if (!(v[i].flags & IMAP_ARG_F_STREAMED))
			v[i].str = p->text.ptr + v[i].off_;
	}
}

static enum step end_line(struct imap_parser *p)
{
	if (p->depth > 0)
		return syntax(p, "Missing ')'");
	if (!p->name_done)
		return syntax(p, "Missing command");
	buf_reserve(&p->text, 1);
	fix_pointers(p, p->stack[0].v, p->stack[0].n);
	p->cmd.tag = p->text.ptr;
	p->cmd.name = p->text.ptr + p->name_off;
	p->cmd.args = p->stack[0].v;
	p->cmd.count = p->stack[0].n;
	p->st = ST_DONE;
	return STEP_DONE;
}

static enum step start_literal(struct imap_parser *p, unsigned flags)
{
	p->lit_bracket = false;
	p->lit_flags = flags;
	p->lit_size = 0;
	p->lit_digits = p->lit_big = false;
	p->st = ST_LIT_SIZE;
	return STEP_MORE;
}

/* Between arguments: separators, list brackets, the start of the next
 * argument, or the end of the line. */
static enum step byte_args(struct imap_parser *p, unsigned char c)
{
	p->st = ST_ARGS;
	switch (c) {
	case ' ':
		p->need_sep = false;
		return STEP_MORE;
	case '\r':
		p->st = ST_EOL_LF;
		return STEP_MORE;
	case '\n':
		return end_line(p);
	case ')':
		return close_list(p);
	}
	if (p->need_sep)
		return syntax(p, "Missing space between arguments");
	if (c == '(')
		return open_list(p);
	if (c != '"' && c != '{' && !is_atom_char(c))
		return syntax(p, "Invalid character in command");
	if (!new_arg(p))
		return STEP_ERROR;
	if (c == '"') {
		p->st = ST_QUOTED;
		return STEP_MORE;
	}
	if (c == '{')
		return start_literal(p, 0);
	if (c == '~') {
		p->st = ST_TILDE;
		return STEP_MORE;
	}
	start_atom(p);
	return byte_atom(p, c);
}

static enum step byte_tilde(struct imap_parser *p, unsigned char c)
{
	if (c == '{')
		return start_literal(p, IMAP_ARG_F_BINARY);
	buf_appendc(&p->text, '~');
	start_atom(p);
	return byte_atom(p, c);
}

static enum step byte_tag(struct imap_parser *p, unsigned char c)
{
	if (is_tag_char(c)) {
		buf_appendc(&p->text, (char)c);
		return STEP_MORE;
	}
	if (p->text.len == 0)
		return fail(p, IMAP_PARSER_ERR_TAG, c == '\r' || c == '\n' ?
			    "Empty command line" : "Invalid tag");
	if (c != ' ' && c != '\r' && c != '\n')
		return fail(p, IMAP_PARSER_ERR_TAG, "Invalid tag");
	buf_appendc(&p->text, '\0');
	p->tag_done = true;
	p->name_off = p->text.len;
	p->st = ST_NAME;
	return c == ' ' ? STEP_MORE : byte_name(p, c);
}

static enum step byte_name(struct imap_parser *p, unsigned char c)
{
	bool empty = p->text.len == p->name_off;

	if (is_atom_char(c) && c != '[' && c != ']') {
		buf_appendc(&p->text, (char)c);
		return STEP_MORE;
	}
	if (empty || (c != ' ' && c != '\r' && c != '\n'))
		return syntax(p, empty ? "Missing command" :
				     "Invalid command name");
	buf_appendc(&p->text, '\0');
	p->name_done = true;
	return byte_args(p, c);
}

static enum step byte_eol(struct imap_parser *p, unsigned char c)
{
	if (c != '\n')
		return syntax(p, "CR without LF");
	return end_line(p);
}

/* literal = "{" number64 ["+"] "}" CRLF (RFC 9051 §9, RFC 7888 §3) */
static enum step byte_lit_size(struct imap_parser *p, unsigned char c)
{
	if (p->st == ST_LIT_SIZE && c >= '0' && c <= '9') {
		if (p->lit_size > UINT64_MAX / 10 - 1)
			p->lit_big = true;	/* more than anyone allows */
		else
			p->lit_size = p->lit_size * 10 + (c - '0');
		p->lit_digits = true;
		return STEP_MORE;
	}
	if (p->st == ST_LIT_SIZE && c == '+' && p->lit_digits) {
		p->lit_flags |= IMAP_ARG_F_NONSYNC;
		p->st = ST_LIT_CLOSE;
		return STEP_MORE;
	}
	if (c == '}' && p->lit_digits) {
		p->st = ST_LIT_CRLF;
		return STEP_MORE;
	}
	return syntax(p, "Invalid literal");
}

/* Is the literal being announced an APPEND message (RFC 3501 §6.3.11)?
 * Any literal at the top level after the mailbox name (MULTIAPPEND). */
static bool is_message_literal(const struct imap_parser *p)
{
	return !p->lit_bracket && p->depth == 0 && p->stack[0].n >= 1 &&
	       str_ieq(p->text.ptr + p->name_off, "APPEND");
}

/* The announced literal cannot be taken: report it, and arrange for its
 * data to be drained (non-synchronising) or the connection closed. */
static enum step literal_too_big(struct imap_parser *p, bool message)
{
	bool nonsync = (p->lit_flags & IMAP_ARG_F_NONSYNC) != 0;

	fail(p, IMAP_PARSER_ERR_LITERAL_TOO_BIG, message ?
	     "Message too big" : "Literal too big");
	p->err_message = message;
	p->err_skip = nonsync;
	if (nonsync && (p->lit_big || p->lit_size > p->limits.max_drain)) {
		p->err_fatal = true;
		p->err_reason = "Non-synchronizing literal too big";
	}
	p->skip_left = p->lit_size;
	return STEP_ERROR_EAT;
}

static void finish_literal(struct imap_parser *p)
{
	p->line_len = 0;	/* a new line piece starts after the data */
	if (p->lit_bracket) {
		buf_appendc(&p->text, '"');
		p->st = ST_BRACKET;
		return;
	}
	if (!(p->lit_flags & IMAP_ARG_F_STREAMED))
		buf_appendc(&p->text, '\0');
	p->need_sep = true;
	p->st = ST_ARGS;
}

/* The LF after "}": check the limits before anything is stored. */
static enum step announce_literal(struct imap_parser *p)
{
	bool message = is_message_literal(p);
	bool stream = message && p->stream_append;
	uint64_t max = message ? p->limits.max_append : p->limits.max_literal;
	struct imap_arg *a;

	if (p->lit_big || p->lit_size > max ||
	    (!stream && p->lit_size > p->limits.max_command - p->total))
		return literal_too_big(p, message);
	p->lit_left = p->lit_size;
	if (!stream)
		p->total += p->lit_size;
	if (p->lit_bracket) {
		buf_appendc(&p->text, '"');
	} else {
		if (message)
			p->lit_flags |= IMAP_ARG_F_MESSAGE;
		if (stream)
			p->lit_flags |= IMAP_ARG_F_STREAMED;
		a = push_arg(p, IMAP_ARG_LITERAL);
		a->flags = p->lit_flags;
		a->len = p->lit_size;
	}
	p->st = ST_LIT_DATA;
	if (p->lit_size == 0)
		finish_literal(p);
	return (p->lit_flags & IMAP_ARG_F_NONSYNC) ? STEP_MORE : STEP_CONTINUE;
}

static enum step byte_lit_crlf(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' && p->st == ST_LIT_CRLF) {
		p->st = ST_LIT_LF;
		return STEP_MORE;
	}
	if (c != '\n')
		return syntax(p, "Invalid literal");
	return announce_literal(p);
}

static enum step step_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->st) {
	case ST_TAG:
		return byte_tag(p, c);
	case ST_NAME:
		return byte_name(p, c);
	case ST_ARGS:
		return byte_args(p, c);
	case ST_EOL_LF:
		return byte_eol(p, c);
	case ST_ATOM:
		return byte_atom(p, c);
	case ST_TILDE:
		return byte_tilde(p, c);
	case ST_BRACKET:
		return byte_bracket(p, c);
	case ST_BRACKET_Q:
	case ST_BRACKET_QESC:
		return byte_bracket_quoted(p, c);
	case ST_AFTER_BRACKET:
	case ST_PARTIAL:
		return byte_partial(p, c);
	case ST_QUOTED:
	case ST_QUOTED_ESC:
		return byte_quoted(p, c);
	case ST_LIT_SIZE:
	case ST_LIT_CLOSE:
		return byte_lit_size(p, c);
	case ST_LIT_CRLF:
	case ST_LIT_LF:
		return byte_lit_crlf(p, c);
	default:
		abort();	/* the other states are handled by the caller */
	}
}

/* A literal inside a section becomes a quoted string: no NUL, CR, LF. */
static size_t bracket_literal_data(struct imap_parser *p,
				   const unsigned char *d, size_t n,
				   enum step *res)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\0' || d[i] == '\r' || d[i] == '\n') {
			syntax(p, d[i] == '\0' ? "NUL in literal" :
				  "Line break in section literal");
			p->skip_left = p->lit_left - i;
			*res = STEP_ERROR;
			return i;
		}
		if (d[i] == '"' || d[i] == '\\')
			buf_appendc(&p->text, '\\');
		buf_appendc(&p->text, (char)d[i]);
	}
	return n;
}

/* Literal data: stored (escaped inside a section), or handed out. */
static size_t literal_data(struct imap_parser *p, const unsigned char *d,
			   size_t len, enum step *res)
{
	size_t n = len < p->lit_left ? len : (size_t)p->lit_left;
	bool nul_ok = (p->lit_flags & (IMAP_ARG_F_BINARY | IMAP_ARG_F_MESSAGE));
	const unsigned char *bad;

	*res = STEP_MORE;
	if (p->lit_bracket) {
		n = bracket_literal_data(p, d, n, res);
		if (*res == STEP_ERROR)
			return n;
	} else if (!nul_ok && (bad = memchr(d, '\0', n)) != NULL) {
		syntax(p, "NUL in literal");
		p->skip_left = p->lit_left - (size_t)(bad - d);
		*res = STEP_ERROR;
		return (size_t)(bad - d);
	} else if (p->lit_flags & IMAP_ARG_F_STREAMED) {
		p->chunk = d;
		p->chunk_len = n;
	} else {
		buf_append(&p->text, d, n);
	}
	p->lit_left -= n;
	if (p->lit_left == 0)
		finish_literal(p);
	return n;
}

/* Skipping the rest of a failed command: scan for "{n+}" right before
 * the LF, then drain that many bytes and go on skipping. */
static enum step skip_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		bool drain = p->skip_lit == SKIP_CLOSED && p->skip_nonsync;

		p->skip_lit = SKIP_NONE;
		if (!drain) {
			p->st = ST_TAG;
			return STEP_MORE;
		}
		if (p->skip_num > p->limits.max_drain) {
			fail(p, IMAP_PARSER_ERR_LITERAL_TOO_BIG,
			     "Non-synchronizing literal too big");
			p->err_fatal = true;
			return STEP_ERROR;
		}
		p->skip_left = p->skip_num;
		p->st = ST_SKIP_LITERAL;
		return STEP_MORE;
	}
	if (c == '{') {
		p->skip_lit = SKIP_DIGITS;
		p->skip_num = 0;
		p->skip_nonsync = false;
	} else if (p->skip_lit == SKIP_DIGITS && c >= '0' && c <= '9') {
		p->skip_num = p->skip_num > UINT64_MAX / 10 - 1 ? UINT64_MAX :
			      p->skip_num * 10 + (c - '0');
	} else if (p->skip_lit == SKIP_DIGITS && c == '+') {
		p->skip_nonsync = true;
		p->skip_lit = SKIP_PLUS;
	} else if ((p->skip_lit == SKIP_DIGITS || p->skip_lit == SKIP_PLUS) &&
		   c == '}') {
		p->skip_lit = SKIP_CLOSED;
	} else if (!(p->skip_lit == SKIP_CLOSED && c == '\r')) {
		p->skip_lit = SKIP_NONE;
	}
	return STEP_MORE;
}

/* Line and command size limits, counted on every byte outside literal
 * data. */
static bool count_byte(struct imap_parser *p)
{
	if (++p->line_len > p->limits.max_line) {
		fail(p, p->tag_done ? IMAP_PARSER_ERR_LINE_TOO_LONG :
		     IMAP_PARSER_ERR_TAG, "Line too long");
		return false;
	}
	if (++p->total > p->limits.max_command) {
		fail(p, p->tag_done ? IMAP_PARSER_ERR_COMMAND_TOO_BIG :
		     IMAP_PARSER_ERR_TAG, "Command too big");
		return false;
	}
	return true;
}

static const enum imap_parse_status status_of[] = {
	[STEP_MORE] = IMAP_PARSE_MORE,
	[STEP_CONTINUE] = IMAP_PARSE_CONTINUE,
	[STEP_DONE] = IMAP_PARSE_DONE,
	[STEP_ERROR] = IMAP_PARSE_ERROR,
	[STEP_ERROR_EAT] = IMAP_PARSE_ERROR,
};

/* One run of bytes in a bulk state; returns the bytes used. */
static size_t feed_bulk(struct imap_parser *p, const unsigned char *d,
			size_t len, enum step *res)
{
	size_t n;

	if (p->st == ST_LIT_DATA)
		return literal_data(p, d, len, res);
	n = len < p->skip_left ? len : (size_t)p->skip_left;
	p->skip_left -= n;
	if (p->skip_left == 0)
		p->st = ST_SKIP_LINE;
	*res = STEP_MORE;
	return n;
}

enum imap_parse_status imap_parser_feed(struct imap_parser *p,
					const void *data, size_t len,
					size_t *consumed)
{
	const unsigned char *d = data;
	enum step res = STEP_MORE;
	size_t i = 0;

	assert(p->st != ST_DONE && p->st != ST_ERROR);
	p->chunk_len = 0;
	while (i < len && res == STEP_MORE) {
		if (p->st == ST_LIT_DATA || p->st == ST_SKIP_LITERAL) {
			i += feed_bulk(p, d + i, len - i, &res);
			if (res == STEP_MORE && p->chunk_len > 0) {
				*consumed = i;
				return IMAP_PARSE_CHUNK;
			}
			continue;
		}
		if (p->st == ST_SKIP_LINE) {
			res = skip_byte(p, d[i++]);
			continue;
		}
		if (!count_byte(p)) {
			res = STEP_ERROR;
			break;
		}
		res = step_byte(p, d[i]);
		if (res != STEP_ERROR)
			i++;
		if (res == STEP_ERROR_EAT)
			res = STEP_ERROR;
	}
	*consumed = i;
	return status_of[res];
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	assert(p->st == ST_DONE);
	return &p->cmd;
}

void imap_parser_chunk(const struct imap_parser *p, const void **data,
		       size_t *len)
{
	*data = p->chunk;
	*len = p->chunk_len;
}

enum imap_parser_error imap_parser_error(const struct imap_parser *p,
					 const char **reason_r, bool *fatal_r)
{
	if (reason_r != NULL)
		*reason_r = p->err_reason;
	if (fatal_r != NULL)
		*fatal_r = p->err_fatal;
	return p->err;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->tag_done ? p->text.ptr : "";
}

void imap_parser_error_reply(const struct imap_parser *p, struct buf *out)
{
	const char *tag = imap_parser_tag(p);

	if (p->err_fatal)
		buf_printf(out, "* BYE %s\r\n", p->err_reason);
	else if (p->err == IMAP_PARSER_ERR_TAG || *tag == '\0')
		buf_printf(out, "* BAD %s\r\n", p->err_reason);
	else if (p->err_message)	/* RFC 7889 §4, RFC 4469 TOOBIG */
		buf_printf(out, "%s NO [TOOBIG] %s\r\n", tag, p->err_reason);
	else
		buf_printf(out, "%s BAD %s\r\n", tag, p->err_reason);
}

void imap_parser_next(struct imap_parser *p)
{
	bool skip = p->st == ST_ERROR && p->err_skip;
	uint64_t left = p->skip_left;

	reset_command(p);
	p->skip_lit = SKIP_NONE;
	p->skip_left = 0;
	p->st = ST_TAG;
	if (skip && left > 0) {
		p->skip_left = left;
		p->st = ST_SKIP_LITERAL;
	} else if (skip) {
		p->st = ST_SKIP_LINE;
	}
}

bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a->type == IMAP_ARG_LIST || a->str == NULL)
		return false;
	*s = a->str;
	*len = a->len;
	return true;
}

bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a->type == IMAP_ARG_NIL) {
		*s = NULL;
		*len = 0;
		return true;
	}
	if ((a->type != IMAP_ARG_STRING && a->type != IMAP_ARG_LITERAL) ||
	    a->str == NULL)
		return false;
	*s = a->str;
	*len = a->len;
	return true;
}

bool imap_arg_atom_eq(const struct imap_arg *a, const char *word)
{
	return (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) &&
	       str_ieq(a->str, word);
}

static void dump_quoted(struct buf *out, const char *s, size_t len)
{
	buf_appendc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_appendc(out, '\\');
		if (c < 0x20 || c >= 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_appendc(out, (char)c);
	}
	buf_appendc(out, '"');
}

static void dump_args(const struct imap_arg *v, unsigned n, struct buf *out)
{
	for (unsigned i = 0; i < n; i++) {
		const struct imap_arg *a = &v[i];

		if (i > 0)
			buf_appendc(out, ' ');
		if (a->type == IMAP_ARG_LIST) {
			buf_appendc(out, '(');
			dump_args(a->list, a->count, out);
			buf_appendc(out, ')');
		} else if (a->type == IMAP_ARG_STRING) {
			dump_quoted(out, a->str, a->len);
		} else if (a->type == IMAP_ARG_LITERAL) {
			buf_printf(out, "%s{%zu%s}",
				   a->flags & IMAP_ARG_F_BINARY ? "~" : "",
				   a->len, a->flags & IMAP_ARG_F_NONSYNC ? "+" : "");
			if (a->str != NULL)
				dump_quoted(out, a->str, a->len);
		} else {
			buf_append(out, a->str, a->len);
		}
	}
}

void imap_command_dump(const struct imap_command *cmd, struct buf *out)
{
	buf_printf(out, "%s %s", cmd->tag, cmd->name);
	if (cmd->count > 0)
		buf_appendc(out, ' ');
	dump_args(cmd->args, cmd->count, out);
}

uint64_t imap_parser_literal_left(const struct imap_parser *p)
{
	return p->st == ST_LIT_DATA ? p->lit_left : 0;
}
