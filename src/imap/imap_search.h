/* imap_search: the SEARCH key grammar (RFC 3501 §6.4.4 and §9 search-key,
 * RFC 9051 §6.4.4, MODSEQ of RFC 7162 §3.1.5, "$" of RFC 5182, the
 * SAVEDATE keys of RFC 8514 §2.2) turned
 * into a tree the store can evaluate.
 *
 * Input is the argument list from imap_parser after the caller has taken
 * off "CHARSET x" and ESEARCH "RETURN (...)". Keys that are shorthands
 * become the general form: FROM x is HEADER From x, UNSEEN is NOT SEEN,
 * NEW is RECENT and NOT SEEN, OLD is NOT RECENT. Sequence sets keep '*'
 * symbolic (imap_seqset_resolve() at evaluation). Pure: no I/O. */
#ifndef MK_IMAP_SEARCH_H
#define MK_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"
#include "lib/buf.h"

/* Limits on what a client can make us build. */
#define IMAP_SEARCH_DEPTH_MAX 64	/* nesting of NOT, OR and ( ) */
#define IMAP_SEARCH_KEYS_MAX 1000	/* keys in one SEARCH */
#define IMAP_SEARCH_STRING_MAX 65536	/* bytes of one search string */

enum imap_search_key {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND,	/* every child matches (a group, the top) */
	IMAP_SEARCH_OR,		/* two children */
	IMAP_SEARCH_NOT,	/* one child */
	IMAP_SEARCH_SEQSET,	/* set: message sequence numbers */
	IMAP_SEARCH_UIDSET,	/* set: UIDs */
	IMAP_SEARCH_FLAG,	/* flag: the system flag is set */
	IMAP_SEARCH_KEYWORD,	/* str: the keyword is set */
	IMAP_SEARCH_HEADER,	/* field holds str ("": has the field) */
	IMAP_SEARCH_BODY,	/* the body holds str */
	IMAP_SEARCH_TEXT,	/* header or body holds str */
	IMAP_SEARCH_BEFORE,	/* date: internal date, day granularity */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,	/* date: the Date: header's day */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_SAVEDBEFORE,	/* date: the save date (RFC 8514) */
	IMAP_SEARCH_SAVEDON,
	IMAP_SEARCH_SAVEDSINCE,
	IMAP_SEARCH_SAVEDATESUPPORTED,	/* the mailbox keeps save dates */
	IMAP_SEARCH_LARGER,	/* num: RFC822.SIZE > num */
	IMAP_SEARCH_SMALLER,	/* num: RFC822.SIZE < num */
	IMAP_SEARCH_MODSEQ,	/* num: mod-sequence >= num */
};

/* imap_search_node.flag */
#define IMAP_SEARCH_F_ANSWERED 0x01
#define IMAP_SEARCH_F_DELETED  0x02
#define IMAP_SEARCH_F_DRAFT    0x04
#define IMAP_SEARCH_F_FLAGGED  0x08
#define IMAP_SEARCH_F_SEEN     0x10
#define IMAP_SEARCH_F_RECENT   0x20

/* RFC 7162 §3.1.5 entry-type-req */
enum imap_search_entry_type {
	IMAP_SEARCH_ENTRY_NONE,	/* no entry name given */
	IMAP_SEARCH_ENTRY_PRIV,
	IMAP_SEARCH_ENTRY_SHARED,
	IMAP_SEARCH_ENTRY_ALL,
};

struct imap_search_node {
	enum imap_search_key key;
	struct imap_search_node *child;	/* AND, OR, NOT: the first child */
	struct imap_search_node *next;	/* the next sibling */
	char *field;			/* HEADER: the field name */
	char *str;			/* KEYWORD, HEADER, BODY, TEXT */
	size_t str_len;
	unsigned flag;			/* IMAP_SEARCH_F_* */
	int32_t date;			/* days since 1970-01-01 */
	uint64_t num;
	struct imap_seqset set;		/* set.last: "$" (RFC 5182) */
	char *entry;			/* MODSEQ entry name, or NULL */
	enum imap_search_entry_type entry_type;
};

/* Parse the keys args[0..count) into an AND node (*root_r, to free with
 * imap_search_free()); -1 with a reason for the tagged BAD. */
int imap_search_parse(const struct imap_arg *args, unsigned count,
		      struct imap_search_node **root_r, const char **error_r);
void imap_search_free(struct imap_search_node *node);
/* date-text "1-Feb-1994" (RFC 3501 §9) into days since 1970-01-01. */
int imap_search_parse_date(const char *s, size_t len, int32_t *days_r);
/* Append a canonical text form of the tree, for tests and logs. */
void imap_search_dump(const struct imap_search_node *node, struct buf *out);

#endif
