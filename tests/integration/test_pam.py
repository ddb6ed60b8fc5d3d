"""System users get a mailbox (issue 5 item 2, `[auth] pam`): a real
system user made for the test (useradd, chpasswd) with a PAM service of
its own (/etc/pam.d/mailkeep-test-XXXX: pam_unix), logging in over IMAP
and submission through the daemon's PAM workers, and receiving mail over
SMTP into the account that mailkeep creates at first use.

Needs root (useradd, and the auth process reads /etc/shadow through the
group shadow that main gives it) and a mailkeep built with libpam; skipped
otherwise. The user and the PAM file are removed even when a test fails.
"""
import imaplib
import os
import secrets
import smtplib
import subprocess

import pytest

from conftest import free_port
from imapworld import message, wait_imap
from test_submission import scram_client, tls_ctx

SYS_PASSWORD = "Sys-pass-" + secrets.token_hex(6)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root (useradd, /etc/shadow)")


@pytest.fixture
def sysuser():
    """A fresh system user (uid from useradd: >= 1000) with a password,
    and a PAM service that checks it with pam_unix."""
    name = "mkt" + secrets.token_hex(4)
    service = "mailkeep-test-" + secrets.token_hex(4)
    pam_file = os.path.join("/etc/pam.d", service)
    try:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        subprocess.run(["chpasswd"], input=f"{name}:{SYS_PASSWORD}\n",
                       text=True, check=True, capture_output=True)
        with open(pam_file, "w") as f:
            f.write("auth required pam_unix.so\n"
                    "account required pam_unix.so\n")
        yield {"name": name, "service": service,
               "address": f"{name}@example.org"}
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        if os.path.exists(pam_file):
            os.unlink(pam_file)


def pam_server(make_server, sysuser, users=(), auth_extra="", extra=""):
    """A server with IMAP, submission and [auth] pam for sysuser's service."""
    imap, p587 = free_port(), free_port()
    srv = make_server(users=users, start=False, extra=f"""{extra}
[listen]
imap = 127.0.0.1:{imap}
submission = 127.0.0.1:{p587}

[imap]
plaintext_loopback = yes

[auth]
pam = yes
pam_service = {sysuser['service']}
{auth_extra}
""")
    check = srv.cli("config", "check", check=False)
    if "built without PAM" in check.stdout + check.stderr:
        pytest.skip("mailkeep built without PAM (libpam0g-dev)")
    assert check.returncode == 0, check.stdout + check.stderr
    srv.start()
    srv.imap_port, srv.p587 = imap, p587
    wait_imap(srv)
    return srv


def imap_login(srv, user, password):
    """True if an IMAP LOGIN as user succeeds."""
    M = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=30)
    try:
        M.login(user, password)
    except imaplib.IMAP4.error:
        M.logout()
        return False
    M.logout()
    return True


def created_lines(srv, address):
    return [l for l in srv.log().splitlines()
            if "event=pam-account" in l and f"address=<{address}>" in l
            and "status=created" in l]


def test_login_as_name_and_address(make_server, sysuser):
    srv = pam_server(make_server, sysuser)
    name, addr = sysuser["name"], sysuser["address"]
    M = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=30)
    M.login(name, SYS_PASSWORD)
    typ, boxes = M.list()
    assert typ == "OK"
    names = b"\n".join(boxes)
    for box in (b"INBOX", b"Sent", b"Drafts", b"Trash"):
        assert box in names, names       # the default mailboxes exist
    assert M.select("INBOX")[0] == "OK"
    M.logout()
    assert imap_login(srv, addr, SYS_PASSWORD)
    assert imap_login(srv, addr.upper(), SYS_PASSWORD)
    assert len(created_lines(srv, addr)) == 1        # one account, reused
    assert srv.account_id(addr) > 0
    log = srv.log()
    assert (f"event=auth-ok service=imap client=127.0.0.1 user=<{addr}> "
            "mech=") in log


def test_wrong_password(make_server, sysuser):
    srv = pam_server(make_server, sysuser)
    assert not imap_login(srv, sysuser["name"], "not-the-password")
    assert not imap_login(srv, sysuser["address"], "")
    log = srv.log()
    assert (f"event=auth-failed service=imap client=127.0.0.1 "
            f"user=<{sysuser['address']}>") in log
    assert 'reason="bad password"' in log
    assert not created_lines(srv, sysuser["address"])   # no account for that


def test_throttled_like_any_login(make_server, sysuser):
    srv = pam_server(make_server, sysuser,
                     auth_extra="fail_delay_after = 1\nfail_block_after = 3\n")
    # "name" and "name@domain" count as one account
    for user in (sysuser["name"], sysuser["address"], sysuser["name"]):
        assert not imap_login(srv, user, "wrong-password")
    assert not imap_login(srv, sysuser["name"], SYS_PASSWORD)   # blocked
    log = srv.log()
    assert 'reason="throttled"' in log
    assert (f"event=auth-failed service=imap client=127.0.0.1 "
            f"user=<{sysuser['address']}> mech=") in log


