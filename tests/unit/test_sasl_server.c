/* Unit tests for src/auth/sasl_server and auth_client: logins against a
 * real user database in a temporary directory, on a real event loop (the
 * throttling delays are shortened, the clock is faked), through the
 * MSG_AUTH_* payloads both ways; the fail2ban log lines. */
#include "harness.h"

#include <crypt.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "auth/sasl.h"
#include "auth/sasl_server.h"
#include "auth/userdb.h"
#include "lib/buf.h"
#include "lib/log.h"

#define S(lit) lit, sizeof(lit) - 1
#define PEER_IMAP 4
#define PEER_SMTP 3

static char dir[] = "/tmp/test_sasl_server.XXXXXX";
static struct buf dbpath = BUF_INIT;
static struct event_base *base;
static struct userdb *db;
static int64_t alice_id, carol_id;
static uint64_t fake_now = 1000;

/* ---- the replies, as a requester reads them ---- */

#define MAX_REPLIES 64

static struct got {
	int peer;
	uint32_t reqid, status;
	struct buf challenge;
	int64_t account;
	char address[300];
	char reason[128];
} got[MAX_REPLIES];
static size_t ngot;

static void on_reply(void *ctx, int peer, uint32_t reqid,
		     const struct auth_reply *r)
{
	struct buf wire = BUF_INIT;
	struct auth_reply back;
	struct got *g = &got[ngot % MAX_REPLIES];

	(void)ctx;
	auth_client_reply_build(&wire, r);
	CHECK_INTEQ(auth_client_reply_parse((const uint8_t *)wire.ptr, wire.len,
					    &back), 0);
	g->peer = peer;
	g->reqid = reqid;
	g->status = back.status;
	buf_reset(&g->challenge);
	buf_append(&g->challenge, back.challenge, back.challenge_len);
	g->account = back.account;
	snprintf(g->address, sizeof(g->address), "%s", back.address);
	snprintf(g->reason, sizeof(g->reason), "%s", back.reason);
	ngot++;
	buf_free(&wire);
}

static uint64_t fake_clock(void)
{
	return fake_now;
}

static struct sasl_server *server(unsigned delay_after, unsigned block_after,
				  size_t max_exchanges)
{
	struct sasl_server_config c = {
		.fail_delay_after = delay_after,
		.fail_block_after = block_after,
		.fail_window = 60,
		.max_exchanges = max_exchanges,
		.delay_unit_ms = 20,	/* one "second" of delay */
	};
	struct sasl_server *s = sasl_server_new(base, db, &c, on_reply, NULL);

	sasl_server_set_clock(s, fake_clock);
	ngot = 0;
	return s;
}

/* One MSG_AUTH_STEP, through the wire format. */
static void step(struct sasl_server *s, int peer, uint32_t conn,
		 const char *ip, unsigned flags, const char *mech,
		 const void *resp, size_t len, const void *cb, size_t cb_len)
{
	static uint32_t reqid;
	struct auth_step in = {
		.conn = conn, .service = AUTH_SVC_IMAP, .ip = ip, .flags = flags,
		.mech = mech, .resp = resp, .resp_len = len, .cb = cb,
		.cb_len = cb_len,
	}, out;
	struct buf wire = BUF_INIT;

	auth_client_step_build(&wire, &in);
	CHECK_INTEQ(auth_client_step_parse((const uint8_t *)wire.ptr, wire.len,
					   &out), 0);
	sasl_server_step(s, peer, ++reqid, &out);
	buf_free(&wire);
}

/* A first PLAIN step (initial response). */
static void plain(struct sasl_server *s, uint32_t conn, const char *ip,
		  const char *user, const char *pw)
{
	struct buf m = BUF_INIT;

	buf_appendc(&m, '\0');
	buf_appends(&m, user);
	buf_appendc(&m, '\0');
	buf_appends(&m, pw);
	step(s, PEER_IMAP, conn, ip, AUTH_F_FIRST | AUTH_F_TLS, "PLAIN", m.ptr,
	     m.len, NULL, 0);
	buf_free(&m);
}

/* Run the event loop until n replies have come (or ms passed). */
static bool wait_replies_ms(size_t n, long ms)
{
	struct timeval start, now;

	gettimeofday(&start, NULL);
	while (ngot < n) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
		gettimeofday(&now, NULL);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_usec - start.tv_usec) / 1000 > ms)
			return false;
	}
	return true;
}

static bool wait_replies(size_t n)
{
	return wait_replies_ms(n, 3000);
}

static const struct got *last(void)
{
	return &got[(ngot - 1) % MAX_REPLIES];
}

/* The last reply is status with reason (or, for OK, the account). */
#define CHECK_LAST(st, why)                                             \
	do {                                                            \
		CHECK(ngot > 0);                                        \
		if (ngot > 0) {                                         \
			CHECK_INTEQ(last()->status, st);                \
			CHECK_STREQ(last()->reason, why);               \
		}                                                       \
	} while (0)

