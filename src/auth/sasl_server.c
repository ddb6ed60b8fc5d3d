/* sasl_server: SASL exchanges in progress, credential checks against the
 * user database, throttling and held-back replies, fail2ban log lines. */
#include "auth/sasl_server.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "auth/sasl.h"
#include "auth/sasl_scram.h"
#include "auth/throttle.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#define SNONCE_BYTES 18		/* server nonce: 24 base64 characters */
#define KEY_MAX (THROTTLE_KEY_MAX + 1)
#define ESC_MAX (4 * KEY_MAX + 1)	/* a key with every byte as \xNN */

_Static_assert(SASL_PASSWORD_MAX == USERDB_PASSWORD_MAX,
	       "one password limit for SASL and the user database");

/* A reply waiting for its throttling delay. */
struct held {
	uint32_t reqid;
	uint32_t status;
	struct buf challenge;
	const char *reason;
	bool final;		/* the exchange ends when it is sent */
};

struct exch {
	struct exch *older, *newer;	/* by last activity */
	struct sasl_server *srv;
	int peer;
	uint32_t conn, service, last_reqid;
	char ip[SASL_SERVER_IP_MAX + 1];
	char ipkey[KEY_MAX];		/* "ip:" address or /64 */
	char userkey[KEY_MAX];		/* "user:" name, "" until known */
	struct sasl_exchange *x;
	const char *fake_reason;	/* SCRAM against a fake secret: why */
	bool awaiting_ack;		/* SCRAM server signature sent */
	int64_t account;
	struct buf address;
	struct buf route_addr;		/* the backend's address for the
					 * login name; empty: not its user */
	uint64_t backend_token;		/* non-zero: the backend is checking */
	struct event *timer;
	struct held held;
};

struct sasl_server {
	struct event_base *base;
	struct userdb *db;
	struct sasl_server_config cfg;
	sasl_server_send_fn *send;
	void *ctx;
	sasl_server_clock_fn *clock;
	struct throttle *throttle;
	struct exch *oldest, *newest;
	size_t n;
	struct sasl_server_backend backend;	/* route == NULL: none */
	uint64_t last_token;
	uint8_t fake_key[32];		/* fake SCRAM salts of unknown names */
};

static uint64_t monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void throttle_cfg(const struct sasl_server_config *c,
			 struct throttle_config *t)
{
	t->delay_after = c->fail_delay_after;
	t->block_after = c->fail_block_after;
	t->window = c->fail_window;
	t->max_entries = c->max_throttle_entries;
}

struct sasl_server *sasl_server_new(struct event_base *base, struct userdb *db,
				    const struct sasl_server_config *cfg,
				    sasl_server_send_fn *send, void *ctx)
{
	struct sasl_server *s = xcalloc(1, sizeof(*s));
	struct throttle_config tc;
	uint64_t seed;

	s->base = base;
	s->db = db;
	s->send = send;
	s->ctx = ctx;
	s->clock = monotonic_seconds;
	/* the kernel's generator: OpenSSL is then loaded only when a SCRAM
	 * exchange needs it (PLAIN and LOGIN check crypt(3) hashes) */
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed) ||
	    getrandom(s->fake_key, sizeof(s->fake_key), 0) !=
	    (ssize_t)sizeof(s->fake_key))
		fatal("event=start status=failed reason=\"no randomness (getrandom)\"");
	throttle_cfg(cfg, &tc);
	s->throttle = throttle_new(&tc, seed);
	sasl_server_reconfigure(s, cfg);
	return s;
}

void sasl_server_reconfigure(struct sasl_server *s,
			     const struct sasl_server_config *cfg)
{
	struct throttle_config tc;

	s->cfg = *cfg;
	if (s->cfg.max_exchanges == 0)
		s->cfg.max_exchanges = SASL_SERVER_MAX_EXCHANGES;
	if (s->cfg.delay_unit_ms == 0)
		s->cfg.delay_unit_ms = 1000;
	throttle_cfg(&s->cfg, &tc);
	throttle_set_config(s->throttle, &tc);
}

