/* dnsrecords: zone-file text for a mail domain (see dnsrecords.h).
 *
 * The choices made here, and why:
 *   MX       one record, preference 10, to the host name (RFC 5321 §5.1:
 *            a host name with A/AAAA records, never an address or CNAME).
 *   SPF      "v=spf1 mx -all" when the mail host is named inside the domain:
 *            the zone that holds the MX holds the A records too, so one edit
 *            follows an address change. When the host is named in another
 *            zone, the addresses are written out (ip4:/ip6:): the policy
 *            then does not depend on a zone this domain's owner may not
 *            control, and costs no DNS lookups (RFC 7208 §4.6.4).
 *   DKIM     every key of the domain, p= starting a string of its own.
 *   DMARC    policy from [publish] dmarc_policy, rua to a local mailbox.
 *   TLS-RPT  rua to a local mailbox (RFC 8460 §3).
 *   MTA-STS  TXT with an id derived from the policy text, the policy file
 *            as comments (it is served over HTTPS, not DNS), and the
 *            address of the policy web server.
 *   SRV      RFC 6186 for each client service; "0 0 0 ." for the services
 *            that are off (RFC 6186 §4: "not available").
 *   PTR      set by the owner of the address: printed as a request. */
#include "cli/dnsrecords.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "lib/str.h"
#include "mailauth/dkim.h"

static const char *const srv_names[DNSREC_SRV_COUNT] = {
	"_submission._tcp", "_submissions._tcp", "_imap._tcp", "_imaps._tcp",
	"_pop3._tcp", "_pop3s._tcp",
};

static const char *const srv_what[DNSREC_SRV_COUNT] = {
	"mail submission with STARTTLS", "mail submission over TLS",
	"IMAP with STARTTLS", "IMAP over TLS", "POP3 with STLS",
	"POP3 over TLS",
};

const char *dnsrec_srv_name(enum dnsrec_srv s)
{
	return s < DNSREC_SRV_COUNT ? srv_names[s] : "?";
}

const char *dnsrec_dmarc_name(enum dnsrec_dmarc p)
{
	static const char *const names[] = { "none", "quarantine", "reject" };

	return p <= DNSREC_DMARC_REJECT ? names[p] : "?";
}

const char *dnsrec_sts_name(enum dnsrec_sts m)
{
	static const char *const names[] = { "off", "testing", "enforce" };

	return m <= DNSREC_STS_ENFORCE ? names[m] : "?";
}

/* ---- names and addresses ---- */

bool dnsrec_host_in_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (h == d)
		return str_ieq(host, domain);
	return h > d && host[h - d - 1] == '.' && str_ieq(host + h - d, domain);
}

