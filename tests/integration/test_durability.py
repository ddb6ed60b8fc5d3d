"""Durability: nothing acknowledged is lost, nothing is delivered twice
(DESIGN §5, §8; issue 2 §5).

* The kill -9 loop: concurrent clients stream 500 uniquely identified
  messages while mailkeep processes (main, smtp, queue, auth) are killed with
  SIGKILL at random moments; afterwards every message that got a 250 is in
  the mailbox exactly once, and no message is there twice.
* A committed but undelivered message survives kill -9 of the whole daemon.
* Disk full: 4xx, never a 250 for what was not stored; mail flows again
  once space is freed, and every accepted message arrives exactly once.

The queue retries a deferred recipient after 60 s. Rather than sleep, the
tests that need a retry make it due with `mailkeep queue flush`.
"""
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

N_MESSAGES = 500
N_CLIENTS = 6
N_KILLS = 8
SEND_DEADLINE = 150         # seconds for the whole stream, kills included
REPLY_TIMEOUT = 10
SENDER = "loop@remote.test"
RCPT = "alice@example.org"
MSGID = re.compile(rb"^Message-ID: <([^>]+)>", re.M | re.I)


# ---- a minimal SMTP client that knows where it failed ----

class Retry(Exception):
    """Failed before the end of data was sent: nothing can be stored."""


class Reply(Exception):
    pass


def read_reply(f):
    lines = []
    while True:
        line = f.readline(1024)
        if not line:
            raise EOFError("connection closed")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


def expect(f, want):
    code, text = read_reply(f)
    if code != want:
        raise Reply(code, text)
    return text


def send_once(port, msg):
    """One attempt: the reply code to the end of data ('250', '451', ...) or
    'noreply'; raises Retry for any failure before the end of data was sent
    (connection refused, 4xx at RCPT or DATA, reset)."""
    sent = False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT) as s:
            f = s.makefile("rb")
            expect(f, 220)
            for cmd, want in ((b"EHLO client.remote.test", 250),
                              (b"MAIL FROM:<%s>" % SENDER.encode(), 250),
                              (b"RCPT TO:<%s>" % RCPT.encode(), 250),
                              (b"DATA", 354)):
                s.sendall(cmd + b"\r\n")
                expect(f, want)
            sent = True
            s.sendall(msg + b".\r\n")
            code, _ = read_reply(f)
            s.sendall(b"QUIT\r\n")
    except Reply as e:
        code = e.args[0]
        if not sent and code < 500:
            raise Retry(e) from None
        if not sent:
            return "5xx-before-data"
    except (OSError, EOFError, ValueError) as e:
        if not sent:
            raise Retry(e) from None
        return "noreply"
    return str(code)


