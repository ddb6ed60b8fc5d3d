/* store_maildir: Maildir directories and message files (maildir(5),
 * Maildir++ folders). Every creation is followed by the fsync that makes it
 * survive a crash; renames are made durable in batches by the caller. */
#include "store/store_maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "store/store_name.h"

static const char *const subdirs[] = { "cur", "new", "tmp" };

int store_maildir_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

static int fsync_parent(const char *path)
{
	struct buf parent = BUF_INIT;
	const char *slash = strrchr(path, '/');
	int ret;

	if (slash == NULL)
		buf_appendc(&parent, '.');
	else
		buf_append(&parent, path, slash == path ? 1 : (size_t)(slash - path));
	ret = store_maildir_fsync_dir(buf_cstr(&parent));
	buf_free(&parent);
	return ret;
}

int store_maildir_mkdir(const char *path, const char **error_r)
{
	if (mkdir(path, 0700) < 0) {
		struct stat st;

		if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		log_error("event=store op=mkdir path=%s error=%s", path, strerror(errno));
		*error_r = "cannot create mail directory";
		return -1;
	}
	if (fsync_parent(path) < 0) {
		*error_r = "cannot fsync mail directory";
		return -1;
	}
	return 0;
}

static int create_marker(const char *dir, const char **error_r)
{
	struct buf path = BUF_INIT;
	int fd;

	buf_printf(&path, "%s/maildirfolder", dir);
	fd = open(buf_cstr(&path), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fsync(fd) < 0 || fsync_parent(buf_cstr(&path)) < 0) {
		log_error("event=store op=create path=%s error=%s", buf_cstr(&path),
			  strerror(errno));
		*error_r = "cannot create maildirfolder file";
		if (fd >= 0)
			close(fd);
		buf_free(&path);
		return -1;
	}
	close(fd);
	buf_free(&path);
	return 0;
}

int store_maildir_folder_create(const char *dir, bool maildirfolder,
				const char **error_r)
{
	struct buf path = BUF_INIT;
	int ret = store_maildir_mkdir(dir, error_r);

	for (size_t i = 0; ret == 0 && i < 3; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, subdirs[i]);
		ret = store_maildir_mkdir(buf_cstr(&path), error_r);
	}
	buf_free(&path);
	if (ret == 0 && maildirfolder)
		ret = create_marker(dir, error_r);
	return ret;
}

bool store_maildir_folder_exists(const char *dir)
{
	struct buf path = BUF_INIT;
	struct stat st;
	bool ok = true;

	for (size_t i = 0; ok && i < 3; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, subdirs[i]);
		ok = stat(buf_cstr(&path), &st) == 0 && S_ISDIR(st.st_mode);
	}
	buf_free(&path);
	return ok;
}

int store_maildir_folders(const char *maildir,
			  void (*cb)(const char *name, void *ctx), void *ctx,
			  const char **error_r)
{
	DIR *d = opendir(maildir);
	struct buf path = BUF_INIT;
	struct dirent *de;

	if (d == NULL) {
		*error_r = "cannot read Maildir";
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' ||
		    !store_name_mailbox_valid(de->d_name + 1) ||
		    str_ieq(de->d_name + 1, "INBOX"))
			continue;
		buf_reset(&path);
		buf_printf(&path, "%s/%s", maildir, de->d_name);
		if (store_maildir_folder_exists(buf_cstr(&path)))
			cb(de->d_name + 1, ctx);
	}
	closedir(d);
	buf_free(&path);
	return 0;
}

static void list_add(struct store_maildir_list *list, const char *name,
		     bool in_cur)
{
	if (list->count == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 64;
		list->v = xrealloc(list->v, list->cap * sizeof(*list->v));
	}
	list->v[list->count].name = xstrdup(name);
	list->v[list->count].in_cur = in_cur;
	list->count++;
}

