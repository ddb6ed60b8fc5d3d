/* dkim_tags: the tag=value list of DKIM-Signature fields and key records
 * (RFC 6376 §3.2), and the value syntaxes inside them: base64 with folding
 * whitespace, colon-separated lists, decimal numbers, domain names and
 * dkim-quoted-printable (§2.11). Pure functions over buffers; the results
 * point into the parsed text. */
#ifndef MK_DKIM_TAGS_H
#define MK_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define DKIM_TAGS_MAX 32	/* tags in one list; more is an error */

struct dkim_tag {
	const char *name;	/* case-sensitive (§3.2) */
	size_t name_len;
	const char *value;	/* surrounding whitespace removed */
	size_t value_len;
	size_t raw_off;		/* the whole value text: after '=' ... */
	size_t raw_len;		/* ... up to ';' or the end (for b= removal) */
};

struct dkim_taglist {
	struct dkim_tag tag[DKIM_TAGS_MAX];
	size_t n;
};

/* A list item (colon-separated lists, h= names). */
struct dkim_span {
	const char *p;
	size_t len;
};

/* Parse s[len] as a tag-list; -1 with a reason on any syntax error,
 * a duplicate tag or more than DKIM_TAGS_MAX tags. */
int dkim_tags_parse(const char *s, size_t len, struct dkim_taglist *out,
		    const char **error_r);
/* The tag called name, or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *t,
				     const char *name);
/* Does the value equal word (ASCII case-insensitive)? */
bool dkim_tag_is(const struct dkim_tag *t, const char *word);

/* Split a colon-separated value into items (whitespace around the colons
 * removed); -1 on an empty item or more than max items. */
int dkim_list_split(const char *p, size_t len, struct dkim_span *items,
		    size_t max, size_t *n_out);
/* Is word (case-insensitive) one of the colon-separated items of p? */
bool dkim_list_has(const char *p, size_t len, const char *word);

/* Decode base64 skipping whitespace; -1 on a bad character, bad padding
 * or more than cap output bytes. */
int dkim_b64_decode(const char *s, size_t len, unsigned char *out,
		    size_t cap, size_t *out_len);
/* Append the base64 encoding of p[n]. */
void dkim_b64_encode(const unsigned char *p, size_t n, struct buf *out);

/* A decimal of max_digits at most; -1 if empty, not digits or too long. */
int dkim_number(const char *p, size_t len, unsigned max_digits,
		uint64_t *out);
/* Domain name of LDH labels (underscore allowed when selector); no
 * leading or trailing dot, at most 253 characters. */
bool dkim_domain_ok(const char *p, size_t len, bool selector);
/* Decode dkim-quoted-printable (=XX) into out; -1 on a bad escape. */
int dkim_qp_decode(const char *p, size_t len, struct buf *out);
/* Copy p[len] into out[size] as printable ASCII (others become '?'),
 * lower-cased when lower; truncated to fit. */
void dkim_text_copy(char *out, size_t size, const char *p, size_t len,
		    bool lower);

#endif
