"""Outbound delivery (issue 5 items 3 and 4): two real mailkeep instances
and a real DNS server (Knot, tests/integration/dnsworld.py) serving MX and
A records, so mail travels from A (domain a.test) to B (domain b.test)
through MX resolution, STARTTLS, retries, bounces and a relay host.

Every destination listens on 127.0.0.1 at one free port; A's
`[outbound] port` points there (port 25 is not assumed to be free).
"""
import os
import re
import smtplib
import socket
import threading
import time

import pytest

import conftest
from conftest import free_port
from dnsworld import dns_world  # noqa: F401  (the fixture)

PASSWORD = "secret-pass-1"

RECORDS = [
    ("a.test", "MX", "10 mx.a.test"),
    ("mx.a.test", "A", "127.0.0.1"),
    ("b.test", "MX", "10 mx.b.test"),
    ("mx.b.test", "A", "127.0.0.1"),
    ("c.test", "MX", "10 mx.c.test"),
    ("mx.c.test", "A", "127.0.0.1"),
    ("nullmx.test", "MX", "0 ."),
]


def write_secret(path, text, mode=0o600):
    """A file the queue process (user `mailkeep` when run as root) reads."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam("mailkeep")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def message(subject, to="bob@b.test", frm="alice@a.test"):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@a.test>\r\n\r\nHello from A: {subject}.\r\n"
            ).encode()


def sender_conf(b_port, extra="", retry=("1s", "2s")):
    """A's configuration: relays for loopback clients, retries soon, and
    delivers to port b_port of the MX hosts; extra is appended."""
    return f"""[smtp]
relay_networks = 127.0.0.0/8

[queue]
retry_min = {retry[0]}
retry_max = {retry[1]}

