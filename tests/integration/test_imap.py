"""IMAP server (issue 3): Python's imaplib and raw sockets against the real
daemon. Mail arrives through SMTP, as in production."""
import imaplib
import os
import re
import socket
import ssl
import threading
import time
import zlib

import pytest

from imapworld import (PASSWORD, USER, Raw, connect, connect_ssl, deliver,
                       imap_server, login, message)


def ok(res):
    typ, data = res
    assert typ == "OK", (typ, data)
    return data


# --- greeting, capabilities, login ---

def test_greeting_and_capabilities(imap_server):
    srv = imap_server()
    M = connect(srv)
    caps = M.capabilities
    assert "IMAP4REV1" in caps and "IMAP4REV2" in caps
    assert "STARTTLS" in caps and "AUTH=PLAIN" in caps
    assert "LOGINDISABLED" not in caps      # plaintext_loopback = yes
    M.login(USER, PASSWORD)
    typ, data = M.capability()
    after = data[0].decode().split()
    for c in ("IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "SPECIAL-USE",
              "NAMESPACE", "UNSELECT", "LIST-EXTENDED", "ESEARCH", "SEARCHRES",
              "COMPRESS=DEFLATE", "ENABLE", "LITERAL+", "ID", "STATUS=SIZE"):
        assert c in after, c
    assert any(c.startswith("APPENDLIMIT=") for c in after)
    M.logout()


def test_logindisabled_until_starttls(imap_server):
    srv = imap_server(plaintext_loopback=False)
    M = connect(srv)
    assert "LOGINDISABLED" in M.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        M.login(USER, PASSWORD)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    M.starttls(ssl_context=ctx)
    assert "LOGINDISABLED" not in M.capabilities
    M.login(USER, PASSWORD)
    ok(M.select("INBOX"))
    M.logout()


def test_starttls_discards_pipelined_commands(imap_server):
    srv = imap_server(plaintext_loopback=False)
    r = Raw(srv)
    r.send("a STARTTLS\r\nb LOGIN alice@example.org secret-pass-1\r\n")
    line = r.readline()
    assert line.startswith(b"a OK")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(r.sock)
    t.sendall(b"c NOOP\r\n")
    data = t.recv(4096)
    assert data.startswith(b"c OK"), data      # nothing answered for "b"
    t.close()


def test_imaps_and_bad_password(imap_server):
    srv = imap_server(plaintext_loopback=False)
    M = connect_ssl(srv)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        M.login(USER, "wrong")
    M.login(USER, PASSWORD)
    M.logout()
    assert "event=auth-failed" in srv.log() or "login-failed" in srv.log()


def test_authenticate_plain_with_and_without_initial_response(imap_server):
    srv = imap_server()
    import base64
    cred = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
    r = Raw(srv)
    tagged, _ = r.cmd("AUTHENTICATE PLAIN " + cred.decode())
    assert tagged.startswith(b"t1 OK"), tagged
    r.close()
    r = Raw(srv)
    r.send("x AUTHENTICATE PLAIN\r\n")
    assert r.readline().startswith(b"+")
    r.send(cred + b"\r\n")
    tagged, _ = r.until("x")
    assert tagged.startswith(b"x OK"), tagged
    r.close()
    r = Raw(srv)
    r.send("y AUTHENTICATE PLAIN\r\n")
    assert r.readline().startswith(b"+")
    r.send(b"*\r\n")
    tagged, _ = r.until("y")
    assert tagged.startswith(b"y BAD")
    r.close()


def test_login_limit_per_user(imap_server):
    srv = imap_server(extra_imap="max_connections_per_user = 2\n")
    a, b = login(srv), login(srv)
    with pytest.raises(imaplib.IMAP4.error, match="LIMIT"):
        login(srv)
    a.logout()
    c = login(srv)
    c.logout()
    b.logout()


# --- reading mail ---