void sasl_server_set_clock(struct sasl_server *s, sasl_server_clock_fn *clock)
{
	s->clock = clock;
}

size_t sasl_server_exchanges(const struct sasl_server *s)
{
	return s->n;
}

/* ---- the table of exchanges ---- */

static void list_unlink(struct sasl_server *s, struct exch *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	e->older = e->newer = NULL;
}

static void list_append(struct sasl_server *s, struct exch *e)
{
	e->older = s->newest;
	if (s->newest != NULL)
		s->newest->newer = e;
	else
		s->oldest = e;
	s->newest = e;
}

static void exch_free(struct exch *e)
{
	list_unlink(e->srv, e);
	e->srv->n--;
	if (e->backend_token != 0)
		e->srv->backend.cancel(e->srv->backend.ctx, e->backend_token);
	if (e->timer != NULL)
		event_free(e->timer);
	sasl_exchange_free(e->x);
	buf_free(&e->address);
	buf_free(&e->route_addr);
	buf_free(&e->held.challenge);
	free(e);
}

static struct exch *exch_find(struct sasl_server *s, int peer, uint32_t conn)
{
	for (struct exch *e = s->newest; e != NULL; e = e->older)
		if (e->peer == peer && e->conn == conn)
			return e;
	return NULL;
}

/* ---- replies ---- */

static void send_now(struct sasl_server *s, int peer, uint32_t reqid,
		     uint32_t status, const struct buf *challenge,
		     int64_t account, const char *address, const char *reason)
{
	struct auth_reply r = {
		.status = status,
		.challenge = (const uint8_t *)(challenge != NULL ?
					       buf_cstr(challenge) : ""),
		.challenge_len = challenge != NULL ? challenge->len : 0,
		.account = account,
		.address = address,
		.reason = reason,
	};

	s->send(s->ctx, peer, reqid, &r);
}

/* A failure outside any exchange (unknown conn, unknown mechanism). */
static void send_fail(struct sasl_server *s, int peer, uint32_t reqid,
		      uint32_t status, const char *reason)
{
	send_now(s, peer, reqid, status, NULL, 0, "", reason);
}

static void release_held(struct exch *e)
{
	struct held *h = &e->held;
	bool ok = h->status == AUTH_OK;

	send_now(e->srv, e->peer, h->reqid, h->status, &h->challenge,
		 ok ? e->account : 0, ok ? buf_cstr(&e->address) : "",
		 h->reason);
	buf_reset(&h->challenge);
	if (h->final)
		exch_free(e);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	release_held(arg);
}

/* Reply now, or after delay seconds; final replies end the exchange. */
static void reply(struct exch *e, uint32_t reqid, uint32_t status,
		  const struct buf *challenge, const char *reason,
		  unsigned delay, bool final)
{
	struct held *h = &e->held;
	struct timeval tv;
	uint64_t ms = (uint64_t)delay * e->srv->cfg.delay_unit_ms;

	h->reqid = reqid;
	h->status = status;
	buf_reset(&h->challenge);
	if (challenge != NULL)
		buf_append(&h->challenge, challenge->ptr, challenge->len);
	h->reason = reason;
	h->final = final;
	if (delay == 0) {
		release_held(e);
		return;
	}
	if (e->timer == NULL)
		e->timer = evtimer_new(e->srv->base, on_delay, e);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	evtimer_add(e->timer, &tv);
}

/* ---- throttling and the log ---- */

/* Printable ASCII except '"', '<', '>', '=', '\' and space; else \xNN. */
static const char *esc(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f && strchr("\"<>=\\", c) == NULL)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static const char *user_of(const struct exch *e)
{
	return e->userkey[0] != '\0' ? e->userkey + 5 : "";	/* "user:" */
}

