"""Helpers for the IMAP and POP3 tests: a server with IMAP listeners, mail
put into mailboxes through the real SMTP path, and clients.

    from imapworld import imap_server, deliver, login

    def test_x(imap_server):
        srv = imap_server()                 # imap + imaps listeners
        deliver(srv, "alice@example.org", subject="hi", body="hello")
        with login(srv) as M:               # imaplib.IMAP4, logged in
            M.select("INBOX")
"""
import imaplib
import os
import smtplib
import socket
import ssl
import time
import uuid

import pytest

from conftest import free_port

PASSWORD = "secret-pass-1"
USER = "alice@example.org"


def imap_config(plaintext_loopback=True, extra_imap=""):
    imap, imaps, pop3, pop3s = free_port(), free_port(), free_port(), free_port()
    text = (f"[listen]\nimap = 127.0.0.1:{imap}\nimaps = 127.0.0.1:{imaps}\n"
            f"\n[imap]\nplaintext_loopback = {'yes' if plaintext_loopback else 'no'}\n"
            f"{extra_imap}")
    return text, imap, imaps


@pytest.fixture
def imap_server(make_server):
    """make(plaintext_loopback=True, extra_imap="", users=...) -> server with
    .imap_port and .imaps_port, started and answering IMAP."""
    def make(plaintext_loopback=True, extra_imap="", **kw):
        text, imap, imaps = imap_config(plaintext_loopback, extra_imap)
        srv = make_server(extra=text, **kw)
        srv.imap_port, srv.imaps_port = imap, imaps
        wait_imap(srv)
        return srv
    return make


def wait_imap(srv, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", srv.imap_port), 0.5) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("IMAP did not answer:\n" + srv.log()[-4000:])


def message(subject="test", body="hello world\r\n", sender="carol@remote.test",
            to=USER, extra_headers=""):
    return (f"From: Carol <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@remote.test>\r\n{extra_headers}\r\n"
            f"{body}").encode()


def deliver(srv, rcpt=USER, count_before=None, **kw):
    """Send one message by SMTP and wait until it is in the Maildir."""
    before = len(srv.maildir_files(rcpt)) if count_before is None else count_before
    data = kw.pop("data", None) or message(to=rcpt, **kw)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("carol@remote.test", [rcpt], data)
    srv.wait_messages(rcpt, before + 1)
    return data


def connect(srv):
    return imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)


def login(srv, user=USER, password=PASSWORD):
    M = connect(srv)
    M.login(user, password)
    return M


def connect_ssl(srv):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=ctx,
                             timeout=10)


class Raw:
    """A raw IMAP connection: send lines, read until the tagged answer."""

    def __init__(self, srv, port=None):
        self.sock = socket.create_connection(("127.0.0.1", port or srv.imap_port),
                                             10)
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, text, tag=None):
        """Send 'TAG text' and return (tagged line, [untagged lines])."""
        self.n += 1
        tag = tag or f"t{self.n}"
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def until(self, tag):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError(b"".join(lines))
            if line.startswith(tag.encode() + b" "):
                return line.rstrip(b"\r\n"), lines
            lines.append(line)

    def readline(self):
        return self.f.readline()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