/* ---- password logins ---- */

TEST(plain_logins)
{
	struct sasl_server *s = server(3, 10, 0);

	plain(s, 1, "192.0.2.1", "alice@example.org", "alice-pw");
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(last()->account, alice_id);
	CHECK_STREQ(last()->address, "alice@example.org");
	CHECK_INTEQ(last()->peer, PEER_IMAP);
	plain(s, 2, "192.0.2.2", "Alice@EXAMPLE.org", "alice-pw");
	CHECK_LAST(AUTH_OK, "");
	CHECK_STREQ(last()->address, "alice@example.org");
	plain(s, 3, "192.0.2.3", "alice@example.org", "alice-PW");
	CHECK_LAST(AUTH_FAIL, "bad password");
	CHECK_INTEQ(last()->account, 0);
	CHECK_STREQ(last()->address, "");
	plain(s, 4, "192.0.2.4", "nobody@example.org", "x");
	CHECK_LAST(AUTH_FAIL, "unknown user");
	plain(s, 5, "192.0.2.5", "not an address", "x");
	CHECK_LAST(AUTH_FAIL, "unknown user");
	plain(s, 6, "192.0.2.6", "dave@example.org", "dave-pw");
	CHECK_LAST(AUTH_FAIL, "account disabled");
	step(s, PEER_IMAP, 7, "192.0.2.7", AUTH_F_FIRST, "PLAIN", S("x"), NULL, 0);
	CHECK_LAST(AUTH_FAIL, "PLAIN message without two NUL separators");
	step(s, PEER_IMAP, 8, "192.0.2.8", AUTH_F_FIRST, "CRAM-MD5", S(""), NULL, 0);
	CHECK_LAST(AUTH_FAIL, "unknown mechanism");
	step(s, PEER_IMAP, 9, "192.0.2.9", 0, "", S("x"), NULL, 0);
	CHECK_LAST(AUTH_FAIL, "no exchange in progress");
	/* PLAIN without an initial response: an empty challenge first */
	step(s, PEER_SMTP, 10, "192.0.2.10", AUTH_F_FIRST | AUTH_F_NO_IR,
	     "PLAIN", NULL, 0, NULL, 0);
	CHECK_LAST(AUTH_CONTINUE, "");
	CHECK_INTEQ(last()->challenge.len, 0);
	CHECK_INTEQ(last()->peer, PEER_SMTP);
	step(s, PEER_SMTP, 10, "192.0.2.10", 0, "", S("\0alice@example.org\0alice-pw"),
	     NULL, 0);
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(sasl_server_exchanges(s), 0);
	sasl_server_free(s);
}

TEST(login_mechanism)
{
	struct sasl_server *s = server(3, 10, 0);

	step(s, PEER_IMAP, 1, "192.0.2.1", AUTH_F_FIRST | AUTH_F_NO_IR, "LOGIN",
	     NULL, 0, NULL, 0);
	CHECK_LAST(AUTH_CONTINUE, "");
	CHECK_STREQ(buf_cstr(&last()->challenge), "Username:");
	step(s, PEER_IMAP, 1, "192.0.2.1", 0, "", S("alice@example.org"), NULL, 0);
	CHECK_STREQ(buf_cstr(&last()->challenge), "Password:");
	CHECK_INTEQ(sasl_server_exchanges(s), 1);
	step(s, PEER_IMAP, 1, "192.0.2.1", 0, "", S("alice-pw"), NULL, 0);
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(last()->account, alice_id);
	CHECK_INTEQ(sasl_server_exchanges(s), 0);
	sasl_server_free(s);
}

/* ---- throttling ---- */

TEST(throttle_delays_then_blocks)
{
	struct sasl_server *s = server(2, 4, 0);
	size_t n;

	plain(s, 1, "192.0.2.50", "alice@example.org", "wrong1");
	CHECK_LAST(AUTH_FAIL, "bad password");	/* 0 failures before: now */
	plain(s, 1, "192.0.2.50", "alice@example.org", "wrong2");
	CHECK_INTEQ(ngot, 2);			/* 1 before: now */
	n = ngot;
	plain(s, 1, "192.0.2.50", "alice@example.org", "wrong3");
	CHECK_INTEQ(ngot, n);			/* 2 before: held 1 s */
	CHECK(wait_replies(n + 1));
	CHECK_LAST(AUTH_FAIL, "bad password");
	plain(s, 1, "192.0.2.50", "alice@example.org", "wrong4");
	CHECK_INTEQ(ngot, n + 1);		/* held 2 s */
	CHECK(wait_replies(n + 2));
	/* 4 failures: blocked, the right password is not even checked */
	plain(s, 1, "192.0.2.50", "alice@example.org", "alice-pw");
	CHECK(wait_replies(n + 3));
	CHECK_LAST(AUTH_FAIL, "throttled");
	/* the account is blocked from elsewhere too ... */
	plain(s, 2, "198.51.100.1", "alice@example.org", "alice-pw");
	CHECK(wait_replies(n + 4));
	CHECK_LAST(AUTH_FAIL, "throttled");
	/* ... and the address for other accounts */
	plain(s, 3, "192.0.2.50", "bob@example.org", "x");
	CHECK(wait_replies(n + 5));
	CHECK_LAST(AUTH_FAIL, "throttled");
	/* a quiet window later all is forgiven */
	fake_now += 61;
	plain(s, 4, "192.0.2.50", "alice@example.org", "alice-pw");
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(ngot, n + 6);
	sasl_server_free(s);
}

