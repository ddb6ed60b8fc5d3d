/* pop3_parse: POP3 line framing, command lines and AUTH responses. */
#include "pop3/pop3_parse.h"

#include <string.h>

#include "auth/sasl.h"
#include "lib/str.h"

/* --- line framing --- */

void pop3_line_init(struct pop3_line *l, size_t max)
{
	buf_init(&l->text);
	l->max = max;
	l->overflow = false;
	l->done = false;
}

void pop3_line_free(struct pop3_line *l)
{
	buf_free(&l->text);
}

void pop3_line_set_max(struct pop3_line *l, size_t max)
{
	l->max = max;
}

void pop3_line_reset(struct pop3_line *l)
{
	buf_reset(&l->text);
	l->overflow = false;
	l->done = false;
}

/* Take the n bytes before a line end (or all of them so far). Once the
 * line cannot fit any more it is dropped and only its end is looked for,
 * so a line without end costs no memory. */
static void line_take(struct pop3_line *l, const char *p, size_t n)
{
	if (l->overflow)
		return;
	/* max counts CRLF: at most max - 1 bytes may precede the LF */
	if (n > l->max - 1 || l->text.len > l->max - 1 - n) {
		l->overflow = true;
		buf_reset(&l->text);
		return;
	}
	buf_append(&l->text, p, n);
}

enum pop3_line_status pop3_line_feed(struct pop3_line *l, const void *data,
				     size_t len, size_t *used_r)
{
	const char *p = data;
	const char *lf = len > 0 ? memchr(p, '\n', len) : NULL;
	size_t n = lf != NULL ? (size_t)(lf - p) : len;
	bool too_long;

	if (l->done)
		pop3_line_reset(l);
	line_take(l, p, n);
	if (lf == NULL) {
		*used_r = len;
		return POP3_LINE_MORE;
	}
	*used_r = n + 1;
	if (l->text.len > 0 && l->text.ptr[l->text.len - 1] == '\r')
		buf_truncate(&l->text, l->text.len - 1);
	/* a bare LF line counts as if it had its CR */
	too_long = l->overflow || l->text.len > l->max - 2;
	if (too_long) {
		pop3_line_reset(l);
		return POP3_LINE_TOO_LONG;
	}
	l->done = true;
	return POP3_LINE_DONE;
}

char *pop3_line_text(struct pop3_line *l, size_t *len_r)
{
	*len_r = l->text.len;
	buf_reserve(&l->text, 0);	/* allocated even when empty */
	return l->text.ptr;
}

/* --- commands (RFC 1939 §3, §7; RFC 2449 §3) --- */

enum arg_kind {
	ARGS_NONE,	/* no arguments */
	ARGS_TEXT,	/* params: 1*(VCHAR / non-ASCII), space separated */
	ARGS_REST,	/* PASS: the rest of the line, spaces included */
	ARGS_MSG,	/* a message number */
	ARGS_MSG_LINES,	/* TOP: a message number and a line count */
};

struct verb_def {
	const char *name;
	enum pop3_verb verb;
	unsigned min, max;
	enum arg_kind kind;
};

static const struct verb_def verbs[] = {
	{ "USER", POP3_CMD_USER, 1, 1, ARGS_TEXT },
	{ "PASS", POP3_CMD_PASS, 1, 1, ARGS_REST },
	{ "APOP", POP3_CMD_APOP, 2, 2, ARGS_TEXT },
	{ "AUTH", POP3_CMD_AUTH, 0, 2, ARGS_TEXT },	/* RFC 5034 §4 */
	{ "CAPA", POP3_CMD_CAPA, 0, 0, ARGS_NONE },	/* RFC 2449 §5 */
	{ "STLS", POP3_CMD_STLS, 0, 0, ARGS_NONE },	/* RFC 2595 §4 */
	{ "QUIT", POP3_CMD_QUIT, 0, 0, ARGS_NONE },
	{ "STAT", POP3_CMD_STAT, 0, 0, ARGS_NONE },
	{ "LIST", POP3_CMD_LIST, 0, 1, ARGS_MSG },
	{ "RETR", POP3_CMD_RETR, 1, 1, ARGS_MSG },
	{ "DELE", POP3_CMD_DELE, 1, 1, ARGS_MSG },
	{ "NOOP", POP3_CMD_NOOP, 0, 0, ARGS_NONE },
	{ "RSET", POP3_CMD_RSET, 0, 0, ARGS_NONE },
	{ "TOP", POP3_CMD_TOP, 2, 2, ARGS_MSG_LINES },
	{ "UIDL", POP3_CMD_UIDL, 0, 1, ARGS_MSG },
};

