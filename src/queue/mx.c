/* mx: ordering of MX hosts and their addresses (RFC 5321 §5.1, RFC 7505).
 * Pure: DNS answers come in as data, randomness through an injectable
 * function, so every rule is unit-tested. */
#include "queue/mx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"

static unsigned default_random(void *arg, unsigned n)
{
	(void)arg;
	return arc4random_uniform(n);
}

static size_t cap_of(const struct mx_options *opt)
{
	return opt->max_hosts ? opt->max_hosts : MX_HOSTS_DEFAULT_MAX;
}

/* Copy a DNS name, lower case, without the trailing dot; -1 if too long. */
static int name_copy(char *dst, const char *src, size_t len)
{
	if (len > 0 && src[len - 1] == '.')
		len--;
	if (len > DNSQ_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[len] = '\0';
	return 0;
}

/* "pref exchange" -> host; -1 for a malformed record. The null MX
 * exchange "." comes back as an empty name. */
static int parse_mx_rr(const char *rr, size_t len, struct mx_host *h)
{
	unsigned long pref = 0;
	size_t i = 0;

	while (i < len && isdigit((unsigned char)rr[i]) && pref <= 65535)
		pref = pref * 10 + (unsigned long)(rr[i++] - '0');
	if (i == 0 || pref > 65535 || i >= len || rr[i] != ' ')
		return -1;
	while (i < len && rr[i] == ' ')
		i++;
	if (memchr(rr + i, ' ', len - i) != NULL || memchr(rr + i, '\0', len - i) != NULL)
		return -1;
	h->pref = (unsigned)pref;
	h->implicit = false;
	return name_copy(h->name, rr + i, len - i);
}

static int cmp_pref(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* RFC 5321 §5.1: random order among hosts of equal preference. */
static void shuffle_equal(struct mx_list *l, const struct mx_options *opt)
{
	mx_random_fn *rnd = opt->random ? opt->random : default_random;

	for (size_t start = 0, end; start < l->n; start = end) {
		for (end = start + 1; end < l->n && l->hosts[end].pref == l->hosts[start].pref; end++)
			;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + rnd(opt->random_arg, (unsigned)(i - start + 1));
			struct mx_host tmp = l->hosts[i];

			l->hosts[i] = l->hosts[j];
			l->hosts[j] = tmp;
		}
	}
}

/* RFC 5321 §5.1: if we are in the list, drop us and every host of equal
 * or worse preference; -1 when nothing is left (a mail loop). */
static int prune_self(struct mx_list *l, const char *self)
{
	if (self == NULL || self[0] == '\0')
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!str_ieq(l->hosts[i].name, self))
			continue;
		size_t keep = 0;

		while (keep < l->n && l->hosts[keep].pref < l->hosts[i].pref)
			keep++;
		l->n = keep;
		return keep == 0 ? -1 : 0;
	}
	return 0;
}

static enum mx_status fail(enum mx_status st, const char *status, const char *why,
			   const char **status_r, const char **error_r)
{
	*status_r = status;
	*error_r = why;
	return st;
}

static enum mx_status implicit_mx(const char *domain, struct mx_list *out,
				  const char **status_r, const char **error_r)
{
	out->hosts = xcalloc(1, sizeof(*out->hosts));
	if (name_copy(out->hosts[0].name, domain, strlen(domain)) < 0) {
		mx_list_free(out);
		return fail(MX_PERMFAIL, "5.1.2", "domain name too long", status_r, error_r);
	}
	out->hosts[0].implicit = true;
	out->n = 1;
	return MX_OK;
}