TEST(throttle_success_clears)
{
	struct sasl_server *s = server(2, 10, 0);

	fake_now += 1000;
	plain(s, 1, "192.0.2.60", "alice@example.org", "bad");
	plain(s, 1, "192.0.2.60", "alice@example.org", "bad");
	CHECK_INTEQ(ngot, 2);
	plain(s, 1, "192.0.2.60", "alice@example.org", "alice-pw");
	CHECK(wait_replies(3));			/* held: 2 failures */
	CHECK_LAST(AUTH_OK, "");
	plain(s, 1, "192.0.2.60", "alice@example.org", "bad");
	plain(s, 1, "192.0.2.60", "alice@example.org", "bad");
	CHECK_INTEQ(ngot, 5);			/* counting from 0 again */
	sasl_server_free(s);
}

TEST(throttle_ipv6_per_64)
{
	struct sasl_server *s = server(3, 2, 0);

	fake_now += 1000;
	plain(s, 1, "2001:db8:1:2::1", "u1@example.org", "x");
	plain(s, 1, "2001:db8:1:2:ffff::9", "u2@example.org", "x");
	CHECK_INTEQ(ngot, 2);
	plain(s, 1, "2001:db8:1:2::77", "u3@example.org", "x");
	CHECK_LAST(AUTH_FAIL, "throttled");
	plain(s, 1, "2001:db8:1:3::1", "u4@example.org", "x");
	CHECK_LAST(AUTH_FAIL, "unknown user");
	/* IPv4-mapped addresses count as the IPv4 address */
	plain(s, 1, "::ffff:192.0.2.70", "u5@example.org", "x");
	plain(s, 1, "192.0.2.70", "u6@example.org", "x");
	plain(s, 1, "192.0.2.70", "u7@example.org", "x");
	CHECK_LAST(AUTH_FAIL, "throttled");
	sasl_server_free(s);
}

TEST(held_reply_cancelled)
{
	struct sasl_server *s = server(1, 10, 0);

	fake_now += 1000;
	plain(s, 1, "192.0.2.80", "alice@example.org", "bad");
	CHECK_INTEQ(ngot, 1);
	plain(s, 1, "192.0.2.80", "alice@example.org", "bad");
	CHECK_INTEQ(ngot, 1);			/* held */
	sasl_server_cancel(s, PEER_IMAP, 1);	/* the client hung up */
	CHECK_INTEQ(sasl_server_exchanges(s), 0);
	CHECK(!wait_replies_ms(2, 300));	/* never sent (due at 20 ms) */
	/* a step while a reply is held is a requester bug: refused */
	plain(s, 2, "192.0.2.80", "alice@example.org", "bad");
	CHECK_INTEQ(ngot, 1);
	step(s, PEER_IMAP, 2, "192.0.2.80", 0, "", S("x"), NULL, 0);
	CHECK_LAST(AUTH_FAIL, "step while a reply is held");
	CHECK_INTEQ(sasl_server_exchanges(s), 0);
	sasl_server_free(s);
}

/* ---- exchanges ---- */

