/* resolve: recipient resolution over the user database and the aliases
 * file; the algorithm and its rules are described in resolve.h. */
#include "auth/resolve.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "mail/addr.h"

struct resolve_state {
	const struct resolve_ctx *ctx;
	struct resolve_result *out;
	char **visited;			/* every address expanded so far */
	size_t nvisited;
	const char *path[RESOLVE_MAX_DEPTH + 1]; /* addresses being expanded */
	size_t npath;
	bool loop;			/* a branch led back onto path */
	enum resolve_status status;	/* set on a hard failure */
	const char *error;
};

static int expand(struct resolve_state *st, const char *addr, unsigned depth);

static int hard_fail(struct resolve_state *st, enum resolve_status status,
		     const char *error)
{
	st->status = status;
	st->error = error;
	return -1;
}

static const char *safe(char *out, size_t size, const char *s)
{
	return log_safe(out, (unsigned)size, s, (unsigned)strlen(s));
}

/* ---- result ---- */

static size_t delivered(const struct resolve_state *st)
{
	return st->out->naccounts + st->out->nremote;
}

static void add_account(struct resolve_state *st, int64_t id, const char *addr)
{
	struct resolve_result *r = st->out;

	for (size_t i = 0; i < r->naccounts; i++)
		if (r->accounts[i] == id)
			return;
	r->accounts = xrealloc(r->accounts, (r->naccounts + 1) * sizeof(int64_t));
	r->account_addrs = xrealloc(r->account_addrs,
				    (r->naccounts + 1) * sizeof(char *));
	r->accounts[r->naccounts] = id;
	r->account_addrs[r->naccounts++] = xstrdup(addr);
}

static void add_remote(struct resolve_state *st, const char *addr)
{
	struct resolve_result *r = st->out;

	for (size_t i = 0; i < r->nremote; i++)
		if (strcmp(r->remote[i], addr) == 0)
			return;
	r->remote = xrealloc(r->remote, (r->nremote + 1) * sizeof(char *));
	r->remote[r->nremote++] = xstrdup(addr);
}

/* The account addr itself, if there is one: 1 added, 0 none, -1 error. */
static int mailbox(struct resolve_state *st, const char *addr)
{
	int64_t id;
	int rc = userdb_user_lookup(st->ctx->db, addr, &id);

	if (rc == 0 && st->ctx->system_account != NULL)
		rc = st->ctx->system_account(st->ctx->system_arg, addr, &id);
	if (rc < 0)
		return hard_fail(st, RESOLVE_TEMPFAIL, "user database error");
	if (rc == 1)
		add_account(st, id, addr);
	return rc;
}

/* ---- helpers ---- */

static int is_local(struct resolve_state *st, const char *domain)
{
	const struct resolve_ctx *ctx = st->ctx;
	int rc;

	for (size_t i = 0; i < ctx->nconfig_domains; i++)
		if (str_ieq(ctx->config_domains[i], domain))
			return 1;
	rc = userdb_domain_exists(ctx->db, domain);
	if (rc < 0)
		return hard_fail(st, RESOLVE_TEMPFAIL, "user database error");
	return rc;
}

/* Canonical local@domain into out (local unquoted, re-quoted as needed):
 * 0, or -1 when that is not an address. */
static int canonical(const char *local, const char *domain, struct buf *out)
{
	struct mail_addr a = { .null = false };
	struct buf raw = BUF_INIT;
	int rc = -1;

	if (str_copy(a.local, sizeof(a.local), local) == 0 &&
	    str_copy(a.domain, sizeof(a.domain), domain) == 0) {
		mail_addr_format(&a, &raw);
		rc = userdb_address_normalize(buf_cstr(&raw), out, NULL);
	}
	buf_free(&raw);
	return rc;
}

static bool on_path(const struct resolve_state *st, const char *addr)
{
	for (size_t i = 0; i < st->npath; i++)
		if (strcmp(st->path[i], addr) == 0)
			return true;
	return false;
}

static bool seen(const struct resolve_state *st, const char *addr)
{
	for (size_t i = 0; i < st->nvisited; i++)
		if (strcmp(st->visited[i], addr) == 0)
			return true;
	return false;
}

static void warn_target(const char *what, const char *target,
			const char *reason)
{
	char a[256], b[256];

	log_warn("resolve alias=%s target=%s: %s, skipped",
		 safe(a, sizeof(a), what), safe(b, sizeof(b), target), reason);
}

/* ---- steps 2-4 ---- */

/* A target of alias self: the alias itself means the mailbox (Postfix). */
static int expand_target(struct resolve_state *st, const char *self,
			 const char *target, unsigned depth)
{
	int rc;

	if (strcmp(target, self) != 0)
		return expand(st, target, depth + 1);
	rc = mailbox(st, self);
	if (rc == 0)
		warn_target(self, target, "names itself but is no account");
	return rc < 0 ? -1 : 0;
}