static void log_outcome(const struct exch *e, bool ok, const char *reason,
			unsigned delay)
{
	char ip[ESC_MAX], user[ESC_MAX], held[32] = "";
	const char *svc = auth_service_name(e->service);
	const char *mech = sasl_mech_name(sasl_exchange_mech(e->x));

	esc(e->ip, ip, sizeof(ip));
	esc(user_of(e), user, sizeof(user));
	if (ok) {
		log_info("event=auth-ok service=%s client=%s user=<%s> mech=%s "
			 "account=%lld", svc, ip, user, mech,
			 (long long)e->account);
		return;
	}
	if (delay > 0)
		snprintf(held, sizeof(held), " delay=%us", delay);
	log_info("event=auth-failed service=%s client=%s user=<%s> mech=%s "
		 "reason=\"%s\"%s", svc, ip, user, mech, reason, held);
}

/* The delay owed before this reply: the larger of address and account. */
static unsigned delay_for(const struct exch *e, uint64_t now)
{
	const struct throttle *t = e->srv->throttle;
	unsigned d = throttle_delay(t, e->ipkey, now), u = 0;

	if (e->userkey[0] != '\0')
		u = throttle_delay(t, e->userkey, now);
	return d > u ? d : u;
}

static bool blocked(const struct exch *e, uint64_t now)
{
	const struct throttle *t = e->srv->throttle;

	return throttle_blocked(t, e->ipkey, now) ||
	       (e->userkey[0] != '\0' && throttle_blocked(t, e->userkey, now));
}

static void finish_fail(struct exch *e, uint32_t reqid, const char *reason)
{
	struct sasl_server *s = e->srv;
	uint64_t now = s->clock();
	unsigned delay = delay_for(e, now);

	throttle_fail(s->throttle, e->ipkey, now);
	if (e->userkey[0] != '\0')
		throttle_fail(s->throttle, e->userkey, now);
	log_outcome(e, false, reason, delay);
	reply(e, reqid, AUTH_FAIL, NULL, reason, delay, true);
}

/* Proven: clear the counters; SCRAM's server signature (data) goes out
 * first as a challenge, and AUTH_OK answers the empty response to it. */
static void finish_ok(struct exch *e, uint32_t reqid, const struct buf *data)
{
	struct sasl_server *s = e->srv;
	unsigned delay = delay_for(e, s->clock());

	throttle_clear(s->throttle, e->ipkey);
	throttle_clear(s->throttle, e->userkey);
	log_outcome(e, true, NULL, 0);
	if (data != NULL && data->len > 0) {
		e->awaiting_ack = true;
		reply(e, reqid, AUTH_CONTINUE, data, "", delay, false);
	} else {
		reply(e, reqid, AUTH_OK, NULL, "", delay, true);
	}
}

static void finish_tempfail(struct exch *e, uint32_t reqid, const char *reason)
{
	char ip[ESC_MAX], user[ESC_MAX];

	log_error("event=auth-tempfail service=%s client=%s user=<%s> "
		  "reason=\"%s\"", auth_service_name(e->service),
		  esc(e->ip, ip, sizeof(ip)), esc(user_of(e), user, sizeof(user)),
		  reason);
	reply(e, reqid, AUTH_TEMPFAIL, NULL, reason, 0, true);
}

/* "ip:" + the address, IPv6 cut to its /64 (one subscriber's share). */
static void ip_key(const char *ip, char *out, size_t size)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, ip, a) == 1) {
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			inet_ntop(AF_INET, a + 12, text, sizeof(text));
			snprintf(out, size, "ip:%s", text);
			return;
		}
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		snprintf(out, size, "ip:%s/64", text);
		return;
	}
	snprintf(out, size, "ip:%s", ip);
}

/* "user:" + the canonical address (the backend's for its users, so that
 * "alice" and "alice@domain" count as one), or the name as given,
 * lower-cased. */
static void user_key(struct exch *e, const char *name)
{
	const struct sasl_server_backend *b = &e->srv->backend;
	struct buf a = BUF_INIT;

	if (b->route != NULL && b->route(b->ctx, name, &e->route_addr) == 1)
		buf_appends(&a, buf_cstr(&e->route_addr));
	else
		buf_reset(&e->route_addr);
	if (a.len == 0 && userdb_address_normalize(name, &a, NULL) < 0) {
		buf_reset(&a);
		buf_appends(&a, name);
		str_lower(a.ptr);
	}
	snprintf(e->userkey, sizeof(e->userkey), "user:%s", buf_cstr(&a));
	buf_free(&a);
}

