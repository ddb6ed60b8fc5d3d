/* rfc5322: address-list (§3.4, obsolete forms §4.4) and date-time (§3.3,
 * §4.3) parsing; see rfc5322.h for how broken input is repaired. Comments
 * nest without recursion; every loop consumes input, and an address list
 * stops at RFC5322_ADDR_MAX entries. */
#include "mail/rfc5322.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

struct cursor {
	const char *p;
	size_t len, pos;
	struct buf comment;	/* text of the last comment skipped */
};

/* An address being built. */
struct addr_tmp {
	struct buf name, route, mailbox, host;
	bool has_name, has_route, has_mailbox, has_host;
	bool invalid;
};

static bool at(const struct cursor *c, char ch)
{
	return c->pos < c->len && c->p[c->pos] == ch;
}

/* RFC 5322 §3.2.3 atext; 8-bit bytes count as text (real mail has them). */
static bool is_atext(unsigned char ch)
{
	return ch > ' ' && ch != 0x7f && strchr("()<>[]:;@\\,.\"", ch) == NULL;
}

/* One comment from its '(' (§3.2.2), nesting counted, quoted pairs
 * unescaped, folds dropped; unterminated: to the end. */
static void skip_comment(struct cursor *c)
{
	unsigned depth = 1;

	buf_reset(&c->comment);
	buf_append(&c->comment, "", 0);
	for (c->pos++; c->pos < c->len; c->pos++) {
		char ch = c->p[c->pos];

		if (ch == '\\' && c->pos + 1 < c->len)
			ch = c->p[++c->pos];
		else if (ch == '(')
			depth++;
		else if (ch == ')' && --depth == 0) {
			c->pos++;
			return;
		}
		if (ch != '\r' && ch != '\n')
			buf_appendc(&c->comment, ch);
	}
}

static void skip_cfws(struct cursor *c)
{
	while (c->pos < c->len) {
		char ch = c->p[c->pos];

		if (ch == '(')
			skip_comment(c);
		else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			c->pos++;
		else
			return;
	}
}

/* §3.2.4 quoted-string at '"', content appended; then CFWS. */
static void take_quoted(struct cursor *c, struct buf *out)
{
	for (c->pos++; c->pos < c->len; c->pos++) {
		char ch = c->p[c->pos];

		if (ch == '"') {
			c->pos++;
			break;
		}
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '\\' && c->pos + 1 < c->len)
			ch = c->p[++c->pos];
		buf_appendc(out, ch);
	}
	skip_cfws(c);
}

/* A run of atext (and '.', for obs-phrase and obs-local-part); then CFWS. */
static size_t take_atoms(struct cursor *c, struct buf *out, bool dots)
{
	size_t start = c->pos;

	while (c->pos < c->len && (is_atext((unsigned char)c->p[c->pos]) ||
				   (dots && c->p[c->pos] == '.')))
		c->pos++;
	buf_append(out, c->p + start, c->pos - start);
	if (c->pos > start)
		skip_cfws(c);
	return c->pos - start;
}

/* §3.2.5 phrase / obs-phrase: words joined by one space; word count. */
static unsigned take_phrase(struct cursor *c, struct buf *out)
{
	unsigned words = 0;

	if (at(c, '.'))
		return 0;
	for (;;) {
		size_t before = c->pos;

		if (words > 0 && c->pos < c->len &&
		    (at(c, '"') || at(c, '.') || is_atext((unsigned char)c->p[c->pos])))
			buf_appendc(out, ' ');
		if (at(c, '"'))
			take_quoted(c, out);
		else
			take_atoms(c, out, true);
		if (c->pos == before)
			return words;
		words++;
	}
}

/* local-part (§3.4.1, obs-local-part): dot-atom with any dots, or a
 * quoted string; false if there is none. */
static bool take_local(struct cursor *c, struct buf *out, bool *quoted_r)
{
	size_t start = c->pos;

	*quoted_r = at(c, '"');
	if (*quoted_r) {
		take_quoted(c, out);
		return true;
	}
	while (c->pos < c->len) {
		if (at(c, '.')) {
			buf_appendc(out, '.');
			c->pos++;
			skip_cfws(c);
		} else if (take_atoms(c, out, false) == 0 || !at(c, '.')) {
			break;
		}
	}
	return c->pos > start;
}

