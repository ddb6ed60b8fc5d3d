/* dnscheck: the report, and the checks of the mail host itself: its
 * addresses, MX (RFC 5321 §5.1), forward-confirmed reverse DNS and DNSBL
 * listings. The domain policies are in dnscheck_policy.c, certificates in
 * dnscheck_tls.c. No I/O. */
#include "cli/dnscheck.h"
#include "cli/dnscheck_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

/* ---- the report ---- */

const char *dnscheck_status_name(enum dnscheck_status st)
{
	return st == DNSCHECK_PASS ? "PASS" : st == DNSCHECK_WARN ? "WARN" : "FAIL";
}

/* Length of the valid UTF-8 sequence (2 to 4 bytes, no overlong form,
 * no surrogate) at p, or 0. */
static size_t utf8_seq(const unsigned char *p)
{
	size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 :
		   p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : 0;
	unsigned cp;

	if (n == 0 || p[0] >= 0xf5)
		return 0;
	cp = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A copy with control bytes and invalid UTF-8 replaced by '?' (our own
 * texts say "§"; DNS data arrives already quoted as printable ASCII);
 * '\n' is kept when keep_nl. */
static char *printable_dup(const char *s, bool keep_nl)
{
	unsigned char *c = (unsigned char *)xstrdup(s);

	for (unsigned char *p = c; *p != '\0';) {
		size_t n = *p >= 0x80 ? utf8_seq(p) : 0;
		if (n > 0) {
			p += n;
			continue;
		}
		if ((*p < 0x20 || *p >= 0x7f) && !(keep_nl && *p == '\n'))
			*p = '?';
		p++;
	}
	return (char *)c;
}

void dnscheck_add(struct dnscheck_report *r, enum dnscheck_status st,
		  const char *check, const char *domain, const char *fix,
		  const char *fmt, ...)
{
	struct dnscheck_item *it;
	struct buf detail = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&detail, fmt, ap);
	va_end(ap);
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	it = &r->v[r->n++];
	it->status = st;
	it->check = printable_dup(check, false);
	it->domain = domain != NULL ? printable_dup(domain, false) : NULL;
	it->detail = printable_dup(buf_cstr(&detail), false);
	it->fix = fix != NULL && st != DNSCHECK_PASS ? printable_dup(fix, true) :
		  NULL;
	buf_free(&detail);
}

void dnscheck_report_text(const struct dnscheck_report *r, struct buf *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct dnscheck_item *it = &r->v[i];

		buf_printf(out, "%s  %-14s  %s%s%s\n",
			   dnscheck_status_name(it->status), it->check,
			   it->domain ? it->domain : "", it->domain ? ": " : "",
			   it->detail);
		if (it->fix == NULL)
			continue;
		buf_appends(out, "      fix: ");
		for (const char *p = it->fix; *p != '\0'; p++) {
			buf_appendc(out, *p);
			if (*p == '\n')
				buf_appends(out, "           ");
		}
		buf_appendc(out, '\n');
	}
}

/* A JSON string: the text is printable, UTF-8 and '\n' already. */
static void json_string(struct buf *out, const char *s)
{
	if (s == NULL) {
		buf_appends(out, "null");
		return;
	}
	buf_appendc(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_appendc(out, '\\');
		if (*s == '\n')
			buf_appends(out, "\\n");
		else
			buf_appendc(out, *s);
	}
	buf_appendc(out, '"');
}

void dnscheck_report_json(const struct dnscheck_report *r, struct buf *out)
{
	static const char *const lower[] = { "pass", "warn", "fail" };

	buf_appendc(out, '[');
	for (size_t i = 0; i < r->n; i++) {
		const struct dnscheck_item *it = &r->v[i];

		buf_appends(out, i > 0 ? ",\n {\"check\": " : "\n {\"check\": ");
		json_string(out, it->check);
		buf_appends(out, ", \"domain\": ");
		json_string(out, it->domain);
		buf_printf(out, ", \"status\": \"%s\", \"detail\": ",
			   lower[it->status]);
		json_string(out, it->detail);
		buf_appends(out, ", \"fix\": ");
		json_string(out, it->fix);
		buf_appendc(out, '}');
	}
	buf_appends(out, "\n]\n");
}

