/* mtasts_policy: RFC 8461's TXT record (§3.1), policy file (§3.2) and MX
 * matching (§4.1) over buffers; no I/O. */
#include "smtp/mtasts_policy.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* ---- TXT record (§3.1) ---- */

/* sts-ext-name "=" sts-ext-value, or sts-id; [p, end) is one field. */
static int txt_field(const char *p, const char *end, char *id, bool *have_id,
		     const char **error_r)
{
	const char *eq = memchr(p, '=', (size_t)(end - p));
	size_t nl, vl;

	if (eq == NULL || eq == p || eq + 1 == end) {
		*error_r = "a field is not name=value";
		return -1;
	}
	nl = (size_t)(eq - p);
	vl = (size_t)(end - eq - 1);
	if (nl == 2 && memcmp(p, "id", 2) == 0) {
		if (*have_id) {
			*error_r = "more than one id=";
			return -1;
		}
		bool alnum = true;
		for (size_t i = 0; i < vl; i++)
			alnum = alnum && is_alnum(eq[1 + i]);
		if (!alnum || vl > MTASTS_ID_MAX) {
			*error_r = "id= must be 1 to 32 letters and digits";
			return -1;
		}
		memcpy(id, eq + 1, vl);
		id[vl] = '\0';
		*have_id = true;
		return 0;
	}
	for (const char *q = eq + 1; q < end; q++)
		if (*q <= ' ' || *q > '~' || *q == '=' || *q == ';') {
			*error_r = "an extension value has a forbidden character";
			return -1;
		}
	if (nl > 32 || !is_alnum(*p)) {
		*error_r = "bad extension name";
		return -1;
	}
	return 0;
}

enum mtasts_txt mtasts_txt_parse(const char *rec, size_t len,
				 char id[MTASTS_ID_MAX + 1], const char **error_r)
{
	const char *p = rec + 7, *end = rec + len;
	bool have_id = false;

	if (len < 7 || memcmp(rec, "v=STSv1", 7) != 0 ||
	    (len > 7 && rec[7] != ';' && !is_wsp(rec[7])))
		return MTASTS_TXT_OTHER;
	while (p < end) {
		const char *f, *fe;
		while (p < end && is_wsp(*p))
			p++;
		if (p == end)
			break;
		if (*p++ != ';') {
			*error_r = "fields must be separated by ';'";
			return MTASTS_TXT_BAD;
		}
		while (p < end && is_wsp(*p))
			p++;
		for (f = p; p < end && *p != ';' && !is_wsp(*p); p++)
			;
		fe = p;
		if (f < fe && txt_field(f, fe, id, &have_id, error_r) < 0)
			return MTASTS_TXT_BAD;
	}
	if (!have_id) {
		*error_r = "no id=";
		return MTASTS_TXT_BAD;
	}
	return MTASTS_TXT_OK;
}

int mtasts_txt_select(const char *const *recs, const size_t *lens, size_t n,
		      char id[MTASTS_ID_MAX + 1], const char **error_r)
{
	size_t found = 0;
	const char *why = NULL;
	enum mtasts_txt r = MTASTS_TXT_OTHER;

	for (size_t i = 0; i < n; i++) {
		size_t len = lens != NULL ? lens[i] : strlen(recs[i]);
		enum mtasts_txt t = mtasts_txt_parse(recs[i], len, id, &why);
		if (t != MTASTS_TXT_OTHER && found++ == 0)
			r = t;
	}
	if (found > 1) {
		*error_r = "more than one v=STSv1 record";
		return -1;
	}
	if (r == MTASTS_TXT_BAD) {
		*error_r = why;
		return -1;
	}
	return found;
}

/* ---- policy file (§3.2) ---- */

void mtasts_policy_free(struct mtasts_policy *p)
{
	for (size_t i = 0; i < p->nmx; i++)
		free(p->mx[i]);
	free(p->mx);
	memset(p, 0, sizeof(*p));
}

bool mtasts_refresh_due(time_t fetched, time_t expires, time_t now)
{
	time_t after;

	if (expires <= fetched)
		return true;
	after = (expires - fetched) / 2;
	if (after > MTASTS_REFRESH_MAX)
		after = MTASTS_REFRESH_MAX;
	return now - fetched >= after;
}

const char *mtasts_mode_name(enum mtasts_mode m)
{
	return m == MTASTS_MODE_ENFORCE ? "enforce" :
	       m == MTASTS_MODE_TESTING ? "testing" : "none";
}