/* domain after '@' (§3.4.1): dot-atom or [domain-literal]. */
static bool take_domain(struct cursor *c, struct buf *out)
{
	size_t start;

	c->pos++;
	skip_cfws(c);
	if (at(c, '[')) {
		for (start = c->pos; c->pos < c->len && !at(c, ']'); c->pos++)
			if (c->p[c->pos] != '\r' && c->p[c->pos] != '\n')
				buf_appendc(out, c->p[c->pos]);
		if (c->pos < c->len)
			c->pos++;
		buf_appendc(out, ']');
		skip_cfws(c);
		return c->pos > start;
	}
	start = out->len;
	while (take_atoms(c, out, false) > 0 && at(c, '.')) {
		buf_appendc(out, '.');
		c->pos++;
		skip_cfws(c);
	}
	return out->len > start;
}

/* obs-route "@a,@b:" (§4.4), kept as "@a,@b"; false if ':' is missing. */
static bool take_route(struct cursor *c, struct buf *out)
{
	while (at(c, '@')) {
		if (out->len > 0)
			buf_appendc(out, ',');
		buf_appendc(out, '@');
		if (!take_domain(c, out))
			return false;
		while (at(c, ',')) {
			c->pos++;
			skip_cfws(c);
		}
	}
	if (!at(c, ':'))
		return false;
	c->pos++;
	skip_cfws(c);
	return true;
}

/* angle-addr after the phrase: "<" [route ":"] addr-spec ">". */
static bool take_angle(struct cursor *c, struct addr_tmp *a)
{
	bool quoted;

	c->pos++;
	skip_cfws(c);
	if (at(c, '@')) {
		a->has_route = true;
		if (!take_route(c, &a->route)) {
			buf_reset(&a->route);
			buf_appends(&a->route, "INVALID_ROUTE");
			a->invalid = true;
		}
	}
	if (!at(c, '>')) {
		a->has_mailbox = take_local(c, &a->mailbox, &quoted);
		if (at(c, '@'))
			a->has_host = take_domain(c, &a->host);
	}
	if (!at(c, '>'))
		return false;
	c->pos++;
	skip_cfws(c);
	return true;
}

/* addr-spec without angle brackets; a lone word followed by more words
 * was a display name without an address. */
static void take_addr_spec(struct cursor *c, struct addr_tmp *a)
{
	bool quoted = false, host = false;

	buf_reset(&c->comment);
	a->has_mailbox = take_local(c, &a->mailbox, &quoted);
	if (at(c, '@'))
		host = a->has_host = take_domain(c, &a->host);
	if (c->comment.len > 0) {
		buf_append(&a->name, c->comment.ptr, c->comment.len);
		a->has_name = true;
	} else if (!host && !at(c, '@')) {
		size_t before = a->mailbox.len;

		buf_appendc(&a->mailbox, ' ');
		if (take_phrase(c, &a->mailbox) > 0) {
			buf_append(&a->name, a->mailbox.ptr, a->mailbox.len);
			a->has_name = true;
			a->has_mailbox = false;
		} else {
			buf_truncate(&a->mailbox, before);
			a->has_host = !quoted;	/* "" -> MISSING_DOMAIN */
		}
		a->invalid = true;
	}
	if (!host)
		a->invalid = true;
}

static const char *dup_buf(struct rfc5322_addr_list *l, const struct buf *b)
{
	return mime_arena_strndup(&l->arena, b->ptr ? b->ptr : "", b->len);
}

static void list_push(struct rfc5322_addr_list *l, const struct rfc5322_addr *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *a;
}

/* Add a mailbox, repairing what is missing (Dovecot's fill-missing). */
static void add_mailbox(struct rfc5322_addr_list *l, struct addr_tmp *t)
{
	struct rfc5322_addr a = { .invalid = t->invalid };

	if (t->invalid && !t->has_name && t->has_mailbox && !t->has_host) {
		buf_append(&t->name, t->mailbox.ptr, t->mailbox.len);
		t->has_name = true;	/* "Joe" alone is a name */
		t->has_mailbox = false;
	}
	a.name = t->has_name && t->name.len > 0 ? dup_buf(l, &t->name) : NULL;
	a.route = t->has_route ? dup_buf(l, &t->route) : NULL;
	a.mailbox = t->has_mailbox ? dup_buf(l, &t->mailbox) : "MISSING_MAILBOX";
	a.host = t->has_host && t->host.len > 0 ? dup_buf(l, &t->host) : "MISSING_DOMAIN";
	a.invalid |= !t->has_mailbox || !t->has_host || t->host.len == 0;
	list_push(l, &a);
}