[outbound]
port = {b_port}
{extra}"""


def wait_log(srv, pattern, timeout=20, count=1):
    return conftest.wait_log(srv, pattern, timeout, count)


@pytest.fixture
def world(make_server, dns_world):
    """make(b_extra, a_extra, start_b) -> (A, B, port); B not started when
    start_b is False (a destination that is down)."""
    w = dns_world(RECORDS)

    def make(a_extra="", b_extra="", start_b=True, b_users=("bob@b.test",)):
        b = make_server(b_extra, users=b_users, domains="b.test",
                        dns=w.forwarder, start=False)
        a = make_server(sender_conf(b.port, a_extra), users=("alice@a.test",),
                        domains="a.test", dns=w.forwarder)
        a.world = w
        if start_b:
            b.start()
        return a, b, b.port
    return make


def submit(srv, rcpts, msg, frm="alice@a.test"):
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.a.test",
                      timeout=30) as s:
        return s.sendmail(frm, rcpts, msg)


def qid_of(srv, rcpt):
    m = re.search(r"queue=(\w+) to=<%s> relay=" % re.escape(rcpt), srv.log())
    return m.group(1) if m else None


def test_sent_over_mx_with_starttls(world):
    a, b, port = world()
    submit(a, ["bob@b.test"], message("mx-delivery"))
    msgs = b.wait_messages("bob@b.test", 1)
    assert len(msgs) == 1, a.log()[-4000:]
    assert b"Hello from A: mx-delivery." in msgs[0]
    assert wait_log(a, r"to=<bob@b.test> relay=mx\.b\.test\[127\.0\.0\.1\]:%d "
                    r"tls=TLSv1\.[23] status=sent dsn=2\.\d\.\d reply=\"250" % port)
    qid = qid_of(a, "bob@b.test")
    assert wait_log(a, r"queue=%s event=removed" % qid)
    # Nothing is left in A's queue; nothing bounced to alice.
    assert a.messages("alice@a.test") == []


def test_down_then_up_is_deferred_then_delivered(world):
    a, b, port = world(start_b=False)
    submit(a, ["bob@b.test"], message("deferred"))
    assert wait_log(a, r"to=<bob@b.test> relay=none tls=none status=deferred"), \
        a.log()[-3000:]
    assert b.messages("bob@b.test") == [] if os.path.isdir(b.data) else True
    b.start()
    msgs = b.wait_messages("bob@b.test", 1, timeout=30)
    assert len(msgs) == 1, a.log()[-4000:]
    assert wait_log(a, r"to=<bob@b.test> relay=mx\.b\.test.* status=sent")
    assert a.messages("alice@a.test") == []


def test_5xx_bounces_to_sender(world):
    a, b, port = world()
    submit(a, ["nobody@b.test"], message("unknown-user", to="nobody@b.test"))
    assert wait_log(a, r"to=<nobody@b.test> relay=mx\.b\.test.* status=bounced "
                    r"dsn=5\.1\.1 reply=\"550"), a.log()[-4000:]
    bounces = a.wait_messages("alice@a.test", 1)
    assert len(bounces) == 1, a.log()[-4000:]
    bounce = bounces[0]
    assert b"Return-Path: <>" in bounce
    assert b"multipart/report" in bounce and b"report-type=delivery-status" in bounce
    assert b"Final-Recipient: rfc822; nobody@b.test" in bounce
    assert b"Remote-MTA: dns; mx.b.test\r\n" in bounce
    assert b"Action: failed" in bounce and b"Status: 5.1.1" in bounce
    assert b"Subject: unknown-user" in bounce       # the original's headers


def test_alias_forward_leaves_the_local_trace_behind(world):
    """One local recipient: A's queue file starts with the local trace for
    it (Return-Path, Delivered-To: fwd@a.test). The alias forwards the
    message: what B receives, and the bounce for the address B refuses,
    carry the message without that trace."""
    a, b, port = world()
    a.cli("alias", "add", "fwd@a.test", "bob@b.test", "nobody@b.test")
    submit(a, ["fwd@a.test"], message("forwarded", to="fwd@a.test"))
    got = b.wait_messages("bob@b.test", 1)
    assert len(got) == 1, a.log()[-4000:]
    assert got[0].startswith(b"Return-Path: <alice@a.test>\r\n"
                             b"Delivered-To: bob@b.test\r\n"), got[0][:300]
    assert got[0].count(b"Return-Path:") == 1
    assert got[0].count(b"Delivered-To:") == 1
    bounces = a.wait_messages("alice@a.test", 1)
    assert len(bounces) == 1, a.log()[-4000:]
    assert b"Final-Recipient: rfc822; nobody@b.test" in bounces[0]
    assert b"Subject: forwarded" in bounces[0]
    assert b"Delivered-To: fwd@a.test" not in bounces[0]
    assert bounces[0].count(b"Return-Path:") == 1     # the bounce's own


def test_mixed_recipients_one_transaction(world):
    a, b, port = world()
    submit(a, ["bob@b.test", "nobody@b.test"], message("mixed"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1
    bounces = a.wait_messages("alice@a.test", 1)
    assert len(bounces) == 1
    assert b"nobody@b.test" in bounces[0] and b"Final-Recipient: rfc822; bob@b.test" \
        not in bounces[0]


def test_null_sender_never_bounced(world):
    a, b, port = world()
    submit(a, ["nobody@b.test"], message("null-sender", to="nobody@b.test"), frm="")
    assert wait_log(a, r"to=<nobody@b.test> .*status=bounced")
    time.sleep(1)
    assert a.messages("alice@a.test") == []
    assert "dsn-for=" not in a.log()


def test_null_mx_bounces_at_once(world):
    a, b, port = world()
    submit(a, ["someone@nullmx.test"], message("nullmx", to="someone@nullmx.test"))
    assert wait_log(a, r"to=<someone@nullmx.test> relay=none tls=none "
                    r"status=bounced dsn=5\.1\.10"), a.log()[-3000:]
    bounces = a.wait_messages("alice@a.test", 1)
    assert len(bounces) == 1 and b"Status: 5.1.10" in bounces[0]


class FakeSmtp:
    """A tiny SMTP server on 127.0.0.1:port answering RCPT with a fixed
    reply (e.g. 451 for a temporary failure); counts transactions."""

    def __init__(self, port, rcpt_reply, data_reply=b"554 no valid recipients",
                 ehlo=(b"PIPELINING",)):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(5)
        self.rcpt_reply, self.data_reply = rcpt_reply, data_reply
        self.ehlo = ehlo
        self.bdat = []          # sizes of the BDAT chunks received
        self.rcpts = 0
        self.messages = []      # bodies received (whether answered or not)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                self.session(c)

    def session(self, c):
        c.settimeout(5)
        f = c.makefile("rb")
        c.sendall(b"220 fake ESMTP\r\n")
        for line in f:
            verb = line[:4].upper()
            if verb == b"EHLO":
                c.sendall(b"250-fake\r\n" + b"".join(
                    b"250-" + e + b"\r\n" for e in self.ehlo) + b"250 HELP\r\n")
            elif verb == b"BDAT":
                size = int(line.split()[1])
                chunk = f.read(size)
                self.bdat.append(size)
                if not self.messages or self.messages[-1] is None:
                    self.messages.append(b"")
                self.messages[-1] += chunk
                c.sendall(b"250 2.0.0 chunk ok\r\n")
                if b"LAST" in line.upper():
                    self.messages[-1] = self.messages[-1]
                    self.messages.append(None)
            elif verb == b"RCPT":
                self.rcpts += 1
                c.sendall(self.rcpt_reply + b"\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            elif verb == b"DATA" and not self.rcpt_reply.startswith(b"2"):
                c.sendall(self.data_reply + b"\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go ahead\r\n")
                body = b""
                for l in f:
                    if l == b".\r\n":
                        break
                    body += l
                self.messages.append(body)
                if self.data_reply is None:     # never answer: hang
                    while not self.stop:
                        try:
                            if not c.recv(1):
                                return
                        except socket.timeout:
                            continue
                        except OSError:
                            return
                    return
                c.sendall(self.data_reply + b"\r\n")
            else:
                c.sendall(b"250 ok\r\n")

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def test_4xx_is_retried(world):
    a, b, port = world(start_b=False)
    fake = FakeSmtp(port, b"451 4.7.1 try again later")
    try:
        submit(a, ["carol@c.test"], message("tempfail", to="carol@c.test"))
        assert wait_log(a, r"to=<carol@c.test> relay=mx\.c\.test\[127\.0\.0\.1\]"
                        r":%d tls=none status=deferred dsn=4\.7\.1 "
                        r"reply=\"451 4\.7\.1 try again later\"" % port,
                        timeout=30, count=2), a.log()[-3000:]
        assert fake.rcpts >= 2
    finally:
        fake.close()
    assert a.messages("alice@a.test") == []


@pytest.mark.parametrize("host,tls,service", [
    ("127.0.0.1", "starttls", "submission"),
    ("mx.b.test", "implicit", "submissions"),     # a name, resolved; port 465 style
])
def test_relay_host_with_auth(world, server_root, host, tls, service):
    p587 = free_port()
    pw = os.path.join(server_root, "relay.pw")
    write_secret(pw, PASSWORD + "\n")
    a, b, port = world(a_extra=f"""
