"""`mailkeep analyze` (issue 4 §7): the verdicts, the decision and the
header fields for a saved message, against a real DNS server (Knot) with the
test records, and the same message sent through the real daemon: analyze
must print exactly the Authentication-Results and Received-SPF fields the
daemon adds, and the decision the daemon takes (accept, Junk, 550).
"""
import os
import smtplib
import socket
import time

import pytest

from authworld import key_files, records, signed
from conftest import BIN, SANITIZER_MARKS
from dnsworld import dns_world  # noqa: F401  (the fixture)

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) not installed")

HELO = "mx.sender.test"


def message(frm="alice@sender.test", subject="analyzed", extra=b""):
    return (f"From: {frm}\r\nTo: bob@example.net\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@sender.test>\r\n").encode() + extra + \
        b"\r\nHello, analyzed world.\r\n"


class Analyzed:
    """analyze's output: the verdict lines by name, and the header fields."""

    def __init__(self, r):
        self.rc, self.stdout, self.stderr = r.returncode, r.stdout, r.stderr
        head, _, fields = r.stdout.partition("\n\n")
        self.lines = head.splitlines()
        self.fields = fields

    def line(self, name):
        found = [l for l in self.lines if l.startswith(name + ": ")]
        assert len(found) == 1, (name, self.stdout)
        return found[0]

    def field(self, name):
        return fields_named(self.fields, name)


def fields_named(text, name):
    """Folded header fields called name in text (LF line ends), as text."""
    out, cur = [], None
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur.append(line)
            continue
        if cur is not None:
            out.append("\n".join(cur))
            cur = None
        if line.lower().startswith(name.lower() + ":"):
            cur = [line]
    if cur is not None:
        out.append("\n".join(cur))
    return out


def analyze(conf, *args, data=None, check_rc=0):
    import subprocess
    cmd = [BIN] + (["-c", conf] if conf else []) + ["analyze", *args]
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    if check_rc is not None:
        assert r.returncode == check_rc, (r.returncode, r.stdout, r.stderr)
    return Analyzed(r)


def analyze_msg(srv, msg, *args, lf=False):
    path = os.path.join(srv.dir, "msg-%d.eml" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(msg.replace(b"\r\n", b"\n") if lf else msg)
    return analyze(srv.conf, path, *args)


def send(srv, mail_from, msg):
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO, timeout=30) as s:
        return s.sendmail(mail_from, ["bob@example.net"], msg)


def delivered(srv, folder=""):
    end = time.time() + 15
    while time.time() < end:
        msgs = srv.messages("bob@example.net", folder)
        if msgs:
            return msgs[0].split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "\n")
        time.sleep(0.05)
    raise AssertionError("no message delivered in " + (folder or "INBOX"))


@pytest.fixture
def world(make_server, dns_world):
    def make(recs, extra="", start=True, users=("bob@example.net",)):
        w = dns_world(recs)
        return make_server(extra, dns=w.forwarder, start=start, users=users)
    return make


CLIENT = ("--ip", "127.0.0.1", "--helo", HELO)


def test_all_pass_same_fields_as_the_daemon(world):
    srv = world(records())
    msg = signed(message())
    a = analyze_msg(srv, msg, *CLIENT, "--mail-from", "alice@sender.test")
    assert a.line("iprev").startswith("iprev: pass")
    assert "host=localhost.test" in a.line("iprev")
    assert a.line("spf").startswith("spf: pass")
    assert "identity=mailfrom domain=sender.test" in a.line("spf")
    assert a.line("dkim").startswith("dkim: pass d=sender.test s=test a=rsa-sha256")
    assert a.line("dmarc").startswith("dmarc: pass")
    assert "header.from=sender.test" in a.line("dmarc")
    assert a.line("action").startswith("action: accept")
    send(srv, "alice@sender.test", msg)
    head = delivered(srv)
    ar = fields_named(head, "Authentication-Results")
    assert len(ar) == 1 and a.field("Authentication-Results") == ar, (a.fields, ar)
    assert a.field("Received-SPF") == fields_named(head, "Received-SPF")
    assert "action=accept" in srv.log()


