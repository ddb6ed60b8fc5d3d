"""Submission on 587 (STARTTLS) and 465 (implicit TLS) with SASL AUTH
(issue 5 item 1): RFC 3207, 4954, 6409, 8314 against a real daemon, with
smtplib, a small SCRAM-SHA-256 client (RFC 5802, hashlib/hmac only) and
swaks as independent clients.
"""
import base64
import hashlib
import hmac
import os
import shutil
import smtplib
import sqlite3
import ssl
import subprocess
import time

import pytest

from conftest import free_port

PASSWORD = "secret-pass-1"


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture
def sub(make_server):
    p587, p465 = free_port(), free_port()
    srv = make_server(extra=f"""[listen]
submission = 127.0.0.1:{p587}
submissions = 127.0.0.1:{p465}

[auth]
fail_delay_after = 1
fail_block_after = 3
""", start=False)
    srv.cli("alias", "add", "info@example.org", "alice@example.org")
    srv.start()
    srv.p587, srv.p465 = p587, p465
    return srv


def connect587(srv, login=True, user="alice@example.org", password=PASSWORD):
    c = smtplib.SMTP("127.0.0.1", srv.p587, timeout=20)
    c.ehlo("client.example")
    c.starttls(context=tls_ctx())
    c.ehlo("client.example")
    if login:
        c.login(user, password)
    return c


MSG = b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: sub\r\n\r\nhello\r\n"


def test_587_before_tls(sub):
    c = smtplib.SMTP("127.0.0.1", sub.p587, timeout=20)
    code, ehlo = c.ehlo("client.example")
    assert code == 250
    assert b"STARTTLS" in ehlo and b"AUTH" not in ehlo
    code, msg = c.docmd("AUTH", "PLAIN " + base64.b64encode(
        b"\0alice@example.org\0" + PASSWORD.encode()).decode())
    assert code == 530 and b"5.7.0 Must issue a STARTTLS" in msg
    code, msg = c.docmd("MAIL", "FROM:<alice@example.org>")
    assert code == 530 and b"STARTTLS" in msg
    c.quit()


def test_587_after_tls_offers_auth(sub):
    c = connect587(sub, login=False)
    ehlo = c.ehlo_resp
    assert b"STARTTLS" not in ehlo
    assert b"AUTH PLAIN LOGIN SCRAM-SHA-256" in ehlo
    # python's TLS is 1.3 by default: a tls-exporter exists (RFC 9266)
    assert b"SCRAM-SHA-256-PLUS" in ehlo
    code, msg = c.docmd("MAIL", "FROM:<alice@example.org>")
    assert code == 530 and b"5.7.0 Authentication required" in msg
    c.quit()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_login_and_send_local(sub, mech):
    c = connect587(sub, login=False)
    c.user, c.password = "alice@example.org", PASSWORD
    code, msg = c.auth(mech, getattr(c, "auth_" + mech.lower()),
                       initial_response_ok=(mech == "PLAIN"))
    assert code == 235 and b"2.7.0" in msg
    code, _ = c.docmd("AUTH", "PLAIN")
    assert code == 503
    c.sendmail("alice@example.org", ["bob@example.net"], MSG)
    c.quit()
    m = sub.wait_messages("bob@example.net", 1)[0]
    assert b"with ESMTPSA id " in m
    assert b"(authenticated as alice@example.org)" in m
    assert b"[127.0.0.1]" in m
    assert b"\r\nMessage-ID: <" in m and b"@mx.example.org>\r\n" in m
    assert b"\r\nDate: " in m
    # added before the empty line that ends the header section
    head = m.split(b"\r\n\r\n", 1)[0]
    assert b"Message-ID:" in head and b"\r\nDate:" in head
    assert f"event=login user=<alice@example.org> mech={mech}" in sub.log()


def test_existing_message_id_kept(sub):
    c = connect587(sub)
    c.sendmail("alice@example.org", ["bob@example.net"],
               b"Message-ID: <mine@client>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
               + MSG)
    c.quit()
    m = sub.wait_messages("bob@example.net", 1)[0]
    assert m.count(b"Message-ID:") == 1 and b"<mine@client>" in m
    assert m.count(b"\r\nDate:") == 1


