/* lookup: the daemon's view of users, aliases and domains. */
#include "auth/lookup.h"

#include "auth/pam_user.h"
#include "auth/userdb.h"
#include "daemon/proc.h"
#include "lib/log.h"
#include "mail/aliases.h"

static struct userdb *udb;
static struct aliases *aliases;

static void load_aliases(const struct config *cfg)
{
	struct buf err = BUF_INIT;
	struct aliases *next = NULL;

	if (!proc_aliases_set) {
		aliases_free(aliases);
		aliases = NULL;
		return;
	}
	if (aliases_parse(cfg->aliases_file, buf_cstr(&proc_aliases),
			  proc_aliases.len, &next, &err) < 0) {
		log_error("event=aliases status=failed reason=\"%s\" action=\"%s\"",
			  buf_cstr(&err), aliases ? "keeping the previous table" :
			  "no aliases file in use");
		buf_free(&err);
		return;
	}
	buf_free(&err);
	aliases_free(aliases);
	aliases = next;
}

int lookup_init(const struct config *cfg, const char **error_r)
{
	struct buf path = BUF_INIT;
	int r;

	config_data_path(cfg, "mailkeep.db", &path);
	r = userdb_open(&udb, path.ptr, error_r);
	buf_free(&path);
	if (r < 0)
		return -1;
	lookup_reload(cfg);
	return 0;
}

void lookup_reload(const struct config *cfg)
{
	userdb_set_config_domains(udb, (const char *const *)cfg->domains.v,
				  cfg->domains.n);
	load_aliases(cfg);
}

void lookup_shutdown(void)
{
	userdb_close(udb);
	udb = NULL;
	aliases_free(aliases);
	aliases = NULL;
}

/* [auth] pam: system users have an account from their first mail on. */
static int system_account(void *arg, const char *addr, int64_t *id_r)
{
	struct pam_map_config c;

	pam_user_config(arg, &c);
	return pam_user_account(&c, udb, addr, id_r);
}

enum resolve_status lookup_resolve(const struct config *cfg, const char *address,
				   struct resolve_result *out,
				   const char **error_r)
{
	struct resolve_ctx ctx = {
		.db = udb,
		.aliases = aliases,
		.primary_domain = cfg->domains.v[0],
		.config_domains = (const char *const *)cfg->domains.v,
		.nconfig_domains = cfg->domains.n,
		.delimiter = cfg->recipient_delimiter,
		.system_account = cfg->auth_pam ? system_account : NULL,
		.system_arg = (void *)cfg,
	};

	return resolve_address(&ctx, address, out, error_r);
}
