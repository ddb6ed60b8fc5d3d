/* dnscheck_policy: judging the domain's published policies as receivers
 * read them: SPF (RFC 7208), DKIM keys (RFC 6376 §3.6), DMARC (RFC 7489),
 * MTA-STS (RFC 8461) and TLS-RPT (RFC 8460). No I/O. */
#include "cli/dnscheck.h"
#include "cli/dnscheck_int.h"

#include <string.h>

#include "lib/str.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_tags.h"
#include "mailauth/dmarc.h"
#include "smtp/mtasts_policy.h"

/* ---- SPF ---- */

/* "publish this single record: NAME TXT VALUE" */
static void spf_fix(struct buf *fix, const struct dnsrec_domain *want,
		    const char *why)
{
	struct buf v = BUF_INIT;

	dnsrec_spf(want, &v);
	buf_printf(fix, "%s:", why);
	dnscheck_fix_txt(fix, want->domain, v.ptr);
	buf_free(&v);
}

int dnscheck_spf_records(struct dnscheck_report *r,
			 const struct dnsrec_domain *want,
			 const struct dnsq_answer *txt)
{
	struct buf fix = BUF_INIT;
	size_t found = 0, len;

	for (size_t i = 0; txt->rcode == DNSQ_OK && i < txt->n; i++) {
		const char *rec = dnscheck_rr(txt, i, &len);
		/* §4.5: exactly "v=spf1" then a space or the end */
		found += len >= 6 && str_nieq(rec, "v=spf1", 6) &&
			 (len == 6 || rec[6] == ' ');
	}
	if (txt->rcode == DNSQ_TEMPFAIL) {
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, "check that "
			     "the domain's name servers answer", "TXT lookup: %s",
			     dnscheck_rcode_text(txt->rcode));
	} else if (found == 0) {
		spf_fix(&fix, want, "publish one SPF record");
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, fix.ptr,
			     "no SPF record (TXT \"v=spf1 ...\")");
	} else if (found > 1) {
		spf_fix(&fix, want, "merge them into one TXT record, e.g.");
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, fix.ptr,
			     "%zu SPF records: receivers treat more than one as "
			     "permerror (RFC 7208 §4.5)", found);
	}
	buf_free(&fix);
	return txt->rcode != DNSQ_TEMPFAIL && found == 1 ? 0 : -1;
}

static bool over_limit(const char *reason)
{
	return strstr(reason, "DNS-querying terms") != NULL ||
	       strstr(reason, "void lookups") != NULL ||
	       strstr(reason, "MX records for") != NULL;
}

void dnscheck_spf_result(struct dnscheck_report *r,
			 const struct dnsrec_domain *want, const char *ip,
			 enum spf_result res, const char *reason,
			 unsigned queries)
{
	struct buf fix = BUF_INIT;
	const char *name = spf_result_name(res);

	if (res == SPF_PASS) {
		dnscheck_add(r, DNSCHECK_PASS, "spf", want->domain, NULL, "%s: pass "
			     "(%s; %u DNS queries)", ip, reason, queries);
	} else if (res == SPF_PERMERROR && over_limit(reason)) {
		spf_fix(&fix, want, "drop include:, a, mx, ptr and exists terms "
			"you do not need, or write addresses as ip4:/ip6:; mailkeep "
			"needs only");
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, fix.ptr, "%s: "
			     "permerror: over the lookup limit of %d (RFC 7208 "
			     "§4.6.4): %s", ip, SPF_MAX_DNS_TERMS, reason);
	} else if (res == SPF_PERMERROR) {
		spf_fix(&fix, want, "the record is invalid; replace it, e.g.");
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, fix.ptr,
			     "%s: permerror: %s", ip, reason);
	} else if (res == SPF_TEMPERROR) {
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, "a lookup the "
			     "record needs failed: check the name servers of the "
			     "domains it names", "%s: temperror: %s", ip, reason);
	} else {
		spf_fix(&fix, want, "the record must allow this server's "
			"addresses, e.g.");
		dnscheck_add(r, DNSCHECK_FAIL, "spf", want->domain, fix.ptr, "%s is "
			     "not allowed to send for %s: %s (%s)", ip, want->domain,
			     name, reason);
	}
	buf_free(&fix);
}

