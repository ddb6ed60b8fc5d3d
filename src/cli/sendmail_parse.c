/* sendmail_parse: command line, header recipients and message preparation
 * of the sendmail command. Pure: no I/O. */
#include "cli/sendmail_parse.h"

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/addr.h"
#include "mail/mime_header.h"
#include "mail/rfc5322.h"

/* ---- the command line ------------------------------------------------ */

/* Options that take a value, attached (-fADDR) or as the next argument,
 * as in Postfix's sendmail(1): the ones we use (F f r N R) and the ones
 * taken and ignored (B body type: detected from the data; C config file:
 * $MAILKEEP_CONFIG is ours; h hop count; L syslog tag; V envelope id;
 * e O p). */
static const char value_opts[] = "BCeFfhLNOpRrV";
/* Flags without a value that change nothing here: G gateway, U initial
 * user submission, m "me too", n no aliasing, c and x (Postfix, ignored). */
static const char ignored_flags[] = "GUmncx";

static int set_notify(struct sendmail_opts *o, const char *v,
		      const char **error_r)
{
	static const char *const words[] = { "success", "delay", "failure" };
	struct buf b = BUF_INIT;
	const char *p = v;

	if (str_ieq(v, "never")) {
		str_copy(o->notify, sizeof(o->notify), "NEVER");
		return 0;
	}
	while (*p != '\0') {	/* RFC 3461 §4.1: SUCCESS, DELAY, FAILURE */
		size_t n = strcspn(p, ","), w;
		for (w = 0; w < 3; w++)
			if (n == strlen(words[w]) && str_nieq(p, words[w], n))
				break;
		if (w == 3 || b.len > sizeof(o->notify) - 10) {
			buf_free(&b);
			*error_r = "-N takes never, or a list of success, delay, failure";
			return -1;
		}
		buf_printf(&b, "%s%s", b.len ? "," : "",
			   w == 0 ? "SUCCESS" : w == 1 ? "DELAY" : "FAILURE");
		p += n + (p[n] == ',');
	}
	str_copy(o->notify, sizeof(o->notify), buf_cstr(&b));
	buf_free(&b);
	return 0;
}

static int set_ret(struct sendmail_opts *o, const char *v, const char **error_r)
{
	if (str_ieq(v, "full") || str_ieq(v, "hdrs")) {	/* RFC 3461 §4.3 */
		str_copy(o->ret, sizeof(o->ret), str_ieq(v, "full") ? "FULL" : "HDRS");
		return 0;
	}
	*error_r = "-R takes full or hdrs";
	return -1;
}

/* An option with its value. */
static int value_opt(struct sendmail_opts *o, char c, const char *v,
		     const char **error_r)
{
	switch (c) {
	case 'f':
	case 'r':
		o->sender = v;
		return 0;
	case 'F':
		o->fullname = v;
		if (strlen(v) > SENDMAIL_MAX_NAME) {
			*error_r = "-F: full name too long";
			return -1;
		}
		return 0;
	case 'N':
		return set_notify(o, v, error_r);
	case 'R':
		return set_ret(o, v, error_r);
	default:
		return 0;	/* accepted, no effect */
	}
}

/* -oX[value]: Sendmail's long options in one letter. */
static int o_opt(struct sendmail_opts *o, const char *v, const char **error_r)
{
	if (*v == 'i') {
		o->ignore_dots = true;
	} else if (*v == 'F') {
		return value_opt(o, 'F', v + 1, error_r);
	}
	/* -oem -oee -odi -odb -om -oQ... -o7 -o8 -oA...: no effect */
	return 0;
}

/* -bX: the mode. */
static void b_opt(struct sendmail_opts *o, const char *arg)
{
	o->mode_flag = arg;
	if (strcmp(arg, "-bm") == 0)
		o->mode = SENDMAIL_MODE_DELIVER;
	else if (strcmp(arg, "-bp") == 0)
		o->mode = SENDMAIL_MODE_QUEUE_LIST;
	else if (strcmp(arg, "-bi") == 0)
		o->mode = SENDMAIL_MODE_ALIASES;
	else
		o->mode = SENDMAIL_MODE_UNSUPPORTED;
}

