"""The auth process's logins over its real IPC (MSG_AUTH_*), before any
imap or submission process exists: the test plays the main process (it
starts `mailkeep-auth -c FILE` with the channel on fd 3 and the config on
fd 4, hands it a peer channel, says MSG_START) and then the requester.

Checks the PLAIN, LOGIN and SCRAM-SHA-256 exchanges end to end, the
throttling delays done with timers (other clients are answered meanwhile),
the block, the fail2ban log lines (loopback clients are throttled too), and
that malformed requests are refused without harm.
"""
import base64
import hashlib
import hmac
import os
import select
import socket
import struct
import subprocess
import time

import pytest

from conftest import BIN, SANITIZER_MARKS

MSG_PEER, MSG_START = 1, 3
MSG_AUTH_STEP, MSG_AUTH_REPLY, MSG_AUTH_CANCEL = 110, 111, 112
ROLE_SMTP = 3
SVC_IMAP, SVC_POP3 = 0, 1
F_TLS, F_FIRST, F_NO_IR = 1, 2, 4
CONTINUE, OK, FAIL, TEMPFAIL = 0, 1, 2, 3
HDR = struct.Struct("=IIII")


def u32(v):
    return struct.pack("=I", v)


def string(s):
    b = s.encode()
    return u32(len(b)) + b + b"\0"


def blob(b):
    return u32(len(b)) + b


def step_payload(conn, ip, flags, mech, resp, cb=b"", svc=SVC_IMAP):
    return (u32(conn) + u32(svc) + string(ip) + u32(flags) + string(mech) +
            blob(resp) + blob(cb))


def parse_reply(p):
    status, n = struct.unpack_from("=II", p, 0)
    challenge = p[8:8 + n]
    off = 8 + n
    account, = struct.unpack_from("=q", p, off)
    off += 8
    fields = []
    for _ in range(2):
        n, = struct.unpack_from("=I", p, off)
        fields.append(p[off + 4:off + 4 + n].decode())
        assert p[off + 4 + n] == 0
        off += 5 + n
    assert off == len(p), "reply longer than its fields"
    return {"status": status, "challenge": challenge, "account": account,
            "address": fields[0], "reason": fields[1]}


class AuthChild:
    """One `mailkeep-auth` with us as main and as its smtp peer."""

    def __init__(self, srv):
        self.srv = srv
        self.log_path = os.path.join(srv.dir, "auth.log")
        main_us, main_child = socket.socketpair(socket.AF_UNIX,
                                                socket.SOCK_SEQPACKET)
        conf = os.open(srv.conf, os.O_RDONLY)
        hi_ch, hi_conf = os.dup(main_child.fileno()), os.dup(conf)

        def to_3_and_4():
            os.dup2(hi_ch, 3)
            os.dup2(hi_conf, 4)

        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [os.path.join(os.path.dirname(BIN), "mailkeep-auth"), "-c", srv.conf], pass_fds=(3, 4),
            preexec_fn=to_3_and_4, stdout=self.log, stderr=self.log)
        for fd in (hi_ch, hi_conf, conf):
            os.close(fd)
        main_child.close()
        self.main = main_us
        self.peer, theirs = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_SEQPACKET)
        self.send(self.main, MSG_PEER, 0, u32(ROLE_SMTP), fd=theirs.fileno())
        theirs.close()
        self.send(self.main, MSG_START, 0, b"")
        self.reqid = 0
        self.early = {}

    @staticmethod
    def send(sock, mtype, reqid, payload, fd=None):
        data = HDR.pack(mtype, len(payload), reqid, 0) + payload
        if fd is None:
            sock.send(data)
        else:
            socket.send_fds(sock, [data], [fd])

    def step(self, conn, ip, flags, mech, resp, cb=b"", svc=SVC_IMAP):
        self.reqid += 1
        self.send(self.peer, MSG_AUTH_STEP, self.reqid,
                  step_payload(conn, ip, flags, mech, resp, cb, svc))
        return self.reqid

    def cancel(self, conn):
        self.send(self.peer, MSG_AUTH_CANCEL, 0, u32(conn))

    def reply(self, reqid, timeout=10):
        """The reply to reqid (others that come first are kept)."""
        deadline = time.time() + timeout
        while reqid not in self.early:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.peer], [], [], left)[0]:
                raise TimeoutError(f"no reply to request {reqid}")
            data = self.peer.recv(70000)
            mtype, n, rid, _ = HDR.unpack_from(data)
            assert mtype == MSG_AUTH_REPLY and n == len(data) - HDR.size
            self.early[rid] = (time.time(), parse_reply(data[HDR.size:]))
        return self.early.pop(reqid)[1]

    def ask(self, *args, **kw):
        return self.reply(self.step(*args, **kw))

    def plain(self, conn, ip, user, password):
        return self.ask(conn, ip, F_FIRST, "PLAIN",
                        b"\0" + user.encode() + b"\0" + password.encode())

    def stop(self):
        self.main.close()           # main is gone: the child exits
        self.peer.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        text = self.text()
        for mark in SANITIZER_MARKS:
            assert mark not in text, text

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


