/* aliases: /etc/aliases parser (format of Postfix aliases(5)); no I/O except
 * aliases_load() reading the whole file before parsing it from memory.
 * The table is sorted by name once parsed; lookups are binary searches. */
#include "mail/aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

struct aliases {
	char *name;
	struct alias_entry *v;
	size_t n, cap;
};

struct parser {
	const char *file;
	struct aliases *a;
	struct buf entry;	/* pending logical entry, continuations joined */
	unsigned entry_line;	/* its first line; 0 when none is pending */
	struct buf *err;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int fail(struct parser *p, unsigned line, const char *reason)
{
	buf_printf(p->err, "%s:%u: %s", p->file, line, reason);
	return -1;
}

/* Read a "quoted string" starting at s[*pos] == '"' into out (if non-NULL),
 * honouring \" and \\; leaves *pos after the closing quote. */
static int read_quoted(const char *s, size_t len, size_t *pos, struct buf *out)
{
	size_t i = *pos + 1;

	for (; i < len && s[i] != '"'; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		if (out != NULL)
			buf_appendc(out, s[i]);
	}
	if (i >= len)
		return -1;
	*pos = i + 1;
	return 0;
}

static bool has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)s[i]) && !is_blank(s[i]))
			return true;
	return false;
}

/* The name up to ':' (quoted or bare); *pos is left after the ':'. */
static const char *parse_name(const char *s, size_t len, size_t *pos,
			      struct buf *name)
{
	if (s[*pos] == '"') {
		if (read_quoted(s, len, pos, name) < 0)
			return "unterminated quote in name";
	} else {
		while (*pos < len && s[*pos] != ':' && !is_blank(s[*pos]))
			buf_appendc(name, s[(*pos)++]);
	}
	while (*pos < len && is_blank(s[*pos]))
		(*pos)++;
	if (*pos >= len || s[*pos] != ':')
		return "missing ':' after name";
	(*pos)++;
	if (name->len == 0)
		return "empty name";
	if (name->len > ALIASES_MAX_NAME)
		return "name too long";
	if (memchr(name->ptr, '@', name->len) != NULL)
		return "name must be a local part (no '@')";
	if (has_ctl(name->ptr, name->len) || strlen(name->ptr) != name->len)
		return "control character in name";
	return NULL;
}

