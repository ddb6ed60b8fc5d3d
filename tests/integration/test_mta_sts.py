"""MTA-STS (RFC 8461) on outbound delivery (issue 5 item 3): A sends to
b.test, whose policy is served over HTTPS by a small server in this test
at mta-sts.b.test (127.0.43.x:443) with a certificate from a test CA; B's
SMTP certificate for mx.b.test comes from the same CA, and A trusts it
through `[outbound] ca_file`. Knot serves _mta-sts.b.test TXT and the
addresses.

Port 443 needs root (as in CI); the tests skip otherwise.
"""
import http.server
import os
import re
import sqlite3
import ssl
import threading
import time

import pytest

from dnsworld import dns_world  # noqa: F401  (the fixture)
from testca import TestCA, use_cert
from test_outbound import FakeSmtp, message, sender_conf, submit, wait_log

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the policy server needs port 443 (root)")

DNS_TTL = 1
ENFORCE = "version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n"


class PolicyServer:
    """HTTPS on ADDR:443 serving /.well-known/mta-sts.txt (text/plain)."""

    def __init__(self, cert, key, policy):
        self.policy, self.hits = policy, 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hits += 1
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                body = owner.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        for last in range(1, 50):       # a loopback address with 443 free
            self.addr = f"127.0.43.{last}"
            try:
                self.httpd = http.server.ThreadingHTTPServer((self.addr, 443), Handler)
                break
            except OSError:
                continue
        else:
            pytest.skip("no loopback address with port 443 free")
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.httpd = None


def records(policy_addr, sts_id="1", txt=True):
    r = [
        ("a.test", "MX", "10 mx.a.test"),
        ("mx.a.test", "A", "127.0.0.1"),
        ("b.test", "MX", "10 mx.b.test"),
        ("mx.b.test", "A", "127.0.0.1"),
        ("mta-sts.b.test", "A", policy_addr),
    ]
    if txt:
        r.append(("_mta-sts.b.test", "TXT", f"v=STSv1; id={sts_id}"))
    return r


@pytest.fixture
def sts(make_server, dns_world, server_root):
    """make(policy, b_cert='ca'|'self', txt=True, start_b=True) -> (A, B,
    policy server); B not started: its port is free for a FakeSmtp."""
    ca = TestCA(server_root)
    mx_cert = ca.issue("mx.b.test")[:2]
    web_cert = ca.issue("mta-sts.b.test")[:2]
    made = []

    def make(policy=ENFORCE, b_cert="ca", txt=True, start_b=True):
        web = PolicyServer(*web_cert, policy)
        made.append(web)
        # TTL 1 s: a changed TXT record is seen by A's resolver soon after
        w = dns_world(records(web.addr, txt=txt), ttl=DNS_TTL)
        b = make_server("", users=("bob@b.test",), domains="b.test",
                        dns=w.forwarder, start=False)
        if b_cert == "ca":              # B's [tls] files: from the test CA
            use_cert(b, *mx_cert)
        a = make_server(sender_conf(b.port, f"ca_file = {ca.cert}\n"),
                        users=("alice@a.test",), domains="a.test", dns=w.forwarder)
        a.world = w
        if start_b:
            b.start()
        return a, b, web

    yield make
    for web in made:
        web.stop()


def sent_line(to="bob@b.test"):
    return r"to=<%s> relay=mx\.b\.test\S* tls=TLSv1\.[23] status=sent" % re.escape(to)