static void tmp_reset(struct addr_tmp *t)
{
	buf_reset(&t->name);
	buf_reset(&t->route);
	buf_reset(&t->mailbox);
	buf_reset(&t->host);
	t->has_name = t->has_route = t->has_mailbox = t->has_host = false;
	t->invalid = false;
}

/* mailbox = name-addr / addr-spec (§3.4). */
static void take_mailbox(struct rfc5322_addr_list *l, struct cursor *c,
			 struct addr_tmp *t)
{
	size_t start = c->pos;
	unsigned words;

	tmp_reset(t);
	words = take_phrase(c, &t->name);
	if (at(c, '<')) {
		t->has_name = words > 0;
		if (!take_angle(c, t)) {
			buf_reset(&t->host);
			buf_appends(&t->host, "SYNTAX_ERROR");
			t->has_host = true;
			t->invalid = true;
		}
	} else {
		tmp_reset(t);
		c->pos = start;
		take_addr_spec(c, t);
	}
	add_mailbox(l, t);
}

static void add_marker(struct rfc5322_addr_list *l, const char *group)
{
	struct rfc5322_addr a = { .mailbox = group };

	list_push(l, &a);
}

/* group = display-name ":" [mailbox-list] ";" (§3.4); false if the input
 * is not a group (nothing consumed then). */
static bool take_group(struct rfc5322_addr_list *l, struct cursor *c,
		       struct addr_tmp *t)
{
	size_t start = c->pos;

	tmp_reset(t);
	if (take_phrase(c, &t->name) == 0 || !at(c, ':')) {
		c->pos = start;
		return false;
	}
	c->pos++;
	skip_cfws(c);
	add_marker(l, dup_buf(l, &t->name));
	while (c->pos < c->len && !at(c, ';') && l->n < RFC5322_ADDR_MAX) {
		take_mailbox(l, c, t);
		if (!at(c, ','))
			break;
		c->pos++;
		skip_cfws(c);
	}
	if (at(c, ';')) {
		c->pos++;
		skip_cfws(c);
	}
	add_marker(l, NULL);
	return true;
}

void rfc5322_addr_parse(struct rfc5322_addr_list *list, const char *value,
			size_t len)
{
	struct cursor c = { value, len, 0, BUF_INIT };
	struct addr_tmp t = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT,
			      false, false, false, false, false };

	skip_cfws(&c);
	while (c.pos < c.len && list->n < RFC5322_ADDR_MAX) {
		if (!take_group(list, &c, &t))
			take_mailbox(list, &c, &t);
		if (!at(&c, ','))
			break;	/* garbage: the rest is ignored */
		c.pos++;
		skip_cfws(&c);
	}
	buf_free(&c.comment);
	buf_free(&t.name);
	buf_free(&t.route);
	buf_free(&t.mailbox);
	buf_free(&t.host);
}

