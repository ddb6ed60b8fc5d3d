/* imap_search: search-key parsing (RFC 3501 §6.4.4 / §9, RFC 9051 §9,
 * RFC 7162 §3.1.5) from parsed arguments into a tree, driven by a table
 * of the keys and the kind of argument each takes. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

/* What follows a key. */
enum arg_kind {
	ARG_NONE, ARG_STRING, ARG_HEADER, ARG_DATE, ARG_NUMBER, ARG_SEQSET,
	ARG_KEYWORD, ARG_MODSEQ, ARG_NOT, ARG_OR, ARG_NEW,
};

struct key_def {
	const char *name;
	enum imap_search_key key;
	enum arg_kind arg;
	unsigned flag;
	bool negate;		/* UNSEEN = NOT SEEN */
	const char *field;	/* FROM = HEADER From */
};

/* RFC 3501 §6.4.4, in its order; RFC 7162 §3.1.5 MODSEQ; RFC 8514 §2.2
 * SAVED*. */
static const struct key_def key_defs[] = {
	{ "ALL", IMAP_SEARCH_ALL, ARG_NONE, 0, false, NULL },
	{ "ANSWERED", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_ANSWERED, false, NULL },
	{ "BCC", IMAP_SEARCH_HEADER, ARG_STRING, 0, false, "Bcc" },
	{ "BEFORE", IMAP_SEARCH_BEFORE, ARG_DATE, 0, false, NULL },
	{ "BODY", IMAP_SEARCH_BODY, ARG_STRING, 0, false, NULL },
	{ "CC", IMAP_SEARCH_HEADER, ARG_STRING, 0, false, "Cc" },
	{ "DELETED", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_DELETED, false, NULL },
	{ "DRAFT", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_DRAFT, false, NULL },
	{ "FLAGGED", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_FLAGGED, false, NULL },
	{ "FROM", IMAP_SEARCH_HEADER, ARG_STRING, 0, false, "From" },
	{ "HEADER", IMAP_SEARCH_HEADER, ARG_HEADER, 0, false, NULL },
	{ "KEYWORD", IMAP_SEARCH_KEYWORD, ARG_KEYWORD, 0, false, NULL },
	{ "LARGER", IMAP_SEARCH_LARGER, ARG_NUMBER, 0, false, NULL },
	{ "MODSEQ", IMAP_SEARCH_MODSEQ, ARG_MODSEQ, 0, false, NULL },
	{ "NEW", IMAP_SEARCH_AND, ARG_NEW, 0, false, NULL },
	{ "NOT", IMAP_SEARCH_NOT, ARG_NOT, 0, false, NULL },
	{ "OLD", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_RECENT, true, NULL },
	{ "ON", IMAP_SEARCH_ON, ARG_DATE, 0, false, NULL },
	{ "OR", IMAP_SEARCH_OR, ARG_OR, 0, false, NULL },
	{ "RECENT", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_RECENT, false, NULL },
	{ "SAVEDATESUPPORTED", IMAP_SEARCH_SAVEDATESUPPORTED, ARG_NONE, 0, false, NULL },
	{ "SAVEDBEFORE", IMAP_SEARCH_SAVEDBEFORE, ARG_DATE, 0, false, NULL },
	{ "SAVEDON", IMAP_SEARCH_SAVEDON, ARG_DATE, 0, false, NULL },
	{ "SAVEDSINCE", IMAP_SEARCH_SAVEDSINCE, ARG_DATE, 0, false, NULL },
	{ "SEEN", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_SEEN, false, NULL },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, ARG_DATE, 0, false, NULL },
	{ "SENTON", IMAP_SEARCH_SENTON, ARG_DATE, 0, false, NULL },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, ARG_DATE, 0, false, NULL },
	{ "SINCE", IMAP_SEARCH_SINCE, ARG_DATE, 0, false, NULL },
	{ "SMALLER", IMAP_SEARCH_SMALLER, ARG_NUMBER, 0, false, NULL },
	{ "SUBJECT", IMAP_SEARCH_HEADER, ARG_STRING, 0, false, "Subject" },
	{ "TEXT", IMAP_SEARCH_TEXT, ARG_STRING, 0, false, NULL },
	{ "TO", IMAP_SEARCH_HEADER, ARG_STRING, 0, false, "To" },
	{ "UID", IMAP_SEARCH_UIDSET, ARG_SEQSET, 0, false, NULL },
	{ "UNANSWERED", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_ANSWERED, true, NULL },
	{ "UNDELETED", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_DELETED, true, NULL },
	{ "UNDRAFT", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_DRAFT, true, NULL },
	{ "UNFLAGGED", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_FLAGGED, true, NULL },
	{ "UNKEYWORD", IMAP_SEARCH_KEYWORD, ARG_KEYWORD, 0, true, NULL },
	{ "UNSEEN", IMAP_SEARCH_FLAG, ARG_NONE, IMAP_SEARCH_F_SEEN, true, NULL },
};