def test_enforce_verified_delivery(sts):
    a, b, web = sts()
    submit(a, ["bob@b.test"], message("sts-enforce"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert wait_log(a, sent_line() + r" .*verified=mta-sts"), a.log()[-3000:]
    assert wait_log(a, r"event=mta-sts domain=b\.test mode=enforce id=1 source=fetch")
    assert web.hits == 1


def test_enforce_mx_not_in_policy_is_deferred(sts):
    a, b, web = sts(policy=ENFORCE.replace("mx: mx.b.test", "mx: *.other.test"))
    submit(a, ["bob@b.test"], message("sts-mx"))
    assert wait_log(a, r"event=mta-sts-mx domain=b\.test host=mx\.b\.test .*"
                    r"action=skipped"), a.log()[-3000:]
    assert wait_log(a, r"to=<bob@b\.test> relay=none tls=none status=deferred "
                    r"dsn=4\.7\.5 reply=\"4\.7\.5 MTA-STS"), a.log()[-3000:]
    assert b.messages("bob@b.test") == []


def test_enforce_untrusted_certificate_is_deferred(sts):
    a, b, web = sts(b_cert="self")      # conftest's self-signed mx.example.org
    submit(a, ["bob@b.test"], message("sts-badcert"))
    assert wait_log(a, r"event=mta-sts-fail domain=b\.test host=mx\.b\.test .*"
                    r"reason=\"certificate not verified"), a.log()[-3000:]
    assert wait_log(a, r"to=<bob@b\.test> .*status=deferred"), a.log()[-3000:]
    assert b.messages("bob@b.test") == []
    assert "status=sent" not in a.log()


def test_testing_mode_delivers_and_logs(sts):
    a, b, web = sts(policy=ENFORCE.replace("enforce", "testing"), b_cert="self")
    submit(a, ["bob@b.test"], message("sts-testing"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert wait_log(a, r"event=mta-sts-testing domain=b\.test host=mx\.b\.test "
                    r"id=1 reason=\"certificate not verified")
    assert wait_log(a, sent_line() + r" .*verified=no")


@pytest.mark.parametrize("mode", ["testing", "enforce"])
def test_mx_without_starttls(sts, mode):
    """testing: sent in cleartext, with a line saying enforce would not
    have; enforce: never in cleartext, deferred."""
    a, b, web = sts(policy=ENFORCE.replace("enforce", mode), start_b=False)
    fake = FakeSmtp(b.port, b"250 ok", data_reply=b"250 ok")     # no STARTTLS
    try:
        submit(a, ["bob@b.test"], message("sts-cleartext-" + mode))
        if mode == "testing":
            assert wait_log(a, r"to=<bob@b\.test> relay=mx\.b\.test\S* "
                            r"tls=none status=sent"), a.log()[-3000:]
            assert wait_log(a, r"event=mta-sts-testing domain=b\.test "
                            r"host=mx\.b\.test id=1 reason=\"no STARTTLS\" "
                            r"action=\"sent anyway \(mode testing\)\"")
            assert len(fake.messages) == 1
        else:
            assert wait_log(a, r"to=<bob@b\.test> .*status=deferred .*"
                            r"does not offer STARTTLS"), a.log()[-3000:]
            assert fake.rcpts == 0 and fake.messages == []
            assert "mta-sts-testing" not in a.log()
    finally:
        fake.close()


def test_cached_policy_used_when_server_down(sts):
    a, b, web = sts()
    submit(a, ["bob@b.test"], message("sts-cache-1"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    web.stop()
    submit(a, ["bob@b.test"], message("sts-cache-2"))
    assert len(b.wait_messages("bob@b.test", 2)) == 2, a.log()[-4000:]
    assert wait_log(a, r"event=mta-sts domain=b\.test mode=enforce id=1 "
                    r"source=cache"), a.log()[-3000:]
    assert wait_log(a, sent_line() + r" .*verified=mta-sts", count=2)
    assert web.hits == 1


def test_id_change_refetches(sts):
    a, b, web = sts()
    submit(a, ["bob@b.test"], message("sts-id-1"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    a.world.set_records(records(web.addr, sts_id="2"))
    time.sleep(DNS_TTL + 1)     # the old TXT answer leaves A's DNS cache
    submit(a, ["bob@b.test"], message("sts-id-2"))
    assert len(b.wait_messages("bob@b.test", 2)) == 2, a.log()[-4000:]
    assert wait_log(a, r"event=mta-sts domain=b\.test mode=enforce id=2 "
                    r"source=fetch"), a.log()[-3000:]
    assert web.hits == 2


def test_no_record_no_cache_is_opportunistic(sts):
    a, b, web = sts(b_cert="self", txt=False)
    submit(a, ["bob@b.test"], message("sts-none"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert wait_log(a, sent_line())
    assert "event=mta-sts " not in a.log() and "verified=mta-sts" not in a.log()
    assert web.hits == 0


def queue_db(srv):
    return sqlite3.connect(os.path.join(srv.data, "queue", "queue.db"), timeout=10)


def cached(srv):
    """(policy, fetched, expires) of b.test's cached policy in A's queue.db."""
    db = queue_db(srv)
    row = db.execute("SELECT policy, fetched, expires FROM mta_sts WHERE "
                     "domain = 'b.test'").fetchone()
    db.close()
    return row


def age_cache(srv, seconds):
    """Move the cached policy's fetch time back by seconds (its expiry
    stays): as if it had been fetched that long ago. Returns cached()."""
    db = queue_db(srv)
    with db:
        db.execute("UPDATE mta_sts SET fetched = fetched - ? WHERE domain = "
                   "'b.test'", (seconds,))
    db.close()
    return cached(srv)


def test_policy_in_use_is_refreshed_before_it_expires(sts):
    a, b, web = sts()
    submit(a, ["bob@b.test"], message("sts-warm-1"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    # A day later, same id: the cached policy is used at once and fetched
    # again beside it; the new text (a longer max_age) replaces the cache.
    age_cache(a, 86400 + 60)
    web.policy = ENFORCE.replace("max_age: 86400", "max_age: 604800")
    submit(a, ["bob@b.test"], message("sts-warm-2"))
    assert len(b.wait_messages("bob@b.test", 2)) == 2, a.log()[-4000:]
    assert wait_log(a, r"event=mta-sts domain=b\.test mode=enforce id=1 "
                    r"source=cache"), a.log()[-3000:]
    assert wait_log(a, r"event=mta-sts domain=b\.test id=1 status=refreshed"), \
        a.log()[-3000:]
    assert web.hits == 2
    policy, fetched, expires = cached(a)
    assert b"max_age: 604800" in (policy if isinstance(policy, bytes)
                                  else policy.encode())
    assert expires - fetched == 604800 and abs(fetched - time.time()) < 60
    # Fresh again: the next message neither waits nor fetches.
    submit(a, ["bob@b.test"], message("sts-warm-3"))
    assert len(b.wait_messages("bob@b.test", 3)) == 3, a.log()[-4000:]
    assert wait_log(a, sent_line() + r" .*verified=mta-sts", count=3)
    assert web.hits == 2


def test_failed_refresh_keeps_the_policy_and_waits_an_hour(sts):
    a, b, web = sts()
    submit(a, ["bob@b.test"], message("sts-cold-1"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    web.stop()
    policy_before = age_cache(a, 86400 + 60)[0]
    for i in (2, 3):
        submit(a, ["bob@b.test"], message(f"sts-cold-{i}"))
        assert len(b.wait_messages("bob@b.test", i)) == i, a.log()[-4000:]
    assert wait_log(a, r"event=mta-sts domain=b\.test id=1 "
                    r"status=refresh-failed"), a.log()[-3000:]
    # Both went out under the cached enforce policy; one refresh attempt.
    assert wait_log(a, sent_line() + r" .*verified=mta-sts", count=3)
    assert a.log().count("status=refresh-failed") == 1
    assert a.log().count("status=refreshing") == 1
    assert cached(a)[0] == policy_before
