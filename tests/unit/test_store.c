/* Unit tests for src/store: Maildir names, layout, delivery, group commit,
 * reconciliation after crashes (also real SIGKILLs), reindex. */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_name.h"

#define T0 1700000000	/* an internaldate */
static const char prefix[] = "Return-Path: <a@example.org>\r\n"
			     "Delivered-To: b@example.org\r\n";
static const char body[] = "XXXXSubject: hi\r\n\r\nhello\r\n";	/* 4 junk bytes */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *new_tmpdir(void)
{
	char tmpl[] = "/tmp/mk-test-store-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		abort();
	return xstrdup(tmpl);
}

/* A source file holding body; the message is body + 4 (skip the junk). */
static int src_fd(const char *dir)
{
	struct buf path = BUF_INIT;
	int fd;

	buf_printf(&path, "%s/queue-file", dir);
	fd = open(buf_cstr(&path), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, body, strlen(body)) != (ssize_t)strlen(body))
		abort();
	buf_free(&path);
	return fd;
}

static struct store_delivery delivery(const char *mailbox, const char *key,
				      int fd)
{
	struct store_delivery d = {
		.mailbox = mailbox, .delivery_key = key,
		.prefix = prefix, .prefix_len = strlen(prefix),
		.src_fd = fd, .src_off = 4, .src_len = strlen(body) - 4,
		.internaldate = T0,
	};
	return d;
}

/* path of dir/accounts/<id>/<rel> */
static const char *apath(struct buf *b, const char *dir, int id, const char *rel)
{
	buf_reset(b);
	buf_printf(b, "%s/accounts/%d/%s", dir, id, rel);
	return buf_cstr(b);
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The first entry name of path, or "" */
static void first_entry(const char *path, char *out, size_t size)
{
	DIR *d = opendir(path);
	struct dirent *de;

	out[0] = '\0';
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(out, size, "%s", de->d_name);
			break;
		}
	if (d != NULL)
		closedir(d);
}

static bool is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static uint64_t count(struct store *st, const char *mailbox)
{
	uint64_t n = 999;

	if (store_mailbox_count(st, mailbox, &n) < 0)
		return 1000;
	return n;
}