static const char *const flag_names[] = {
	"ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN", "RECENT",
};

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* The walk over the argument list. */
struct ctx {
	const struct imap_arg *args;
	unsigned count, pos;
	unsigned keys;
	const char *error;
};

static struct imap_search_node *node_new(enum imap_search_key key)
{
	struct imap_search_node *n = xcalloc(1, sizeof(*n));

	n->key = key;
	imap_seqset_init(&n->set);
	return n;
}

void imap_search_free(struct imap_search_node *node)
{
	while (node != NULL) {
		struct imap_search_node *next = node->next;

		imap_search_free(node->child);
		free(node->field);
		free(node->str);
		free(node->entry);
		imap_seqset_free(&node->set);
		free(node);
		node = next;
	}
}

static struct imap_search_node *wrap_not(struct imap_search_node *child)
{
	struct imap_search_node *n = node_new(IMAP_SEARCH_NOT);

	n->child = child;
	return n;
}

static const struct imap_arg *take(struct ctx *c)
{
	if (c->pos >= c->count) {
		c->error = "Missing search argument";
		return NULL;
	}
	return &c->args[c->pos++];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int32_t days_from_civil(int y, int m, int d)
{
	int era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* date-text = date-day "-" date-month "-" date-year (RFC 3501 §9):
 * 1*2DIGIT, a month name, 4DIGIT. */
int imap_search_parse_date(const char *s, size_t len, int32_t *days_r)
{
	size_t i = 0;
	int d = 0, m = 0, y = 0;

	while (i < len && i < 2 && s[i] >= '0' && s[i] <= '9')
		d = d * 10 + (s[i++] - '0');
	if (i == 0 || i >= len || s[i++] != '-' || len - i != 8 || s[i + 3] != '-')
		return -1;
	for (int k = 0; k < 12; k++) {
		if (str_nieq(s + i, months[k], 3))
			m = k + 1;
	}
	for (size_t k = i + 4; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		y = y * 10 + (s[k] - '0');
	}
	if (m == 0 || d < 1 || d > month_days(y, m))
		return -1;
	*days_r = days_from_civil(y, m, d);
	return 0;
}

/* A search string: astring (RFC 3501 §9), no NUL, bounded. */
static bool take_string(struct ctx *c, const char **s, size_t *len)
{
	const struct imap_arg *a = take(c);

	if (a == NULL)
		return false;
	if (!imap_arg_astring(a, s, len)) {
		c->error = "Invalid search string";
		return false;
	}
	if (*len > IMAP_SEARCH_STRING_MAX || memchr(*s, '\0', *len) != NULL) {
		c->error = *len > IMAP_SEARCH_STRING_MAX ?
			   "Search string too long" : "NUL in search string";
		return false;
	}
	return true;
}

/* header-fld-name (RFC 3501 §9) = astring of RFC 5322 ftext. */
static bool valid_field(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 33 || s[i] > 126 || s[i] == ':')
			return false;
	}
	return true;
}

/* flag-keyword = atom (RFC 9051 §9) without '\' or the wildcards. */
static bool valid_keyword(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL)
		return false;
	return strpbrk(a->str, "\\%*]") == NULL;
}

static int arg_string(struct ctx *c, struct imap_search_node *n,
		      const struct key_def *def)
{
	const char *s;
	size_t len;

	if (def->arg == ARG_HEADER) {
		if (!take_string(c, &s, &len))
			return -1;
		if (!valid_field(s, len)) {
			c->error = "Invalid header field name";
			return -1;
		}
		n->field = xstrndup(s, len);
	} else if (def->field != NULL) {
		n->field = xstrdup(def->field);
	}
	if (!take_string(c, &s, &len))
		return -1;
	n->str = xstrndup(s, len);
	n->str_len = len;
	return 0;
}

static int arg_keyword(struct ctx *c, struct imap_search_node *n)
{
	const struct imap_arg *a = take(c);

	if (a == NULL)
		return -1;
	if (!valid_keyword(a)) {
		c->error = "Invalid keyword";
		return -1;
	}
	n->str = xstrdup(a->str);
	n->str_len = a->len;
	return 0;
}

static int arg_date(struct ctx *c, struct imap_search_node *n)
{
	const char *s;
	size_t len;

	if (!take_string(c, &s, &len))
		return -1;
	if (imap_search_parse_date(s, len, &n->date) < 0) {
		c->error = "Invalid search date";
		return -1;
	}
	return 0;
}

