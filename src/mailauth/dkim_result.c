/* dkim_result: names, defaults and the Authentication-Results form of a
 * DKIM result (RFC 8601 §2.7.1, header.a/s from RFC 7601, header.b from
 * RFC 6008). */
#include "mailauth/dkim.h"

#include <stdio.h>
#include <string.h>

void dkim_limits_default(struct dkim_limits *l)
{
	l->max_signatures = DKIM_MAX_SIGNATURES;
	l->max_header_fields = DKIM_MAX_HEADER_FIELDS;
	l->max_field_len = DKIM_MAX_FIELD_LEN;
	l->max_header_bytes = DKIM_MAX_HEADER_BYTES;
	l->max_tag_list = DKIM_MAX_TAG_LIST;
	l->max_signed_headers = DKIM_MAX_SIGNED_HEADERS;
	l->rsa_min_bits = DKIM_RSA_MIN_BITS;
	l->rsa_max_bits = DKIM_RSA_MAX_BITS;
	l->max_clock_skew = DKIM_MAX_CLOCK_SKEW;
}

const char *dkim_status_name(enum dkim_status s)
{
	switch (s) {
	case DKIM_PENDING:
		return "pending";
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		return "fail";
	case DKIM_NEUTRAL:
		return "neutral";
	case DKIM_POLICY:
		return "policy";
	case DKIM_TEMPERROR:
		return "temperror";
	case DKIM_PERMERROR:
		return "permerror";
	}
	return "?";
}

const char *dkim_algo_name(enum dkim_algo a)
{
	switch (a) {
	case DKIM_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_RSA_SHA1:
		return "rsa-sha1";
	case DKIM_ED25519_SHA256:
		return "ed25519-sha256";
	}
	return "?";
}

/* A property value: as it is when it is a plain [local-part "@"] domain,
 * else a quoted-string (RFC 8601 §2.2). */
static void append_value(struct buf *out, const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@+";

	if (s[0] != '\0' && strspn(s, plain) == strlen(s)) {
		buf_appends(out, s);
		return;
	}
	buf_appendc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_appendc(out, '\\');
		buf_appendc(out, *s);
	}
	buf_appendc(out, '"');
}

static void property(struct buf *out, const char *name, const char *value)
{
	if (value[0] == '\0')
		return;
	buf_printf(out, " header.%s=", name);
	append_value(out, value);
}

void dkim_result_format(const struct dkim_result *r, struct buf *out)
{
	buf_printf(out, "dkim=%s", dkim_status_name(r->status));
	if (r->status != DKIM_PASS && r->reason != NULL)
		buf_printf(out, " (%s)", r->reason);
	property(out, "d", r->domain);
	property(out, "i", r->identity);
	property(out, "s", r->selector);
	property(out, "a", r->algorithm);
	property(out, "b", r->header_b);
}
