"""POP3 server (issue 3 §6-7): RFC 1939, RFC 2449 CAPA and response codes,
RFC 2595 STLS, RFC 5034 AUTH, RFC 8314 port 995 — with Python's poplib,
raw sockets and curl against the real daemon.

Mail gets into INBOX through SMTP; a test waits until the queue has logged
that it is done with the message, so the index has it."""
import base64
import os
import socket
import ssl
import subprocess
import time
import uuid
import poplib
import smtplib

import pytest

from conftest import free_port

USER = "alice@example.org"
PASSWORD = "secret-pass-1"
SENDER = "sender@remote.test"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE		# the test certificate is self-signed
    return ctx


def wait_greeting(port, use_tls=False, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                if use_tls:
                    s = tls_context().wrap_socket(s)
                s.settimeout(5)
                if s.recv(512).startswith(b"+OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no POP3 greeting on port {port}")


def pop3_server(make_server, plaintext=True, extra=""):
    p110, p995 = free_port(), free_port()
    conf = f"[listen]\npop3 = 127.0.0.1:{p110}\npop3s = 127.0.0.1:{p995}\n"
    if plaintext:
        conf += "[imap]\nplaintext_loopback = yes\n"
    srv = make_server(extra=conf + extra)
    srv.pop3_port, srv.pop3s_port = p110, p995
    wait_greeting(p110)
    return srv


@pytest.fixture
def srv(make_server):
    return pop3_server(make_server)


def wait_log(srv, needle, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if needle in srv.log():
            return True
        time.sleep(0.05)
    return False


def deliver(srv, body=None, subject=None, to=USER):
    """Send one message by SMTP and wait until it is in the store; returns
    the tag (its Subject)."""
    tag = subject or uuid.uuid4().hex
    if body is None:
        body = f"body of {tag}\r\n"
    msg = (f"From: {SENDER}\r\nTo: {to}\r\nSubject: {tag}\r\n"
           f"Message-ID: <{tag}@remote.test>\r\n\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.remote.test",
                      timeout=30) as s:
        s.ehlo()
        assert s.mail(SENDER)[0] == 250
        assert s.rcpt(to)[0] == 250
        code, text = s.data(msg)
        assert code == 250, text
    qid = text.decode().split()[-1]
    assert wait_log(srv, f"queue={qid} event=removed"), srv.log()[-3000:]
    return tag


def connect(srv, timeout=30):
    return poplib.POP3("127.0.0.1", srv.pop3_port, timeout=timeout)


def login(srv, user=USER, password=PASSWORD):
    p = connect(srv)
    p.user(user)
    resp = p.pass_(password)
    assert resp.startswith(b"+OK"), resp
    return p


def login_retry(srv, timeout=10):
    """Log in, waiting while an earlier session of ours is still being torn
    down by the server (it holds the maildrop lock until then)."""
    deadline = time.time() + timeout
    while True:
        try:
            return login(srv)
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0] or time.time() > deadline:
                raise
            time.sleep(0.05)


def err(fn, *args):
    """Run a poplib call that must get -ERR; returns the response."""
    with pytest.raises(poplib.error_proto) as e:
        fn(*args)
    resp = e.value.args[0]
    assert resp.startswith(b"-ERR"), resp
    return resp


def stored_files(srv):
    return srv.maildir_files(USER)


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# --- login ---

def test_user_pass_stat_list(srv):
    deliver(srv)
    deliver(srv)
    sizes = sorted(len(file_bytes(f)) for f in stored_files(srv))
    p = login(srv)
    count, total = p.stat()
    assert (count, total) == (2, sum(sizes))
    resp, lines, _ = p.list()
    assert resp.startswith(b"+OK 2 messages")
    listed = [tuple(map(int, line.split())) for line in lines]
    assert [n for n, _ in listed] == [1, 2]
    assert sorted(s for _, s in listed) == sizes
    assert p.list(2) == b"+OK 2 %d" % listed[1][1]
    assert p.noop().startswith(b"+OK")
    assert p.quit().startswith(b"+OK")


def test_bad_password_gets_auth_code(srv):
    p = connect(srv)
    p.user(USER)
    resp = err(p.pass_, "wrong password")
    assert resp.startswith(b"-ERR [AUTH]")
    # still usable: the right password works now (the same connection)
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


def test_unknown_user_same_answer(srv):
    p = connect(srv)
    assert p.user("nobody@example.org").startswith(b"+OK")
    assert err(p.pass_, "x").startswith(b"-ERR [AUTH] authentication failed")
    p.quit()


def test_pass_without_user(srv):
    p = connect(srv)
    err(p.pass_, PASSWORD)
    p.quit()


def test_auth_plain_initial_response(srv):
    deliver(srv)
    p = connect(srv)
    ir = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    assert p._shortcmd("AUTH PLAIN " + ir).startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()


def test_auth_plain_with_challenge_and_cancel(srv):
    p = connect(srv)
    # RFC 5034: without an initial response the server sends "+ " first
    assert p._shortcmd("AUTH PLAIN").startswith(b"+")
    resp = err(p._shortcmd, "*")
    assert b"cancel" in resp
    assert p._shortcmd("AUTH PLAIN").startswith(b"+")
    ir = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    assert p._shortcmd(ir).startswith(b"+OK")
    p.quit()


def test_auth_errors(srv):
    p = connect(srv)
    # "=" is an empty initial response: PLAIN fails on it
    assert err(p._shortcmd, "AUTH PLAIN =").startswith(b"-ERR [AUTH]")
    err(p._shortcmd, "AUTH PLAIN not*base64")
    err(p._shortcmd, "AUTH CRAM-MD5")
    assert p._shortcmd("AUTH PLAIN").startswith(b"+")
    err(p._shortcmd, "!!!")			# not base64: the exchange fails
    # AUTH with no mechanism lists them
    resp, mechs, _ = p._longcmd("AUTH")
    assert b"PLAIN" in mechs and b"LOGIN" in mechs
    assert b"SCRAM-SHA-256-PLUS" not in mechs	# no TLS, nothing to bind to
    p.quit()


def test_auth_login_mechanism(srv):
    p = connect(srv)
    r = p._shortcmd("AUTH LOGIN")
    assert r.startswith(b"+ ")
    r = p._shortcmd(base64.b64encode(USER.encode()).decode())
    assert r.startswith(b"+ ")
    assert p._shortcmd(base64.b64encode(PASSWORD.encode()).decode()).startswith(b"+OK")
    p.quit()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def test_auth_scram_sha_256(srv):
    """RFC 5802 / RFC 7677 through POP3 AUTH (RFC 5034), the client side
    written out here; the server's signature is checked too."""
    import hashlib
    import hmac
    p = connect(srv)
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={USER},r={cnonce}"
    r = p._shortcmd("AUTH SCRAM-SHA-256 " + b64("n,," + first_bare))
    assert r.startswith(b"+ "), r
    server_first = base64.b64decode(r[2:]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(cnonce)
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={attrs['r']}"
    auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
    sig = hmac.new(stored_key, auth_msg, "sha256").digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, sig))).decode()
    r = p._shortcmd(b64(f"{final_bare},p={proof}"))
    assert r.startswith(b"+ "), r
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    want = base64.b64encode(hmac.new(server_key, auth_msg, "sha256").digest())
    assert base64.b64decode(r[2:]) == b"v=" + want
    assert p._shortcmd("").startswith(b"+OK")	# empty final response
    assert p.stat() == (0, 0)
    p.quit()


