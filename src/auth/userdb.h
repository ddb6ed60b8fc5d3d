/* userdb: accounts, local domains, aliases and DKIM signing keys in
 * DATA/mailkeep.db (SQLite, WAL, foreign keys on), the one user database
 * for every protocol.
 *
 * Addresses are stored in canonical form: parsed as RFC 5321 mailboxes
 * (UTF-8 local parts allowed), re-quoted only where needed, lower-cased.
 * Local domains are the configuration's (given with
 * userdb_set_config_domains, never stored) plus the `domains` table, which
 * is read on every lookup so `mailkeep domain add` needs no restart.
 * Accounts and aliases can only be created in a local domain.
 *
 * Passwords are crypt(3) hashes from libxcrypt: new ones are yescrypt;
 * any hash crypt() accepts ($y$, $6$, $2b$, ...) verifies, so hashes can be
 * imported from /etc/shadow or Dovecot. Comparisons are constant-time.
 * Accounts given a password here also get a SCRAM-SHA-256 secret (RFC
 * 5803 form, USERDB_SCRAM_ITERATIONS, a fresh random salt); imported
 * hashes get theirs at the first password login (userdb_user_set_scram).
 * PAM-backed accounts (system users, auth/pam_user.h) have no hash and no
 * SCRAM secret: their password is the system's, checked through PAM.
 *
 * Error strings are static, except database errors, which point into db and
 * stay valid until the next call on it. */
#ifndef MK_USERDB_H
#define MK_USERDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define USERDB_SCHEMA_VERSION 4
#define USERDB_BUSY_TIMEOUT_MS 5000	/* wait this long for a locked db */
#define USERDB_PASSWORD_MAX 1024	/* bytes in a plaintext password */
#define USERDB_ALIAS_MAX_TARGETS 1000	/* targets of one alias */
#define USERDB_DKIM_SELECTOR_MAX 63	/* characters in a DKIM selector */
#define USERDB_SCRAM_ITERATIONS 4096	/* RFC 7677 §4 minimum and default */
#define USERDB_SCRAM_SALT_LEN 16	/* random bytes of a SCRAM salt */

struct userdb;

/* A list of strings owned by the caller (free with userdb_strv_free). */
struct userdb_strv {
	char **v;
	size_t n;
};

/* Open (creating the file 0600 and the schema if missing) the database. */
int userdb_open(struct userdb **db_r, const char *path, const char **error_r);
void userdb_close(struct userdb *db);
/* The configuration's domains, always local; the strings are copied. */
void userdb_set_config_domains(struct userdb *db, const char *const *domains,
			       size_t n);

/* Canonical form of a mailbox "local@domain" into out (reset first). */
int userdb_address_normalize(const char *address, struct buf *out,
			     const char **error_r);

/* Add a run-time local domain (refused if already local). */
int userdb_domain_add(struct userdb *db, const char *domain,
		      const char **error_r);
/* Remove a table domain; refused while accounts or aliases are in it. */
int userdb_domain_del(struct userdb *db, const char *domain,
		      const char **error_r);
/* Is domain in the table (not the configuration)? 1 yes, 0 no, -1 error. */
int userdb_domain_exists(struct userdb *db, const char *domain);
/* Is domain local (configuration or table)? 1 yes, 0 no, -1 error. */
int userdb_domain_is_local(struct userdb *db, const char *domain);
/* The table's domains, sorted. */
int userdb_domain_list(struct userdb *db, struct userdb_strv *out,
		       const char **error_r);

/* Create an account with a fresh yescrypt hash of password. */
int userdb_user_add(struct userdb *db, const char *address,
		    const char *password, int64_t *id_r, const char **error_r);
/* Store an existing crypt(3) hash (import); refused if crypt() rejects it. */
int userdb_user_add_hash(struct userdb *db, const char *address,
			 const char *hash, int64_t *id_r, const char **error_r);
/* Create a PAM-backed account (no password here; see pam_user.h). */
int userdb_user_add_pam(struct userdb *db, const char *address, int64_t *id_r,
			const char **error_r);
/* Delete the account row; *id_r says whose mail store to retire. */
int userdb_user_del(struct userdb *db, const char *address, int64_t *id_r,
		    const char **error_r);
