"""swaks (Debian package swaks) as an independent SMTP client (issue 2 §4).

Exit status 0 means swaks saw every step succeed (codes in swaks(1),
"EXIT CODES"); delivery is then checked in the mailbox.
"""
import email
import email.policy
import os
import shutil
import subprocess

import pytest

SWAKS = shutil.which("swaks")
pytestmark = pytest.mark.skipif(SWAKS is None, reason="swaks not installed (apt-get install swaks)")


def swaks(srv, *args, to="alice@example.org"):
    cmd = [SWAKS, "--server", f"127.0.0.1:{srv.port}", "--to", to,
           "--from", "sender@remote.test", "--ehlo", "client.remote.test",
           "--timeout", "20", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def delivered_one(srv, address="alice@example.org"):
    msgs = srv.wait_messages(address, 1)
    assert len(msgs) == 1
    return msgs[0]


def test_swaks_plain(server):
    r = swaks(server, "--header", "Subject: swaks plain")
    assert r.returncode == 0, r.stdout + r.stderr
    m = delivered_one(server)
    assert m.startswith(b"Return-Path: <sender@remote.test>\r\n")
    assert b" with ESMTP id " in m
    assert b"Subject: swaks plain\r\n" in m
    assert b"This is a test mailing" in m


def test_swaks_tls(server):
    r = swaks(server, "--tls", "--header", "Subject: swaks tls")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout
    m = delivered_one(server)
    assert b" with ESMTPS id " in m
    assert b"Subject: swaks tls\r\n" in m


def test_swaks_pipeline(server):
    r = swaks(server, "--pipeline", "--header", "Subject: swaks pipeline")
    assert r.returncode == 0, r.stdout + r.stderr
    m = delivered_one(server)
    assert b"Subject: swaks pipeline\r\n" in m


def test_swaks_esmtp_attachment(server, tmp_path):
    blob = os.urandom(100 * 1024)
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    r = swaks(server, "--protocol", "ESMTP", "--attach", f"@{path}",
              "--header", "Subject: swaks attachment")
    assert r.returncode == 0, r.stdout + r.stderr
    m = delivered_one(server)
    msg = email.message_from_bytes(m, policy=email.policy.default)
    assert msg["Subject"] == "swaks attachment"
    parts = [p for p in msg.iter_attachments()]
    assert len(parts) == 1
    assert parts[0].get_content() == blob


def test_swaks_helo_protocol(server):
    r = swaks(server, "--protocol", "SMTP", "--header", "Subject: swaks helo")
    assert r.returncode == 0, r.stdout + r.stderr
    m = delivered_one(server)
    assert b" with SMTP id " in m


def test_swaks_refused_recipient_exit_status(server):
    r = swaks(server, to="nobody@example.org")
    assert r.returncode == 24, r.stdout + r.stderr     # "no RCPTs accepted"
    assert "550 5.1.1" in r.stdout
    assert server.log().count("event=queued") == 0


def test_swaks_refused_size(make_server):
    srv = make_server("[smtp]\nmax_message_size = 1k\n")
    r = swaks(srv, "--body", "x" * 80 + "\n" * 1 + ("y" * 80 + "\n") * 20)
    assert r.returncode == 26, r.stdout + r.stderr     # "did not accept mail following data"
    assert "552 5.3.4" in r.stdout
    assert srv.messages("alice@example.org") == []