/* Step 2 (and 6 with "@D"): 1 alias found and expanded, 0 none, -1. */
static int db_alias(struct resolve_state *st, const char *alias,
		    const char *self, unsigned depth)
{
	struct userdb_strv t;
	int rc = userdb_alias_lookup(st->ctx->db, alias, &t);

	if (rc < 0)
		return hard_fail(st, RESOLVE_TEMPFAIL, "user database error");
	for (size_t i = 0; rc == 1 && i < t.n; i++)
		if (expand_target(st, self, t.v[i], depth) < 0)
			rc = -1;
	userdb_strv_free(&t);
	return rc;
}

/* One aliases-file target as a canonical address in out; -1 to skip it. */
static int file_target(const struct resolve_state *st,
		       const struct alias_target *t, struct buf *out)
{
	if (t->kind == ALIAS_LOCAL)
		return canonical(t->value, st->ctx->primary_domain, out);
	if (t->kind == ALIAS_ADDRESS)
		return userdb_address_normalize(t->value, out, NULL);
	return -1;
}

static int file_expand_one(struct resolve_state *st, const struct alias_entry *e,
			   const struct alias_target *t, const char *self,
			   unsigned depth)
{
	struct buf a = BUF_INIT, w = BUF_INIT;
	const char *where;
	int rc = 0;

	buf_printf(&w, "%s:%u", aliases_name(st->ctx->aliases), e->line);
	where = w.ptr;
	if (t->kind != ALIAS_LOCAL && t->kind != ALIAS_ADDRESS)
		warn_target(where, t->value, t->kind == ALIAS_COMMAND ?
			    "commands are not supported" : t->kind == ALIAS_FILE ?
			    "file targets are not supported" :
			    ":include: is not supported");
	else if (file_target(st, t, &a) < 0)
		warn_target(where, t->value, "not a valid address");
	else if (t->mailbox && (rc = mailbox(st, a.ptr)) == 0)
		warn_target(where, t->value, "no such account");
	else if (!t->mailbox)
		rc = expand_target(st, self, a.ptr, depth);
	buf_free(&a);
	buf_free(&w);
	return rc < 0 ? -1 : 0;
}

/* Step 4: 1 entry found and expanded, 0 none, -1 failure. */
static int file_alias(struct resolve_state *st, const char *local,
		      const char *self, unsigned depth)
{
	const struct alias_entry *e;

	if (st->ctx->aliases == NULL || st->ctx->primary_domain == NULL)
		return 0;
	e = aliases_lookup(st->ctx->aliases, local);
	if (e == NULL)
		return 0;
	for (size_t i = 0; i < e->ntargets; i++)
		if (file_expand_one(st, e, &e->targets[i], self, depth) < 0)
			return -1;
	return 1;
}

/* Steps 2-4 for the canonical addr = local@D: 1 matched, 0 not, -1. */
static int try_name(struct resolve_state *st, const char *addr,
		    const char *local, unsigned depth)
{
	int rc = db_alias(st, addr, addr, depth);

	if (rc == 0)
		rc = mailbox(st, addr);
	if (rc == 0)
		rc = file_alias(st, local, addr, depth);
	return rc;
}

/* ---- steps 5-7 ---- */

/* L' = L up to the first delimiter character into base; false if L has
 * no delimiter or starts with one. */
static bool base_local(const struct resolve_state *st, const char *local,
		       char base[MAIL_LOCAL_MAX + 1])
{
	const char *delim = st->ctx->delimiter;
	size_t n;

	if (delim == NULL || delim[0] == '\0')
		return false;
	n = strcspn(local, delim);
	if (n == 0 || local[n] == '\0')
		return false;
	memcpy(base, local, n);
	base[n] = '\0';
	return true;
}

/* Step 5: steps 2-4 for L'@D (sub-addressing, alice+news -> alice). */
static int try_base(struct resolve_state *st, const char *base,
		    const char *domain, unsigned depth)
{
	struct buf addr = BUF_INIT;
	int rc = 0;

	if (canonical(base, domain, &addr) == 0)
		rc = try_name(st, addr.ptr, base, depth);
	buf_free(&addr);
	return rc;
}

/* Step 7: postmaster@D, abuse@D reach postmaster@PRIMARY or the first
 * account of PRIMARY. */
static int role_default(struct resolve_state *st, const char *local,
			const char *addr, unsigned depth)
{
	const char *primary = st->ctx->primary_domain;
	struct buf pm = BUF_INIT, first = BUF_INIT;
	size_t before = delivered(st);
	int64_t id;
	int rc = 0;

	if (primary == NULL || (!str_ieq(local, "postmaster") &&
				!str_ieq(local, "abuse")))
		return 0;
	if (canonical("postmaster", primary, &pm) == 0 &&
	    strcmp(pm.ptr, addr) != 0)
		rc = expand(st, pm.ptr, depth + 1);
	if (rc == 0 && delivered(st) == before) {
		rc = userdb_user_first_in_domain(st->ctx->db, primary, &id, &first);
		if (rc < 0)
			hard_fail(st, RESOLVE_TEMPFAIL, "user database error");
		if (rc == 1)
			add_account(st, id, first.ptr);
	}
	buf_free(&pm);
	buf_free(&first);
	return rc < 0 ? -1 : delivered(st) > before;
}