TEST(cancel_peer_down_and_bound)
{
	struct sasl_server *s = server(3, 10, 2);

	step(s, PEER_IMAP, 1, "192.0.2.90", AUTH_F_FIRST | AUTH_F_NO_IR, "LOGIN",
	     NULL, 0, NULL, 0);
	sasl_server_cancel(s, PEER_IMAP, 1);
	CHECK_INTEQ(sasl_server_exchanges(s), 0);
	step(s, PEER_IMAP, 1, "192.0.2.90", 0, "", S("alice@example.org"), NULL, 0);
	CHECK_LAST(AUTH_FAIL, "no exchange in progress");
	sasl_server_cancel(s, PEER_IMAP, 99);	/* unknown: ignored */

	/* the same conn number in two processes is two exchanges */
	step(s, PEER_IMAP, 5, "192.0.2.90", AUTH_F_FIRST | AUTH_F_NO_IR, "LOGIN",
	     NULL, 0, NULL, 0);
	step(s, PEER_SMTP, 5, "192.0.2.90", AUTH_F_FIRST | AUTH_F_NO_IR, "LOGIN",
	     NULL, 0, NULL, 0);
	CHECK_INTEQ(sasl_server_exchanges(s), 2);
	sasl_server_peer_down(s, PEER_SMTP);
	CHECK_INTEQ(sasl_server_exchanges(s), 1);

	/* a third exchange pushes out the oldest, which gets its answer */
	ngot = 0;
	step(s, PEER_IMAP, 6, "192.0.2.90", AUTH_F_FIRST | AUTH_F_NO_IR, "LOGIN",
	     NULL, 0, NULL, 0);
	step(s, PEER_IMAP, 7, "192.0.2.90", AUTH_F_FIRST | AUTH_F_NO_IR, "LOGIN",
	     NULL, 0, NULL, 0);
	CHECK_INTEQ(sasl_server_exchanges(s), 2);
	CHECK_INTEQ(ngot, 3);
	CHECK_INTEQ(got[1].status, AUTH_FAIL);
	CHECK_STREQ(got[1].reason, "too many logins in progress");
	/* a new first step replaces the exchange of its conn */
	step(s, PEER_IMAP, 7, "192.0.2.90", AUTH_F_FIRST, "LOGIN",
	     S("alice@example.org"), NULL, 0);
	CHECK_INTEQ(sasl_server_exchanges(s), 2);
	CHECK_STREQ(buf_cstr(&last()->challenge), "Password:");
	sasl_server_free(s);
}

/* ---- SCRAM ---- */

static void hmac(const void *key, size_t klen, const void *msg, size_t len,
		 uint8_t out[32])
{
	unsigned olen = 32;

	HMAC(EVP_sha256(), key, (int)klen, msg, len, out, &olen);
}

/* The client side of RFC 5802 §3 from a server-first message: the
 * client-final message into final, the expected "v=..." into verifier. */
static int scram_client(const char *password, const char *first_bare,
			const char *server_first, const char *cbind,
			struct buf *final, struct buf *verifier)
{
	const char *s = strstr(server_first, ",s="), *i = strstr(server_first, ",i=");
	struct buf salt = BUF_INIT, am = BUF_INIT;
	uint8_t salted[32], ck[32], sk[32], sig[32], proof[32], srv[32];

	if (s == NULL || i == NULL ||
	    sasl_b64_decode(s + 3, (size_t)(i - s - 3), &salt) < 0)
		return -1;
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
			  (const uint8_t *)salt.ptr, (int)salt.len,
			  atoi(i + 3), EVP_sha256(), 32, salted);
	hmac(salted, 32, "Client Key", 10, ck);
	SHA256(ck, 32, sk);
	buf_printf(final, "c=%s,%.*s", cbind, (int)(s - server_first),
		   server_first);
	buf_printf(&am, "%s,%s,%s", first_bare, server_first, final->ptr);
	hmac(sk, 32, am.ptr, am.len, sig);
	for (int k = 0; k < 32; k++)
		proof[k] = ck[k] ^ sig[k];
	buf_appends(final, ",p=");
	sasl_b64_encode(proof, 32, final);
	hmac(salted, 32, "Server Key", 10, sk);
	hmac(sk, 32, am.ptr, am.len, srv);
	buf_appends(verifier, "v=");
	sasl_b64_encode(srv, 32, verifier);
	buf_free(&salt);
	buf_free(&am);
	return 0;
}

/* A whole SCRAM login; returns the final status, reason in *why. */
static uint32_t scram_login(struct sasl_server *s, uint32_t conn,
			    const char *mech, const char *user,
			    const char *password, const char *gs2,
			    const void *cb, size_t cb_len, struct buf *salt_r)
{
	struct buf first = BUF_INIT, final = BUF_INIT, v = BUF_INIT;
	struct buf cbind = BUF_INIT, raw = BUF_INIT;
	const char *bare;

	buf_printf(&first, "%sn=%s,r=fyko+d2lbbFgONRv9qkxdawL", gs2, user);
	bare = first.ptr + strlen(gs2);
	step(s, PEER_IMAP, conn, "192.0.2.100", AUTH_F_FIRST | AUTH_F_TLS, mech,
	     first.ptr, first.len, cb, cb_len);
	if (last()->status != AUTH_CONTINUE)
		goto out;
	if (salt_r != NULL) {
		const char *sp = strstr(buf_cstr(&last()->challenge), ",s=");
		buf_appends(salt_r, sp != NULL ? sp : "");
	}
	buf_appends(&raw, gs2);
	if (cb_len > 0)
		buf_append(&raw, cb, cb_len);
	sasl_b64_encode(raw.ptr, raw.len, &cbind);
	CHECK_INTEQ(scram_client(password, bare, buf_cstr(&last()->challenge),
				 cbind.ptr, &final, &v), 0);
	step(s, PEER_IMAP, conn, "192.0.2.100", AUTH_F_TLS, "", final.ptr,
	     final.len, NULL, 0);
	if (last()->status != AUTH_CONTINUE)
		goto out;
	CHECK_STREQ(buf_cstr(&last()->challenge), v.ptr);	/* server proof */
	step(s, PEER_IMAP, conn, "192.0.2.100", AUTH_F_TLS, "", NULL, 0, NULL, 0);
out:
	buf_free(&first);
	buf_free(&final);
	buf_free(&v);
	buf_free(&cbind);
	buf_free(&raw);
	return last()->status;
}

