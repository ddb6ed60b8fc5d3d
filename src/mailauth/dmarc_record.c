/* dmarc_record: the DMARC policy record (RFC 7489 §6.3, ABNF §6.4).
 *
 * Strict where the RFC is: the record must start with "v=DMARC1" (version
 * text case-sensitive, §6.4), p= must be valid and sp=, if present, too
 * (else §6.6.3 step 6 applies: DMARC_REC_NO_POLICY). Lenient where it
 * says so: "Unknown tags MUST be ignored. Syntax errors in the remainder
 * of the record SHOULD be discarded in favor of default values (if any) or
 * ignored outright" (§6.3). p= is accepted anywhere after v= (the ABNF
 * wants it second; OpenDMARC, authheaders and DMARCbis accept any place).
 * A repeated tag keeps its first value. Pure: no I/O. */
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/dmarc.h"

/* A piece of the record text. */
struct span {
	const char *p;
	size_t n;
};

struct parse_state {
	struct dmarc_record *rec;
	unsigned seen;			/* bit per tag table entry */
	bool sp_invalid;
	const char *error;		/* first problem ignored */
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static struct span trim(struct span s)
{
	while (s.n > 0 && is_wsp(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_wsp(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool span_ieq(struct span s, const char *lit)
{
	return strlen(lit) == s.n && str_nieq(s.p, lit, s.n);
}

static void note(struct parse_state *st, const char *error)
{
	if (st->error == NULL)
		st->error = error;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	default:
		return "unset";
	}
}

/* §6.4 dmarc-request: "none" / "quarantine" / "reject". */
static enum dmarc_policy policy_value(struct span v)
{
	if (span_ieq(v, "none"))
		return DMARC_POLICY_NONE;
	if (span_ieq(v, "quarantine"))
		return DMARC_POLICY_QUARANTINE;
	if (span_ieq(v, "reject"))
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_UNSET;
}

static void tag_p(struct parse_state *st, struct span v)
{
	st->rec->p = policy_value(v);
	if (st->rec->p == DMARC_POLICY_UNSET)
		note(st, "invalid p= value");
}

static void tag_sp(struct parse_state *st, struct span v)
{
	st->rec->sp = policy_value(v);
	st->rec->sp_given = true;
	if (st->rec->sp == DMARC_POLICY_UNSET) {
		st->sp_invalid = true;
		note(st, "invalid sp= value");
	}
}

/* RFC 9091 §4.1: np= has the values of p=; an invalid one is ignored. */
static void tag_np(struct parse_state *st, struct span v)
{
	st->rec->np = policy_value(v);
	st->rec->np_given = st->rec->np != DMARC_POLICY_UNSET;
	if (!st->rec->np_given)
		note(st, "invalid np= value ignored");
}

/* §6.4 dmarc-adkim / dmarc-aspf: "r" / "s". */
static void tag_align(struct parse_state *st, struct span v,
		      enum dmarc_align *out)
{
	if (span_ieq(v, "r"))
		*out = DMARC_ALIGN_RELAXED;
	else if (span_ieq(v, "s"))
		*out = DMARC_ALIGN_STRICT;
	else
		note(st, "invalid adkim=/aspf= value ignored");
}

static void tag_adkim(struct parse_state *st, struct span v)
{
	tag_align(st, v, &st->rec->adkim);
}

static void tag_aspf(struct parse_state *st, struct span v)
{
	tag_align(st, v, &st->rec->aspf);
}

/* Digits only, value <= max; false otherwise (also on overflow). */
static bool span_uint(struct span v, size_t max_digits, uint64_t max,
		      uint64_t *out)
{
	uint64_t n = 0;

	if (v.n == 0 || v.n > max_digits)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (!is_digit(v.p[i]))
			return false;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
		if (n > max)
			return false;
	}
	*out = n;
	return true;
}

/* §6.4 dmarc-percent: 1*3DIGIT, 0..100. */
static void tag_pct(struct parse_state *st, struct span v)
{
	uint64_t n;

	if (span_uint(v, 3, 100, &n))
		st->rec->pct = (unsigned)n;
	else
		note(st, "invalid pct= value ignored");
}

/* §6.4 dmarc-ainterval: 1*32DIGIT, a 32-bit count of seconds. */
static void tag_ri(struct parse_state *st, struct span v)
{
	uint64_t n;

	if (span_uint(v, 32, UINT32_MAX, &n))
		st->rec->ri = (uint32_t)n;
	else
		note(st, "invalid ri= value ignored");
}

/* §6.4 dmarc-fo: ( "0" / "1" / "d" / "s" ) *( *WSP ":" *WSP ... ). */
static void tag_fo(struct parse_state *st, struct span v)
{
	unsigned fo = 0;
	struct span opt;
	const char *colon;

	while (v.n > 0) {
		colon = memchr(v.p, ':', v.n);
		opt.p = v.p;
		opt.n = colon != NULL ? (size_t)(colon - v.p) : v.n;
		opt = trim(opt);
		if (span_ieq(opt, "0"))
			fo |= DMARC_FO_0;
		else if (span_ieq(opt, "1"))
			fo |= DMARC_FO_1;
		else if (span_ieq(opt, "d"))
			fo |= DMARC_FO_D;
		else if (span_ieq(opt, "s"))
			fo |= DMARC_FO_S;
		else {
			note(st, "invalid fo= value ignored");
			return;
		}
		if (colon == NULL)
			break;
		v.n -= (size_t)(colon + 1 - v.p);
		v.p = colon + 1;
		if (v.n == 0)		/* a trailing ':' */
			fo = 0;
	}
	if (fo != 0)
		st->rec->fo = fo;
	else
		note(st, "invalid fo= value ignored");
}

/* RFC 3986 characters that may appear in a URI here: printable ASCII
 * without space and the excluded "<>\"{}|\\^`"; "!" and "," end it (§6.2:
 * they must be %-encoded inside a DMARC URI). */
static bool uri_char(char c)
{
	return c > 0x20 && c < 0x7f && strchr("<>\"{}|\\^`!,", c) == NULL;
}

/* §6.4 dmarc-uri: URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. */
static bool uri_valid(struct span u)
{
	size_t i = 0, end;
	const char *bang = memchr(u.p, '!', u.n);

	end = bang != NULL ? (size_t)(bang - u.p) : u.n;
	if (u.n == 0 || u.n > DMARC_MAX_URI_LEN || !is_alpha(u.p[0]))
		return false;
	while (i < end && (is_alpha(u.p[i]) || is_digit(u.p[i]) ||
			   u.p[i] == '+' || u.p[i] == '-' || u.p[i] == '.'))
		i++;
	if (i == end || u.p[i] != ':' || i + 1 == end)
		return false;		/* scheme ":" and something after */
	for (i++; i < end; i++) {
		if (!uri_char(u.p[i]))
			return false;
	}
	if (bang == NULL)
		return true;
	for (i = end + 1; i < u.n && is_digit(u.p[i]); i++)
		;
	if (i == end + 1)
		return false;
	if (i < u.n && strchr("kmgtKMGT", u.p[i]) != NULL)
		i++;
	return i == u.n;
}

/* A comma-separated URI list: keep the valid ones, ignore the others. */
static void tag_uris(struct parse_state *st, struct span v, char **uris,
		     size_t *n)
{
	struct span u;
	const char *comma;

	while (v.n > 0) {
		comma = memchr(v.p, ',', v.n);
		u.p = v.p;
		u.n = comma != NULL ? (size_t)(comma - v.p) : v.n;
		u = trim(u);
		if (!uri_valid(u))
			note(st, "invalid report URI ignored");
		else if (*n < DMARC_MAX_URIS)
			uris[(*n)++] = xstrndup(u.p, u.n);
		if (comma == NULL)
			break;
		v.n -= (size_t)(comma + 1 - v.p);
		v.p = comma + 1;
	}
}

static void tag_rua(struct parse_state *st, struct span v)
{
	tag_uris(st, v, st->rec->rua, &st->rec->nrua);
}

static void tag_ruf(struct parse_state *st, struct span v)
{
	tag_uris(st, v, st->rec->ruf, &st->rec->nruf);
}

/* The tags this receiver acts on; rf= (report format) and any other tag
 * are ignored (§6.3). */
static const struct {
	const char *name;
	void (*parse)(struct parse_state *st, struct span v);
} tags[] = {
	{ "p", tag_p }, { "sp", tag_sp }, { "np", tag_np },
	{ "adkim", tag_adkim }, { "aspf", tag_aspf }, { "pct", tag_pct },
	{ "fo", tag_fo }, { "ri", tag_ri }, { "rua", tag_rua },
	{ "ruf", tag_ruf },
};

/* One "tag = value" between semicolons. */
static void tag_spec(struct parse_state *st, struct span t)
{
	const char *eq = memchr(t.p, '=', t.n);
	struct span name, value;

	t = trim(t);
	if (t.n == 0)
		return;			/* empty spec: "a;;b" or a final ";" */
	if (eq == NULL) {
		note(st, "tag without a value ignored");
		return;
	}
	name = trim((struct span){ t.p, (size_t)(eq - t.p) });
	value = trim((struct span){ eq + 1, (size_t)(t.p + t.n - eq - 1) });
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (!span_ieq(name, tags[i].name))
			continue;
		if (st->seen & (1u << i)) {
			note(st, "repeated tag ignored");
			return;
		}
		st->seen |= 1u << i;
		tags[i].parse(st, value);
		return;
	}
}

/* §6.4 dmarc-version: "v" *WSP "=" *WSP "DMARC1", then *WSP and ";" or
 * the end; returns the length consumed, 0 if it is not there. */
static size_t version_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || (s[0] != 'v' && s[0] != 'V'))
		return 0;
	for (i = 1; i < len && is_wsp(s[i]); i++)
		;
	if (i == len || s[i++] != '=')
		return 0;
	while (i < len && is_wsp(s[i]))
		i++;
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0)
		return 0;
	for (i += 6; i < len && is_wsp(s[i]); i++)
		;
	return i == len || s[i] == ';' ? i : 0;
}