/* One "-..." argument; *i moves past a value taken from the next one. */
static int one_arg(struct sendmail_opts *o, int argc, char **argv, int *i,
		   const char **error_r)
{
	const char *arg = argv[*i];

	for (const char *p = arg + 1; *p != '\0'; p++) {
		if (strchr(value_opts, *p) != NULL) {
			const char *v = p[1] != '\0' ? p + 1 : NULL;
			if (v == NULL && ++*i >= argc) {
				*error_r = "option requires a value";
				return -1;
			}
			return value_opt(o, *p, v ? v : argv[*i], error_r);
		}
		switch (*p) {
		case 't': o->extract = true; break;
		case 'i': o->ignore_dots = true; break;
		case 'v': o->verbose = true; break;
		case 'o':
			if (p[1] == '\0' && ++*i >= argc) {
				*error_r = "-o requires a value";
				return -1;
			}
			return o_opt(o, p[1] != '\0' ? p + 1 : argv[*i], error_r);
		case 'b': b_opt(o, arg); return 0;
		case 'I': o->mode = SENDMAIL_MODE_ALIASES; o->mode_flag = arg; return 0;
		case 'q': o->mode = SENDMAIL_MODE_FLUSH; o->mode_flag = arg; return 0;
		case 'A': case 'X': return 0;	/* -Am -Ac, -XV: no effect */
		default:
			if (strchr(ignored_flags, *p) == NULL) {
				*error_r = "unknown option";
				return -1;
			}
		}
	}
	return 0;
}

/* Options may follow recipients (GNU getopt order, as Postfix builds on
 * glibc); "--" ends them. */
int sendmail_opts_parse(int argc, char **argv, struct sendmail_opts *o,
			const char **error_r)
{
	bool options = true;

	memset(o, 0, sizeof(*o));
	o->rcpts = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*o->rcpts));
	for (int i = 1; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			if (one_arg(o, argc, argv, &i, error_r) < 0)
				return -1;
		} else {
			o->rcpts[o->nrcpts++] = argv[i];
		}
	}
	return 0;
}

void sendmail_opts_free(struct sendmail_opts *o)
{
	free(o->rcpts);
	o->rcpts = NULL;
	o->nrcpts = 0;
}

/* ---- addresses ------------------------------------------------------- */

int sendmail_rcpts_add(struct sendmail_rcpts *r, const char *addr)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i], addr) == 0)
			return 0;
	if (r->n == SENDMAIL_MAX_RCPTS)
		return -1;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n++] = xstrdup(addr);
	return 0;
}

