/* Unit tests for the DKIM verifier (RFC 6376 §6, RFC 8301, RFC 8463):
 * the dkimpy, Stalwart and Mail::DKIM vectors of the conformance folder,
 * the RFC 8463 signatures reproduced byte for byte, and negative cases
 * made here (tampering, times, l=, oversigning, key records, DNS errors,
 * malformed signatures, limits). Every message is verified in one go, one
 * byte at a time and in small pieces with early key answers. */
#include "harness.h"

#include <time.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_crypto.h"
#include "mailauth/dkim_key.h"
#include "mailauth/dkim_sig.h"
#include "test_dkim_util.h"

#define ED_PUB "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="	/* RFC 8032 */
#define GMAIL_KEY "k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1Kd87" \
	"/UeJjenpabgbFwh+eBCsSTrqmwIYYvywlbhbqoo2DymndFkbjOVIPIldNs/m40KF+yzMn1s" \
	"kyoxcTUGCQs8g3FgD2Ap3ZB5DekAo5wMmk4wimDO+U8QzI3SD07y2+07wlNWwIt8svnxgdxG" \
	"kVbbhzY8i+RQ9DpSVpPbF7ykQxtKXkv/ahW3KjViiAH+ghvvIhkx4xYSIc9oSwVmAl5OctME" \
	"eWUwg8Istjqz8BZeTWbf41fbNhte7Y+YqZOwq1Sd0DbvYAD9NOZK9vlfuac0598HY+vtSBcz" \
	"UiKERHv1yRbcaQtZFh5wtiRrN04BLUTD21MycBX5jYchHjPY/wIDAQAB"

static struct dkim_limits deflim;

/* The message at path (LF made CRLF). */
static bool load_msg(const char *path, struct buf *msg)
{
	struct buf raw = BUF_INIT;
	bool ok = read_data(path, &raw);

	to_crlf(raw.ptr, raw.len, msg);
	buf_free(&raw);
	return ok;
}

/* The first line of a data file (a key record). */
static void load_line(const char *path, struct buf *out)
{
	struct buf raw = BUF_INIT;

	read_data(path, &raw);
	buf_reset(out);
	buf_append(out, raw.ptr, strcspn(buf_cstr(&raw), "\r\n"));
	buf_free(&raw);
}

static void replace(struct buf *b, const char *from, const char *to)
{
	const char *p = strstr(buf_cstr(b), from);
	struct buf t = BUF_INIT;

	if (p == NULL) {
		fprintf(stderr, "replace: \"%s\" not found\n", from);
		test_failed_checks++;
		return;
	}
	buf_append(&t, b->ptr, (size_t)(p - b->ptr));
	buf_appends(&t, to);
	buf_appends(&t, p + strlen(from));
	buf_reset(b);
	buf_append(b, t.ptr, t.len);
	buf_free(&t);
}

/* One vector: all ways agree and each signature has the wanted status. */
static void expect(const char *what, const struct buf *msg, const char *keys,
		   long long now, const enum dkim_status *want, size_t n,
		   const char *reason)
{
	struct vrun run;
	bool same = verify_all_ways(msg->ptr, msg->len, keys, &deflim, now,
				    &run);
	bool ok = same && run.n == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = run.r[i].status == want[i];
	if (ok && reason != NULL && n > 0)
		ok = strcmp(run.r[n - 1].reason, reason) == 0;
	if (!ok) {
		fprintf(stderr, "%s: same=%d n=%zu (want %zu)\n", what, same,
			run.n, n);
		show_run(what, &run);
	}
	CHECK(ok);
}

static const enum dkim_status PASS1[] = { DKIM_PASS };
static const enum dkim_status PASS2[] = { DKIM_PASS, DKIM_PASS };
static const enum dkim_status FAIL1[] = { DKIM_FAIL };
static const enum dkim_status NEUTRAL1[] = { DKIM_NEUTRAL };
static const enum dkim_status PERM1[] = { DKIM_PERMERROR };
static const enum dkim_status POLICY1[] = { DKIM_POLICY };