def test_select_fetch_delivered_message(imap_server):
    srv = imap_server()
    data = deliver(srv, subject="Hello there", body="line one\r\nline two\r\n")
    M = login(srv)
    d = ok(M.select("INBOX"))
    assert d == [b"1"]
    typ, resp = M.fetch("1", "(FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE)")
    text = resp[0].decode()
    assert "FLAGS ()" in text and "UID 1" in text
    assert '"Hello there"' in text
    size = int(re.search(r"RFC822.SIZE (\d+)", text).group(1))
    typ, resp = M.fetch("1", "(BODY.PEEK[])")
    body = resp[0][1]
    assert len(body) == size
    assert body.endswith(data)
    typ, resp = M.fetch("1", "(BODY[HEADER.FIELDS (Subject)])")
    assert resp[0][1] == b"Subject: Hello there\r\n\r\n"
    typ, resp = M.fetch("1", "(BODY[TEXT]<0.8>)")
    assert resp[0][1] == b"line one"
    assert "BODY[TEXT]<0>" in resp[0][0].decode()
    typ, resp = M.fetch("1", "(FLAGS)")
    assert "\\Seen" in resp[0].decode()       # BODY[...] set \Seen
    typ, resp = M.fetch("1", "(BODYSTRUCTURE)")
    assert '("text" "plain"' in resp[0].decode().lower()
    M.logout()


def test_fetch_bad_input(imap_server):
    srv = imap_server()
    deliver(srv)
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    r.cmd("SELECT INBOX")
    for bad in ("FETCH 5 FLAGS", "FETCH 0 FLAGS", "FETCH 1:x FLAGS",
                "FETCH 1 (NOSUCHITEM)", "FETCH 1", "FETCH 1 BODY[1.HEADER.X]"):
        tagged, _ = r.cmd(bad)
        assert b" BAD " in tagged, (bad, tagged)
    tagged, _ = r.cmd("NOOP")
    assert b"OK" in tagged
    r.close()


def test_store_flags_and_keywords(imap_server):
    srv = imap_server()
    deliver(srv)
    deliver(srv)
    M = login(srv)
    M.select("INBOX")
    typ, resp = M.store("1", "+FLAGS", "(\\Flagged $Important)")
    assert "\\Flagged" in resp[0].decode() and "$Important" in resp[0].decode()
    typ, resp = M.store("1:2", "FLAGS.SILENT", "(\\Seen)")
    assert resp == [None]
    typ, resp = M.fetch("1:2", "(FLAGS)")
    assert "(\\Seen)" in resp[0].decode() and "(\\Seen)" in resp[1].decode()
    typ, resp = M.store("2", "-FLAGS", "(\\Seen)")
    assert "FLAGS ()" in resp[0].decode()
    typ, data = M.select("INBOX")
    assert "$Important" in " ".join(x.decode() for x in M.untagged_responses.get("FLAGS", [b""]))
    with pytest.raises(imaplib.IMAP4.error):
        M.store("1", "+FLAGS", "(\\Recent)")
    M.logout()


def test_file_names_follow_flags(imap_server):
    """STORE changes the index at once; the Maildir names (":2,FS", moved
    to cur/) follow in idle time, and the mail stays readable meanwhile."""
    srv = imap_server()
    for _ in range(3):
        deliver(srv)
    M = login(srv)
    M.select("INBOX")
    ok(M.store("1:2", "+FLAGS.SILENT", "(\\Seen \\Flagged)"))
    typ, resp = M.fetch("1", "(BODY.PEEK[])")   # whatever the file's name now
    assert b"hello world" in resp[0][1]
    names = []
    deadline = time.time() + 10
    while time.time() < deadline:
        names = [os.path.basename(p) for p in srv.maildir_files(USER)]
        if sum(n.endswith(":2,FS") for n in names) == 2:
            break
        time.sleep(0.05)
    assert sum(n.endswith(":2,FS") for n in names) == 2, names
    cur = [p for p in srv.maildir_files(USER) if "/cur/" in p]
    assert len(cur) == 2, cur
    ok(M.store("2", "-FLAGS.SILENT", "(\\Flagged)"))
    M.logout()      # the last session: the handle stays open, renames still run
    deadline = time.time() + 10
    while time.time() < deadline:
        names = [os.path.basename(p) for p in srv.maildir_files(USER)]
        if sum(n.endswith(":2,S") for n in names) == 1:
            break
        time.sleep(0.05)
    assert sorted(n.rsplit(":", 1)[-1] if ":" in n else "" for n in names) == \
        ["", "2,FS", "2,S"], names


