/* imap_bodystructure: BODY / BODYSTRUCTURE writer (RFC 3501 §7.4.2 and
 * the "body" grammar of §9); the Dovecot-compatible choices are listed in
 * imap_bodystructure.h. */
#include "imap/imap_bodystructure.h"

#include <string.h>

#include "imap/imap_envelope.h"
#include "imap/imap_quote.h"
#include "lib/str.h"

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

/* body-fld-param: ("name" "value" ...) or NIL; text parts always name a
 * charset (RFC 2045 §5.2 default). */
static void write_params(struct buf *out, const struct mime_params *ps,
			 bool default_charset)
{
	bool charset = false;

	if (ps->n == 0 && !default_charset) {
		buf_appends(out, "NIL");
		return;
	}
	buf_appendc(out, '(');
	for (unsigned i = 0; i < ps->n; i++) {
		if (i > 0)
			buf_appendc(out, ' ');
		charset |= str_ieq(ps->v[i].name, "charset");
		imap_quote_nstring(out, ps->v[i].name);
		buf_appendc(out, ' ');
		imap_quote_nstring(out, ps->v[i].value);
	}
	if (default_charset && !charset)
		buf_appends(out, ps->n > 0 ? " \"charset\" \"us-ascii\"" :
			    "\"charset\" \"us-ascii\"");
	buf_appendc(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void write_extension(struct buf *out, const struct mime_part *p)
{
	buf_appendc(out, ' ');
	if (p->disposition == NULL) {
		buf_appends(out, "NIL");
	} else {
		buf_appendc(out, '(');
		imap_quote_nstring(out, p->disposition);
		buf_appendc(out, ' ');
		write_params(out, &p->disp_params, false);
		buf_appendc(out, ')');
	}
	buf_appendc(out, ' ');
	if (p->nlanguages == 0) {
		buf_appends(out, "NIL");
	} else {
		buf_appendc(out, '(');
		for (unsigned i = 0; i < p->nlanguages; i++) {
			if (i > 0)
				buf_appendc(out, ' ');
			imap_quote_nstring(out, p->languages[i]);
		}
		buf_appendc(out, ')');
	}
	buf_appendc(out, ' ');
	imap_quote_nstring_nolf(out, p->location);
}

static void write_part(const struct mime_message *msg,
		       const struct mime_part *p, bool ext, struct buf *out);

/* body-type-mpart: the parts, then subtype [params ext]. */
static void write_multipart(const struct mime_message *msg,
			    const struct mime_part *p, bool ext, struct buf *out)
{
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		buf_appendc(out, '(');
		write_part(msg, c, ext, out);
		buf_appendc(out, ')');
	}
	if (p->children == NULL)
		buf_appends(out, ext ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
	buf_appendc(out, ' ');
	imap_quote_nstring(out, p->subtype);
	if (!ext)
		return;
	buf_appendc(out, ' ');
	write_params(out, &p->params, false);
	write_extension(out, p);
}

/* media type; true for text (which adds a line count). */
static bool write_type(const struct mime_part *p, struct buf *out)
{
	if (p->flags & MIME_PART_MESSAGE) {
		buf_appends(out, "\"message\" \"rfc822\"");
		return false;
	}
	if (p->flags & MIME_PART_OVERFLOW) {
		buf_appends(out, "\"application\" \"octet-stream\"");
		return false;
	}
	if (p->type == NULL) {
		buf_appends(out, "\"text\" \"plain\"");
		return true;
	}
	imap_quote_nstring(out, p->type);
	buf_appendc(out, ' ');
	imap_quote_nstring(out, p->subtype);
	return (p->flags & MIME_PART_TEXT) != 0;
}

/* body-type-1part: fields, then lines (text) or envelope, body and lines
 * (message/rfc822), then [md5 ext]. */
static void write_single(const struct mime_message *msg,
			 const struct mime_part *p, bool ext, struct buf *out)
{
	bool text = write_type(p, out);
	const struct mime_part *c = p->children;

	buf_appendc(out, ' ');
	write_params(out, &p->params, text);
	buf_appendc(out, ' ');
	imap_quote_nstring_nolf(out, p->id);
	buf_appendc(out, ' ');
	imap_quote_nstring_nolf(out, p->description);
	buf_appendc(out, ' ');
	imap_quote_nstring(out, p->encoding != NULL ? p->encoding : "7bit");
	buf_printf(out, " %llu", (unsigned long long)p->body.virt);
	if (text) {
		buf_printf(out, " %llu", (unsigned long long)p->body.lines);
	} else if ((p->flags & MIME_PART_MESSAGE) && c != NULL) {
		buf_appends(out, " (");
		imap_envelope_write(msg->data + c->hdr_off, c->body_off - c->hdr_off, out);
		buf_appends(out, ") (");
		write_part(msg, c, ext, out);
		buf_printf(out, ") %llu", (unsigned long long)p->body.lines);
	}
	if (!ext)
		return;
	buf_appendc(out, ' ');
	imap_quote_nstring_nolf(out, p->md5);
	write_extension(out, p);
}

static void write_part(const struct mime_message *msg,
		       const struct mime_part *p, bool ext, struct buf *out)
{
	if (p->flags & MIME_PART_MULTIPART)
		write_multipart(msg, p, ext, out);
	else
		write_single(msg, p, ext, out);
}

void imap_bodystructure_write(const struct mime_message *msg,
			      const struct mime_part *part, bool extended,
			      struct buf *out)
{
	buf_append(out, "", 0);
	write_part(msg, part, extended, out);
}