/* dkimpy's vectors (README §2a and its negative cases). */
TEST(dkimpy_vectors)
{
	struct buf msg = BUF_INIT, keys = BUF_INIT, rec = BUF_INIT;
	static const struct {
		const char *keyfile, *reason;
	} badkeys[] = {
		{ "dkimpy/badversion.txt", "unsupported key record version" },
		{ "dkimpy/badk.txt", "unsupported key type" },
		{ "dkimpy/test_bad.txt", "bad key data" },
		{ "dkimpy/test_tlsrpt.txt", "key not for email" },
	};

	if (!dkim_data_present())
		return;
	load_line("dkimpy/test.txt", &rec);
	buf_printf(&keys, "brisbane._domainkey.football.example.com "
		   "v=DKIM1; k=ed25519; p=" ED_PUB "\n"
		   "test._domainkey.football.example.com %s\n", rec.ptr);
	load_line("dkimpy/eximtest.dns", &rec);
	buf_printf(&keys, "sed._domainkey.test.ex %s\n", rec.ptr);
	buf_appends(&keys, "20120113._domainkey.gmail.com " GMAIL_KEY "\n");
	load_msg("dkimpy/rfc6376.signed.msg", &msg);
	expect("rfc6376.signed", &msg, keys.ptr, 0, PASS2, 2, "ok");
	load_msg("dkimpy/ed25519test2.msg", &msg);
	expect("ed25519test2", &msg, keys.ptr, 0, PASS1, 1, "ok");
	load_msg("dkimpy/test2.message", &msg);
	expect("test2.message", &msg, keys.ptr, 0, PASS1, 1, "ok");
	load_msg("dkimpy/test.message.baddomain", &msg);
	expect("baddomain", &msg, keys.ptr, 0, NEUTRAL1, 1, "bad d= domain");
	load_msg("dkimpy/rfc6376.signed.rsa.msg", &msg);
	expect("rfc6376.signed.rsa", &msg, keys.ptr, 0, PASS1, 1, "ok");
	replace(&msg, "We lost the game.", "We won the game.");
	expect("body tampered", &msg, keys.ptr, 0, FAIL1, 1,
	       "body hash mismatch");
	load_msg("dkimpy/rfc6376.signed.rsa.msg", &msg);
	for (size_t i = 0; i < sizeof(badkeys) / sizeof(badkeys[0]); i++) {
		load_line(badkeys[i].keyfile, &rec);
		buf_reset(&keys);
		buf_printf(&keys, "test._domainkey.football.example.com %s\n",
			   rec.ptr);
		expect(badkeys[i].keyfile, &msg, keys.ptr, 0, PERM1, 1,
		       badkeys[i].reason);
	}
	buf_free(&msg);
	buf_free(&keys);
	buf_free(&rec);
}

/* Stalwart's files: DNS lines, an empty line, the message. */
static void stalwart(const char *file, long long now, const char *reason)
{
	struct buf raw = BUF_INIT, msg = BUF_INIT, keys = BUF_INIT;
	struct vrun run;
	const char *split;
	bool ok;

	CHECK(read_data(file, &raw));
	split = strstr(buf_cstr(&raw), "\n\n");
	if (split == NULL)
		return;
	buf_append(&keys, raw.ptr, (size_t)(split - raw.ptr) + 1);
	to_crlf(split + 2, raw.len - (size_t)(split + 2 - raw.ptr), &msg);
	ok = verify_all_ways(msg.ptr, msg.len, keys.ptr, &deflim, now, &run);
	for (size_t i = 0; i < run.n; i++)
		ok &= reason ? strcmp(run.r[i].reason, reason) == 0 :
			       run.r[i].status == DKIM_PASS;
	if (!ok || run.n == 0) {
		fprintf(stderr, "%s:\n", file);
		show_run(file, &run);
	}
	CHECK(ok && run.n > 0);
	buf_free(&raw);
	buf_free(&msg);
	buf_free(&keys);
}

TEST(stalwart_vectors)
{
	char name[64];

	if (!dkim_data_present())
		return;
	for (int i = 1; i <= 6; i++) {
		snprintf(name, sizeof(name), "stalwart-mail-auth/%03d.txt", i);
		stalwart(name, i == 5 ? 1667843664 : 0, NULL);
	}
	/* 005 carries x=1667930064: expired now */
	stalwart("stalwart-mail-auth/005.txt", 0, "signature expired");
}

/* ---- Mail::DKIM corpus ---- */

struct mdkim {
	char file[96];
	char expected[16];	/* pass, fail, invalid */
	bool domainkeys;	/* RFC 4870, not DKIM: we see no signature */
};

/* expected.json is regular: one object per file, fields in order. */
static size_t mdkim_load(struct mdkim *out, size_t max)
{
	struct buf js = BUF_INIT;
	const char *p;
	size_t n = 0;

	if (!read_data("mail-dkim/expected.json", &js))
		return 0;
	for (p = js.ptr; n < max && (p = strstr(p, "\"file\": \"")); n++) {
		const char *e = strstr(p, "\"expected\": \"");
		const char *d = strstr(p, "\"domainkeys_not_dkim\": ");

		if (e == NULL || d == NULL)
			break;
		p += 9;
		dkim_text_copy(out[n].file, sizeof(out[n].file), p,
			       strcspn(p, "\""), false);
		e += 13;
		dkim_text_copy(out[n].expected, sizeof(out[n].expected), e,
			       strcspn(e, "\""), false);
		out[n].domainkeys = strncmp(d + 23, "true", 4) == 0;
	}
	buf_free(&js);
	return n;
}

/* Where RFC 6376 or RFC 8301 make us differ from Mail::DKIM's (older)
 * expectations, and why. */
static const struct {
	const char *prefix;
	enum dkim_status status;	/* best result of the message */
} mdkim_diff[] = {
	/* drafts before RFC 4871: no v= or v=0.5; v=1 is required (§3.5) */
	{ "corpus/good_ietf", DKIM_NEUTRAL }, { "corpus/mine_ietf", DKIM_NEUTRAL },
	{ "corpus/bad_ietf01", DKIM_NEUTRAL }, { "corpus/bad_1.", DKIM_NEUTRAL },
	{ "corpus/multiple_1", DKIM_NEUTRAL }, { "corpus/no_body_", DKIM_NEUTRAL },
	/* g= was dropped by RFC 6376: unknown key tags are ignored (§3.6.1) */
	{ "corpus/badkey_8.", DKIM_POLICY }, { "corpus/badkey_9.", DKIM_POLICY },
	{ "corpus/badkey_12", DKIM_POLICY }, { "corpus/badkey_13", DKIM_POLICY },
};

