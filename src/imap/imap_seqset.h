/* imap_seqset: sequence sets and UID sets (RFC 3501 §9 sequence-set,
 * RFC 9051 §9), with "$" for the saved search result (RFC 5182).
 *
 * A parsed set keeps '*' symbolic (the largest number in use is only known
 * to the mailbox) until imap_seqset_resolve() replaces it; after that, and
 * for sets built without '*', the ranges are sorted, disjoint and never
 * adjacent, so membership is a binary search and a range like 1:4294967295
 * costs 8 bytes, never an expansion. Numbers are nz-number, 1..2^32-1;
 * anything else is refused at parse time. Pure: no I/O. */
#ifndef MK_IMAP_SEQSET_H
#define MK_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* Default limit on the comma-separated elements of one set from a client. */
#define IMAP_SEQSET_RANGES_MAX 10000

/* '*' while unresolved (0 is never a valid nz-number). */
#define IMAP_SEQ_STAR 0

struct imap_seq_range {
	uint32_t lo, hi;		/* lo <= hi once normalised */
};

struct imap_seqset {
	struct imap_seq_range *r;
	size_t n, cap;
	bool star;			/* holds an unresolved '*' */
	bool last;			/* "$" was part of it (RFC 5182) */
};

/* Position of an iteration: imap_seqset_next() gives each number once,
 * in increasing order. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	size_t i;
	uint64_t next;
};

void imap_seqset_init(struct imap_seqset *set);
void imap_seqset_free(struct imap_seqset *set);
/* Empty the set, keep its allocation. */
void imap_seqset_clear(struct imap_seqset *set);
/* Parse s[0..len) ("1,3:5,7:*", "$"), replacing the set's contents; at most
 * max_ranges elements (0: IMAP_SEQSET_RANGES_MAX). -1 with a reason. */
int imap_seqset_parse(struct imap_seqset *set, const char *s, size_t len,
		      size_t max_ranges, const char **error_r);
/* Replace '*' by max (0 for an empty mailbox) and normalise. */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t max);
/* Add lo:hi (either order) to a resolved set, keeping it normalised. */
void imap_seqset_add_range(struct imap_seqset *set, uint32_t lo, uint32_t hi);
void imap_seqset_add(struct imap_seqset *set, uint32_t n);
/* dst |= src (both resolved). */
void imap_seqset_union(struct imap_seqset *dst, const struct imap_seqset *src);
/* Drop the numbers above max (a UID set against UIDNEXT-1, say). */
void imap_seqset_clamp(struct imap_seqset *set, uint32_t max);
/* Membership in a resolved set. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* How many numbers a resolved set holds (up to 2^32-1). */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* The largest number of a resolved set, 0 when empty. */
uint32_t imap_seqset_max(const struct imap_seqset *set);
/* Append the shortest text form ("1:3,5"), nothing for an empty set. */
void imap_seqset_format(const struct imap_seqset *set, struct buf *out);
void imap_seqset_iter_init(struct imap_seqset_iter *it,
			   const struct imap_seqset *set);
/* The next number into *n; false at the end. */
bool imap_seqset_next(struct imap_seqset_iter *it, uint32_t *n);

#endif