AUTH_CONF = """
[auth]
fail_delay_after = 2
fail_block_after = 3
fail_window = 1m
"""


@pytest.fixture
def auth(make_server):
    srv = make_server(users=("alice@example.org",), start=False,
                      extra=AUTH_CONF)
    child = AuthChild(srv)
    yield child
    child.stop()


def test_plain_and_login(auth):
    r = auth.plain(1, "127.0.0.1", "Alice@Example.org", "secret-pass-1")
    assert r["status"] == OK and r["address"] == "alice@example.org"
    assert r["account"] == auth.srv.account_id("alice@example.org")
    r = auth.plain(2, "192.0.2.1", "alice@example.org", "wrong")
    assert (r["status"], r["reason"]) == (FAIL, "bad password")
    assert r["account"] == 0 and r["address"] == ""
    # LOGIN without an initial response, step by step
    r = auth.ask(3, "192.0.2.2", F_FIRST | F_NO_IR, "LOGIN", b"")
    assert (r["status"], r["challenge"]) == (CONTINUE, b"Username:")
    r = auth.ask(3, "192.0.2.2", 0, "", b"alice@example.org")
    assert (r["status"], r["challenge"]) == (CONTINUE, b"Password:")
    r = auth.ask(3, "192.0.2.2", 0, "", b"secret-pass-1")
    assert r["status"] == OK
    # cancelled midway: the next step finds nothing
    r = auth.ask(4, "192.0.2.3", F_FIRST | F_NO_IR, "LOGIN", b"")
    auth.cancel(4)
    r = auth.ask(4, "192.0.2.3", 0, "", b"alice@example.org")
    assert (r["status"], r["reason"]) == (FAIL, "no exchange in progress")
    log = auth.text()
    assert ("event=auth-ok service=imap client=127.0.0.1 "
            "user=<alice@example.org> mech=PLAIN account=") in log
    assert ("event=auth-failed service=imap client=192.0.2.1 "
            "user=<alice@example.org> mech=PLAIN reason=\"bad password\"") in log


def test_throttling_with_timers(auth):
    t0 = time.time()
    for i in range(2):
        r = auth.plain(10, "127.0.0.1", "alice@example.org", f"bad{i}")
        assert r["reason"] == "bad password"
    assert time.time() - t0 < 1
    # the third answer is held for a second; meanwhile others are served
    held = auth.step(10, "127.0.0.1", F_FIRST, "PLAIN",
                     b"\0alice@example.org\0bad2")
    t1 = time.time()
    other = auth.step(11, "192.0.2.9", F_FIRST | F_TLS, "PLAIN",
                      b"\0nobody@example.org\0x", svc=SVC_POP3)
    r = auth.reply(other)
    assert r["reason"] == "unknown user" and time.time() - t1 < 0.5
    r = auth.reply(held)
    assert r["reason"] == "bad password"
    assert time.time() - t1 >= 0.9
    # three failures: blocked, even with the right password, from anywhere
    r = auth.plain(12, "127.0.0.1", "alice@example.org", "secret-pass-1")
    assert (r["status"], r["reason"]) == (FAIL, "throttled")
    r = auth.plain(13, "198.51.100.7", "alice@example.org", "secret-pass-1")
    assert (r["status"], r["reason"]) == (FAIL, "throttled")
    log = auth.text()
    assert ('event=auth-failed service=imap client=127.0.0.1 '
            'user=<alice@example.org> mech=PLAIN reason="bad password" '
            'delay=1s') in log
    assert ('event=auth-failed service=pop3 client=192.0.2.9 '
            'user=<nobody@example.org> mech=PLAIN reason="unknown user"') in log
    assert 'reason="throttled"' in log


