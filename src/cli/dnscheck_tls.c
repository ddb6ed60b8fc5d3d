/* dnscheck_tls: judging the certificate a listener served (issue 6 §3):
 * valid for the host name (X509_check_host, RFC 6125), inside its
 * validity period and not expiring within DNSCHECK_CERT_MIN_DAYS
 * (X509_cmp_time), and whether it chains to a trusted root. Self-signed
 * is a warning (senders use opportunistic STARTTLS without checking,
 * RFC 3207 §4.1, but mail clients and MTA-STS do check); expired or
 * wrong-name is a failure. No I/O: the probe is done by the caller. */
#include "cli/dnscheck.h"
#include "cli/dnscheck_int.h"

#include <string.h>

#include <openssl/x509v3.h>

#define DAY_SECONDS 86400

/* "2026-11-22" of an ASN1_TIME, "?" if it does not convert. */
static void date_text(const ASN1_TIME *t, char out[16])
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "?");
}

/* The DNS names of subjectAltName, else the subject CN. */
static void cert_names(X509 *leaf, struct buf *out)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name,
					       NULL, NULL);
	const X509_NAME *subj = X509_get_subject_name(leaf);
	int idx;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		buf_appends(out, out->len ? ", " : "");
		dnscheck_quote(out, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			       (size_t)ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	if (out->len > 0)
		return;
	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (idx >= 0) {
		const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(subj, idx));
		dnscheck_quote(out, (const char *)ASN1_STRING_get0_data(cn),
			       (size_t)ASN1_STRING_length(cn));
	} else {
		buf_appends(out, "no name");
	}
}

static void certbot_fix(struct buf *fix, const char *hostname)
{
	buf_printf(fix, "get a certificate for %s (port 80 must be free and "
		   "reachable):\ncertbot certonly --standalone -d %s "
		   "--deploy-hook 'systemctl reload mailkeep'\nthen set in "
		   "mailkeep.conf [tls] cert = /etc/letsencrypt/live/%s/fullchain.pem"
		   " and key = /etc/letsencrypt/live/%s/privkey.pem, and run "
		   "systemctl reload mailkeep", hostname, hostname, hostname,
		   hostname);
}

/* Problems that make the certificate fail, into why; none: false. */
static bool cert_failures(X509 *leaf, const char *hostname, time_t now,
			  struct buf *why, bool *expiring)
{
	const ASN1_TIME *nb = X509_get0_notBefore(leaf);
	const ASN1_TIME *na = X509_get0_notAfter(leaf);
	time_t soon = now + (time_t)DNSCHECK_CERT_MIN_DAYS * DAY_SECONDS;
	char date[16];
	struct buf names = BUF_INIT;

	*expiring = false;
	/* X509_cmp_time: -1 earlier or equal, 1 later, 0 unreadable */
	if (X509_cmp_time(nb, &now) != -1) {
		date_text(nb, date);
		buf_printf(why, "%snot valid before %s", why->len ? "; " : "", date);
	}
	date_text(na, date);
	if (X509_cmp_time(na, &now) != 1) {
		buf_printf(why, "%sexpired on %s", why->len ? "; " : "", date);
	} else if (X509_cmp_time(na, &soon) == -1) {
		int days = 0, secs = 0;
		ASN1_TIME *t = ASN1_TIME_set(NULL, now);
		ASN1_TIME_diff(&days, &secs, t, na);
		ASN1_TIME_free(t);
		buf_printf(why, "%sexpires in %d days (%s)", why->len ? "; " : "",
			   days, date);
		*expiring = true;
	}
	if (X509_check_host(leaf, hostname, strlen(hostname), 0, NULL) != 1) {
		cert_names(leaf, &names);
		buf_printf(why, "%sissued for %s, not %s", why->len ? "; " : "",
			   names.ptr, hostname);
		*expiring = false;
	}
	buf_free(&names);
	return why->len > 0;
}

static bool self_signed(X509 *leaf, long verify)
{
	return verify == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	       verify == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	       X509_check_issued(leaf, leaf) == X509_V_OK;
}

/* Usable certificate: trusted, self-signed or an incomplete chain. */
static void judge_trust(struct dnscheck_report *r, const char *check,
			const struct dnscheck_tls_probe *p, const char *hostname)
{
	struct buf fix = BUF_INIT;
	char date[16];

	date_text(X509_get0_notAfter(p->leaf), date);
	if (p->verify == X509_V_OK) {
		dnscheck_add(r, DNSCHECK_PASS, check, NULL, NULL, "%s at %s: "
			     "certificate for %s, trusted, valid until %s",
			     p->service, p->address, hostname, date);
	} else if (self_signed(p->leaf, p->verify)) {
		certbot_fix(&fix, hostname);
		dnscheck_add(r, DNSCHECK_WARN, check, NULL, fix.ptr, "%s at %s: "
			     "self-signed certificate for %s (valid until %s): "
			     "servers still encrypt, mail clients warn",
			     p->service, p->address, hostname, date);
	} else {
		buf_appends(&fix, "serve the whole chain: [tls] cert must be the "
			    "fullchain.pem, not cert.pem");
		dnscheck_add(r, DNSCHECK_WARN, check, NULL, fix.ptr, "%s at %s: "
			     "certificate for %s does not verify: %s", p->service,
			     p->address, hostname,
			     X509_verify_cert_error_string(p->verify));
	}
	buf_free(&fix);
}

void dnscheck_tls(struct dnscheck_report *r, const struct dnscheck_tls_probe *p,
		  const char *hostname, time_t now)
{
	struct buf check = BUF_INIT, why = BUF_INIT, fix = BUF_INIT;
	bool expiring;

	buf_printf(&check, "tls:%s", p->service);
	if (p->error != NULL || p->leaf == NULL) {
		buf_printf(&fix, "is `mailkeep serve` running, is [listen] %s set, "
			   "and does the firewall let port %s through?", p->service,
			   strrchr(p->address, ':') ? strrchr(p->address, ':') + 1 :
			   p->address);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, NULL, fix.ptr, "%s at %s "
			     "not reachable: %s", p->service, p->address,
			     p->error != NULL ? p->error : "no certificate");
	} else if (cert_failures(p->leaf, hostname, now, &why, &expiring)) {
		if (expiring)
			buf_appends(&fix, "renew it: certbot renew; check that "
				    "certbot.timer runs and that the deploy hook "
				    "reloads mailkeep");
		else
			certbot_fix(&fix, hostname);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, NULL, fix.ptr,
			     "%s at %s: %s", p->service, p->address, why.ptr);
	} else {
		judge_trust(r, check.ptr, p, hostname);
	}
	buf_free(&check);
	buf_free(&why);
	buf_free(&fix);
}
