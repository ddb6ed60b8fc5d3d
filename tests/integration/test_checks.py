"""Inbound SPF, DKIM, DMARC and iprev through the real daemon, with a real
DNS server (Knot) serving the test records (issue: mail authentication)."""
import smtplib

import pytest

import authworld
from authworld import signed
from dnsworld import dns_world  # noqa: F401  (the fixture)

dkim = pytest.importorskip("dkim")


def records(dmarc_policy="reject", spf="v=spf1 ip4:127.0.0.1 -all"):
    return authworld.records(f"v=DMARC1; p={dmarc_policy}", spf)


def message(frm="alice@sender.test", subject="checked", extra=b""):
    return (f"From: {frm}\r\nTo: bob@example.net\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@sender.test>\r\n").encode() + extra + \
        b"\r\nHello, checked world.\r\n"


def send(srv, mail_from, msg):
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="mx.sender.test",
                      timeout=30) as s:
        return s.sendmail(mail_from, ["bob@example.net"], msg)


@pytest.fixture
def world_server(make_server, dns_world):
    def make(recs, extra=""):
        w = dns_world(recs)
        return make_server(extra, dns=w.forwarder)
    return make


def ar_header(m):
    head = m.split(b"\r\n\r\n", 1)[0].decode()
    lines = head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
    return [l for l in lines if l.lower().startswith("authentication-results:")]


def test_all_pass(world_server):
    srv = world_server(records())
    send(srv, "alice@sender.test", signed(message()))
    m = srv.wait_messages("bob@example.net", 1)[0]
    ar = ar_header(m)
    assert len(ar) == 1, m
    assert ar[0].startswith("Authentication-Results: mx.example.org;")
    for want in ("spf=pass", "smtp.mailfrom=alice@sender.test", "dkim=pass",
                 "header.d=sender.test", "dmarc=pass", "header.from=sender.test",
                 "iprev=pass"):
        assert want in ar[0], (want, ar[0])
    assert b"Received-SPF: pass" in m
    assert "event=checks" in srv.log() and "action=accept" in srv.log()


def test_dmarc_reject_refused(world_server):
    srv = world_server(records(spf="v=spf1 -all"))
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(srv, "alice@sender.test", message())
    assert e.value.smtp_code == 550
    assert e.value.smtp_error.startswith(b"5.7.1")
    assert srv.messages("bob@example.net") == []


def test_tampered_signature_fails_dkim(world_server):
    srv = world_server(records(dmarc_policy="none"))
    msg = signed(message()).replace(b"Hello, checked world.", b"Hello, changed world.")
    send(srv, "alice@sender.test", msg)
    ar = ar_header(srv.wait_messages("bob@example.net", 1)[0])[0]
    assert "dkim=fail" in ar and "spf=pass" in ar and "dmarc=pass" in ar


def test_quarantine_goes_to_junk(world_server):
    srv = world_server(records(dmarc_policy="quarantine", spf="v=spf1 -all"))
    send(srv, "alice@sender.test", message())
    deadline_msgs = srv.wait_messages("bob@example.net", 0)
    assert deadline_msgs == []
    import time
    end = time.time() + 15
    while time.time() < end and not srv.messages("bob@example.net", ".Junk"):
        time.sleep(0.05)
    junk = srv.messages("bob@example.net", ".Junk")
    assert len(junk) == 1
    assert "dmarc=fail" in ar_header(junk[0])[0]
    assert "action=junk" in srv.log()


def test_spf_fail_without_dkim_goes_to_junk(world_server):
    srv = world_server(records(dmarc_policy="none", spf="v=spf1 -all"))
    send(srv, "other@sender.test", message(frm="other@unrelated.test"))
    import time
    end = time.time() + 15
    while time.time() < end and not srv.messages("bob@example.net", ".Junk"):
        time.sleep(0.05)
    assert len(srv.messages("bob@example.net", ".Junk")) == 1
    assert srv.messages("bob@example.net") == []


def test_forged_authentication_results_removed(world_server):
    srv = world_server(records(dmarc_policy="none"))
    forged = b"Authentication-Results: mx.example.org; dkim=pass header.d=bank.test\r\n"
    other = b"Authentication-Results: elsewhere.test; spf=pass\r\n"
    send(srv, "alice@sender.test", message(extra=forged + other))
    m = srv.wait_messages("bob@example.net", 1)[0]
    assert b"bank.test" not in m
    assert other in m
    assert len(ar_header(m)) == 2   # ours (new) and elsewhere.test's
    assert "forged Authentication-Results" in srv.log()


def test_no_records_gives_none(make_server):
    srv = make_server()    # the harness's empty DNS world
    send(srv, "x@nowhere.test", message(frm="x@nowhere.test"))
    ar = ar_header(srv.wait_messages("bob@example.net", 1)[0])[0]
    assert "spf=none" in ar and "dkim=none" in ar and "dmarc=none" in ar


def test_relay_networks_not_judged(world_server):
    srv = world_server(records(spf="v=spf1 -all"),
                       extra="[smtp]\nrelay_networks = 127.0.0.0/8\n")
    send(srv, "alice@sender.test", message())
    m = srv.wait_messages("bob@example.net", 1)[0]
    assert ar_header(m) == []