/* One integer from index.db of account id (-1 on error). */
static long long sql_int(const char *dir, int id, const char *sql)
{
	struct buf b = BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open(apath(&b, dir, id, "index.db"), &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	buf_free(&b);
	return v;
}

static void host_part(char *out, size_t size)
{
	char h[256];

	if (gethostname(h, sizeof(h)) < 0)
		h[0] = '\0';
	h[sizeof(h) - 1] = '\0';
	store_name_host(out, size, h);
}

/* ---- names (pure) ---- */

TEST(name_key_roundtrip)
{
	static const char *const keys[] = {
		"7c91ab.42", "a/b:c", "Q1-x_y", "caf\xc3\xa9", "=", "<q@x>.1", "..",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT;

		CHECK_INTEQ(store_name_key_encode(&enc, keys[i]), 0);
		CHECK(strspn(buf_cstr(&enc), "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=") == enc.len);
		CHECK_INTEQ(store_name_key_decode(&dec, enc.ptr, enc.len), 0);
		CHECK_STREQ(buf_cstr(&dec), keys[i]);
		buf_free(&enc);
		buf_free(&dec);
	}
}

TEST(name_key_rejects)
{
	static const char *const bad_enc[] = {
		"", "=2", "=2e", "=41", "a.b", "=00", "ab=", "=G1",
	};
	struct buf b = BUF_INIT;
	char longkey[STORE_DELIVERY_KEY_MAX + 2];

	for (size_t i = 0; i < sizeof(bad_enc) / sizeof(bad_enc[0]); i++) {
		buf_reset(&b);
		CHECK_INTEQ(store_name_key_decode(&b, bad_enc[i], strlen(bad_enc[i])), -1);
	}
	CHECK_INTEQ(store_name_key_encode(&b, ""), -1);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	buf_reset(&b);
	CHECK_INTEQ(store_name_key_encode(&b, longkey), -1);
	CHECK_INTEQ(b.len, 0);
	longkey[STORE_DELIVERY_KEY_MAX] = '\0';
	CHECK_INTEQ(store_name_key_encode(&b, longkey), 0);
	memset(longkey, '.', STORE_DELIVERY_KEY_MAX / 3 + 1);	/* 3 bytes each */
	buf_reset(&b);
	CHECK_INTEQ(store_name_key_encode(&b, longkey), -1);
	buf_free(&b);
}

TEST(name_parse_table)
{
	static const struct {
		const char *name;
		int ret;
		long long time;
		bool keyed;
		const char *key;	/* encoded */
		unsigned flags;
		size_t base_len;
	} cases[] = {
		{ "1700000000.Kabc=2E42.mail.example.org:2,SR", 0, 1700000000, true,
		  "abc=2E42", STORE_FLAG_SEEN | STORE_FLAG_ANSWERED, 37 },
		{ "1700000000.M5P7Q1R00ff.host", 0, 1700000000, false, NULL, 0, 27 },
		{ "1700000000.Kx.h:2,DFPRSTab", 0, 1700000000, true, "x", 63, 15 },
		{ "1700000000.Kx.h:1,S", 0, 1700000000, true, "x", 0, 15 },
		{ "12.K.host", 0, 12, false, NULL, 0, 9 },
		{ "foo", 0, -1, false, NULL, 0, 3 },
		{ "1234567890123.Kx.h", 0, -1, true, "x", 0, 18 },
		{ ".hidden", -1, 0, false, NULL, 0, 0 },
		{ "", -1, 0, false, NULL, 0, 0 },
		{ ":2,S", -1, 0, false, NULL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_name_info info;
		int ret = store_name_parse(cases[i].name, &info);

		CHECK_INTEQ(ret, cases[i].ret);
		if (ret < 0)
			continue;
		CHECK_INTEQ(info.time, cases[i].time);
		CHECK_INTEQ(info.keyed, cases[i].keyed);
		CHECK_INTEQ(info.flags, cases[i].flags);
		CHECK_INTEQ(info.base_len, cases[i].base_len);
		if (cases[i].key != NULL && info.keyed)
			CHECK(info.key_len == strlen(cases[i].key) &&
			      memcmp(cases[i].name + info.key_off, cases[i].key,
				     info.key_len) == 0);
	}
}

TEST(name_keyed_and_flags)
{
	struct buf b = BUF_INIT;
	const char *error = NULL;
	char host[STORE_NAME_HOST_MAX + 1], longhost[300];

	CHECK_INTEQ(store_name_keyed(&b, T0, "q1.7", "mx", &error), 0);
	CHECK_STREQ(buf_cstr(&b), "1700000000.Kq1=2E7.mx");
	buf_reset(&b);
	CHECK_INTEQ(store_name_keyed(&b, 0, "q1.7", "mx", &error), -1);
	CHECK_INTEQ(store_name_keyed(&b, T0, "", "mx", &error), -1);
	CHECK_INTEQ(b.len, 0);
	store_name_flags_format(&b, STORE_FLAG_SEEN | STORE_FLAG_DRAFT |
					    STORE_FLAG_DELETED | STORE_FLAG_FLAGGED);
	CHECK_STREQ(buf_cstr(&b), ":2,DFST");
	CHECK_INTEQ(store_name_flags_parse(buf_cstr(&b) + 1),
		    STORE_FLAG_SEEN | STORE_FLAG_DRAFT | STORE_FLAG_DELETED |
			    STORE_FLAG_FLAGGED);
	store_name_host(host, sizeof(host), "a/b:c d");
	CHECK_STREQ(host, "a\\057b\\072c_d");
	store_name_host(host, sizeof(host), "");
	CHECK_STREQ(host, "localhost");
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	store_name_host(host, sizeof(host), longhost);
	CHECK_INTEQ(strlen(host), STORE_NAME_HOST_MAX);
	buf_free(&b);
}

TEST(mailbox_names)
{
	static const struct {
		const char *name;
		bool ok;
		const char *path;
	} cases[] = {
		{ "INBOX", true, "/M" }, { "inbox", true, "/M" },
		{ "Sent", true, "/M/.Sent" }, { "Lists.rust", true, "/M/.Lists.rust" },
		{ "", false, NULL }, { "../x", false, NULL }, { "a/b", false, NULL },
		{ ".Sent", false, NULL }, { "Sent.", false, NULL },
		{ "a..b", false, NULL }, { "a\nb", false, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		CHECK_INTEQ(store_name_mailbox_valid(cases[i].name), cases[i].ok);
		CHECK_INTEQ(store_name_folder_path(&b, "/M", cases[i].name),
			    cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			CHECK_STREQ(buf_cstr(&b), cases[i].path);
		buf_free(&b);
	}
}

/* ---- the store on disk ---- */

TEST(create_layout)
{
	static const struct {
		const char *name, *dir, *special_use;
	} boxes[] = {
		{ "INBOX", "Maildir", NULL }, { "Sent", "Maildir/.Sent", "\\Sent" },
		{ "Drafts", "Maildir/.Drafts", "\\Drafts" },
		{ "Junk", "Maildir/.Junk", "\\Junk" },
		{ "Trash", "Maildir/.Trash", "\\Trash" },
		{ "Archive", "Maildir/.Archive", "\\Archive" },
	};
	char *dir = new_tmpdir();
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	uint32_t uv[6];

	CHECK_INTEQ(store_open(&st, dir, 7, false, &error), -1);
	CHECK(st == NULL && error != NULL);
	CHECK_INTEQ(store_open(&st, dir, 0, true, &error), -1);
	CHECK_INTEQ(store_open(&st, dir, 7, true, &error), 0);
	{
		struct stat sb;

		CHECK(stat(apath(&b, dir, 7, "index.db"), &sb) == 0 &&
		      (sb.st_mode & 077) == 0);
		CHECK(stat(apath(&b, dir, 7, "Maildir"), &sb) == 0 &&
		      (sb.st_mode & 077) == 0);
	}
	for (size_t i = 0; i < 6; i++) {
		struct store_mailbox_status s;
		static const char *const subs[] = { "cur", "new", "tmp" };

		for (size_t k = 0; k < 3; k++) {
			buf_reset(&b);
			buf_printf(&b, "%s/accounts/7/%s/%s", dir, boxes[i].dir, subs[k]);
			CHECK(is_dir(buf_cstr(&b)));
		}
		buf_reset(&b);
		buf_printf(&b, "%s/accounts/7/%s/maildirfolder", dir, boxes[i].dir);
		CHECK_INTEQ(access(buf_cstr(&b), F_OK) == 0, i > 0);
		CHECK_INTEQ(store_mailbox_status(st, boxes[i].name, &s), 0);
		if (boxes[i].special_use)
			CHECK_STREQ(s.special_use, boxes[i].special_use);
		else
			CHECK(s.special_use == NULL);
		CHECK(s.uidvalidity >= (uint32_t)time(NULL) - 60);
		CHECK_INTEQ(s.uidnext, 1);
		CHECK_INTEQ(s.messages, 0);
		CHECK(s.subscribed);
		uv[i] = s.uidvalidity;
		for (size_t k = 0; k < i; k++)
			CHECK(uv[k] != uv[i]);
	}
	store_close(st);
	/* idempotent: nothing changes on the second create */
	CHECK_INTEQ(store_open(&st, dir, 7, true, &error), 0);
	for (size_t i = 0; i < 6; i++) {
		struct store_mailbox_status s;

		CHECK_INTEQ(store_mailbox_status(st, boxes[i].name, &s), 0);
		CHECK_INTEQ(s.uidvalidity, uv[i]);
	}
	CHECK_INTEQ(sql_int(dir, 7, "SELECT COUNT(*) FROM mailboxes"), 6);
	store_close(st);
	CHECK_INTEQ(store_open(&st, dir, 7, false, &error), 0);
	store_close(st);
	/* a folder removed behind our back: skipped, then made again */
	rm_rf(apath(&b, dir, 7, "Maildir/.Archive"));
	CHECK_INTEQ(store_open(&st, dir, 7, false, &error), 0);
	CHECK_INTEQ(count(st, "Archive"), 0);
	store_close(st);
	CHECK(!is_dir(apath(&b, dir, 7, "Maildir/.Archive/new")));
	CHECK_INTEQ(store_open(&st, dir, 7, true, &error), 0);
	CHECK(is_dir(apath(&b, dir, 7, "Maildir/.Archive/new")));
	store_close(st);
	/* without its INBOX there is no store */
	rm_rf(apath(&b, dir, 7, "Maildir/new"));
	CHECK_INTEQ(store_open(&st, dir, 7, false, &error), -1);
	CHECK_STREQ(error, "no mail store for this account");
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(deliver_count_content)
{
	char *dir = new_tmpdir(), name[300], want[512];
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT, content = BUF_INIT;
	int fd = src_fd(dir), rfd;
	struct store_delivery d = delivery("INBOX", "q1.1", fd);
	uint32_t uid = 0;
	ssize_t n;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(uid, 1);
	d.delivery_key = "q2.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(uid, 2);
	d.delivery_key = NULL;
	d.mailbox = "junk";	/* not INBOX: case matters */
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	d.mailbox = "Junk";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(uid, 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 2);
	CHECK_INTEQ(count(st, "inbox"), 2);
	CHECK_INTEQ(count(st, "Junk"), 1);
	CHECK_INTEQ(count(st, "Sent"), 0);
	CHECK_INTEQ(count(st, "Nope"), 1000);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 2);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 0);
	first_entry(apath(&b, dir, 1, "Maildir/.Junk/new"), name, sizeof(name));
	CHECK(strncmp(name, "1", 1) == 0 && strstr(name, ".M") != NULL);
	/* file = prefix + body without its first 4 bytes */
	snprintf(want, sizeof(want), "%s%s", prefix, body + 4);
	buf_reset(&b);
	buf_printf(&b, "%s/accounts/1/Maildir/.Junk/new/%s", dir, name);
	rfd = open(buf_cstr(&b), O_RDONLY);
	buf_reserve(&content, 1024);
	n = read(rfd, content.ptr, 1024);
	close(rfd);
	CHECK(n == (ssize_t)strlen(want) && memcmp(content.ptr, want, strlen(want)) == 0);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT size FROM messages WHERE delivery_key = 'q1.1'"),
		    strlen(want));
	CHECK_INTEQ(sql_int(dir, 1, "SELECT internaldate FROM messages WHERE uid = 1"),
		    T0);
	store_close(st);
	close(fd);
	buf_free(&b);
	buf_free(&content);
	rm_rf(dir);
	free(dir);
}

/* A source copy_file_range cannot take from another file system (memfd)
 * and larger than one 64 KiB chunk: the pread fallback. */
TEST(deliver_large_from_memfd)
{
	char *dir = new_tmpdir(), name[300];
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	size_t len = 200000;
	char *big = xmalloc(len), *back = xmalloc(len + 100);
	int fd = memfd_create("src", 0), rfd;
	struct store_delivery d = delivery("INBOX", "big.1", fd);
	uint32_t uid;

	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	CHECK(write(fd, big, len) == (ssize_t)len);
	d.prefix_len = 0;
	d.src_off = 0;
	d.src_len = len;
	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	first_entry(apath(&b, dir, 1, "Maildir/new"), name, sizeof(name));
	buf_reset(&b);
	buf_printf(&b, "%s/accounts/1/Maildir/new/%s", dir, name);
	rfd = open(buf_cstr(&b), O_RDONLY);
	CHECK(read(rfd, back, len + 100) == (ssize_t)len);
	CHECK(memcmp(back, big, len) == 0);
	close(rfd);
	store_close(st);
	close(fd);
	free(big);
	free(back);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

/* A durable source named by src_path is linked, not copied: same inode
 * (two links until the source goes), the right size in the index; a
 * second account gets a link too, the same key again adopts. With a
 * prefix the source is copied whatever src_path says. */
TEST(deliver_links_a_whole_source)
{
	char *dir = new_tmpdir(), name[300];
	struct store *st = NULL, *st2 = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT, src = BUF_INIT;
	int fd = src_fd(dir);
	struct store_delivery d = delivery("INBOX", "ln.1", fd);
	struct stat s_src, s_new;
	uint32_t uid = 0;

	buf_printf(&src, "%s/queue-file", dir);
	d.prefix = NULL;
	d.prefix_len = 0;
	d.src_off = 0;
	d.src_len = strlen(body);
	d.src_path = buf_cstr(&src);
	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_open(&st2, dir, 2, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.delivery_key = "ln.2";
	CHECK_INTEQ(store_deliver(st2, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(store_sync(st2, &error), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 0);
	first_entry(apath(&b, dir, 1, "Maildir/new"), name, sizeof(name));
	buf_reset(&b);
	buf_printf(&b, "%s/accounts/1/Maildir/new/%s", dir, name);
	CHECK(stat(buf_cstr(&src), &s_src) == 0 && stat(buf_cstr(&b), &s_new) == 0);
	CHECK(s_src.st_ino == s_new.st_ino && s_src.st_nlink == 3);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT size FROM messages WHERE delivery_key = 'ln.1'"),
		    strlen(body));
	d.delivery_key = "ln.1";	/* redelivery of the same key */
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 1);
	/* a prefix: a copy */
	d = delivery("INBOX", "cp.1", fd);
	d.src_path = buf_cstr(&src);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK(stat(buf_cstr(&src), &s_src) == 0 && s_src.st_nlink == 3);
	CHECK_INTEQ(count(st, "INBOX"), 2);
	store_close(st);
	store_close(st2);
	close(fd);
	buf_free(&b);
	buf_free(&src);
	rm_rf(dir);
	free(dir);
}

TEST(deliver_same_key_twice)
{
	char *dir = new_tmpdir();
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	int fd = src_fd(dir);
	struct store_delivery d = delivery("INBOX", "dup.1", fd);
	uint32_t uid = 0;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);	/* same batch */
	CHECK_INTEQ(uid, 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);	/* next batch */
	d.mailbox = "Junk";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);	/* key is per account */
	CHECK_INTEQ(store_sync(st, &error), 0);
	store_close(st);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	d.mailbox = "INBOX";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);	/* after reopen */
	CHECK_INTEQ(uid, 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 1);
	CHECK_INTEQ(count(st, "Junk"), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/.Junk/new")), 0);
	store_close(st);
	close(fd);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

/* Crash between rename and commit, made by hand: the key-derived file is
 * in new/, the index has no row. */
TEST(crash_file_without_row)
{
	char *dir = new_tmpdir(), host[STORE_NAME_HOST_MAX + 1];
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT, name = BUF_INIT;
	int fd = src_fd(dir), wfd;
	struct store_delivery d = delivery("INBOX", "crash.9", fd);
	struct store_mailbox_status s;
	uint32_t uid = 0;

	CHECK_INTEQ(store_open(&st, dir, 9, true, &error), 0);
	store_close(st);
	host_part(host, sizeof(host));
	CHECK_INTEQ(store_name_keyed(&name, T0, "crash.9", host, &error), 0);
	buf_printf(&b, "%s/accounts/9/Maildir/new/%s", dir, buf_cstr(&name));
	wfd = open(buf_cstr(&b), O_WRONLY | O_CREAT, 0600);
	CHECK(write(wfd, "Subject: x\r\n\r\n", 14) == 14);
	close(wfd);
	CHECK_INTEQ(store_open(&st, dir, 9, false, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 1);
	CHECK_INTEQ(sql_int(dir, 9, "SELECT size FROM messages WHERE delivery_key = 'crash.9'"),
		    14);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(uid, 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, 9, "Maildir/new")), 1);
	CHECK_INTEQ(store_mailbox_status(st, "INBOX", &s), 0);
	CHECK_INTEQ(s.uidnext, 2);
	CHECK(s.highestmodseq > 1);
	/* and while the store is open: the redelivery itself adopts the file */
	buf_reset(&name);
	CHECK_INTEQ(store_name_keyed(&name, T0, "crash2.9", host, &error), 0);
	buf_reset(&b);
	buf_printf(&b, "%s/accounts/9/Maildir/new/%s", dir, buf_cstr(&name));
	wfd = open(buf_cstr(&b), O_WRONLY | O_CREAT, 0600);
	CHECK(write(wfd, "Subject: y\r\n\r\nbody\r\n", 20) == 20);
	close(wfd);
	d.delivery_key = "crash2.9";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(uid, 2);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(uid, 2);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 2);
	CHECK_INTEQ(count_entries(apath(&b, dir, 9, "Maildir/new")), 2);
	CHECK_INTEQ(sql_int(dir, 9, "SELECT size FROM messages WHERE uid = 2"), 20);
	store_close(st);
	close(fd);
	buf_free(&b);
	buf_free(&name);
	rm_rf(dir);
	free(dir);
}

/* A batch abandoned before store_sync leaves nothing in new/ (files are
 * published only once their data is synced): its redelivery writes the
 * message again, once. (Adoption of a file already in new/ without its
 * row is covered by the tests above.) */
TEST(redeliver_after_abandoned_batch)
{
	char *dir = new_tmpdir();
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	int fd = src_fd(dir);
	struct store_delivery d = delivery("INBOX", "adopt.1", fd);
	uint32_t uid = 0;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	d.delivery_key = NULL;
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);	/* keyless */
	d.delivery_key = "adopt.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 0);
	store_close(st);	/* no sync: abandoned */
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 0);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT COUNT(*) FROM messages"), 0);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);	/* same batch */
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 1);
	store_close(st);
	close(fd);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(crash_sigkill_before_sync)
{
	char *dir = new_tmpdir();
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	int fd = src_fd(dir), status;
	static const char *const keys[] = { "k1.1", "k2.1", "k3.1" };
	uint32_t uid;
	pid_t pid;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	store_close(st);
	pid = fork();
	if (pid == 0) {
		if (store_open(&st, dir, 1, false, &error) < 0)
			_exit(2);
		for (size_t i = 0; i < 3; i++) {
			struct store_delivery d = delivery("INBOX", keys[i], fd);

			if (store_deliver(st, &d, &uid, &error) != 1)
				_exit(3);
		}
		raise(SIGKILL);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Nothing was published: the keyed tmp/ files are cleaned at open
	 * and the retry delivers each message once. */
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 0);
	for (size_t i = 0; i < 3; i++) {
		struct store_delivery d = delivery("INBOX", keys[i], fd);

		CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	}
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 3);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 3);
	store_close(st);
	close(fd);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