def test_capa(srv):
    p = connect(srv)
    caps = p.capa()
    for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
              "USER", "SASL", "STLS", "IMPLEMENTATION"):
        assert c in caps, c
    assert caps["IMPLEMENTATION"] == ["mailkeep"]
    assert "PLAIN" in caps["SASL"]
    p.user(USER)
    p.pass_(PASSWORD)
    caps = p.capa()
    assert "TOP" in caps and "UIDL" in caps
    for c in ("USER", "SASL", "STLS"):
        assert c not in caps, c
    p.quit()


# --- TLS ---

def test_plaintext_login_refused_without_tls(make_server):
    srv = pop3_server(make_server, plaintext=False)
    p = connect(srv)
    caps = p.capa()
    assert "USER" not in caps and "SASL" not in caps
    assert "STLS" in caps
    assert b"STLS" in err(p.user, USER)
    assert b"STLS" in err(p._shortcmd, "AUTH PLAIN =")
    # RFC 2595: after STLS the same session may log in
    assert p.stls(tls_context()).startswith(b"+OK")
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps
    assert "SCRAM-SHA-256-PLUS" in caps["SASL"]
    err(p._shortcmd, "STLS")			# once only
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


def test_stls_discards_pipelined_plaintext(make_server):
    srv = pop3_server(make_server, plaintext=False)
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        # an injected command behind STLS must never run (RFC 2595 §3.1)
        s.sendall(b"STLS\r\nUSER injected\r\n")
        assert f.readline().startswith(b"+OK")
        t = tls_context().wrap_socket(s)
        t.sendall(b"NOOP\r\n")
        reply = t.recv(512)
        # NOOP before login is not allowed: -ERR, but not the answer to USER
        assert reply.startswith(b"-ERR") and b"NOOP" in reply, reply
        t.sendall(b"PASS " + PASSWORD.encode() + b"\r\n")
        assert t.recv(512).startswith(b"-ERR USER first")