static int rank(enum dkim_status s)
{
	static const int r[] = {
		[DKIM_PASS] = 6, [DKIM_POLICY] = 5, [DKIM_FAIL] = 4,
		[DKIM_PERMERROR] = 3, [DKIM_TEMPERROR] = 3, [DKIM_NEUTRAL] = 2,
		[DKIM_PENDING] = 0,
	};
	return r[s];
}

static enum dkim_status best(const struct vrun *run)
{
	enum dkim_status b = DKIM_PENDING;

	for (size_t i = 0; i < run->n; i++)
		if (rank(run->r[i].status) > rank(b))
			b = run->r[i].status;
	return b;
}

/* With 512-bit keys allowed, what Mail::DKIM expects must hold (a "pass"
 * with rsa-sha1 is our "policy": it verified). */
static bool mdkim_ok(const struct mdkim *m, const struct vrun *run)
{
	enum dkim_status b = best(run);

	if (m->domainkeys)
		return run->n == 0;
	for (size_t i = 0; i < sizeof(mdkim_diff) / sizeof(mdkim_diff[0]); i++)
		if (strncmp(m->file, mdkim_diff[i].prefix,
			    strlen(mdkim_diff[i].prefix)) == 0)
			return b == mdkim_diff[i].status;
	if (strcmp(m->expected, "pass") == 0)
		return b == DKIM_PASS || b == DKIM_POLICY;
	if (strcmp(m->expected, "fail") == 0)
		return b == DKIM_FAIL;
	return b == DKIM_NEUTRAL || b == DKIM_PERMERROR || b == DKIM_TEMPERROR;
}

/* With the RFC 8301 default, only a key of >= 1024 bits can verify:
 * every other result is the same except "RSA key too short". */
static bool mdkim_default_ok(const struct vrun *def, const struct vrun *old)
{
	bool ok = def->n == old->n;

	for (size_t i = 0; ok && i < def->n; i++) {
		const struct dkim_result *d = &def->r[i], *o = &old->r[i];

		ok = d->status == o->status ||
		     (d->status == DKIM_PERMERROR &&
		      strcmp(d->reason, "RSA key too short") == 0 &&
		      o->key_bits < 1024);
	}
	return ok;
}

TEST(maildkim_corpus)
{
	static struct mdkim m[100];
	struct buf msg = BUF_INIT, dns = BUF_INIT;
	struct dkim_limits old = deflim;
	static struct vrun r512, rdef;
	size_t n, passes = 0;

	if (!dkim_data_present())
		return;
	n = mdkim_load(m, 100);
	CHECK_INTEQ(n, 79);
	CHECK(read_data("mail-dkim/FAKE_DNS.dat", &dns));
	old.rsa_min_bits = 512;
	for (size_t i = 0; i < n; i++) {
		char path[128];
		bool same;

		snprintf(path, sizeof(path), "mail-dkim/%s", m[i].file);
		CHECK(load_msg(path, &msg));
		same = verify_all_ways(msg.ptr, msg.len, dns.ptr, &old, 0, &r512);
		same &= verify_all_ways(msg.ptr, msg.len, dns.ptr, &deflim, 0,
					&rdef);
		if (!same || !mdkim_ok(&m[i], &r512) ||
		    !mdkim_default_ok(&rdef, &r512)) {
			fprintf(stderr, "%s (expected %s)\n", m[i].file,
				m[i].expected);
			show_run("512", &r512);
			show_run("default", &rdef);
			CHECK(0);
		}
		passes += best(&rdef) == DKIM_PASS;
	}
	/* the one modern signature of the corpus (ed25519, RFC 8463) */
	CHECK_INTEQ(passes, 1);
	buf_free(&msg);
	buf_free(&dns);
}

/* ---- signatures made here ---- */

static struct dkim_privkey *rsa_key, *ed_key, *short_key, *other_key;

static void make_keys(void)
{
	const char *why;

	rsa_key = dkim_privkey_generate(DKIM_KEY_RSA, 1024, &why);
	other_key = dkim_privkey_generate(DKIM_KEY_RSA, 1024, &why);
	ed_key = dkim_privkey_generate(DKIM_KEY_ED25519, 0, &why);
	short_key = xcalloc(1, sizeof(*short_key));
	short_key->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	short_key->type = DKIM_KEY_RSA;
	short_key->bits = 512;
}

static const char base_msg[] =
	"Received: from a by b; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	"From: Joe <joe@example.org>\r\n"
	"To: Suzie <suzie@example.net>\r\n"
	"Subject: dinner\r\n"
	"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	"Message-ID: <1@example.org>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n";

/* Sign base_msg with our signer; "sel" names the key. */
static void sign_base(const struct dkim_privkey *k, enum dkim_canon c,
		      const char *identity, long long t, long long x,
		      struct buf *out)
{
	struct dkim_sign_params p;
	struct dkim_sign_key key = { "sel", k };
	struct dkim_sign *s;
	const char *why = NULL;

