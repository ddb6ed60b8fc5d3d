/* dkim_bench: DKIM signing and verifying rates of lib_mailauth (issue 4,
 * "Benchmark"), in messages per second, for RSA-2048 and Ed25519 keys and
 * 4 KiB and 100 KiB bodies. bench/dkim.sh puts them next to the raw
 * OpenSSL rates of `openssl speed` from the same run.
 *
 *   dkim_bench [SECONDS [CASE]]   each case runs about SECONDS (default 2);
 *                                 CASE (e.g. rsa2048-sign-4096, ed25519)
 *                                 runs only the cases it is a prefix of
 *
 * A signature is the whole path a message takes in the queue process:
 * dkim_sign_new, the message fed in 64 KiB pieces, dkim_sign_finish
 * (canonicalisation, body and header hashes, the private-key operation,
 * base64, folding), dkim_sign_free. A verification is the smtp process's:
 * dkim_verify_new, feed, end, the key record answered from memory (parsed
 * and decoded every time, as a DNS answer would be), the result. Every
 * verification must pass, so a broken build cannot look fast.
 *
 * Output: one line per case, tab-separated:
 *   algo  op  body_bytes  messages  seconds  msg_per_s */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "mailauth/dkim.h"

#define BENCH_FEED_CHUNK (64 * 1024)	/* bytes per dkim_*_feed call */
#define BENCH_LINE 76			/* body line length before CRLF */
#define BENCH_MAX_SECONDS 600

struct bench_key {
	const char *name;		/* "rsa2048", "ed25519" */
	struct dkim_privkey *key;
	struct buf record;		/* "v=DKIM1; k=...; p=..." */
};

static const char *only;	/* CASE, or NULL for all */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A plain-text message with a body of exactly body_len bytes. */
static void make_message(size_t body_len, struct buf *msg)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz    ";
	unsigned seed = 12345;
	size_t start;

	buf_appends(msg,
		"From: Alice Example <alice@example.org>\r\n"
		"To: Bob Example <bob@example.net>\r\n"
		"Subject: DKIM benchmark message\r\n"
		"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
		"Message-ID: <bench.1@example.org>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"\r\n");
	start = msg->len;
	while (msg->len - start < body_len) {
		size_t left = body_len - (msg->len - start);
		size_t n = left < BENCH_LINE + 2 ? left : BENCH_LINE + 2;

		for (size_t i = 0; i + 2 < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf_appendc(msg, letters[(seed >> 16) % (sizeof(letters) - 1)]);
		}
		buf_append(msg, "\r\n", n < 2 ? n : 2);
	}
}

static void feed_sign(struct dkim_sign *s, const struct buf *m)
{
	for (size_t off = 0; off < m->len; off += BENCH_FEED_CHUNK)
		dkim_sign_feed(s, m->ptr + off, m->len - off < BENCH_FEED_CHUNK ?
			       m->len - off : BENCH_FEED_CHUNK);
}

/* One signature of msg; the DKIM-Signature field into out. */
static void sign_once(const struct bench_key *k, const struct buf *msg,
		      struct buf *out)
{
	struct dkim_sign_key sk = { "bench", k->key };
	struct dkim_sign_params p;
	struct dkim_sign *s;
	const char *why = NULL;

	dkim_sign_params_default(&p);
	p.domain = "example.org";
	p.keys = &sk;
	p.n_keys = 1;
	s = dkim_sign_new(&p, &why);
	if (s == NULL) {
		fprintf(stderr, "dkim_bench: sign setup: %s\n", why);
		exit(1);
	}
	feed_sign(s, msg);
	if (dkim_sign_finish(s, out, &why) < 0) {
		fprintf(stderr, "dkim_bench: signing: %s\n", why);
		exit(1);
	}
	dkim_sign_free(s);
}