def test_pop3s_implicit_tls(srv):
    deliver(srv)
    wait_greeting(srv.pop3s_port, use_tls=True)
    p = poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, context=tls_context(),
                        timeout=30)
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.stat()[0] == 1
    assert p.retr(1)[0].startswith(b"+OK")
    p.quit()


# --- messages ---

DOTS_BODY = ("first line\r\n.\r\n..two dots\r\n.leading dot\r\n"
             "middle . dot\r\n.\r\nlast line\r\n")


def test_retr_content_and_dot_stuffing(srv):
    deliver(srv, body=DOTS_BODY)
    stored = file_bytes(stored_files(srv)[0])
    p = login(srv)
    resp, lines, _ = p.retr(1)
    assert resp == b"+OK %d octets" % len(stored)
    assert b"\r\n".join(lines) + b"\r\n" == stored
    assert stored.endswith(DOTS_BODY.encode())
    p.quit()


def test_retr_raw_wire_format(srv):
    deliver(srv, body=DOTS_BODY)
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(f"USER {USER}\r\nPASS {PASSWORD}\r\nRETR 1\r\n".encode())
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK")
        raw = b""
        while not raw.endswith(b"\r\n.\r\n"):
            raw += f.readline()
    assert b"\r\n..\r\n...two dots\r\n..leading dot\r\nmiddle . dot\r\n..\r\nlast line\r\n.\r\n" in raw


def test_top(srv):
    deliver(srv, body="l1\r\nl2\r\n.l3\r\nl4\r\n")
    stored = file_bytes(stored_files(srv)[0])
    header = stored.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    p = login(srv)
    resp, lines, _ = p.top(1, 0)
    assert lines == header + [b""]
    resp, lines, _ = p.top(1, 3)
    assert lines == header + [b"", b"l1", b"l2", b".l3"]
    resp, lines, _ = p.top(1, 100)
    assert lines == header + [b"", b"l1", b"l2", b".l3", b"l4"]
    err(p.top, 2, 1)
    p.quit()


def test_bare_lf_file_sent_with_crlf(srv):
    """A message file with LF line ends (say, copied in from another
    server's Maildir) goes out with CRLF and still byte-stuffed."""
    deliver(srv)			# the account's store exists now
    new = os.path.join(os.path.dirname(stored_files(srv)[0]), "..", "new")
    path = os.path.join(new, "1700000000.M1P1.imported")
    with open(path, "wb") as f:
        f.write(b"From: a@example.com\nSubject: lf\n\n.dot line\nbody\nlast")
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode())
        f.readline()
        assert f.readline().startswith(b"+OK"), "login"
        s.sendall(b"STAT\r\n")
        assert f.readline().startswith(b"+OK 2 ")
        s.sendall(b"RETR 2\r\n")
        assert f.readline().startswith(b"+OK")
        raw = b""
        while not raw.endswith(b"\r\n.\r\n"):
            line = f.readline()
            assert line
            raw += line
    assert raw == (b"From: a@example.com\r\nSubject: lf\r\n\r\n..dot line\r\n"
                   b"body\r\nlast\r\n.\r\n")


def test_login_timeout(make_server):
    srv = pop3_server(make_server, extra="login_timeout = 5s\n")
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 20) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        start = time.time()
        assert f.readline() == b""		# closed by the server
        assert 4 <= time.time() - start < 15


def test_large_message_streamed(srv):
    line = "x" * 70 + "\r\n"
    body = line * 40000 + ".\r\n" + line * 10		# ~2.9 MB
    deliver(srv, body=body)
    stored = file_bytes(stored_files(srv)[0])
    p = login(srv)
    resp, lines, _ = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == stored
    p.quit()