	dkim_sign_params_default(&p);
	p.domain = "example.org";
	p.keys = &key;
	p.n_keys = 1;
	p.header_canon = p.body_canon = c;
	p.identity = identity;
	p.timestamp = t;
	p.expire = x;
	buf_reset(out);
	s = dkim_sign_new(&p, &why);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	dkim_sign_feed(s, base_msg, strlen(base_msg));
	CHECK_INTEQ(dkim_sign_finish(s, out, &why), 0);
	buf_appends(out, base_msg);
	dkim_sign_free(s);
}

/* A key table with rec for sel._domainkey.example.org; "%P" in rec is
 * the key's p= value, "%O" other_key's, "%R" the whole record. */
static void keys_for(const struct dkim_privkey *k, const char *rec,
		     struct buf *out)
{
	struct buf full = BUF_INIT, other = BUF_INIT;

	dkim_privkey_record(k, &full);
	dkim_privkey_record(other_key, &other);
	buf_reset(out);
	buf_appends(out, "sel._domainkey.example.org ");
	for (; *rec; rec++) {
		if (rec[0] == '%' && (rec[1] == 'P' || rec[1] == 'O')) {
			buf_appends(out, strstr(rec[1] == 'P' ? full.ptr :
						other.ptr, "p=") + 2);
			rec++;
		} else if (rec[0] == '%' && rec[1] == 'R') {
			buf_appends(out, full.ptr);
			rec++;
		} else if (rec[0] == '|') {
			buf_appends(out, "\nsel._domainkey.example.org ");
		} else {
			buf_appendc(out, *rec);
		}
	}
	buf_appendc(out, '\n');
	buf_free(&full);
	buf_free(&other);
}

enum { K_RSA, K_ED };

struct neg_case {
	const char *name;
	int key;
	enum dkim_canon canon;
	const char *identity;
	long long t_off, expire;	/* t= relative to now; x= after t= */
	const char *rec;		/* key record(s), '|' between */
	const char *edit_from, *edit_to;	/* change after signing */
	const char *prepend;		/* field added on top later */
	long long verify_off;		/* the verifier's clock */
	enum dkim_status want;
	const char *reason;
};

#define R DKIM_CANON_RELAXED
#define S DKIM_CANON_SIMPLE

static const struct neg_case neg_cases[] = {
	{ "rsa ok", K_RSA, R, NULL, 0, 0, "%R", 0, 0, 0, 0, DKIM_PASS, "ok" },
	{ "ed ok", K_ED, S, NULL, 0, 0, "%R", 0, 0, 0, 0, DKIM_PASS, "ok" },
	{ "body changed", K_RSA, R, NULL, 0, 0, "%R", "We lost", "We won", 0,
	  0, DKIM_FAIL, "body hash mismatch" },
	{ "body changed ed", K_ED, R, NULL, 0, 0, "%R", "Hi.", "Hi!", 0, 0,
	  DKIM_FAIL, "body hash mismatch" },
	{ "header changed", K_RSA, R, NULL, 0, 0, "%R", "Subject: dinner",
	  "Subject: lunch", 0, 0, DKIM_FAIL, "signature did not verify" },
	{ "header changed ed", K_ED, S, NULL, 0, 0, "%R", "To: Suzie",
	  "To: Susie", 0, 0, DKIM_FAIL, "signature did not verify" },
	{ "relaxed survives whitespace", K_RSA, R, NULL, 0, 0, "%R",
	  "Subject: dinner", "subject:   dinner ", 0, 0, DKIM_PASS, "ok" },
	{ "relaxed body whitespace", K_ED, R, NULL, 0, 0, "%R",
	  "game.  Are", "game. \t Are", 0, 0, DKIM_PASS, "ok" },
	{ "simple header whitespace", K_RSA, S, NULL, 0, 0, "%R",
	  "Subject: dinner", "Subject:  dinner", 0, 0, DKIM_FAIL,
	  "signature did not verify" },
	{ "simple body trailing lines", K_RSA, S, NULL, 0, 0, "%R",
	  "yet?\r\n\r\n", "yet?\r\n\r\n\r\n\r\n", 0, 0, DKIM_PASS, "ok" },
	{ "unsigned field added", K_RSA, R, NULL, 0, 0, "%R", 0, 0,
	  "X-Spam: no\r\n", 0, DKIM_PASS, "ok" },
	{ "second From added", K_RSA, R, NULL, 0, 0, "%R", 0, 0,
	  "From: evil@example.com\r\n", 0, DKIM_FAIL,
	  "signature did not verify" },
	{ "absent Cc added", K_ED, R, NULL, 0, 0, "%R", 0, 0,
	  "Cc: evil@example.com\r\n", 0, DKIM_FAIL,
	  "signature did not verify" },
	{ "second Subject added", K_RSA, S, NULL, 0, 0, "%R", 0, 0,
	  "Subject: free money\r\n", 0, DKIM_FAIL, "signature did not verify" },
	{ "expired", K_RSA, R, NULL, -1000, 100, "%R", 0, 0, 0, 0,
	  DKIM_PERMERROR, "signature expired" },
	{ "not yet expired", K_RSA, R, NULL, -10, 100, "%R", 0, 0, 0, 0,
	  DKIM_PASS, "ok" },
	{ "t= in the future", K_ED, R, NULL, 3600, 0, "%R", 0, 0, 0, 0,
	  DKIM_PERMERROR, "signature timestamp in the future" },
	{ "t= within the skew", K_ED, R, NULL, 100, 0, "%R", 0, 0, 0, 0,
	  DKIM_PASS, "ok" },
	{ "key revoked", K_RSA, R, NULL, 0, 0, "v=DKIM1; k=rsa; p=", 0, 0, 0,
	  0, DKIM_PERMERROR, "key revoked" },
	{ "k= mismatch", K_ED, R, NULL, 0, 0, "v=DKIM1; k=rsa; p=%P", 0, 0, 0,
	  0, DKIM_PERMERROR, "bad key data" },
	{ "key of the other type", K_RSA, R, NULL, 0, 0,
	  "k=ed25519; p=" ED_PUB, 0, 0, 0, 0, DKIM_PERMERROR,
	  "key type does not match a=" },
	{ "h=sha1 key", K_RSA, R, NULL, 0, 0, "k=rsa; h=sha1; p=%P", 0, 0, 0,
	  0, DKIM_PERMERROR, "key does not allow the hash" },
	{ "h=sha256 key", K_RSA, R, NULL, 0, 0, "k=rsa; h=sha1:sha256; p=%P",
	  0, 0, 0, 0, DKIM_PASS, "ok" },
	{ "key for other service", K_ED, R, NULL, 0, 0,
	  "k=ed25519; s=tlsrpt; p=%P", 0, 0, 0, 0, DKIM_PERMERROR,
	  "key not for email" },
	{ "t=s key, i= subdomain", K_RSA, R, "joe@mail.example.org", 0, 0,
	  "k=rsa; t=s; p=%P", 0, 0, 0, 0, DKIM_PERMERROR,
	  "key needs i= domain equal to d=" },
	{ "t=s key, i= domain", K_RSA, R, "joe@example.org", 0, 0,
	  "k=rsa; t=s; p=%P", 0, 0, 0, 0, DKIM_PASS, "ok" },
	{ "i= subdomain", K_ED, R, "@mail.Example.org", 0, 0, "%R", 0, 0, 0,
	  0, DKIM_PASS, "ok" },
	{ "junk record first", K_RSA, R, NULL, 0, 0, "v=spf1 -all|%R", 0, 0,
	  0, 0, DKIM_PASS, "ok" },
	{ "only junk", K_RSA, R, NULL, 0, 0, "hello world", 0, 0, 0, 0,
	  DKIM_PERMERROR, "key record syntax error" },
	{ "NXDOMAIN", K_RSA, R, NULL, 0, 0, "NXDOMAIN", 0, 0, 0, 0,
	  DKIM_PERMERROR, "no key for signature" },
	{ "SERVFAIL", K_ED, R, NULL, 0, 0, "~~SERVFAIL~~", 0, 0, 0, 0,
	  DKIM_TEMPERROR, "key query failed" },
	{ "wrong key", K_RSA, R, NULL, 0, 0, "k=rsa; p=%O", 0, 0, 0, 0,
	  DKIM_FAIL, "signature did not verify" },
	{ "wrong key ed", K_ED, R, NULL, 0, 0, "k=ed25519; p=" ED_PUB, 0, 0,
	  0, 0, DKIM_FAIL, "signature did not verify" },
};