def test_smtp_delivery_creates_account(make_server, sysuser):
    srv = pam_server(make_server, sysuser)
    addr = sysuser["address"]
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("carol@remote.test", [addr], message(to=addr, subject="one"))
        plus = f"{sysuser['name']}+news@example.org"
        s.sendmail("carol@remote.test", [plus], message(to=plus, subject="two"))
    msgs = srv.wait_messages(addr, 2)
    assert len(msgs) == 2
    assert len(created_lines(srv, addr)) == 1
    M = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=30)
    M.login(sysuser["name"], SYS_PASSWORD)
    typ, data = M.select("INBOX")
    assert typ == "OK" and data[0] == b"2"
    M.logout()


def test_aliases_file_target(make_server, sysuser, server_root):
    """The seeds' /etc/aliases: an alias naming a system user (as in
    "root: colin") reaches that user's mailbox."""
    path = os.path.join(server_root, "aliases")
    with open(path, "w") as f:
        f.write(f"sysadmin: {sysuser['name']}\n")
    os.chmod(path, 0o644)
    srv = pam_server(make_server, sysuser,
                     extra=f"[delivery]\naliases_file = {path}\n")
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("carol@remote.test", ["sysadmin@example.org"],
                   message(to="sysadmin@example.org"))
    assert len(srv.wait_messages(sysuser["address"], 1)) == 1
    assert len(created_lines(srv, sysuser["address"])) == 1


def test_outside_uid_range_refused(make_server, sysuser):
    srv = pam_server(make_server, sysuser)
    # daemon (uid 1) is below pam_min_uid; so is root
    assert not imap_login(srv, "daemon", "whatever")
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.ehlo("client.example")
        s.mail("carol@remote.test")
        for user in ("daemon", "root", "nosuchuser" + secrets.token_hex(3)):
            code, msg = s.rcpt(f"{user}@example.org")
            assert code == 550 and b"5.1.1" in msg, (user, code, msg)
        code, _ = s.rcpt(sysuser["address"])
        assert code == 250
    assert not created_lines(srv, "daemon@example.org")
    assert any("event=auth-failed" in l and "user=<daemon>" in l and
               'reason="unknown user"' in l for l in srv.log().splitlines())


def test_locked_user_gets_no_mail(make_server, sysuser):
    srv = pam_server(make_server, sysuser)
    subprocess.run(["usermod", "-L", sysuser["name"]], check=True,
                   capture_output=True)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.ehlo("client.example")
        s.mail("carol@remote.test")
        code, _ = s.rcpt(sysuser["address"])
        assert code == 550
    assert not imap_login(srv, sysuser["name"], SYS_PASSWORD)


def test_own_password_wins(make_server, sysuser):
    addr = sysuser["address"]
    srv = pam_server(make_server, sysuser)
    srv.add_user(addr, "own-password-1")
    assert imap_login(srv, addr, "own-password-1")
    assert imap_login(srv, sysuser["name"], "own-password-1")
    assert not imap_login(srv, addr, SYS_PASSWORD)
    assert not created_lines(srv, addr)


def test_submission_auth_plain(make_server, sysuser):
    srv = pam_server(make_server, sysuser, users=("bob@example.net",))
    addr = sysuser["address"]
    c = smtplib.SMTP("127.0.0.1", srv.p587, timeout=30)
    c.ehlo("client.example")
    c.starttls(context=tls_ctx())
    c.ehlo("client.example")
    c.login(sysuser["name"], SYS_PASSWORD)      # smtplib picks PLAIN
    msg = (f"From: {addr}\r\nTo: bob@example.net\r\nSubject: pam\r\n\r\n"
           "from a system user\r\n").encode()
    c.sendmail(addr, ["bob@example.net"], msg)
    c.quit()
    assert len(srv.wait_messages("bob@example.net", 1)) == 1
    assert (f"event=auth-ok service=submission client=127.0.0.1 "
            f"user=<{addr}> mech=PLAIN") in srv.log()


def test_scram_fails_cleanly(make_server, sysuser):
    srv = pam_server(make_server, sysuser)
    c = smtplib.SMTP("127.0.0.1", srv.p587, timeout=30)
    c.ehlo("client.example")
    c.starttls(context=tls_ctx())
    c.ehlo("client.example")
    code, _ = scram_client(c, sysuser["name"], SYS_PASSWORD)
    assert code == 535
    c.close()
    assert 'reason="no SCRAM for PAM users"' in srv.log()
