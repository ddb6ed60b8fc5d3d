"""Apache James MPT SMTP scripts over the wire, and STARTTLS injection
(issue 2 §7; RFC 3207 §4.2, CVE-2011-0411).

Each script of /work/shared/conformance/smtp/james-mpt/ runs through mpt.py
against a fresh server, with the changes listed (and justified) in
mpt-loosened.txt. After the script, the mail it sent must be in the
mailbox, with its text as data ("starttls" inside DATA is just text).
"""
import os

import pytest

import mpt
from mpt import Wire

from conftest import SHARED

SCRIPTS = os.path.join(SHARED, "conformance", "smtp", "james-mpt")
LOOSENED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpt-loosened.txt")
DOMAINS = "mydomain.tld, example.org"
USERS = ("bob@mydomain.tld", "starttls@mydomain.tld")

# script -> (extra config, mailbox, expected body or None for no mail)
RUNS = {
    "helo.test": ("", "bob@mydomain.tld", b"subject: test\r\n\r\ncontent\r\n"),
    "starttls.test": ("", "bob@mydomain.tld", None),
    "starttls_with_injection.test": ("", "bob@mydomain.tld", None),
    "starttls_session_fixation.test": ("[smtp]\nrelay_networks = 127.0.0.1\n",
                                       "bob@mydomain.tld", None),
    "data_with_starttls.test": ("", "bob@mydomain.tld",
                                b"subject: test\r\n\r\ncontent starttls content\r\n"),
    "data_starts_with_starttls.test": ("", "bob@mydomain.tld",
                                       b"subject: test\r\n\r\nstarttls content\r\n"),
    "rcpt_with_starttls.test": ("", "starttls@mydomain.tld",
                                b"subject: test\r\n\r\ncontent content\r\n"),
}
SKIPPED = {"authplain.test": "AUTH (RFC 4954) is a later issue: no AUTH command yet"}


def test_every_script_is_covered():
    names = {n for n in os.listdir(SCRIPTS) if n.endswith(".test")}
    assert names == set(RUNS) | set(SKIPPED)


@pytest.mark.parametrize("name", sorted(set(RUNS) | set(SKIPPED)))
def test_loosenings_apply(name):
    """Every hunk of mpt-loosened.txt still matches its script, and the result parses."""
    hunks = mpt.read_loosenings(LOOSENED)
    lines = mpt.apply_loosenings(mpt.read_script(os.path.join(SCRIPTS, name)),
                                 hunks.get(name, []), name)
    steps = mpt.parse(lines)
    assert any(s[0] == "S" for s in steps)


def test_unloosened_script_fails(server):
    """The runner can fail: James's own greeting text does not match ours."""
    steps = mpt.parse(mpt.read_script(os.path.join(SCRIPTS, "helo.test")))
    with pytest.raises(mpt.WireError):
        mpt.run(steps, server.port)


@pytest.mark.parametrize("name", sorted(set(RUNS) | set(SKIPPED)))
def test_james_script(make_server, name):
    if name in SKIPPED:
        pytest.skip(SKIPPED[name])
    extra, mailbox, body = RUNS[name]
    srv = make_server(extra, users=USERS, domains=DOMAINS)
    mpt.run_script(os.path.join(SCRIPTS, name), srv.port, LOOSENED)
    queued = srv.log().count("event=queued")
    if body is None:
        assert queued == 0
        assert srv.messages(mailbox) == []
        return
    assert queued == 1
    msgs = srv.wait_messages(mailbox, 1)
    assert len(msgs) == 1
    assert msgs[0].startswith(b"Return-Path: <matthieu@yopmail.com>\r\n")
    assert msgs[0].endswith(b"\r\n" + body)


# ---- direct raw-socket checks --------------------------------------------

def ehlo_keywords(w):
    code, lines = w.cmd("EHLO client.remote.test")
    assert code == 250
    return [line.split()[0] for line in lines[1:]]