#define KILL_MSGS 40
#define KILL_BATCH 6
#define KILL_ROUNDS 8
#define KILL_MAX_DELAY_US 15000

static void kill_child(const char *dir, int id, int fd, int ready)
{
	struct store *st;
	const char *error;
	char key[32];
	uint32_t uid;

	if (store_open(&st, dir, id, true, &error) < 0)
		_exit(2);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	for (int i = 0; i < KILL_MSGS; i++) {
		struct store_delivery d = delivery(i % 3 ? "INBOX" : "Junk", key, fd);

		snprintf(key, sizeof(key), "m%d.%d", i, id);
		if (store_deliver(st, &d, &uid, &error) < 0)
			_exit(3);
		if (i % KILL_BATCH == KILL_BATCH - 1 && store_sync(st, &error) < 0)
			_exit(4);
	}
	store_sync(st, &error);
	store_close(st);
	_exit(0);
}

/* Kill the delivering process at random moments, then redeliver every
 * message as the queue would: each must be stored exactly once. */
TEST(exactly_once_under_sigkill)
{
	char *dir = new_tmpdir();
	int fd = src_fd(dir);
	struct buf b = BUF_INIT;

	srand((unsigned)getpid());
	for (int round = 1; round <= KILL_ROUNDS; round++) {
		struct store *st = NULL;
		const char *error = NULL;
		char key[32];
		uint32_t uid;
		int ready[2];
		pid_t pid;
		char c;

		CHECK_INTEQ(pipe(ready), 0);
		pid = fork();
		if (pid == 0)
			kill_child(dir, round, fd, ready[1]);
		close(ready[1]);
		CHECK(read(ready[0], &c, 1) == 1);	/* store open: deliveries start */
		close(ready[0]);
		usleep((useconds_t)(rand() % KILL_MAX_DELAY_US));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		CHECK_INTEQ(store_open(&st, dir, round, true, &error), 0);
		for (int i = 0; st != NULL && i < KILL_MSGS; i++) {
			struct store_delivery d =
				delivery(i % 3 ? "INBOX" : "Junk", key, fd);

			snprintf(key, sizeof(key), "m%d.%d", i, round);
			CHECK(store_deliver(st, &d, &uid, &error) >= 0);
		}
		CHECK_INTEQ(store_sync(st, &error), 0);
		CHECK_INTEQ(count(st, "INBOX") + count(st, "Junk"), KILL_MSGS);
		CHECK_INTEQ(count_entries(apath(&b, dir, round, "Maildir/new")) +
			    count_entries(apath(&b, dir, round, "Maildir/.Junk/new")),
			    KILL_MSGS);
		CHECK_INTEQ(sql_int(dir, round, "SELECT COUNT(DISTINCT uid) FROM"
				    " messages m JOIN mailboxes b ON b.id = m.mailbox_id"
				    " WHERE b.name = 'INBOX'"), count(st, "INBOX"));
		store_close(st);
	}
	close(fd);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(tmp_cleanup)
{
	char *dir = new_tmpdir(), host[STORE_NAME_HOST_MAX + 1];
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT, name = BUF_INIT;
	struct timespec old[2] = { { time(NULL) - 37 * 3600, 0 },
				   { time(NULL) - 37 * 3600, 0 } };
	static const char *const files[] = { NULL, "1.M1P1Q1R1.h", "2.M2P2Q2R2.h",
					     "3.M1P1Q1R1.h" };

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	store_close(st);
	host_part(host, sizeof(host));
	CHECK_INTEQ(store_name_keyed(&name, T0, "tmp.1", host, &error), 0);
	for (size_t i = 0; i < 4; i++) {
		const char *f = files[i] ? files[i] : buf_cstr(&name);
		const char *folder = i == 3 ? "Maildir/.Trash" : "Maildir";

		buf_reset(&b);
		buf_printf(&b, "%s/accounts/1/%s/tmp/%s", dir, folder, f);
		close(open(buf_cstr(&b), O_WRONLY | O_CREAT, 0600));
		if (i == 1 || i == 3)
			CHECK_INTEQ(utimensat(AT_FDCWD, buf_cstr(&b), old, 0), 0);
	}
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 3);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	/* keyed: at once; keyless older than 36 h: gone; fresh keyless: kept */
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 1);
	CHECK(access(apath(&b, dir, 1, "Maildir/tmp/2.M2P2Q2R2.h"), F_OK) == 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/.Trash/tmp")), 0);
	CHECK_INTEQ(count(st, "INBOX"), 0);
	store_close(st);
	buf_free(&b);
	buf_free(&name);
	rm_rf(dir);
	free(dir);
}