void sendmail_rcpts_free(struct sendmail_rcpts *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* A parsed address without a domain gets origin; then its text form. */
static int finish_addr(struct mail_addr *a, const char *origin, struct buf *out,
		       const char **error_r)
{
	if (a->domain[0] == '\0' &&
	    str_copy(a->domain, sizeof(a->domain), origin) < 0) {
		*error_r = "origin domain too long";
		return -1;
	}
	buf_reset(out);
	mail_addr_format(a, out);
	return 0;
}

int sendmail_qualify(const char *addr, size_t len, const char *origin,
		     bool allow_null, struct buf *out, const char **error_r)
{
	struct mail_addr a;

	while (len > 0 && (*addr == ' ' || *addr == '\t')) {
		addr++;
		len--;
	}
	while (len > 0 && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
		len--;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	if (len == 0) {
		buf_reset(out);
		*error_r = "empty address";
		return allow_null ? 0 : -1;
	}
	if (mail_addr_parse(addr, len, MAIL_ADDR_ALLOW_UTF8 |
			    MAIL_ADDR_ALLOW_NODOMAIN, &a, error_r) < 0)
		return -1;
	return finish_addr(&a, origin, out, error_r);
}

/* One entry of an RFC 5322 address list: its canonical form, or -1. */
static int header_addr(const struct rfc5322_addr *e, const char *origin,
		       struct buf *out)
{
	struct mail_addr a;
	const char *why = NULL;
	/* "root": a bare local part (the parser's placeholder for the domain) */
	bool no_domain = e->invalid && strcmp(e->host, "MISSING_DOMAIN") == 0;

	if (e->invalid && (!no_domain || strcmp(e->mailbox, "MISSING_MAILBOX") == 0))
		return -1;
	memset(&a, 0, sizeof(a));
	if (str_copy(a.local, sizeof(a.local), e->mailbox) < 0 ||
	    str_copy(a.domain, sizeof(a.domain), no_domain ? origin : e->host) < 0)
		return -1;
	buf_reset(out);
	mail_addr_format(&a, out);
	/* the same syntax rules as SMTP applies to it (RFC 5321 §4.1.2) */
	return mail_addr_parse(out->ptr, out->len, MAIL_ADDR_ALLOW_UTF8, &a, &why);
}

static bool is_resent_rcpt(const struct mime_header_field *f)
{
	return mime_header_name_is(f, "Resent-To") ||
	       mime_header_name_is(f, "Resent-Cc") ||
	       mime_header_name_is(f, "Resent-Bcc");
}

static bool is_rcpt(const struct mime_header_field *f)
{
	return mime_header_name_is(f, "To") || mime_header_name_is(f, "Cc") ||
	       mime_header_name_is(f, "Bcc");
}

static void field_rcpts(const struct mime_header_field *f, const char *origin,
			struct sendmail_rcpts *out, size_t *bad)
{
	struct rfc5322_addr_list l = RFC5322_ADDR_LIST_INIT;
	struct buf v = BUF_INIT, addr = BUF_INIT;

	mime_header_unfold(f->value, f->value_len, &v);
	rfc5322_addr_parse(&l, buf_cstr(&v), v.len);
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].host == NULL)
			continue;	/* group start or end (§3.4) */
		if (header_addr(&l.v[i], origin, &addr) < 0 ||
		    sendmail_rcpts_add(out, buf_cstr(&addr)) < 0)
			(*bad)++;
	}
	rfc5322_addr_list_free(&l);
	buf_free(&v);
	buf_free(&addr);
}

void sendmail_header_rcpts(const char *hdr, size_t len, const char *origin,
			   struct sendmail_rcpts *out, size_t *bad)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	bool resent = false;

	*bad = 0;
	mime_header_iter_init(&it, hdr, len);
	while (!resent && mime_header_next(&it, &f) == 1)
		resent = is_resent_rcpt(&f);
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &f) == 1)
		if (resent ? is_resent_rcpt(&f) : is_rcpt(&f))
			field_rcpts(&f, origin, out, bad);
}

/* ---- the message ----------------------------------------------------- */

void sendmail_dot_stuff(const char *in, size_t len, struct buf *out)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - in) : len, n = end - pos;
		if (n > 0 && in[end - 1] == '\r' && nl != NULL)
			n--;
		if (in[pos] == '.')	/* RFC 5321 4.5.2 */
			buf_appendc(out, '.');
		buf_append(out, in + pos, n);
		buf_append(out, "\r\n", 2);
		pos = nl ? end + 1 : len;
	}
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

void sendmail_from_value(const char *fullname, const char *addr,
			 struct buf *out)
{
	bool plain = true;

