/* libFuzzer target for src/smtp/mtasts_policy: the input is parsed as a
 * policy file and as a TXT record; a parsed policy must hold its
 * invariants (capped max_age, bounded, well-formed mx patterns that match
 * themselves), and the first line is matched against its patterns. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/mtasts_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_policy(const struct mtasts_policy *p, const char *host)
{
	assert(p->max_age <= MTASTS_MAX_AGE_MAX);
	assert(p->nmx <= MTASTS_MX_MAX);
	assert(p->mode != MTASTS_MODE_NONE || p->nmx > 0 || p->mx == NULL);
	for (size_t i = 0; i < p->nmx; i++) {
		const char *m = p->mx[i];
		assert(*m != '\0' && strlen(m) <= MTASTS_MX_LEN_MAX);
		if (m[0] != '*')	/* a plain name matches itself */
			assert(mtasts_mx_match(m, m));
	}
	(void)mtasts_policy_allows(p, host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *why = NULL;
	char id[MTASTS_ID_MAX + 1];
	struct mtasts_policy p;
	char host[256];
	const char *nl = memchr(data, '\n', size);
	size_t hl = nl != NULL ? (size_t)(nl - text) : size;

	if (hl >= sizeof(host))
		hl = sizeof(host) - 1;
	memcpy(host, data, hl);
	host[hl] = '\0';
	if (mtasts_policy_parse(text, size, &p, &why) == 0)
		check_policy(&p, host);
	else
		assert(why != NULL && p.mx == NULL);
	mtasts_policy_free(&p);
	if (mtasts_txt_parse(text, size, id, &why) == MTASTS_TXT_OK)
		assert(strlen(id) >= 1 && strlen(id) <= MTASTS_ID_MAX);
	return 0;
}