TEST(uid_monotonic_and_expunge)
{
	char *dir = new_tmpdir();
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	int fd = src_fd(dir);
	struct store_delivery d = delivery("INBOX", "u1.1", fd);
	struct store_mailbox_status s1, s2;
	uint32_t uid = 0;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.delivery_key = "u2.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	store_close(st);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	d.delivery_key = "u3.1";
	d.internaldate = T0 + 1;
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(uid, 3);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(store_mailbox_status(st, "INBOX", &s1), 0);
	store_close(st);
	/* the newest file disappears: its row is expunged, its UID not reused */
	buf_printf(&b, "%s/accounts/1/Maildir/new/", dir);
	CHECK_INTEQ(count_entries(buf_cstr(&b)), 3);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT COUNT(*) FROM expunged"), 0);
	{
		DIR *dd = opendir(buf_cstr(&b));
		struct dirent *de;
		struct buf victim = BUF_INIT;

		while (dd != NULL && (de = readdir(dd)) != NULL)
			if (strstr(de->d_name, ".Ku3=2E1.") != NULL)
				buf_printf(&victim, "%s%s", buf_cstr(&b), de->d_name);
		if (dd != NULL)
			closedir(dd);
		CHECK_INTEQ(unlink(buf_cstr(&victim)), 0);
		buf_free(&victim);
	}
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 2);
	CHECK_INTEQ(store_mailbox_status(st, "INBOX", &s2), 0);
	CHECK_INTEQ(s2.uidnext, 4);
	CHECK_INTEQ(s2.uidvalidity, s1.uidvalidity);
	CHECK(s2.highestmodseq > s1.highestmodseq);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT uid FROM expunged"), 3);
	/* a late retry of the expunged message is not delivered again */
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(uid, 0);
	d.delivery_key = "u4.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(uid, 4);
	CHECK_INTEQ(store_sync(st, &error), 0);
	store_close(st);
	close(fd);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

