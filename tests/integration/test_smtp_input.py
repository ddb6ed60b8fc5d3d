"""Hostile and malformed SMTP input over raw sockets (issue 2 §4, §7).

The limits of the [smtp] section (docs/mailkeep.conf.5.md) are driven to
just below and just above their values: the reply code and enhanced status are
checked, then that the session goes on (or ends, where the limit says so)
and that nothing refused is delivered. Reply codes come from
src/smtp/smtp_cmd.c, smtp_msg.c and smtp_parse.c.
"""
import time

import pytest

from mpt import Wire, connect_when_free

MSG = b"From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: input\r\n\r\n"


def transaction(w, rcpts=("alice@example.org",), sender="sender@remote.test", mail_params=""):
    w.send(f"MAIL FROM:<{sender}>{mail_params}\r\n".encode())
    w.expect(250, "2.1.0")
    for r in rcpts:
        w.send(f"RCPT TO:<{r}>\r\n".encode())
        w.expect(250, "2.1.5")


def send_data(w, body):
    """DATA + body (already CRLF, dot-stuffed by the caller) + terminator -> reply."""
    code, _ = w.cmd("DATA")
    assert code == 354
    w.send(body + b".\r\n")
    return w.reply()


def queued(srv):
    return srv.log().count("event=queued")


def ehlo(w):
    code, _ = w.cmd("EHLO client.remote.test")
    assert code == 250


# ---- command line length (RFC 5321 4.5.3.1.4, max_command_line) -----------

def test_command_line_limit_boundary(server):
    with Wire(server.port) as w:
        ehlo(w)
        # 512 octets with CRLF: accepted
        assert w.cmd("NOOP " + "x" * 505)[0] == 250
        # 513 octets: refused, the session goes on
        assert w.cmd("NOOP " + "x" * 506) == (500, ["5.5.2 Line too long"])
        assert w.cmd("NOOP")[0] == 250
        # a too-long MAIL is not executed: a second MAIL is not "nested"
        assert w.cmd("MAIL FROM:<" + "a" * 600 + "@remote.test>")[0] == 500
        assert w.cmd("MAIL FROM:<a@remote.test>")[0] == 250