/* One verification of the signed message; exits unless it passes. */
static void verify_once(const struct bench_key *k, const struct buf *signed_msg)
{
	struct dkim_verify *v = dkim_verify_new(NULL);
	char *rr = k->record.ptr;
	struct dnsq_answer a = { DNSQ_OK, 1, &rr, NULL, NULL };
	const struct dkim_result *r;

	for (size_t off = 0; off < signed_msg->len; off += BENCH_FEED_CHUNK)
		dkim_verify_feed(v, signed_msg->ptr + off,
				 signed_msg->len - off < BENCH_FEED_CHUNK ?
				 signed_msg->len - off : BENCH_FEED_CHUNK);
	if (dkim_verify_end(v) != 1 || dkim_verify_query(v, 0) == NULL) {
		fprintf(stderr, "dkim_bench: no signature to verify\n");
		exit(1);
	}
	dkim_verify_key_answer(v, 0, &a);
	r = dkim_verify_result(v, 0);
	if (r->status != DKIM_PASS) {
		fprintf(stderr, "dkim_bench: verification %s: %s\n",
			dkim_status_name(r->status), r->reason);
		exit(1);
	}
	dkim_verify_free(v);
}

/* Run op for about seconds (after one untimed run); print the rate. */
static void run_case(const struct bench_key *k, const char *op,
		     size_t body_len, double seconds, const struct buf *msg,
		     const struct buf *signed_msg)
{
	struct buf out = BUF_INIT, name = BUF_INIT;
	unsigned long n = 0;
	double t0, t;
	bool sign = strcmp(op, "sign") == 0;

	buf_printf(&name, "%s-%s-%zu", k->name, op, body_len);
	if (only != NULL && strncmp(name.ptr, only, strlen(only)) != 0) {
		buf_free(&name);
		return;
	}
	buf_free(&name);
	if (sign)
		sign_once(k, msg, &out);
	else
		verify_once(k, signed_msg);
	t0 = now();
	do {
		if (sign) {
			buf_reset(&out);
			sign_once(k, msg, &out);
		} else {
			verify_once(k, signed_msg);
		}
		n++;
		t = now() - t0;
	} while (t < seconds);
	printf("%s\t%s\t%zu\t%lu\t%.3f\t%.1f\n", k->name, op, body_len, n, t,
	       (double)n / t);
	fflush(stdout);
	buf_free(&out);
}

static void bench_body(const struct bench_key *k, size_t body_len,
		       double seconds)
{
	struct buf msg = BUF_INIT, signed_msg = BUF_INIT;

	make_message(body_len, &msg);
	sign_once(k, &msg, &signed_msg);
	buf_append(&signed_msg, msg.ptr, msg.len);
	run_case(k, "sign", body_len, seconds, &msg, NULL);
	run_case(k, "verify", body_len, seconds, NULL, &signed_msg);
	buf_free(&msg);
	buf_free(&signed_msg);
}

static void key_init(struct bench_key *k, const char *name,
		     enum dkim_keytype type, unsigned bits)
{
	const char *why = NULL;

	k->name = name;
	k->key = dkim_privkey_generate(type, bits, &why);
	if (k->key == NULL) {
		fprintf(stderr, "dkim_bench: key generation: %s\n", why);
		exit(1);
	}
	buf_init(&k->record);
	dkim_privkey_record(k->key, &k->record);
}

int main(int argc, char **argv)
{
	static const size_t bodies[] = { 4 * 1024, 100 * 1024 };
	struct bench_key keys[2];
	double seconds = 2.0;

	if (argc > 3 || (argc >= 2 && ((seconds = atof(argv[1])) <= 0 ||
				       seconds > BENCH_MAX_SECONDS))) {
		fprintf(stderr, "usage: dkim_bench [SECONDS [CASE]]\n");
		return 2;
	}
	only = argc == 3 ? argv[2] : NULL;
	key_init(&keys[0], "rsa2048", DKIM_KEY_RSA, 2048);
	key_init(&keys[1], "ed25519", DKIM_KEY_ED25519, 0);
	printf("algo\top\tbody_bytes\tmessages\tseconds\tmsg_per_s\n");
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < sizeof(bodies) / sizeof(bodies[0]); j++)
			bench_body(&keys[i], bodies[j], seconds);
	for (size_t i = 0; i < 2; i++) {
		dkim_privkey_free(keys[i].key);
		buf_free(&keys[i].record);
	}
	return 0;
}
