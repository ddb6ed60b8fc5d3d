/* imap_seqset: sequence-set parsing (RFC 3501 §9, RFC 5182 "$"),
 * normalisation into sorted disjoint ranges, set operations. */
#include "imap/imap_seqset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

static int fail(const char **error_r, const char *why)
{
	if (error_r != NULL)
		*error_r = why;
	return -1;
}

void imap_seqset_init(struct imap_seqset *set)
{
	memset(set, 0, sizeof(*set));
}

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->r);
	imap_seqset_init(set);
}

void imap_seqset_clear(struct imap_seqset *set)
{
	set->n = 0;
	set->star = set->last = false;
}

static void push(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	if (set->n == set->cap) {
		set->cap = set->cap == 0 ? 4 : set->cap * 2;
		set->r = xrealloc(set->r, set->cap * sizeof(*set->r));
	}
	set->r[set->n].lo = lo < hi ? lo : hi;
	set->r[set->n].hi = lo < hi ? hi : lo;
	set->n++;
}

/* seq-number = nz-number / "*" (RFC 3501 §9); nz-number fits 32 bits. */
static int take_number(const char *s, size_t len, size_t *pos, uint32_t *v,
		       const char **error_r)
{
	uint64_t n = 0;

	if (*pos < len && s[*pos] == '*') {
		(*pos)++;
		*v = IMAP_SEQ_STAR;
		return 0;
	}
	if (*pos >= len || s[*pos] < '1' || s[*pos] > '9')
		return fail(error_r, *pos < len && s[*pos] == '0' ?
			    "invalid sequence number 0" : "sequence number expected");
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		n = n * 10 + (uint64_t)(s[(*pos)++] - '0');
		if (n > UINT32_MAX)
			return fail(error_r, "sequence number too large");
	}
	*v = (uint32_t)n;
	return 0;
}

/* One element: "$", number, or number ":" number. */
static int take_element(struct imap_seqset *set, const char *s, size_t len,
			size_t *pos, const char **error_r)
{
	uint32_t lo, hi;

	if (s[*pos] == '$') {	/* RFC 5182 seq-last-command */
		(*pos)++;
		set->last = true;
		return 0;
	}
	if (take_number(s, len, pos, &lo, error_r) < 0)
		return -1;
	hi = lo;
	if (*pos < len && s[*pos] == ':') {
		(*pos)++;
		if (take_number(s, len, pos, &hi, error_r) < 0)
			return -1;
	}
	if (lo == IMAP_SEQ_STAR || hi == IMAP_SEQ_STAR)
		set->star = true;
	push(set, lo, hi);
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge overlapping or adjacent ranges. */
static void normalize(struct imap_seqset *set)
{
	size_t out = 0;

	if (set->n < 2)
		return;
	qsort(set->r, set->n, sizeof(*set->r), cmp_range);
	for (size_t i = 1; i < set->n; i++) {
		struct imap_seq_range *cur = &set->r[out];

		if ((uint64_t)set->r[i].lo <= (uint64_t)cur->hi + 1) {
			if (set->r[i].hi > cur->hi)
				cur->hi = set->r[i].hi;
		} else {
			set->r[++out] = set->r[i];
		}
	}
	set->n = out + 1;
}

int imap_seqset_parse(struct imap_seqset *set, const char *s, size_t len,
		      size_t max_ranges, const char **error_r)
{
	size_t pos = 0, count = 0;

	imap_seqset_clear(set);
	if (max_ranges == 0)
		max_ranges = IMAP_SEQSET_RANGES_MAX;
	for (;;) {
		if (pos >= len)
			return fail(error_r, "sequence number expected");
		if (++count > max_ranges)
			return fail(error_r, "too many ranges in sequence set");
		if (take_element(set, s, len, &pos, error_r) < 0)
			return -1;
		if (pos == len)
			break;
		if (s[pos++] != ',')
			return fail(error_r, "invalid character in sequence set");
	}
	if (!set->star)
		normalize(set);
	return 0;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t max)
{
	for (size_t i = 0; i < set->n && set->star; i++) {
		uint32_t lo = set->r[i].lo, hi = set->r[i].hi;

		/* push() ordered the range, so a '*' (0) sits in lo */
		if (lo == IMAP_SEQ_STAR) {
			set->r[i].lo = hi == IMAP_SEQ_STAR || max < hi ? max : hi;
			set->r[i].hi = hi == IMAP_SEQ_STAR || max > hi ? max : hi;
		}
	}
	set->star = false;
	/* "*" in an empty mailbox resolves to 0, which is never a member */
	normalize(set);
	if (set->n > 0 && set->r[0].lo == 0) {
		if (set->r[0].hi == 0)
			memmove(set->r, set->r + 1, --set->n * sizeof(*set->r));
		else
			set->r[0].lo = 1;
	}
}

void imap_seqset_add_range(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	assert(!set->star);
	if (lo == 0 || hi == 0)
		return;
	push(set, lo, hi);
	/* cheap when appending in order, the common case (building results) */
	if (set->n >= 2 && set->r[set->n - 2].hi < UINT32_MAX &&
	    set->r[set->n - 1].lo > set->r[set->n - 2].hi + 1)
		return;
	normalize(set);
}

void imap_seqset_add(struct imap_seqset *set, uint32_t n)
{
	imap_seqset_add_range(set, n, n);
}

void imap_seqset_union(struct imap_seqset *dst, const struct imap_seqset *src)
{
	assert(!dst->star && !src->star);
	for (size_t i = 0; i < src->n; i++)
		push(dst, src->r[i].lo, src->r[i].hi);
	dst->last = dst->last || src->last;
	normalize(dst);
}

void imap_seqset_clamp(struct imap_seqset *set, uint32_t max)
{
	assert(!set->star);
	while (set->n > 0 && set->r[set->n - 1].lo > max)
		set->n--;
	if (set->n > 0 && set->r[set->n - 1].hi > max)
		set->r[set->n - 1].hi = max;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n;

	assert(!set->star);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->r[mid].lo)
			hi = mid;
		else if (n > set->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t total = 0;

	assert(!set->star);
	for (size_t i = 0; i < set->n; i++)
		total += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return total;
}

uint32_t imap_seqset_max(const struct imap_seqset *set)
{
	assert(!set->star);
	return set->n > 0 ? set->r[set->n - 1].hi : 0;
}

void imap_seqset_format(const struct imap_seqset *set, struct buf *out)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct imap_seq_range *r = &set->r[i];

		if (i > 0)
			buf_appendc(out, ',');
		if (r->lo == IMAP_SEQ_STAR)
			buf_appendc(out, '*');
		else
			buf_printf(out, "%u", r->lo);
		if (r->hi != r->lo)
			buf_printf(out, ":%u", r->hi);
	}
}

void imap_seqset_iter_init(struct imap_seqset_iter *it,
			   const struct imap_seqset *set)
{
	assert(!set->star);
	it->set = set;
	it->i = 0;
	it->next = set->n > 0 ? set->r[0].lo : 0;
}

bool imap_seqset_next(struct imap_seqset_iter *it, uint32_t *n)
{
	const struct imap_seqset *set = it->set;

	if (it->i >= set->n)
		return false;
	*n = (uint32_t)it->next;
	if (it->next < set->r[it->i].hi) {
		it->next++;
	} else if (++it->i < set->n) {
		it->next = set->r[it->i].lo;
	}
	return true;
}
