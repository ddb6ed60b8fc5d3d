/* dmarc_org: the Organizational Domain (RFC 7489 §3.2) through libpsl,
 * and identifier alignment (§3.1). The public suffix list is loaded
 * once per process (before any sandbox closes the file system). */
#include <libpsl.h>
#include <string.h>

#include "lib/str.h"
#include "mailauth/dmarc.h"

static psl_ctx_t *psl_loaded;		/* from a file: ours to free */
static const psl_ctx_t *psl_ctx;

int dmarc_psl_load(const char *file, const char **error_r)
{
	psl_ctx_t *p = file != NULL ? psl_load_file(file) : psl_latest(NULL);

	if (p == NULL) {
		*error_r = "cannot load the public suffix list";
		return -1;
	}
	if (psl_loaded != NULL)
		psl_free(psl_loaded);
	psl_loaded = p;
	psl_ctx = p;
	return 0;
}

static const psl_ctx_t *psl_get(void)
{
	const char *error;

	if (psl_ctx == NULL && dmarc_psl_load(NULL, &error) < 0)
		psl_ctx = psl_builtin();
	return psl_ctx;
}

/* Labels of 1..63 octets, 253 in all, no control characters or spaces;
 * lower-cased copy without one trailing dot into out. */
static bool name_normalize(const char *s, char out[DMARC_DOMAIN_BUF])
{
	size_t len = strlen(s), label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSQ_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return false;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > 63) {
			return false;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[len] = '\0';
	return label > 0;
}

int dmarc_org_domain(const char *domain, char out[DMARC_DOMAIN_BUF])
{
	char name[DMARC_DOMAIN_BUF];
	const char *reg;

	if (domain == NULL || !name_normalize(domain, name))
		return -1;
	reg = psl_registrable_domain(psl_get(), name);
	if (reg == NULL)
		return -1;
	return str_copy(out, DMARC_DOMAIN_BUF, reg);
}

/* Lower-cased copy without leading and trailing dots; false if empty or
 * too long. */
static bool trim_dots(const char *s, char out[DMARC_DOMAIN_BUF])
{
	size_t len;

	while (*s == '.')
		s++;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSQ_NAME_MAX)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	str_lower(out);
	return true;
}

bool dmarc_aligned(const char *from_domain, const char *auth_domain,
		   enum dmarc_align mode)
{
	char a[DMARC_DOMAIN_BUF], b[DMARC_DOMAIN_BUF];
	char org_a[DMARC_DOMAIN_BUF], org_b[DMARC_DOMAIN_BUF];

	if (from_domain == NULL || auth_domain == NULL ||
	    !trim_dots(from_domain, a) || !trim_dots(auth_domain, b))
		return false;
	if (strcmp(a, b) == 0)
		return true;
	if (mode == DMARC_ALIGN_STRICT)
		return false;
	if (dmarc_org_domain(a, org_a) < 0)
		str_copy(org_a, sizeof(org_a), a);
	if (dmarc_org_domain(b, org_b) < 0)
		str_copy(org_b, sizeof(org_b), b);
	return strcmp(org_a, org_b) == 0;
}