[relay]
host = {host}
port = {p587}
tls = {tls}
user = relay@b.test
password_file = {pw}
""", b_extra=f"""[listen]
{service} = 127.0.0.1:{p587}

[submission]
sender_check = any
""", b_users=("bob@b.test", "relay@b.test"))
    # c.test's MX would be port `port` too: only the relay can take it.
    submit(a, ["bob@b.test"], message("via-relay"))
    msgs = b.wait_messages("bob@b.test", 1)
    assert len(msgs) == 1, a.log()[-4000:] + b.log()[-3000:]
    assert wait_log(a, r"to=<bob@b.test> relay=%s\[127\.0\.0\.1\]:%d "
                    r"tls=TLSv1\.[23] status=sent" % (re.escape(host), p587))
    assert "relay@b.test" in b.log()      # B saw the AUTH


def test_relay_password_file_mode_checked(world, server_root):
    pw = os.path.join(server_root, "open.pw")
    write_secret(pw, PASSWORD + "\n", 0o644)
    a, b, port = world(a_extra=f"""
[relay]
host = 127.0.0.1
port = {free_port()}
user = relay@b.test
password_file = {pw}
""")
    assert wait_log(a, r"event=relay-config status=failed reason=\"\[relay\] "
                    r"password_file is readable by group or others")


def test_delay_notice_once_then_bounce_at_lifetime(world):
    a, b, port = world(start_b=False, a_extra="""