def scram_client(c, user, password):
    """RFC 5802 client side over SMTP AUTH (RFC 4954 with RFC 7677)."""
    nonce = base64.b64encode(os.urandom(18)).decode()
    bare = f"n={user},r={nonce}"
    code, resp = c.docmd("AUTH", "SCRAM-SHA-256 " +
                         base64.b64encode(("n,," + bare).encode()).decode())
    assert code == 334, resp
    server_first = base64.b64decode(resp).decode()
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    ck = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(ck).digest()
    without = f"c={base64.b64encode(b'n,,').decode()},r={attrs['r']}"
    am = f"{bare},{server_first},{without}".encode()
    proof = bytes(a ^ b for a, b in zip(ck, hmac.new(stored, am, "sha256").digest()))
    final = f"{without},p={base64.b64encode(proof).decode()}"
    code, resp = c.docmd(base64.b64encode(final.encode()).decode())
    if code != 334:
        return code, None
    sk = hmac.new(salted, b"Server Key", "sha256").digest()
    want = b"v=" + base64.b64encode(hmac.new(sk, am, "sha256").digest())
    verified = base64.b64decode(resp) == want
    code, resp = c.docmd("")
    return code, verified


def test_scram_sha_256(sub):
    c = connect587(sub, login=False)
    code, verified = scram_client(c, "alice@example.org", PASSWORD)
    assert code == 235 and verified
    c.sendmail("alice@example.org", ["bob@example.net"], MSG)
    c.quit()
    assert len(sub.wait_messages("bob@example.net", 1)) == 1


def test_scram_wrong_password(sub):
    c = connect587(sub, login=False)
    code, _ = scram_client(c, "alice@example.org", "wrong")
    assert code == 535
    c.quit()


def test_465_implicit_tls(sub):
    c = smtplib.SMTP_SSL("127.0.0.1", sub.p465, timeout=20, context=tls_ctx())
    code, ehlo = c.ehlo("client.example")
    assert b"AUTH PLAIN LOGIN" in ehlo and b"STARTTLS" not in ehlo
    c.login("alice@example.org", PASSWORD)
    c.sendmail("alice@example.org", ["bob@example.net"], MSG)
    c.quit()
    assert len(sub.wait_messages("bob@example.net", 1)) == 1


def test_auth_cancel_and_bad_base64(sub):
    c = connect587(sub, login=False)
    code, _ = c.docmd("AUTH", "PLAIN")
    assert code == 334
    code, msg = c.docmd("*")
    assert code == 501 and b"5.0.0" in msg
    code, _ = c.docmd("AUTH", "PLAIN !!!notbase64")
    assert code == 501
    code, _ = c.docmd("AUTH", "CRAM-MD5")
    assert code == 504
    # an empty initial response ("=") is a response: PLAIN fails on it
    code, _ = c.docmd("AUTH", "PLAIN =")
    assert code == 535
    c.quit()


def test_wrong_password_throttled(sub):
    for _ in range(3):
        c = connect587(sub, login=False)
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login("alice@example.org", "wrong-password")
        assert e.value.smtp_code == 535
        c.close()
    # blocked now: even the right password is refused
    c = connect587(sub, login=False)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        c.login("alice@example.org", PASSWORD)
    c.close()
    log = sub.log()
    assert "event=auth-failed service=submission client=127.0.0.1" in log
    assert 'reason="throttled"' in log