/* A client moved the file to cur/ and set \Seen: still the same message. */
TEST(moved_to_cur)
{
	char *dir = new_tmpdir(), name[300];
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	int fd = src_fd(dir), wfd;
	struct store_delivery d = delivery("INBOX", "mv.1", fd);
	uint32_t uid = 0;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	store_close(st);
	first_entry(apath(&b, dir, 1, "Maildir/new"), name, sizeof(name));
	buf_printf(&from, "%s/accounts/1/Maildir/new/%s", dir, name);
	buf_printf(&to, "%s/accounts/1/Maildir/cur/%s:2,S", dir, name);
	CHECK_INTEQ(rename(buf_cstr(&from), buf_cstr(&to)), 0);
	/* and a file that arrived in cur/ behind the index's back */
	buf_reset(&to);
	buf_printf(&to, "%s/accounts/1/Maildir/cur/%d.Kother=2E1.h:2,FS", dir, T0 + 5);
	wfd = open(buf_cstr(&to), O_WRONLY | O_CREAT, 0600);
	close(wfd);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 2);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT COUNT(*) FROM expunged"), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(uid, 1);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT flags FROM messages WHERE"
			    " delivery_key = 'other.1'"),
		    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT uid FROM messages WHERE"
			    " delivery_key = 'other.1'"), 2);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT internaldate FROM messages WHERE"
			    " delivery_key = 'other.1'"), T0 + 5);
	d.delivery_key = "other.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 2);
	store_close(st);
	close(fd);
	buf_free(&b);
	buf_free(&from);
	buf_free(&to);
	rm_rf(dir);
	free(dir);
}

