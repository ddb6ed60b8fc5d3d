/* mime_param: structured MIME header values.
 *
 *   Content-Type         type "/" subtype *(";" parameter)   RFC 2045 §5.1
 *   Content-Disposition  token *(";" parameter)              RFC 2183 §2
 *   Content-Transfer-Encoding, Content-Language lists        RFC 2045 §6.1, RFC 3282
 *
 * Parameters follow RFC 2231: name*0, name*1* ... are joined, charset'lang'
 * %XX values are decoded and converted to UTF-8 (language dropped). Names
 * keep the case they were written in; the first of two equal names wins.
 * Lenient like Dovecot: comments anywhere, a broken parameter is skipped,
 * unquoted "=?...?=" values are taken whole, an unterminated quoted string
 * ends at the end of the field; more lenient than Dovecot: a forgotten ';'
 * before "attribute=" is forgiven and unquoted values may hold tspecials
 * ("boundary=a:b"), as other mail parsers allow. Pure: no I/O; strings
 * live in the arena. */
#ifndef MK_MAIL_MIME_PARAM_H
#define MK_MAIL_MIME_PARAM_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mime_arena.h"

/* Parameters kept per field (Dovecot uses the same number). */
#define MIME_PARAMS_MAX 128
/* Languages kept from one Content-Language field. */
#define MIME_LANGUAGES_MAX 32

struct mime_param {
	const char *name;
	const char *value;	/* UTF-8 after RFC 2231 decoding; may be "" */
};

struct mime_params {
	struct mime_param *v;	/* NULL when there are none */
	unsigned n;
};

/* Content-Type value: 0 and type/subtype set, or -1 when the value is not
 * "type/subtype" followed by ';', "attribute=" or the end (RFC 2045 §5.2
 * then says: treat it as text/plain). Parameters only on success. */
int mime_content_type_parse(struct mime_arena *a, const char *value,
			    size_t len, const char **type_r,
			    const char **subtype_r, struct mime_params *params);
/* Content-Disposition value: the disposition token (NULL if missing) and
 * its parameters. */
void mime_disposition_parse(struct mime_arena *a, const char *value,
			    size_t len, const char **disposition_r,
			    struct mime_params *params);
/* Content-Transfer-Encoding value: the single token, or NULL when the
 * value is empty or has more than one token. */
const char *mime_encoding_parse(struct mime_arena *a, const char *value,
				size_t len);
/* Content-Language value: the comma-separated tags (n = 0 if none). */
const char **mime_language_parse(struct mime_arena *a, const char *value,
				 size_t len, unsigned *n_r);
/* Content-Location value (RFC 2557 §4.2, §4.4): the URI without
 * comments, quotes and white space (folding inside a long URI included);
 * NULL when nothing is left. */
const char *mime_location_parse(struct mime_arena *a, const char *value,
				size_t len);
/* Value of parameter name (case-insensitive), or NULL. */
const char *mime_params_get(const struct mime_params *params,
			    const char *name);
/* RFC 2045 §5.1 token character (8-bit bytes accepted, as in practice). */
bool mime_is_token_char(unsigned char c);

#endif
