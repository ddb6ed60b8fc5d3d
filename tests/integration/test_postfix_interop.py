"""Interop with Debian's Postfix as the remote MTA, both ways (issue 5,
"Tests"), and several messages over one connection (issue 5 item 3).

The world: Knot (dnsworld.py) serves a.test (mailkeep A, 127.0.0.1) and
p.test (MX mx.p.test -> 127.0.0.3, a private Postfix from
postfixworld.py listening on 127.0.0.3:PORT, where PORT is also A's
`[outbound] port`). Postfix cannot ask Knot, so its way back to a.test is
a transport_maps entry (`a.test smtp:[127.0.0.1]:A_PORT`). Postfix speaks
STARTTLS both ways (smtpd with the test certificate, smtp_tls_security_level
= may), delivers p.test to Maildirs with virtual(8), rejects unknown users
(550) and answers 450 for busy@p.test (check_recipient_access).

Skipped when Postfix or Knot is missing, or when not root (Postfix's
master only starts as root).
"""
import re
import smtplib
import socket
import ssl
import threading
import time

import pytest

from dnsworld import dns_world  # noqa: F401  (the fixture)
from postfixworld import Postfix, can_run
from test_outbound import wait_log

PASSWORD = "secret-pass-1"
PF_ADDR = "127.0.0.3"
FAKE_ADDR = "127.0.0.5"

pytestmark = pytest.mark.skipif(bool(can_run()), reason=can_run() or "ok")

RECORDS = [
    ("a.test", "MX", "10 mx.a.test"),
    ("mx.a.test", "A", "127.0.0.1"),
    ("a.test", "TXT", "v=spf1 ip4:127.0.0.1 -all"),
    ("p.test", "MX", "10 mx.p.test"),
    ("mx.p.test", "A", PF_ADDR),
    ("p.test", "TXT", f"v=spf1 ip4:{PF_ADDR} -all"),
    ("q.test", "MX", "10 mx.q.test"),
    ("mx.q.test", "A", FAKE_ADDR),
]


def port_free_on(*hosts):
    """One TCP port free on every host given."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        ok = True
        for h in hosts:
            with socket.socket() as t:
                try:
                    t.bind((h, port))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no common free port")


def message(subject, to="pat@p.test", frm="alice@a.test", body=None):
    body = body or f"Hello from A: {subject}.\r\n"
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@a.test>\r\n\r\n").encode() + \
        (body.encode() if isinstance(body, str) else body)


def header_fields(msg):
    """The unfolded header fields of a message (LF or CRLF) as strings."""
    head = msg.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    return re.sub(r"\n[ \t]+", " ", head).split("\n")


def fields(msg, name):
    return [f for f in header_fields(msg) if f.lower().startswith(name.lower() + ":")]


@pytest.fixture
def pfworld_make(make_server, dns_world, server_root, tls_files):
    """make(a_extra) -> (A, Postfix, world): A for a.test, a private
    Postfix for p.test and q.test; a_extra is appended to A's config."""
    started = []

    def make(a_extra=""):
        a, pf, w = make_world(make_server, dns_world, server_root, tls_files, a_extra)
        started.append(pf)
        pf.start()
        a.start()
        return a, pf, w
    try:
        yield make
    finally:
        for pf in started:
            pf.stop()


@pytest.fixture
def pfworld(pfworld_make):
    return pfworld_make()


def make_world(make_server, dns_world, server_root, tls_files, a_extra):
    w = dns_world(RECORDS)
    port = port_free_on(PF_ADDR, FAKE_ADDR)
    p587 = port_free_on("127.0.0.1")
    a = make_server(f"""[smtp]
relay_networks = 127.0.0.1/32

[listen]
submission = 127.0.0.1:{p587}

[queue]
retry_min = 1s
retry_max = 2s

[outbound]
port = {port}

{a_extra}
""", users=("alice@a.test",), domains="a.test", dns=w.forwarder, start=False)
    a.p587, a.world = p587, w
    cert, key = tls_files
    pf = Postfix(f"{server_root}/postfix", host=PF_ADDR, port=port, main={
        "virtual_mailbox_domains": "p.test, q.test",
        "transport_maps": f"texthash:{server_root}/postfix/etc/transport",
        "smtpd_recipient_restrictions":
            f"check_recipient_access texthash:{server_root}/postfix/etc/access, "
            "permit_mynetworks, reject_unauth_destination",
        "smtpd_tls_cert_file": cert,
        "smtpd_tls_key_file": key,
        "smtpd_tls_security_level": "may",
        "smtpd_tls_received_header": "yes",
        "smtpd_tls_loglevel": "1",
        "smtp_tls_security_level": "may",
        "smtp_tls_loglevel": "1",
        "smtp_bind_address": PF_ADDR,
        "smtputf8_enable": "yes",
    }, tables={
        "transport": f"a.test smtp:[127.0.0.1]:{a.port}\n",
        "access": "busy@p.test 450 4.2.0 Mailbox busy, try later\n",
    }, mailboxes=("pat@p.test", "busy@p.test", "j\u00f6rg@p.test", "quinn@q.test"))
    return a, pf, w