def test_uidl_stable_across_sessions(srv):
    for _ in range(3):
        deliver(srv)
    p = login(srv)
    _, first, _ = p.uidl()
    one = p.uidl(1)
    p.quit()
    assert len(first) == 3
    uids = [line.split()[1] for line in first]
    assert len(set(uids)) == 3
    assert one == b"+OK " + first[0]
    for u in uids:
        assert 1 <= len(u) <= 70 and all(0x21 <= c <= 0x7e for c in u)
    p = login_retry(srv)
    assert p.uidl()[1] == first
    # deleting one keeps the others' ids
    p.dele(1)
    p.quit()
    p = login_retry(srv)
    assert [line.split()[1] for line in p.uidl()[1]] == uids[1:]
    p.quit()


def test_dele_and_rset(srv):
    deliver(srv)
    deliver(srv)
    p = login(srv)
    count, total = p.stat()
    size1 = int(p.list(1).split()[2])
    assert p.dele(1).startswith(b"+OK")
    assert p.stat() == (1, total - size1)
    assert b"deleted" in err(p.dele, 1)
    err(p.retr, 1)
    err(p.list, 1)
    err(p.top, 1, 0)
    err(p.uidl, 1)
    resp, lines, _ = p.list()
    assert [line.split()[0] for line in lines] == [b"2"]
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (2, total)
    assert p.retr(1)[0].startswith(b"+OK")
    p.quit()
    assert len(stored_files(srv)) == 2


def test_dele_quit_deletes(srv):
    tags = [deliver(srv) for _ in range(3)]
    p = login(srv)
    p.dele(2)
    resp = p.quit()
    assert resp.startswith(b"+OK") and b"1 messages deleted" in resp
    files = stored_files(srv)
    assert len(files) == 2
    assert not any(tags[1].encode() in file_bytes(f) for f in files)
    p = login_retry(srv)
    assert p.stat()[0] == 2
    subjects = [b"\r\n".join(p.top(n, 0)[1]) for n in (1, 2)]
    assert tags[0].encode() in subjects[0] and tags[2].encode() in subjects[1]
    p.quit()


def test_dropped_connection_deletes_nothing(srv):
    deliver(srv)
    deliver(srv)
    p = login(srv)
    p.dele(1)
    p.dele(2)
    p.sock.shutdown(socket.SHUT_RDWR)	# no QUIT: no UPDATE state
    p.close()
    p = login_retry(srv)
    assert p.stat()[0] == 2
    p.quit()
    assert len(stored_files(srv)) == 2


def test_second_session_in_use(srv):
    deliver(srv)
    a = login(srv)
    b = connect(srv)
    b.user(USER)
    resp = err(b.pass_, PASSWORD)
    assert resp.startswith(b"-ERR [IN-USE]")
    # the refused session may try again once the first one is gone
    a.quit()
    deadline = time.time() + 10
    while True:
        b.user(USER)
        try:
            assert b.pass_(PASSWORD).startswith(b"+OK")
            break
        except poplib.error_proto as e:
            assert b"[IN-USE]" in e.args[0] and time.time() < deadline
            time.sleep(0.05)
    assert b.stat()[0] == 1
    b.quit()


def test_imap_session_alongside(make_server):
    """The POP3 lock does not keep IMAP out; a message IMAP expunges while
    POP3 has it listed is reported as gone, and deleting it at QUIT is
    not an error."""
    import imaplib
    p143 = free_port()
    srv = pop3_server(make_server, extra=f"[listen]\nimap = 127.0.0.1:{p143}\n")
    deliver(srv)
    deliver(srv)
    p = login(srv)
    assert p.stat()[0] == 2
    i = imaplib.IMAP4("127.0.0.1", p143, timeout=30)
    i.login(USER, PASSWORD)
    i.select("INBOX")
    i.store("1", "+FLAGS", "\\Deleted")
    i.expunge()
    assert b"removed" in err(p.retr, 1)
    assert p.retr(2)[0].startswith(b"+OK")
    p.dele(1)
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    assert i.noop()[0] == "OK"
    assert i.select("INBOX")[1] == [b"0"]
    i.logout()
    assert stored_files(srv) == []


def test_new_mail_waits_for_next_session(srv):
    deliver(srv)
    p = login(srv)
    deliver(srv)
    assert p.stat()[0] == 1			# RFC 1939: a snapshot
    assert p.list()[1] and len(p.list()[1]) == 1
    err(p.retr, 2)
    p.quit()
    p = login_retry(srv)
    assert p.stat()[0] == 2
    p.quit()


