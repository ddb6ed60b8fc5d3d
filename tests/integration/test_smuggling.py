"""SMTP smuggling (end-of-DATA confusion) over the wire (issue 2 §7).

The 11 fake end-of-data sequences, the procedure and the oracle come from
/work/shared/conformance/smtp/smuggling/cases.json (CVE-2023-51764/5/6):
after DATA the client sends 'body line 1', a fake terminator, a complete
second transaction as text, then the real <CRLF>.<CRLF>.

Oracle, both modes: never more than one 250 for the DATA phase, never a
message whose envelope sender is smuggled@example.org, and
  bare_newline = normalize: exactly one message, carrying the smuggled
      "MAIL FROM:<smuggled..." text as data (bare CR/LF stored as CRLF);
  bare_newline = reject:    550 5.5.2 after the real terminator, nothing
      delivered -- except 'nullbefore', which has no bare CR or LF at all
      ("\\r\\n\\x00.\\r\\n"): it is accepted as one message, which the
      oracle allows.

The pipelining variants check the other half of the oracle's meaning:
commands sent after a REAL <CRLF>.<CRLF> are real commands (we advertise
PIPELINING and answer in order), so a sender smuggled@ is legitimate only
there, and the session must resynchronise exactly at the real terminator.

One server per mode serves every case of this module (sessions are
independent; each case finds its own message by Subject).
"""
import json
import os
import shutil
import tempfile

import pytest

from conftest import SANITIZER_MARKS, Server
from mpt import Wire, wait_for

from conftest import SHARED

CASES_FILE = os.path.join(SHARED, "conformance", "smtp", "smuggling", "cases.json")
with open(CASES_FILE) as _f:
    CASES = json.load(_f)["cases"]
SEQ = {c["name"]: bytes.fromhex(c["sequence_hex"]) for c in CASES}

SMUGGLED = (b"MAIL FROM:<smuggled@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
            b"From: smuggled@example.org\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n")
REAL_END = b"\r\n.\r\n"

# What bare_newline = normalize stores for each fake sequence (RFC 5321
# 2.3.8 and 4.5.2, worked by hand): a bare CR or LF becomes CRLF but is not
# a line start, so a following '.' is text; after a real CRLF a leading '.'
# is transparency and is removed.
NORMALIZED = {
    "lflf": b"\r\n.\r\n",
    "crcr": b"\r\n.\r\n",
    "crlf_bare": b"\r\n.\r\n",
    "lfcr": b"\r\n.\r\n",
    "lfcrlf": b"\r\n.\r\n",
    "crlflf": b"\r\n\r\n",            # CRLF, stuffing dot removed, bare LF
    "crcrlf": b"\r\n.\r\n",
    "crlfcr": b"\r\n\r\n",            # CRLF, stuffing dot removed, bare CR
    "crlf_crcrlf": b"\r\n\r\n\r\n",   # CRLF, dot removed, bare CR, CRLF
    "crcrlf_crcrlf": b"\r\n\r\n\r\n\r\n",
    "nullbefore": b"\r\n\x00.\r\n",   # no bare CR/LF: stored as sent
}
HAS_BARE = {name: name != "nullbefore" for name in SEQ}


def test_case_file_is_complete():
    assert len(CASES) == 11
    assert set(SEQ) == set(NORMALIZED)
    for name, seq in SEQ.items():
        # the flag table agrees with the bytes: CR and LF only as CRLF?
        stripped = seq.replace(b"\r\n", b"")
        assert HAS_BARE[name] == (b"\r" in stripped or b"\n" in stripped), name


@pytest.fixture(scope="module", params=["normalize", "reject"])
def mode_server(request, tls_files):
    d = tempfile.mkdtemp(prefix="mailkeep-smug-")
    os.chmod(d, 0o755)
    srv = Server(os.path.join(d, "s"), tls_files,
                 f"[smtp]\nbare_newline = {request.param}\n")
    srv.add_user("b@example.net")
    srv.start()
    srv.mode = request.param
    srv.legit_smuggled = 0
    yield srv
    srv.stop()
    log = srv.log()
    for mark in SANITIZER_MARKS:
        assert mark not in log, f"sanitizer report in server log:\n{log[-8000:]}"
    if not request.session.testsfailed:
        shutil.rmtree(d, ignore_errors=True)


def headers(subject):
    return (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: " + subject.encode()
            + b"\r\n\r\n")


def open_data(srv):
    w = Wire(srv.port)
    assert w.cmd("EHLO client.remote.test")[0] == 250
    assert w.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert w.cmd("RCPT TO:<b@example.net>")[0] == 250
    assert w.cmd("DATA")[0] == 354
    return w


def send(w, payload, split):
    if split:
        for i in range(len(payload)):   # one byte per write: the decoder keeps state
            w.send(payload[i:i + 1])
    else:
        w.send(payload)


def replies_until_eof(w):
    out = []
    for _ in range(20):
        code, text = w.reply()
        if code is None:
            return out
        out.append((code, text))
    raise AssertionError(f"too many replies\n{w.dump()}")


def by_subject(srv, subject):
    return [m for m in srv.messages("b@example.net")
            if b"\r\nSubject: " + subject.encode() + b"\r\n" in m]