def submit_relay(a, rcpts, msg, frm="alice@a.test", **kw):
    with smtplib.SMTP("127.0.0.1", a.port, local_hostname="client.a.test",
                      timeout=30) as s:
        return s.sendmail(frm, rcpts, msg, **kw)


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def knot_txt(world, name):
    """The TXT record at name as Knot serves it, character-strings joined."""
    out = world.dig("TXT", name) or []
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', out[0])) if out else None


# ---- mailkeep -> Postfix ----

def test_to_postfix_starttls_and_dkim(pfworld):
    dkim = pytest.importorskip("dkim", reason="python3-dkim not installed")
    a, pf, w = pfworld
    out = a.cli("dkim", "genkey", "a.test", "sel1").stdout
    zone = [l for l in out.splitlines() if not l.startswith(";")][0]
    w.set_records(RECORDS, raw=zone)
    with smtplib.SMTP("127.0.0.1", a.p587, timeout=30) as s:
        s.starttls(context=no_verify())
        s.login("alice@a.test", PASSWORD)
        s.sendmail("alice@a.test", ["pat@p.test"], message("to-postfix"))
    msgs = pf.wait_messages("pat@p.test", 1)
    assert len(msgs) == 1, a.log()[-3000:] + pf.log()[-3000:]
    assert wait_log(a, r"to=<pat@p.test> relay=mx\.p\.test\[%s\]:%d "
                    r"tls=TLSv1\.[23] status=sent dsn=2\.0\.0 reply=\"250 "
                    % (re.escape(PF_ADDR), pf.port))
    rcvd = fields(msgs[0], "Received")
    assert "by mx.p.test (Postfix) with ESMTPS" in rcvd[0], rcvd
    assert "from mx.example.org" in rcvd[0]
    assert len(fields(msgs[0], "DKIM-Signature")) == 1

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        txt = knot_txt(w, name)
        return txt.encode() if txt else None
    # Postfix stores LF line ends; the signature covers the CRLF form.
    signed = msgs[0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert dkim.DKIM(signed).verify(dnsfunc=dnsfunc), signed[:2000]


def test_to_postfix_8bitmime_and_smtputf8(pfworld):
    a, pf, w = pfworld
    body8 = "Gr\u00fc\u00dfe aus A, caf\u00e9 \u20ac.\r\n".encode()
    submit_relay(a, ["pat@p.test"], message("eightbit", body=body8),
                 mail_options=["BODY=8BITMIME"])
    utf8 = ("From: j\u00f6rg@a.test\r\nTo: j\u00f6rg@p.test\r\n"
            "Subject: gr\u00fc\u00dfe\r\nMessage-ID: <utf8@a.test>\r\n\r\n"
            "\u00e4\u00f6\u00fc\r\n").encode()
    submit_relay(a, ["j\u00f6rg@p.test"], utf8, frm="j\u00f6rg@a.test",
                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    eight = pf.wait_messages("pat@p.test", 1)
    assert len(eight) == 1, a.log()[-3000:] + pf.log()[-3000:]
    assert body8.replace(b"\r\n", b"\n") in eight[0]
    got = pf.wait_messages("j\u00f6rg@p.test", 1)
    assert len(got) == 1, a.log()[-3000:] + pf.log()[-3000:]
    assert "Return-Path: <j\u00f6rg@a.test>".encode() in got[0]
    assert "Subject: gr\u00fc\u00dfe".encode() in got[0]
    assert "\u00e4\u00f6\u00fc\n".encode() in got[0]
    # Postfix logged the SMTPUTF8 transaction as such
    assert re.search(r"from=<j\u00f6rg@a\.test>.*", pf.log())


def test_postfix_5xx_bounces(pfworld):
    a, pf, w = pfworld
    submit_relay(a, ["nobody@p.test"], message("unknown", to="nobody@p.test"))
    assert wait_log(a, r"to=<nobody@p.test> relay=mx\.p\.test\S+ tls=TLSv1\.[23] "
                    r"status=bounced dsn=5\.1\.1 reply=\"550 5\.1\.1 <nobody@p\.test>"), \
        a.log()[-3000:]
    bounces = a.wait_messages("alice@a.test", 1)
    assert len(bounces) == 1
    assert b"Final-Recipient: rfc822; nobody@p.test" in bounces[0]
    assert b"Remote-MTA: dns; mx.p.test" in bounces[0]
    assert b"User unknown in virtual mailbox table" in bounces[0]


def test_postfix_4xx_retried_then_delivered(pfworld):
    a, pf, w = pfworld
    submit_relay(a, ["busy@p.test"], message("busy", to="busy@p.test"))
    assert wait_log(a, r"to=<busy@p.test> relay=mx\.p\.test\S+ tls=TLSv1\.[23] "
                    r"status=deferred dsn=4\.2\.0 reply=\"450 4\.2\.0 <busy@p\.test>",
                    count=2), a.log()[-3000:]
    assert pf.messages("busy@p.test") == []
    pf.write_table("access", "")
    pf.reload()
    msgs = pf.wait_messages("busy@p.test", 1)
    assert len(msgs) == 1, a.log()[-3000:] + pf.log()[-3000:]
    assert wait_log(a, r"to=<busy@p.test> .*status=sent")
    assert a.messages("alice@a.test") == []          # no bounce, no notice


# ---- Postfix -> mailkeep ----

def test_postfix_to_mailkeep(pfworld):
    a, pf, w = pfworld
    msg = (b"From: Pat <pat@p.test>\r\nTo: alice@a.test\r\nSubject: from postfix\r\n"
           b"Message-ID: <from-postfix@p.test>\r\n\r\nHello from Postfix.\r\n")
    with smtplib.SMTP(PF_ADDR, pf.port, local_hostname="client.p.test",
                      timeout=30) as s:
        s.sendmail("pat@p.test", ["alice@a.test"], msg)
    msgs = a.wait_messages("alice@a.test", 1, timeout=30)
    assert len(msgs) == 1, pf.log()[-3000:] + a.log()[-3000:]
    rcvd = fields(msgs[0], "Received")
    # ours on top (TLS), then Postfix's two (its smtpd from the client,
    # and nothing else rewritten)
    assert "by mx.example.org (mailkeep) with ESMTPS" in rcvd[0], rcvd
    assert "(version=TLSv1." in rcvd[0] and f"[{PF_ADDR}]" in rcvd[0]
    assert any("by mx.p.test (Postfix) with ESMTP" in r and "client.p.test" in r
               for r in rcvd[1:]), rcvd
    ar = fields(msgs[0], "Authentication-Results")
    assert len(ar) == 1 and "spf=pass" in ar[0] and "smtp.mailfrom=pat@p.test" in ar[0], ar
    assert b"Hello from Postfix." in msgs[0]
    assert pf.wait_log(r"(Trusted|Anonymous|Untrusted) TLS connection established "
                       r"to 127\.0\.0\.1\[127\.0\.0\.1\]:%d" % a.port)
    assert pf.wait_log(r"to=<alice@a.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*"
                       r"status=sent" % a.port)


# ---- several messages over one connection (issue 5 item 3) ----

class Gate:
    """A TCP forwarder host:port -> target that holds every connection it
    accepts until open() (a destination that is slow to greet), and counts
    the connections."""

    def __init__(self, host, port, target):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.target = target
        self.opened = threading.Event()
        self.conns = 0
        self.stop = False
        self.socks = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns += 1
            self.socks.append(c)
            threading.Thread(target=self.forward, args=(c,), daemon=True).start()

    def forward(self, c):
        while not self.opened.wait(0.1):
            if self.stop:
                return
        u = socket.create_connection(self.target, timeout=30)
        self.socks.append(u)
        threading.Thread(target=self.pump, args=(u, c), daemon=True).start()
        self.pump(c, u)

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def open(self):
        self.opened.set()

    def close(self):
        self.stop = True
        self.sock.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def wait_for(cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("limit,sessions", [(100, [5]), (2, [1, 2, 2])])
def test_several_messages_per_connection(pfworld_make, limit, sessions):
    a, pf, w = pfworld_make(f"""[queue]
max_per_destination = 1

[outbound]
max_messages_per_connection = {limit}
""")
    gate = Gate(FAKE_ADDR, pf.port, (PF_ADDR, pf.port))
    try:
        # the first message holds the one connection to q.test open ...
        submit_relay(a, ["quinn@q.test"], message("reuse-1", to="quinn@q.test"))
        assert wait_for(lambda: gate.conns == 1), a.log()[-3000:]
        # ... while four more wait for it (max_per_destination = 1)
        for k in range(2, 6):
            submit_relay(a, ["quinn@q.test"], message(f"reuse-{k}", to="quinn@q.test"))
        assert wait_log(a, r"event=outbound-scan due=\d+ started=0 waiting=4\b"), \
            a.log()[-3000:]
        gate.open()
        msgs = pf.wait_messages("quinn@q.test", 5)
        assert len(msgs) == 5, a.log()[-3000:] + pf.log()[-3000:]
        # one attempt line per message, each over TLS
        assert wait_log(a, r"to=<quinn@q.test> relay=mx\.q\.test\[%s\]:%d "
                        r"tls=TLSv1\.[23] status=sent" % (re.escape(FAKE_ADDR), pf.port),
                        count=5), a.log()[-3000:]
        assert len(re.findall(r"to=<quinn@q.test> .*status=", a.log())) == 5
        # Postfix's account of its sessions: messages per connection
        assert pf.wait_log(r"disconnect from .*mail=\d", count=len(sessions))
        got = re.findall(r"disconnect from \S+ ehlo=2 starttls=1 mail=(\d+)", pf.log())
        assert sorted(int(n) for n in got) == sessions, pf.log()[-3000:]
        assert gate.conns == len(sessions)
        assert a.messages("alice@a.test") == []
    finally:
        gate.close()