def make_message(mid, size):
    body = b"".join(b"line %05d of %s\r\n" % (i, mid.encode())
                    for i in range(size // 40))
    return (b"From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\n"
            % (SENDER.encode(), RCPT.encode(), mid.encode(), mid.encode()) + body)


# ---- process helpers ----

def alive(pid):
    """Exists and is not a zombie (PID 1 in a container may not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_for(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def kill_daemon(srv, pids=None):
    """SIGKILL main; the children follow (parent-death signal); wait for them."""
    pids = pids or srv.pids()
    os.kill(pids[0], signal.SIGKILL)
    srv.proc.wait(10)
    if not wait_for(lambda: not any(alive(p) for p in pids[1:]), 10):
        for p in pids[1:]:
            if alive(p):        # our daemon's orphans: end them by PID
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass        # it finished dying meanwhile
        wait_for(lambda: not any(alive(p) for p in pids[1:]), 5)
    srv.stop()                  # closes the log; proc is already gone


def current_child(srv, role, timeout=20, exclude=()):
    """The pid of role's running incarnation, once main has started it.
    `exclude`: pids already killed, which may not have finished dying yet
    (a SIGKILLed process is not a zombie at once)."""
    def probe():
        try:
            pid = srv.child_pid(role)
        except KeyError:
            return None
        return pid if pid not in exclude and alive(pid) and pid in srv.pids() else None
    return wait_for(probe, timeout)


def flush_queue(srv, timeout=60):
    """`mailkeep queue flush`: every deferred recipient is due now. Exit
    75 means the queue process is (re)starting: asked again then."""
    r = wait_for(lambda: srv.cli("queue", "flush", check=False).returncode == 0,
                 timeout, step=0.2)
    assert r, srv.log()[-3000:]


def queue_files(srv):
    """Message files in the queue; the empty files the smtp process keeps
    in hand for its next messages (src/smtp/smtp_spares.c) are none."""
    d = os.path.join(srv.data, "queue", "msg")
    names = []
    for n in os.listdir(d):
        try:
            if not n.startswith(".") and os.path.getsize(os.path.join(d, n)) > 0:
                names.append(n)
        except FileNotFoundError:   # removed meanwhile
            pass
    return names


def mailbox_ids(srv, address=RCPT):
    """Message-ID of every file in the mailbox (duplicates kept)."""
    ids = []
    for m in srv.messages(address):
        found = MSGID.search(m)
        assert found, m[:300]
        ids.append(found.group(1).decode())
    return ids


def drain(srv, expected_ids, timeout=60):
    """Make the retries due and wait until the queue is empty and every
    expected id has arrived."""
    flush_queue(srv)
    ok = wait_for(lambda: not queue_files(srv) and
                  expected_ids <= set(mailbox_ids(srv)), timeout, step=0.2)
    return ok


def check_once(srv, accepted, maybe):
    """accepted: ids that got 250; maybe: ids that got 4xx or no reply."""
    ids = mailbox_ids(srv)
    dups = sorted({i for i in ids if ids.count(i) > 1})
    assert not dups, f"delivered more than once: {dups[:10]}"
    missing = sorted(accepted - set(ids))
    assert not missing, f"250 but not in the mailbox: {missing[:10]}"
    unknown = set(ids) - accepted - maybe
    assert not unknown, f"in the mailbox but never sent: {sorted(unknown)[:10]}"


# ---- the kill -9 loop ----

def test_kill9_loop(make_server):
    seed = int(os.environ.get("MAILKEEP_TEST_SEED", time.time()))
    rng = random.Random(seed)
    srv = make_server(users=(RCPT,))
    run = uuid.uuid4().hex[:8]
    work = list(range(N_MESSAGES))
    results = {}
    lock = threading.Lock()
    deadline = time.time() + SEND_DEADLINE
    # The run is cut into N_KILLS + 1 segments of messages; clients may not
    # start a message past the current segment until its kill happened, so
    # every kill lands in the middle of traffic however fast the machine is.
    seg = N_MESSAGES // (N_KILLS + 1)
    gate = [seg]
    kills = []
    killed = set()
    errors = []

    def client():
        local = random.Random(rng.random())
        while time.time() < deadline:
            with lock:
                if not work:
                    return
                i = work.pop(0)
            wait_for(lambda: i < gate[0] or time.time() > deadline,
                     SEND_DEADLINE, 0.01)
            mid = f"kill9-{run}-{i}@test.invalid"
            msg = make_message(mid, local.choice((400, 2000, 20000)))
            while time.time() < deadline:
                try:
                    outcome = send_once(srv.port, msg)
                    break
                except Retry:
                    time.sleep(local.uniform(0.05, 0.2))
            else:
                outcome = "unsent"
            with lock:
                results[mid] = outcome

    def kill(role, pid):
        if role == "main":
            kill_daemon(srv, pid)
            kills.append(("main", len(results)))
            srv.start()
            return
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
        kills.append((role, len(results)))

    def killer():
        targets = ["main", "smtp", "queue", "auth"] * (N_KILLS // 4)
        rng.shuffle(targets)
        try:
            for k, role in enumerate(targets):
                # the victim first (reading the log takes a while), then
                # a random point inside segment k, while clients are busy
                pid = srv.pids() if role == "main" else \
                    current_child(srv, role, exclude=killed)
                assert pid, f"no running {role} child"
                point = k * seg + rng.randint(seg // 4, seg - N_CLIENTS)
                wait_for(lambda: len(results) >= point or time.time() > deadline,
                         SEND_DEADLINE, 0.005)
                if time.time() > deadline:
                    break
                time.sleep(rng.uniform(0, 0.05))
                kill(role, pid)
                gate[0] = (k + 2) * seg
        except Exception as e:      # reported by the test thread
            errors.append(e)
        finally:
            gate[0] = N_MESSAGES

    threads = [threading.Thread(target=client) for _ in range(N_CLIENTS)]
    threads.append(threading.Thread(target=killer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(SEND_DEADLINE + 60)
    assert not any(t.is_alive() for t in threads), "threads did not finish"
    assert not errors, errors
    context = f"seed={seed} kills={kills}"
    assert len(kills) == N_KILLS, context
    bad = {m: r for m, r in results.items()
           if r not in ("250", "noreply") and not r.startswith("4")}
    assert not bad, (context, bad)
    accepted = {m for m, r in results.items() if r == "250"}
    maybe = set(results) - accepted
    # the loop must really have exercised the daemon
    assert len(results) == N_MESSAGES, context
    assert len(accepted) >= N_MESSAGES // 2, (context, len(accepted))
    log = srv.log()
    for role in ("smtp", "queue", "auth"):
        assert f"child={role} event=crashed signal=9" in log, (role, context)

    assert drain(srv, accepted), (context, srv.log()[-3000:])
    srv.stop()
    check_once(srv, accepted, maybe)


# ---- a committed message survives kill -9 ----

def test_committed_undelivered_message_survives_kill9(make_server):
    if os.geteuid() != 0:
        pytest.skip("needs root to make the mailbox unwritable for the daemon user")
    srv = make_server(users=(RCPT,))
    account = os.path.join(srv.data, "accounts", str(srv.account_id(RCPT)))
    mode = os.stat(account).st_mode & 0o7777
    mid = f"survivor-{uuid.uuid4().hex}@test.invalid"
    # the store refuses the delivery: the message stays committed in the queue
    os.chmod(account, 0)
    try:
        assert send_once(srv.port, make_message(mid, 2000)) == "250"
        qid = re.findall(r"queue=(\w+) event=queued", srv.log())[-1]
        deferred = re.compile(rf"queue={qid} to=<{RCPT}> .*status=deferred")
        assert wait_for(lambda: deferred.search(srv.log()), 15), srv.log()[-2000:]
        assert qid in queue_files(srv)
        kill_daemon(srv)
    finally:
        os.chmod(account, mode)
    assert qid in queue_files(srv)
    assert srv.messages(RCPT) == []
    srv.start()
    flush_queue(srv)
    assert wait_for(lambda: f"queue={qid} event=removed" in srv.log(), 15)
    assert mailbox_ids(srv) == [mid]
    # the file goes once the queue's removal record is durable
    assert wait_for(lambda: qid not in queue_files(srv), 15), queue_files(srv)


# ---- disk full ----

TMPFS_SIZE = "4m"


@pytest.fixture
def small_disk_server(make_server):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    srv = make_server(users=(), start=False)
    os.makedirs(srv.data)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755",
                        "tmpfs", srv.data], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        srv.add_user(RCPT)
        srv.start()
        yield srv
    finally:
        srv.stop()
        subprocess.run(["umount", srv.data], capture_output=True)
        if os.path.ismount(srv.data):
            subprocess.run(["umount", "-l", srv.data], capture_output=True)


def free_kib(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize // 1024


def test_disk_full(small_disk_server):
    srv = small_disk_server
    run = uuid.uuid4().hex[:8]
    filler = os.path.join(srv.data, "filler")
    # leave about 600 KiB: a handful of 60 KiB messages fill the rest
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, (free_kib(srv.data) - 600) * 1024))
    results = {}
    refusals = 0
    for i in range(80):
        mid = f"full-{run}-{i}@test.invalid"
        try:
            results[mid] = send_once(srv.port, make_message(mid, 60000))
        except Retry:       # a 4xx at RCPT or DATA is a fine refusal too
            results[mid] = "4xx-before-data"
        # a refusal is temporary (451/452), never a bounce, never silence
        assert results[mid] == "250" or results[mid].startswith("4"), \
            (mid, results[mid], srv.log()[-3000:])
        if results[mid] != "250":
            refusals += 1
            if refusals >= 4:
                break
    assert refusals >= 4, ("the disk never filled", free_kib(srv.data))
    assert srv.proc.poll() is None
    assert {"451", "452"} & set(results.values()), results

    os.unlink(filler)
    # mail flows again (bounded: the first attempts may still meet a full WAL)
    for i in range(20):
        mid = f"after-{run}-{i}@test.invalid"
        try:
            results[mid] = send_once(srv.port, make_message(mid, 2000))
        except Retry:
            results[mid] = "4xx-before-data"
        if results[mid] == "250":
            break
        time.sleep(0.2)
    assert results[mid] == "250", srv.log()[-3000:]

    accepted = {m for m, r in results.items() if r == "250"}
    maybe = {m for m, r in results.items() if r.startswith("4")}
    assert drain(srv, accepted), srv.log()[-3000:]
    srv.stop()
    check_once(srv, accepted, maybe)