@pytest.mark.parametrize("pieces", [1, 8])
def test_command_line_huge_gets_one_reply(server, pieces):
    """A 64 KiB line, in one write or in several: exactly one 500, and the
    text after the line ends is not taken as commands."""
    line = b"NOOP " + b"QUIT" * (64 * 1024 // 4) + b"\r\n"
    with Wire(server.port) as w:
        ehlo(w)
        step = len(line) // pieces + 1
        for i in range(0, len(line), step):
            w.send(line[i:i + step])
            if pieces > 1:
                time.sleep(0.05)  # give the server a chance to see a partial line
        w.send(b"NOOP\r\n")
        assert w.reply() == (500, ["5.5.2 Line too long"])
        assert w.reply() == (250, ["2.0.0 Ok"])
        assert w.cmd("QUIT")[0] == 221
        w.expect_eof()


# ---- message text line length (RFC 5321 4.5.3.1.6, max_text_line) --------

TEXT_LINES = [
    # (name, wire line without CRLF, accepted?)
    ("998 octets", b"a" * 998, True),
    ("999 octets", b"a" * 999, False),
    ("stuffed dot: 999 on the wire, 998 decoded", b".." + b"b" * 997, True),
    ("100 KiB", b"c" * (100 * 1024), False),
    ("long last line before the terminator", b"d" * 1500, False),
]


def test_text_line_limit(server):
    delivered = []
    with Wire(server.port) as w:
        ehlo(w)
        for name, line, ok in TEXT_LINES:
            transaction(w)
            body = MSG.replace(b"input", name.encode()) + b"first\r\n" + line + b"\r\nlast\r\n"
            code, text = send_data(w, body)
            if ok:
                assert code == 250, (name, text)
                delivered.append(name)
            else:
                assert (code, text[0][:5]) == (500, "5.5.2"), (name, text)
            assert w.cmd("NOOP")[0] == 250, name
    msgs = server.wait_messages("alice@example.org", len(delivered))
    assert queued(server) == len(delivered)
    got = sorted(m.split(b"Subject: ")[1].split(b"\r\n")[0].decode() for m in msgs)
    assert got == sorted(delivered)
    stuffed = [m for m in msgs if b"stuffed" in m][0]
    assert b"\r\n." + b"b" * 997 + b"\r\nlast\r\n" in stuffed
    assert b".." + b"b" not in stuffed


# ---- message size (RFC 1870, max_message_size) ----------------------------

def test_size_limits(make_server):
    srv = make_server("[smtp]\nmax_message_size = 2k\n")
    with Wire(srv.port) as w:
        ehlo(w)
        assert w.cmd("MAIL FROM:<a@remote.test> SIZE=2048")[0] == 250
        assert w.cmd("RSET")[0] == 250
        assert w.cmd("MAIL FROM:<a@remote.test> SIZE=2049") == \
            (552, ["5.3.4 Message size exceeds fixed limit"])
        # 20 digits: allowed syntax, saturates, refused as too big
        assert w.cmd("MAIL FROM:<a@remote.test> SIZE=99999999999999999999")[0] == 552
        # 21 digits: not a size-value
        assert w.cmd("MAIL FROM:<a@remote.test> SIZE=123456789012345678901") == \
            (501, ["5.5.4 Invalid parameter value"])
        # at the end of DATA: exactly 2048 decoded octets pass, 2049 do not
        head = b"Subject: exact\r\n\r\n"
        lines = b"x" * 98 + b"\r\n"
        exact = head + lines * 20 + b"y" * (2048 - len(head) - 20 * 100 - 2) + b"\r\n"
        assert len(exact) == 2048
        transaction(w)
        assert send_data(w, exact)[0] == 250
        over = exact.replace(b"exact", b"over!")[:-2] + b"z\r\n"
        assert len(over) == 2049
        transaction(w)
        code, text = send_data(w, over)
        assert (code, text[0][:5]) == (552, "5.3.4")
        assert w.cmd("NOOP")[0] == 250
    msgs = srv.wait_messages("alice@example.org", 1)
    assert len(msgs) == 1 and msgs[0].endswith(exact)
    assert queued(srv) == 1


# ---- recipients (RFC 5321 4.5.3.1.8, max_recipients) ----------------------

def test_max_recipients(make_server):
    users = ("alice@example.org", "bob@example.net", "carol@example.org", "dave@example.org")
    srv = make_server("[smtp]\nmax_recipients = 3\n", users=users)
    with Wire(srv.port) as w:
        ehlo(w)
        transaction(w, rcpts=users[:3])
        assert w.cmd("RCPT TO:<dave@example.org>") == (452, ["4.5.3 Error: too many recipients"])
        assert w.cmd("RCPT TO:<dave@example.org>")[0] == 452
        assert send_data(w, MSG + b"three of four\r\n")[0] == 250
        # the limit is per transaction: the next one reaches dave
        transaction(w, rcpts=("dave@example.org",))
        assert send_data(w, MSG + b"the fourth\r\n")[0] == 250
    for u in users[:3]:
        msgs = srv.wait_messages(u, 1)
        assert len(msgs) == 1 and msgs[0].endswith(b"three of four\r\n"), u
    msgs = srv.wait_messages("dave@example.org", 1)
    assert len(msgs) == 1 and msgs[0].endswith(b"the fourth\r\n")


# ---- error budget (max_errors) -------------------------------------------

def test_max_errors_closes_session(make_server):
    srv = make_server("[smtp]\nmax_errors = 3\n")
    with Wire(srv.port) as w:
        # all pipelined: the commands after the budget must not run
        w.send(b"BOGUS\r\nMAIL FROM:<a@remote.test>\r\nEHLO c.test\r\n"
               b"MAIL FROM:a@remote.test\r\nNOOP\r\nQUIT\r\n")
        assert w.reply()[0] == 500
        assert w.reply()[0] == 503           # MAIL before EHLO
        assert w.reply()[0] == 250           # EHLO is fine
        code, text = w.reply()
        assert (code, text[0][:5]) == (501, "5.1.7")
        code, text = w.reply()
        assert (code, text[0][:5]) == (421, "4.7.0"), text
        w.expect_eof()


def test_errors_below_budget_keep_session(make_server):
    srv = make_server("[smtp]\nmax_errors = 3\n")
    with Wire(srv.port) as w:
        ehlo(w)
        assert w.cmd("BOGUS")[0] == 500
        assert w.cmd("EXPN staff")[0] == 502
        transaction(w)
        assert send_data(w, MSG + b"still here\r\n")[0] == 250
    assert len(srv.wait_messages("alice@example.org", 1)) == 1


# ---- connections per client address (max_connections_per_ip) -------------

def test_connections_per_ip(make_server):
    srv = make_server("[smtp]\nmax_connections_per_ip = 3\n")
    held = []
    try:
        for _ in range(3):
            held.append(connect_when_free(srv.port))
        with Wire(srv.port) as fourth:
            assert fourth.greeting == (421, ["4.7.0 Too many connections from your address"])
            fourth.expect_eof()
        for w in held:
            assert w.cmd("NOOP")[0] == 250
        # a slot frees when a session ends (asynchronously: bounded retries)
        assert held[0].cmd("QUIT")[0] == 221
        held[0].expect_eof()
        held[0] = connect_when_free(srv.port)
        assert held[0].cmd("NOOP")[0] == 250
    finally:
        for w in held:
            w.close()


# ---- timeouts (RFC 5321 4.5.3.2.7) ----------------------------------------

def test_command_timeout(make_server):
    srv = make_server("[smtp]\ncommand_timeout = 2s\n")
    with Wire(srv.port, timeout=30) as w:
        ehlo(w)
        code, text = w.reply()       # nothing sent: the server gives up
        assert (code, text[0][:5]) == (421, "4.4.2")
        w.expect_eof()
    with Wire(srv.port, timeout=30) as w:
        w.send(b"NOO")               # half a command is still idle
        code, text = w.reply()
        assert (code, text[0][:5]) == (421, "4.4.2")
        w.expect_eof()


def test_data_timeout_delivers_nothing(make_server):
    srv = make_server("[smtp]\ndata_timeout = 2s\n")
    with Wire(srv.port, timeout=30) as w:
        ehlo(w)
        transaction(w)
        assert w.cmd("DATA")[0] == 354
        w.send(MSG + b"half a message\r\n")
        code, text = w.reply()
        assert (code, text[0][:5]) == (421, "4.4.2")
        w.expect_eof()
    assert queued(srv) == 0
    assert srv.messages("alice@example.org") == []


# ---- NUL, 8-bit and control garbage in commands ---------------------------

GARBAGE = [
    (b"NO\x00OP", 500, "5.5.2"),
    (b"NOOP\x00", 500, "5.5.2"),
    (b"\x00", 500, "5.5.2"),
    (b"\xff\xfe\xfd", 500, "5.5.2"),
    (b"N\xc3\xb6OP", 500, "5.5.2"),
    (b"", 500, "5.5.2"),
    (b" NOOP", 500, "5.5.2"),
    (b"\x1b[31mNOOP", 500, "5.5.2"),
    (b"MAIL FROM:<a\x00b@remote.test>", 500, "5.5.2"),
    (b"MAIL FROM:<\xff@remote.test>", 501, "5.1.7"),
    (b"MAIL FROM:<a@remote.test> BODY=\x01", 501, "5.5.4"),
    (b"EHLO \xff\xfe", 501, "5.5.4"),
    (b"EHLO", 501, "5.5.4"),
]


@pytest.mark.parametrize("line,code,status", GARBAGE, ids=lambda v: repr(v)[:30])
def test_garbage_commands(server, line, code, status):
    with Wire(server.port) as w:
        if not line.startswith(b"EHLO"):
            ehlo(w)
        got, text = w.cmd(line)
        assert (got, text[0][:5]) == (code, status)
        # the session goes on, and nothing of the garbage was kept
        assert w.cmd("EHLO again.test")[0] == 250
        assert w.cmd("MAIL FROM:<a@remote.test>")[0] == 250


# ---- MAIL / RCPT syntax (RFC 5321 4.1.2, 4.1.1.11; RFC 3461; RFC 6531) ------

MAIL_ERRORS = [
    ("MAIL FROM:a@remote.test", 501, "5.1.7"),
    ("MAIL FROM:<a@remote.test", 501, "5.1.7"),
    ("MAIL FROM:<a b@remote.test>", 501, "5.1.7"),
    ("MAIL FROM:<a..b@remote.test>", 501, "5.1.7"),
    ("MAIL FROM:<a@-remote.test>", 501, "5.1.7"),
    ("MAIL FROM:<@>", 501, "5.1.7"),
    ("MAIL TO:<a@remote.test>", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test>trailing", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> FOO=BAR", 555, "5.5.4"),
    ("MAIL FROM:<a@remote.test> AUTH=<>", 555, "5.5.4"),        # AUTH not advertised
    ("MAIL FROM:<a@remote.test> BODY=BINARYMIME", 555, "5.5.4"),
    ("MAIL FROM:<a@remote.test> SIZE=12x", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> SIZE", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> SMTPUTF8=yes", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> RET=ALL", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> BODY=7BIT BODY=8BITMIME", 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> ENVID=" + "x" * 101, 501, "5.5.4"),
    ("MAIL FROM:<a@remote.test> ENVID=a+0Ab", 501, "5.5.4"),    # decodes to a control
    ("MAIL FROM:<j\u00f6s\u00e9@remote.test>", 553, "5.6.7"),   # UTF-8 without SMTPUTF8
]

RCPT_ERRORS = [
    ("RCPT TO:alice@example.org", 501, "5.1.3"),
    ("RCPT TO:<alice@example.org", 501, "5.1.3"),
    ("RCPT TO:<alice>", 501, "5.1.3"),
    ("RCPT TO:<>", 501, "5.1.3"),
    ("RCPT FROM:<alice@example.org>", 501, "5.5.4"),
    ("RCPT TO:<alice@example.org> FOO=1", 555, "5.5.4"),
    ("RCPT TO:<alice@example.org> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
    ("RCPT TO:<alice@example.org> NOTIFY=SOMETIMES", 501, "5.5.4"),
    ("RCPT TO:<alice@example.org> NOTIFY=", 501, "5.5.4"),
    ("RCPT TO:<alice@example.org> ORCPT=rfc822", 501, "5.5.4"),
    ("RCPT TO:<alice@example.org> ORCPT=;alice@example.org", 501, "5.5.4"),
    ("RCPT TO:<\u00e4lice@example.org>", 553, "5.6.7"),
]


def test_mail_syntax_errors(server):
    for line, code, status in MAIL_ERRORS:
        with Wire(server.port) as w:
            ehlo(w)
            got, text = w.cmd(line.encode())
            assert (got, text[0][:5]) == (code, status), line
            # no transaction was started: a new MAIL is not "nested"
            assert w.cmd("MAIL FROM:<a@remote.test>")[0] == 250, line


def test_rcpt_syntax_errors(server):
    for line, code, status in RCPT_ERRORS:
        with Wire(server.port) as w:
            ehlo(w)
            assert w.cmd("MAIL FROM:<a@remote.test>")[0] == 250
            got, text = w.cmd(line.encode())
            assert (got, text[0][:5]) == (code, status), line
            # the bad RCPT added no recipient
            assert w.cmd("DATA") == (554, ["5.5.1 Error: no valid recipients"]), line


def test_dsn_parameters_accepted(server):
    with Wire(server.port) as w:
        ehlo(w)
        assert w.cmd("MAIL FROM:<a@remote.test> RET=HDRS ENVID=QQ+2Bid-1")[0] == 250
        assert w.cmd("RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE,DELAY "
                     "ORCPT=rfc822;alice+40example.org")[0] == 250
        assert w.cmd("RCPT TO:<bob@example.net> NOTIFY=NEVER ORCPT=rfc822;bob@example.net")[0] == 250
        assert send_data(w, MSG + b"dsn\r\n")[0] == 250
        assert w.cmd("MAIL FROM:<> RET=FULL")[0] == 250
        assert w.cmd("RCPT TO:<alice@example.org> NOTIFY=failure")[0] == 250
        assert send_data(w, MSG + b"null sender\r\n")[0] == 250
    msgs = server.wait_messages("alice@example.org", 2)
    assert sorted(m.rsplit(b"\r\n\r\n", 1)[1] for m in msgs) == [b"dsn\r\n", b"null sender\r\n"]
    assert any(m.startswith(b"Return-Path: <>\r\n") for m in msgs)
    assert len(server.wait_messages("bob@example.net", 1)) == 1


# ---- SMTPUTF8 (RFC 6531) --------------------------------------------------

UTF8_SENDER = "j\u00f6s\u00e9@b\u00fccher.example".encode()


def test_smtputf8_sender(server):
    with Wire(server.port) as w:
        ehlo(w)
        assert w.cmd(b"MAIL FROM:<" + UTF8_SENDER + b">") == \
            (553, ["5.6.7 SMTPUTF8 required for a non-ASCII address"])
        assert w.cmd(b"MAIL FROM:<" + UTF8_SENDER + b"> SMTPUTF8 BODY=8BITMIME")[0] == 250
        assert w.cmd("RCPT TO:<alice@example.org>")[0] == 250
        body = "Subject: gr\u00fc\u00dfe\r\n\r\n\u00e7a va\r\n".encode()
        assert send_data(w, body)[0] == 250
    m = server.wait_messages("alice@example.org", 1)[0]
    assert m.startswith(b"Return-Path: <" + UTF8_SENDER + b">\r\n")
    assert b" with UTF8SMTP id " in m
    assert m.endswith(body)


# ---- HELO (RFC 5321 4.1.1.1): no service extensions ------------------------

def test_helo_session(server):
    with Wire(server.port) as w:
        assert w.cmd("HELO old.client.test") == (250, ["mx.example.org"])
        for params in (" SIZE=100", " BODY=8BITMIME", " SMTPUTF8", " RET=FULL"):
            assert w.cmd("MAIL FROM:<a@remote.test>" + params) == \
                (555, ["5.5.4 Unsupported parameter"]), params
        assert w.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert w.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER")[0] == 555
        assert w.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert send_data(w, MSG + b"old school\r\n")[0] == 250
    m = server.wait_messages("alice@example.org", 1)[0]
    assert b"Received: from old.client.test ([127.0.0.1])" in m
    assert b" with SMTP id " in m
    assert m.endswith(b"old school\r\n")