def scram_final(password, first_bare, server_first, gs2=b"n,,"):
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    ck = hmac.new(salted, b"Client Key", "sha256").digest()
    sk = hashlib.sha256(ck).digest()
    without = f"c={base64.b64encode(gs2).decode()},r={attrs['r']}"
    am = f"{first_bare},{server_first},{without}".encode()
    sig = hmac.new(sk, am, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(ck, sig))
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    v = hmac.new(server_key, am, "sha256").digest()
    return (f"{without},p={base64.b64encode(proof).decode()}".encode(),
            b"v=" + base64.b64encode(v))


def test_scram_sha_256(auth):
    bare = "n=alice@example.org,r=2kRpTcHEFyoG+UgDEpRBdVcJLTWh5WtxARhYOHcG27i"
    r = auth.ask(20, "192.0.2.20", F_FIRST, "SCRAM-SHA-256",
                 ("n,," + bare).encode())
    assert r["status"] == CONTINUE
    server_first = r["challenge"].decode()
    assert server_first.startswith("r=2kRpTcHEFyoG+UgDEpRBdVcJLTWh5WtxARhYOHcG27i")
    assert ",i=4096" in server_first
    final, v = scram_final("secret-pass-1", bare, server_first)
    r = auth.ask(20, "192.0.2.20", 0, "", final)
    assert (r["status"], r["challenge"]) == (CONTINUE, v)
    r = auth.ask(20, "192.0.2.20", 0, "", b"")
    assert r["status"] == OK and r["address"] == "alice@example.org"
    # the wrong password
    r = auth.ask(21, "192.0.2.21", F_FIRST, "SCRAM-SHA-256",
                 ("n,," + bare).encode())
    final, _ = scram_final("secret-pass-2", bare, r["challenge"].decode())
    r = auth.ask(21, "192.0.2.21", 0, "", final)
    assert (r["status"], r["reason"]) == (FAIL, "bad password")
    # -PLUS needs the TLS exporter value
    r = auth.ask(22, "192.0.2.22", F_FIRST, "SCRAM-SHA-256-PLUS",
                 b"p=tls-exporter,," + bare.encode())
    assert r["status"] == FAIL


def test_malformed_requests(auth):
    # a short payload: refused, and the process goes on
    auth.send(auth.peer, MSG_AUTH_STEP, 99, u32(1) + u32(0))
    r = auth.reply(99)
    assert (r["status"], r["reason"]) == (FAIL, "malformed request")
    r = auth.ask(30, "192.0.2.30", F_FIRST, "CRAM-MD5", b"")
    assert (r["status"], r["reason"]) == (FAIL, "unknown mechanism")
    r = auth.ask(31, "192.0.2.31", F_FIRST, "PLAIN", b"no-nuls")
    assert r["status"] == FAIL
    r = auth.plain(32, "192.0.2.32", "alice@example.org", "secret-pass-1")
    assert r["status"] == OK
    assert auth.proc.poll() is None


@pytest.mark.parametrize("extra, words", [
    ("[auth]\nfail_delay_after = 5\nfail_block_after = 4\n",
     "fail_block_after must not be smaller than fail_delay_after"),
    ("[auth]\nfail_delay_after = 0\n", "fail_delay_after: value out of range"),
    ("[auth]\nfail_window = soon\n", "fail_window: expected a duration"),
])
def test_config_checks(make_server, extra, words):
    srv = make_server(users=(), start=False, extra=extra)
    r = srv.cli("config", "check", check=False)
    assert r.returncode == 1 and words in r.stderr, r.stderr