/* Replace the password hash with a fresh yescrypt hash of password (a
 * PAM-backed account becomes an ordinary one). */
int userdb_user_passwd(struct userdb *db, const char *address,
		       const char *password, const char **error_r);

typedef void userdb_user_cb(void *ctx, int64_t id, const char *address,
			    bool disabled);
/* Call cb for every account in id order. */
int userdb_user_list(struct userdb *db, userdb_user_cb *cb, void *ctx,
		     const char **error_r);
/* 1 found (*id_r set), 0 not found, -1 error. Disabled accounts are found. */
int userdb_user_lookup(struct userdb *db, const char *address, int64_t *id_r);
/* The account with the lowest id in domain: 1 found, 0 none, -1 error. */
int userdb_user_first_in_domain(struct userdb *db, const char *domain,
				int64_t *id_r, struct buf *address_r);
/* 1 password ok, 0 bad password, unknown or disabled account (hashing
 * against a dummy hash so each case takes the same time), -1 error. */
int userdb_user_verify(struct userdb *db, const char *address,
		       const char *password, int64_t *id_r);

/* What a login needs to know about an account. */
struct userdb_login {
	int64_t id;
	bool disabled;
	struct buf address;	/* canonical */
	struct buf scram;	/* RFC 5803 SCRAM-SHA-256 secret; empty: none */
	bool pam;		/* PAM-backed: no password of its own */
};

/* The login data of address into out (buffers reset first; free with
 * userdb_login_free): 1 found, 0 unknown or not an address, -1 error. */
int userdb_user_login_info(struct userdb *db, const char *address,
			   struct userdb_login *out);
void userdb_login_free(struct userdb_login *l);
/* Store a SCRAM-SHA-256 secret of password (fresh salt) for account id. */
int userdb_user_set_scram(struct userdb *db, int64_t id, const char *password,
			  const char **error_r);

/* Add targets to alias (a mailbox, or "@domain" for the domain's
 * catch-all) in one transaction; targets are mailboxes in any domain. */
int userdb_alias_add(struct userdb *db, const char *alias,
		     const char *const *targets, size_t ntargets,
		     const char **error_r);
/* Remove one target of alias, or all of them when target is NULL. */
int userdb_alias_del(struct userdb *db, const char *alias, const char *target,
		     const char **error_r);

typedef void userdb_alias_cb(void *ctx, const char *alias, const char *target);
/* Call cb for every (alias, target) pair, sorted. */
int userdb_alias_list(struct userdb *db, userdb_alias_cb *cb, void *ctx,
		      const char **error_r);
/* Targets of alias (canonical form, or "@domain"): 1 found, 0 none, -1. */
int userdb_alias_lookup(struct userdb *db, const char *alias,
			struct userdb_strv *targets);

/* A DKIM signing key: the private key lives in the file at path; the
 * table says which selectors of which domains exist (RFC 6376 §3.1). */
struct userdb_dkim_key {
	const char *domain;	/* lower case */
	const char *selector;	/* lower case, letters digits '-' and '.' */
	const char *type;	/* "rsa" or "ed25519" */
	unsigned bits;
	const char *path;	/* the private key file */
	int64_t created;	/* Unix time (set by the database on add) */
};

/* Record a key of a local domain; an existing (domain, selector) is
 * refused, or overwritten when replace. */
int userdb_dkim_add(struct userdb *db, const struct userdb_dkim_key *k,
		    bool replace, const char **error_r);
/* Forget a key (the caller deals with its file). */
int userdb_dkim_del(struct userdb *db, const char *domain,
		    const char *selector, const char **error_r);
/* The key file of (domain, selector) into path_r: 1 found, 0 none, -1. */
int userdb_dkim_lookup(struct userdb *db, const char *domain,
		       const char *selector, struct buf *path_r);

typedef void userdb_dkim_cb(void *ctx, const struct userdb_dkim_key *k);
/* Call cb for every key, sorted by domain and selector. */
int userdb_dkim_list(struct userdb *db, userdb_dkim_cb *cb, void *ctx,
		     const char **error_r);

void userdb_strv_free(struct userdb_strv *sv);

#endif