def test_sender_must_be_owned(sub):
    c = connect587(sub)
    code, msg = c.docmd("MAIL", "FROM:<bob@example.net>")
    assert code == 553 and b"5.7.1 Sender address rejected: not owned by user" in msg
    code, msg = c.docmd("MAIL", "FROM:<>")
    assert code == 553
    code, msg = c.docmd("MAIL", "FROM:<someone@elsewhere.test>")
    assert code == 553
    # an alias that delivers to alice, a sub-address, and AUTH= (RFC 4954 §5)
    for sender in ("info@example.org", "alice+tag@example.org"):
        code, msg = c.docmd("MAIL", f"FROM:<{sender}> AUTH=<>")
        assert code == 250, msg
        c.rset()
    c.sendmail("info@example.org", ["bob@example.net"], MSG)
    c.quit()
    assert len(sub.wait_messages("bob@example.net", 1)) == 1


def test_sender_check_any(make_server):
    p587 = free_port()
    srv = make_server(extra=f"""[listen]
submission = 127.0.0.1:{p587}
[submission]
sender_check = any
hide_client_ip = yes
""")
    srv.p587 = p587
    c = connect587(srv)
    c.sendmail("someone@elsewhere.test", ["bob@example.net"], MSG)
    c.quit()
    m = srv.wait_messages("bob@example.net", 1)[0]
    assert b"[127.0.0.1]" not in m.split(b"\r\n\r\n")[0]
    assert b"(authenticated as alice@example.org)" in m


def test_remote_recipient_queued(sub):
    c = connect587(sub)
    c.sendmail("alice@example.org", ["carol@remote.test", "bob@example.net"], MSG)
    c.quit()
    assert len(sub.wait_messages("bob@example.net", 1)) == 1
    db = sqlite3.connect(os.path.join(sub.data, "queue", "queue.db"))
    deadline = time.time() + 10
    rows = []
    # handed to outbound delivery (queue/outbound.c): waiting in the queue
    # (status 3), or already tried (remote.test does not resolve here)
    while time.time() < deadline:
        tried = "to=<carol@remote.test> relay=" in sub.log()   # before rows
        rows = db.execute(
            "SELECT r.address, r.status, m.auth_user FROM recipients r "
            "JOIN messages m USING (qid)").fetchall()
        if ("carol@remote.test", 3, "alice@example.org") in rows or tried:
            break
        time.sleep(0.1)
    db.close()
    assert ("carol@remote.test", 3, "alice@example.org") in rows or \
        "to=<carol@remote.test> relay=" in sub.log()
    # the local copy is done (delivered) while the remote one waits
    assert all(r[1] == 1 for r in rows if r[0] == "bob@example.net")


def test_port25_has_no_auth_and_no_relay(sub):
    c = smtplib.SMTP("127.0.0.1", sub.port, timeout=20)
    code, ehlo = c.ehlo("client.example")
    assert b"AUTH" not in ehlo
    code, _ = c.docmd("AUTH", "PLAIN")
    assert code == 503
    c.mail("alice@example.org")
    code, _ = c.rcpt("carol@remote.test")
    assert code == 554
    c.quit()


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
def test_swaks_auth(sub):
    r = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{sub.p587}", "--tls",
         "--auth", "LOGIN", "--auth-user", "alice@example.org",
         "--auth-password", PASSWORD, "--from", "alice@example.org",
         "--to", "bob@example.net", "--header", "Subject: swaks auth",
         "--timeout", "20"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = sub.wait_messages("bob@example.net", 1)[0]
    assert b"Subject: swaks auth" in m and b"ESMTPSA" in m


def test_plaintext_loopback_option(make_server):
    p587 = free_port()
    srv = make_server(extra=f"""[listen]
submission = 127.0.0.1:{p587}
[submission]
plaintext_loopback = yes
""")
    c = smtplib.SMTP("127.0.0.1", p587, timeout=20)
    code, ehlo = c.ehlo("client.example")
    assert b"STARTTLS" in ehlo and b"AUTH PLAIN LOGIN SCRAM-SHA-256" in ehlo
    assert b"SCRAM-SHA-256-PLUS" not in ehlo	# no TLS, no channel binding
    c.login("alice@example.org", PASSWORD)
    c.sendmail("alice@example.org", ["bob@example.net"], MSG)
    c.quit()
    m = srv.wait_messages("bob@example.net", 1)[0]
    assert b"with ESMTPA id " in m