/* Blank outside quotes: two targets missing the ',' between them. */
static bool has_unquoted_blank(const char *s, size_t n)
{
	bool inq = false;

	for (size_t i = 0; i < n; i++) {
		if (inq && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			inq = !inq;
		else if (!inq && is_blank(s[i]))
			return true;
	}
	return false;
}

static enum alias_kind classify(const char *v)
{
	if (v[0] == '|')
		return ALIAS_COMMAND;
	if (v[0] == '/')
		return ALIAS_FILE;
	if (str_iprefix(v, ":include:"))
		return ALIAS_INCLUDE;
	if (strchr(v, '@') != NULL)
		return ALIAS_ADDRESS;
	return ALIAS_LOCAL;
}

/* Unquote a wholly quoted target, strip a leading '\', check the result. */
static const char *target_value(const char *raw, size_t n, struct buf *v,
				bool *mailbox)
{
	size_t pos = 0;

	*mailbox = false;
	if (raw[0] == '"' && read_quoted(raw, n, &pos, v) == 0 && pos == n) {
		/* "|cmd arg", "a b": the quotes only delimit */
	} else {
		if (has_unquoted_blank(raw, n))
			return "missing ',' between targets";
		buf_reset(v);
		buf_append(v, raw, n);
	}
	if (v->len > 0 && v->ptr[0] == '\\') {
		*mailbox = true;
		buf_consume(v, 1);
	}
	if (v->len == 0)
		return "empty target";
	if (has_ctl(v->ptr, v->len) || strlen(v->ptr) != v->len)
		return "control character in target";
	return NULL;
}

static const char *add_target(struct alias_entry *e, const char *raw, size_t n)
{
	struct buf v = BUF_INIT;
	struct alias_target *t;
	const char *reason, *at;
	bool mailbox;

	if (n > ALIASES_MAX_TARGET)
		return "target too long";
	if (e->ntargets >= ALIASES_MAX_TARGETS)
		return "too many targets";
	reason = target_value(raw, n, &v, &mailbox);
	if (reason == NULL && classify(buf_cstr(&v)) == ALIAS_ADDRESS) {
		at = strrchr(v.ptr, '@');
		if (at == v.ptr || at[1] == '\0')
			reason = "bad address in target";
	}
	if (reason != NULL) {
		buf_free(&v);
		return reason;
	}
	e->targets = xrealloc(e->targets, (e->ntargets + 1) * sizeof(*t));
	t = &e->targets[e->ntargets++];
	t->kind = classify(v.ptr);
	t->mailbox = mailbox;
	t->value = buf_detach(&v);
	return NULL;
}

/* The comma-separated target list after the ':'. A trailing ',' is
 * tolerated; an empty element elsewhere is an error. */
static const char *parse_targets(const char *s, size_t len, size_t pos,
				 struct alias_entry *e)
{
	const char *reason;

	for (;;) {
		size_t start, end;
		bool inq = false;

		while (pos < len && is_blank(s[pos]))
			pos++;
		if (pos >= len)
			return e->ntargets == 0 ? "no targets" : NULL;
		for (start = pos; pos < len; pos++) {
			if (inq && s[pos] == '\\' && pos + 1 < len)
				pos++;
			else if (s[pos] == '"')
				inq = !inq;
			else if (!inq && s[pos] == ',')
				break;
		}
		if (inq)
			return "unterminated quote in target";
		for (end = pos; end > start && is_blank(s[end - 1]); end--)
			;
		if (end == start)
			return "empty target";
		if ((reason = add_target(e, s + start, end - start)) != NULL)
			return reason;
		if (pos < len)
			pos++;
	}
}

static void entry_free(struct alias_entry *e)
{
	for (size_t i = 0; i < e->ntargets; i++)
		free(e->targets[i].value);
	free(e->targets);
	free(e->name);
}

/* Parse the pending logical entry into the table. */
static int flush_entry(struct parser *p)
{
	struct alias_entry e = { 0 };
	struct buf name = BUF_INIT;
	const char *s = buf_cstr(&p->entry), *reason;
	size_t pos = 0;

	if (p->entry_line == 0)
		return 0;
	e.line = p->entry_line;
	p->entry_line = 0;
	if (p->a->n >= ALIASES_MAX_ENTRIES)
		return fail(p, e.line, "too many entries");
	reason = parse_name(s, p->entry.len, &pos, &name);
	if (reason == NULL)
		reason = parse_targets(s, p->entry.len, pos, &e);
	if (reason != NULL) {
		buf_free(&name);
		entry_free(&e);
		return fail(p, e.line, reason);
	}
	e.name = buf_detach(&name);
	str_lower(e.name);
	if (p->a->n == p->a->cap) {
		p->a->cap = p->a->cap ? p->a->cap * 2 : 16;
		p->a->v = xrealloc(p->a->v, p->a->cap * sizeof(e));
	}
	p->a->v[p->a->n++] = e;
	return 0;
}

/* One physical line: skip, continue the pending entry, or start one. */
static int parse_line(struct parser *p, unsigned line, const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > ALIASES_MAX_LINE)
		return fail(p, line, "line too long");
	if (memchr(s, '\0', n) != NULL)
		return fail(p, line, "NUL byte");
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	if (i > 0) {
		if (p->entry_line == 0)
			return fail(p, line, "continuation line without an entry");
		if (p->entry.len + 1 + n - i > ALIASES_MAX_ENTRY_LEN)
			return fail(p, p->entry_line, "entry too long");
		buf_appendc(&p->entry, ' ');
		buf_append(&p->entry, s + i, n - i);
		return 0;
	}
	if (flush_entry(p) < 0)
		return -1;
	buf_reset(&p->entry);
	buf_append(&p->entry, s, n);
	p->entry_line = line;
	return 0;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct alias_entry *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c != 0)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int report_dup(struct parser *p, const struct alias_entry *e,
		      const struct alias_entry *first)
{
	char safe[ALIASES_MAX_NAME * 4 + 1];

	log_safe(safe, sizeof(safe), e->name, (unsigned)strlen(e->name));
	buf_printf(p->err, "%s:%u: duplicate name \"%s\" (first at line %u)",
		   p->file, e->line, safe, first->line);
	return -1;
}

