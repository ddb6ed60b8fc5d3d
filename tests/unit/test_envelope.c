/* Unit tests for src/queue/envelope.c: the envelope the smtp process hands
 * the queue (MSG_QUEUE_COMMIT) and the local trace both write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/buf.h"
#include "queue/envelope.h"

static void sample(struct envelope *e, size_t nrcpts, uint64_t trace_len)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->qid, sizeof(e->qid), "%s", "0005f1e2a3b4c5d6e7f");
	e->sender = strdup("alice@a.test");
	e->body = 2;
	e->smtputf8 = 1;
	e->ret = 1;
	e->envid = strdup("env-1");
	e->client_ip = strdup("192.0.2.1");
	e->helo = strdup("client.a.test");
	e->session = strdup("s1");
	e->auth_user = strdup("");
	e->headers = strdup("Authentication-Results: mx.b.test; spf=pass\r\n");
	e->junk = 1;
	e->trace_len = trace_len;
	for (size_t i = 0; i < nrcpts; i++)
		envelope_add_rcpt(e, i ? "carol@b.test" : "bob@b.test",
				  i ? 0 : 6, i ? "" : "rfc822;bob@b.test");
}

TEST(round_trip)
{
	struct envelope e, back;
	struct buf b = BUF_INIT;

	sample(&e, 1, 123);
	envelope_pack(&e, &b);
	CHECK(envelope_unpack(&back, (const uint8_t *)b.ptr, b.len) == 0);
	CHECK_STREQ(back.qid, e.qid);
	CHECK_STREQ(back.sender, "alice@a.test");
	CHECK(back.body == 2 && back.smtputf8 == 1 && back.ret == 1);
	CHECK_STREQ(back.envid, "env-1");
	CHECK_STREQ(back.client_ip, "192.0.2.1");
	CHECK_STREQ(back.helo, "client.a.test");
	CHECK_STREQ(back.headers, e.headers);
	CHECK(back.junk == 1 && back.trace_len == 123);
	CHECK(back.nrcpts == 1 && back.rcpts[0].notify == 6);
	CHECK_STREQ(back.rcpts[0].addr, "bob@b.test");
	CHECK_STREQ(back.rcpts[0].orcpt, "rfc822;bob@b.test");
	envelope_free(&back);
	envelope_free(&e);
	buf_free(&b);
}

/* Every truncation, a trailing byte, and a trace with two recipients (it
 * names one recipient) are refused. */
TEST(malformed)
{
	struct envelope e, back;
	struct buf b = BUF_INIT;

	sample(&e, 2, 0);
	envelope_pack(&e, &b);
	CHECK(envelope_unpack(&back, (const uint8_t *)b.ptr, b.len) == 0);
	envelope_free(&back);
	for (size_t n = 0; n < b.len; n++)
		CHECK(envelope_unpack(&back, (const uint8_t *)b.ptr, n) < 0);
	buf_appendc(&b, 'x');
	CHECK(envelope_unpack(&back, (const uint8_t *)b.ptr, b.len) < 0);
	envelope_free(&e);
	buf_reset(&b);
	sample(&e, 2, 40);
	envelope_pack(&e, &b);
	CHECK(envelope_unpack(&back, (const uint8_t *)b.ptr, b.len) < 0);
	envelope_free(&e);
	buf_free(&b);
}

TEST(local_trace)
{
	struct buf b = BUF_INIT;

	envelope_local_trace(&b, "", "bob@b.test", "X-V: 1\r\n");
	CHECK_STREQ(buf_cstr(&b), "Return-Path: <>\r\nDelivered-To: bob@b.test\r\n"
		    "X-V: 1\r\n");
	buf_reset(&b);
	envelope_local_trace(&b, "alice@a.test", "bob@b.test", NULL);
	CHECK_STREQ(buf_cstr(&b), "Return-Path: <alice@a.test>\r\n"
		    "Delivered-To: bob@b.test\r\n");
	buf_free(&b);
}

int main(void)
{
	RUN(round_trip);
	RUN(malformed);
	RUN(local_trace);
	return test_summary();
}