/* ---- DKIM ---- */

enum key_match { KEY_SAME, KEY_TRUNCATED, KEY_OTHER, KEY_BAD };

/* p= of a record with folding whitespace removed; false if none. */
static bool p_value(const char *rec, size_t len, struct buf *out,
		    const char **error_r)
{
	struct dkim_taglist t;
	const struct dkim_tag *p;

	if (dkim_tags_parse(rec, len, &t, error_r) < 0)
		return false;
	if ((p = dkim_tags_get(&t, "p")) == NULL) {
		*error_r = "no p= tag";
		return false;
	}
	for (size_t i = 0; i < p->value_len; i++)
		if (p->value[i] != ' ' && p->value[i] != '\t' &&
		    p->value[i] != '\r' && p->value[i] != '\n')
			buf_appendc(out, p->value[i]);
	return true;
}

/* Compare a published record's key with ours: the decoded p= (the DER
 * SubjectPublicKeyInfo for RSA, RFC 8463's 32 octets for Ed25519). */
static enum key_match key_compare(const char *rec, size_t len,
				  const char *want_p, const char **why)
{
	unsigned char a[DKIM_MAX_KEY_BYTES], b[DKIM_MAX_KEY_BYTES];
	size_t na, nb, wl = strlen(want_p);
	struct buf got = BUF_INIT;
	enum key_match m = KEY_BAD;

	if (!p_value(rec, len, &got, why))
		goto out;
	if (got.len == 0) {
		*why = "p= is empty: the key is revoked";
	} else if (got.len < wl && memcmp(got.ptr, want_p, got.len) == 0) {
		m = KEY_TRUNCATED;
	} else if (dkim_b64_decode(got.ptr, got.len, a, sizeof(a), &na) < 0) {
		*why = "p= is not valid base64";
	} else if (dkim_b64_decode(want_p, wl, b, sizeof(b), &nb) == 0 &&
		   na == nb && memcmp(a, b, na) == 0) {
		m = KEY_SAME;
	} else {
		m = KEY_OTHER;
	}
out:
	buf_free(&got);
	return m;
}

static void dkim_publish_fix(struct buf *fix, const struct dnsrec_domain *want,
			     const struct dnsrec_dkim *key, const char *why)
{
	char name[DNSQ_NAME_MAX + 1];

	buf_appends(fix, why);
	if (why[strlen(why) - 1] != ':')
		buf_appendc(fix, ':');
	if (dkim_key_name(key->selector, want->domain, name) == 0)
		dnscheck_fix_txt(fix, name, key->record);
}

/* The best of the records at the selector: same > truncated > other. */
static enum key_match best_record(const struct dnsq_answer *txt,
				  const char *want_p, size_t *which,
				  const char **why)
{
	enum key_match best = KEY_BAD;
	size_t len;

	*which = 0;
	for (size_t i = 0; i < txt->n; i++) {
		const char *w = NULL, *rec = dnscheck_rr(txt, i, &len);
		enum key_match m = key_compare(rec, len, want_p, &w);
		if (best == KEY_BAD || m < best) {
			best = m;
			*which = i;
			*why = w;
		}
	}
	return best;
}