def test_starttls_injection_discarded(server):
    with Wire(server.port) as w:
        assert "STARTTLS" in ehlo_keywords(w)
        w.send(b"STARTTLS\r\nMAIL FROM:<x@y.test>\r\n")
        assert w.reply() == (220, ["2.0.0 Ready to start TLS"])
        w.starttls()
        # the first reply under TLS is this NOOP's: nothing answered the MAIL
        assert w.cmd("NOOP") == (250, ["2.0.0 Ok"])
        assert "STARTTLS" not in ehlo_keywords(w)
        assert w.cmd("RCPT TO:<alice@example.org>") == (503, ["5.5.1 Error: need MAIL command"])
        # and the session works under TLS
        assert w.cmd("MAIL FROM:<x@y.test>")[0] == 250
        assert w.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert w.cmd("DATA")[0] == 354
        w.send(b"Subject: after tls\r\n\r\nsafe\r\n.\r\n")
        assert w.reply()[0] == 250
    assert "event=starttls-injection" in server.log()
    m = server.wait_messages("alice@example.org", 1)[0]
    assert m.startswith(b"Return-Path: <x@y.test>\r\n")
    assert b" with ESMTPS id " in m


def test_starttls_injection_of_a_whole_transaction(server):
    """A full transaction injected after STARTTLS delivers nothing."""
    with Wire(server.port) as w:
        ehlo_keywords(w)
        w.send(b"STARTTLS\r\nMAIL FROM:<x@y.test>\r\nRCPT TO:<alice@example.org>\r\n"
               b"DATA\r\nSubject: injected\r\n\r\nevil\r\n.\r\n")
        assert w.reply()[0] == 220
        w.starttls()
        assert w.cmd("NOOP") == (250, ["2.0.0 Ok"])
    assert server.log().count("event=queued") == 0
    assert server.messages("alice@example.org") == []


def test_starttls_sequence_errors(server):
    with Wire(server.port) as w:
        assert w.cmd("STARTTLS")[0] == 503               # before EHLO
        ehlo_keywords(w)
        assert w.cmd("STARTTLS now") == (501, ["5.5.4 Syntax: STARTTLS"])
        assert w.cmd("MAIL FROM:<x@y.test>")[0] == 250
        assert w.cmd("STARTTLS")[0] == 503               # inside a transaction
        assert w.cmd("RSET")[0] == 250
        assert w.cmd("STARTTLS")[0] == 220
        w.starttls()
        # state reset: no EHLO any more
        assert w.cmd("MAIL FROM:<x@y.test>") == (503, ["5.5.1 Error: send HELO/EHLO first"])
        ehlo_keywords(w)
        assert w.cmd("STARTTLS") == (503, ["5.5.1 Error: TLS already active"])
        assert w.cmd("NOOP")[0] == 250


def test_session_ending_under_tls_closes(make_server):
    """Three ways a TLS session ends; each must close the connection and
    give back its slot (max_connections_per_ip = 3)."""
    srv = make_server("[smtp]\nmax_errors = 2\ncommand_timeout = 2s\n"
                      "max_connections_per_ip = 3\n")
    conns = []
    for _ in range(3):
        w = mpt.connect_when_free(srv.port, wire_timeout=3)
        conns.append(w)
        ehlo_keywords(w)
        assert w.cmd("STARTTLS")[0] == 220
        w.starttls()
    quit_, errors, idle = conns
    try:
        assert quit_.cmd("QUIT") == (221, ["2.0.0 Bye"])
        assert errors.cmd("BOGUS")[0] == 500
        assert errors.cmd("BOGUS")[0] == 500
        assert errors.reply()[0] == 421
        code, text = idle.reply()
        assert (code, text[0][:5]) == (421, "4.4.2")
        eof = []
        for w in conns:
            try:
                w.expect_eof()
                eof.append(True)
            except AssertionError:
                eof.append(False)
        assert eof == [True, True, True], "[quit, max_errors, timeout] closed?"
    finally:
        for w in conns:
            w.close()
    mpt.connect_when_free(srv.port, timeout=3).close()
    assert srv.log().count("event=disconnect") >= 4
