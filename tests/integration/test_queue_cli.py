"""`mailkeep queue` (issue 5 item 6): list, show, flush, hold, release and
delete through the main process's control socket, with real instances.

The world of test_outbound.py: A (a.test) sends to bob@b.test through
Knot, with B down at first. A's `[queue] retry_min` is long, so after the
first deferral only `mailkeep queue flush` (or release) makes another
attempt happen.
"""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from conftest import BIN, free_port
from dnsworld import dns_world  # noqa: F401  (the fixture)
from test_outbound import RECORDS, message, sender_conf, submit, wait_log

EX_TEMPFAIL = 75


@pytest.fixture
def world(make_server, dns_world):
    """make() -> (A, B); B is not started (a destination that is down)."""
    w = dns_world(RECORDS)

    def make(b_port=None):
        b = make_server(users=("bob@b.test",), domains="b.test",
                        dns=w.forwarder, start=False)
        if b_port is not None:
            b.port = b_port
        a = make_server(sender_conf(b.port, retry=("1h", "2h")),
                        users=("alice@a.test",), domains="a.test", dns=w.forwarder)
        return a, b
    return make


def queued_id(srv, subject):
    """The queue id of the message submitted with this subject."""
    for m in re.finditer(r"queue=(\w+) event=queued", srv.log()):
        qid = m.group(1)
        r = srv.cli("queue", "show", qid, check=False)
        if r.returncode == 0 and f"Subject: {subject}" in r.stdout:
            return qid
    raise AssertionError(f"no queued message with subject {subject}:\n"
                         + srv.log()[-3000:])


def deferred(srv, subject):
    """Submit to bob@b.test and wait for the first deferral; its qid."""
    submit(srv, ["bob@b.test"], message(subject))
    qid = queued_id(srv, subject)
    assert wait_log(srv, r"queue=%s to=<bob@b.test> .*status=deferred" % qid), \
        srv.log()[-3000:]
    return qid


def listing(srv):
    r = srv.cli("queue", "list", "--json")
    return {m["id"]: m for m in json.loads(r.stdout)["messages"]}


def test_list_show_hold_flush_release(world):
    a, b = world()
    qid = deferred(a, "held-one")

    out = a.cli("queue", "list").stdout
    assert qid in out and "<alice@a.test>" in out and "bob@b.test" in out
    assert "remote waiting, 1 attempt, next try" in out, out
    assert re.search(r"\n        \(.+\)\n", out), out      # the last error
    assert "HOLD" not in out
    m = listing(a)[qid]
    assert m["sender"] == "alice@a.test" and m["held"] is False and m["size"] > 0
    (r,) = m["recipients"]
    assert r["address"] == "bob@b.test" and r["state"] == "remote waiting"
    assert r["attempts"] == 1 and r["last_error"] and r["next_try"] > m["arrival"]

    shown = a.cli("queue", "show", qid).stdout
    assert "Subject: held-one" in shown and "Message-ID: <held-one@a.test>" in shown
    assert "Hello from A" not in shown          # the header section only
    assert "headers" in json.loads(a.cli("queue", "show", qid, "--json").stdout)

    assert a.cli("queue", "hold", qid).stdout.strip() == f"{qid}: held"
    assert "HOLD" in a.cli("queue", "list").stdout
    assert wait_log(a, r"queue=%s event=held by=admin" % qid)
    b.start()
    a.cli("queue", "flush")
    assert wait_log(a, r"event=flush by=admin")
    # flush started outbound before it answered: a held message is neither
    # under way nor attempted again
    (r,) = listing(a)[qid]["recipients"]
    assert r["state"] == "remote waiting" and r["attempts"] == 1, r
    assert listing(a)[qid]["held"] is True
    # mail that is not held does go on that flush's heels, the held one not
    assert deferred_then_delivered(a, b, "not-held"), a.log()[-3000:]
    assert [m for m in b.messages("bob@b.test") if b"held-one" in m] == []

    a.cli("queue", "release", qid)
    msgs = b.wait_messages("bob@b.test", 2, timeout=30)
    assert any(b"Subject: held-one" in m for m in msgs), a.log()[-3000:]
    assert wait_log(a, r"queue=%s event=removed" % qid)
    assert "Mail queue is empty" in a.cli("queue", "list").stdout


def deferred_then_delivered(a, b, subject, timeout=30):
    """With B up: submit (A sends at once); True once B has it."""
    submit(a, ["bob@b.test"], message(subject))
    want = f"Subject: {subject}".encode()
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(want in m for m in b.messages("bob@b.test")):
            return True
        time.sleep(0.1)
    return False


def test_delete(world):
    a, b = world()
    qid = deferred(a, "doomed")
    path = os.path.join(a.data, "queue", "msg", qid)
    assert os.path.exists(path)
    r = a.cli("queue", "delete", qid)
    assert r.stdout.strip() == f"{qid}: deleted"
    assert wait_log(a, r"queue=%s event=deleted by=admin" % qid)
    assert "Mail queue is empty" in a.cli("queue", "list").stdout
    assert a.cli("queue", "show", qid, check=False).returncode == 1
    # B up, flush: the deleted message never comes back
    b.start()
    a.cli("queue", "flush")
    assert deferred_then_delivered(a, b, "after-delete")
    assert [m for m in b.messages("bob@b.test") if b"doomed" in m] == []
    assert not os.path.exists(path)
    assert a.messages("alice@a.test") == []     # no bounce either


