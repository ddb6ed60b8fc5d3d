/* libFuzzer target for src/mail/aliases: any input either fails with a
 * "NAME:LINE: reason" message or gives a table whose invariants hold and
 * whose every entry is found again by a lookup in another case. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/aliases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct aliases *a, const struct alias_entry *e)
{
	char upper[ALIASES_MAX_NAME + 1];
	size_t n = strlen(e->name);

	if (n == 0 || n > ALIASES_MAX_NAME || strchr(e->name, '@') != NULL ||
	    e->ntargets == 0 || e->ntargets > ALIASES_MAX_TARGETS || e->line == 0)
		abort();
	for (size_t i = 0; i <= n; i++)
		upper[i] = (e->name[i] >= 'a' && e->name[i] <= 'z') ?
			(char)(e->name[i] - 32) : e->name[i];
	if (aliases_lookup(a, upper) != e)
		abort();
	for (size_t i = 0; i < e->ntargets; i++) {
		const struct alias_target *t = &e->targets[i];

		if (t->value[0] == '\0' || strlen(t->value) > ALIASES_MAX_TARGET ||
		    strcmp(alias_kind_name(t->kind), "unknown") == 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT;
	struct aliases *a;

	if (aliases_parse("f", (const char *)data, size, &a, &err) < 0) {
		if (a != NULL || strncmp(buf_cstr(&err), "f:", 2) != 0)
			abort();
	} else {
		if (err.len != 0 || aliases_count(a) > ALIASES_MAX_ENTRIES)
			abort();
		for (size_t i = 0; i < aliases_count(a); i++)
			check_entry(a, aliases_entry(a, i));
		aliases_free(a);
	}
	buf_free(&err);
	return 0;
}
