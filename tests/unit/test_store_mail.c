/* Unit tests for src/store/store_mail.h: mailboxes (create, list, delete,
 * rename with crash recovery, subscriptions), messages (lists, MODSEQ,
 * flags, keywords, UNCHANGEDSINCE, expunge and VANISHED, copy and move,
 * append), cached ENVELOPE/BODYSTRUCTURE, full-text search, and the
 * migration of a version 1 index. Real files in a temporary directory. */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_envelope.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_cache.h"
#include "store/store_mail.h"

#define T0 1700000000

static const char msg_plain[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.org\r\n"
	"Subject: Hello World\r\n"
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	"Message-ID: <1@example.org>\r\n"
	"\r\n"
	"The quick brown fox jumps over the lazy dog.\r\n"
	"He said \"hi\" twice.\r\n";

/* text part in base64 (UTF-8 "Grüße aus Köln: Straßenbahn"), and an
 * attachment whose decoded bytes hold "secretword" */
static const char msg_b64[] =
	"From: carol@example.org\r\n"
	"Subject: multipart\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
	"\r\n"
	"--XX\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"R3LDvMOfZSBhdXMgS8O2bG46IFN0cmHDn2VuYmFobg==\r\n"
	"--XX\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0d29yZA==\r\n"
	"--XX--\r\n";

/* quoted-printable ISO-8859-1: "Café crème ÉTÉ" */
static const char msg_qp[] =
	"From: dave@example.org\r\n"
	"Subject: qp\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=E9 cr=E8me =C9T=C9=\r\n"
	"\r\n";

/* an RFC 2047 subject: "Schöne Grüße" */
static const char msg_subject[] =
	"From: erin@example.org\r\n"
	"Subject: =?utf-8?q?Sch=C3=B6ne_Gr=C3=BC=C3=9Fe?=\r\n"
	"\r\n"
	"nothing here\r\n";

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
	char tmpl[] = "/tmp/mk-test-store-mail-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		abort();
	return xstrdup(tmpl);
}

static const char *apath(struct buf *b, const char *dir, const char *rel)
{
	buf_reset(b);
	buf_printf(b, "%s/accounts/1/%s", dir, rel);
	return buf_cstr(b);
}

static struct store *open_store(const char *dir)
{
	struct store *st = NULL;
	const char *error = NULL;

	if (store_open(&st, dir, 1, true, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		abort();
	}
	return st;
}

/* Deliver text into mailbox (keyed when key != NULL): its UID. */
static uint32_t deliver(struct store *st, const char *mailbox, const char *key,
			const char *text, size_t len)
{
	int fd = memfd_create("msg", 0);
	const char *error = NULL;
	uint32_t uid = 0;
	struct store_delivery d = {
		.mailbox = mailbox, .delivery_key = key, .src_fd = fd,
		.src_len = len, .internaldate = T0,
	};

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	if (store_deliver(st, &d, &uid, &error) < 0 || store_sync(st, &error) < 0) {
		fprintf(stderr, "deliver: %s\n", error);
		uid = 0;
	}
	close(fd);
	return uid;
}

static uint32_t deliver_s(struct store *st, const char *mailbox, const char *text)
{
	return deliver(st, mailbox, NULL, text, strlen(text));
}

static int64_t box(struct store *st, const char *name)
{
	struct store_mailbox_state s;
	const char *error;

	if (store_mailbox_open(st, name, &s, &error) != 1)
		return -1;
	return s.id;
}

static struct store_mailbox_state state_of(struct store *st, const char *name)
{
	struct store_mailbox_state s;
	const char *error;

