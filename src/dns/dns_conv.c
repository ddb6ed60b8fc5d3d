/* dns_conv: dnsq names to ub_resolve() text, ub_result rdata to dnsq
 * presentation strings, and libunbound result codes to enum dnsq_rcode.
 *
 * Every length here is bounded by the DNS message itself (64 KiB, parsed
 * and checked by libunbound before we see it); rdata is still parsed
 * defensively: a record that does not parse makes the answer TEMPFAIL. */
#include "dns/dns_conv.h"
#include "dns/dns.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/xalloc.h"

/* Longest name on the wire, length bytes and root label included
 * (RFC 1035 §3.1). */
#define DNS_WIRE_NAME_MAX 255

enum rd_status {
	RD_OK = 0,
	RD_SKIP = 1,	/* well-formed, but dnsq text cannot carry it */
	RD_BAD = -1,	/* malformed rdata */
};

/* Bytes that go to ub_resolve() as they are (hostname-like). */
static bool qname_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Printable ASCII other than '.' may stand in a label of dnsq text. */
static bool label_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '.';
}

/* One label byte in presentation form: plain, or \DDD (RFC 4343 §2.1)
 * so that '\\', '"', ';', '(', ')', '@', '$' reach the wire as bytes. */
static size_t qname_put(char *out, unsigned char c)
{
	if (qname_plain(c)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = (char)('0' + c / 100);
	out[2] = (char)('0' + c / 10 % 10);
	out[3] = (char)('0' + c % 10);
	return 4;
}

int dns_qname_escape(const char *name, char out[DNS_QNAME_ESC_MAX],
		     const char **error_r)
{
	size_t len = strlen(name), label = 0, o = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;	/* an absolute name: same question */
	if (len == 0 || len > DNSQ_NAME_MAX) {
		*error_r = len == 0 ? "empty name" : "name too long";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';
		if (c == '.') {
			if (label == 0) {
				*error_r = "empty label";
				return -1;
			}
			out[o++] = '.';
			label = 0;
		} else if (!label_byte(c)) {
			*error_r = "space, control or non-ASCII byte in name";
			return -1;
		} else if (++label > DNS_LABEL_MAX) {
			*error_r = "label longer than 63 bytes";
			return -1;
		} else {
			o += qname_put(out + o, c);
		}
	}
	out[o] = '\0';
	return 0;
}

/* An uncompressed wire name at p[*off..len) appended as dnsq text
 * (labels joined by '.', no trailing dot, "." for the root). Labels
 * holding '.', spaces or non-ASCII cannot be told apart in that text:
 * RD_SKIP. Compression pointers cannot occur in libunbound's rdata. */
static enum rd_status name_text(const unsigned char *p, size_t len,
				size_t *off, struct buf *out)
{
	enum rd_status st = RD_OK;
	size_t o = *off, wire = 1, labels = 0;

	for (;;) {
		if (o >= len)
			return RD_BAD;
		size_t l = p[o++];
		if (l == 0)
			break;
		wire += l + 1;
		if (l > DNS_LABEL_MAX || len - o < l || wire > DNS_WIRE_NAME_MAX)
			return RD_BAD;
		if (labels++ > 0)
			buf_appendc(out, '.');
		for (size_t i = 0; i < l; i++)
			if (!label_byte(p[o + i]))
				st = RD_SKIP;
		buf_append(out, p + o, l);
		o += l;
	}
	if (labels == 0)
		buf_appendc(out, '.');
	*off = o;
	return st;
}

/* A name that fills the rdata exactly, after `off` bytes of other data. */
static enum rd_status name_rdata(const unsigned char *p, size_t len,
				 size_t off, struct buf *out)
{
	enum rd_status st = name_text(p, len, &off, out);

	return st != RD_BAD && off != len ? RD_BAD : st;
}

/* TXT (RFC 1035 §3.3.14): one or more character-strings, joined with no
 * separator (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
static enum rd_status txt_text(const unsigned char *p, size_t len,
			       struct buf *out)
{
	size_t o = 0;

	if (len == 0)
		return RD_BAD;
	while (o < len) {
		size_t l = p[o++];
		if (len - o < l)
			return RD_BAD;
		buf_append(out, p + o, l);
		o += l;
	}
	return RD_OK;
}

static enum rd_status addr_text(int af, const unsigned char *p, size_t len,
				struct buf *out)
{
	char text[INET6_ADDRSTRLEN];

	if (len != (af == AF_INET ? 4u : 16u) ||
	    inet_ntop(af, p, text, sizeof(text)) == NULL)
		return RD_BAD;
	buf_appends(out, text);
	return RD_OK;
}

/* TLSA (RFC 6698 §2.1, §2.2): usage, selector and matching type octets,
 * then the certificate association data, as "U S M hex". Records too
 * short to hold any data cannot be used (RFC 7672 §3.1): RD_SKIP. */
static enum rd_status tlsa_text(const unsigned char *p, size_t len,
				struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	if (len < 4)
		return RD_SKIP;
	buf_printf(out, "%u %u %u ", p[0], p[1], p[2]);
	buf_reserve(out, 2 * (len - 3));
	for (size_t i = 3; i < len; i++) {
		buf_appendc(out, hex[p[i] >> 4]);
		buf_appendc(out, hex[p[i] & 15]);
	}
	return RD_OK;
}

/* One record's rdata in the presentation form of dnsq.h; other types
 * (SRV, ... for later users) are handed over as raw rdata. */
static enum rd_status rdata_text(int type, const unsigned char *p,
				 size_t len, struct buf *out)
{
	switch (type) {
	case DNSQ_A:
		return addr_text(AF_INET, p, len, out);
	case DNSQ_AAAA:
		return addr_text(AF_INET6, p, len, out);
	case DNSQ_MX:	/* RFC 1035 §3.3.9: PREFERENCE EXCHANGE */
		if (len < 3)
			return RD_BAD;
		buf_printf(out, "%u ", (unsigned)(p[0] << 8 | p[1]));
		return name_rdata(p, len, 2, out);
	case DNSQ_PTR:
		return name_rdata(p, len, 0, out);
	case DNSQ_TXT:
		return txt_text(p, len, out);
	case DNSQ_TLSA:
		return tlsa_text(p, len, out);
	}
	buf_append(out, p, len);
	return RD_OK;
}

/* Failures of every kind (error, SERVFAIL, REFUSED, bogus DNSSEC) are
 * temporary to the caller; NXDOMAIN and NODATA are answers. */
static enum dnsq_rcode result_rcode(int err, const struct ub_result *r)
{
	if (err != 0 || r == NULL || r->bogus)
		return DNSQ_TEMPFAIL;
	if (r->rcode == 3)	/* RFC 1035 §4.1.1 Name Error */
		return DNSQ_NXDOMAIN;
	if (r->rcode != 0)
		return DNSQ_TEMPFAIL;
	if (!r->havedata || r->data == NULL || r->data[0] == NULL)
		return DNSQ_NODATA;
	return DNSQ_OK;
}

/* r's canonical name without its trailing dot, when CNAMEs led from the
 * question's name to another; NULL otherwise. */
static char *canon_name(const struct ub_result *r)
{
	size_t n;

	if (r->canonname == NULL || r->qname == NULL ||
	    str_dname_eq(r->canonname, r->qname))
		return NULL;
	n = strlen(r->canonname);
	if (n > 0 && r->canonname[n - 1] == '.')
		n--;
	return n > 0 ? xstrndup(r->canonname, n) : NULL;
}

void dns_answer_convert(struct dnsq_answer *a, int type, int err,
			const struct ub_result *r)
{
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	a->rcode = result_rcode(err, r);
	if (a->rcode != DNSQ_OK)
		return;
	while (r->data[n] != NULL)
		n++;
	a->rr = xcalloc(n + 1, sizeof(*a->rr));
	a->rr_len = xcalloc(n + 1, sizeof(*a->rr_len));
	for (size_t i = 0; i < n; i++) {
		struct buf b = BUF_INIT;
		enum rd_status st = r->len[i] < 0 ? RD_BAD :
			rdata_text(type, (const unsigned char *)r->data[i],
				   (size_t)r->len[i], &b);
		if (st == RD_OK) {
			a->rr_len[a->n] = b.len;
			a->rr[a->n++] = buf_detach(&b);
			continue;
		}
		buf_free(&b);
		if (st == RD_BAD) {
			dns_answer_free(a);
			a->rcode = DNSQ_TEMPFAIL;
			return;
		}
	}
	if (a->n == 0) {
		dns_answer_free(a);
		a->rcode = DNSQ_NODATA;
		return;
	}
	a->canon = canon_name(r);
}

bool dns_result_secure(int err, const struct ub_result *r)
{
	return err == 0 && r != NULL && r->secure && !r->bogus;
}

void dns_answer_free(struct dnsq_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rr[i]);
	free(a->rr);
	free(a->rr_len);
	free(a->canon);
	a->rr = NULL;
	a->rr_len = NULL;
	a->canon = NULL;
	a->n = 0;
}