def test_search(imap_server):
    srv = imap_server()
    deliver(srv, subject="apples", body="Ich möchte Äpfel\r\n")
    deliver(srv, subject="pears", body="nothing to see\r\n", sender="dave@remote.test")
    deliver(srv, subject="=?utf-8?q?caf=C3=A9?=", body="x\r\n")
    M = login(srv)
    M.select("INBOX")
    assert ok(M.search(None, "ALL")) == [b"1 2 3"]
    assert ok(M.search(None, "SUBJECT", "pears")) == [b"2"]
    assert ok(M.search(None, "FROM", "dave")) == [b"2"]
    assert ok(M.search(None, "BODY", "nothing")) == [b"2"]
    assert ok(M.search(None, "TEXT", "apples")) == [b"1"]
    assert ok(M.search("UTF-8", "SUBJECT", '"caf\xc3\xa9"'.encode("latin-1"))) == [b"3"]
    assert ok(M.search(None, "NOT", "SUBJECT", "pears")) == [b"1 3"]
    assert ok(M.search(None, "OR", "SUBJECT", "pears", "SUBJECT", "apples")) == [b"1 2"]
    assert ok(M.search(None, "LARGER", "1")) == [b"1 2 3"]
    assert ok(M.search(None, "UNSEEN")) == [b"1 2 3"]
    M.store("2", "+FLAGS", "\\Seen")
    assert ok(M.search(None, "SEEN")) == [b"2"]
    assert ok(M.uid("SEARCH", "SUBJECT", "apples")) == [b"1"]
    assert ok(M.search(None, "SENTON", "2-Nov-2026")) == [b"1 2 3"]
    typ, data = M.search("KOI8-R", "SUBJECT", "x")
    M.logout()


def test_esearch_and_searchres(imap_server):
    srv = imap_server()
    for i in range(4):
        deliver(srv, subject=f"n{i}")
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    r.cmd("SELECT INBOX")
    tagged, lines = r.cmd("SEARCH RETURN (MIN MAX COUNT ALL) ALL")
    assert b'* ESEARCH (TAG "t3") MIN 1 MAX 4 COUNT 4 ALL 1:4' in lines[0]
    tagged, lines = r.cmd("UID SEARCH RETURN (SAVE) SUBJECT n2")
    assert tagged.startswith(b"t4 OK") and lines == []
    tagged, lines = r.cmd("FETCH $ (UID)")
    assert b"* 3 FETCH (UID 3)" in lines[0]
    tagged, lines = r.cmd("SEARCH CHARSET KOI8-R ALL")
    assert b"BADCHARSET" in tagged
    r.close()


# --- mailboxes ---