	memset(&s, 0, sizeof(s));
	if (store_mailbox_open(st, name, &s, &error) != 1)
		s.id = -1;
	return s;
}

/* One integer from index.db (-1 on error). */
static long long sql_int(const char *dir, const char *sql)
{
	struct buf b = BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open(apath(&b, dir, "index.db"), &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	buf_free(&b);
	return v;
}

static int sql_exec(const char *dir, const char *sql)
{
	struct buf b = BUF_INIT;
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open(apath(&b, dir, "index.db"), &db) == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_close(db);
	buf_free(&b);
	return rc;
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

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- collecting callbacks ---- */

struct seen {
	char text[4096];	/* "name,name," or "uid:flags:kw:modseq," */
	uint32_t uids[256];
	uint64_t modseq[256];
	size_t n;
};

static int seen_mailbox(void *ctx, const struct store_mailbox_info *mb)
{
	struct seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s%s%s,", mb->name,
		 mb->has_children ? "+" : "", mb->subscribed ? "*" : "",
		 mb->special_use ? mb->special_use : "");
	return 0;
}

static int seen_name(void *ctx, const char *name)
{
	struct seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s,", name);
	return 0;
}

static int seen_msg(void *ctx, const struct store_msg *m)
{
	struct seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%u:%u:%s,", m->uid,
		 m->flags, m->keywords ? m->keywords : "");
	if (s->n < 256) {
		s->modseq[s->n] = m->modseq;
		s->uids[s->n++] = m->uid;
	}
	return 0;
}

static int seen_uid(void *ctx, uint32_t uid)
{
	struct seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%u,", uid);
	if (s->n < 256)
		s->uids[s->n++] = uid;
	return 0;
}

static int stop_at_first(void *ctx, const struct store_msg *m)
{
	(*(int *)ctx)++;
	return 1;
}

/* ---- mailboxes ---- */

TEST(mailbox_create_list_delete)
{
	static const struct {
		const char *name;
		int want;
	} creates[] = {
		{ "Projects.2024", 1 }, { "Projects.2024", 0 }, { "Projects", 0 },
		{ "inbox", 0 }, { "INBOX.Sub", 1 }, { "Caf\xc3\xa9", 1 },
		{ "", -1 }, { "a..b", -1 }, { "a/b", -1 }, { ".a", -1 },
		{ "a.", -1 }, { "a\tb", -1 }, { "a\x7f", -1 },
	};
	char *dir = new_tmpdir(), longname[STORE_MAILBOX_NAME_MAX + 2];
	struct store *st = open_store(dir);
	struct seen s = { 0 };
	const char *error = NULL;
	struct buf b = BUF_INIT;
	uint32_t uv_old;

	for (size_t i = 0; i < sizeof(creates) / sizeof(creates[0]); i++)
		CHECK_INTEQ(store_mailbox_create(st, creates[i].name, NULL, &error),
			    creates[i].want);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INTEQ(store_mailbox_create(st, longname, NULL, &error), -1);
	longname[STORE_MAILBOX_NAME_MAX] = '\0';
	CHECK_INTEQ(store_mailbox_create(st, longname, NULL, &error), 1);
	CHECK_INTEQ(store_mailbox_delete(st, longname, &error), 1);
	CHECK_INTEQ(store_mailbox_create(st, "Later", "\\Bogus", &error), -1);
	CHECK_STREQ(error, "unsupported special-use attribute");
	CHECK_INTEQ(store_mailbox_create(st, "Later", "\\Flagged", &error), 1);
	CHECK(exists(apath(&b, dir, "Maildir/.Projects.2024/cur")));
	CHECK(exists(apath(&b, dir, "Maildir/.Projects/maildirfolder")));
	CHECK(exists(apath(&b, dir, "Maildir/.Caf\xc3\xa9/new")));
	CHECK_INTEQ(store_mailbox_list(st, seen_mailbox, &s, &error), 0);
	CHECK_STREQ(s.text, "INBOX+*,Archive*\\Archive,Caf\xc3\xa9,Drafts*\\Drafts,"
			    "INBOX.Sub,Junk*\\Junk,Later\\Flagged,Projects+,"
			    "Projects.2024,Sent*\\Sent,Trash*\\Trash,");
	/* RFC 3501 §6.3.4: INBOX never; 0 when absent; with inferiors, they
	 * stay (Maildir++ keeps them in folders of their own) */
	CHECK_INTEQ(store_mailbox_delete(st, "inbox", &error), -1);
	CHECK(deliver_s(st, "Projects", msg_plain) == 1);
	CHECK_INTEQ(store_mailbox_delete(st, "Projects", &error), 1);
	CHECK(!exists(apath(&b, dir, "Maildir/.Projects")));
	CHECK(exists(apath(&b, dir, "Maildir/.Projects.2024/cur")));
	CHECK_INTEQ(store_mailbox_create(st, "Projects", NULL, &error), 1);
	CHECK_INTEQ(state_of(st, "Projects").messages, 0);
	CHECK(deliver_s(st, "Projects.2024", msg_plain) == 1);
	CHECK_INTEQ(store_mailbox_delete(st, "Projects.2024", &error), 1);
	CHECK(!exists(apath(&b, dir, "Maildir/.Projects.2024")));
	CHECK(!exists(apath(&b, dir, "Maildir/..deleted.Projects.2024")));
	CHECK_INTEQ(store_mailbox_delete(st, "Projects.2024", &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'fox'"), 0);
	uv_old = state_of(st, "Projects").uidvalidity;
	CHECK_INTEQ(store_mailbox_delete(st, "Projects", &error), 1);
	CHECK_INTEQ(store_mailbox_create(st, "Projects", NULL, &error), 1);
	CHECK(state_of(st, "Projects").uidvalidity > uv_old);	/* never reused */
	CHECK_INTEQ(store_mailbox_delete(st, "Nope", &error), 0);
	CHECK_INTEQ(store_mailbox_delete(st, "a..b", &error), -1);
	store_close(st);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(subscriptions)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	struct seen s = { 0 };
	const char *error = NULL;
	struct store_mailbox_status status;

	CHECK_INTEQ(store_mailbox_create(st, "Lists", NULL, &error), 1);
	CHECK_INTEQ(store_mailbox_subscribe(st, "Not.There", true, &error), 0);
	CHECK_INTEQ(store_mailbox_subscribe(st, "Lists", true, &error), 0);
	CHECK_INTEQ(store_mailbox_subscribe(st, "Lists", true, &error), 0);
	CHECK_INTEQ(store_mailbox_subscribe(st, "Junk", false, &error), 0);
	CHECK_INTEQ(store_mailbox_subscribe(st, "bad..name", true, &error), -1);
	CHECK_INTEQ(store_subscription_list(st, seen_name, &s, &error), 0);
	CHECK_STREQ(s.text, "INBOX,Archive,Drafts,Lists,Not.There,Sent,Trash,");
	/* the old call reports it too */
	CHECK_INTEQ(store_mailbox_status(st, "Junk", &status), 0);
	CHECK(!status.subscribed);
	CHECK_INTEQ(store_mailbox_status(st, "Lists", &status), 0);
	CHECK(status.subscribed);
	/* DELETE keeps the subscription (RFC 3501 §6.3.6) */
	CHECK_INTEQ(store_mailbox_delete(st, "Lists", &error), 1);
	s.text[0] = '\0';
	CHECK_INTEQ(store_subscription_list(st, seen_name, &s, &error), 0);
	CHECK(strstr(s.text, "Lists,") != NULL);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

TEST(rename_hierarchy)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	struct store_mailbox_state before, after;
	struct seen s = { 0 };
	const char *error = NULL;
	struct buf b = BUF_INIT;
	uint64_t size;
	int fd;

	CHECK_INTEQ(store_mailbox_create(st, "A.B.C", NULL, &error), 1);
	CHECK(deliver_s(st, "A.B", msg_plain) == 1);
	CHECK_INTEQ(store_mailbox_subscribe(st, "A.B", true, &error), 0);
	before = state_of(st, "A.B");
	CHECK_INTEQ(store_mailbox_rename(st, "A", "Sent", &error), -1);
	CHECK_STREQ(error, "mailbox already exists");
	CHECK_INTEQ(store_mailbox_rename(st, "A", "A.B.X", &error), -1);
	CHECK_INTEQ(store_mailbox_rename(st, "A", "A", &error), -1);
	CHECK_INTEQ(store_mailbox_rename(st, "Nope", "Q", &error), 0);
	CHECK_INTEQ(store_mailbox_rename(st, "A", "a..b", &error), -1);
	CHECK_INTEQ(store_mailbox_rename(st, "A", "Z.Y", &error), 1);
	CHECK_INTEQ(store_mailbox_list(st, seen_mailbox, &s, &error), 0);
	CHECK(strstr(s.text, ",A+") == NULL && strstr(s.text, ",A.B") == NULL);
	CHECK(strstr(s.text, "Z+,Z.Y+,Z.Y.B+*,Z.Y.B.C,") != NULL);
	after = state_of(st, "Z.Y.B");
	CHECK_INTEQ(after.id, before.id);
	CHECK_INTEQ(after.uidvalidity, before.uidvalidity);
	CHECK_INTEQ(after.messages, 1);
	CHECK_INTEQ(store_msg_open(st, after.id, 1, &fd, &size, &error), 1);
	CHECK_INTEQ(size, strlen(msg_plain));
	close(fd);
	CHECK(exists(apath(&b, dir, "Maildir/.Z.Y.B.C/cur")));
	CHECK(exists(apath(&b, dir, "Maildir/.Z/cur")));
	CHECK(!exists(apath(&b, dir, "Maildir/.A.B")));
	CHECK(!exists(apath(&b, dir, "rename.journal")));
	s.text[0] = '\0';
	CHECK_INTEQ(store_subscription_list(st, seen_name, &s, &error), 0);
	CHECK(strstr(s.text, "Z.Y.B,") != NULL && strstr(s.text, "A.B,") == NULL);
	/* deliveries follow the new name */
	CHECK(deliver_s(st, "Z.Y.B", msg_qp) == 2);
	store_close(st);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(rename_inbox)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	struct store_mailbox_state in, old;
	struct store_flags_change seen = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, 0 };
	struct seen s = { 0 }, x = { 0 };
	const char *error = NULL;
	uint32_t uid = 2;

	CHECK(deliver(st, "INBOX", "k1", msg_plain, strlen(msg_plain)) == 1);
	CHECK(deliver_s(st, "INBOX", msg_qp) == 2);
	CHECK(deliver_s(st, "INBOX", msg_b64) == 3);
	CHECK_INTEQ(store_mailbox_create(st, "INBOX.Kid", NULL, &error), 1);
	CHECK(deliver_s(st, "INBOX.Kid", msg_plain) == 1);
	CHECK_INTEQ(store_msg_flags(st, box(st, "INBOX"), &uid, 1, &seen, NULL,
				    NULL, NULL, &error), 0);
	in = state_of(st, "INBOX");
	CHECK_INTEQ(store_mailbox_rename(st, "inbox", "Old.Mail", &error), 1);
	old = state_of(st, "Old.Mail");
	CHECK(old.id > 0 && old.id != in.id);
	CHECK_INTEQ(old.messages, 3);
	CHECK_INTEQ(old.unseen, 2);
	CHECK_INTEQ(state_of(st, "INBOX").messages, 0);
	CHECK_INTEQ(state_of(st, "INBOX").uidnext, 4);		/* not reset */
	CHECK_INTEQ(state_of(st, "INBOX").id, in.id);
	CHECK_INTEQ(state_of(st, "INBOX.Kid").messages, 1);	/* unaffected */
	CHECK(state_of(st, "Old").id > 0);
	CHECK_INTEQ(store_changes(st, in.id, in.highestmodseq, seen_msg, seen_uid,
				  &s, &error), 0);
	CHECK_STREQ(s.text, "1,2,3,");
	CHECK_INTEQ(store_msg_list(st, old.id, 1, seen_msg, &x, &error), 0);
	CHECK_STREQ(x.text, "1:0:,2:1:,3:0:,");
	/* the moved message's key is still delivered */
	CHECK_INTEQ(deliver(st, "INBOX", "k1", msg_plain, strlen(msg_plain)), 0);
	CHECK_INTEQ(store_mailbox_rename(st, "INBOX", "Old.Mail", &error), -1);
	/* below INBOX is fine for INBOX: its messages move there */
	CHECK(deliver_s(st, "INBOX", msg_plain) == 4);
	CHECK_INTEQ(store_mailbox_rename(st, "INBOX", "INBOX.Saved", &error), 1);
	CHECK_INTEQ(state_of(st, "INBOX.Saved").messages, 1);
	CHECK_INTEQ(state_of(st, "INBOX").messages, 0);
	CHECK_INTEQ(store_mailbox_rename(st, "Old", "INBOX", &error), -1);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* A crash between the directory renames and the commit: the journal is
 * there, the index says which way to finish. */
TEST(rename_recovery)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct buf b = BUF_INIT, to = BUF_INIT;
	int fd;

	CHECK_INTEQ(store_mailbox_create(st, "P.Q", NULL, &error), 1);
	CHECK(deliver_s(st, "P.Q", msg_plain) == 1);
	store_close(st);
	/* not committed: index has P, the directories were renamed to R */
	buf_printf(&to, "%s", apath(&b, dir, "Maildir/.R"));
	CHECK_INTEQ(rename(apath(&b, dir, "Maildir/.P"), buf_cstr(&to)), 0);
	buf_reset(&to);
	buf_printf(&to, "%s", apath(&b, dir, "Maildir/.R.Q"));
	CHECK_INTEQ(rename(apath(&b, dir, "Maildir/.P.Q"), buf_cstr(&to)), 0);
	fd = open(apath(&b, dir, "rename.journal"), O_WRONLY | O_CREAT, 0600);
	CHECK(write(fd, "P\nR\n", 4) == 4);
	close(fd);
	st = open_store(dir);
	CHECK(exists(apath(&b, dir, "Maildir/.P.Q/cur")));
	CHECK(!exists(apath(&b, dir, "Maildir/.R.Q")));
	CHECK(!exists(apath(&b, dir, "rename.journal")));
	CHECK_INTEQ(state_of(st, "P.Q").messages, 1);
	/* committed, one directory not yet renamed: forward */
	CHECK_INTEQ(store_mailbox_rename(st, "P", "R", &error), 1);
	store_close(st);
	buf_reset(&to);
	buf_printf(&to, "%s", apath(&b, dir, "Maildir/.P.Q"));
	CHECK_INTEQ(rename(apath(&b, dir, "Maildir/.R.Q"), buf_cstr(&to)), 0);
	fd = open(apath(&b, dir, "rename.journal"), O_WRONLY | O_CREAT, 0600);
	CHECK(write(fd, "P\nR\n", 4) == 4);
	close(fd);
	st = open_store(dir);
	CHECK(exists(apath(&b, dir, "Maildir/.R.Q/cur")));
	CHECK(!exists(apath(&b, dir, "Maildir/.P.Q")));
	CHECK_INTEQ(state_of(st, "R.Q").messages, 1);
	store_close(st);
	/* an interrupted delete: back if still in the index, else removed */
	CHECK_INTEQ(rename(apath(&b, dir, "Maildir/.R.Q"),
			   apath(&to, dir, "Maildir/..deleted.R.Q")), 0);
	CHECK_INTEQ(mkdir(apath(&b, dir, "Maildir/..deleted.Gone"), 0700), 0);
	st = open_store(dir);
	CHECK(exists(apath(&b, dir, "Maildir/.R.Q/cur")));
	CHECK(!exists(apath(&b, dir, "Maildir/..deleted.Gone")));
	CHECK_INTEQ(state_of(st, "R.Q").messages, 1);
	store_close(st);
	buf_free(&b);
	buf_free(&to);
	rm_rf(dir);
	free(dir);
}

/* ---- messages ---- */

TEST(list_get_changes)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	struct seen s = { 0 };
	const char *error = NULL;
	static const uint32_t want[] = { 2, 3, 9 };
	struct store_mailbox_state st0;
	int64_t id;
	int calls = 0;

	for (int i = 0; i < 4; i++)
		CHECK(deliver_s(st, "INBOX", msg_plain) == (uint32_t)i + 1);
	id = box(st, "INBOX");
	st0 = state_of(st, "INBOX");
	CHECK_INTEQ(st0.messages, 4);
	CHECK_INTEQ(st0.unseen, 4);
	CHECK_INTEQ(st0.first_unseen_uid, 1);
	CHECK_INTEQ(st0.size, 4 * strlen(msg_plain));
	CHECK_INTEQ(st0.uidnext, 5);
	CHECK_INTEQ(st0.highestmodseq, 5);	/* 1 + one per new message */
	CHECK_INTEQ(store_msg_list(st, id, 3, seen_msg, &s, &error), 0);
	CHECK_STREQ(s.text, "3:0:,4:0:,");
	CHECK_INTEQ(s.modseq[0], 4);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_msg_get(st, id, want, 3, seen_msg, &s, &error), 0);
	CHECK_STREQ(s.text, "2:0:,3:0:,");
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_changes(st, id, 3, seen_msg, seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "3:0:,4:0:,");
	CHECK_INTEQ(store_msg_list(st, id, 1, stop_at_first, &calls, &error), 0);
	CHECK_INTEQ(calls, 1);
	CHECK_INTEQ(store_msg_list(st, 999, 1, seen_msg, &s, &error), 0);
	CHECK_INTEQ(store_mailbox_state(st, 999, &st0, &error), 0);
	CHECK_INTEQ(store_mailbox_open(st, "Nope", &st0, &error), 0);
	CHECK_INTEQ(store_mailbox_open(st, "../x", &st0, &error), -1);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* More than one chunk of STORE_LIST_CHUNK. */
TEST(list_chunks)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct store_delivery d = { .mailbox = "Junk", .internaldate = T0 };
	uint32_t uid, n = 0;
	int count = 0;