bool dnscheck_report_failed(const struct dnscheck_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].status == DNSCHECK_FAIL)
			return true;
	return false;
}

void dnscheck_report_free(struct dnscheck_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].check);
		free(r->v[i].domain);
		free(r->v[i].detail);
		free(r->v[i].fix);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* ---- shared helpers (dnscheck_int.h) ---- */

const char *dnscheck_rr(const struct dnsq_answer *a, size_t i, size_t *len)
{
	*len = a->rr_len != NULL ? a->rr_len[i] : strlen(a->rr[i]);
	return a->rr[i];
}

void dnscheck_quote(struct buf *out, const char *p, size_t n)
{
	size_t max = n > DNSCHECK_TEXT_MAX ? DNSCHECK_TEXT_MAX : n;

	for (size_t i = 0; i < max; i++)
		buf_appendc(out, p[i] >= 0x20 && p[i] <= 0x7e ? p[i] : '?');
	if (max < n)
		buf_appends(out, "...");
}

bool dnscheck_addr_eq(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	return inet_pton(AF_INET6, a, x) == 1 &&
	       inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
}

const char *dnscheck_rcode_text(enum dnsq_rcode rc)
{
	switch (rc) {
	case DNSQ_NXDOMAIN:
		return "NXDOMAIN, the name does not exist";
	case DNSQ_NODATA:
		return "NODATA, no record of that type";
	case DNSQ_TEMPFAIL:
		return "DNS error: timeout or SERVFAIL";
	default:
		return "ok";
	}
}

bool dnscheck_has_version(const char *rec, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n || !str_nieq(rec, prefix, n))
		return false;
	return len == n || rec[n] == ';' || rec[n] == ' ' || rec[n] == '\t';
}

static size_t trim_span(const char **p, size_t n)
{
	while (n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		n--;
	}
	while (n > 0 && ((*p)[n - 1] == ' ' || (*p)[n - 1] == '\t'))
		n--;
	return n;
}

bool dnscheck_tag(const char *rec, size_t len, const char *name,
		  const char **val, size_t *vlen)
{
	size_t nl = strlen(name), i = 0;

	while (i < len) {
		const char *semi = memchr(rec + i, ';', len - i);
		size_t end = semi != NULL ? (size_t)(semi - rec) : len;
		const char *t = rec + i, *eq;
		size_t tn = trim_span(&t, end - i);

		eq = memchr(t, '=', tn);
		if (eq != NULL) {
			const char *k = t;
			size_t kn = trim_span(&k, (size_t)(eq - t));
			if (kn == nl && memcmp(k, name, nl) == 0) {
				*val = eq + 1;
				*vlen = trim_span(val, tn - (size_t)(eq + 1 - t));
				return true;
			}
		}
		i = end + 1;
	}
	return false;
}

void dnscheck_fix_line(struct buf *fix, const char *name, const char *type,
		       const char *rdata)
{
	buf_appendc(fix, '\n');
	dnsrec_line(fix, name, type, rdata);
	buf_truncate(fix, fix->len - 1);	/* the line's own newline */
}

void dnscheck_fix_txt(struct buf *fix, const char *name, const char *value)
{
	struct buf rdata = BUF_INIT;

	dnsrec_txt_rdata(value, &rdata);
	dnscheck_fix_line(fix, name, "TXT", rdata.ptr);
	buf_free(&rdata);
}

/* ---- addresses ---- */

void dnscheck_addresses(struct dnscheck_report *r, const char *const *addrs,
			size_t naddrs, const char *source)
{
	struct buf list = BUF_INIT;

	if (naddrs == 0) {
		dnscheck_add(r, DNSCHECK_FAIL, "addresses", NULL,
			     "set the server's public addresses in mailkeep.conf:"
			     "\n[publish]\npublic_addresses = 203.0.113.5, "
			     "2001:db8::5", "no public address of this server is "
			     "known (%s)", source);
		return;
	}
	for (size_t i = 0; i < naddrs; i++)
		buf_printf(&list, "%s%s", i ? ", " : "", addrs[i]);
	dnscheck_add(r, DNSCHECK_PASS, "addresses", NULL, NULL, "%s (%s)",
		     list.ptr, source);
	buf_free(&list);
}