	if (fullname == NULL || *fullname == '\0') {
		buf_appends(out, addr);
		return;
	}
	for (const char *p = fullname; *p; p++)
		plain = plain && (is_atext((unsigned char)*p) || *p == ' ');
	if (!plain)	/* RFC 5322 §3.2.4 quoted-string */
		buf_appendc(out, '"');
	for (const char *p = fullname; *p; p++) {
		char c = *p == '\r' || *p == '\n' ? ' ' : *p;
		if (!plain && (c == '"' || c == '\\'))
			buf_appendc(out, '\\');
		buf_appendc(out, c);
	}
	if (!plain)
		buf_appendc(out, '"');
	buf_printf(out, " <%s>", addr);
}

/* RFC 5322 §2.2: "name:" with printable name characters (ftext), white
 * space before the colon tolerated (obsolete syntax, §4.5). */
static bool is_field_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/* Where the scan of the input is. */
struct scan {
	const struct sendmail_msg_params *p;
	struct buf hdr, body;	/* CRLF-ended lines, not stuffed */
	bool in_header, have_field;
	size_t lineno;
};

/* One input line (line end removed). false: input ends here. */
static bool scan_line(struct scan *sc, struct sendmail_msg *m, const char *l,
		      size_t n)
{
	sc->lineno++;
	if (!sc->p->ignore_dots && n == 1 && l[0] == '.')
		return false;
	if (n > SENDMAIL_MAX_LINE && m->long_line == 0)
		m->long_line = sc->lineno;
	for (size_t i = 0; i < n && !m->eightbit; i++)
		m->eightbit = (unsigned char)l[i] >= 0x80;
	if (sc->in_header && sc->lineno == 1 && n >= 5 && memcmp(l, "From ", 5) == 0)
		return true;	/* an mbox "From " line is not a header field */
	if (sc->in_header && n > 0 &&
	    ((sc->have_field && (l[0] == ' ' || l[0] == '\t')) ||
	     is_field_line(l, n))) {
		sc->have_field = true;
		buf_append(&sc->hdr, l, n);
		buf_append(&sc->hdr, "\r\n", 2);
		return true;
	}
	if (sc->in_header) {
		sc->in_header = false;
		if (n == 0)
			return true;	/* the separator: added back later */
	}
	buf_append(&sc->body, l, n);
	buf_append(&sc->body, "\r\n", 2);
	return true;
}

/* Address fields whose bare local parts get @origin (as Postfix's
 * append_at_myorigin does for local mail). */
static bool is_address_field(const struct mime_header_field *f)
{
	static const char *const names[] = {
		"From", "To", "Cc", "Reply-To", "Sender", "Resent-From",
		"Resent-To", "Resent-Cc", "Resent-Sender",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mime_header_name_is(f, names[i]))
			return true;
	return false;
}

/* s[0..n) is a dot-atom without '@': a bare local part ("root"). */
static bool is_bare_local(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_atext((unsigned char)s[i]) &&
		    (s[i] != '.' || s[i + 1] == '.'))	/* RFC 5322 dot-atom */
			return false;
	return true;
}

/* One list element, trimmed: "root" and "Name <root>" get @origin,
 * anything else is copied as it is. */
static void qualify_element(const char *s, size_t n, const char *origin,
			    struct buf *out)
{
	const char *lt = memchr(s, '<', n);

	if (is_bare_local(s, n)) {
		buf_append(out, s, n);
		buf_printf(out, "@%s", origin);
	} else if (lt != NULL && s[n - 1] == '>' &&
		   is_bare_local(lt + 1, (size_t)(s + n - 1 - (lt + 1)))) {
		buf_append(out, s, (size_t)(s + n - 1 - s));
		buf_printf(out, "@%s>", origin);
	} else {
		buf_append(out, s, n);
	}
}

/* The field with its bare local parts qualified; fields with quotes,
 * comments or groups are left alone (their commas may not separate), and
 * so is one that would grow beyond SENDMAIL_MAX_LINE. */
static void field_out(const char *field, size_t len, const char *origin,
		      struct buf *out)
{
	const char *colon = memchr(field, ':', len), *v, *end = field + len;
	size_t start = out->len;