	for (int i = 0; i < STORE_LIST_CHUNK + 5; i++)
		CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(store_msg_list(st, box(st, "Junk"), 1, stop_at_first, &count,
				   &error), 0);
	{
		struct seen s = { 0 };

		CHECK_INTEQ(store_msg_list(st, box(st, "Junk"), STORE_LIST_CHUNK - 2,
					   seen_msg, &s, &error), 0);
		n = (uint32_t)s.n;
		CHECK_INTEQ(s.uids[0], STORE_LIST_CHUNK - 2);
		CHECK_INTEQ(s.uids[n - 1], STORE_LIST_CHUNK + 5);
	}
	CHECK_INTEQ(n, 8);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

static uint64_t modseq_of(struct store *st, int64_t id, uint32_t uid)
{
	struct seen s = { 0 };
	const char *error;

	if (store_msg_get(st, id, &uid, 1, seen_msg, &s, &error) < 0 || s.n != 1)
		return 0;
	return s.modseq[0];
}

TEST(flags_and_modseq)
{
	static const struct {
		enum store_flags_mode mode;
		unsigned flags;
		const char *want;	/* reported changes */
	} steps[] = {
		{ STORE_FLAGS_ADD, STORE_FLAG_SEEN, "1:1:,2:1:," },
		{ STORE_FLAGS_ADD, STORE_FLAG_SEEN, "" },		/* no change */
		{ STORE_FLAGS_ADD, STORE_FLAG_FLAGGED | STORE_FLAG_DELETED, "1:13:,2:13:," },
		{ STORE_FLAGS_REMOVE, STORE_FLAG_DELETED, "1:5:,2:5:," },
		{ STORE_FLAGS_REPLACE, STORE_FLAG_ANSWERED, "1:2:,2:2:," },
		{ STORE_FLAGS_REMOVE, STORE_FLAG_SEEN, "" },
	};
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	static const uint32_t uids[] = { 1, 2, 7 };
	struct store_mailbox_state s0, s1;
	struct buf b = BUF_INIT;
	int64_t id;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_plain) == 2);
	CHECK(deliver_s(st, "INBOX", msg_plain) == 3);
	id = box(st, "INBOX");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct store_flags_change ch = { steps[i].mode, steps[i].flags, NULL, 0, 0 };
		struct seen s = { 0 };
		uint64_t m3 = modseq_of(st, id, 3);

		s0 = state_of(st, "INBOX");
		CHECK_INTEQ(store_msg_flags(st, id, uids, 3, &ch, seen_msg, NULL, &s,
					    &error), 0);
		CHECK_STREQ(s.text, steps[i].want);
		s1 = state_of(st, "INBOX");
		/* one new MODSEQ for the command's changes (RFC 7162 §3.1.3
		 * allows sharing it), reported; no change, none */
		CHECK_INTEQ(s1.highestmodseq, s0.highestmodseq + (s.n > 0));
		if (s.n == 2) {
			CHECK(s.modseq[0] > s0.highestmodseq && s.modseq[1] == s.modseq[0]);
			CHECK_INTEQ(modseq_of(st, id, 2), s1.highestmodseq);
		}
		CHECK_INTEQ(modseq_of(st, id, 3), m3);	/* untouched */
	}
	/* the file's name follows the system flags (\Answered: R), once the
	 * idle-time renames ran: STORE itself renames nothing */
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/new")), 3);
	{
		size_t done = 99;

		CHECK_INTEQ(store_flag_names_catch_up(st, 1, &done, &error), 0);
		CHECK_INTEQ(done, 1);
		CHECK_INTEQ(store_flag_names_catch_up(st, 10, &done, &error), 0);
		CHECK_INTEQ(done, 1);	/* fewer than max: none left */
		CHECK_INTEQ(store_flag_names_catch_up(st, 10, &done, &error), 0);
		CHECK_INTEQ(done, 0);
	}
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/cur")), 2);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/new")), 1);
	{
		DIR *d = opendir(apath(&b, dir, "Maildir/cur"));
		struct dirent *de;
		int ok = 0;

		while (d != NULL && (de = readdir(d)) != NULL)
			ok += strlen(de->d_name) > 4 &&
			      strcmp(de->d_name + strlen(de->d_name) - 4, ":2,R") == 0;
		if (d != NULL)
			closedir(d);
		CHECK_INTEQ(ok, 2);
	}
	{
		struct store_flags_change bad = { STORE_FLAGS_ADD, 1u << 9, NULL, 0, 0 };

		CHECK_INTEQ(store_msg_flags(st, id, uids, 3, &bad, NULL, NULL, NULL,
					    &error), -1);
		bad.flags = STORE_FLAG_SEEN;
		CHECK_INTEQ(store_msg_flags(st, 4242, uids, 3, &bad, NULL, NULL, NULL,
					    &error), -1);
	}
	/* a reindex keeps what the file names say */
	store_close(st);
	CHECK_INTEQ(store_reindex(dir, 1, &error), 0);
	st = open_store(dir);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE flags = 2"), 2);
	store_close(st);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(keywords)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	static const char *const add[] = { "$Label1", "Work" };
	static const char *const add2[] = { "work", "Later" };
	static const char *const rm[] = { "WORK" };
	static const char *const bad[][1] = { { "a b" }, { "\\Seen" }, { "(x" },
					       { "" }, { "x]" }, { "caf\xc3\xa9" } };
	static const uint32_t one = 1, two = 2;
	struct store_flags_change ch = { STORE_FLAGS_ADD, 0, add, 2, 0 };
	struct seen s = { 0 }, k = { 0 };
	int64_t id;
	uint64_t m;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_plain) == 2);
	id = box(st, "INBOX");
	CHECK_INTEQ(store_msg_flags(st, id, &one, 1, &ch, seen_msg, NULL, &s, &error), 0);
	CHECK_STREQ(s.text, "1:0:$Label1 Work,");
	/* case-insensitive: "work" is "Work"; "Later" is new */
	m = modseq_of(st, id, 1);
	ch.keywords = add2;
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_msg_flags(st, id, &one, 1, &ch, seen_msg, NULL, &s, &error), 0);
	CHECK_STREQ(s.text, "1:0:$Label1 Work Later,");
	CHECK(modseq_of(st, id, 1) > m);
	ch.mode = STORE_FLAGS_REMOVE;
	ch.keywords = rm;
	ch.nkeywords = 1;
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_msg_flags(st, id, &one, 1, &ch, seen_msg, NULL, &s, &error), 0);
	CHECK_STREQ(s.text, "1:0:$Label1 Later,");
	ch.mode = STORE_FLAGS_REPLACE;
	ch.keywords = add2;
	ch.nkeywords = 2;
	ch.flags = STORE_FLAG_SEEN;
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_msg_flags(st, id, &two, 1, &ch, seen_msg, NULL, &s, &error), 0);
	CHECK_STREQ(s.text, "2:1:Work Later,");
	CHECK_INTEQ(store_keywords(st, id, seen_name, &k, &error), 0);
	CHECK_STREQ(k.text, "$Label1,Work,Later,");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_flags_change b = { STORE_FLAGS_ADD, 0, bad[i], 1, 0 };

		CHECK_INTEQ(store_msg_flags(st, id, &one, 1, &b, NULL, NULL, NULL,
					    &error), -1);
		CHECK_STREQ(error, "invalid keyword");
	}
	/* at most STORE_KEYWORDS_MAX per mailbox; the refused call changes
	 * nothing */
	for (int i = 3; i < STORE_KEYWORDS_MAX; i++) {
		char name[16];
		const char *kw = name;
		struct store_flags_change one_kw = { STORE_FLAGS_ADD, 0, &kw, 1, 0 };

		snprintf(name, sizeof(name), "k%d", i);
		CHECK_INTEQ(store_msg_flags(st, id, &two, 1, &one_kw, NULL, NULL,
					    NULL, &error), 0);
	}
	{
		const char *kw = "onetoomany";
		struct store_flags_change over = { STORE_FLAGS_ADD, STORE_FLAG_FLAGGED,
						   &kw, 1, 0 };

		m = modseq_of(st, id, 2);
		CHECK_INTEQ(store_msg_flags(st, id, &two, 1, &over, NULL, NULL, NULL,
					    &error), -1);
		CHECK_STREQ(error, "too many keywords in this mailbox");
		CHECK_INTEQ(modseq_of(st, id, 2), m);
		memset(&k, 0, sizeof(k));
		CHECK_INTEQ(store_keywords(st, id, seen_name, &k, &error), 0);
		CHECK(strstr(k.text, "onetoomany") == NULL);
		/* known ones still work */
		kw = "LATER";
		over.mode = STORE_FLAGS_REMOVE;
		CHECK_INTEQ(store_msg_flags(st, id, &two, 1, &over, NULL, NULL, NULL,
					    &error), 0);
	}
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* RFC 7162 §3.1.3 */
TEST(unchangedsince)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	static const uint32_t uids[] = { 1, 2 };
	struct store_flags_change ch = { STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, NULL, 0, 0 };
	struct seen ok = { 0 };
	uint64_t m1, m2;
	int64_t id;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_plain) == 2);
	id = box(st, "INBOX");
	m1 = modseq_of(st, id, 1);
	m2 = modseq_of(st, id, 2);
	CHECK(m2 > m1);
	ch.unchangedsince = m1;		/* 2 changed since: refused */
	CHECK_INTEQ(store_msg_flags(st, id, uids, 2, &ch, seen_msg, seen_uid, &ok,
				    &error), 0);
	CHECK_STREQ(ok.text, "1:4:,2,");
	CHECK_INTEQ(modseq_of(st, id, 2), m2);
	ch.unchangedsince = m2;
	ch.flags = STORE_FLAG_SEEN;
	memset(&ok, 0, sizeof(ok));
	CHECK_INTEQ(store_msg_flags(st, id, uids, 2, &ch, seen_msg, seen_uid, &ok,
				    &error), 0);
	CHECK_STREQ(ok.text, "2:1:,1,");	/* now 1 changed since m2 */
	store_close(st);
	rm_rf(dir);
	free(dir);
}

