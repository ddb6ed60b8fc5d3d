/* mime_header: field iteration and unfolding over a raw header block
 * (RFC 5322 §2.2, §2.2.3). */
#include "mail/mime_header.h"

#include <string.h>

#include "lib/str.h"

static bool is_lwsp(char c)
{
	return c == ' ' || c == '\t';
}

size_t mime_line_len(const char *data, size_t len)
{
	const char *lf = memchr(data, '\n', len);

	return lf != NULL ? (size_t)(lf - data) + 1 : len;
}

/* An empty line: LF or CRLF. */
static bool line_is_empty(const char *p, size_t n)
{
	return (n >= 1 && p[0] == '\n') || (n >= 2 && p[0] == '\r' && p[1] == '\n');
}

size_t mime_header_block_len(const char *data, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t n = mime_line_len(data + pos, len - pos);

		if (line_is_empty(data + pos, len - pos))
			return pos + n;
		pos += n;
	}
	return len;
}

void mime_header_iter_init(struct mime_header_iter *it, const char *data,
			   size_t len)
{
	it->data = data;
	it->len = len;
	it->pos = 0;
}

/* The field ends before the first line that does not start with WSP. */
static size_t field_end(const char *p, size_t len, size_t pos)
{
	pos += mime_line_len(p + pos, len - pos);
	while (pos < len && is_lwsp(p[pos]))
		pos += mime_line_len(p + pos, len - pos);
	return pos;
}

static size_t strip_line_break(const char *p, size_t start, size_t end)
{
	if (end > start && p[end - 1] == '\n')
		end--;
	if (end > start && p[end - 1] == '\r')
		end--;
	return end;
}

int mime_header_next(struct mime_header_iter *it, struct mime_header_field *f)
{
	const char *p = it->data, *colon;
	size_t start = it->pos, end, vend, n;

	if (start >= it->len || line_is_empty(p + start, it->len - start))
		return 0;
	end = field_end(p, it->len, start);
	vend = strip_line_break(p, start, end);
	colon = memchr(p + start, ':', mime_line_len(p + start, end - start));
	f->start = start;
	f->end = end;
	f->name = p + start;
	if (colon == NULL || (size_t)(colon - (p + start)) > MIME_HEADER_NAME_MAX) {
		f->name_len = 0;	/* no name: the line is all value */
		f->value = p + start;
		f->value_len = vend - start;
	} else {
		for (n = (size_t)(colon - (p + start)); n > 0 && is_lwsp(f->name[n - 1]); n--)
			;
		f->name_len = n;
		f->value = colon + 1;
		while (f->value < p + vend && is_lwsp(*f->value))
			f->value++;
		f->value_len = (size_t)(p + vend - f->value);
	}
	it->pos = end;
	return 1;
}

bool mime_header_name_is(const struct mime_header_field *f, const char *name)
{
	return f->name_len == strlen(name) && str_nieq(f->name, name, f->name_len);
}

int mime_header_find(const char *data, size_t len, const char *name,
		     struct mime_header_field *f)
{
	struct mime_header_iter it;

	mime_header_iter_init(&it, data, len);
	while (mime_header_next(&it, f) > 0)
		if (mime_header_name_is(f, name))
			return 1;
	return 0;
}

void mime_header_unfold(const char *value, size_t len, struct buf *out)
{
	size_t start = 0;

	buf_append(out, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			continue;
		buf_append(out, value + start, i - start);
		start = i + 1;
	}
	buf_append(out, value + start, len - start);
}