def test_mailbox_management(imap_server):
    srv = imap_server()
    M = login(srv)
    typ, data = M.list()
    names = b"\n".join(data).decode()
    for box, use in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"),
                     ("Junk", "\\Junk"), ("Trash", "\\Trash"),
                     ("Archive", "\\Archive")):
        assert re.search(r'\(.*%s.*\) "\." "?%s"?' % (re.escape(use), box), names), names
    ok(M.create("Projects.2026"))
    typ, data = M.list('""', "Projects*")
    text = b"\n".join(data).decode()
    assert "HasChildren" in text and "Projects.2026" in text
    typ, data = M.create("Projects")
    assert typ == "NO" and b"ALREADYEXISTS" in b"".join(data)
    ok(M.rename("Projects", "Work"))
    typ, data = M.list('""', "%")
    top = b"\n".join(data).decode()
    assert '"Work"' in top or " Work" in top
    assert "Projects" not in top
    typ, data = M.list('""', "Work.%")
    assert "Work.2026" in b"".join(data).decode()
    # RFC 3501 §6.3.4: a mailbox with inferiors goes, its name stays as a
    # \Noselect level of their hierarchy until created again
    ok(M.select("Work"))
    ok(M.close())
    ok(M.delete("Work"))
    typ, data = M.list('""', "%")
    top = b"\n".join(data).decode()
    assert '(\\Noselect \\HasChildren) "." "Work"' in top, top
    assert M.select("Work")[0] == "NO"
    assert M.status("Work", "(MESSAGES)")[0] == "NO"
    ok(M.select("Work.2026"))
    ok(M.close())
    ok(M.create("Work"))
    typ, data = M.list('""', "Work")
    assert "\\Noselect" not in b"".join(data).decode()
    ok(M.delete("Work.2026"))
    ok(M.delete("Work"))
    typ, data = M.list('""', "%")
    assert "Work" not in b"\n".join(data).decode()
    typ, data = M.delete("INBOX")
    assert typ == "NO"
    typ, data = M.select("Nope")
    assert typ == "NO"
    ok(M.subscribe("Ghost"))
    typ, data = M.lsub('""', "*")
    assert b"Ghost" in b"".join(data)
    ok(M.unsubscribe("Ghost"))
    typ, data = M.lsub('""', "*")
    assert b"Ghost" not in b"".join(data)
    # modified UTF-7 names round-trip
    ok(M.create("&AMk-t&AOk-"))            # "Été"
    typ, data = M.list('""', "&AMk-*")
    assert b"&AMk-t&AOk-" in b"".join(data)
    for bad in ("a..b", "a/b", ".x", "&Jjo"):
        typ, data = M.create(bad)
        assert typ == "NO", bad
    ok(M.create("Trail."))          # RFC 3501 6.3.3: the "." is ignored
    typ, data = M.list('""', "Trail*")
    assert b'"Trail"' in b"".join(data) or b" Trail" in b"".join(data)
    M.logout()


def test_status_and_examine(imap_server):
    srv = imap_server()
    deliver(srv)
    deliver(srv)
    M = login(srv)
    typ, data = M.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ)")
    text = data[0].decode()
    assert "MESSAGES 2" in text and "UNSEEN 2" in text and "UIDNEXT 3" in text
    assert re.search(r"SIZE \d+", text) and "HIGHESTMODSEQ" in text
    typ, data = M.select("INBOX", readonly=True)
    typ, resp = M.fetch("1", "(BODY[])")
    typ, resp = M.fetch("1", "(FLAGS)")
    assert "\\Seen" not in resp[0].decode()   # EXAMINE: no implicit \Seen
    typ, data = M.store("1", "+FLAGS", "\\Deleted")
    assert typ == "NO"
    M.logout()


def test_append_copy_move_expunge(imap_server):
    srv = imap_server()
    M = login(srv)
    msg = message(subject="appended")
    typ, data = M.append("Drafts", "(\\Draft $Later)",
                         imaplib.Time2Internaldate(1700000000), msg)
    assert typ == "OK"
    m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert m, data
    M.select("Drafts")
    typ, resp = M.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert "\\Draft" in resp[0][0].decode() and "$Later" in resp[0][0].decode()
    assert "14-Nov-2023" in resp[0][0].decode()
    assert resp[0][1] == msg
    typ, data = M.copy("1", "Archive")
    assert b"COPYUID" in data[0]
    typ, data = M.uid("MOVE", "1", "Trash")
    assert typ == "OK"
    typ, data = M.select("Drafts")
    assert data == [b"0"]
    M.select("Trash")
    typ, resp = M.fetch("1", "(BODY.PEEK[])")
    assert resp[0][1] == msg
    M.store("1", "+FLAGS", "\\Deleted")
    typ, data = M.expunge()
    assert data == [b"1"]
    typ, data = M.select("Archive")
    assert data == [b"1"]
    typ, data = M.append("Nope", None, None, msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]
    M.logout()