static bool is_ours(const struct dnsrec_domain *want, const char *ip)
{
	for (size_t i = 0; i < want->naddrs; i++)
		if (dnscheck_addr_eq(want->addrs[i], ip))
			return true;
	return false;
}

/* ---- MX ---- */

int dnscheck_mx_parse(const char *rr, unsigned *pref, char *host,
		      size_t size)
{
	char *end;
	unsigned long v = strtoul(rr, &end, 10);
	size_t n;

	if (end == rr || *end != ' ' || v > 65535)
		return -1;
	end++;
	n = strlen(end);
	if (n > 1 && end[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return -1;
	memcpy(host, end, n);
	host[n] = '\0';
	*pref = (unsigned)v;
	return 0;
}

/* A name in uncompressed wire form (CNAME rdata) as text. */
static void wire_name(const char *p, size_t len, struct buf *out)
{
	size_t o = 0;
	bool first = true;

	while (o < len && p[o] != 0) {
		size_t l = (unsigned char)p[o++];
		if (l > len - o)
			break;
		if (!first)
			buf_appendc(out, '.');
		first = false;
		dnscheck_quote(out, p + o, l);
		o += l;
	}
}

/* The records `dns records` would have: MX and the host's addresses. */
static void mx_fix(struct buf *fix, const struct dnsrec_domain *want,
		   const char *why)
{
	struct buf rdata = BUF_INIT;

	buf_printf(fix, "%s; publish:", why);
	buf_printf(&rdata, "%d %s.", DNSREC_MX_PREF, want->hostname);
	dnscheck_fix_line(fix, want->domain, "MX", rdata.ptr);
	for (size_t i = 0; i < want->naddrs && i < DNSREC_MAX_ADDRS; i++)
		dnscheck_fix_line(fix, want->hostname,
				  strchr(want->addrs[i], ':') ? "AAAA" : "A",
				  want->addrs[i]);
	buf_free(&rdata);
}

/* Addresses of one target into list; true if one of them is ours. */
static bool target_addresses(const struct dnsrec_domain *want,
			     const struct dnscheck_mx_target *t,
			     struct buf *list)
{
	const struct dnsq_answer *ans[2] = { &t->a, &t->aaaa };
	bool ours = false;

	for (int k = 0; k < 2; k++) {
		if (ans[k]->rcode != DNSQ_OK)
			continue;
		for (size_t i = 0; i < ans[k]->n; i++) {
			buf_printf(list, "%s%s", list->len ? ", " : "",
				   ans[k]->rr[i]);
			ours |= is_ours(want, ans[k]->rr[i]);
		}
	}
	return ours;
}

/* One target's problem (IP literal, CNAME) into bad; its addresses. */
static void judge_target(const struct dnscheck_mx_facts *f,
			 const struct dnscheck_mx_target *t, struct buf *bad,
			 struct buf *seen, bool *ip_literal, bool *ours)
{
	unsigned char addr[16];
	struct buf list = BUF_INIT;

	if (inet_pton(AF_INET, t->host, addr) == 1 ||
	    inet_pton(AF_INET6, t->host, addr) == 1) {
		*ip_literal = true;
		buf_printf(bad, "%sMX %u %s is an IP address, not a host name",
			   bad->len ? "; " : "", t->pref, t->host);
		return;
	}
	if (t->cname.rcode == DNSQ_OK && t->cname.n > 0) {
		size_t len;
		const char *p = dnscheck_rr(&t->cname, 0, &len);
		buf_printf(bad, "%sMX %u %s is a CNAME (an alias of ",
			   bad->len ? "; " : "", t->pref, t->host);
		wire_name(p, len, bad);
		buf_appendc(bad, ')');
		return;
	}
	if (target_addresses(f->want, t, &list))
		*ours = true;
	buf_printf(seen, "%sMX %u %s -> %s", seen->len ? "; " : "", t->pref,
		   t->host, list.len ? list.ptr : "no address");
	buf_free(&list);
}

void dnscheck_mx(struct dnscheck_report *r, const struct dnscheck_mx_facts *f)
{
	const char *d = f->want->domain;
	struct buf bad = BUF_INIT, seen = BUF_INIT, fix = BUF_INIT;
	bool ip_literal = false, ours = false;

	if (f->mx.rcode != DNSQ_OK || f->ntargets == 0) {
		mx_fix(&fix, f->want, "receivers need an MX record to find this "
		       "server");
		dnscheck_add(r, DNSCHECK_FAIL, "mx", d, fix.ptr, "no MX record: %s",
			     f->mx.rcode == DNSQ_OK ? "no usable MX" :
			     dnscheck_rcode_text(f->mx.rcode));
	} else if (f->ntargets == 1 && strcmp(f->targets[0].host, ".") == 0) {
		mx_fix(&fix, f->want, "replace the null MX");
		dnscheck_add(r, DNSCHECK_FAIL, "mx", d, fix.ptr, "null MX \"0 .\": "
			     "the domain says it receives no mail (RFC 7505)");
	} else {
		for (size_t i = 0; i < f->ntargets; i++)
			judge_target(f, &f->targets[i], &bad, &seen, &ip_literal,
				     &ours);
		if (bad.len > 0) {
			mx_fix(&fix, f->want, ip_literal ?
			       "an MX must name a host that has A/AAAA records "
			       "(RFC 5321 §5.1)" : "an MX must name the host "
			       "itself, not an alias (RFC 2181 §10.3)");
			dnscheck_add(r, DNSCHECK_FAIL, "mx", d, fix.ptr, "%s", bad.ptr);
		} else if (f->want->naddrs == 0) {
			dnscheck_add(r, DNSCHECK_WARN, "mx", d, "set [publish] "
				     "public_addresses", "%s; this server's "
				     "addresses are unknown", seen.ptr);
		} else if (!ours) {
			mx_fix(&fix, f->want, "point the MX at this server");
			dnscheck_add(r, DNSCHECK_FAIL, "mx", d, fix.ptr, "no MX host "
				     "is this server: %s", seen.ptr);
		} else {
			dnscheck_add(r, DNSCHECK_PASS, "mx", d, NULL, "%s", seen.ptr);
		}
	}
	buf_free(&bad);
	buf_free(&seen);
	buf_free(&fix);
}

/* ---- forward-confirmed reverse DNS (RFC 8601 §3 iprev) ---- */

static void ptr_fix(struct buf *fix, const char *ip, const char *hostname)
{
	char rev[DNSREC_REVERSE_MAX];
	struct buf rdata = BUF_INIT;

	buf_printf(fix, "ask the provider of %s (the hosting company) to set its "
		   "reverse DNS (PTR) to %s:", ip, hostname);
	if (dnsrec_reverse_name(ip, rev) == 0) {
		buf_printf(&rdata, "%s.", hostname);
		buf_printf(fix, "\n%s. IN PTR %s", rev, rdata.ptr);
	}
	buf_free(&rdata);
}

/* The PTR names as a list; true if hostname is one of them. */
static bool ptr_names(const struct dnsq_answer *ptr, const char *hostname,
		      struct buf *list)
{
	bool found = false;

	for (size_t i = 0; i < ptr->n; i++) {
		buf_printf(list, "%s", list->len ? ", " : "");
		dnscheck_quote(list, ptr->rr[i], strlen(ptr->rr[i]));
		found |= str_dname_eq(ptr->rr[i], hostname);
	}
	return found;
}

void dnscheck_fcrdns(struct dnscheck_report *r, const char *ip,
		     const char *hostname, const struct dnsq_answer *ptr,
		     const struct dnsq_answer *fwd)
{
	struct buf check = BUF_INIT, fix = BUF_INIT, names = BUF_INIT;
	bool back = false;

	buf_printf(&check, "fcrdns:%s", ip);
	for (size_t i = 0; fwd->rcode == DNSQ_OK && i < fwd->n; i++)
		back |= dnscheck_addr_eq(fwd->rr[i], ip);
	if (ptr->rcode != DNSQ_OK) {
		ptr_fix(&fix, ip, hostname);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, NULL, fix.ptr, "no PTR "
			     "record for %s: %s", ip, dnscheck_rcode_text(ptr->rcode));
	} else if (!ptr_names(ptr, hostname, &names)) {
		ptr_fix(&fix, ip, hostname);
		buf_printf(&fix, "\n(or, if %s is the right name, set hostname = "
			   "%s in mailkeep.conf)", names.ptr, names.ptr);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, NULL, fix.ptr, "PTR of %s "
			     "is %s, not %s (the SMTP banner name)", ip, names.ptr,
			     hostname);
	} else if (!back) {
		buf_appends(&fix, "publish the address of the host name:");
		dnscheck_fix_line(&fix, hostname, strchr(ip, ':') ? "AAAA" : "A",
				  ip);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, NULL, fix.ptr, "%s has "
			     "PTR %s, but %s does not resolve back to %s: %s", ip,
			     hostname, hostname, ip, fwd->rcode == DNSQ_OK ?
			     "other addresses" : dnscheck_rcode_text(fwd->rcode));
	} else {
		dnscheck_add(r, DNSCHECK_PASS, check.ptr, NULL, NULL,
			     "%s -> %s -> %s", ip, hostname, ip);
	}
	buf_free(&check);
	buf_free(&fix);
	buf_free(&names);
}