/* The matching record must also be usable as a key record (v=, k=, h=). */
static void dkim_same(struct dnscheck_report *r, const char *check,
		      const struct dnsrec_domain *want,
		      const struct dnsrec_dkim *key, const char *rec, size_t len)
{
	struct dkim_limits lim;
	struct dkim_pubkey pk;
	struct buf fix = BUF_INIT;
	const char *why = NULL;

	dkim_limits_default(&lim);
	if (dkim_pubkey_parse(&pk, rec, len, &lim, &why) < 0) {
		dkim_publish_fix(&fix, want, key, "replace it with");
		dnscheck_add(r, DNSCHECK_FAIL, check, want->domain, fix.ptr,
			     "the key matches but the record is unusable: %s", why);
	} else {
		dnscheck_add(r, DNSCHECK_PASS, check, want->domain, NULL,
			     "published key matches the private key (%s %u bits%s)",
			     pk.type == DKIM_KEY_RSA ? "rsa" : "ed25519", pk.bits,
			     pk.testing ? ", t=y testing" : "");
	}
	dkim_pubkey_free(&pk);
	buf_free(&fix);
}

static void dkim_record(struct dnscheck_report *r, const char *check,
			const struct dnsrec_domain *want,
			const struct dnsrec_dkim *key,
			const struct dnsq_answer *txt)
{
	struct buf fix = BUF_INIT, want_p = BUF_INIT, got_p = BUF_INIT;
	const char *why = NULL, *rec;
	size_t which, len;
	enum key_match m;

	p_value(key->record, strlen(key->record), &want_p, &why);
	m = best_record(txt, buf_cstr(&want_p), &which, &why);
	rec = dnscheck_rr(txt, which, &len);
	p_value(rec, len, &got_p, &why);
	if (m == KEY_SAME) {
		dkim_same(r, check, want, key, rec, len);
	} else if (m == KEY_TRUNCATED) {
		dkim_publish_fix(&fix, want, key, "publish the whole value; if the "
				 "DNS provider's form takes one string, paste the "
				 "strings below joined without quotes:");
		dnscheck_add(r, DNSCHECK_FAIL, check, want->domain, fix.ptr,
			     "the published key is truncated: p= has %zu of %zu "
			     "characters (a 255-character limit somewhere?)",
			     got_p.len, want_p.len);
	} else {
		dkim_publish_fix(&fix, want, key, "replace the record with");
		dnscheck_add(r, DNSCHECK_FAIL, check, want->domain, fix.ptr, "%s",
			     m == KEY_OTHER ? "the published p= is a different key "
			     "than the private key file" : why);
	}
	buf_free(&fix);
	buf_free(&want_p);
	buf_free(&got_p);
}

void dnscheck_dkim(struct dnscheck_report *r,
		   const struct dnsrec_domain *want,
		   const struct dnsrec_dkim *key, bool key_missing,
		   const struct dnsq_answer *txt)
{
	struct buf check = BUF_INIT, fix = BUF_INIT;

	buf_printf(&check, "dkim:%s", key->selector);
	if (key->record == NULL && key_missing) {
		buf_printf(&fix, "make a new key: mailkeep dkim genkey %s %s "
			   "--force, and publish its record", want->domain,
			   key->selector);
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, want->domain, fix.ptr,
			     "the private key is missing: %s", key->note);
	} else if (key->record == NULL) {
		dnscheck_add(r, DNSCHECK_WARN, check.ptr, want->domain, "run the "
			     "check as root (or as the daemon's user)", "cannot "
			     "read the private key: %s", key->note);
	} else if (txt->rcode != DNSQ_OK) {
		dkim_publish_fix(&fix, want, key, "publish");
		dnscheck_add(r, DNSCHECK_FAIL, check.ptr, want->domain, fix.ptr,
			     "not published at %s._domainkey.%s: %s", key->selector,
			     want->domain, dnscheck_rcode_text(txt->rcode));
	} else {
		dkim_record(r, check.ptr, want, key, txt);
	}
	buf_free(&check);
	buf_free(&fix);
}

/* ---- DMARC ---- */