static void record_defaults(struct dmarc_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->adkim = DMARC_ALIGN_RELAXED;
	rec->aspf = DMARC_ALIGN_RELAXED;
	rec->pct = 100;
	rec->fo = DMARC_FO_0;
	rec->ri = 86400;
}

enum dmarc_parse dmarc_record_parse(const char *txt, size_t len,
				    struct dmarc_record *rec,
				    const char **error_r)
{
	struct parse_state st = { .rec = rec };
	size_t i = version_len(txt, len), start;

	record_defaults(rec);
	*error_r = NULL;
	if (len > DMARC_MAX_RECORD_LEN || i == 0) {
		*error_r = i == 0 ? "not a v=DMARC1 record" : "record too long";
		return DMARC_REC_NOT_DMARC;
	}
	while (i < len) {
		start = ++i;		/* past the ';' */
		while (i < len && txt[i] != ';')
			i++;
		tag_spec(&st, (struct span){ txt + start, i - start });
	}
	*error_r = st.error;
	if (rec->p == DMARC_POLICY_UNSET || st.sp_invalid) {
		if (rec->p == DMARC_POLICY_UNSET)
			*error_r = "no valid p= tag";
		return DMARC_REC_NO_POLICY;
	}
	if (!rec->sp_given)
		rec->sp = rec->p;
	if (!rec->np_given)
		rec->np = rec->sp;
	return DMARC_REC_OK;
}

void dmarc_record_clear(struct dmarc_record *rec)
{
	for (size_t i = 0; i < rec->nrua; i++)
		free(rec->rua[i]);
	for (size_t i = 0; i < rec->nruf; i++)
		free(rec->ruf[i]);
	rec->nrua = rec->nruf = 0;
}