	while (end > field && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (colon == NULL || memchr(colon, '"', (size_t)(end - colon)) != NULL ||
	    memchr(colon, '(', (size_t)(end - colon)) != NULL ||
	    memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL ||
	    memchr(colon, '\n', (size_t)(end - colon)) != NULL) {
		buf_append(out, field, len);	/* folded or not simple */
		return;
	}
	buf_append(out, field, (size_t)(colon + 1 - field));
	for (v = colon + 1; v < end;) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *e = comma ? comma : end, *a = v, *b = e;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		buf_append(out, v, (size_t)(a - v));	/* the spacing kept */
		if (b > a)
			qualify_element(a, (size_t)(b - a), origin, out);
		buf_append(out, b, (size_t)(e - b));
		if (comma != NULL)
			buf_appendc(out, ',');
		v = comma ? comma + 1 : end;
	}
	if (out->len - start > SENDMAIL_MAX_LINE) {
		buf_truncate(out, start);
		buf_append(out, field, len);
		return;
	}
	buf_append(out, "\r\n", 2);
}

/* The header fields without Bcc:, with From: when missing and bare local
 * parts of address fields qualified. */
static void header_out(const struct scan *sc, struct sendmail_msg *m,
		       struct buf *out)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	bool from = false;

	mime_header_iter_init(&it, sc->hdr.ptr ? sc->hdr.ptr : "", sc->hdr.len);
	while (mime_header_next(&it, &f) == 1) {
		if (mime_header_name_is(&f, "Bcc") ||
		    mime_header_name_is(&f, "Resent-Bcc"))
			continue;	/* RFC 5322 §3.6.3: not shown to others */
		from = from || mime_header_name_is(&f, "From");
		if (is_address_field(&f))
			field_out(sc->hdr.ptr + f.start, f.end - f.start,
				  sc->p->origin, out);
		else
			buf_append(out, sc->hdr.ptr + f.start, f.end - f.start);
	}
	if (!from) {
		buf_appends(out, "From: ");
		sendmail_from_value(sc->p->fullname, sc->p->from_addr, out);
		buf_append(out, "\r\n", 2);
		m->added_from = true;
	}
	for (size_t i = 0; i < out->len && !m->utf8_header; i++)
		m->utf8_header = (unsigned char)out->ptr[i] >= 0x80;
	buf_append(out, "\r\n", 2);
}

int sendmail_msg_build(const char *in, size_t len,
		       const struct sendmail_msg_params *p,
		       struct sendmail_msg *m, const char **error_r)
{
	struct scan sc = { .p = p, .in_header = true };
	struct buf plain = BUF_INIT;
	size_t pos = 0;

	memset(m, 0, sizeof(*m));
	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - in) : len, n = end - pos;
		if (nl != NULL && n > 0 && in[end - 1] == '\r')
			n--;
		if (!scan_line(&sc, m, in + pos, n))
			break;
		pos = nl ? end + 1 : len;
	}
	if (m->long_line != 0) {
		*error_r = "a line is longer than 998 octets (RFC 5322 2.1.1)";
		buf_free(&sc.hdr);
		buf_free(&sc.body);
		return -1;
	}
	if (p->extract)
		sendmail_header_rcpts(sc.hdr.ptr ? sc.hdr.ptr : "", sc.hdr.len,
				      p->origin, &m->rcpts, &m->bad_rcpts);
	header_out(&sc, m, &plain);
	if (sc.body.len > 0)
		buf_append(&plain, sc.body.ptr, sc.body.len);
	sendmail_dot_stuff(plain.ptr ? plain.ptr : "", plain.len, &m->data);
	buf_free(&plain);
	buf_free(&sc.hdr);
	buf_free(&sc.body);
	return 0;
}

void sendmail_msg_free(struct sendmail_msg *m)
{
	buf_free(&m->data);
	sendmail_rcpts_free(&m->rcpts);
}