TEST(expunge_and_vanished)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	static const uint32_t gone[] = { 2, 3, 9 };
	struct seen s = { 0 }, ch = { 0 };
	struct store_mailbox_state s0, s1;
	struct buf b = BUF_INIT;
	uint64_t size;
	int64_t id;
	int fd;

	for (int i = 0; i < 4; i++)
		CHECK(deliver(st, "INBOX", i == 1 ? "exp.1" : NULL, msg_plain,
			      strlen(msg_plain)) == (uint32_t)i + 1);
	id = box(st, "INBOX");
	s0 = state_of(st, "INBOX");
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 4);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'fox'"), 4);
	CHECK_INTEQ(store_expunge(st, id, gone, 3, seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "2,3,");
	s1 = state_of(st, "INBOX");
	CHECK_INTEQ(s1.messages, 2);
	CHECK_INTEQ(s1.highestmodseq, s0.highestmodseq + 2);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/new")), 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 2);
	/* the index forgot them too (FTS5 'delete' with the stored text) */
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'fox'"), 2);
	CHECK_INTEQ(store_msg_open(st, id, 2, &fd, &size, &error), 0);
	CHECK_INTEQ(fd, -1);
	/* QRESYNC: VANISHED since the old HIGHESTMODSEQ */
	CHECK_INTEQ(store_changes(st, id, s0.highestmodseq, seen_msg, seen_uid, &ch,
				  &error), 0);
	CHECK_STREQ(ch.text, "2,3,");
	memset(&ch, 0, sizeof(ch));
	CHECK_INTEQ(store_changes(st, id, s0.highestmodseq + 1, seen_msg, seen_uid,
				  &ch, &error), 0);
	CHECK_STREQ(ch.text, "3,");
	memset(&ch, 0, sizeof(ch));
	CHECK_INTEQ(store_changes(st, id, s1.highestmodseq, seen_msg, seen_uid, &ch,
				  &error), 0);
	CHECK_STREQ(ch.text, "");
	/* an expunged key is not delivered again */
	CHECK_INTEQ(deliver(st, "INBOX", "exp.1", msg_plain, strlen(msg_plain)), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_expunge(st, id, gone, 3, seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "");
	CHECK_INTEQ(store_expunge(st, 4242, gone, 3, seen_uid, &s, &error), -1);
	store_close(st);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(msg_open_follows_file)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct buf b = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	char name[300], back[512];
	uint64_t size = 0;
	int64_t id;
	int fd;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	id = box(st, "INBOX");
	{
		DIR *d = opendir(apath(&b, dir, "Maildir/new"));
		struct dirent *de;

		name[0] = '\0';
		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				snprintf(name, sizeof(name), "%s", de->d_name);
		if (d != NULL)
			closedir(d);
	}
	/* another mail program moved it and set flags */
	buf_printf(&from, "%s/%s", apath(&b, dir, "Maildir/new"), name);
	buf_printf(&to, "%s/%s:2,FS", apath(&b, dir, "Maildir/cur"), name);
	CHECK_INTEQ(rename(buf_cstr(&from), buf_cstr(&to)), 0);
	CHECK_INTEQ(store_msg_open(st, id, 1, &fd, &size, &error), 1);
	CHECK_INTEQ(size, strlen(msg_plain));
	CHECK(read(fd, back, sizeof(back)) == (ssize_t)strlen(msg_plain));
	CHECK(memcmp(back, msg_plain, strlen(msg_plain)) == 0);
	close(fd);
	/* the index learnt the new location */
	CHECK_INTEQ(sql_int(dir, "SELECT location LIKE 'cur/%:2,FS' FROM messages"), 1);
	CHECK_INTEQ(store_msg_open(st, id, 5, &fd, &size, &error), 0);
	store_close(st);
	buf_free(&b);
	buf_free(&from);
	buf_free(&to);
	rm_rf(dir);
	free(dir);
}

TEST(copy_and_move)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	static const uint32_t uids[] = { 1, 2, 99 };
	static const char *const kws[] = { "Work" };
	struct store_flags_change ch = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, kws, 1, 0 };
	uint32_t dst_uids[3], uv = 0, one = 1;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT, bs1 = BUF_INIT, bs2 = BUF_INIT;
	struct buf b = BUF_INIT;
	struct seen s = { 0 }, v = { 0 }, k = { 0 };
	size_t copied = 9;
	int64_t in, ar;
	uint64_t hm;

	CHECK(deliver(st, "INBOX", "cp.1", msg_plain, strlen(msg_plain)) == 1);
	CHECK(deliver_s(st, "INBOX", msg_b64) == 2);
	in = box(st, "INBOX");
	ar = box(st, "Archive");
	CHECK_INTEQ(store_msg_flags(st, in, &one, 1, &ch, NULL, NULL, NULL, &error), 0);
	CHECK_INTEQ(store_copy(st, in, uids, 3, ar, false, dst_uids, &copied, &uv,
			       &error), 0);
	CHECK_INTEQ(copied, 2);
	CHECK_INTEQ(dst_uids[0], 1);
	CHECK_INTEQ(dst_uids[1], 2);
	CHECK_INTEQ(dst_uids[2], 0);
	CHECK_INTEQ(uv, state_of(st, "Archive").uidvalidity);
	CHECK_INTEQ(store_msg_list(st, ar, 1, seen_msg, &s, &error), 0);
	CHECK_STREQ(s.text, "1:1:Work,2:0:,");
	CHECK_INTEQ(store_keywords(st, ar, seen_name, &k, &error), 0);
	CHECK_STREQ(k.text, "Work,");
	CHECK_INTEQ(state_of(st, "INBOX").messages, 2);
	/* cached values copied, not recomputed; the file is a hard link */
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(DISTINCT cache_id) FROM messages"), 4);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM msg_cache"), 4);
	/* the text rows are shared by the copies */
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(DISTINCT fts_id) FROM messages"), 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 2);
	CHECK_INTEQ(store_msg_cached(st, in, 2, &e1, NULL, &bs1, &error), 1);
	CHECK_INTEQ(store_msg_cached(st, ar, 2, &e2, NULL, &bs2, &error), 1);
	CHECK_STREQ(buf_cstr(&e1), buf_cstr(&e2));
	CHECK_STREQ(buf_cstr(&bs1), buf_cstr(&bs2));
	{
		int fd;
		uint64_t size;
		struct stat sb;

		CHECK_INTEQ(store_msg_open(st, ar, 1, &fd, &size, &error), 1);
		CHECK(fstat(fd, &sb) == 0 && sb.st_nlink == 2);
		close(fd);
	}
	{
		struct seen f = { 0 };

		CHECK_INTEQ(store_search_text(st, ar, STORE_SEARCH_BODY, "Straßenbahn",
					      strlen("Straßenbahn"), seen_uid, &f,
					      &error), 0);
		CHECK_STREQ(f.text, "2,");
	}
	/* MOVE: expunged from INBOX (VANISHED), new UID in Archive */
	hm = state_of(st, "INBOX").highestmodseq;
	CHECK_INTEQ(store_copy(st, in, uids, 1, ar, true, dst_uids, &copied, &uv,
			       &error), 0);
	CHECK_INTEQ(copied, 1);
	CHECK_INTEQ(dst_uids[0], 3);
	CHECK_INTEQ(state_of(st, "INBOX").messages, 1);
	CHECK_INTEQ(store_changes(st, in, hm, seen_msg, seen_uid, &v, &error), 0);
	CHECK_STREQ(v.text, "1,");
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_msg_list(st, ar, 3, seen_msg, &s, &error), 0);
	CHECK_STREQ(s.text, "3:1:Work,");
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/cur")), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/.Archive/cur")), 3);
	/* the moved message's delivery key still counts as delivered */
	CHECK_INTEQ(deliver(st, "INBOX", "cp.1", msg_plain, strlen(msg_plain)), 0);
	/* into the same mailbox */
	CHECK_INTEQ(store_copy(st, ar, uids, 2, ar, false, dst_uids, &copied, &uv,
			       &error), 0);
	CHECK_INTEQ(dst_uids[0], 4);
	CHECK_INTEQ(dst_uids[1], 5);
	CHECK_INTEQ(store_copy(st, ar, uids, 1, 4242, false, dst_uids, &copied, &uv,
			       &error), -1);
	CHECK_INTEQ(copied, 0);
	/* a shared text row goes with the last message that has it */
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 2);
	CHECK_INTEQ(store_expunge(st, in, (const uint32_t[]){ 2 }, 1, NULL, NULL,
				  &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 2);
	{
		struct seen f = { 0 };

		CHECK_INTEQ(store_search_text(st, ar, STORE_SEARCH_TEXT,
					      "k\xc3\xb6ln", 5, seen_uid, &f,
					      &error), 0);
		CHECK_STREQ(f.text, "2,5,");
	}
	CHECK_INTEQ(store_expunge(st, ar, (const uint32_t[]){ 2, 5 }, 2, NULL,
				  NULL, &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 1);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH"
			    " '\xc3\xb6ln'"), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'fox'"), 1);
	CHECK_INTEQ(store_mailbox_delete(st, "Archive", &error), 1);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'fox'"), 0);
	store_close(st);
	buf_free(&e1);
	buf_free(&e2);
	buf_free(&bs1);
	buf_free(&bs2);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

static uint32_t append(struct store *st, int64_t id, const char *text,
		       unsigned flags, const char *const *kw, size_t nkw,
		       uint32_t *uv_r)
{
	const char *error = NULL;
	struct store_append *a = store_append_begin(st, &error);
	size_t len = strlen(text), half = len / 2;
	uint32_t uid = 0, uv = 0;

	if (a == NULL)
		return 0;
	if (store_append_write(a, text, half, &error) < 0 ||
	    store_append_write(a, text + half, len - half, &error) < 0) {
		store_append_abort(a);
		return 0;
	}
	if (store_append_finish(a, id, flags, kw, nkw, T0 + 7, &uid, &uv, &error) < 0)
		return 0;
	if (uv_r != NULL)
		*uv_r = uv;
	return uid;
}

TEST(append_durable_and_visible)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir), *other = open_store(dir);
	const char *error = NULL;
	static const char *const kw[] = { "$Sent", "$sent" };
	static const char *const badkw[] = { "bad kw" };
	struct store_append *a;
	struct seen s = { 0 };
	struct buf b = BUF_INIT;
	char back[512];
	uint64_t c0 = store_change_counter(other), c1, size;
	uint32_t uv = 0, uid;
	int64_t sent = box(st, "Sent");
	int fd;

	CHECK_INTEQ(append(st, sent, msg_plain, STORE_FLAG_SEEN, kw, 2, &uv), 1);
	CHECK_INTEQ(uv, state_of(st, "Sent").uidvalidity);
	/* another handle (another process) sees it at once */
	c1 = store_change_counter(other);
	CHECK(c1 != c0);
	CHECK_INTEQ(store_change_counter(other), c1);	/* stable without change */
	CHECK_INTEQ(store_msg_list(other, sent, 1, seen_msg, &s, &error), 0);
	CHECK_STREQ(s.text, "1:1:$Sent,");
	CHECK_INTEQ(store_msg_open(other, sent, 1, &fd, &size, &error), 1);
	CHECK_INTEQ(size, strlen(msg_plain));
	CHECK(read(fd, back, sizeof(back)) == (ssize_t)strlen(msg_plain));
	CHECK(memcmp(back, msg_plain, strlen(msg_plain)) == 0);
	close(fd);
	CHECK_INTEQ(sql_int(dir, "SELECT internaldate FROM messages WHERE"
			    " keywords = '$Sent'"), T0 + 7);
	CHECK(sql_int(dir, "SELECT savedate FROM messages WHERE keywords = '$Sent'")
	      >= (long long)time(NULL) - 60);
	CHECK_INTEQ(sql_int(dir, "SELECT fts_id IS NOT NULL AND cache_id IS NOT NULL"
			    " FROM messages WHERE keywords = '$Sent'"), 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/.Sent/cur")), 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/tmp")), 0);
	/* our own commits change our counter too */
	c0 = store_change_counter(st);
	CHECK_INTEQ(append(st, sent, msg_qp, 0, NULL, 0, NULL), 2);
	CHECK(store_change_counter(st) != c0);
	/* failures leave nothing behind */
	CHECK_INTEQ(append(st, sent, msg_qp, 1u << 9, NULL, 0, NULL), 0);
	CHECK_INTEQ(append(st, sent, msg_qp, 0, badkw, 1, NULL), 0);
	CHECK_INTEQ(append(st, 4242, msg_qp, 0, NULL, 0, NULL), 0);
	a = store_append_begin(st, &error);
	CHECK(a != NULL);
	CHECK_INTEQ(store_append_write(a, "x", 1, &error), 0);
	store_append_abort(a);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/tmp")), 0);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/.Sent/cur")), 2);
	uid = append(st, sent, msg_qp, 0, NULL, 0, NULL);
	CHECK_INTEQ(uid, 3);	/* failed appends used no UID */
	store_close(other);
	store_close(st);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(batch_open_refuses_calls)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct store_delivery d = { .mailbox = "INBOX", .internaldate = T0 };
	uint32_t uid;

	CHECK_INTEQ(store_deliver(st, &d, &uid, &error), 1);
	CHECK_INTEQ(store_mailbox_create(st, "X", NULL, &error), -1);
	CHECK_STREQ(error, "delivery batch open");
	CHECK_INTEQ(store_sync(st, &error), 0);
	CHECK_INTEQ(store_mailbox_create(st, "X", NULL, &error), 1);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* Another process's delivery batch holds the write lock: a call waits for
 * it (busy timeout) instead of failing. */
