"""SMTP MX role: a stranger's server delivers to our users (issue 2 §4-5)."""
import smtplib
import ssl

import pytest

MSG = b"From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: hello\r\n\r\nbody line\r\n"


def smtp(server):
    return smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.remote.test",
                        timeout=10)


def test_ehlo_advertises_extensions(server):
    with smtp(server) as s:
        code, text = s.ehlo()
        assert code == 250
        assert text.splitlines()[0] == b"mx.example.org"
        for ext in ("pipelining", "size", "8bitmime", "smtputf8",
                    "enhancedstatuscodes", "chunking", "starttls", "dsn"):
            assert s.has_extn(ext), ext
        assert s.esmtp_features["size"] == str(50 * 1024 * 1024)


def test_plain_delivery_to_inbox(server):
    with smtp(server) as s:
        refused = s.sendmail("sender@remote.test", ["alice@example.org"], MSG)
        assert refused == {}
    msgs = server.wait_messages("alice@example.org", 1)
    assert len(msgs) == 1
    m = msgs[0]
    assert m.startswith(b"Return-Path: <sender@remote.test>\r\nDelivered-To: alice@example.org\r\n")
    assert b"Received: from client.remote.test ([127.0.0.1])" in m
    assert b"by mx.example.org (mailkeep) with ESMTP id " in m
    assert m.endswith(MSG)


def test_starttls_delivery_records_tls(server):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtp(server) as s:
        s.starttls(context=ctx)
        s.ehlo()
        assert not s.has_extn("starttls")
        s.sendmail("sender@remote.test", ["alice@example.org"], MSG)
    m = server.wait_messages("alice@example.org", 1)[0]
    assert b"with ESMTPS id" in m
    assert b"version=TLSv1.3 cipher=" in m


def test_unknown_user_rejected(server):
    with smtp(server) as s:
        s.ehlo()
        s.mail("sender@remote.test")
        code, text = s.rcpt("nobody@example.org")
        assert code == 550
        assert text.startswith(b"5.1.1")


def test_relay_denied(server):
    with smtp(server) as s:
        s.ehlo()
        s.mail("sender@remote.test")
        code, text = s.rcpt("someone@elsewhere.test")
        assert code == 554
        assert text.startswith(b"5.7.1")


def test_subaddress_and_second_domain(server):
    with smtp(server) as s:
        s.sendmail("sender@remote.test", ["alice+news@example.org", "BOB@Example.NET"], MSG)
    assert len(server.wait_messages("alice@example.org", 1)) == 1
    assert len(server.wait_messages("bob@example.net", 1)) == 1


def test_postmaster_exists_by_default(server):
    with smtp(server) as s:
        s.ehlo()
        s.mail("")
        assert s.rcpt("<postmaster>")[0] == 250
        assert s.rcpt("abuse@example.net")[0] == 250


def test_vrfy_does_not_enumerate(server):
    with smtp(server) as s:
        s.ehlo()
        assert s.verify("alice@example.org")[0] == 252
        assert s.verify("nobody@example.org")[0] == 252


def test_sequence_errors(server):
    with smtp(server) as s:
        assert s.docmd("MAIL FROM:<a@b.test>")[0] == 503
        s.ehlo()
        assert s.docmd("RCPT TO:<alice@example.org>")[0] == 503
        assert s.docmd("DATA")[0] == 503
        assert s.docmd("MAIL FROM:<a@b.test>")[0] == 250
        assert s.docmd("MAIL FROM:<a@b.test>")[0] == 503
        assert s.docmd("RSET")[0] == 250
        assert s.docmd("FOO")[0] == 500
        assert s.docmd("NOOP")[0] == 250
        assert s.docmd("HELP")[0] == 214


def test_size_limit_announced_and_enforced(make_server):
    srv = make_server("[smtp]\nmax_message_size = 2k\n")
    with smtp(srv) as s:
        s.ehlo()
        code, text = s.docmd("MAIL FROM:<a@b.test> SIZE=4096")
        assert code == 552 and text.startswith(b"5.3.4")
        # without SIZE= the limit is enforced at the end of DATA
        assert s.docmd("RSET")[0] == 250
        assert s.docmd("MAIL FROM:<a@b.test>")[0] == 250
        assert s.docmd("RCPT TO:<alice@example.org>")[0] == 250
        code, text = s.data(MSG + b"x" * 3000 + b"\r\n")
        assert code == 552 and text.startswith(b"5.3.4")
        assert s.docmd("NOOP")[0] == 250
    assert srv.messages("alice@example.org") == []