TEST(scram_logins)
{
	static const uint8_t cb[32] = "exporter-value-of-this-tls-sess";
	struct sasl_server *s = server(10, 20, 0);
	struct buf salt1 = BUF_INIT, salt2 = BUF_INIT;

	fake_now += 1000;
	CHECK_INTEQ(scram_login(s, 1, "SCRAM-SHA-256", "alice@example.org",
				"alice-pw", "n,,", NULL, 0, NULL), AUTH_OK);
	CHECK_INTEQ(last()->account, alice_id);
	CHECK_STREQ(last()->address, "alice@example.org");
	CHECK_INTEQ(scram_login(s, 2, "SCRAM-SHA-256-PLUS", "alice@example.org",
				"alice-pw", "p=tls-exporter,,", cb, sizeof(cb),
				NULL), AUTH_OK);
	CHECK_INTEQ(scram_login(s, 3, "SCRAM-SHA-256", "alice@example.org",
				"alice-pwx", "n,,", NULL, 0, NULL), AUTH_FAIL);
	CHECK_STREQ(last()->reason, "bad password");
	/* -PLUS offered (cb data sent) and the client says 'y': downgrade */
	CHECK_INTEQ(scram_login(s, 4, "SCRAM-SHA-256", "alice@example.org",
				"alice-pw", "y,,", cb, sizeof(cb), NULL),
		    AUTH_FAIL);
	CHECK(strstr(last()->reason, "downgrade") != NULL);
	CHECK_INTEQ(scram_login(s, 5, "SCRAM-SHA-256-PLUS", "alice@example.org",
				"alice-pw", "p=tls-exporter,,", NULL, 0, NULL),
		    AUTH_FAIL);
	/* unknown accounts get a salt (the same each time), then fail */
	CHECK_INTEQ(scram_login(s, 6, "SCRAM-SHA-256", "ghost@example.org",
				"x", "n,,", NULL, 0, &salt1), AUTH_FAIL);
	CHECK_STREQ(last()->reason, "unknown user");
	CHECK_INTEQ(scram_login(s, 7, "SCRAM-SHA-256", "ghost@example.org",
				"y", "n,,", NULL, 0, &salt2), AUTH_FAIL);
	CHECK(salt1.len > 20);
	CHECK_STREQ(buf_cstr(&salt1), buf_cstr(&salt2));
	/* after the server signature only an empty response is right */
	{
		struct buf first = BUF_INIT, final = BUF_INIT, v = BUF_INIT;

		buf_appends(&first, "n,,n=alice@example.org,r=abcdef");
		step(s, PEER_IMAP, 8, "192.0.2.100", AUTH_F_FIRST, "SCRAM-SHA-256",
		     first.ptr, first.len, NULL, 0);
		CHECK_INTEQ(scram_client("alice-pw", first.ptr + 3,
					 buf_cstr(&last()->challenge), "biws",
					 &final, &v), 0);
		step(s, PEER_IMAP, 8, "192.0.2.100", 0, "", final.ptr,
		     final.len, NULL, 0);
		CHECK_LAST(AUTH_CONTINUE, "");
		step(s, PEER_IMAP, 8, "192.0.2.100", 0, "", S("x"), NULL, 0);
		CHECK_LAST(AUTH_FAIL, "data after the SCRAM outcome");
		buf_free(&first);
		buf_free(&final);
		buf_free(&v);
	}
	buf_free(&salt1);
	buf_free(&salt2);
	sasl_server_free(s);
}

/* An imported hash has no SCRAM secret until the first password login. */
TEST(scram_secret_made_at_first_password_login)
{
	struct sasl_server *s = server(10, 20, 0);

	fake_now += 1000;
	CHECK_INTEQ(scram_login(s, 1, "SCRAM-SHA-256", "carol@example.org",
				"imported", "n,,", NULL, 0, NULL), AUTH_FAIL);
	CHECK_STREQ(last()->reason, "no SCRAM secret");
	plain(s, 2, "192.0.2.110", "carol@example.org", "imported");
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(last()->account, carol_id);
	CHECK_INTEQ(scram_login(s, 3, "SCRAM-SHA-256", "carol@example.org",
				"imported", "n,,", NULL, 0, NULL), AUTH_OK);
	CHECK_INTEQ(last()->account, carol_id);
	sasl_server_free(s);
}