/* Step 6: the catch-all "@D". */
static int catch_all(struct resolve_state *st, const char *domain,
		     const char *addr, unsigned depth)
{
	struct buf alias = BUF_INIT;
	int rc;

	buf_printf(&alias, "@%s", domain);
	rc = db_alias(st, alias.ptr, addr, depth);
	buf_free(&alias);
	return rc;
}

/* Steps 2-8 for a canonical address in a local domain. */
static int expand_local(struct resolve_state *st, const char *addr,
			unsigned depth)
{
	char base[MAIL_LOCAL_MAX + 1];
	struct mail_addr a;
	bool has_base;
	int rc;

	if (mail_addr_parse(addr, strlen(addr), MAIL_ADDR_ALLOW_UTF8, &a,
			    NULL) < 0)
		return 0;
	has_base = base_local(st, a.local, base);
	rc = try_name(st, addr, a.local, depth);
	if (rc == 0 && has_base)
		rc = try_base(st, base, a.domain, depth);
	if (rc == 0)
		rc = catch_all(st, a.domain, addr, depth);
	if (rc == 0)
		rc = role_default(st, has_base ? base : a.local, addr, depth);
	if (rc == 0 && depth > 0)
		warn_target(st->path[st->npath - 2], addr, "no such user");
	return rc < 0 ? -1 : 0;
}

/* Expand one canonical address reached at depth (0 = the recipient). */
static int expand(struct resolve_state *st, const char *addr, unsigned depth)
{
	int rc;

	if (on_path(st, addr)) {
		/* back to an address being expanded: its mailbox, or a loop */
		rc = mailbox(st, addr);
		st->loop |= rc == 0;
		return rc < 0 ? -1 : 0;
	}
	if (seen(st, addr))
		return 0;
	if (depth > RESOLVE_MAX_DEPTH)
		return hard_fail(st, RESOLVE_LOOP, "aliases nested too deeply");
	if (st->nvisited >= RESOLVE_MAX_ADDRESSES)
		return hard_fail(st, RESOLVE_TEMPFAIL,
				 "alias expansion reaches too many addresses");
	st->visited = xrealloc(st->visited, (st->nvisited + 1) * sizeof(char *));
	st->visited[st->nvisited++] = xstrdup(addr);
	st->path[st->npath++] = addr;
	rc = is_local(st, strrchr(addr, '@') + 1);
	if (rc == 0)
		add_remote(st, addr);
	else if (rc == 1)
		rc = expand_local(st, addr, depth);
	st->npath--;
	return rc < 0 ? -1 : 0;
}

/* ---- entry points ---- */

/* The recipient as a canonical address; no '@' means @PRIMARY. */
static int recipient(const struct resolve_ctx *ctx, const char *address,
		     struct buf *out)
{
	if (strchr(address, '@') != NULL)
		return userdb_address_normalize(address, out, NULL);
	if (ctx->primary_domain == NULL)
		return -1;
	return canonical(address, ctx->primary_domain, out);
}

static enum resolve_status finish(struct resolve_state *st, int rc,
				  const char **error_r)
{
	for (size_t i = 0; i < st->nvisited; i++)
		free(st->visited[i]);
	free(st->visited);
	if (rc == 0 && delivered(st) == 0)
		hard_fail(st, st->loop ? RESOLVE_LOOP : RESOLVE_UNKNOWN,
			  st->loop ? "alias loop" : "no such user");
	if (st->status != RESOLVE_OK)
		resolve_result_free(st->out);
	if (error_r != NULL)
		*error_r = st->error;
	return st->status;
}

enum resolve_status resolve_address(const struct resolve_ctx *ctx,
				    const char *address,
				    struct resolve_result *out,
				    const char **error_r)
{
	struct resolve_state st = { .ctx = ctx, .out = out };
	struct buf addr = BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (recipient(ctx, address, &addr) < 0)
		rc = hard_fail(&st, RESOLVE_UNKNOWN, "invalid address");
	else if ((rc = is_local(&st, strrchr(addr.ptr, '@') + 1)) == 0)
		rc = hard_fail(&st, RESOLVE_NOT_LOCAL, "not a local domain");
	else if (rc == 1)
		rc = expand(&st, addr.ptr, 0);
	buf_free(&addr);
	return finish(&st, rc, error_r);
}

void resolve_result_free(struct resolve_result *r)
{
	for (size_t i = 0; i < r->naccounts; i++)
		free(r->account_addrs[i]);
	for (size_t i = 0; i < r->nremote; i++)
		free(r->remote[i]);
	free(r->accounts);
	free(r->account_addrs);
	free(r->remote);
	memset(r, 0, sizeof(*r));
}

const char *resolve_status_name(enum resolve_status s)
{
	static const char *const names[] = {
		[RESOLVE_OK] = "ok",	       [RESOLVE_UNKNOWN] = "unknown",
		[RESOLVE_NOT_LOCAL] = "not-local", [RESOLVE_LOOP] = "loop",
		[RESOLVE_TEMPFAIL] = "tempfail",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