TEST(waits_for_other_process)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	int ready[2], status;
	double t0, t1;
	struct timespec ts;
	pid_t pid;
	char c;

	CHECK_INTEQ(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		struct store *other = open_store(dir);
		struct store_delivery d = { .mailbox = "INBOX", .internaldate = T0 };
		uint32_t uid;

		if (store_deliver(other, &d, &uid, &error) != 1 ||
		    write(ready[1], "r", 1) != 1)
			_exit(2);
		usleep(300 * 1000);
		_exit(store_sync(other, &error) == 0 ? 0 : 3);
	}
	close(ready[1]);
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	CHECK_INTEQ(store_mailbox_create(st, "Waited", NULL, &error), 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = ts.tv_sec + ts.tv_nsec / 1e9;
	CHECK(t1 - t0 > 0.2);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK_INTEQ(state_of(st, "INBOX").messages, 1);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* ---- cached values ---- */

TEST(deliver_fills_cache_and_text)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct buf env = BUF_INIT, body = BUF_INIT, bs = BUF_INIT, want = BUF_INIT;
	int64_t id;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_b64) == 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages m JOIN msg_cache c"
			    " ON c.id = m.cache_id WHERE fts_id IS NOT NULL"
			    " AND fts_full"), 2);
	/* the texts are kept deflated; the index has the header's too */
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text WHERE hdr_len > 0"
			    " AND body_len > 0 AND instr(hdr, 'Subject') = 0"
			    " AND instr(body, 'lazy') = 0"), 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'orl'"), 1);
	id = box(st, "INBOX");
	CHECK_INTEQ(store_msg_cached(st, id, 1, &env, &body, &bs, &error), 1);
	imap_envelope_write(msg_plain, strstr(msg_plain, "\r\n\r\n") + 4 - msg_plain,
			    &want);
	CHECK_STREQ(buf_cstr(&env), buf_cstr(&want));
	CHECK(strncmp(buf_cstr(&body), "\"text\" \"plain\"", 14) == 0);
	CHECK(strncmp(buf_cstr(&bs), "\"text\" \"plain\"", 14) == 0);
	CHECK(bs.len > body.len);
	buf_reset(&bs);
	CHECK_INTEQ(store_msg_cached(st, id, 2, NULL, NULL, &bs, &error), 1);
	CHECK(strstr(buf_cstr(&bs), "\"mixed\" (\"boundary\" \"XX\")") != NULL);
	CHECK_INTEQ(store_msg_cached(st, id, 3, &env, NULL, NULL, &error), 0);
	/* a row without them (older index): computed, then saved */
	CHECK_INTEQ(sql_exec(dir, "DELETE FROM msg_cache WHERE id = (SELECT cache_id"
			     " FROM messages WHERE uid = 1); UPDATE messages"
			     " SET cache_id = NULL WHERE uid = 1"), 0);
	buf_reset(&env);
	CHECK_INTEQ(store_msg_cached(st, id, 1, &env, NULL, NULL, &error), 1);
	CHECK_STREQ(buf_cstr(&env), buf_cstr(&want));
	CHECK_INTEQ(sql_int(dir, "SELECT cache_id IS NOT NULL FROM messages"
			    " WHERE uid = 1"), 1);
	store_close(st);
	buf_free(&env);
	buf_free(&body);
	buf_free(&bs);
	buf_free(&want);
	rm_rf(dir);
	free(dir);
}