void rfc5322_addr_list_free(struct rfc5322_addr_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
	mime_arena_free(&list->arena);
}

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_names[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

/* §4.3 obs-zone names (military letters count as -0000, as §4.3 says). */
static const struct {
	const char *name;
	int zone;
} zone_names[] = {
	{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
};

/* Up to max digits; -1 if there is none. */
static int take_number(struct cursor *c, unsigned max, unsigned *ndigits)
{
	int v = 0;

	*ndigits = 0;
	while (c->pos < c->len && *ndigits < max &&
	       c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
		v = v * 10 + (c->p[c->pos++] - '0');
		(*ndigits)++;
	}
	return *ndigits > 0 ? v : -1;
}

static size_t take_alpha(struct cursor *c, char *dst, size_t size)
{
	size_t n = 0;

	while (c->pos < c->len && ((c->p[c->pos] | 0x20) >= 'a' &&
				   (c->p[c->pos] | 0x20) <= 'z')) {
		if (n + 1 < size)
			dst[n] = c->p[c->pos];
		n++;
		c->pos++;
	}
	dst[n < size ? n : size - 1] = '\0';
	return n;
}

/* [day-of-week ","] day month year (§3.3, §4.3). */
static int take_day_month_year(struct cursor *c, struct rfc5322_date *d)
{
	char word[16];
	unsigned nd;

	if (take_alpha(c, word, sizeof(word)) > 0) {
		skip_cfws(c);	/* day name: not checked (§3.3 is lenient) */
		if (at(c, ','))
			c->pos++;
		skip_cfws(c);
	}
	d->day = take_number(c, 2, &nd);
	skip_cfws(c);
	if (take_alpha(c, word, sizeof(word)) < 3)
		return -1;
	for (d->month = 0; d->month < 12; d->month++)
		if (str_nieq(word, month_names[d->month], 3))
			break;
	skip_cfws(c);
	d->year = take_number(c, 4, &nd);
	if (d->month++ == 12 || d->day < 1 || d->day > 31 || d->year < 0)
		return -1;
	if (nd == 2)	/* §4.3: two digits, 00-49 are 2000-2049 */
		d->year += d->year < 50 ? 2000 : 1900;
	else if (nd == 3)
		d->year += 1900;
	return 0;
}

/* hour ":" minute [":" second] */
static int take_time(struct cursor *c, struct rfc5322_date *d)
{
	unsigned nd;

	d->hour = take_number(c, 2, &nd);
	skip_cfws(c);
	if (!at(c, ':'))
		return -1;
	c->pos++;
	skip_cfws(c);
	d->min = take_number(c, 2, &nd);
	skip_cfws(c);
	d->sec = 0;
	if (at(c, ':')) {
		c->pos++;
		skip_cfws(c);
		d->sec = take_number(c, 2, &nd);
		skip_cfws(c);
	}
	return d->hour < 0 || d->hour > 23 || d->min < 0 || d->min > 59 ||
	       d->sec < 0 || d->sec > 60 ? -1 : 0;
}

/* ("+" / "-") 4DIGIT, or a name; missing or unknown: -0000 (§4.3). */
static int take_zone(struct cursor *c, struct rfc5322_date *d)
{
	char word[8];
	unsigned nd;
	int sign, v;

	d->zone = 0;
	if (at(c, '+') || at(c, '-')) {
		sign = c->p[c->pos++] == '-' ? -1 : 1;
		v = take_number(c, 4, &nd);
		if (nd != 4 || v % 100 > 59)
			return -1;
		d->zone = sign * (v / 100 * 60 + v % 100);
		return 0;
	}
	if (take_alpha(c, word, sizeof(word)) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(zone_names) / sizeof(zone_names[0]); i++)
		if (str_ieq(word, zone_names[i].name))
			d->zone = zone_names[i].zone;
	return 0;
}

int rfc5322_date_parse(const char *value, size_t len, struct rfc5322_date *d)
{
	struct cursor c = { value, len, 0, BUF_INIT };
	int ret;

	memset(d, 0, sizeof(*d));
	skip_cfws(&c);
	ret = take_day_month_year(&c, d);
	if (ret == 0) {
		skip_cfws(&c);
		ret = take_time(&c, d);
	}
	if (ret == 0)
		ret = take_zone(&c, d);
	buf_free(&c.comment);
	return ret;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned dd)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t rfc5322_date_to_unix(const struct rfc5322_date *d)
{
	int64_t days = days_from_civil(d->year, (unsigned)d->month,
				       (unsigned)d->day);

	return days * 86400 + d->hour * 3600 + d->min * 60 + d->sec -
	       (int64_t)d->zone * 60;
}

/* Civil date of t + zone, the inverse of the above. */
static void civil(int64_t t, int zone, struct rfc5322_date *d, int *wday)
{
	int64_t s = t + (int64_t)zone * 60, days, era, y;
	unsigned doe, yoe, doy, mp;
	int64_t sod;

	days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	sod = s - days * 86400;
	*wday = (int)((days % 7 + 11) % 7);	/* 1970-01-01 was a Thursday */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	d->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	d->year = (int)(y + (d->month <= 2));
	d->hour = (int)(sod / 3600);
	d->min = (int)(sod / 60 % 60);
	d->sec = (int)(sod % 60);
	d->zone = zone;
}

void rfc5322_date_format(int64_t t, int zone, struct buf *out)
{
	struct rfc5322_date d;
	int wday, z = zone < 0 ? -zone : zone;

	civil(t, zone, &d, &wday);
	buf_printf(out, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
		   day_names[wday], d.day, month_names[d.month - 1], d.year,
		   d.hour, d.min, d.sec, zone < 0 ? '-' : '+', z / 60, z % 60);
}

void rfc5322_date_format_imap(int64_t t, int zone, struct buf *out)
{
	struct rfc5322_date d;
	int wday, z = zone < 0 ? -zone : zone;

	civil(t, zone, &d, &wday);
	buf_printf(out, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", d.day,
		   month_names[d.month - 1], d.year, d.hour, d.min, d.sec,
		   zone < 0 ? '-' : '+', z / 60, z % 60);
}