/* number (RFC 3501 §9), number64 (RFC 9051 §9): an atom of digits. */
static int arg_number(struct ctx *c, uint64_t *v)
{
	const struct imap_arg *a = take(c);

	if (a == NULL)
		return -1;
	if (a->type != IMAP_ARG_ATOM || str_to_u64(a->str, v) < 0 ||
	    *v > INT64_MAX) {
		c->error = "Invalid number";
		return -1;
	}
	return 0;
}

static int arg_seqset(struct ctx *c, const struct imap_arg *a,
		      struct imap_search_node *n)
{
	const char *error;

	if (a == NULL)
		return -1;
	if (a->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(&n->set, a->str, a->len, 0, &error) < 0) {
		c->error = "Invalid sequence set";
		return -1;
	}
	return 0;
}

/* MODSEQ [entry-name SP entry-type-req] SP mod-sequence-valzer. */
static int arg_modseq(struct ctx *c, struct imap_search_node *n)
{
	static const char *const types[] = { "priv", "shared", "all" };
	const struct imap_arg *a;

	if (c->pos < c->count && c->args[c->pos].type == IMAP_ARG_STRING) {
		a = take(c);
		if (!str_iprefix(a->str, "/flags/") || a->len > 256) {
			c->error = "Invalid MODSEQ entry name";
			return -1;
		}
		n->entry = xstrdup(a->str);
		if ((a = take(c)) == NULL)
			return -1;
		for (int i = 0; i < 3; i++) {
			if (imap_arg_atom_eq(a, types[i]))
				n->entry_type = IMAP_SEARCH_ENTRY_PRIV + i;
		}
		if (n->entry_type == IMAP_SEARCH_ENTRY_NONE) {
			c->error = "Invalid MODSEQ entry type";
			return -1;
		}
	}
	return arg_number(c, &n->num);
}

static struct imap_search_node *parse_key(struct ctx *c, unsigned depth);

/* The keys of a group "(...)" or of the whole command, under an AND. */
static struct imap_search_node *parse_and(struct ctx *c,
					  const struct imap_arg *args,
					  unsigned count, unsigned depth)
{
	struct ctx sub = { args, count, 0, c->keys, NULL };
	struct imap_search_node *and = node_new(IMAP_SEARCH_AND);
	struct imap_search_node **tail = &and->child;

	if (count == 0)
		sub.error = "Empty search key list";
	while (sub.error == NULL && sub.pos < sub.count) {
		if ((*tail = parse_key(&sub, depth)) != NULL)
			tail = &(*tail)->next;
	}
	c->keys = sub.keys;
	if (sub.error != NULL) {
		c->error = sub.error;
		imap_search_free(and);
		return NULL;
	}
	return and;
}

static const struct key_def *find_key(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return NULL;
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(*key_defs); i++) {
		if (str_ieq(a->str, key_defs[i].name))
			return &key_defs[i];
	}
	return NULL;
}

/* The operands of NOT, OR and NEW. */
static int arg_operands(struct ctx *c, struct imap_search_node *n,
			const struct key_def *def, unsigned depth)
{
	struct imap_search_node *seen;

	if (def->arg == ARG_NEW) {	/* NEW = RECENT UNSEEN */
		n->child = node_new(IMAP_SEARCH_FLAG);
		n->child->flag = IMAP_SEARCH_F_RECENT;
		seen = node_new(IMAP_SEARCH_FLAG);
		seen->flag = IMAP_SEARCH_F_SEEN;
		n->child->next = wrap_not(seen);
		return 0;
	}
	if ((n->child = parse_key(c, depth + 1)) == NULL)
		return -1;
	if (def->arg == ARG_OR &&
	    (n->child->next = parse_key(c, depth + 1)) == NULL)
		return -1;
	return 0;
}

static int parse_arg(struct ctx *c, struct imap_search_node *n,
		     const struct key_def *def, unsigned depth)
{
	switch (def->arg) {
	case ARG_NONE:
		n->flag = def->flag;
		return 0;
	case ARG_STRING:
	case ARG_HEADER:
		return arg_string(c, n, def);
	case ARG_DATE:
		return arg_date(c, n);
	case ARG_NUMBER:
		return arg_number(c, &n->num);
	case ARG_SEQSET:
		return arg_seqset(c, take(c), n);
	case ARG_KEYWORD:
		return arg_keyword(c, n);
	case ARG_MODSEQ:
		return arg_modseq(c, n);
	default:
		return arg_operands(c, n, def, depth);
	}
}

/* One search-key; NULL with c->error set on failure. */
static struct imap_search_node *parse_key(struct ctx *c, unsigned depth)
{
	const struct imap_arg *a = take(c);
	const struct key_def *def;
	struct imap_search_node *n;