/* ---- search ---- */

TEST(search_text)
{
	static const struct {
		enum store_search_what what;
		const char *needle;
		const char *want;
	} cases[] = {
		{ STORE_SEARCH_BODY, "quick brown", "1," },
		{ STORE_SEARCH_BODY, "QUICK BROWN", "1," },	/* ASCII case */
		{ STORE_SEARCH_BODY, "Stra\xc3\x9f" "enbahn", "2," },	/* base64 */
		{ STORE_SEARCH_BODY, "GR\xc3\x9c\xc3\x9f" "E", "2," },	/* Ü/ü fold */
		{ STORE_SEARCH_BODY, "secretword", "" },	/* not a text part */
		{ STORE_SEARCH_BODY, "caf\xc3\xa9 cr\xc3\xa8me", "3," },	/* qp + latin1 */
		{ STORE_SEARCH_BODY, "\xc3\xa9t\xc3\xa9", "3," },	/* ÉTÉ as été */
		{ STORE_SEARCH_BODY, "CAF\xc3\x89", "3," },
		{ STORE_SEARCH_TEXT, "sch\xc3\xb6ne", "4," },	/* RFC 2047 subject */
		{ STORE_SEARCH_BODY, "sch\xc3\xb6ne", "" },	/* header only */
		{ STORE_SEARCH_TEXT, "hello world", "1," },
		{ STORE_SEARCH_TEXT, "example.org", "1,2,3,4," },
		{ STORE_SEARCH_BODY, "said \"hi\"", "1," },	/* quotes */
		{ STORE_SEARCH_BODY, "\"", "1," },
		{ STORE_SEARCH_BODY, "ox", "1," },		/* short: scan */
		{ STORE_SEARCH_BODY, "OX", "1," },
		{ STORE_SEARCH_BODY, "\xc3\x9c", "2," },	/* "Ü", 1 char */
		{ STORE_SEARCH_BODY, "\xc3\xa9", "3," },
		{ STORE_SEARCH_BODY, "\xc3\xa9t", "3," },	/* short, text "ÉTÉ" */
		{ STORE_SEARCH_BODY, "k\xc3\xb6", "2," },	/* short, text "Köln" */
		{ STORE_SEARCH_TEXT, "\xc3\xb6", "2,4," },
		{ STORE_SEARCH_BODY, "zz", "" },
		{ STORE_SEARCH_BODY, "nothing at all", "" },
		{ STORE_SEARCH_BODY, "", "1,2,3,4," },
		{ STORE_SEARCH_BODY, "dog.\r\nHe", "1," },
		/* every trigram is there, the string is not: the check drops it */
		{ STORE_SEARCH_BODY, "quick fox", "" },
		{ STORE_SEARCH_BODY, "the lazy dog.\r\nhe said \"HI\" twice.", "1," },
		{ STORE_SEARCH_BODY, "The quick brown fox jumps over the lazy dog."
				     "\r\nHe said \"hi\" twice!", "" },
	};
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	int64_t id;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_b64) == 2);
	CHECK(deliver_s(st, "INBOX", msg_qp) == 3);
	CHECK(deliver_s(st, "INBOX", msg_subject) == 4);
	id = box(st, "INBOX");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = { 0 };

		CHECK_INTEQ(store_search_text(st, id, cases[i].what, cases[i].needle,
					      strlen(cases[i].needle), seen_uid, &s,
					      &error), 0);
		if (strcmp(s.text, cases[i].want) != 0)
			fprintf(stderr, "search case %zu: \"%s\"\n", i, cases[i].needle);
		CHECK_STREQ(s.text, cases[i].want);
	}
	{
		struct seen s = { 0 };

		CHECK_INTEQ(store_search_text(st, 4242, STORE_SEARCH_BODY, "abc", 3,
					      seen_uid, &s, &error), -1);
	}
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* Rows without a text row (older index) are indexed at the first search;
 * a message over the text limit is found by scanning its file. */