const char *pop3_verb_name(enum pop3_verb verb)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "?";
}

static const struct verb_def *verb_find(const char *word, size_t len)
{
	if (len < 3 || len > POP3_KEYWORD_MAX)
		return NULL;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == len &&
		    str_nieq(verbs[i].name, word, len))
			return &verbs[i];
	return NULL;
}

/* RFC 2449 §3 param = 1*VCHAR; bytes above 0x7f pass (UTF-8 user names),
 * the auth process checks them. */
static bool param_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* PASS: anything but control characters (HT allowed). */
static bool pass_char(unsigned char c)
{
	return (c >= 0x20 && c != 0x7f) || c == '\t';
}

/* Strictly decimal, no sign, fits in 32 bits. */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (strlen(s) > 10 || str_to_u64(s, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int split_params(char *p, struct pop3_command *cmd,
			const struct verb_def *d, const char **error_r)
{
	while (*p != '\0') {
		char *start = p;

		while (param_char((unsigned char)*p))
			p++;
		if (*p != '\0' && *p != ' ') {
			*error_r = "invalid character in argument";
			return -1;
		}
		if (p == start) {
			*error_r = "syntax error: one space between arguments";
			return -1;
		}
		if (cmd->nargs == d->max) {
			*error_r = "too many arguments";
			return -1;
		}
		cmd->arg[cmd->nargs] = start;
		cmd->arglen[cmd->nargs++] = (size_t)(p - start);
		if (*p == ' ')
			*p++ = '\0';
	}
	return 0;
}

static int check_numbers(struct pop3_command *cmd, enum arg_kind kind,
			 const char **error_r)
{
	if (kind != ARGS_MSG && kind != ARGS_MSG_LINES)
		return 0;
	if (cmd->nargs >= 1 &&
	    (parse_u32(cmd->arg[0], &cmd->num[0]) < 0 || cmd->num[0] == 0)) {
		*error_r = "invalid message number";
		return -1;
	}
	if (kind == ARGS_MSG_LINES && cmd->nargs >= 2 &&
	    parse_u32(cmd->arg[1], &cmd->num[1]) < 0) {
		*error_r = "invalid number of lines";
		return -1;
	}
	return 0;
}

static int parse_args(char *p, struct pop3_command *cmd,
		      const struct verb_def *d, const char **error_r)
{
	if (d->kind == ARGS_REST) {
		for (char *q = p; *q != '\0'; q++)
			if (!pass_char((unsigned char)*q)) {
				*error_r = "invalid character in argument";
				return -1;
			}
		if (*p != '\0') {
			cmd->arg[0] = p;
			cmd->arglen[0] = strlen(p);
			cmd->nargs = 1;
		}
	} else if (*p != '\0') {
		if (d->kind == ARGS_NONE) {
			*error_r = "too many arguments";
			return -1;
		}
		if (split_params(p, cmd, d, error_r) < 0)
			return -1;
	}
	if (cmd->nargs < d->min) {
		*error_r = "missing argument";
		return -1;
	}
	return check_numbers(cmd, d->kind, error_r);
}

int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd,
		       bool *unknown_r, const char **error_r)
{
	const struct verb_def *d;
	size_t klen;

	memset(cmd, 0, sizeof(*cmd));
	*unknown_r = false;
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "invalid character in command";
		return -1;
	}
	klen = strcspn(line, " ");
	if ((d = verb_find(line, klen)) == NULL) {
		*unknown_r = true;
		*error_r = klen == 0 ? "empty command" : "unknown command";
		return -1;
	}
	cmd->verb = d->verb;
	if (d->kind != ARGS_REST) {
		/* trailing blanks are tolerated, as deployed clients send them */
		while (len > klen && line[len - 1] == ' ')
			line[--len] = '\0';
	}
	return parse_args(line + klen + (line[klen] == ' '), cmd, d, error_r);
}

/* --- AUTH responses (RFC 5034 §4) --- */

enum pop3_sasl_status pop3_sasl_initial(const char *arg, size_t len,
					struct buf *out)
{
	if (len == 1 && arg[0] == '=')
		return POP3_SASL_DATA;		/* an empty initial response */
	if (len == 0 || sasl_b64_decode(arg, len, out) < 0)
		return POP3_SASL_BAD;
	return POP3_SASL_DATA;
}

enum pop3_sasl_status pop3_sasl_line(const char *line, size_t len,
				     struct buf *out)
{
	if (len == 1 && line[0] == '*')
		return POP3_SASL_CANCEL;
	if (memchr(line, '\0', len) != NULL ||
	    sasl_b64_decode(line, len, out) < 0)
		return POP3_SASL_BAD;
	return POP3_SASL_DATA;
}