/* Sort by name; a name defined twice is an error at its earliest repeat. */
static int sort_and_check(struct parser *p)
{
	struct aliases *a = p->a;
	size_t dup = 0;

	if (a->n > 1)
		qsort(a->v, a->n, sizeof(a->v[0]), entry_cmp);
	for (size_t i = 1; i < a->n; i++)
		if (strcmp(a->v[i - 1].name, a->v[i].name) == 0 &&
		    (dup == 0 || a->v[i].line < a->v[dup].line))
			dup = i;
	return dup == 0 ? 0 : report_dup(p, &a->v[dup], &a->v[dup - 1]);
}

int aliases_parse(const char *name, const char *text, size_t len,
		  struct aliases **out, struct buf *err)
{
	struct parser p = { .file = name, .err = err };
	unsigned line = 0;
	size_t pos = 0;
	int rc = 0;

	p.a = xcalloc(1, sizeof(*p.a));
	p.a->name = xstrdup(name);
	while (pos < len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		rc = parse_line(&p, ++line, text + pos, end - pos);
		pos = end + 1;
	}
	if (rc == 0)
		rc = flush_entry(&p);
	if (rc == 0)
		rc = sort_and_check(&p);
	buf_free(&p.entry);
	if (rc < 0) {
		aliases_free(p.a);
		p.a = NULL;
	}
	*out = p.a;
	return rc;
}

static int read_all(int fd, struct buf *text, const char **reason)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*reason = "not a regular file";
		return -1;
	}
	if ((unsigned long long)st.st_size > ALIASES_MAX_FILE) {
		*reason = "file too large";
		return -1;
	}
	for (;;) {
		ssize_t r;

		buf_reserve(text, 65536);
		r = read(fd, text->ptr + text->len, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*reason = strerror(errno);
			return -1;
		}
		if (r == 0)
			return 0;
		text->len += (size_t)r;
		if (text->len > ALIASES_MAX_FILE) {
			*reason = "file too large";
			return -1;
		}
	}
}

int aliases_load(const char *path, struct aliases **out, struct buf *err)
{
	struct buf text = BUF_INIT;
	const char *reason = NULL;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		reason = strerror(errno);
	else if (read_all(fd, &text, &reason) == 0)
		rc = aliases_parse(path, buf_cstr(&text), text.len, out, err);
	if (reason != NULL)
		buf_printf(err, "%s: %s", path, reason);
	if (fd >= 0)
		close(fd);
	buf_free(&text);
	return rc;
}

/* Case-insensitive key against a lower-cased name (ASCII folding only). */
static int key_cmp(const void *k, const void *e)
{
	const unsigned char *a = k;
	const unsigned char *b = (const unsigned char *)
		((const struct alias_entry *)e)->name;

	for (;; a++, b++) {
		int ca = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;

		if (ca != *b || ca == 0)
			return ca - *b;
	}
}

const struct alias_entry *aliases_lookup(const struct aliases *a,
					 const char *name)
{
	if (a == NULL || a->n == 0)
		return NULL;
	return bsearch(name, a->v, a->n, sizeof(a->v[0]), key_cmp);
}

size_t aliases_count(const struct aliases *a)
{
	return a != NULL ? a->n : 0;
}

const struct alias_entry *aliases_entry(const struct aliases *a, size_t i)
{
	return a != NULL && i < a->n ? &a->v[i] : NULL;
}

const char *aliases_name(const struct aliases *a)
{
	return a->name;
}

const char *alias_kind_name(enum alias_kind kind)
{
	static const char *const names[] = {
		[ALIAS_LOCAL] = "local",     [ALIAS_ADDRESS] = "address",
		[ALIAS_COMMAND] = "command", [ALIAS_FILE] = "file",
		[ALIAS_INCLUDE] = "include",
	};

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ?
		names[kind] : "unknown";
}

void aliases_free(struct aliases *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		entry_free(&a->v[i]);
	free(a->v);
	free(a->name);
	free(a);
}