def test_multiappend_and_huge_literal(imap_server):
    srv = imap_server()
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    a, b = message(subject="one"), message(subject="two")
    r.send(f"m APPEND INBOX {{{len(a)}+}}\r\n".encode() + a +
           f" (\\Seen) {{{len(b)}+}}\r\n".encode() + b + b"\r\n")
    tagged, _ = r.until("m")
    assert re.search(rb"APPENDUID \d+ 1:2", tagged), tagged
    # an announced 4 GiB literal is refused before anything is read
    r.send("h APPEND INBOX {4294967295}\r\n")
    line = r.readline()
    assert line.startswith(b"h NO") or line.startswith(b"h BAD"), line
    tagged, _ = r.cmd("NOOP")
    assert b"OK" in tagged
    r.close()


def test_hostile_input(imap_server):
    srv = imap_server()
    r = Raw(srv)
    tagged, _ = r.cmd("LOGIN " + "x" * 20000 + " y")
    assert b"BAD" in tagged
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    tagged, _ = r.cmd("SELECT INBOX")
    tagged, _ = r.cmd("FETCH 1:4294967295 FLAGS")
    assert b"OK" in tagged or b"BAD" in tagged
    tagged, _ = r.cmd("SEARCH " + "(" * 200 + "ALL" + ")" * 200)
    assert b"BAD" in tagged
    tagged, _ = r.cmd('CREATE "a\x01b"')
    assert b"NO" in tagged or b"BAD" in tagged
    tagged, _ = r.cmd("NOOP")
    assert tagged.startswith(b"t") and b"OK" in tagged
    r.close()


# --- several sessions, IDLE ---

def test_two_sessions_see_each_other(imap_server):
    srv = imap_server()
    deliver(srv)
    deliver(srv)
    A, B = login(srv), login(srv)
    A.select("INBOX")
    B.select("INBOX")
    A.store("1", "+FLAGS", "\\Flagged")
    typ, data = B.noop()
    assert any(b"\\Flagged" in x for x in B.untagged_responses.get("FETCH", [])), \
        B.untagged_responses
    A.store("2", "+FLAGS", "\\Deleted")
    A.expunge()
    B.noop()
    assert B.untagged_responses.get("EXPUNGE") == [b"2"]
    deliver(srv)
    B.noop()
    assert b"2" in B.untagged_responses.get("EXISTS", [])
    A.logout()
    B.logout()


def test_idle_wakes_on_delivery(imap_server):
    srv = imap_server()
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    r.cmd("SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.readline().startswith(b"+")
    t0 = time.time()
    deliver(srv)
    r.sock.settimeout(10)
    line = r.readline()
    assert line == b"* 1 EXISTS\r\n", line
    r.send("DONE\r\n")
    tagged, _ = r.until("i")
    assert tagged.startswith(b"i OK")
    r.close()


# --- CONDSTORE / QRESYNC ---

def test_condstore_qresync(imap_server):
    srv = imap_server()
    for _ in range(3):
        deliver(srv)
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    r.cmd("ENABLE QRESYNC")
    tagged, lines = r.cmd("SELECT INBOX")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(lines)).group(1))
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(lines)).group(1))
    tagged, lines = r.cmd("STORE 1 +FLAGS (\\Seen)")
    m1 = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    assert m1 > modseq
    tagged, lines = r.cmd(f"STORE 1 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Flagged)")
    assert b"MODIFIED 1" in tagged
    tagged, lines = r.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})")
    assert len(lines) == 1 and b"MODSEQ" in lines[0]
    r.cmd("STORE 3 +FLAGS (\\Deleted)")
    tagged, lines = r.cmd("EXPUNGE")
    assert b"* VANISHED 3" in b"".join(lines)
    r.cmd("CLOSE")
    tagged, lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq}))")
    text = b"".join(lines)
    assert b"VANISHED (EARLIER) 3" in text, text
    assert re.search(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen\)", text), text
    r.close()