int dnsrec_reverse_name(const char *ip, char out[DNSREC_REVERSE_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	size_t o = 0;

	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, DNSREC_REVERSE_MAX, "%u.%u.%u.%u.in-addr.arpa",
			 a[3], a[2], a[1], a[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[a[i] & 0xf];
		out[o++] = '.';
		out[o++] = hex[a[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

/* IPv4 networks no one on the Internet can reach a server at. */
static const struct { uint32_t net; unsigned bits; } v4_private[] = {
	{ 0x00000000, 8 },	/* "this network" */
	{ 0x0a000000, 8 },	/* RFC 1918 */
	{ 0x64400000, 10 },	/* RFC 6598 shared (carrier-grade NAT) */
	{ 0x7f000000, 8 },	/* loopback */
	{ 0xa9fe0000, 16 },	/* link-local */
	{ 0xac100000, 12 },	/* RFC 1918 */
	{ 0xc0000000, 24 },	/* IETF protocol assignments */
	{ 0xc0000200, 24 },	/* documentation (RFC 5737) */
	{ 0xc0a80000, 16 },	/* RFC 1918 */
	{ 0xc6120000, 15 },	/* benchmarking */
	{ 0xc6336400, 24 },	/* documentation */
	{ 0xcb007100, 24 },	/* documentation */
	{ 0xe0000000, 3 },	/* multicast, reserved, broadcast */
};

static bool v4_public(const unsigned char *a)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		     (uint32_t)a[2] << 8 | a[3];

	for (size_t i = 0; i < sizeof(v4_private) / sizeof(v4_private[0]); i++) {
		uint32_t mask = ~(uint32_t)0 << (32 - v4_private[i].bits);
		if ((v & mask) == v4_private[i].net)
			return false;
	}
	return true;
}

/* Global unicast is 2000::/3 (RFC 4291 §2.4), less documentation
 * (2001:db8::/32), Teredo (2001::/32) and 6to4 (2002::/16) relays. */
static bool v6_public(const unsigned char *a)
{
	if ((a[0] & 0xe0) != 0x20)
		return false;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return false;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
		return false;
	return !(a[0] == 0x20 && a[1] == 0x02);
}

bool dnsrec_addr_is_public(const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return v4_public(a);
	return inet_pton(AF_INET6, ip, a) == 1 && v6_public(a);
}

static bool is_v6(const char *ip)
{
	return strchr(ip, ':') != NULL;
}

/* The part of a mailbox after the last '@' ("" if none). */
static const char *mailbox_domain(const char *mailbox)
{
	const char *at = strrchr(mailbox, '@');

	return at != NULL ? at + 1 : "";
}

/* ---- lines ---- */

void dnsrec_line(struct buf *out, const char *name, const char *type,
		 const char *rdata)
{
	size_t n = strlen(name);

	buf_printf(out, "%s%s %u IN %s %s\n", name,
		   n > 0 && name[n - 1] == '.' ? "" : ".", DNSREC_TTL, type,
		   rdata);
}

/* "; comment" then the record. */
__attribute__((format(printf, 5, 6)))
static void rec(struct buf *out, const char *name, const char *type,
		const char *rdata, const char *fmt, ...)
{
	va_list ap;

	buf_appends(out, "; ");
	va_start(ap, fmt);
	buf_vprintf(out, fmt, ap);
	va_end(ap);
	buf_appendc(out, '\n');
	dnsrec_line(out, name, type, rdata);
}

/* A TXT record: the value quoted and split (RFC 1035 §3.3.14). */
__attribute__((format(printf, 4, 5)))
static void rec_txt(struct buf *out, const char *name, const char *value,
		    const char *fmt, ...)
{
	struct buf rdata = BUF_INIT, comment = BUF_INIT;
	va_list ap;

	dnsrec_txt_rdata(value, &rdata);
	va_start(ap, fmt);
	buf_vprintf(&comment, fmt, ap);
	va_end(ap);
	rec(out, name, "TXT", rdata.ptr, "%s", comment.ptr);
	buf_free(&rdata);
	buf_free(&comment);
}

void dnsrec_txt_rdata(const char *value, struct buf *out)
{
	const char *p = strstr(value, "; p=");
	size_t len = strlen(value);
	bool split = p != NULL && len > 255;

	if (split) {
		buf_appends(out, "( ");
		dkim_record_strings(value, (size_t)(p + 2 - value), out);
		buf_appendc(out, ' ');
		dkim_record_strings(p + 2, strlen(p + 2), out);
		buf_appends(out, " )");
	} else if (len > 255) {
		buf_appends(out, "( ");
		dkim_record_strings(value, len, out);
		buf_appends(out, " )");
	} else {
		dkim_record_strings(value, len, out);
	}
}

/* ---- the mail host ---- */

static void host_addresses(const struct dnsrec_host *h, struct buf *out)
{
	size_t n = h->naddrs < DNSREC_MAX_ADDRS ? h->naddrs : DNSREC_MAX_ADDRS;

	if (n == 0) {
		buf_printf(out, "; No public address of this server is known: "
			   "rerun `mailkeep quickstart` with --ip ADDRESS, or set "
			   "[publish] public_addresses, then `mailkeep dns records`.\n"
			   "; %s. %u IN A <the server's public IPv4 address>\n",
			   h->hostname, DNSREC_TTL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		rec(out, h->hostname, is_v6(h->addrs[i]) ? "AAAA" : "A",
		    h->addrs[i], "Address of the mail host %s (the MX target "
		    "and SMTP banner name)", h->hostname);
}

/* RFC 7208 §2.3: a HELO policy judges mail with an empty sender. */
static void host_spf(const struct dnsrec_host *h, struct buf *out)
{
	if (!h->helo_spf)
		return;
	rec_txt(out, h->hostname, "v=spf1 a -all", "SPF for the host name "
		"itself: checked for bounces and other mail with an empty sender "
		"(RFC 7208 §2.3)");
}

static void host_ptr(const struct dnsrec_host *h, struct buf *out)
{
	size_t n = h->naddrs < DNSREC_MAX_ADDRS ? h->naddrs : DNSREC_MAX_ADDRS;
	char rev[DNSREC_REVERSE_MAX];

	if (n == 0)
		return;
	buf_printf(out, "; Reverse DNS (PTR) is not part of your zone: ask "
		   "whoever gave you the address (the hosting provider) to set\n");
	for (size_t i = 0; i < n; i++)
		if (dnsrec_reverse_name(h->addrs[i], rev) == 0)
			buf_printf(out, ";   %s. IN PTR %s.\n", rev, h->hostname);
}

void dnsrec_host_text(const struct dnsrec_host *h, struct buf *out)
{
	buf_printf(out, "; ---- the mail host %s ----\n", h->hostname);
	host_addresses(h, out);
	host_spf(h, out);
	host_ptr(h, out);
}

/* ---- one domain ---- */

void dnsrec_spf(const struct dnsrec_domain *d, struct buf *out)
{
	size_t n = d->naddrs < DNSREC_MAX_ADDRS ? d->naddrs : DNSREC_MAX_ADDRS;

	if (n == 0 || dnsrec_host_in_domain(d->hostname, d->domain)) {
		buf_appends(out, "v=spf1 mx -all");
		return;
	}
	buf_appends(out, "v=spf1");
	for (size_t i = 0; i < n; i++)
		buf_printf(out, " %s:%s", is_v6(d->addrs[i]) ? "ip6" : "ip4",
			   d->addrs[i]);
	buf_appends(out, " -all");
}

void dnsrec_dmarc_value(const struct dnsrec_domain *d, struct buf *out)
{
	buf_printf(out, "v=DMARC1; p=%s", dnsrec_dmarc_name(d->dmarc_policy));
	if (d->dmarc_rua != NULL)
		buf_printf(out, "; rua=mailto:%s", d->dmarc_rua);
}

void dnsrec_tls_rpt_value(const struct dnsrec_domain *d, struct buf *out)
{
	buf_printf(out, "v=TLSRPTv1; rua=mailto:%s",
		   d->tls_rpt_rua != NULL ? d->tls_rpt_rua : "");
}

void dnsrec_sts_policy(const struct dnsrec_domain *d, struct buf *out)
{
	buf_printf(out, "version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: %u\r\n",
		   dnsrec_sts_name(d->mta_sts), d->hostname,
		   d->mta_sts == DNSREC_STS_ENFORCE ? DNSREC_STS_MAX_AGE_ENFORCE :
		   DNSREC_STS_MAX_AGE_TESTING);
}

void dnsrec_sts_txt(const struct dnsrec_domain *d, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct buf policy = BUF_INIT;

	dnsrec_sts_policy(d, &policy);
	SHA256((const unsigned char *)policy.ptr, policy.len, md);
	buf_appends(out, "v=STSv1; id=");
	for (int i = 0; i < DNSREC_STS_ID_LEN / 2; i++) {
		buf_appendc(out, hex[md[i] >> 4]);
		buf_appendc(out, hex[md[i] & 0xf]);
	}
	buf_free(&policy);
}

static void domain_mx(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf rdata = BUF_INIT;

	buf_printf(&rdata, "%d %s.", DNSREC_MX_PREF, d->hostname);
	rec(out, d->domain, "MX", rdata.ptr, "Mail for @%s is delivered to %s "
	    "(MX, RFC 5321 §5)", d->domain, d->hostname);
	buf_free(&rdata);
}

static void domain_spf(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf v = BUF_INIT;

	dnsrec_spf(d, &v);
	if (strstr(v.ptr, " mx ") != NULL)
		rec_txt(out, d->domain, v.ptr, "SPF (RFC 7208): only the MX hosts "
			"may send mail from @%s; -all asks receivers to refuse "
			"the rest", d->domain);
	else
		rec_txt(out, d->domain, v.ptr, "SPF (RFC 7208): only these "
			"addresses may send mail from @%s (the mail host is named "
			"in another zone, so they are written out: no lookups "
			"there, RFC 7208 §4.6.4)", d->domain);
	buf_free(&v);
}

static void domain_dkim(const struct dnsrec_domain *d, struct buf *out)
{
	char name[DNSQ_NAME_MAX + 1];

	if (d->ndkim == 0)
		buf_printf(out, "; No DKIM key for %s yet: make one with `mailkeep "
			   "dkim genkey %s SELECTOR`\n", d->domain, d->domain);
	for (size_t i = 0; i < d->ndkim; i++) {
		const struct dnsrec_dkim *k = &d->dkim[i];
		if (dkim_key_name(k->selector, d->domain, name) < 0)
			continue;
		if (k->record == NULL) {
			buf_printf(out, "; DKIM key %s left out: %s\n", k->selector,
				   k->note != NULL ? k->note : "unreadable");
			continue;
		}
		rec_txt(out, name, k->record, "DKIM public key, selector %s: "
			"receivers check our signatures with it (RFC 6376)",
			k->selector);
	}
}

static void domain_dmarc(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf v = BUF_INIT, name = BUF_INIT;
	const char *rua_domain;

	dnsrec_dmarc_value(d, &v);
	buf_printf(&name, "_dmarc.%s", d->domain);
	rec_txt(out, name.ptr, v.ptr, "DMARC (RFC 7489): mail from @%s failing "
		"both SPF and DKIM is %s%s%s", d->domain,
		d->dmarc_policy == DNSREC_DMARC_NONE ? "only reported (p=none)" :
		d->dmarc_policy == DNSREC_DMARC_QUARANTINE ? "put in spam" :
		"refused", d->dmarc_rua != NULL ? "; daily reports go to " : "",
		d->dmarc_rua != NULL ? d->dmarc_rua : "");
	rua_domain = d->dmarc_rua != NULL ? mailbox_domain(d->dmarc_rua) : "";
	if (*rua_domain != '\0' && !str_ieq(rua_domain, d->domain)) {
		buf_reset(&name);
		buf_printf(&name, "%s._report._dmarc.%s", d->domain, rua_domain);
		rec_txt(out, name.ptr, "v=DMARC1", "Lets %s receive the DMARC "
			"reports of %s (RFC 7489 §7.1); belongs in the zone of %s",
			rua_domain, d->domain, rua_domain);
	}
	buf_free(&v);
	buf_free(&name);
}

static void domain_tls_rpt(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf v = BUF_INIT, name = BUF_INIT;

	if (d->tls_rpt_rua == NULL)
		return;
	dnsrec_tls_rpt_value(d, &v);
	buf_printf(&name, "_smtp._tls.%s", d->domain);
	rec_txt(out, name.ptr, v.ptr, "TLS-RPT (RFC 8460): senders report "
		"problems making TLS connections to us to %s", d->tls_rpt_rua);
	buf_free(&v);
	buf_free(&name);
}

/* The policy as comment lines (CRLF dropped). */
static void sts_policy_comment(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf policy = BUF_INIT;
	const char *p;

	dnsrec_sts_policy(d, &policy);
	buf_printf(out, "; The MTA-STS policy file: serve it at https://mta-sts.%s"
		   "/.well-known/mta-sts.txt (text/plain):\n", d->domain);
	for (p = policy.ptr; *p != '\0';) {
		size_t n = strcspn(p, "\r\n");
		buf_printf(out, ";   %.*s\n", (int)n, p);
		p += n;
		p += strspn(p, "\r\n");
	}
	buf_free(&policy);
}

static void domain_mta_sts(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf v = BUF_INIT, name = BUF_INIT;
	size_t n = d->naddrs < DNSREC_MAX_ADDRS ? d->naddrs : DNSREC_MAX_ADDRS;

	if (d->mta_sts == DNSREC_STS_OFF) {
		buf_printf(out, "; MTA-STS is off (set [publish] mta_sts = testing "
			   "once a web server can serve https://mta-sts.%s/)\n",
			   d->domain);
		return;
	}
	dnsrec_sts_txt(d, &v);
	buf_printf(&name, "_mta-sts.%s", d->domain);
	rec_txt(out, name.ptr, v.ptr, "MTA-STS (RFC 8461): senders that know it "
		"must use TLS to %s (mode %s); the id changes with the policy",
		d->hostname, dnsrec_sts_name(d->mta_sts));
	buf_reset(&name);
	buf_printf(&name, "mta-sts.%s", d->domain);
	for (size_t i = 0; i < n; i++)
		rec(out, name.ptr, is_v6(d->addrs[i]) ? "AAAA" : "A", d->addrs[i],
		    "The web server of the MTA-STS policy (needs a valid HTTPS "
		    "certificate for %s)", name.ptr);
	if (n == 0)
		buf_printf(out, "; %s. %u IN A <address of the policy web "
			   "server>\n", name.ptr, DNSREC_TTL);
	sts_policy_comment(d, out);
	buf_free(&v);
	buf_free(&name);
}

static void domain_srv(const struct dnsrec_domain *d, struct buf *out)
{
	struct buf name = BUF_INIT, rdata = BUF_INIT;

	for (int s = 0; s < DNSREC_SRV_COUNT; s++) {
		buf_reset(&name);
		buf_reset(&rdata);
		buf_printf(&name, "%s.%s", srv_names[s], d->domain);
		if (d->srv_port[s] == 0) {
			rec(out, name.ptr, "SRV", "0 0 0 .", "Mail clients: %s is "
			    "not offered (RFC 6186 §4)", srv_what[s]);
			continue;
		}
		buf_printf(&rdata, "0 1 %u %s.", d->srv_port[s], d->hostname);
		rec(out, name.ptr, "SRV", rdata.ptr, "Mail clients: %s at %s "
		    "port %u (RFC 6186)", srv_what[s], d->hostname, d->srv_port[s]);
	}
	buf_free(&name);
	buf_free(&rdata);
}

void dnsrec_domain_text(const struct dnsrec_domain *d, struct buf *out)
{
	buf_printf(out, "; ---- the mail domain %s ----\n", d->domain);
	domain_mx(d, out);
	domain_spf(d, out);
	domain_dkim(d, out);
	domain_dmarc(d, out);
	domain_tls_rpt(d, out);
	domain_mta_sts(d, out);
	domain_srv(d, out);
}
