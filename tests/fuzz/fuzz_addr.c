/* libFuzzer target for src/mail/addr: paths and bare mailboxes under every
 * flag combination; whatever parses must format and parse back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* format(a), parsed again with the same flags, gives a back. */
static void round_trip(const struct mail_addr *a, unsigned flags)
{
	struct buf out = BUF_INIT;
	struct mail_addr b;
	const char *err;

	mail_addr_format(a, &out);
	if (mail_addr_parse(out.ptr ? out.ptr : "", out.len, flags, &b, &err) < 0 ||
	    memcmp(a, &b, sizeof(b)) != 0)
		abort();
	buf_free(&out);
}

static void check_fields(const struct mail_addr *a, unsigned flags)
{
	if (a->local[MAIL_LOCAL_MAX] != '\0' || a->domain[MAIL_DOMAIN_MAX] != '\0')
		abort();
	if (a->utf8 && !(flags & MAIL_ADDR_ALLOW_UTF8))
		abort();
	if (a->null && (!(flags & MAIL_ADDR_ALLOW_NULL) || a->local[0] != '\0'))
		abort();
	if (!a->null && a->domain[0] == '\0' && !(flags & MAIL_ADDR_ALLOW_NODOMAIN))
		abort();
	if (a->domain[0] != '\0' && !a->literal &&
	    !mail_domain_valid(a->domain, flags & MAIL_ADDR_ALLOW_UTF8))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1, *err;
	struct mail_addr a;
	size_t end, n;
	unsigned flags;
	char *copy;

	if (size < 1)
		return 0;
	n = size - 1;
	flags = data[0] & 7;
	if (mail_path_parse(s, n, flags, &a, &end, &err) == 0) {
		if (end < 2 || end > n || s[end - 1] != '>')
			abort();
		check_fields(&a, flags);
		round_trip(&a, flags);
	}
	if (mail_addr_parse(s, n, flags, &a, &err) == 0) {
		check_fields(&a, flags);
		round_trip(&a, flags);
	}
	copy = malloc(n + 1);
	memcpy(copy, s, n);
	copy[n] = '\0';
	(void)mail_domain_valid(copy, flags & 1);
	free(copy);
	return 0;
}