/* sts-policy-mx-value = ["*."] Domain: labels of letters, digits and '-'. */
static bool mx_pattern_ok(const char *v, size_t n)
{
	size_t label = 0;

	if (n >= 2 && v[0] == '*' && v[1] == '.') {
		v += 2;
		n -= 2;
	}
	if (n == 0 || n > MTASTS_MX_LEN_MAX - 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.') {
			if (label == 0 || v[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_alnum(v[i]) || (v[i] == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && v[n - 1] != '-';
}

struct seen {
	bool version, mode, max_age;
};

static int set_mode(struct mtasts_policy *p, const char *v, size_t n,
		    const char **error_r)
{
	static const char *const names[] = { "none", "testing", "enforce" };

	for (size_t i = 0; i < 3; i++)
		if (n == strlen(names[i]) && memcmp(v, names[i], n) == 0) {
			p->mode = (enum mtasts_mode)i;
			return 0;
		}
	*error_r = "mode must be enforce, testing or none";
	return -1;
}

/* 1*10(DIGIT); above the cap it is capped (and noted). */
static int set_max_age(struct mtasts_policy *p, const char *v, size_t n,
		       const char **error_r)
{
	uint64_t age = 0;

	if (n == 0 || n > 10) {
		*error_r = "max_age must be 1 to 10 digits";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			*error_r = "max_age must be 1 to 10 digits";
			return -1;
		}
		age = age * 10 + (uint64_t)(v[i] - '0');
	}
	p->max_age_over = age > MTASTS_MAX_AGE_MAX;
	p->max_age = p->max_age_over ? MTASTS_MAX_AGE_MAX : age;
	return 0;
}

static int add_mx(struct mtasts_policy *p, const char *v, size_t n,
		  const char **error_r)
{
	char *m;

	if (!mx_pattern_ok(v, n)) {
		*error_r = "an mx: value is not a host name or *.domain pattern";
		return -1;
	}
	if (p->nmx == MTASTS_MX_MAX) {
		*error_r = "too many mx: lines";
		return -1;
	}
	m = xstrndup(v, n);
	str_lower(m);
	p->mx = xrealloc(p->mx, (p->nmx + 1) * sizeof(*p->mx));
	p->mx[p->nmx++] = m;
	return 0;
}

/* One "key: value" line (value with trailing blanks removed). */
static int policy_line(struct mtasts_policy *p, struct seen *s, const char *k,
		       size_t kn, const char *v, size_t vn, const char **error_r)
{
#define KEY(name) (kn == sizeof(name) - 1 && memcmp(k, name, kn) == 0)
	if (KEY("version")) {
		if (s->version)
			return 0;
		s->version = true;
		if (vn == 5 && memcmp(v, "STSv1", 5) == 0)
			return 0;
		*error_r = "version is not STSv1";
		return -1;
	}
	if (KEY("mode") && !s->mode) {
		s->mode = true;
		return set_mode(p, v, vn, error_r);
	}
	if (KEY("max_age") && !s->max_age) {
		s->max_age = true;
		return set_max_age(p, v, vn, error_r);
	}
	if (KEY("mx"))
		return add_mx(p, v, vn, error_r);
#undef KEY
	return 0;	/* extensions are ignored */
}

/* Split one line into key and value; -1 when it has no ':'. */
static int policy_split(struct mtasts_policy *p, struct seen *s,
			const char *line, size_t n, const char **error_r)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t kn, vn;

	if (colon == NULL || colon == line) {
		*error_r = "a line is not \"key: value\"";
		return -1;
	}
	kn = (size_t)(colon - line);
	v = colon + 1;
	vn = n - kn - 1;
	while (vn > 0 && is_wsp(*v)) {
		v++;
		vn--;
	}
	while (vn > 0 && is_wsp(v[vn - 1]))
		vn--;
	return policy_line(p, s, line, kn, v, vn, error_r);
}

static int policy_check(const struct mtasts_policy *p, const struct seen *s,
			const char **error_r)
{
	if (!s->version)
		*error_r = "no version: line";
	else if (!s->mode)
		*error_r = "no mode: line";
	else if (!s->max_age)
		*error_r = "no max_age: line";
	else if (p->mode != MTASTS_MODE_NONE && p->nmx == 0)
		*error_r = "no mx: line";
	else
		return 0;
	return -1;
}

int mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *p,
			const char **error_r)
{
	struct seen s = { false, false, false };
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (len > MTASTS_POLICY_MAX) {
		*error_r = "policy larger than 64 KiB";
		return -1;
	}
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - text) : len, n = end - i;
		if (n > 0 && text[i + n - 1] == '\r')
			n--;
		if (memchr(text + i, '\0', n) != NULL) {
			*error_r = "a NUL byte in the policy";
			goto bad;
		}
		if (n > 0 && policy_split(p, &s, text + i, n, error_r) < 0)
			goto bad;
		i = end + 1;
	}
	if (policy_check(p, &s, error_r) == 0)
		return 0;
bad:
	mtasts_policy_free(p);
	return -1;
}

/* ---- matching (§4.1) ---- */

/* Equal ignoring ASCII case and one trailing dot on either side. */
static bool name_eq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an > 0 && a[an - 1] == '.')
		an--;
	if (bn > 0 && b[bn - 1] == '.')
		bn--;
	return an == bn && an > 0 && str_nieq(a, b, an);
}

bool mtasts_mx_match(const char *pattern, const char *host)
{
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(host, '.');
		/* the wildcard stands for exactly one (non-empty) label */
		return dot != NULL && dot != host &&
		       name_eq(dot + 1, strlen(dot + 1), pattern + 2,
			       strlen(pattern + 2));
	}
	return name_eq(pattern, strlen(pattern), host, strlen(host));
}

bool mtasts_policy_allows(const struct mtasts_policy *p, const char *host)
{
	for (size_t i = 0; i < p->nmx; i++)
		if (mtasts_mx_match(p->mx[i], host))
			return true;
	return false;
}
