/* mx: from DNS answers (given as data; nothing is queried here) to the
 * ordered list of hosts and addresses outbound delivery tries (RFC 5321
 * §5.1): MX by preference with random order among equals, implicit MX,
 * null MX (RFC 7505), our own name pruned, an address family preference
 * and a cap on what is tried. */
#ifndef MK_MX_H
#define MK_MX_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/dnsq.h"

/* Default cap on MX hosts (and on addresses) tried per delivery. */
#define MX_HOSTS_DEFAULT_MAX 10
#define MX_ADDR_MAX 46		/* INET6_ADDRSTRLEN */

enum mx_family {
	MX_FAMILY_ANY_V6_FIRST,	/* both, IPv6 addresses first (default) */
	MX_FAMILY_ANY_V4_FIRST,	/* both, IPv4 addresses first */
	MX_FAMILY_V4_ONLY,
	MX_FAMILY_V6_ONLY,
};

/* Returns 0..n-1; tests inject their own. NULL: arc4random_uniform. */
typedef unsigned mx_random_fn(void *arg, unsigned n);

struct mx_options {
	size_t max_hosts;		/* 0: MX_HOSTS_DEFAULT_MAX */
	enum mx_family family;
	const char *self;		/* our host name: MX loop pruning; NULL: none */
	mx_random_fn *random;
	void *random_arg;
};

enum mx_status { MX_OK, MX_TEMPFAIL, MX_PERMFAIL };

struct mx_host {
	char name[DNSQ_NAME_MAX + 1];	/* lower case, no trailing dot */
	unsigned pref;
	bool implicit;			/* no MX: the domain itself (RFC 5321 §5.1) */
};

struct mx_list {
	struct mx_host *hosts;
	size_t n;
};

struct mx_target {
	const struct mx_host *host;	/* points into the mx_list */
	char addr[MX_ADDR_MAX];		/* "192.0.2.1" or "2001:db8::1" */
	int family;			/* AF_INET or AF_INET6 */
};

struct mx_targets {
	struct mx_target *t;
	size_t n;
	size_t max;			/* cap (from the options) */
	bool tempfail;			/* an address lookup failed temporarily */
};

/* Order the MX answer for domain into hosts. On failure *status_r is the
 * enhanced status ("5.1.10" null MX, "5.1.2" no such domain, "4.4.3" DNS
 * failure, "5.4.6" MX points back to us) and *error_r says why. */
enum mx_status mx_list_build(const char *domain, const struct dnsq_answer *mx,
			     const struct mx_options *opt, struct mx_list *out,
			     const char **status_r, const char **error_r);
void mx_list_free(struct mx_list *l);

void mx_targets_init(struct mx_targets *t, const struct mx_options *opt);
/* Add host's addresses from its A and AAAA answers (either may be NULL when
 * not asked for), in the preferred family order, up to the cap. Address
 * lookups are done for names only: an MX naming an IP literal is looked
 * up as a name, and fails. */
void mx_targets_add(struct mx_targets *t, const struct mx_host *host,
		    const struct dnsq_answer *a, const struct dnsq_answer *aaaa,
		    const struct mx_options *opt);
/* After all hosts: MX_OK when something can be tried, else TEMPFAIL
 * ("4.4.3") when a lookup failed temporarily, else PERMFAIL ("5.4.4"). */
enum mx_status mx_targets_finish(const struct mx_targets *t,
				 const char **status_r, const char **error_r);
void mx_targets_free(struct mx_targets *t);

#endif