static void run_neg(const struct neg_case *c, long long now)
{
	const struct dkim_privkey *k = c->key == K_RSA ? rsa_key : ed_key;
	struct buf msg = BUF_INIT, keys = BUF_INIT, t = BUF_INIT;
	struct vrun run;
	bool same, ok;

	sign_base(k, c->canon, c->identity, now + c->t_off, c->expire, &msg);
	if (c->edit_from != NULL)
		replace(&msg, c->edit_from, c->edit_to);
	if (c->prepend != NULL) {
		buf_appends(&t, c->prepend);
		buf_append(&t, msg.ptr, msg.len);
		buf_reset(&msg);
		buf_append(&msg, t.ptr, t.len);
	}
	keys_for(k, c->rec, &keys);
	same = verify_all_ways(msg.ptr, msg.len, keys.ptr, &deflim,
			       now + c->verify_off, &run);
	ok = same && run.n == 1 && run.r[0].status == c->want &&
	     strcmp(run.r[0].reason, c->reason) == 0;
	if (!ok) {
		fprintf(stderr, "case \"%s\" (same=%d):\n%s", c->name, same,
			msg.ptr);
		show_run(c->name, &run);
	}
	CHECK(ok);
	buf_free(&msg);
	buf_free(&keys);
	buf_free(&t);
}

TEST(negative_cases)
{
	long long now = (long long)time(NULL);

	for (size_t i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++)
		run_neg(&neg_cases[i], now);
}

/* A hand-made signature: tmpl is the field up to "b=" with "%BH" for
 * the body hash; hl the h= list it names. */
static void tmpl_sign(const char *msg, const char *tmpl, const char *hl,
		      EVP_PKEY *pk, enum dkim_algo a, enum dkim_canon hc,
		      enum dkim_canon bc, uint64_t l, struct buf *out)
{
	struct dkim_hdr h;
	struct dkim_bodyhash *bh = dkim_bodyhash_new(bc, a, l);
	struct dkim_span names[16];
	struct buf b64 = BUF_INIT, sig = BUF_INIT;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	size_t used, n;