def no_smuggled_sender(srv):
    """Only the pipelining variant's real second transaction may have the
    envelope sender smuggled@ (srv.legit_smuggled counts those)."""
    smuggled = [m for m in srv.messages("b@example.net")
                if m.startswith(b"Return-Path: <smuggled@")]
    for m in smuggled:
        assert b"\r\nSubject: pipelining " in m, m[:400]
    assert len(smuggled) <= srv.legit_smuggled
    assert srv.log().count("event=queued from=<smuggled@") == srv.legit_smuggled


def expect_accepted(mode, name):
    return mode == "normalize" or not HAS_BARE[name]


def check_one_message(srv, subject, name, first_part):
    msgs = wait_for(lambda: by_subject(srv, subject), timeout=15)
    assert len(msgs) == 1, f"{len(msgs)} messages for {subject}"
    m = msgs[0]
    assert m.startswith(b"Return-Path: <a@example.org>\r\n")
    stored = NORMALIZED[name] if srv.mode == "normalize" else SEQ[name]
    assert m.endswith(first_part + b"body line 1" + stored + SMUGGLED + b"\r\n")
    if srv.mode == "normalize":
        body = m.split(b"\r\n\r\n", 1)[1]
        assert b"\r" not in body.replace(b"\r\n", b"")
        assert b"\n" not in body.replace(b"\r\n", b"")


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "byte-by-byte"])
@pytest.mark.parametrize("name", list(SEQ))
def test_fake_terminator(mode_server, name, split):
    srv = mode_server
    subject = f"smuggling {name} {srv.mode} {'split' if split else 'whole'}"
    queued_before = srv.log().count("event=queued")
    w = open_data(srv)
    try:
        first = headers(subject)
        send(w, first + b"body line 1" + SEQ[name] + SMUGGLED + REAL_END, split)
        w.send(b"QUIT\r\n")
        replies = replies_until_eof(w)
    finally:
        w.close()
    codes = [c for c, _ in replies]
    assert codes.count(250) <= 1, replies
    if expect_accepted(srv.mode, name):
        assert replies[0][0] == 250 and replies[0][1][0].startswith("2.0.0 Ok: queued as"), replies
        assert codes[1:] == [221], replies
        assert srv.log().count("event=queued") == queued_before + 1
        check_one_message(srv, subject, name, first)
    else:
        assert replies[0] == (550, ["5.5.2 Error: bare CR or LF in message data (RFC 5321 2.3.8)"])
        assert codes[1:] == [221], replies
        assert srv.log().count("event=queued") == queued_before
        assert by_subject(srv, subject) == []
    no_smuggled_sender(srv)


def test_pipelining_variant_is_two_real_messages(mode_server):
    """cases.json 'pipelining': the real terminator, then a whole second
    transaction, in one write before our 250. We process pipelined commands
    in order (RFC 2920), so the second transaction is a real one: sender
    smuggled@ is legitimate here because it followed a real CRLF.CRLF."""
    srv = mode_server
    subject = f"pipelining {srv.mode}"
    w = open_data(srv)
    try:
        w.send(headers(subject) + b"body line 1" + REAL_END + SMUGGLED.replace(
            b"Subject: smuggled", b"Subject: " + subject.encode() + b" second") + b".\r\nQUIT\r\n")
        replies = replies_until_eof(w)
    finally:
        w.close()
    assert [c for c, _ in replies] == [250, 250, 250, 354, 250, 221], replies
    assert replies[1][1] == ["2.1.0 Ok"] and replies[2][1] == ["2.1.5 Ok"]
    srv.legit_smuggled += 1
    first = wait_for(lambda: by_subject(srv, subject), timeout=15)
    second = wait_for(lambda: by_subject(srv, subject + " second"), timeout=15)
    assert len(first) == 1 and len(second) == 1
    assert first[0].startswith(b"Return-Path: <a@example.org>\r\n")
    assert first[0].endswith(b"\r\n\r\nbody line 1\r\n")
    assert second[0].startswith(b"Return-Path: <smuggled@example.org>\r\n")
    assert second[0].endswith(b"\r\n\r\nsmuggled body\r\n")
    no_smuggled_sender(srv)


@pytest.mark.parametrize("name", list(SEQ))
def test_fake_then_real_pipelined(mode_server, name):
    """Fake terminator + smuggled text + real terminator + a real pipelined
    transaction, all in one write: the session resynchronises exactly at
    the real terminator (the fake one starts nothing)."""
    srv = mode_server
    subject = f"resync {name} {srv.mode}"
    follow = (b"MAIL FROM:<second@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
              b"Subject: " + subject.encode() + b" second\r\n\r\nsecond body\r\n.\r\nQUIT\r\n")
    w = open_data(srv)
    try:
        first = headers(subject)
        w.send(first + b"body line 1" + SEQ[name] + SMUGGLED + REAL_END + follow)
        replies = replies_until_eof(w)
    finally:
        w.close()
    accepted = expect_accepted(srv.mode, name)
    assert [c for c, _ in replies] == [250 if accepted else 550, 250, 250, 354, 250, 221], replies
    if accepted:
        check_one_message(srv, subject, name, first)
    else:
        assert by_subject(srv, subject) == []
    second = wait_for(lambda: by_subject(srv, subject + " second"), timeout=15)
    assert len(second) == 1
    assert second[0].startswith(b"Return-Path: <second@example.org>\r\n")
    assert second[0].endswith(b"\r\n\r\nsecond body\r\n")
    no_smuggled_sender(srv)