def test_pipelining(srv):
    deliver(srv)
    deliver(srv)
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(f"CAPA\r\nUSER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\n"
                  f"RETR 1\r\nTOP 2 0\r\nUIDL 2\r\nDELE 1\r\nSTAT\r\nRSET\r\n"
                  f"QUIT\r\n".encode())

        def multi():
            out = []
            while True:
                line = f.readline()
                assert line
                if line == b".\r\n":
                    return out
                out.append(line)

        assert f.readline().startswith(b"+OK")	# CAPA
        multi()
        for _ in range(2):			# USER, PASS
            assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK 2 ")	# STAT
        assert f.readline().startswith(b"+OK")	# LIST
        assert len(multi()) == 2
        assert f.readline().startswith(b"+OK")	# RETR
        multi()
        assert f.readline().startswith(b"+OK")	# TOP
        multi()
        assert f.readline().startswith(b"+OK 2 ")	# UIDL 2
        assert f.readline().startswith(b"+OK")	# DELE
        assert f.readline().startswith(b"+OK 1 ")	# STAT
        assert f.readline().startswith(b"+OK")	# RSET
        assert f.readline().startswith(b"+OK")	# QUIT
        assert f.readline() == b""		# closed
    assert len(stored_files(srv)) == 2


# --- hostile and malformed input ---

MALFORMED_AUTHZ = [
    "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "APOP a b", "FOO", "",
    "USER", "USER a b", "CAPA x",
]

MALFORMED_TRANS = [
    "LIST x", "LIST 0", "RETR", "RETR 1 2", "TOP 1", "TOP 1 x",
    "DELE 0", "UIDL -1", "USER x",
]

SEMANTIC_TRANS = [
    "LIST 99", "RETR 4294967295", "DELE 3", "TOP 3 1", "UIDL 3",
    "RETR 1",		# deleted below before this runs
]


def test_malformed_commands_answered(srv):
    deliver(srv)
    deliver(srv)
    # at most 9 per session: the 10th bad command closes it
    for part in (MALFORMED_AUTHZ[:6], MALFORMED_AUTHZ[6:]):
        p = connect(srv)
        for cmd in part:
            err(p._shortcmd, cmd)
        assert b"line too long" in err(p._shortcmd, "NOOP " + "x" * 300)
        assert p.capa()
        p.quit()
    p = login_retry(srv)
    for cmd in MALFORMED_TRANS:
        err(p._shortcmd, cmd)
    p.dele(1)
    for cmd in SEMANTIC_TRANS:
        err(p._shortcmd, cmd)
    # still usable after all of it
    assert p.stat()[0] == 1
    assert p.noop().startswith(b"+OK")
    assert p.retr(2)[0].startswith(b"+OK")
    p.quit()


def test_too_many_bad_commands_close(srv):
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        f.readline()
        for i in range(10):
            s.sendall(b"BOGUS\r\n")
            assert f.readline().startswith(b"-ERR")
        assert f.readline() == b""		# closed after the 10th


def test_huge_line_without_end(srv):
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"A" * 1000000 + b"\r\nNOOP\r\n")
        assert b"too long" in f.readline()
        assert f.readline().startswith(b"-ERR")	# NOOP before login


def test_nul_and_control_bytes(srv):
    with socket.create_connection(("127.0.0.1", srv.pop3_port), 10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"US\x00ER x\r\nUSER a\x01b\r\nCAPA\r\n")
        assert f.readline().startswith(b"-ERR")
        assert f.readline().startswith(b"-ERR")
        assert f.readline().startswith(b"+OK")


def test_shutdown_tells_clients(srv):
    p = login(srv)
    srv.stop()
    line = p.file.readline()
    assert line.startswith(b"-ERR [SYS/TEMP]"), line


# --- other clients ---

def test_curl_list_and_retrieve(srv):
    deliver(srv, body=DOTS_BODY)
    url = f"pop3://127.0.0.1:{srv.pop3_port}/"
    auth = f"{USER}:{PASSWORD}"
    out = subprocess.run(["curl", "-s", "--user", auth, url], capture_output=True,
                         timeout=30)
    assert out.returncode == 0, out
    size = len(file_bytes(stored_files(srv)[0]))
    assert out.stdout.split(b"\r\n")[0] == b"1 %d" % size
    out = subprocess.run(["curl", "-s", "--user", auth, url + "1"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out
    assert out.stdout == file_bytes(stored_files(srv)[0])


def test_curl_pop3s(srv):
    deliver(srv)
    url = f"pop3s://127.0.0.1:{srv.pop3s_port}/1"
    out = subprocess.run(["curl", "-s", "-k", "--user", f"{USER}:{PASSWORD}", url],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out
    assert out.stdout == file_bytes(stored_files(srv)[0])