/* ---- DNSBL ---- */

int dnscheck_dnsbl_name(const char *ip, const char *zone, char *out)
{
	unsigned char a[4];
	int n;

	if (inet_pton(AF_INET, ip, a) != 1)
		return -1;
	n = snprintf(out, DNSQ_NAME_MAX + 1, "%u.%u.%u.%u.%s", a[3], a[2], a[1],
		     a[0], zone);
	return n < 0 || n > DNSQ_NAME_MAX ? -1 : 0;
}

/* 127.0.0.0/8, and the 127.255.255.0/24 "query refused" codes. */
static int listing_kind(const char *rr)
{
	unsigned char a[4];

	if (inet_pton(AF_INET, rr, a) != 1 || a[0] != 127)
		return 0;
	return a[1] == 255 && a[2] == 255 ? 2 : 1;
}

void dnscheck_dnsbl(struct dnscheck_report *r, const char *ip,
		    const char *zone, const struct dnsq_answer *a)
{
	struct buf check = BUF_INIT, fix = BUF_INIT;
	const char *rr = NULL;
	int kind = 0;

	buf_printf(&check, "dnsbl:%s", zone);
	for (size_t i = 0; a->rcode == DNSQ_OK && i < a->n && kind != 1; i++) {
		kind = listing_kind(a->rr[i]);
		rr = a->rr[i];
	}
	if (a->rcode == DNSQ_NXDOMAIN || a->rcode == DNSQ_NODATA) {
		dnscheck_add(r, DNSCHECK_PASS, check.ptr, NULL, NULL,
			     "%s is not listed", ip);
	} else if (a->rcode == DNSQ_TEMPFAIL) {
		dnscheck_add(r, DNSCHECK_WARN, check.ptr, NULL, "check that the "
			     "zone name is right and the resolver can reach it",
			     "%s: DNS error asking %s; listing unknown", ip, zone);
	} else if (kind == 1) {
		buf_printf(&fix, "find out why (an open relay, a compromised "
			   "account, or the address's previous user), stop it, "
			   "then ask %s to remove %s (most lists have a removal "
			   "form on their web site)", zone, ip);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, NULL, fix.ptr,
			     "%s is listed (%s)", ip, rr);
	} else {
		dnscheck_add(r, DNSCHECK_WARN, check.ptr, NULL, "use a resolver "
			     "of your own ([dns] forwarders or resolv_conf), not a "
			     "public one: lists refuse those", "%s: %s answered %s, "
			     "which is not a listing (query refused?)", ip, zone,
			     rr != NULL ? rr : "nothing");
	}
	buf_free(&check);
	buf_free(&fix);
}