	dkim_hdr_init(&h, &deflim);
	used = dkim_hdr_feed(&h, msg, strlen(msg));
	dkim_hdr_finish(&h);
	dkim_bodyhash_feed(bh, msg + used, strlen(msg) - used);
	dkim_bodyhash_end(bh);
	dkim_b64_encode(bh->digest, bh->digest_len, &b64);
	buf_reset(out);
	buf_append(out, tmpl, strcspn(tmpl, "%"));
	buf_appends(out, b64.ptr);
	buf_appends(out, strstr(tmpl, "%BH") + 3);
	CHECK_INTEQ(dkim_list_split(hl, strlen(hl), names, 16, &n), 0);
	dkim_header_hash(a, hc, &h, names, n, out->ptr, out->len, digest, &dlen);
	CHECK_INTEQ(dkim_crypto_sign(pk, a, digest, dlen, &sig), 0);
	buf_reset(&b64);
	dkim_b64_encode((unsigned char *)sig.ptr, sig.len, &b64);
	buf_printf(out, "%s\r\n%s", b64.ptr, msg);
	dkim_bodyhash_free(bh);
	dkim_hdr_free(&h);
	buf_free(&b64);
	buf_free(&sig);
}

/* l= (§3.5, §8.2), rsa-sha1 (RFC 8301 §3.1), short keys (§3.2). */
TEST(length_sha1_short_keys)
{
	struct buf msg = BUF_INIT, keys = BUF_INIT, t = BUF_INIT;
	struct vrun run;
	size_t blen = strlen(strstr(base_msg, "\r\n\r\n") + 4) - 2;
	char tmpl[256];

	/* l= the whole canonical body (simple: one trailing CRLF goes) */
	snprintf(tmpl, sizeof(tmpl), "DKIM-Signature: v=1; a=rsa-sha256; "
		 "d=example.org; s=sel; l=%zu; h=from:to; bh=%%BH; b=", blen);
	tmpl_sign(base_msg, tmpl, "from:to", rsa_key->pkey, DKIM_RSA_SHA256,
		  S, S, blen, &msg);
	keys_for(rsa_key, "%R", &keys);
	CHECK(verify_all_ways(msg.ptr, msg.len, keys.ptr, &deflim, 0, &run));
	CHECK(run.n == 1 && run.r[0].status == DKIM_PASS &&
	      !run.r[0].partial_body);
	/* text appended after l=: still valid, but flagged */
	buf_appends(&msg, "Click here!\r\n");
	CHECK(verify_all_ways(msg.ptr, msg.len, keys.ptr, &deflim, 0, &run));
	CHECK(run.n == 1 && run.r[0].status == DKIM_PASS &&
	      run.r[0].partial_body);
	/* the body cut shorter than l= */
	buf_truncate(&msg, msg.len - 13);
	replace(&msg, "hungry yet?\r\n", "\r\n");
	CHECK(verify_all_ways(msg.ptr, msg.len, keys.ptr, &deflim, 0, &run));
	CHECK(run.n == 1 && run.r[0].status == DKIM_PERMERROR &&
	      strcmp(run.r[0].reason, "l= is longer than the body") == 0);
	/* l=0: no body signed at all */
	tmpl_sign(base_msg, "DKIM-Signature: v=1; a=rsa-sha256; d=example.org;"
		  " s=sel; l=0; h=from; bh=%BH; b=", "from", rsa_key->pkey,
		  DKIM_RSA_SHA256, S, S, 0, &msg);
	replace(&msg, "We lost", "We won");
	CHECK(verify_all_ways(msg.ptr, msg.len, keys.ptr, &deflim, 0, &run));
	CHECK(run.n == 1 && run.r[0].status == DKIM_PASS &&
	      run.r[0].partial_body);
	/* rsa-sha1: it verifies, but is not accepted */
	tmpl_sign(base_msg, "DKIM-Signature: v=1; a=rsa-sha1; c=relaxed; "
		  "d=example.org; s=sel; h=from:subject; bh=%BH; b=",
		  "from:subject", rsa_key->pkey, DKIM_RSA_SHA1, R, S,
		  UINT64_MAX, &msg);
	expect("rsa-sha1", &msg, keys.ptr, 0, POLICY1, 1,
	       "rsa-sha1 is not accepted, RFC 8301");
	replace(&msg, "Subject: dinner", "Subject: lunch");
	expect("rsa-sha1 changed", &msg, keys.ptr, 0, FAIL1, 1,
	       "signature did not verify");
	/* a 512-bit key */
	tmpl_sign(base_msg, "DKIM-Signature: v=1; a=rsa-sha256; "
		  "d=example.org; s=sel; h=from; bh=%BH; b=", "from",
		  short_key->pkey, DKIM_RSA_SHA256, S, S, UINT64_MAX, &msg);
	keys_for(short_key, "%R", &keys);
	expect("512 bits", &msg, keys.ptr, 0, PERM1, 1, "RSA key too short");
	buf_free(&msg);
	buf_free(&keys);
	buf_free(&t);
}

/* RFC 8463 Appendix A: RSA and Ed25519 are deterministic, so signing
 * the example's own header template reproduces its b= exactly. */