TEST(search_lazy_and_partial)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	size_t big = STORE_FTS_TEXT_MAX + 100000;
	struct buf msg = BUF_INIT;
	struct seen s = { 0 };
	int64_t id;

	buf_appends(&msg, "Subject: big\r\n\r\n");
	for (size_t i = 0; msg.len < big; i++)
		buf_printf(&msg, "line %zu of filler text\r\n", i);
	buf_appends(&msg, "The Needle At The End\r\n");
	CHECK(deliver(st, "INBOX", NULL, msg.ptr, msg.len) == 1);
	CHECK(deliver_s(st, "INBOX", msg_plain) == 2);
	id = box(st, "INBOX");
	CHECK_INTEQ(sql_int(dir, "SELECT fts_full FROM messages WHERE uid = 1"), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT fts_full FROM messages WHERE uid = 2"), 1);
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_BODY, "needle at the end",
				      17, seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "1,");
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_BODY, "ND", 2, seen_uid,
				      &s, &error), 0);
	CHECK_STREQ(s.text, "1,");
	/* delivered without text rows: made at the first search */
	store_set_fts_at_delivery(st, false);
	CHECK(deliver_s(st, "INBOX", msg_qp) == 3);
	CHECK_INTEQ(sql_int(dir, "SELECT fts_id IS NULL AND cache_id IS NOT"
			    " NULL FROM messages WHERE uid = 3"), 1);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_BODY, "CAF\xc3\x89", 5,
				      seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "3,");
	CHECK_INTEQ(sql_int(dir, "SELECT fts_id IS NOT NULL FROM messages"
			    " WHERE uid = 3"), 1);
	/* drop the text rows: the next search makes them again */
	CHECK_INTEQ(sql_exec(dir, "INSERT INTO fts(fts) VALUES ('delete-all');"
			     " DELETE FROM fts_text;"
			     " UPDATE messages SET fts_id = NULL, fts_full = 0"), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_TEXT, "lazy dog", 8,
				      seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "2,");
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE fts_id IS NULL"), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 3);
	/* a file gone behind the index's back: an empty text row, no loop */
	CHECK(deliver_s(st, "INBOX", msg_subject) == 4);
	CHECK_INTEQ(sql_exec(dir, "UPDATE messages SET fts_id = NULL WHERE uid = 4"), 0);
	CHECK_INTEQ(sql_exec(dir, "UPDATE messages SET location = 'new/gone',"
			     " filename = 'gone' WHERE uid = 4"), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_TEXT, "erin", 4, seen_uid,
				      &s, &error), 0);
	CHECK_STREQ(s.text, "");
	store_close(st);
	buf_free(&msg);
	rm_rf(dir);
	free(dir);
}

/* ---- migration ---- */

/* The version 1 schema, as the store of version 1 made it. */
static const char schema_v1[] =
	"CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE mailboxes(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" uidvalidity INTEGER NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),"
	" uidnext INTEGER NOT NULL DEFAULT 1, highestmodseq INTEGER NOT NULL DEFAULT 1,"
	" special_use TEXT, subscribed INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE messages(mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id)"
	" ON DELETE CASCADE, uid INTEGER NOT NULL, filename TEXT NOT NULL,"
	" size INTEGER NOT NULL, internaldate INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0, keywords TEXT, modseq INTEGER NOT NULL,"
	" delivery_key TEXT UNIQUE, envelope TEXT, bodystructure TEXT,"
	" PRIMARY KEY (mailbox_id, uid));"
	"CREATE UNIQUE INDEX messages_filename ON messages(mailbox_id, filename);"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE TABLE expunged(mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id)"
	" ON DELETE CASCADE, uid INTEGER NOT NULL, modseq INTEGER NOT NULL,"
	" delivery_key TEXT, PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
	"CREATE INDEX expunged_key ON expunged(delivery_key)"
	" WHERE delivery_key IS NOT NULL;"
	"INSERT INTO meta VALUES ('schema_version', 1);"
	"INSERT INTO mailboxes VALUES (1, 'INBOX', 1600000000, 3, 7, NULL, 1);"
	"INSERT INTO mailboxes VALUES (2, 'Sent', 1600000001, 1, 1, '\\Sent', 1);"
	"INSERT INTO mailboxes VALUES (3, 'Junk', 1600000002, 1, 1, '\\Junk', 0);"
	"INSERT INTO messages VALUES (1, 1, '1600000000.M1P1Q1R1.h', 213, 1600000000,"
	" 0, NULL, 2, 'old.1', NULL, NULL);"
	"INSERT INTO messages VALUES (1, 2, '1600000000.M2P1Q1R1.h', 351, 1600000000,"
	" 1, NULL, 6, NULL, NULL, NULL);"
	"INSERT INTO expunged VALUES (1, 3, 7, 'gone.1');";

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

TEST(fts_catch_up)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	size_t done = 99;
	struct seen s = { 0 };
	int64_t id;

	store_set_fts_at_delivery(st, false);
	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_qp) == 2);
	CHECK(deliver_s(st, "Sent", msg_subject) == 1);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE fts_id IS NULL"), 3);
	/* in steps of at most max, every mailbox, until none is left */
	CHECK_INTEQ(store_fts_catch_up(st, 2, &done, &error), 0);
	CHECK_INTEQ(done, 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE fts_id IS NULL"), 1);
	CHECK_INTEQ(store_fts_catch_up(st, 2, &done, &error), 0);
	CHECK_INTEQ(done, 1);
	CHECK_INTEQ(store_fts_catch_up(st, 2, &done, &error), 0);
	CHECK_INTEQ(done, 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 3);
	id = box(st, "INBOX");
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_BODY, "lazy dog", 8,
				      seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "1,");
	/* the second mailbox's text too (its folder path was once built on
	 * top of the first one's, and its message indexed as empty) */
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_search_text(st, box(st, "Sent"), STORE_SEARCH_BODY,
				      "nothing here", 12, seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "1,");
	store_close(st);
	rm_rf(dir);
	free(dir);
}

/* Both idle-time catch-ups reach every mailbox, not only the first few
 * hundred: the renames and the text index of a message in mailbox 300. */
TEST(catch_up_reaches_every_mailbox)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct buf b = BUF_INIT;
	char name[32];
	size_t done = 99;
	static const uint32_t uid1[] = { 1 };
	struct store_flags_change seen = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, 0 };

	store_set_fts_at_delivery(st, false);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "Box%03d", i);
		CHECK_INTEQ(store_mailbox_create(st, name, NULL, &error), 1);
	}
	CHECK(deliver_s(st, "Box299", msg_plain) == 1);
	CHECK_INTEQ(store_msg_flags(st, box(st, "Box299"), uid1, 1, &seen, NULL,
				    NULL, NULL, &error), 0);
	CHECK_INTEQ(store_flag_names_catch_up(st, 10, &done, &error), 0);
	CHECK_INTEQ(done, 1);
	CHECK_INTEQ(count_entries(apath(&b, dir, "Maildir/.Box299/cur")), 1);
	CHECK_INTEQ(store_fts_catch_up(st, 10, &done, &error), 0);
	CHECK_INTEQ(done, 1);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE fts_id IS NULL"), 0);
	store_close(st);
	buf_free(&b);
	rm_rf(dir);
	free(dir);
}