def test_lf_line_ends_and_stdin_give_the_same_result(world):
    srv = world(records(), start=False, users=())
    msg = signed(message())
    crlf = analyze_msg(srv, msg, *CLIENT, "--mail-from", "alice@sender.test")
    lf = analyze_msg(srv, msg, *CLIENT, "--mail-from", "alice@sender.test", lf=True)
    stdin = analyze(srv.conf, *CLIENT, "--mail-from=<alice@sender.test>",
                    data=msg.replace(b"\r\n", b"\n"))
    assert crlf.line("dkim").startswith("dkim: pass")
    assert crlf.stdout == lf.stdout == stdin.stdout
    # no final newline: DATA always ends the last line, so does analyze
    cut = analyze(srv.conf, *CLIENT, "--mail-from", "alice@sender.test",
                  data=msg.rstrip(b"\r\n"))
    assert cut.stdout == crlf.stdout


def test_dmarc_reject_like_the_daemon(world):
    srv = world(records(spf="v=spf1 -all"))
    msg = message()
    a = analyze_msg(srv, msg, *CLIENT, "--mail-from", "alice@sender.test")
    assert a.line("spf").startswith("spf: fail")
    assert a.line("dkim") == "dkim: none (no signature)"
    dm = a.line("dmarc")
    assert dm.startswith("dmarc: fail") and "p=reject" in dm and \
        "disposition=reject" in dm and "header.from=sender.test" in dm
    assert a.line("action").startswith("action: reject")
    assert a.line("reply").startswith("reply: 550 5.7.1 ")
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(srv, "alice@sender.test", msg)
    assert e.value.smtp_code == 550
    assert a.line("reply") == "reply: 550 " + e.value.smtp_error.decode()


def test_quarantine_goes_to_junk_like_the_daemon(world):
    srv = world(records(dmarc="v=DMARC1; p=quarantine", spf="v=spf1 -all"))
    msg = message()
    a = analyze_msg(srv, msg, *CLIENT, "--mail-from", "alice@sender.test")
    assert a.line("action").startswith("action: junk (DMARC fail")
    send(srv, "alice@sender.test", msg)
    head = delivered(srv, ".Junk")
    assert a.field("Authentication-Results") == fields_named(head, "Authentication-Results")


def test_spf_fail_without_dkim_is_junk(world):
    srv = world(records(dmarc="v=DMARC1; p=none", spf="v=spf1 -all"), start=False,
                users=())
    unrelated = message(frm="other@unrelated.test")
    a = analyze_msg(srv, unrelated, *CLIENT, "--mail-from", "other@sender.test")
    assert a.line("action") == "action: junk (SPF fail and no DKIM signature passed)"
    # a DKIM pass outweighs the SPF fail
    a = analyze_msg(srv, signed(message()), *CLIENT, "--mail-from", "x@sender.test")
    assert a.line("spf").startswith("spf: fail")
    assert a.line("action").startswith("action: accept")
    # [checks] junk = no turns the rule off
    srv2 = world(records(dmarc="v=DMARC1; p=none", spf="v=spf1 -all"),
                 extra="[checks]\njunk = no\n", start=False, users=())
    a = analyze_msg(srv2, unrelated, *CLIENT, "--mail-from", "other@sender.test")
    assert a.line("action").startswith("action: accept")


def test_tampered_body_and_helo_identity(world):
    srv = world(records(dmarc="v=DMARC1; p=none"), start=False, users=())
    msg = signed(message()).replace(b"analyzed world", b"altered world")
    # null sender: SPF checks postmaster@HELO (RFC 7208 §2.4)
    a = analyze_msg(srv, msg, *CLIENT, "--mail-from", "")
    assert a.line("dkim").startswith("dkim: fail (body hash mismatch) d=sender.test")
    assert "identity=helo domain=mx.sender.test" in a.line("spf")
    assert "smtp.helo=mx.sender.test" in a.field("Authentication-Results")[0]
    assert "identity=helo;" in a.field("Received-SPF")[0]