static void dmarc_fix(struct buf *fix, const struct dnsrec_domain *want,
		      const char *why)
{
	struct buf v = BUF_INIT, name = BUF_INIT;

	dnsrec_dmarc_value(want, &v);
	buf_printf(&name, "_dmarc.%s", want->domain);
	buf_appends(fix, why);
	if (why[strlen(why) - 1] != ':')
		buf_appendc(fix, ':');
	dnscheck_fix_txt(fix, name.ptr, v.ptr);
	buf_free(&v);
	buf_free(&name);
}

/* The DMARC-looking records: valid (parsed into *ok) and malformed. */
static void dmarc_sort(const struct dnsq_answer *txt, struct dmarc_record *ok,
		       size_t *nok, size_t *nbad, struct buf *bad)
{
	size_t len;

	*nok = *nbad = 0;
	for (size_t i = 0; txt->rcode == DNSQ_OK && i < txt->n; i++) {
		const char *rec = dnscheck_rr(txt, i, &len), *why = NULL;
		struct dmarc_record d;
		enum dmarc_parse p = dmarc_record_parse(rec, len, &d, &why);

		if (p == DMARC_REC_OK && (*nok)++ == 0) {
			*ok = d;
			continue;
		}
		dmarc_record_clear(&d);
		if (p == DMARC_REC_OK || (p == DMARC_REC_NOT_DMARC &&
					  !(len >= 7 && str_nieq(rec, "v=dmarc", 7))))
			continue;
		if ((*nbad)++ == 0) {
			buf_printf(bad, "%s in \"", why ? why : "invalid");
			dnscheck_quote(bad, rec, len);
			buf_appendc(bad, '"');
		}
	}
}

void dnscheck_dmarc(struct dnscheck_report *r,
		    const struct dnsrec_domain *want,
		    const struct dnsq_answer *txt)
{
	struct dmarc_record rec;
	struct buf fix = BUF_INIT, bad = BUF_INIT;
	size_t nok, nbad;

	memset(&rec, 0, sizeof(rec));
	dmarc_sort(txt, &rec, &nok, &nbad, &bad);
	if (txt->rcode == DNSQ_TEMPFAIL) {
		dnscheck_add(r, DNSCHECK_FAIL, "dmarc", want->domain, "check that "
			     "the domain's name servers answer", "TXT _dmarc.%s: "
			     "%s", want->domain, dnscheck_rcode_text(txt->rcode));
	} else if (nok + nbad == 0) {
		dmarc_fix(&fix, want, "publish");
		dnscheck_add(r, DNSCHECK_FAIL, "dmarc", want->domain, fix.ptr,
			     "no DMARC record at _dmarc.%s", want->domain);
	} else if (nok + nbad > 1) {
		dmarc_fix(&fix, want, "keep a single record, e.g.");
		dnscheck_add(r, DNSCHECK_FAIL, "dmarc", want->domain, fix.ptr,
			     "%zu DMARC records: receivers then use none "
			     "(RFC 7489 §6.6.3)", nok + nbad);
	} else if (nbad > 0) {
		dmarc_fix(&fix, want, "replace it with");
		dnscheck_add(r, DNSCHECK_FAIL, "dmarc", want->domain, fix.ptr,
			     "malformed DMARC record: %s", bad.ptr);
	} else if (rec.p == DMARC_POLICY_NONE) {
		dmarc_fix(&fix, want, "once the reports show your own mail "
			  "passes, ask receivers to act (p=quarantine):");
		dnscheck_add(r, DNSCHECK_WARN, "dmarc", want->domain, fix.ptr,
			     "p=none: mail failing DMARC is only reported, not "
			     "filtered");
	} else {
		dnscheck_add(r, DNSCHECK_PASS, "dmarc", want->domain, NULL,
			     "p=%s%s%s", dmarc_policy_name(rec.p),
			     rec.nrua ? " rua=" : " (no reports: no rua=)",
			     rec.nrua ? rec.rua[0] : "");
	}
	dmarc_record_clear(&rec);
	buf_free(&fix);
	buf_free(&bad);
}

/* ---- MTA-STS ---- */