	if (a == NULL)
		return NULL;
	if (depth >= IMAP_SEARCH_DEPTH_MAX || ++c->keys > IMAP_SEARCH_KEYS_MAX) {
		c->error = depth >= IMAP_SEARCH_DEPTH_MAX ?
			   "Search keys nested too deep" : "Too many search keys";
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST)
		return parse_and(c, a->list, a->count, depth + 1);
	if ((def = find_key(a)) == NULL) {
		n = node_new(IMAP_SEARCH_SEQSET);
		if (a->type == IMAP_ARG_ATOM && arg_seqset(c, a, n) == 0)
			return n;
		imap_search_free(n);
		c->error = "Unknown search key";
		return NULL;
	}
	n = node_new(def->key);
	if (parse_arg(c, n, def, depth) < 0) {
		imap_search_free(n);
		return NULL;
	}
	return def->negate ? wrap_not(n) : n;
}

int imap_search_parse(const struct imap_arg *args, unsigned count,
		      struct imap_search_node **root_r, const char **error_r)
{
	struct ctx c = { args, count, 0, 0, NULL };

	*root_r = parse_and(&c, args, count, 0);
	if (*root_r == NULL) {
		*error_r = c.error;
		return -1;
	}
	return 0;
}

static void dump_date(struct buf *out, int32_t days)
{
	/* civil_from_days, the inverse of days_from_civil */
	int32_t z = days + 719468;
	int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	int32_t doe = z - era * 146097;
	int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int32_t mp = (5 * doy + 2) / 153;
	int32_t d = doy - (153 * mp + 2) / 5 + 1;
	int32_t m = mp < 10 ? mp + 3 : mp - 9;

	buf_printf(out, " %04d-%02d-%02d", (int)(yoe + era * 400 + (m <= 2)),
		   (int)m, (int)d);
}

static const char *const key_names[] = {
	[IMAP_SEARCH_ALL] = "ALL", [IMAP_SEARCH_AND] = "AND",
	[IMAP_SEARCH_OR] = "OR", [IMAP_SEARCH_NOT] = "NOT",
	[IMAP_SEARCH_SEQSET] = "SEQ", [IMAP_SEARCH_UIDSET] = "UID",
	[IMAP_SEARCH_FLAG] = "FLAG", [IMAP_SEARCH_KEYWORD] = "KEYWORD",
	[IMAP_SEARCH_HEADER] = "HEADER", [IMAP_SEARCH_BODY] = "BODY",
	[IMAP_SEARCH_TEXT] = "TEXT", [IMAP_SEARCH_BEFORE] = "BEFORE",
	[IMAP_SEARCH_ON] = "ON", [IMAP_SEARCH_SINCE] = "SINCE",
	[IMAP_SEARCH_SENTBEFORE] = "SENTBEFORE", [IMAP_SEARCH_SENTON] = "SENTON",
	[IMAP_SEARCH_SENTSINCE] = "SENTSINCE",
	[IMAP_SEARCH_SAVEDBEFORE] = "SAVEDBEFORE", [IMAP_SEARCH_SAVEDON] = "SAVEDON",
	[IMAP_SEARCH_SAVEDSINCE] = "SAVEDSINCE",
	[IMAP_SEARCH_SAVEDATESUPPORTED] = "SAVEDATESUPPORTED",
	[IMAP_SEARCH_LARGER] = "LARGER",
	[IMAP_SEARCH_SMALLER] = "SMALLER", [IMAP_SEARCH_MODSEQ] = "MODSEQ",
};

static void dump_fields(const struct imap_search_node *n, struct buf *out)
{
	if (n->key == IMAP_SEARCH_FLAG) {
		for (unsigned i = 0; i < 6; i++)
			if (n->flag & (1u << i))
				buf_printf(out, " %s", flag_names[i]);
	}
	if (n->key == IMAP_SEARCH_SEQSET || n->key == IMAP_SEARCH_UIDSET) {
		buf_appendc(out, ' ');
		imap_seqset_format(&n->set, out);
		if (n->set.last)
			buf_appends(out, n->set.n > 0 ? ",$" : "$");
	}
	if (n->field != NULL)
		buf_printf(out, " %s", n->field);
	if (n->str != NULL)
		buf_printf(out, " \"%s\"", n->str);
	if (n->key >= IMAP_SEARCH_BEFORE && n->key <= IMAP_SEARCH_SAVEDSINCE)
		dump_date(out, n->date);
	if (n->key >= IMAP_SEARCH_LARGER)
		buf_printf(out, " %llu", (unsigned long long)n->num);
	if (n->entry != NULL)
		buf_printf(out, " \"%s\" %d", n->entry, (int)n->entry_type);
}

void imap_search_dump(const struct imap_search_node *node, struct buf *out)
{
	buf_printf(out, "(%s", key_names[node->key]);
	dump_fields(node, out);
	for (const struct imap_search_node *c = node->child; c != NULL; c = c->next) {
		buf_appendc(out, ' ');
		imap_search_dump(c, out);
	}
	buf_appendc(out, ')');
}