/* ---- credential checks ---- */

static const char *login_reason(int found, const struct userdb_login *l)
{
	return found == 0 ? "unknown user" : l->disabled ? "account disabled" :
		l->pam ? "not a system user any more (PAM)" : "bad password";
}

/* A user of the backend without a password of its own here: ask it. */
static void backend_check(struct exch *e, uint32_t reqid,
			  const struct userdb_login *l, int found)
{
	struct sasl_server *s = e->srv;
	const char *pw = sasl_exchange_password(e->x);

	if (found == 1 && l->disabled) {
		finish_fail(e, reqid, "account disabled");
	} else if (pw[0] == '\0') {
		finish_fail(e, reqid, "empty password");
	} else {
		e->backend_token = ++s->last_token;
		s->backend.start(s->backend.ctx, e->backend_token,
				 buf_cstr(&e->route_addr), pw, e->ip);
	}
}

/* The address a login name stands for in the user database. */
static const char *login_name(const struct exch *e)
{
	return e->route_addr.len > 0 ? e->route_addr.ptr :
		sasl_exchange_authcid(e->x);
}

/* PLAIN, LOGIN: crypt(3) against the stored hash; a first login of an
 * imported account also stores its SCRAM secret. Users of the backend
 * without a password of their own here are checked there. */
static void check_password(struct exch *e, uint32_t reqid)
{
	struct userdb_login l = { 0, false, BUF_INIT, BUF_INIT, false };
	const char *pw = sasl_exchange_password(e->x), *why = NULL;
	int found = userdb_user_login_info(e->srv->db, login_name(e), &l);
	int ok;

	if (found >= 0 && e->route_addr.len > 0 && (found == 0 || l.pam)) {
		backend_check(e, reqid, &l, found);
		userdb_login_free(&l);
		return;
	}
	ok = found < 0 ? -1 :
		userdb_user_verify(e->srv->db, login_name(e), pw, &e->account);

	if (ok < 0) {
		finish_tempfail(e, reqid, "database error");
	} else if (ok == 0) {
		finish_fail(e, reqid, login_reason(found, &l));
	} else {
		buf_appends(&e->address, buf_cstr(&l.address));
		if (l.scram.len == 0 &&
		    userdb_user_set_scram(e->srv->db, e->account, pw, &why) < 0)
			log_warn("event=scram-secret account=%lld status=failed "
				 "reason=\"%s\"", (long long)e->account, why);
		finish_ok(e, reqid, NULL);
	}
	userdb_login_free(&l);
}

/* For names without a usable secret: the salt is a keyed hash of the
 * name (the same on every try), the keys are random. */
static void fake_secret(const struct sasl_server *s, const char *name,
			struct sasl_scram_secret *sec)
{
	uint8_t mac[32];
	unsigned len = sizeof(mac);

	memset(sec, 0, sizeof(*sec));
	HMAC(EVP_sha256(), s->fake_key, sizeof(s->fake_key),
	     (const unsigned char *)name, strlen(name), mac, &len);
	memcpy(sec->salt, mac, USERDB_SCRAM_SALT_LEN);
	sec->salt_len = USERDB_SCRAM_SALT_LEN;
	sec->iter = USERDB_SCRAM_ITERATIONS;
	RAND_bytes(sec->stored_key, sizeof(sec->stored_key));
	RAND_bytes(sec->server_key, sizeof(sec->server_key));
}