/* ---- the log ---- */

static void read_file(const char *path, struct buf *out)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(out, chunk, (size_t)n);
	if (fd >= 0)
		close(fd);
}

TEST(log_lines_for_fail2ban)
{
	struct sasl_server *s = server(10, 20, 0);
	struct buf path = BUF_INIT, text = BUF_INIT;
	int saved = dup(2), fd;

	fake_now += 1000;
	buf_printf(&path, "%s/log", dir);
	fd = open(path.ptr, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	plain(s, 1, "192.0.2.7", "alice@example.org", "nope");
	plain(s, 2, "192.0.2.7", "x> client=10.0.0.1 \"", "nope");
	step(s, PEER_IMAP, 3, "192.0.2.8", AUTH_F_FIRST, "LOGIN", S("bob"),
	     NULL, 0);
	step(s, PEER_IMAP, 3, "192.0.2.8", 0, "", S("pw"), NULL, 0);
	plain(s, 4, "192.0.2.7", "alice@example.org", "alice-pw");
	dup2(saved, 2);
	close(saved);
	close(fd);
	read_file(path.ptr, &text);
	CHECK(strstr(text.ptr, " event=auth-failed service=imap client=192.0.2.7 "
		     "user=<alice@example.org> mech=PLAIN reason=\"bad password\"\n"));
	CHECK(strstr(text.ptr, " event=auth-failed service=imap client=192.0.2.7 "
		     "user=<x\\x3e\\x20client\\x3d10.0.0.1\\x20\\x22> mech=PLAIN "
		     "reason=\"unknown user\"\n"));
	CHECK(strstr(text.ptr, " event=auth-failed service=imap client=192.0.2.8 "
		     "user=<bob> mech=LOGIN reason=\"unknown user\"\n"));
	CHECK(strstr(text.ptr, " event=auth-ok service=imap client=192.0.2.7 "
		     "user=<alice@example.org> mech=PLAIN account="));
	CHECK(strstr(text.ptr, "client=10.0.0.1") == NULL);
	unlink(path.ptr);
	buf_free(&path);
	buf_free(&text);
	sasl_server_free(s);
}

/* ---- the wire format (auth_client) ---- */

TEST(wire_format)
{
	struct auth_step st = {
		.conn = 7, .service = AUTH_SVC_POP3, .ip = "::1",
		.flags = AUTH_F_FIRST | AUTH_F_NO_IR, .mech = "PLAIN",
		.resp = (const uint8_t *)"\0a\0b", .resp_len = 4,
		.cb = (const uint8_t *)"cb", .cb_len = 2,
	}, back;
	struct auth_reply r = {
		.status = AUTH_OK, .challenge = (const uint8_t *)"", .account = 42,
		.address = "a@example.org", .reason = "",
	}, rb;
	struct buf w = BUF_INIT;
	uint32_t conn;

	auth_client_step_build(&w, &st);
	CHECK_INTEQ(auth_client_step_parse((const uint8_t *)w.ptr, w.len, &back), 0);
	CHECK_INTEQ(back.conn, 7);
	CHECK_INTEQ(back.service, AUTH_SVC_POP3);
	CHECK_STREQ(back.ip, "::1");
	CHECK_STREQ(back.mech, "PLAIN");
	CHECK(back.resp_len == 4 && memcmp(back.resp, "\0a\0b", 4) == 0);
	CHECK(back.cb_len == 2 && memcmp(back.cb, "cb", 2) == 0);
	/* every truncation and one byte too many are refused */
	for (size_t n = 0; n < w.len; n++)
		CHECK_INTEQ(auth_client_step_parse((const uint8_t *)w.ptr, n,
						   &back), -1);
	buf_appendc(&w, 0);
	CHECK_INTEQ(auth_client_step_parse((const uint8_t *)w.ptr, w.len, &back), -1);
	buf_reset(&w);
	st.service = AUTH_SVC_COUNT;
	auth_client_step_build(&w, &st);
	CHECK_INTEQ(auth_client_step_parse((const uint8_t *)w.ptr, w.len, &back), -1);
	buf_reset(&w);
	st.service = AUTH_SVC_IMAP;
	st.flags = 0x80;
	auth_client_step_build(&w, &st);
	CHECK_INTEQ(auth_client_step_parse((const uint8_t *)w.ptr, w.len, &back), -1);

	buf_reset(&w);
	auth_client_reply_build(&w, &r);
	CHECK_INTEQ(auth_client_reply_parse((const uint8_t *)w.ptr, w.len, &rb), 0);
	CHECK_INTEQ(rb.status, AUTH_OK);
	CHECK_INTEQ(rb.account, 42);
	CHECK_STREQ(rb.address, "a@example.org");
	CHECK_INTEQ(auth_client_reply_parse((const uint8_t *)w.ptr, w.len - 1,
					    &rb), -1);
	buf_reset(&w);
	r.status = AUTH_TEMPFAIL + 1;
	auth_client_reply_build(&w, &r);
	CHECK_INTEQ(auth_client_reply_parse((const uint8_t *)w.ptr, w.len, &rb), -1);
	CHECK_STREQ(auth_service_name(AUTH_SVC_SUBMISSION), "submission");
	CHECK_STREQ(auth_service_name(9), "?");
	buf_reset(&w);
	buf_append(&w, "\x05\0\0\0", 4);
	CHECK_INTEQ(auth_client_cancel_parse((const uint8_t *)w.ptr, w.len, &conn), 0);
	CHECK_INTEQ(conn, 5);
	CHECK_INTEQ(auth_client_cancel_parse((const uint8_t *)w.ptr, 3, &conn), -1);
	/* not connected to an auth process here */
	CHECK_INTEQ(auth_client_cancel(5), -1);
	CHECK_INTEQ(auth_client_step(1, 5, AUTH_SVC_IMAP, "::1", AUTH_F_FIRST,
				     "PLAIN", "", 0, NULL, 0), -1);
	buf_free(&w);
}

/* ---- a password backend (what pam_login.c plugs in) ---- */

static struct {
	unsigned started, cancelled;
	uint64_t token, cancelled_token;
	char address[64], password[64], ip[64];
} be;

/* "sys" and "alice" (no domain) and their addresses are its users. */
static int be_route(void *ctx, const char *name, struct buf *address_r)
{
	(void)ctx;
	if (strcmp(name, "sys") == 0 || strcmp(name, "sys@example.org") == 0)
		buf_appends(address_r, "sys@example.org");
	else if (strcmp(name, "alice") == 0)
		buf_appends(address_r, "alice@example.org");
	else
		return 0;
	return 1;
}

static void be_start(void *ctx, uint64_t token, const char *address,
		     const char *password, const char *ip)
{
	(void)ctx;
	be.started++;
	be.token = token;
	snprintf(be.address, sizeof(be.address), "%s", address);
	snprintf(be.password, sizeof(be.password), "%s", password);
	snprintf(be.ip, sizeof(be.ip), "%s", ip);
}

static void be_cancel(void *ctx, uint64_t token)
{
	(void)ctx;
	be.cancelled++;
	be.cancelled_token = token;
}

static const struct sasl_server_backend backend = {
	.route = be_route, .start = be_start, .cancel = be_cancel,
};

TEST(backend_logins)
{
	struct sasl_server *s = server(3, 10, 0);
	size_t n;

	memset(&be, 0, sizeof(be));
	sasl_server_set_backend(s, &backend);
	/* the backend answers later, from the event loop */
	plain(s, 1, "192.0.2.101", "sys", "sys-pw");
	CHECK_INTEQ(ngot, 0);
	CHECK_INTEQ(be.started, 1);
	CHECK_STREQ(be.address, "sys@example.org");
	CHECK_STREQ(be.password, "sys-pw");
	CHECK_STREQ(be.ip, "192.0.2.101");
	sasl_server_backend_done(s, be.token, SASL_BACKEND_OK, 42, "");
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(last()->account, 42);
	CHECK_STREQ(last()->address, "sys@example.org");
	sasl_server_backend_done(s, be.token, SASL_BACKEND_OK, 42, "");
	CHECK_INTEQ(ngot, 1);			/* a stale token: ignored */
	plain(s, 2, "192.0.2.102", "sys@example.org", "wrong");
	CHECK_INTEQ(be.started, 2);
	sasl_server_backend_done(s, be.token, SASL_BACKEND_FAIL, 0,
				 "bad password");
	CHECK_LAST(AUTH_FAIL, "bad password");
	plain(s, 3, "192.0.2.103", "sys", "sys-pw");
	sasl_server_backend_done(s, be.token, SASL_BACKEND_TEMPFAIL, 0, "PAM error");
	CHECK_LAST(AUTH_TEMPFAIL, "PAM error");
	/* an account with a password of its own never asks the backend */
	plain(s, 4, "192.0.2.104", "alice", "alice-pw");
	CHECK_LAST(AUTH_OK, "");
	CHECK_INTEQ(last()->account, alice_id);
	plain(s, 5, "192.0.2.105", "alice", "sys-pw");
	CHECK_LAST(AUTH_FAIL, "bad password");
	CHECK_INTEQ(be.started, 3);
	/* names it does not route are the database's */
	plain(s, 6, "192.0.2.106", "nobody", "x");
	CHECK_LAST(AUTH_FAIL, "unknown user");
	/* cancelled: the backend hears of it, its answer goes nowhere */
	n = ngot;
	plain(s, 7, "192.0.2.107", "sys", "sys-pw");
	sasl_server_cancel(s, PEER_IMAP, 7);
	CHECK_INTEQ(be.cancelled, 1);
	CHECK(be.cancelled_token == be.token);
	sasl_server_backend_done(s, be.token, SASL_BACKEND_OK, 42, "");
	CHECK_INTEQ(ngot, n);
	/* a step while the backend checks ends the exchange */
	plain(s, 8, "192.0.2.108", "sys", "sys-pw");
	step(s, PEER_IMAP, 8, "192.0.2.108", 0, "", S("more"), NULL, 0);
	CHECK_LAST(AUTH_FAIL, "step while a reply is held");
	CHECK_INTEQ(be.cancelled, 2);
	/* the backend goes away: its pending checks fail, not hang */
	plain(s, 9, "192.0.2.109", "sys", "sys-pw");
	sasl_server_set_backend(s, NULL);
	CHECK_LAST(AUTH_TEMPFAIL, "password backend gone");
	CHECK_INTEQ(sasl_server_exchanges(s), 0);
	sasl_server_free(s);
}

/* "sys" and "sys@example.org" are one account for the throttling. */
TEST(backend_throttled)
{
	struct sasl_server *s = server(1, 2, 0);
	unsigned started;

	memset(&be, 0, sizeof(be));
	sasl_server_set_backend(s, &backend);
	plain(s, 1, "192.0.2.111", "sys", "wrong");
	sasl_server_backend_done(s, be.token, SASL_BACKEND_FAIL, 0,
				 "bad password");
	CHECK_LAST(AUTH_FAIL, "bad password");
	plain(s, 2, "192.0.2.112", "sys@example.org", "wrong");
	sasl_server_backend_done(s, be.token, SASL_BACKEND_FAIL, 0,
				 "bad password");
	CHECK(wait_replies(2));			/* held: 1 failure before */
	CHECK_LAST(AUTH_FAIL, "bad password");
	started = be.started;
	plain(s, 3, "192.0.2.113", "sys", "sys-pw");
	CHECK(wait_replies(3));
	CHECK_LAST(AUTH_FAIL, "throttled");
	CHECK_INTEQ(be.started, started);	/* not even asked */
	sasl_server_free(s);
}

/* ---- set-up ---- */

static int setup(void)
{
	static const char *const domains[] = { "example.org" };
	static struct crypt_data cd;
	const char *error = NULL, *h6;
	sqlite3 *sq;

	if (mkdtemp(dir) == NULL)
		return -1;
	buf_printf(&dbpath, "%s/mailkeep.db", dir);
	if (userdb_open(&db, dbpath.ptr, &error) < 0)
		return -1;
	userdb_set_config_domains(db, domains, 1);
	h6 = crypt_rn("imported", "$6$saltsaltsalt", &cd, sizeof(cd));
	if (h6 == NULL ||
	    userdb_user_add(db, "alice@example.org", "alice-pw", &alice_id,
			    &error) < 0 ||
	    userdb_user_add_hash(db, "carol@example.org", h6, &carol_id,
				 &error) < 0 ||
	    userdb_user_add(db, "dave@example.org", "dave-pw", NULL, &error) < 0) {
		fprintf(stderr, "setup: %s\n", error);
		return -1;
	}
	if (sqlite3_open(dbpath.ptr, &sq) != SQLITE_OK)
		return -1;
	sqlite3_exec(sq, "UPDATE accounts SET disabled = 1 WHERE address = "
		     "'dave@example.org'", NULL, NULL, NULL);
	sqlite3_close(sq);
	base = event_base_new();
	log_init("auth");
	return base != NULL ? 0 : -1;
}

static void teardown(void)
{
	const char *const suffixes[] = { "", "-wal", "-shm" };

	userdb_close(db);
	event_base_free(base);
	for (size_t i = 0; i < 3; i++) {
		struct buf p = BUF_INIT;

		buf_printf(&p, "%s%s", dbpath.ptr, suffixes[i]);
		unlink(p.ptr);
		buf_free(&p);
	}
	rmdir(dir);
	buf_free(&dbpath);
	for (size_t i = 0; i < MAX_REPLIES; i++)
		buf_free(&got[i].challenge);
}

int main(void)
{
	if (setup() < 0) {
		fprintf(stderr, "set-up failed\n");
		return 1;
	}
	RUN(plain_logins);
	RUN(login_mechanism);
	RUN(throttle_delays_then_blocks);
	RUN(throttle_success_clears);
	RUN(throttle_ipv6_per_64);
	RUN(held_reply_cancelled);
	RUN(cancel_peer_down_and_bound);
	RUN(scram_logins);
	RUN(scram_secret_made_at_first_password_login);
	RUN(log_lines_for_fail2ban);
	RUN(wire_format);
	RUN(backend_logins);
	RUN(backend_throttled);
	teardown();
	return test_summary();
}