TEST(rfc8463_signatures_reproduced)
{
	static const char *const keyfiles[] = {
		"dkimpy/rfc8032_7_1.key", "dkimpy/test.private",
	};
	struct buf msg = BUF_INIT, key = BUF_INIT, field = BUF_INIT;
	struct buf sig = BUF_INIT, b64 = BUF_INIT, want = BUF_INIT;
	struct dkim_hdr h;
	size_t n = 0;

	if (!dkim_data_present() || !load_msg("dkimpy/rfc6376.signed.msg", &msg))
		return;
	dkim_hdr_init(&h, &deflim);
	dkim_hdr_feed(&h, msg.ptr, msg.len);
	for (size_t i = 0; i < h.n && n < 2; i++) {
		struct dkim_sig s;
		struct dkim_result r;
		struct dkim_privkey *k;
		unsigned char digest[EVP_MAX_MD_SIZE];
		unsigned dlen;
		const char *why;

		if (!dkim_hdr_is(&h, i, "DKIM-Signature", 14))
			continue;
		memset(&r, 0, sizeof(r));
		CHECK_INTEQ(dkim_sig_parse(&s, dkim_hdr_text(&h, i), h.f[i].len,
					   &deflim, &r, &why), 0);
		read_data(keyfiles[n++], &key);
		k = dkim_privkey_load(key.ptr, key.len, &why);
		CHECK(k != NULL);
		buf_reset(&field);
		dkim_sig_strip_b(&s, &field);
		dkim_header_hash(s.algo, s.header_canon, &h, s.h, s.n_h,
				 field.ptr, field.len, digest, &dlen);
		buf_reset(&sig);
		buf_reset(&b64);
		if (k != NULL &&
		    dkim_crypto_sign(k->pkey, s.algo, digest, dlen, &sig) == 0)
			dkim_b64_encode((unsigned char *)sig.ptr, sig.len, &b64);
		buf_reset(&want);
		dkim_b64_encode(s.b, s.b_len, &want);
		CHECK(b64.len > 0);
		CHECK_STREQ(buf_cstr(&b64), buf_cstr(&want));
		dkim_privkey_free(k);
		dkim_sig_free(&s);
	}
	CHECK_INTEQ(n, 2);
	dkim_hdr_free(&h);
	buf_free(&msg);
	buf_free(&key);
	buf_free(&field);
	buf_free(&sig);
	buf_free(&b64);
	buf_free(&want);
}

#define SIG_TAIL "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; " \
	"b=dGVzdA=="

/* Signature fields that must be refused before any key is asked for. */
static const struct {
	const char *sig, *reason;
} malformed[] = {
	{ "a=rsa-sha256; d=example.org; s=sel; h=from; " SIG_TAIL,
	  "missing v= tag" },
	{ "v=2; a=rsa-sha256; d=example.org; s=sel; h=from; " SIG_TAIL,
	  "unsupported version" },
	{ "v=1; a=rsa-md5; d=example.org; s=sel; h=from; " SIG_TAIL,
	  "unsupported algorithm" },
	{ "v=1; d=example.org; s=sel; h=from; " SIG_TAIL, "missing a= tag" },
	{ "v=1; a=rsa-sha256; c=future; d=example.org; s=sel; h=from; "
	  SIG_TAIL, "unsupported canonicalization" },
	{ "v=1; a=rsa-sha256; c=relaxed/future; d=example.org; s=sel; "
	  "h=from; " SIG_TAIL, "unsupported canonicalization" },
	{ "v=1; a=rsa-sha256; s=sel; h=from; " SIG_TAIL, "missing d= tag" },
	{ "v=1; a=rsa-sha256; d=example..org; s=sel; h=from; " SIG_TAIL,
	  "bad d= domain" },
	{ "v=1; a=rsa-sha256; d=example.org; h=from; " SIG_TAIL,
	  "missing s= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=a b; h=from; " SIG_TAIL,
	  "bad s= selector" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; i=joe@example.com; "
	  "h=from; " SIG_TAIL, "i= domain not within d=" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; i=joe@badexample.org; "
	  "h=from; " SIG_TAIL, "i= domain not within d=" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; i=joe; h=from; "
	  SIG_TAIL, "bad i= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; " SIG_TAIL,
	  "missing h= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject; " SIG_TAIL,
	  "From field not signed" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from::to; " SIG_TAIL,
	  "bad h= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=dGVzdA==",
	  "missing bh= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=!!; b=dGVz",
	  "bad bh= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=dGVz; b=",
	  "bad b= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=dGVz",
	  "missing b= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; l=1x; " SIG_TAIL,
	  "bad l= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; t=now; " SIG_TAIL,
	  "bad t= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; t=10; x=10; "
	  SIG_TAIL, "x= not later than t=" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; x=1234567890123; "
	  SIG_TAIL, "bad x= tag" },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; q=http; "
	  SIG_TAIL, "unsupported q= method" },
	{ "v=1; v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " SIG_TAIL,
	  "duplicate tag" },
	{ "synerr", "tag without '='" },
	{ "v=1; a=rsa-sha256;; d=example.org", "bad tag name" },
	{ "", "empty tag list" },
};

