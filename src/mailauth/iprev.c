/* iprev: forward-confirmed reverse DNS (RFC 8601 §3, results §2.7.3).
 * Each question is asked once and its answer handled as it arrives, so
 * no cache is kept: PTR first, then one A/AAAA per PTR name in order. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/xalloc.h"
#include "mailauth/iprev.h"

enum iprev_phase {
	IP_PTR,		/* the PTR question is next / outstanding */
	IP_FORWARD,	/* forward lookups of names[next] */
	IP_DONE,
};

struct iprev {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	char ip[INET6_ADDRSTRLEN];
	char revname[80];		/* 4.3.2.1.in-addr.arpa / nibbles.ip6.arpa */

	enum iprev_phase phase;
	size_t n, next;
	char *names[IPREV_MAX_NAMES];
	bool tempfail;			/* a forward lookup failed temporarily */

	struct dnsq q;
	bool waiting;
	enum iprev_result result;
	const char *host;
	char reason[160];
};

const char *iprev_result_name(enum iprev_result r)
{
	static const char *const names[] = {
		[IPREV_PASS] = "pass", [IPREV_FAIL] = "fail",
		[IPREV_TEMPERROR] = "temperror",
		[IPREV_PERMERROR] = "permerror",
		[IPREV_NEED_DNS] = "need-dns",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static void finish(struct iprev *v, enum iprev_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void finish(struct iprev *v, enum iprev_result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	for (char *p = v->reason; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	}
	v->result = r;
	v->phase = IP_DONE;
}

/* The reverse-mapping name (RFC 1035 §3.5, RFC 3596 §2.5). */
static void make_revname(struct iprev *v)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *a = v->addr;
	size_t o = 0;

	if (v->family == AF_INET) {
		snprintf(v->revname, sizeof(v->revname),
			 "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return;
	}
	for (int i = 15; i >= 0; i--) {
		v->revname[o++] = hex[a[i] & 0xf];
		v->revname[o++] = '.';
		v->revname[o++] = hex[a[i] >> 4];
		v->revname[o++] = '.';
	}
	memcpy(v->revname + o, "ip6.arpa", sizeof("ip6.arpa"));
}

/* Parse ip into family/addr; IPv4-mapped IPv6 becomes IPv4. */
static bool parse_ip(const char *s, int *family, unsigned char addr[16])
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) != 1)
		return false;
	*family = AF_INET6;
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	}
	return true;
}

struct iprev *iprev_new(const char *ip)
{
	struct iprev *v = xcalloc(1, sizeof(*v));

	if (ip == NULL || !parse_ip(ip, &v->family, v->addr)) {
		finish(v, IPREV_PERMERROR, "invalid client address");
		return v;
	}
	inet_ntop(v->family, v->addr, v->ip, sizeof(v->ip));
	make_revname(v);
	return v;
}

/* A host name we will look up: LDH labels (and '_'), 1..63 octets each,
 * 253 in all; the copy drops a trailing dot and is lower-cased. */
static char *host_name(const char *s, size_t len)
{
	size_t label = 0;
	char *name;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSQ_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.' ? label == 0 : ++label > 63)
			return NULL;
		if (c == '.')
			label = 0;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return NULL;
	}
	name = xstrndup(s, len);
	str_lower(name);
	return name;
}

/* The PTR answer: keep up to IPREV_MAX_NAMES usable names. */
static void ptr_answer(struct iprev *v, const struct dnsq_answer *a)
{
	char *name;

	if (a->rcode == DNSQ_TEMPFAIL) {
		finish(v, IPREV_TEMPERROR, "DNS error looking up PTR %s",
		       v->revname);
		return;
	}
	for (size_t i = 0; a->rcode == DNSQ_OK && i < a->n; i++) {
		size_t len = a->rr_len != NULL ? a->rr_len[i] : strlen(a->rr[i]);

		if (v->n == IPREV_MAX_NAMES || memchr(a->rr[i], '\0', len))
			continue;
		if ((name = host_name(a->rr[i], len)) != NULL)
			v->names[v->n++] = name;
	}
	if (v->n == 0) {
		finish(v, IPREV_PERMERROR, "no PTR record for %s", v->ip);
		return;
	}
	v->phase = IP_FORWARD;
}

/* Does any address record of the answer equal the client address? */
static bool forward_match(const struct iprev *v, const struct dnsq_answer *a)
{
	unsigned char addr[16];

	for (size_t i = 0; a->rcode == DNSQ_OK && i < a->n; i++) {
		if (a->rr_len != NULL && strlen(a->rr[i]) != a->rr_len[i])
			continue;
		if (inet_pton(v->family, a->rr[i], addr) == 1 &&
		    memcmp(addr, v->addr, v->family == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

static void forward_answer(struct iprev *v, const struct dnsq_answer *a)
{
	const char *name = v->names[v->next++];

	if (forward_match(v, a)) {
		v->host = name;
		finish(v, IPREV_PASS, "%s is %s", v->ip, name);
		return;
	}
	if (a->rcode == DNSQ_TEMPFAIL)
		v->tempfail = true;
	if (v->next < v->n)
		return;
	if (v->tempfail)
		finish(v, IPREV_TEMPERROR, "DNS error confirming PTR of %s",
		       v->ip);
	else
		finish(v, IPREV_FAIL, "no PTR name of %s resolves to it",
		       v->ip);
}

enum iprev_result iprev_step(struct iprev *v, struct dnsq *q)
{
	if (v->phase == IP_DONE)
		return v->result;
	if (!v->waiting) {
		if (v->phase == IP_PTR) {
			v->q.type = DNSQ_PTR;
			str_copy(v->q.name, sizeof(v->q.name), v->revname);
		} else {
			v->q.type = v->family == AF_INET ? DNSQ_A : DNSQ_AAAA;
			str_copy(v->q.name, sizeof(v->q.name),
				 v->names[v->next]);
		}
		v->waiting = true;
	}
	*q = v->q;
	return IPREV_NEED_DNS;
}

void iprev_answer(struct iprev *v, const struct dnsq_answer *a)
{
	if (!v->waiting || v->phase == IP_DONE)
		return;
	v->waiting = false;
	if (v->phase == IP_PTR)
		ptr_answer(v, a);
	else
		forward_answer(v, a);
}

const char *iprev_ip(const struct iprev *v)
{
	return v->ip;
}

const char *iprev_host(const struct iprev *v)
{
	return v->phase == IP_DONE && v->result == IPREV_PASS ? v->host : NULL;
}

const char *iprev_reason(const struct iprev *v)
{
	return v->reason;
}

void iprev_free(struct iprev *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->names[i]);
	free(v);
}