/* The single record starting with version among txt: 1 found (*rec),
 * 0 none, or the count when more than one. */
static size_t one_record(const struct dnsq_answer *txt, const char *version,
			 const char **rec, size_t *len)
{
	size_t found = 0, l;

	for (size_t i = 0; txt->rcode == DNSQ_OK && i < txt->n; i++) {
		const char *p = dnscheck_rr(txt, i, &l);
		if (!dnscheck_has_version(p, l, version))
			continue;
		if (found++ == 0) {
			*rec = p;
			*len = l;
		}
	}
	return found;
}

/* What is wrong with a fetched policy, into why (empty: nothing); the
 * parser and the matching are the queue's (smtp/mtasts_policy.c). */
static void sts_policy_problems(const struct dnsrec_domain *want,
				const char *pol, size_t len, struct buf *why)
{
	struct mtasts_policy p;
	const char *err = NULL;

	if (mtasts_policy_parse(pol, len, &p, &err) < 0)
		buf_appends(why, err);
	else if (strcmp(mtasts_mode_name(p.mode), dnsrec_sts_name(want->mta_sts)) != 0)
		buf_printf(why, "the policy says mode: %s, [publish] mta_sts is %s",
			   mtasts_mode_name(p.mode), dnsrec_sts_name(want->mta_sts));
	else if (p.max_age_over)
		buf_appends(why, "max_age is above 31557600 seconds (RFC 8461 §3.2)");
	else if (!mtasts_policy_allows(&p, want->hostname))
		buf_printf(why, "no mx: line matches %s", want->hostname);
	mtasts_policy_free(&p);
}

static void sts_policy_fix(struct buf *fix, const struct dnsrec_domain *want,
			   const char *why)
{
	struct buf pol = BUF_INIT;

	dnsrec_sts_policy(want, &pol);
	buf_printf(fix, "%s https://mta-sts.%s/.well-known/mta-sts.txt "
		   "(text/plain, valid certificate for mta-sts.%s):\n", why,
		   want->domain, want->domain);
	for (size_t i = 0; i < pol.len; i++)
		if (pol.ptr[i] != '\r')
			buf_appendc(fix, pol.ptr[i]);
	if (fix->len > 0 && fix->ptr[fix->len - 1] == '\n')
		buf_truncate(fix, fix->len - 1);
	buf_free(&pol);
}

static void sts_policy(struct dnscheck_report *r,
		       const struct dnsrec_domain *want, const char *policy,
		       size_t policy_len, const char *fetch_error)
{
	struct buf fix = BUF_INIT, why = BUF_INIT;

	if (policy == NULL) {
		sts_policy_fix(&fix, want, "serve the policy at");
		dnscheck_add(r, DNSCHECK_WARN, "mta-sts", want->domain, fix.ptr,
			     "TXT record ok, but the policy file could not be "
			     "fetched (%s), so its mode was not checked",
			     fetch_error != NULL ? fetch_error : "unknown error");
	} else {
		sts_policy_problems(want, policy, policy_len, &why);
		if (why.len > 0) {
			sts_policy_fix(&fix, want, "serve this policy at");
			dnscheck_add(r, DNSCHECK_FAIL, "mta-sts", want->domain,
				     fix.ptr, "policy file: %s", why.ptr);
		} else {
			dnscheck_add(r, DNSCHECK_PASS, "mta-sts", want->domain, NULL,
				     "TXT record and policy (mode %s) agree",
				     dnsrec_sts_name(want->mta_sts));
		}
	}
	buf_free(&fix);
	buf_free(&why);
}