static int scan_one(const char *dir, bool cur, struct store_maildir_list *list)
{
	struct buf path = BUF_INIT;
	struct dirent *de;
	DIR *d;

	buf_printf(&path, "%s/%s", dir, cur ? "cur" : "new");
	d = opendir(buf_cstr(&path));
	if (d == NULL) {
		log_error("event=store op=scan path=%s error=%s", buf_cstr(&path),
			  strerror(errno));
		buf_free(&path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		list_add(list, de->d_name, cur);
	}
	closedir(d);
	buf_free(&path);
	return 0;
}

int store_maildir_scan(const char *dir, struct store_maildir_list *list_r,
		       const char **error_r)
{
	memset(list_r, 0, sizeof(*list_r));
	if (scan_one(dir, false, list_r) < 0 || scan_one(dir, true, list_r) < 0) {
		store_maildir_list_free(list_r);
		*error_r = "cannot read mail directory";
		return -1;
	}
	return 0;
}

void store_maildir_list_free(struct store_maildir_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->v[i].name);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

int store_maildir_stat(const char *dir, const struct store_maildir_entry *e,
		       uint64_t *size_r, time_t *mtime_r)
{
	struct buf path = BUF_INIT;
	struct stat st;
	int ret;

	buf_printf(&path, "%s/%s/%s", dir, e->in_cur ? "cur" : "new", e->name);
	ret = lstat(buf_cstr(&path), &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
	buf_free(&path);
	if (ret == 0) {
		*size_r = (uint64_t)st.st_size;
		*mtime_r = st.st_mtime;
	}
	return ret;
}

/* maildir(5): tmp/ files older than 36 hours are left-overs. */
static bool tmp_is_stale(int dfd, const char *name, time_t now)
{
	struct store_name_info info;
	struct stat st;

	if (store_name_parse(name, &info) == 0 && info.keyed)
		return true;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode) &&
	       st.st_mtime + STORE_MAILDIR_TMP_STALE_SECS < now;
}

unsigned store_maildir_clean_tmp(const char *dir, time_t now)
{
	struct buf path = BUF_INIT;
	struct dirent *de;
	unsigned removed = 0;
	DIR *d;

	buf_printf(&path, "%s/tmp", dir);
	d = opendir(buf_cstr(&path));
	buf_free(&path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		if (tmp_is_stale(dirfd(d), de->d_name, now) &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* The reason for a failed write: the queue answers 4xx either way, but an
 * operator wants to tell a full disk from a broken one. */
const char *store_maildir_write_error(int err)
{
	if (err == ENOSPC)
		return "no space left on device";
	if (err == EDQUOT)
		return "disk quota exceeded";
	return "cannot write message file";
}

/* pread/write fallback, for sources copy_file_range cannot read. */
static ssize_t copy_chunk(int out, int in, off_t *off, uint64_t left)
{
	static char chunk[STORE_MAILDIR_COPY_CHUNK];	/* single-threaded */
	size_t want = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
	ssize_t n = pread(in, chunk, want, *off);

	if (n > 0 && buf_write_fd(out, chunk, (size_t)n) < 0)
		return -1;
	if (n > 0)
		*off += n;
	return n;
}

static bool cfr_unsupported(int err)
{
	return err == EXDEV || err == EINVAL || err == ENOSYS ||
	       err == EOPNOTSUPP || err == EBADF;
}

static int copy_body(int out, const struct store_delivery *d,
		     const char **error_r)
{
	off_t off = (off_t)d->src_off;
	uint64_t left = d->src_len;
	bool cfr = true;

	while (left > 0) {
		size_t want = left < (1u << 30) ? (size_t)left : (1u << 30);
		ssize_t n = cfr ? copy_file_range(d->src_fd, &off, out, NULL, want, 0)
				: copy_chunk(out, d->src_fd, &off, left);

		if (n < 0 && cfr && cfr_unsupported(errno)) {
			cfr = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			*error_r = "message source shorter than its length";
			return -1;
		}
		if (n < 0) {
			*error_r = errno == ENOSPC || errno == EDQUOT ?
				store_maildir_write_error(errno) : "cannot copy message source";
			log_error("event=store op=copy error=%s", strerror(errno));
			return -1;
		}
		left -= (uint64_t)n;
	}
	return 0;
}

int store_maildir_write(const char *path, bool excl,
			const struct store_delivery *d, const char **error_r)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
	int fd = open(path, flags, 0600);
	int ret = 0, err;

	*error_r = NULL;
	if (fd < 0) {
		log_error("event=store op=create path=%s error=%s", path, strerror(errno));
		*error_r = "cannot create message file";
		return -1;
	}
	/* no fsync here: store_sync syncs the whole batch at once */
	if (buf_write_fd(fd, d->prefix, d->prefix_len) < 0 ||
	    copy_body(fd, d, error_r) < 0)
		ret = -1;
	err = errno;
	if (close(fd) < 0 && ret == 0) {
		ret = -1;
		err = errno;
	}
	if (ret < 0) {
		if (*error_r == NULL) {
			*error_r = store_maildir_write_error(err);
			log_error("event=store op=write path=%s error=%s", path,
				  strerror(err));
		} else {
			log_error("event=store op=write path=%s error=\"%s\"", path,
				  *error_r);
		}
		unlink(path);
	}
	return ret;
}

/* An entry of sub named base or base + ":..." */
static int find_in(const char *dir, const char *sub, const char *base,
		   struct buf *location_r)
{
	struct buf path = BUF_INIT;
	size_t n = strlen(base);
	struct dirent *de;
	int found = 0;
	DIR *d;

	buf_printf(&path, "%s/%s", dir, sub);
	d = opendir(buf_cstr(&path));
	buf_free(&path);
	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, n) == 0 &&
		    (de->d_name[n] == '\0' || de->d_name[n] == ':')) {
			buf_printf(location_r, "%s/%s", sub, de->d_name);
			found = 1;
		}
	}
	if (d != NULL)
		closedir(d);
	return found;
}

int store_maildir_find(const char *dir, const char *base, struct buf *location_r)
{
	if (find_in(dir, "cur", base, location_r))
		return 1;
	return find_in(dir, "new", base, location_r);
}

static int remove_one(const char *p, const struct stat *sb, int flag,
		      struct FTW *f)
{
	(void)remove(p);
	return 0;
}

void store_maildir_remove_tree(const char *path)
{
	(void)nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int store_maildir_copy_file(const char *from, const char *to,
			    const char **error_r)
{
	struct store_delivery d = { .src_fd = open(from, O_RDONLY | O_CLOEXEC) };
	struct stat sb;
	int fd, ret = -1;

	if (d.src_fd < 0 || fstat(d.src_fd, &sb) < 0) {
		*error_r = "cannot read message file";
		if (d.src_fd >= 0)
			close(d.src_fd);
		return -1;
	}
	d.src_len = (uint64_t)sb.st_size;
	if (store_maildir_write(to, true, &d, error_r) == 0) {
		fd = open(to, O_RDONLY | O_CLOEXEC);
		ret = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
		if (fd >= 0)
			close(fd);
		if (ret < 0) {
			*error_r = "cannot sync message file";
			unlink(to);
		}
	}
	close(d.src_fd);
	return ret;
}