class Staller:
    """Accepts SMTP connections and says nothing until released: the
    attempt stays under way."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(5)
        self.conns = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def test_delete_while_in_flight(world):
    port = free_port()
    staller = Staller(port)
    try:
        a, b = world(b_port=port)
        submit(a, ["bob@b.test"], message("in-flight"))
        assert staller.accepted.wait(20), a.log()[-3000:]
        qid = queued_id(a, "in-flight")
        (r,) = listing(a)[qid]["recipients"]
        assert r["state"] == "remote active", r
        a.cli("queue", "delete", qid)
    finally:
        staller.close()         # the attempt ends: its outcome is ignored
    assert wait_log(a, r"queue=%s event=attempt-ignored" % qid), a.log()[-3000:]
    assert "Mail queue is empty" in a.cli("queue", "list").stdout
    log = a.log()
    assert not re.search(r"queue=%s to=<bob@b.test> .*status=" % qid, log)
    assert "dsn-for=" not in log
    assert a.messages("alice@a.test") == []


def test_errors_and_daemon_down(world):
    a, b = world()
    sock = os.path.join(a.dir, "run", "control.sock")
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    r = a.cli("queue", "show", "0123456789abcdef", check=False)
    assert r.returncode == 1 and "no such message" in r.stderr
    r = a.cli("queue", "delete", "../queue.db", check=False)
    assert r.returncode == 1 and "not a queue id" in r.stderr
    r = a.cli("queue", "hold", "0123456789abcdef", check=False)
    assert r.returncode == 1
    assert a.cli("queue", "bogus", check=False).returncode == 2
    assert a.cli("queue", "show", check=False).returncode == 2
    assert json.loads(a.cli("queue", "list", "--json").stdout) == {"messages": []}
    a.stop()
    assert not os.path.exists(sock)             # removed at exit
    r = a.cli("queue", "list", check=False)
    assert r.returncode == EX_TEMPFAIL, (r.returncode, r.stderr)
    assert f"cannot reach mailkeep at {sock}" in r.stderr
    assert "mailkeep serve" in r.stderr
    # a stale socket file left behind is replaced at start
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(sock)
    s.close()
    a.start()
    assert a.cli("queue", "list").returncode == 0


def test_other_users_refused(world):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the CLI as another user")
    import pwd
    a, b = world()
    nobody = pwd.getpwnam("nobody")
    sock = os.path.join(a.dir, "run", "control.sock")

    def as_nobody():
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    r = subprocess.run([BIN, "-c", a.conf, "queue", "list"], capture_output=True,
                       text=True, preexec_fn=as_nobody)
    assert r.returncode == 1 and sock in r.stderr, (r.returncode, r.stderr)


def test_queue_process_down_is_temporary(world):
    """The queue process dies while a request waits for it: the CLI gets
    a temporary error (75), not a hang; afterwards it works again."""
    a, b = world()
    queue = a.child_pid("queue")
    os.kill(queue, signal.SIGSTOP)
    try:
        cli = subprocess.Popen([BIN, "-c", a.conf, "queue", "list"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        assert wait_log(a, r"control=\d+ event=forwarded type=400"), a.log()[-2000:]
    finally:
        os.kill(queue, signal.SIGKILL)
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == EX_TEMPFAIL, (cli.returncode, out, err)
    assert "queue process" in err and "try again" in err
    assert wait_log(a, r"child=queue pid=\d+ event=started", count=2)
    deadline = time.time() + 30
    while a.cli("queue", "list", check=False).returncode != 0:
        assert time.time() < deadline, a.log()[-2000:]
        time.sleep(0.1)


def test_clients_that_misbehave(world):
    """Many CLIs at once, one that sends garbage, ones that vanish
    mid-request: main and the queue go on serving."""
    import struct
    a, b = world()
    qid = deferred(a, "busy")
    path = os.path.join(a.dir, "run", "control.sock")
    conns = []
    for i in range(70):                 # more than main serves at once
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        conns.append(s)
    # the first 64 are served, the others refused (all before any request,
    # so that no early close frees a place)
    assert wait_log(a, r"control=\d+ event=refused reason=\"64 connections")
    conns[0].send(b"\x01\x02\x03")      # not a record
    conns[1].send(struct.pack("=IIII", 999, 0, 7, 0))    # unknown kind
    for s in conns[2:10]:               # a list, then gone before the answer
        s.send(struct.pack("=IIII", 400, 0, 1, 0))
        s.close()
    # a request on a served connection is answered with an item and DONE
    s = conns[20]
    s.send(struct.pack("=IIII", 400, 0, 5, 0))
    s.settimeout(10)
    kinds = []
    while not kinds or kinds[-1] != 407:
        rec = s.recv(1 << 20)
        kind, length, reqid, _ = struct.unpack("=IIII", rec[:16])
        assert reqid == 5 and length == len(rec) - 16
        kinds.append(kind)
    assert kinds == [406, 407]
    for s in conns:
        s.close()
    assert qid in a.cli("queue", "list").stdout
    assert a.proc.poll() is None