def test_without_ip_no_spf_and_no_received_spf(world):
    srv = world(records(), start=False, users=())
    a = analyze_msg(srv, signed(message()))
    assert a.line("spf") == "spf: not checked (no --ip)"
    assert a.line("iprev") == "iprev: not checked (no --ip)"
    assert a.line("dkim").startswith("dkim: pass")
    assert a.line("dmarc").startswith("dmarc: pass")
    ar = a.field("Authentication-Results")
    assert len(ar) == 1 and "spf=" not in ar[0] and "iprev=" not in ar[0]
    assert ar[0].startswith("Authentication-Results: mx.example.org;")
    assert a.field("Received-SPF") == []


def test_two_signatures_and_forged_results(world):
    srv = world(records(dmarc="v=DMARC1; p=none"), start=False, users=())
    forged = b"Authentication-Results: mx.example.org; dkim=pass header.d=bank.test\r\n"
    inner = signed(message(extra=forged))
    # a second signature by a domain without a key record
    private, _ = key_files()
    msg = dkim.sign(inner, b"nokey", b"sender.test", private,
                    include_headers=[b"from"]) + inner
    a = analyze_msg(srv, msg)
    dk = [l for l in a.lines if l.startswith("dkim: ")]
    assert len(dk) == 2, a.stdout
    assert dk[0].startswith("dkim: permerror") and "s=nokey" in dk[0]
    assert dk[1].startswith("dkim: pass") and "s=test" in dk[1]
    assert "removed: 1 Authentication-Results field" in a.stdout
    assert "bank.test" not in a.fields


def test_authserv_id_and_relay_networks_from_config(world):
    srv = world(records(spf="v=spf1 -all"),
                extra="[checks]\nauthserv_id = checks.example.org\n"
                      "[smtp]\nrelay_networks = 127.0.0.0/8\n", start=False, users=())
    a = analyze_msg(srv, message(), *CLIENT, "--mail-from", "alice@sender.test")
    assert a.field("Authentication-Results")[0].startswith(
        "Authentication-Results: checks.example.org;")
    assert "receiver=mx.example.org;" in a.field("Received-SPF")[0]
    assert a.line("action").startswith("action: accept (127.0.0.1 is in [smtp] relay_networks")


def test_no_config_file_uses_defaults(tmp_path):
    """Without a configuration: /etc/resolv.conf and this host's name."""
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"From: a@nowhere.invalid\nSubject: x\n\nbody\n")
    a = analyze(str(tmp_path / "absent.conf"), str(msg))
    assert a.line("dkim") == "dkim: none (no signature)"
    assert a.field("Authentication-Results")[0].startswith(
        "Authentication-Results: %s;" % socket.gethostname())


@pytest.mark.parametrize("args, code, word", [
    (("/nonexistent/msg.eml",), 1, "No such file"),
    (("--ip", "not-an-ip", "--helo", "x.test"), 2, "not an IPv4 or IPv6"),
    (("--ip", "192.0.2.1"), 2, "--helo or --mail-from"),
    (("--frobnicate",), 2, "usage: mailkeep analyze"),
    (("a.eml", "b.eml"), 2, "usage: mailkeep analyze"),
])
def test_errors(world, args, code, word):
    srv = world([], start=False, users=())
    a = analyze(srv.conf, *args, data=b"", check_rc=code)
    assert word in a.stderr, a.stderr


def test_broken_config_is_an_error(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("hostname = \n")
    a = analyze(str(conf), data=b"From: a@b.test\n\nx\n", check_rc=1)
    assert a.stderr.startswith("mailkeep: ")