/* The account's secret, or a fake one with e->fake_reason set. */
static int scram_secret(struct exch *e, struct sasl_scram_secret *sec)
{
	struct userdb_login l = { 0, false, BUF_INIT, BUF_INIT, false };
	const char *name = login_name(e), *why = NULL;
	int found = userdb_user_login_info(e->srv->db, name, &l);

	if (found < 0) {
		userdb_login_free(&l);
		return -1;
	}
	if (found == 1 && !l.disabled && l.scram.len > 0 &&
	    sasl_scram_secret_parse(buf_cstr(&l.scram), sec, &why) == 0) {
		e->account = l.id;
		buf_appends(&e->address, buf_cstr(&l.address));
	} else {
		e->fake_reason = (found == 0 && e->route_addr.len > 0) ||
			(found == 1 && l.pam) ? "no SCRAM for PAM users" :
			found == 0 ? "unknown user" :
			l.disabled ? "account disabled" :
			l.scram.len == 0 ? "no SCRAM secret" : "bad SCRAM secret";
		fake_secret(e->srv, name, sec);
	}
	userdb_login_free(&l);
	return 0;
}

static void scram_lookup(struct exch *e, uint32_t reqid)
{
	struct sasl_scram_secret sec;
	struct buf out = BUF_INIT, snonce = BUF_INIT;
	uint8_t raw[SNONCE_BYTES];
	const char *why = NULL;

	if (scram_secret(e, &sec) < 0) {
		finish_tempfail(e, reqid, "database error");
		return;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		fatal("event=scram status=failed reason=\"no randomness\"");
	sasl_b64_encode(raw, sizeof(raw), &snonce);
	if (sasl_exchange_secret(e->x, &sec, buf_cstr(&snonce), &out,
				 &why) == SASL_CHALLENGE)
		reply(e, reqid, AUTH_CONTINUE, &out, "", 0, false);
	else
		finish_fail(e, reqid, why);
	explicit_bzero(&sec, sizeof(sec));
	buf_free(&out);
	buf_free(&snonce);
}

/* ---- steps ---- */

/* What the mechanism asked for next. */
static void advance(struct exch *e, uint32_t reqid, enum sasl_status st,
		    const struct buf *out, const char *why)
{
	const char *name = sasl_exchange_authcid(e->x);

	if (name[0] != '\0' && e->userkey[0] == '\0')
		user_key(e, name);
	if ((st == SASL_VERIFY || st == SASL_LOOKUP) &&
	    blocked(e, e->srv->clock())) {
		finish_fail(e, reqid, "throttled");
		return;
	}
	switch (st) {
	case SASL_CHALLENGE:
		reply(e, reqid, AUTH_CONTINUE, out, "", 0, false);
		return;
	case SASL_VERIFY:
		check_password(e, reqid);
		return;
	case SASL_LOOKUP:
		scram_lookup(e, reqid);
		return;
	case SASL_SUCCESS:
		if (e->fake_reason != NULL)
			finish_fail(e, reqid, e->fake_reason);
		else
			finish_ok(e, reqid, out);
		return;
	case SASL_FAILURE:
		break;
	}
	finish_fail(e, reqid, e->fake_reason != NULL &&
		    strcmp(why, "bad password") == 0 ? e->fake_reason : why);
}

/* Make room, then a new exchange for req (which has AUTH_F_FIRST). */
static struct exch *exch_new(struct sasl_server *s, int peer, int mech,
			     const struct auth_step *req)
{
	struct exch *e;

	while (s->n >= s->cfg.max_exchanges && s->oldest != NULL) {
		e = s->oldest;
		send_fail(s, e->peer, e->last_reqid, AUTH_FAIL,
			  "too many logins in progress");
		exch_free(e);
	}
	e = xcalloc(1, sizeof(*e));
	e->srv = s;
	e->peer = peer;
	e->conn = req->conn;
	e->service = req->service;
	str_copy(e->ip, sizeof(e->ip), req->ip);
	ip_key(e->ip, e->ipkey, sizeof(e->ipkey));
	e->x = sasl_exchange_new((enum sasl_mech)mech, req->cb, req->cb_len);
	list_append(s, e);
	s->n++;
	return e;
}

static void first_step(struct sasl_server *s, int peer, uint32_t reqid,
		       const struct auth_step *req)
{
	int mech = sasl_mech_parse(req->mech);
	struct buf out = BUF_INIT;
	const char *why = NULL;
	enum sasl_status st;
	struct exch *e;

	if (mech < 0) {
		send_fail(s, peer, reqid, AUTH_FAIL, "unknown mechanism");
		return;
	}
	e = exch_new(s, peer, mech, req);
	e->last_reqid = reqid;
	if (blocked(e, s->clock())) {
		finish_fail(e, reqid, "throttled");
		return;
	}
	st = sasl_exchange_step(e->x, req->resp, req->resp_len,
				!(req->flags & AUTH_F_NO_IR), &out, &why);
	advance(e, reqid, st, &out, why);
	buf_free(&out);
}

static void next_step(struct exch *e, uint32_t reqid,
		      const struct auth_step *req)
{
	struct buf out = BUF_INIT;
	const char *why = NULL;
	enum sasl_status st;

	e->last_reqid = reqid;
	list_unlink(e->srv, e);
	list_append(e->srv, e);
	if (e->awaiting_ack) {
		if (req->resp_len == 0)
			reply(e, reqid, AUTH_OK, NULL, "", 0, true);
		else
			finish_fail(e, reqid, "data after the SCRAM outcome");
		return;
	}
	st = sasl_exchange_step(e->x, req->resp, req->resp_len, true, &out,
				&why);
	advance(e, reqid, st, &out, why);
	buf_free(&out);
}

void sasl_server_step(struct sasl_server *s, int peer, uint32_t reqid,
		      const struct auth_step *req)
{
	struct exch *e = exch_find(s, peer, req->conn);

	if (e != NULL && (req->flags & AUTH_F_FIRST)) {
		exch_free(e);	/* a new exchange replaces the old one */
		e = NULL;
	}
	if (req->flags & AUTH_F_FIRST) {
		first_step(s, peer, reqid, req);
	} else if (e == NULL) {
		send_fail(s, peer, reqid, AUTH_FAIL, "no exchange in progress");
	} else if (e->backend_token != 0 ||
		   (e->timer != NULL && evtimer_pending(e->timer, NULL))) {
		exch_free(e);
		send_fail(s, peer, reqid, AUTH_FAIL, "step while a reply is held");
	} else {
		next_step(e, reqid, req);
	}
}

void sasl_server_set_backend(struct sasl_server *s,
			     const struct sasl_server_backend *b)
{
	struct exch *e = s->oldest, *next;

	for (; e != NULL; e = next) {	/* checks of the old backend: lost */
		next = e->newer;
		if (e->backend_token != 0) {
			e->backend_token = 0;
			finish_tempfail(e, e->last_reqid, "password backend gone");
		}
	}
	if (b != NULL)
		s->backend = *b;
	else
		memset(&s->backend, 0, sizeof(s->backend));
}

void sasl_server_backend_done(struct sasl_server *s, uint64_t token,
			      enum sasl_backend_result r, int64_t account,
			      const char *reason)
{
	struct exch *e = s->newest;

	while (e != NULL && e->backend_token != token)
		e = e->older;
	if (e == NULL || token == 0)
		return;
	e->backend_token = 0;
	if (r == SASL_BACKEND_OK) {
		e->account = account;
		buf_reset(&e->address);
		buf_appends(&e->address, buf_cstr(&e->route_addr));
		finish_ok(e, e->last_reqid, NULL);
	} else if (r == SASL_BACKEND_FAIL) {
		finish_fail(e, e->last_reqid, reason);
	} else {
		finish_tempfail(e, e->last_reqid, reason);
	}
}

void sasl_server_cancel(struct sasl_server *s, int peer, uint32_t conn)
{
	struct exch *e = exch_find(s, peer, conn);

	if (e != NULL)
		exch_free(e);
}

void sasl_server_peer_down(struct sasl_server *s, int peer)
{
	struct exch *e = s->oldest, *next;

	for (; e != NULL; e = next) {
		next = e->newer;
		if (e->peer == peer)
			exch_free(e);
	}
}

void sasl_server_free(struct sasl_server *s)
{
	if (s == NULL)
		return;
	while (s->oldest != NULL)
		exch_free(s->oldest);
	throttle_free(s->throttle);
	explicit_bzero(s->fake_key, sizeof(s->fake_key));
	free(s);
}