TEST(migrate_v1)
{
	static const char *const dirs[] = {
		"", "Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp",
		"Maildir/.Sent", "Maildir/.Sent/cur", "Maildir/.Sent/new",
		"Maildir/.Sent/tmp", "Maildir/.Junk", "Maildir/.Junk/cur",
		"Maildir/.Junk/new", "Maildir/.Junk/tmp",
	};
	char *dir = new_tmpdir();
	struct store *st;
	const char *error = NULL;
	struct buf b = BUF_INIT;
	struct seen s = { 0 }, subs = { 0 };
	struct store_mailbox_status status;
	struct buf env = BUF_INIT;
	sqlite3 *db = NULL;
	int64_t id;

	CHECK(strlen(msg_plain) == 213 && strlen(msg_b64) == 351);
	buf_printf(&b, "%s/accounts", dir);
	CHECK_INTEQ(mkdir(buf_cstr(&b), 0700), 0);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		CHECK_INTEQ(mkdir(apath(&b, dir, dirs[i]), 0700), 0);
	write_file(apath(&b, dir, "Maildir/new/1600000000.M1P1Q1R1.h"), msg_plain);
	write_file(apath(&b, dir, "Maildir/cur/1600000000.M2P1Q1R1.h:2,S"), msg_b64);
	CHECK(sqlite3_open(apath(&b, dir, "index.db"), &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db, schema_v1, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);

	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT value FROM meta WHERE name = 'schema_version'"), 5);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages"), 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE location IS NULL"), 0);
	id = box(st, "INBOX");
	CHECK_INTEQ(store_msg_list(st, id, 1, seen_msg, &s, &error), 0);
	CHECK_STREQ(s.text, "1:0:,2:1:,");
	CHECK_INTEQ(s.modseq[1], 6);
	CHECK_INTEQ(state_of(st, "INBOX").uidvalidity, 1600000000);
	CHECK_INTEQ(state_of(st, "INBOX").highestmodseq, 7);
	CHECK_INTEQ(store_subscription_list(st, seen_name, &subs, &error), 0);
	CHECK_STREQ(subs.text, "INBOX,Sent,");
	CHECK_INTEQ(store_mailbox_status(st, "Junk", &status), 0);
	CHECK(!status.subscribed);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_changes(st, id, 6, seen_msg, seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "3,");
	/* the caches come when first needed */
	CHECK_INTEQ(store_msg_cached(st, id, 1, &env, NULL, NULL, &error), 1);
	CHECK(strstr(buf_cstr(&env), "\"Hello World\"") != NULL);
	memset(&s, 0, sizeof(s));
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_BODY, "straßenbahn",
				      strlen("straßenbahn"), seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "2,");
	/* keyed exactly-once survives: both the live key (its UID) and the
	 * expunged one (0) */
	CHECK_INTEQ(deliver(st, "INBOX", "old.1", msg_plain, strlen(msg_plain)), 1);
	CHECK_INTEQ(deliver(st, "INBOX", "gone.1", msg_plain, strlen(msg_plain)), 0);
	CHECK_INTEQ(deliver(st, "INBOX", "new.1", msg_plain, strlen(msg_plain)), 3);
	/* a new mailbox still gets a UIDVALIDITY never used */
	CHECK_INTEQ(store_mailbox_create(st, "Fresh", NULL, &error), 1);
	CHECK(state_of(st, "Fresh").uidvalidity > 1600000002);
	store_close(st);
	/* open again: nothing to migrate */
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(state_of(st, "INBOX").messages, 3);
	store_close(st);
	/* a newer index than this code knows is refused */
	CHECK_INTEQ(sql_exec(dir, "UPDATE meta SET value = 99 WHERE name ="
			     " 'schema_version'"), 0);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), -1);
	CHECK_STREQ(error, "index schema version not supported");
	buf_free(&b);
	buf_free(&env);
	rm_rf(dir);
	free(dir);
}

/* Version 3 kept the cached values in the message rows: they move to
 * msg_cache (made here from a version 4 index taken back to 3). */
TEST(migrate_v3_cache)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct buf env = BUF_INIT, want = BUF_INIT;
	int64_t id;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_b64) == 2);
	id = box(st, "INBOX");
	CHECK_INTEQ(store_msg_cached(st, id, 1, &want, NULL, NULL, &error), 1);
	store_close(st);
	CHECK_INTEQ(sql_exec(dir,
		"ALTER TABLE messages ADD COLUMN envelope TEXT;"
		"ALTER TABLE messages ADD COLUMN body TEXT;"
		"ALTER TABLE messages ADD COLUMN bodystructure TEXT;"
		"UPDATE messages SET (envelope, body, bodystructure) = (SELECT"
		" envelope, body, bodystructure FROM msg_cache c WHERE"
		" c.id = messages.cache_id) WHERE uid = 1;"
		"ALTER TABLE messages DROP COLUMN cache_id;"
		"DROP TABLE msg_cache;"
		"DROP TABLE fts_text;"
		"UPDATE meta SET value = 3 WHERE name = 'schema_version'"), 0);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT value FROM meta WHERE name = 'schema_version'"), 5);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM msg_cache"), 1);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM pragma_table_info('messages')"
			    " WHERE name IN ('envelope', 'body', 'bodystructure')"), 0);
	CHECK_INTEQ(store_msg_cached(st, id, 1, &env, NULL, NULL, &error), 1);
	CHECK_STREQ(buf_cstr(&env), buf_cstr(&want));
	/* the row that lost its values gets them again when first needed */
	buf_reset(&env);
	CHECK_INTEQ(store_msg_cached(st, id, 2, &env, NULL, NULL, &error), 1);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM msg_cache"), 2);
	/* an expunge takes its cache row along */
	CHECK_INTEQ(store_expunge(st, id, (const uint32_t[]){ 1 }, 1, NULL, NULL,
				  &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM msg_cache"), 1);
	store_close(st);
	buf_free(&env);
	buf_free(&want);
	rm_rf(dir);
	free(dir);
}

/* Version 4 kept the texts in the FTS5 table itself; they are dropped
 * and made again (which also mends the empty text rows that an older
 * catch-up wrote for messages outside INBOX). */
TEST(migrate_v4_text)
{
	char *dir = new_tmpdir();
	struct store *st = open_store(dir);
	const char *error = NULL;
	struct seen s = { 0 };
	int64_t id;

	CHECK(deliver_s(st, "INBOX", msg_plain) == 1);
	CHECK(deliver_s(st, "INBOX", msg_b64) == 2);
	id = box(st, "INBOX");
	store_close(st);
	CHECK_INTEQ(sql_exec(dir,
		"DROP TABLE fts; DROP TABLE fts_text;"
		"CREATE VIRTUAL TABLE fts USING fts5(hdr, body,"
		" tokenize = 'trigram case_sensitive 0', detail = none);"
		"INSERT INTO fts(rowid, hdr, body) VALUES (7, '', '');"
		"INSERT INTO fts(rowid, hdr, body) VALUES (8, 'x', 'Stra\xc3\x9f');"
		"UPDATE messages SET fts_id = 6 + uid, fts_full = 1;"
		"UPDATE meta SET value = 4 WHERE name = 'schema_version'"), 0);
	CHECK_INTEQ(store_open(&st, dir, 1, false, &error), 0);
	CHECK_INTEQ(sql_int(dir, "SELECT value FROM meta WHERE name = 'schema_version'"), 5);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM messages WHERE fts_id IS NULL"
			    " AND NOT fts_full"), 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'ra\xc3\x9f'"), 0);
	/* the first search indexes them again, from the files */
	CHECK_INTEQ(store_search_text(st, id, STORE_SEARCH_BODY, "lazy dog", 8,
				      seen_uid, &s, &error), 0);
	CHECK_STREQ(s.text, "1,");
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts_text"), 2);
	CHECK_INTEQ(sql_int(dir, "SELECT COUNT(*) FROM fts WHERE fts MATCH 'ra\xc3\x9f'"), 1);
	store_close(st);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	log_init("test");
	log_set_level(LOGL_ERROR);
	RUN(mailbox_create_list_delete);
	RUN(subscriptions);
	RUN(rename_hierarchy);
	RUN(rename_inbox);
	RUN(rename_recovery);
	RUN(list_get_changes);
	RUN(list_chunks);
	RUN(flags_and_modseq);
	RUN(keywords);
	RUN(unchangedsince);
	RUN(expunge_and_vanished);
	RUN(msg_open_follows_file);
	RUN(copy_and_move);
	RUN(append_durable_and_visible);
	RUN(batch_open_refuses_calls);
	RUN(waits_for_other_process);
	RUN(deliver_fills_cache_and_text);
	RUN(search_text);
	RUN(search_lazy_and_partial);
	RUN(fts_catch_up);
	RUN(catch_up_reaches_every_mailbox);
	RUN(migrate_v1);
	RUN(migrate_v3_cache);
	RUN(migrate_v4_text);
	return test_summary();
}