TEST(reindex)
{
	static const struct {
		const char *mailbox;
		uint64_t count;
	} want[] = { { "INBOX", 3 }, { "Junk", 2 }, { "Sent", 1 }, { "Lists", 1 },
		     { "Trash", 0 } };
	char *dir = new_tmpdir(), name[300];
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT, to = BUF_INIT;
	int fd = src_fd(dir);
	struct store_delivery d = delivery("INBOX", "r1.1", fd);
	struct store_mailbox_status before[5], after;
	uint32_t uid;

	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.delivery_key = "r2.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.delivery_key = "r3.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.mailbox = "Junk";
	d.delivery_key = "r4.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.delivery_key = "r5.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	d.mailbox = "Sent";
	d.delivery_key = NULL;
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	store_close(st);
	/* one message read by a client; one folder made by another client */
	first_entry(apath(&b, dir, 1, "Maildir/new"), name, sizeof(name));
	buf_printf(&to, "%s/accounts/1/Maildir/cur/%s:2,S", dir, name);
	buf_reset(&b);
	buf_printf(&b, "%s/accounts/1/Maildir/new/%s", dir, name);
	CHECK_INTEQ(rename(buf_cstr(&b), buf_cstr(&to)), 0);
	CHECK_INTEQ(mkdir(apath(&b, dir, 1, "Maildir/.Lists"), 0700), 0);
	CHECK_INTEQ(mkdir(apath(&b, dir, 1, "Maildir/.Lists/cur"), 0700), 0);
	CHECK_INTEQ(mkdir(apath(&b, dir, 1, "Maildir/.Lists/new"), 0700), 0);
	CHECK_INTEQ(mkdir(apath(&b, dir, 1, "Maildir/.Lists/tmp"), 0700), 0);
	close(open(apath(&b, dir, 1, "Maildir/.Lists/new/5.M1P1Q1R1.h"),
		   O_WRONLY | O_CREAT, 0600));
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	for (size_t i = 0; i < 5; i++)
		CHECK_INTEQ(store_mailbox_status(st, want[i].mailbox, &before[i]),
			    i == 3 ? -1 : 0);	/* Lists is not in the index */
	store_close(st);

	CHECK_INTEQ(store_reindex(dir, 1, &error), 0);
	CHECK(access(apath(&b, dir, 1, "index.db.reindex"), F_OK) != 0);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	for (size_t i = 0; i < 5; i++) {
		CHECK_INTEQ(store_mailbox_status(st, want[i].mailbox, &after), 0);
		CHECK_INTEQ(after.messages, want[i].count);
		CHECK_INTEQ(after.uidnext, want[i].count + 1);
		if (i != 3)
			CHECK(after.uidvalidity > before[i].uidvalidity);
	}
	CHECK_INTEQ(store_mailbox_status(st, "Junk", &after), 0);
	CHECK_STREQ(after.special_use, "\\Junk");
	CHECK_INTEQ(sql_int(dir, 1, "SELECT COUNT(*) FROM messages WHERE flags = 1"), 1);
	CHECK_INTEQ(sql_int(dir, 1, "SELECT COUNT(*) FROM messages WHERE"
			    " delivery_key IS NOT NULL"), 5);
	d.mailbox = "INBOX";
	d.delivery_key = "r4.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 0);
	CHECK_INTEQ(store_sync(st, &error), 0);
	store_close(st);
	/* from nothing: a lost index.db is rebuilt too */
	unlink(apath(&b, dir, 1, "index.db"));
	CHECK_INTEQ(store_reindex(dir, 1, &error), 0);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 3);
	CHECK_INTEQ(count(st, "Lists"), 1);
	store_close(st);
	CHECK_INTEQ(store_reindex(dir, 2, &error), -1);	/* no such account */
	close(fd);
	buf_free(&b);
	buf_free(&to);
	rm_rf(dir);
	free(dir);
}