void dnscheck_mta_sts(struct dnscheck_report *r,
		      const struct dnsrec_domain *want,
		      const struct dnsq_answer *txt, const char *policy,
		      size_t policy_len, const char *fetch_error)
{
	struct buf fix = BUF_INIT, v = BUF_INIT, name = BUF_INIT;
	const char *rec = NULL, *why = NULL;
	char id[MTASTS_ID_MAX + 1];
	size_t len = 0, n;

	if (want->mta_sts == DNSREC_STS_OFF)
		return;
	n = one_record(txt, "v=STSv1", &rec, &len);
	dnsrec_sts_txt(want, &v);
	buf_printf(&name, "_mta-sts.%s", want->domain);
	buf_appends(&fix, n > 1 ? "keep a single record:" : "publish:");
	dnscheck_fix_txt(&fix, name.ptr, v.ptr);
	if (n == 0)
		dnscheck_add(r, DNSCHECK_FAIL, "mta-sts", want->domain, fix.ptr,
			     "no MTA-STS record at %s: %s", name.ptr,
			     txt->rcode == DNSQ_OK ? "no v=STSv1 record" :
			     dnscheck_rcode_text(txt->rcode));
	else if (n > 1)
		dnscheck_add(r, DNSCHECK_FAIL, "mta-sts", want->domain, fix.ptr,
			     "%zu MTA-STS records: senders then use none "
			     "(RFC 8461 §3.1)", n);
	else if (mtasts_txt_parse(rec, len, id, &why) != MTASTS_TXT_OK)
		dnscheck_add(r, DNSCHECK_FAIL, "mta-sts", want->domain, fix.ptr,
			     "the MTA-STS record is invalid: %s (RFC 8461 §3.1: "
			     "\"v=STSv1; id=\" and 1 to 32 letters and digits; "
			     "no valid id= otherwise)", why != NULL ? why :
			     "it must start with v=STSv1");
	else
		sts_policy(r, want, policy, policy_len, fetch_error);
	buf_free(&fix);
	buf_free(&v);
	buf_free(&name);
}

/* ---- TLS-RPT ---- */

void dnscheck_tls_rpt(struct dnscheck_report *r,
		      const struct dnsrec_domain *want,
		      const struct dnsq_answer *txt)
{
	struct buf fix = BUF_INIT, v = BUF_INIT, name = BUF_INIT, got = BUF_INIT;
	const char *rec = NULL, *rua;
	size_t len = 0, rlen, n;

	if (want->tls_rpt_rua == NULL)
		return;
	n = one_record(txt, "v=TLSRPTv1", &rec, &len);
	dnsrec_tls_rpt_value(want, &v);
	buf_printf(&name, "_smtp._tls.%s", want->domain);
	buf_appends(&fix, n > 1 ? "keep a single record:" : "publish:");
	dnscheck_fix_txt(&fix, name.ptr, v.ptr);
	if (n == 1 && dnscheck_tag(rec, len, "rua", &rua, &rlen))
		dnscheck_quote(&got, rua, rlen);
	if (n == 0)
		dnscheck_add(r, DNSCHECK_FAIL, "tls-rpt", want->domain, fix.ptr,
			     "no TLS-RPT record at %s", name.ptr);
	else if (n > 1)
		dnscheck_add(r, DNSCHECK_FAIL, "tls-rpt", want->domain, fix.ptr,
			     "%zu TLS-RPT records: senders then use none (RFC 8460 "
			     "§3)", n);
	else if (got.len == 0)
		dnscheck_add(r, DNSCHECK_FAIL, "tls-rpt", want->domain, fix.ptr,
			     "the TLS-RPT record has no rua=");
	else if (strstr(got.ptr, want->tls_rpt_rua) == NULL)
		dnscheck_add(r, DNSCHECK_WARN, "tls-rpt", want->domain, fix.ptr,
			     "reports go to %s, not %s ([publish] tls_rpt_rua)",
			     got.ptr, want->tls_rpt_rua);
	else
		dnscheck_add(r, DNSCHECK_PASS, "tls-rpt", want->domain, NULL,
			     "reports go to %s", got.ptr);
	buf_free(&fix);
	buf_free(&v);
	buf_free(&name);
	buf_free(&got);
}