TEST(malformed_signatures)
{
	struct buf msg = BUF_INIT;
	struct vrun run;

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		bool same;

		buf_reset(&msg);
		buf_printf(&msg, "DKIM-Signature: %s\r\n%s", malformed[i].sig,
			   base_msg);
		same = verify_all_ways(msg.ptr, msg.len, "", &deflim, 0, &run);
		if (!(same && run.n == 1 && run.r[0].status == DKIM_NEUTRAL &&
		      strcmp(run.r[0].reason, malformed[i].reason) == 0))
			show_run(malformed[i].reason, &run);
		CHECK(same && run.n == 1);
		CHECK(run.r[0].status == DKIM_NEUTRAL);
		CHECK_STREQ(run.r[0].reason, malformed[i].reason);
	}
	buf_free(&msg);
}

TEST(limits_and_counts)
{
	struct buf msg = BUF_INIT, sig = BUF_INIT, keys = BUF_INIT;
	struct dkim_limits lim = deflim;
	struct vrun run;

	verify_run(base_msg, strlen(base_msg), "", &deflim, 0, 0, false, &run);
	CHECK(run.n == 0 && run.ignored == 0);
	verify_run("", 0, "", &deflim, 0, 1, false, &run);
	CHECK_INTEQ(run.n, 0);
	/* more signatures than evaluated */
	sign_base(ed_key, R, NULL, 0, 0, &msg);
	buf_append(&sig, msg.ptr, (size_t)(strstr(msg.ptr, "Received:") -
					   msg.ptr));
	for (int i = 0; i < 9; i++) {
		buf_reset(&keys);
		buf_append(&keys, sig.ptr, sig.len);
		buf_append(&keys, msg.ptr, msg.len);
		buf_reset(&msg);
		buf_append(&msg, keys.ptr, keys.len);
	}
	keys_for(ed_key, "%R", &keys);
	verify_run(msg.ptr, msg.len, keys.ptr, &deflim, 0, 0, false, &run);
	CHECK_INTEQ(run.n, DKIM_MAX_SIGNATURES);
	CHECK_INTEQ(run.ignored, 10 - DKIM_MAX_SIGNATURES);
	CHECK(run.r[7].status == DKIM_PASS);
	/* a header over the limits: nothing can be verified */
	lim.max_header_fields = 5;
	verify_run(msg.ptr, msg.len, keys.ptr, &lim, 0, 0, false, &run);
	CHECK(run.n == 5 && run.r[0].status == DKIM_PERMERROR);
	CHECK_STREQ(run.r[0].reason, "message header over the limits");
	/* signature fields longer than max_tag_list */
	lim = deflim;
	lim.max_tag_list = 64;
	verify_run(msg.ptr, msg.len, keys.ptr, &lim, 0, 0, false, &run);
	CHECK(run.n == DKIM_MAX_SIGNATURES && run.r[0].status == DKIM_NEUTRAL);
	CHECK_STREQ(run.r[0].reason, "signature field too long");
	/* h= longer than max_signed_headers */
	lim = deflim;
	lim.max_signed_headers = 4;
	verify_run(msg.ptr, msg.len, keys.ptr, &lim, 0, 0, false, &run);
	CHECK_STREQ(run.r[0].reason, "bad h= tag");
	buf_free(&msg);
	buf_free(&sig);
	buf_free(&keys);
}

TEST(result_text)
{
	struct dkim_result r;
	struct buf b = BUF_INIT;

	memset(&r, 0, sizeof(r));
	r.status = DKIM_PASS;
	r.reason = "ok";
	str_copy(r.domain, sizeof(r.domain), "example.org");
	str_copy(r.identity, sizeof(r.identity), "@example.org");
	str_copy(r.selector, sizeof(r.selector), "sel");
	str_copy(r.algorithm, sizeof(r.algorithm), "ed25519-sha256");
	str_copy(r.header_b, sizeof(r.header_b), "9/dsDChY");
	dkim_result_format(&r, &b);
	CHECK_STREQ(buf_cstr(&b), "dkim=pass header.d=example.org "
		    "header.i=@example.org header.s=sel header.a=ed25519-sha256 "
		    "header.b=\"9/dsDChY\"");
	memset(&r, 0, sizeof(r));
	r.status = DKIM_FAIL;
	r.reason = "body hash mismatch";
	str_copy(r.domain, sizeof(r.domain), "example.org");
	str_copy(r.identity, sizeof(r.identity), "a \"b\"@example.org");
	buf_reset(&b);
	dkim_result_format(&r, &b);
	CHECK_STREQ(buf_cstr(&b), "dkim=fail (body hash mismatch) "
		    "header.d=example.org header.i=\"a \\\"b\\\"@example.org\"");
	CHECK_STREQ(dkim_status_name(DKIM_POLICY), "policy");
	CHECK_STREQ(dkim_algo_name(DKIM_ED25519_SHA256), "ed25519-sha256");
	buf_free(&b);
}

int main(void)
{
	dkim_limits_default(&deflim);
	make_keys();
	RUN(dkimpy_vectors);
	RUN(stalwart_vectors);
	RUN(maildkim_corpus);
	RUN(negative_cases);
	RUN(length_sha1_short_keys);
	RUN(rfc8463_signatures_reproduced);
	RUN(malformed_signatures);
	RUN(limits_and_counts);
	RUN(result_text);
	dkim_privkey_free(rsa_key);
	dkim_privkey_free(ed_key);
	dkim_privkey_free(short_key);
	dkim_privkey_free(other_key);
	return test_summary();
}
