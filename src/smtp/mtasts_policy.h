/* mtasts_policy: the pure half of MTA-STS (RFC 8461), shared by the queue's
 * SMTP client and `dns check`: the `_mta-sts` TXT record (§3.1), the
 * policy file (§3.2) and MX host matching (§4.1). No I/O. */
#ifndef MK_MTASTS_POLICY_H
#define MK_MTASTS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* §3.1: id = 1*32(ALPHA / DIGIT). */
#define MTASTS_ID_MAX 32
/* §3.3: senders may cap the policy body; 64 KiB is the RFC's example. */
#define MTASTS_POLICY_MAX (64 * 1024)
/* §3.2: max_age is at most 31557600 seconds (about a year). */
#define MTASTS_MAX_AGE_MAX 31557600u
/* Most mx: lines kept from one policy (more are a malformed policy). */
#define MTASTS_MX_MAX 64
/* Longest mx: pattern ("*." + a 253-character name). */
#define MTASTS_MX_LEN_MAX 255

enum mtasts_mode {
	MTASTS_MODE_NONE,	/* §5: no policy (a domain turning MTA-STS off) */
	MTASTS_MODE_TESTING,	/* deliver as usual, report what would fail */
	MTASTS_MODE_ENFORCE,	/* listed MX hosts over verified TLS only */
};

struct mtasts_policy {
	enum mtasts_mode mode;
	uint64_t max_age;		/* seconds, capped at MTASTS_MAX_AGE_MAX */
	bool max_age_over;		/* the file said more than the cap */
	char **mx;			/* patterns, lower case: "mx.example.org", "*.example.net" */
	size_t nmx;
};

enum mtasts_txt {
	MTASTS_TXT_OK,		/* a valid v=STSv1 record; id filled */
	MTASTS_TXT_OTHER,	/* not an MTA-STS record (ignored, §3.1) */
	MTASTS_TXT_BAD,		/* starts with v=STSv1 but is malformed */
};

/* Parse one TXT record (§3.1): "v=STSv1; id=20160831085700Z;" and
 * extensions; id is NUL-terminated. */
enum mtasts_txt mtasts_txt_parse(const char *rec, size_t len,
				 char id[MTASTS_ID_MAX + 1], const char **error_r);
/* Choose among the TXT records of _mta-sts.DOMAIN: 1 when exactly one is a
 * v=STSv1 record and it is valid (id filled), 0 when none is, -1 when
 * there are several or the one is malformed (§3.1: then no policy). */
int mtasts_txt_select(const char *const *recs, const size_t *lens, size_t n,
		      char id[MTASTS_ID_MAX + 1], const char **error_r);

/* Parse a policy file (§3.2): LF or CRLF lines "key: value"; version,
 * mode and max_age required, mx required unless mode is none; unknown
 * keys ignored, a repeated key other than mx keeps its first value. */
int mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *p,
			const char **error_r);
void mtasts_policy_free(struct mtasts_policy *p);
/* §4.1: host (no trailing dot needed) matches pattern; "*.example.net"
 * stands for exactly one more leftmost label. ASCII case-insensitive. */
bool mtasts_mx_match(const char *pattern, const char *host);
/* Does any mx pattern of the policy match host? */
bool mtasts_policy_allows(const struct mtasts_policy *p, const char *host);
/* §5.1 asks senders to refresh a cached policy before it expires rather
 * than let it go cold: when a policy still in date is used, it is fetched
 * again in the background once half its lifetime, and at most
 * MTASTS_REFRESH_MAX seconds, has passed since it was fetched. */
#define MTASTS_REFRESH_MAX 86400
bool mtasts_refresh_due(time_t fetched, time_t expires, time_t now);
/* "none", "testing", "enforce". */
const char *mtasts_mode_name(enum mtasts_mode m);

#endif
