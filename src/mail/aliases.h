/* aliases: the /etc/aliases file format (as read by Postfix aliases(5) and
 * sendmail), parsed without I/O into a read-only lookup table.
 *
 *   # comment
 *   postmaster: root
 *   root:       alice, bob@example.net,
 *               "|/usr/bin/never-run", /var/mail/file, :include:/etc/list
 *   "a b":      \alice
 *
 * A logical entry is a line starting with a non-blank character plus the
 * lines after it that start with a blank (continuations). Blank lines and
 * lines whose first non-blank character is '#' are skipped. Names are case-
 * insensitive local parts (no '@'); a name or target may be double-quoted.
 * Targets are kept with their kind: commands, files and includes are
 * recorded so the resolver can log and skip them; nothing here ever runs
 * or opens them. Every error is reported as "FILE:LINE: reason". */
#ifndef MK_ALIASES_H
#define MK_ALIASES_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Limits for untrusted (operator-written, possibly imported) input. */
#define ALIASES_MAX_LINE 4096		/* bytes in one physical line */
#define ALIASES_MAX_ENTRY_LEN 65536	/* bytes in one entry incl. continuations */
#define ALIASES_MAX_NAME 255		/* bytes in a name */
#define ALIASES_MAX_TARGET 1024		/* bytes in one target */
#define ALIASES_MAX_TARGETS 1000	/* targets in one entry */
#define ALIASES_MAX_ENTRIES 100000	/* entries in one file */
#define ALIASES_MAX_FILE (16u << 20)	/* bytes aliases_load() reads */

enum alias_kind {
	ALIAS_LOCAL,	/* bare local name: "alice" (value without '\') */
	ALIAS_ADDRESS,	/* full address: "bob@example.net" */
	ALIAS_COMMAND,	/* "|command": unsupported, never executed */
	ALIAS_FILE,	/* "/path": unsupported, never written */
	ALIAS_INCLUDE,	/* ":include:/path": unsupported, never read */
};

struct alias_target {
	enum alias_kind kind;
	bool mailbox;	/* "\alice": the mailbox itself, no further aliasing */
	char *value;	/* as written, surrounding quotes and '\' removed */
};

struct alias_entry {
	char *name;	/* lower-cased */
	struct alias_target *targets;
	size_t ntargets;
	unsigned line;	/* where the entry starts */
};

struct aliases;

/* Parse text[len]; name is the file name used in error messages. On error
 * returns -1, *out = NULL and appends "name:LINE: reason" to err. */
int aliases_parse(const char *name, const char *text, size_t len,
		  struct aliases **out, struct buf *err);
/* Read and parse the file at path (at most ALIASES_MAX_FILE bytes). */
int aliases_load(const char *path, struct aliases **out, struct buf *err);
/* The entry for name (any case), or NULL. */
const struct alias_entry *aliases_lookup(const struct aliases *a,
					 const char *name);
/* Number of entries, and entry i in name order (for listing and tests). */
size_t aliases_count(const struct aliases *a);
const struct alias_entry *aliases_entry(const struct aliases *a, size_t i);
/* The name given to aliases_parse (the file's path for aliases_load). */
const char *aliases_name(const struct aliases *a);
/* "local", "address", "command", "file" or "include". */
const char *alias_kind_name(enum alias_kind kind);
void aliases_free(struct aliases *a);

#endif