def test_compress_deflate(imap_server):
    srv = imap_server()
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    tagged, _ = r.cmd("COMPRESS DEFLATE")
    assert tagged.startswith(b"t2 OK")
    co = zlib.compressobj(wbits=-15)
    de = zlib.decompressobj(wbits=-15)
    r.sock.sendall(co.compress(b"c1 NOOP\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
    out = b""
    r.sock.settimeout(5)
    while b"c1 " not in out:
        out += de.decompress(r.sock.recv(4096))
    assert b"c1 OK" in out
    r.close()


def test_id_namespace_enable(imap_server):
    srv = imap_server()
    r = Raw(srv)
    tagged, lines = r.cmd('ID ("name" "pytest")')
    assert b'"name" "mailkeep"' in lines[0]
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    tagged, lines = r.cmd("NAMESPACE")
    assert lines[0] == b'* NAMESPACE (("" ".")) NIL NIL\r\n'
    tagged, lines = r.cmd("ENABLE CONDSTORE X-UNKNOWN")
    assert lines[0] == b"* ENABLED CONDSTORE\r\n"
    r.close()


def test_shutdown_says_bye(imap_server):
    srv = imap_server()
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    srv.stop()
    rest = r.f.read()
    assert b"* BYE" in rest


def test_fetch_envelopes_of_many_messages(imap_server):
    """ENVELOPE/BODYSTRUCTURE of a range come from the cache in batches:
    each message gets its own, also with gaps in the UIDs."""
    srv = imap_server()
    for i in range(6):
        deliver(srv, subject=f"subject number {i}")
    M = login(srv)
    M.select("INBOX")
    M.store("3", "+FLAGS", "\\Deleted")
    M.expunge()
    typ, resp = M.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    got = [re.search(r'UID (\d+).*"subject number (\d)"', r.decode()).groups()
           for r in resp]
    assert got == [("1", "0"), ("2", "1"), ("4", "3"), ("5", "4"), ("6", "5")]
    typ, resp = M.uid("FETCH", "2,5", "(UID ENVELOPE)")
    assert ["subject number 1" in resp[0].decode(), "subject number 4" in resp[1].decode()] == [True, True]
    M.logout()


def test_body_of_message_with_bare_lf_and_nul(imap_server):
    """A stored message with LF line ends (APPENDed so) and a NUL goes out
    with CRLF and 0x80, like Dovecot; a CRLF message goes out unchanged."""
    srv = imap_server()
    r = Raw(srv)
    r.cmd(f"LOGIN {USER} {PASSWORD}")
    lf = b"Subject: lf\n\nline one\nnul\x00here\n"
    crlf = b"Subject: crlf\r\n\r\nline one\r\n"
    for m in (lf, crlf):
        r.send(f"a APPEND INBOX {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
        tagged, _ = r.until("a")
        assert tagged.startswith(b"a OK"), tagged
    r.cmd("SELECT INBOX")
    for seq, want in ((1, lf.replace(b"\n", b"\r\n").replace(b"\x00", b"\x80")),
                      (2, crlf)):
        r.send(f"f FETCH {seq} BODY.PEEK[]\r\n")
        head = r.readline()
        n = int(re.search(rb"\{(\d+)\}", head).group(1))
        body = r.f.read(n)
        assert body == want, body
        tagged, _ = r.until("f")
        assert tagged.startswith(b"f OK")
    r.close()


def test_proxy_protocol_on_imap(imap_server):
    """A trusted forwarder's PROXY header names the real client (logs,
    limits, throttling); without the header it is not admitted."""
    srv = imap_server(extra_imap="\n[proxy]\ntrusted = 127.0.0.2/32\n"
                                 "services = imap\n")
    fwd = ("127.0.0.2", 0)          # the forwarder; 127.0.0.1 stays direct
    s = socket.create_connection(("127.0.0.1", srv.imap_port), 10, fwd)
    s.sendall(b"PROXY TCP4 192.0.2.9 127.0.0.1 40000 143\r\n")
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(f"a LOGIN {USER} {PASSWORD}\r\n".encode())
    # the real client is not on loopback: no password without TLS
    assert f.readline().startswith(b"a NO [PRIVACYREQUIRED]")
    s.close()
    deadline = time.time() + 5
    while "client=192.0.2.9" not in srv.log() and time.time() < deadline:
        time.sleep(0.05)
    assert "event=connect client=192.0.2.9" in srv.log()
    # garbage instead of a header: closed, logged
    s = socket.create_connection(("127.0.0.1", srv.imap_port), 10, fwd)
    s.sendall(b"a LOGIN x y\r\n")
    s.settimeout(10)
    assert s.recv(100) == b""
    s.close()
    assert "proxy" in srv.log()


# --- mailkeep reindex ---

def test_reindex_rebuilds_the_index_from_the_files(imap_server):
    """`mailkeep reindex` (DESIGN §5): refused while the server runs; with
    it stopped, an index that lost rows is rebuilt from the Maildir: every
    message back, flags from the file names, new UIDVALIDITY, SEARCH BODY
    working again."""
    import sqlite3
    from imapworld import wait_imap
    srv = imap_server()
    for i in range(3):
        deliver(srv, subject=f"r{i}", body=f"needle{i} here\r\n")
    M = login(srv)
    ok(M.create("Projects"))
    M.select("INBOX")
    ok(M.store("2", "+FLAGS.SILENT", "(\\Seen \\Flagged)"))
    ok(M.copy("3", "Projects"))
    uv = int(re.search(rb"UIDVALIDITY (\d+)",
                       ok(M.status("INBOX", "(UIDVALIDITY)"))[0]).group(1))
    M.logout()
    deadline = time.time() + 10     # the file name follows the flags
    while time.time() < deadline and not any(
            p.endswith(":2,FS") for p in srv.maildir_files(USER)):
        time.sleep(0.05)
    r = srv.cli("reindex", USER, check=False)
    assert r.returncode == 1 and "running" in r.stderr, r.stderr
    srv.stop()
    index = os.path.join(srv.data, "accounts", str(srv.account_id(USER)),
                         "index.db")
    db = sqlite3.connect(index)
    db.execute("DELETE FROM messages")      # damage: the rows are gone
    db.commit()
    db.close()
    r = srv.cli("reindex", "nobody@example.org", check=False)
    assert r.returncode == 1 and "no such account" in r.stderr, r.stderr
    assert srv.cli("reindex", check=False).returncode == 2
    r = srv.cli("reindex", USER, check=False)
    assert r.returncode == 0, r.stderr
    assert f"{USER}: index rebuilt" in r.stdout
    assert srv.cli("reindex", "--all").returncode == 0
    srv.start()
    wait_imap(srv)
    M = login(srv)
    data = ok(M.status("INBOX", "(MESSAGES UIDVALIDITY)"))[0]
    assert b"MESSAGES 3" in data, data
    assert int(re.search(rb"UIDVALIDITY (\d+)", data).group(1)) > uv
    M.select("INBOX")
    typ, data = M.fetch("1:3", "(FLAGS)")
    flagged = [d for d in data if b"\\Flagged" in d]
    assert len(flagged) == 1 and b"\\Seen" in flagged[0], data
    assert ok(M.search(None, "BODY", "needle1"))[0] == flagged[0].split()[0]
    assert b"MESSAGES 1" in ok(M.status("Projects", "(MESSAGES)"))[0]
    M.logout()