[queue]
delay_notice = 2s
lifetime = 6s
""")
    fake = FakeSmtp(port, b"450 4.2.0 mailbox busy")
    try:
        submit(a, ["carol@c.test"], message("slow", to="carol@c.test"))
        msgs = a.wait_messages("alice@a.test", 1, timeout=20)
        assert len(msgs) >= 1, a.log()[-3000:]
        assert b"Action: delayed" in msgs[0] and b"Status: 4.2.0" in msgs[0]
        assert b"Will-Retry-Until:" in msgs[0]
        # At the end of the lifetime: a bounce, and only one delay notice.
        msgs = a.wait_messages("alice@a.test", 2, timeout=30)
        assert len(msgs) == 2, a.log()[-3000:]
        assert b"Action: failed" in msgs[1] and b"Status: 4.2.0" in msgs[1]
        assert wait_log(a, r"to=<carol@c.test> .*status=bounced dsn=4\.2\.0")
        time.sleep(2)
        assert len(a.messages("alice@a.test")) == 2
    finally:
        fake.close()


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_submitted_mail_is_dkim_signed(world, kind):
    import ssl
    p587 = free_port()
    a, b, port = world(a_extra=f"""
[listen]
submission = 127.0.0.1:{p587}
""")
    out = a.cli("dkim", "genkey", "a.test", "sel1", "--type", kind).stdout
    zone = [l for l in out.splitlines() if not l.startswith(";")][0]
    a.world.set_records(RECORDS, raw=zone)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", p587, timeout=30) as s:
        s.starttls(context=ctx)
        s.login("alice@a.test", PASSWORD)
        s.sendmail("alice@a.test", ["bob@b.test"], message("signed"))
    msgs = b.wait_messages("bob@b.test", 1)
    assert len(msgs) == 1, a.log()[-3000:]
    head = msgs[0].split(b"\r\n\r\n", 1)[0].decode()
    assert "DKIM-Signature:" in head and "d=a.test" in head and "s=sel1" in head
    ar = [l for l in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
          if l.lower().startswith("authentication-results:")]
    assert len(ar) == 1 and "dkim=pass" in ar[0] and "header.d=a.test" in ar[0], ar
    assert wait_log(a, r"event=dkim-sign status=ok d=a\.test")


def test_relayed_mail_is_not_signed(world):
    a, b, port = world()
    out = a.cli("dkim", "genkey", "a.test", "sel1").stdout
    assert "sel1._domainkey.a.test" in out
    submit(a, ["bob@b.test"], message("unsigned"))
    msgs = b.wait_messages("bob@b.test", 1)
    assert len(msgs) == 1 and b"DKIM-Signature:" not in msgs[0]


def test_attempt_cut_by_a_crash_is_retried(world):
    from test_durability import kill_daemon
    a, b, port = world(start_b=False)
    fake = FakeSmtp(port, b"250 ok", data_reply=None)
    try:
        submit(a, ["carol@c.test"], message("crash", to="carol@c.test"))
        deadline = time.time() + 20
        while time.time() < deadline and not fake.messages:
            time.sleep(0.1)
        assert len(fake.messages) == 1, a.log()[-3000:]
        kill_daemon(a)                  # while the server has not answered "."
        fake.data_reply = b"250 2.0.0 queued as X1"
        a.start()
        assert wait_log(a, r"to=<carol@c.test> relay=mx\.c\.test.* status=sent "
                        r"dsn=2\.0\.0 reply=\"250 2\.0\.0 queued as X1\""), \
            a.log()[-3000:]
        # at-least-once: the message went twice, the second time answered
        assert len(fake.messages) == 2 and fake.messages[0] == fake.messages[1]
    finally:
        fake.close()


def test_bdat_without_pipelining_sends_every_chunk(world):
    a, b, port = world(start_b=False)
    fake = FakeSmtp(port, b"250 ok", data_reply=b"250 ok",
                    ehlo=(b"CHUNKING", b"8BITMIME"))
    body = b"".join(b"line %06d of a message big enough for several chunks\r\n" % i
                    for i in range(5000))
    try:
        submit(a, ["carol@c.test"], message("bdat", to="carol@c.test") + body)
        assert wait_log(a, r"to=<carol@c.test> .*status=sent"), a.log()[-3000:]
        got = fake.messages[0]
        assert len(fake.bdat) >= 4, fake.bdat       # 64 KiB chunks, one by one
        assert got.endswith(body) and b"Subject: bdat" in got
    finally:
        fake.close()


def auth_results(msg):
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    head = head.replace("\r\n\t", " ").replace("\r\n ", " ")
    return [l for l in head.split("\r\n")
            if l.lower().startswith("authentication-results:")]


def submit_587(srv, port, user, rcpt, msg):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(srv.host, port, timeout=30) as s:
        s.starttls(context=ctx)
        s.login(user, PASSWORD)
        s.sendmail(user, [rcpt], msg)


def test_round_trip_spf_dkim_dmarc_pass(make_server, dns_world):
    """The test world of DESIGN §7: A (a.test) and B (b.test) on distinct
    loopback addresses and the same port, found through MX records; mail
    submitted to A on 587 reaches B's INBOX with spf, dkim and dmarc pass,
    and the reply submitted to B comes back the same way."""
    addr = {"a": "127.0.0.2", "b": "127.0.0.3"}
    records = []
    for d in ("a", "b"):
        records += [(f"{d}.test", "MX", f"10 mx.{d}.test"),
                    (f"mx.{d}.test", "A", addr[d]),
                    (f"{d}.test", "TXT", f"v=spf1 ip4:{addr[d]} -all"),
                    (f"_dmarc.{d}.test", "TXT", "v=DMARC1; p=reject")]
    w = dns_world(records)
    port, subm = free_port(), {"a": free_port(), "b": free_port()}
    srv = {}
    for d, user in (("a", "alice@a.test"), ("b", "bob@b.test")):
        srv[d] = make_server(f"""[listen]