TEST(deliver_errors_leave_nothing)
{
	char *dir = new_tmpdir();
	struct store *st = NULL;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	int fd = src_fd(dir), pipefd[2];
	struct store_delivery d = delivery("Nope", "e1.1", fd);
	uint32_t uid = 7;

	CHECK_INTEQ(pipe(pipefd), 0);
	CHECK(write(pipefd[1], "abc", 3) == 3);
	CHECK_INTEQ(store_open(&st, dir, 1, true, &error), 0);
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	CHECK_STREQ(error, "no such mailbox");
	CHECK_INTEQ(uid, 0);
	d.mailbox = "../../x";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	CHECK_STREQ(error, "invalid mailbox name");
	d.mailbox = "INBOX";
	d.src_len = 1000;	/* longer than the source */
	error = NULL;
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	CHECK_STREQ(error, "message source shorter than its length");
	d.src_fd = pipefd[0];	/* unreadable with pread */
	d.src_off = 0;
	d.src_len = 3;
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	CHECK(error != NULL);
	d.src_fd = fd;
	d.src_len = 4;
	d.internaldate = 0;
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	d.internaldate = T0;
	d.delivery_key = "";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), -1);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/tmp")), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, 1, "Maildir/new")), 0);
	/* a batch of failures does not keep the index locked for others */
	{
		struct store *other = NULL;

		CHECK_INTEQ(store_open(&other, dir, 1, false, &error), 0);
		store_close(other);
	}
	/* the batch survives its failed members */
	d.delivery_key = "ok.1";
	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(uid, 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(count(st, "INBOX"), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);	/* empty batch */
	store_close(st);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	log_init("test");
	log_set_level(LOGL_ERROR);
	RUN(name_key_roundtrip);
	RUN(name_key_rejects);
	RUN(name_parse_table);
	RUN(name_keyed_and_flags);
	RUN(mailbox_names);
	RUN(create_layout);
	RUN(deliver_count_content);
	RUN(deliver_large_from_memfd);
	RUN(deliver_links_a_whole_source);
	RUN(deliver_same_key_twice);
	RUN(crash_file_without_row);
	RUN(redeliver_after_abandoned_batch);
	RUN(crash_sigkill_before_sync);
	RUN(exactly_once_under_sigkill);
	RUN(tmp_cleanup);
	RUN(uid_monotonic_and_expunge);
	RUN(moved_to_cur);
	RUN(reindex);
	RUN(deliver_errors_leave_nothing);
	return test_summary();
}