enum mx_status mx_list_build(const char *domain, const struct dnsq_answer *mx,
			     const struct mx_options *opt, struct mx_list *out,
			     const char **status_r, const char **error_r)
{
	out->hosts = NULL;
	out->n = 0;
	*status_r = "";
	*error_r = "";
	if (mx->rcode == DNSQ_TEMPFAIL)
		return fail(MX_TEMPFAIL, "4.4.3", "MX lookup failed temporarily", status_r, error_r);
	if (mx->rcode == DNSQ_NXDOMAIN)
		return fail(MX_PERMFAIL, "5.1.2", "the recipient domain does not exist", status_r, error_r);
	if (mx->rcode == DNSQ_NODATA || mx->n == 0)
		return implicit_mx(domain, out, status_r, error_r);
	out->hosts = xcalloc(mx->n, sizeof(*out->hosts));
	for (size_t i = 0; i < mx->n; i++) {
		size_t len = mx->rr_len ? mx->rr_len[i] : strlen(mx->rr[i]);
		struct mx_host *h = &out->hosts[out->n];

		if (parse_mx_rr(mx->rr[i], len, h) < 0)
			continue;
		if (h->name[0] == '\0') {	/* RFC 7505 §3: null MX */
			if (mx->n == 1) {
				mx_list_free(out);
				return fail(MX_PERMFAIL, "5.1.10",
					    "the recipient domain accepts no mail (null MX)",
					    status_r, error_r);
			}
			continue;
		}
		out->n++;
	}
	if (out->n == 0) {
		mx_list_free(out);
		return fail(MX_TEMPFAIL, "4.4.3", "no usable MX record", status_r, error_r);
	}
	qsort(out->hosts, out->n, sizeof(*out->hosts), cmp_pref);
	shuffle_equal(out, opt);
	if (prune_self(out, opt->self) < 0) {
		mx_list_free(out);
		return fail(MX_PERMFAIL, "5.4.6", "the MX records point back to this server (mail loop)",
			    status_r, error_r);
	}
	if (out->n > cap_of(opt))
		out->n = cap_of(opt);
	return MX_OK;
}

void mx_list_free(struct mx_list *l)
{
	free(l->hosts);
	l->hosts = NULL;
	l->n = 0;
}

void mx_targets_init(struct mx_targets *t, const struct mx_options *opt)
{
	t->t = NULL;
	t->n = 0;
	t->max = cap_of(opt);
	t->tempfail = false;
}

static void add_family(struct mx_targets *t, const struct mx_host *host,
		       const struct dnsq_answer *ans, int family)
{
	unsigned char bin[16];

	if (ans == NULL)
		return;
	if (ans->rcode == DNSQ_TEMPFAIL) {
		t->tempfail = true;
		return;
	}
	if (ans->rcode != DNSQ_OK)
		return;
	for (size_t i = 0; i < ans->n && t->n < t->max; i++) {
		struct mx_target *x;

		if ((ans->rr_len && memchr(ans->rr[i], '\0', ans->rr_len[i])) ||
		    inet_pton(family, ans->rr[i], bin) != 1)
			continue;	/* not an address of this family */
		t->t = xreallocarray(t->t, t->n + 1, sizeof(*t->t));
		x = &t->t[t->n++];
		x->host = host;
		x->family = family;
		str_copy(x->addr, sizeof(x->addr), ans->rr[i]);
	}
}

void mx_targets_add(struct mx_targets *t, const struct mx_host *host,
		    const struct dnsq_answer *a, const struct dnsq_answer *aaaa,
		    const struct mx_options *opt)
{
	switch (opt->family) {
	case MX_FAMILY_ANY_V6_FIRST:
		add_family(t, host, aaaa, AF_INET6);
		add_family(t, host, a, AF_INET);
		break;
	case MX_FAMILY_ANY_V4_FIRST:
		add_family(t, host, a, AF_INET);
		add_family(t, host, aaaa, AF_INET6);
		break;
	case MX_FAMILY_V4_ONLY:
		add_family(t, host, a, AF_INET);
		break;
	case MX_FAMILY_V6_ONLY:
		add_family(t, host, aaaa, AF_INET6);
		break;
	}
}

enum mx_status mx_targets_finish(const struct mx_targets *t,
				 const char **status_r, const char **error_r)
{
	*status_r = "";
	*error_r = "";
	if (t->n > 0)
		return MX_OK;
	if (t->tempfail)
		return fail(MX_TEMPFAIL, "4.4.3", "address lookup of the mail hosts failed temporarily",
			    status_r, error_r);
	return fail(MX_PERMFAIL, "5.4.4", "no address found for any mail host of the domain",
		    status_r, error_r);
}

void mx_targets_free(struct mx_targets *t)
{
	free(t->t);
	t->t = NULL;
	t->n = 0;
}