submission = {addr[d]}:{subm[d]}

[queue]
retry_min = 1s
retry_max = 2s

[outbound]
port = {port}
bind_address_v4 = {addr[d]}
""", users=(user,), domains=f"{d}.test", dns=w.forwarder, host=addr[d],
            port=port, start=False)
    zones = []
    for d in ("a", "b"):
        out = srv[d].cli("dkim", "genkey", f"{d}.test", "rt").stdout
        zones += [l for l in out.splitlines() if l and not l.startswith(";")][:1]
        srv[d].start()
    w.set_records(records, raw="\n".join(zones))

    submit_587(srv["a"], subm["a"], "alice@a.test", "bob@b.test",
               message("round-trip", to="bob@b.test", frm="alice@a.test"))
    msgs = srv["b"].wait_messages("bob@b.test", 1, timeout=30)
    assert len(msgs) == 1, srv["a"].log()[-3000:]
    ar = auth_results(msgs[0])
    assert len(ar) == 1, ar
    for verdict in ("spf=pass", "dkim=pass", "dmarc=pass"):
        assert verdict in ar[0], ar

    reply = (b"From: bob@b.test\r\nTo: alice@a.test\r\nSubject: Re: round-trip\r\n"
             b"In-Reply-To: <round-trip@a.test>\r\n\r\nGot it.\r\n")
    submit_587(srv["b"], subm["b"], "bob@b.test", "alice@a.test", reply)
    msgs = srv["a"].wait_messages("alice@a.test", 1, timeout=30)
    assert len(msgs) == 1, srv["b"].log()[-3000:]
    ar = auth_results(msgs[0])
    assert len(ar) == 1 and all(v in ar[0] for v in
                                ("spf=pass", "dkim=pass", "dmarc=pass")), ar
