/* store_maildir: the file-system side of the store: folder layout, durable
 * message writes (tmp/, fsync, rename), directory scans and tmp/ cleanup.
 * Knows nothing about the index. Internal to src/store/. */
#ifndef MK_STORE_MAILDIR_H
#define MK_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/buf.h"

#include "store/store.h"

/* maildir(5): a tmp/ file untouched for 36 hours is stale. */
#define STORE_MAILDIR_TMP_STALE_SECS (36 * 60 * 60)
/* Chunk of the pread/write fallback when copy_file_range cannot be used. */
#define STORE_MAILDIR_COPY_CHUNK (64 * 1024)

/* A message file found in new/ or cur/. */
struct store_maildir_entry {
	char *name;		/* entry name, ":2,FLAGS" included */
	bool in_cur;
};

struct store_maildir_list {
	struct store_maildir_entry *v;
	size_t count;
	size_t cap;
};

/* mkdir path (mode 0700) unless it exists; fsync the parent if created. */
int store_maildir_mkdir(const char *path, const char **error_r);
/* Make dir/{cur,new,tmp} (and dir/maildirfolder for a Maildir++ folder). */
int store_maildir_folder_create(const char *dir, bool maildirfolder,
				const char **error_r);
/* Whether dir/cur, dir/new and dir/tmp all are directories. */
bool store_maildir_folder_exists(const char *dir);
/* Call cb with the name of every Maildir++ folder (".Name" with
 * maildirfolder or cur/new/tmp) under maildir. */
int store_maildir_folders(const char *maildir,
			  void (*cb)(const char *name, void *ctx), void *ctx,
			  const char **error_r);
/* List the message files of dir/new and dir/cur (dot files skipped). */
int store_maildir_scan(const char *dir, struct store_maildir_list *list_r,
		       const char **error_r);
void store_maildir_list_free(struct store_maildir_list *list);
/* Size and mtime of dir/{new,cur}/name; -1 if gone or not a file. */
int store_maildir_stat(const char *dir, const struct store_maildir_entry *e,
		       uint64_t *size_r, time_t *mtime_r);
/* Remove stale tmp/ files: keyed names at once (their delivery will be
 * redone under the same name), others after 36 hours. Returns count. */
unsigned store_maildir_clean_tmp(const char *dir, time_t now);
/* Write prefix + source range of d into a new file at path (not synced:
 * store_sync syncs a whole batch);
 * on failure path is removed. excl: fail if path exists. */
int store_maildir_write(const char *path, bool excl,
			const struct store_delivery *d, const char **error_r);
/* Find the file of base name (the part before ':') in dir/new or dir/cur
 * by scanning them: 1 with its location ("cur/NAME") appended, 0 none. */
int store_maildir_find(const char *dir, const char *base, struct buf *location_r);
/* Remove path and everything below it (best effort). */
void store_maildir_remove_tree(const char *path);
/* Copy the file from into a new file to (O_EXCL), fsynced; on failure to
 * is removed. */
int store_maildir_copy_file(const char *from, const char *to,
			    const char **error_r);
/* The reason for a failed write with errno err (disk full, quota ...). */
const char *store_maildir_write_error(int err);
/* fsync a directory (makes renames into it durable). */
int store_maildir_fsync_dir(const char *path);

#endif
