"""The daemon itself: privilege separation, supervision of crashed children,
SIGHUP reload (configuration and certificate), SIGTERM, `config check`,
and the log format (issue 2 §3).
"""
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BIN, SANITIZER_MARKS, Server

CHILDREN = ("smtp", "queue", "auth")
SENDER = "sender@remote.test"


def is_asan_build():
    try:
        with open(BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


ASAN = is_asan_build()


def assert_no_sanitizer_report(text):
    for mark in SANITIZER_MARKS:
        assert mark not in text, text[-6000:]


@pytest.fixture
def own_server(server_root, tls_files):
    """Like make_server, but the test checks the log for sanitizer reports
    itself (after stopping the server), so a known report can be xfailed."""
    servers = []

    def make(extra="", users=("alice@example.org", "bob@example.net")):
        srv = Server(os.path.join(server_root, f"own{len(servers)}"), tls_files, extra)
        servers.append(srv)
        for u in users:
            srv.add_user(u)
        return srv.start()

    yield make
    for srv in servers:
        srv.stop()


def smtp(srv, timeout=10):
    return smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.remote.test",
                        timeout=timeout)


def message(tag):
    return (f"From: {SENDER}\r\nTo: alice@example.org\r\nSubject: {tag}\r\n"
            f"Message-ID: <{tag}@remote.test>\r\n\r\nbody {tag}\r\n").encode()


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_for(pred, timeout=15, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def wait_log(srv, needle, timeout=15):
    return wait_for(lambda: needle in srv.log(), timeout)


def log_count(srv, needle):
    return srv.log().count(needle)


def send_until_accepted(srv, rcpt="alice@example.org", timeout=30):
    """Send one message, retrying on 4xx and connection errors while the
    daemon recovers (bounded); returns (queue id, tag)."""
    tag = uuid.uuid4().hex
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with smtp(srv, timeout=5) as s:
                s.ehlo()
                s.mail(SENDER)
                code, text = s.rcpt(rcpt)
                if code == 250:
                    code, text = s.data(message(tag))
                    if code == 250:
                        return text.decode().split()[-1], tag
                assert code < 500, (code, text)
                last = (code, text)
        except (OSError, smtplib.SMTPException) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"no 250 within {timeout}s, last: {last}\n{srv.log()[-3000:]}")


def delivered(srv, tag, address="alice@example.org", qid=None, timeout=15):
    """Copies of the message tagged tag in address's mailbox; with its queue
    id, counted once the queue is done with it (so duplicates show)."""
    if qid is not None:
        assert wait_log(srv, f"queue={qid} event=removed", timeout), srv.log()[-3000:]
    return wait_for(lambda: sum(tag.encode() in m for m in srv.messages(address)),
                    timeout)


def proc_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise KeyError(pid)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def new_child_pid(srv, role, old, timeout=20):
    """The pid of role's next incarnation, once main has started it."""
    def probe():
        try:
            pid = srv.child_pid(role)
        except KeyError:
            return None
        return pid if pid != old and alive(pid) else None
    return wait_for(probe, timeout)


def child_reloaded(srv, count_before, timeout=15):
    return wait_for(lambda: log_count(srv, "event=reloaded") > count_before,
                    timeout)


def set_option(srv, old, new):
    with open(srv.conf) as f:
        text = f.read()
    assert old in text
    with open(srv.conf, "w") as f:
        f.write(text.replace(old, new))


# ---- privilege separation ----

def test_children_run_unprivileged(server):
    if os.geteuid() != 0:
        pytest.skip("privilege separation needs the tests to run as root")
    daemon_user = pwd.getpwnam("mailkeep")
    assert proc_uid(server.proc.pid) == [0, 0, 0, 0]
    pids = server.pids()
    for role in CHILDREN:
        assert server.child_pid(role) in pids, role
    # every child of main, whatever its role, runs as the daemon user
    for pid in pids[1:]:
        assert proc_uid(pid) == [daemon_user.pw_uid] * 4, pid
        with open(f"/proc/{pid}/status") as f:
            gid_line = [l for l in f if l.startswith("Gid:")][0]
        assert [int(x) for x in gid_line.split()[1:]] == [daemon_user.pw_gid] * 4
    # the data the children write belongs to the daemon user
    assert os.stat(os.path.join(server.data, "queue")).st_uid == daemon_user.pw_uid


def mapped_libraries(pid):
    """Base names of the shared objects a process maps."""
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(l.split()[5]).split(".so")[0]
                for l in f if len(l.split()) > 5 and ".so" in l.split()[5]}


def test_each_process_is_its_own_program(server):
    """Every process runs its own program and maps only its role's
    libraries: main (which keeps root when started as root) no OpenSSL,
    SQLite or DNS resolver, auth no TLS or resolver."""
    names = {}
    for pid in server.pids():
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            names[os.path.basename(f.read().split(b"\0")[0].decode())] = pid
    assert set(names) >= {"mailkeep-main", "mailkeep-smtp", "mailkeep-queue",
                          "mailkeep-auth"}, names
    main = mapped_libraries(names["mailkeep-main"])
    assert "libc" in main
    assert not main & {"libssl", "libcrypto", "libsqlite3", "libunbound",
                       "libpsl"}, main
    auth = mapped_libraries(names["mailkeep-auth"])
    assert "libsqlite3" in auth
    assert not auth & {"libssl", "libunbound", "libpsl"}, auth
    assert {"libssl", "libunbound"} <= mapped_libraries(names["mailkeep-smtp"])


# ---- supervision ----

@pytest.mark.parametrize("role", CHILDREN)
def test_killed_child_is_restarted(server, role):
    old = server.child_pid(role)
    main = server.proc.pid
    os.kill(old, signal.SIGKILL)
    assert wait_log(server, f"child={role} event=crashed signal=9")
    new = new_child_pid(server, role, old)
    assert new, server.log()[-3000:]
    assert server.proc.poll() is None and server.proc.pid == main
    # the other children kept running
    for other in CHILDREN:
        if other != role:
            assert alive(server.child_pid(other))
    qid, tag = send_until_accepted(server)
    assert delivered(server, tag, qid=qid) == 1


def test_two_children_killed_together(server):
    olds = {r: server.child_pid(r) for r in ("smtp", "queue")}
    for pid in olds.values():
        os.kill(pid, signal.SIGKILL)
    for role, old in olds.items():
        assert new_child_pid(server, role, old), role
    qid, tag = send_until_accepted(server)
    assert delivered(server, tag, qid=qid) == 1


# ---- queue files in hand (src/smtp/smtp_spares.c) ----

def spool_files(srv):
    """The queue's message files: name -> size."""
    d = os.path.join(srv.data, "queue", "msg")
    files = {}
    for n in os.listdir(d):
        try:
            if not n.startswith("."):
                files[n] = os.path.getsize(os.path.join(d, n))
        except FileNotFoundError:   # removed meanwhile
            pass
    return files


def burst(srv, n=8):
    """n messages from n sessions at once; each delivered exactly once.
    Returns the spare files smtp holds afterwards (all empty)."""
    results = []
    threads = [threading.Thread(target=lambda: results.append(send_until_accepted(srv)))
               for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == n
    for qid, tag in results:
        assert delivered(srv, tag, qid=qid) == 1
    # once the queue has removed the delivered ones (after its removal
    # records are durable), what is left are files nobody wrote to
    assert wait_for(lambda: all(size == 0 for size in spool_files(srv).values())), \
        spool_files(srv)
    spares = spool_files(srv)
    assert spares
    return set(spares)


def test_spare_queue_files_are_not_messages(server):
    spares = burst(server)
    assert len(spares) <= 32        # SMTP_SPARES_MAX
    listed = json.loads(server.cli("queue", "list", "--json").stdout)["messages"]
    assert listed == []
    # the next message takes one of them: no file is made for it meanwhile
    qid, tag = send_until_accepted(server)
    assert qid in spares
    assert delivered(server, tag, qid=qid) == 1


@pytest.mark.parametrize("role", ("smtp", "queue"))
def test_spare_files_go_when_smtp_or_queue_dies(server, role):
    spares = burst(server)
    old = server.child_pid(role)
    os.kill(old, signal.SIGKILL)
    assert new_child_pid(server, role, old), server.log()[-3000:]
    # smtp died: the queue drops what it had handed out; queue died: the
    # new one removes loose files at its start
    assert wait_for(lambda: not spares & set(spool_files(server))), \
        (spares, spool_files(server))
    qid, tag = send_until_accepted(server)
    assert qid not in spares
    assert delivered(server, tag, qid=qid) == 1


# ---- SIGHUP ----

def test_reload_applies_to_new_sessions_old_session_finishes(make_server):
    srv = make_server("[smtp]\nmax_recipients = 5\n",
                      users=("alice@example.org", "bob@example.net"))
    tag = uuid.uuid4().hex
    old = smtp(srv)
    old.ehlo()
    assert old.mail(SENDER)[0] == 250
    assert old.rcpt("alice@example.org")[0] == 250
    assert old.rcpt("bob@example.net")[0] == 250

    set_option(srv, "max_recipients = 5", "max_recipients = 1")
    before = log_count(srv, "event=reloaded")
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_log(srv, "event=reload status=ok")
    assert child_reloaded(srv, before)

    with smtp(srv) as new:
        new.ehlo()
        new.mail(SENDER)
        assert new.rcpt("alice@example.org")[0] == 250
        code, text = new.rcpt("bob@example.net")
        assert code == 452 and text.startswith(b"4.5.3"), text

    # the session opened before the reload is still there and delivers
    code, text = old.data(message(tag))
    assert code == 250, text
    old.quit()
    qid = text.decode().split()[-1]
    assert delivered(srv, tag, qid=qid) == 1
    assert delivered(srv, tag, "bob@example.net") == 1


def repair_config(srv, bad):
    with open(srv.conf) as f:
        text = f.read()
    with open(srv.conf, "w") as f:
        f.write(text.replace(bad, ""))


BAD_LINE = "this is not a config line\n"


def test_reload_with_broken_config_keeps_running(own_server):
    srv = own_server("[smtp]\nmax_recipients = 5\n")
    with open(srv.conf, "a") as f:
        f.write(BAD_LINE)
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_log(srv, "event=reload status=failed")
    line = [l for l in srv.log().splitlines() if "event=reload status=failed" in l][0]
    assert f"{srv.conf}:" in line and "keeping the running configuration" in line
    assert srv.proc.poll() is None
    # the old settings still hold: 2 recipients are fine, mail flows
    with smtp(srv) as s:
        s.ehlo()
        s.mail(SENDER)
        assert s.rcpt("alice@example.org")[0] == 250
        assert s.rcpt("bob@example.net")[0] == 250
    qid, tag = send_until_accepted(srv)
    assert wait_log(srv, f"queue={qid} event=removed")
    # the CLI reads the file too: repair it before looking at the mailbox
    repair_config(srv, BAD_LINE)
    assert delivered(srv, tag, qid=qid) == 1
    srv.stop()
    assert_no_sanitizer_report(srv.log())


def test_child_crash_after_failed_reload_keeps_serving(own_server):
    srv = own_server()
    with open(srv.conf, "a") as f:
        f.write(BAD_LINE)
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_log(srv, "event=reload status=failed")
    old = srv.child_pid("smtp")
    os.kill(old, signal.SIGKILL)
    assert new_child_pid(srv, "smtp", old)
    qid, tag = send_until_accepted(srv, timeout=8)
    assert wait_log(srv, f"queue={qid} event=removed")
    repair_config(srv, BAD_LINE)
    assert delivered(srv, tag, qid=qid) == 1
    srv.stop()
    assert_no_sanitizer_report(srv.log())


def make_cert(directory, cn):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", f"/CN={cn}",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    with open(cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def peer_cert(s):
    return s.sock.getpeercert(binary_form=True)


def test_certificate_reload(make_server):
    srv = make_server(start=False)
    tls_dir = os.path.join(srv.dir, "tls")
    os.makedirs(tls_dir)
    first = make_cert(tls_dir, "first.example.org")
    with open(srv.conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^cert = .*$", f"cert = {tls_dir}/cert.pem", text)
    text = re.sub(r"(?m)^key = .*$", f"key = {tls_dir}/key.pem", text)
    with open(srv.conf, "w") as f:
        f.write(text)
    srv.start()

    old = smtp(srv)
    old.starttls(context=tls_context())
    assert peer_cert(old) == first

    # renewal as certbot does it: new files, then a SIGHUP
    staging = os.path.join(srv.dir, "tls-new")
    os.makedirs(staging)
    second = make_cert(staging, "second.example.org")
    assert second != first
    for name in ("cert.pem", "key.pem"):
        os.replace(os.path.join(staging, name), os.path.join(tls_dir, name))
    before = log_count(srv, "event=reloaded")
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_log(srv, "event=reload status=ok")
    assert child_reloaded(srv, before)

    with smtp(srv) as new:
        new.starttls(context=tls_context())
        assert peer_cert(new) == second
        new.ehlo()
        new.sendmail(SENDER, ["alice@example.org"], message("new-" + uuid.uuid4().hex))

    # the session that started TLS before the renewal still works
    tag = uuid.uuid4().hex
    old.ehlo()
    assert old.mail(SENDER)[0] == 250
    assert old.rcpt("alice@example.org")[0] == 250
    code, text = old.data(message(tag))
    assert code == 250, text
    assert old.quit()[0] == 221
    assert delivered(srv, tag, qid=text.decode().split()[-1]) == 1


def test_quit_reply_after_starttls(server):
    s = smtp(server)
    s.starttls(context=tls_context())
    s.ehlo()
    assert s.noop()[0] == 250
    code, text = s.docmd("QUIT")
    assert code == 221 and text.startswith(b"2.0.0")
    s.close()


def test_certificate_reload_with_bad_key_keeps_old(make_server):
    srv = make_server(start=False)
    tls_dir = os.path.join(srv.dir, "tls")
    os.makedirs(tls_dir)
    first = make_cert(tls_dir, "first.example.org")
    with open(srv.conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^cert = .*$", f"cert = {tls_dir}/cert.pem", text)
    text = re.sub(r"(?m)^key = .*$", f"key = {tls_dir}/key.pem", text)
    with open(srv.conf, "w") as f:
        f.write(text)
    srv.start()
    # a key that does not match the certificate
    other = os.path.join(srv.dir, "other")
    os.makedirs(other)
    make_cert(other, "other.example.org")
    shutil.copy(os.path.join(other, "key.pem"), os.path.join(tls_dir, "key.pem"))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "event=reload status=failed" in srv.log() or
                    "event=tls status=failed" in srv.log())
    assert srv.proc.poll() is None
    with smtp(srv) as s:
        s.starttls(context=tls_context())
        assert peer_cert(s) == first


# ---- SIGTERM ----

def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        lines.append(line)
        if line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


def test_sigterm_idle_client_gets_421_and_exit_0(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    f = sock.makefile("rb")
    assert read_reply(f)[0] == 220
    sock.sendall(b"EHLO client.remote.test\r\n")
    assert read_reply(f)[0] == 250
    server.proc.send_signal(signal.SIGTERM)
    code, text = read_reply(f)
    assert code == 421 and text.startswith(b"421 4.3.2"), text
    assert f.readline() == b""
    sock.close()
    assert server.proc.wait(30) == 0
    assert "event=stopped" in server.log()
    assert "event=crashed" not in server.log()


def test_sigterm_idle_tls_client_gets_421(server):
    s = smtp(server)
    s.starttls(context=tls_context())
    s.ehlo()
    server.proc.send_signal(signal.SIGTERM)
    code, text = s.getreply()
    assert code == 421 and text.startswith(b"4.3.2"), text
    s.close()
    assert server.proc.wait(30) == 0


def test_sigterm_lets_message_being_sent_finish(server):
    tag = uuid.uuid4().hex
    s = smtp(server)
    s.ehlo()
    s.mail(SENDER)
    s.rcpt("alice@example.org")
    assert s.docmd("DATA")[0] == 354
    s.send(message(tag))
    server.proc.send_signal(signal.SIGTERM)
    assert wait_log(server, "event=shutdown")
    s.send(b".\r\n")
    code, text = s.getreply()
    s.close()
    assert code == 250, text
    assert server.proc.wait(30) == 0
    server.stop()
    server.start()
    assert delivered(server, tag, qid=text.decode().split()[-1]) == 1


def test_sigterm_lets_open_transaction_finish(server):
    tag = uuid.uuid4().hex
    s = smtp(server)
    s.ehlo()
    assert s.mail(SENDER)[0] == 250
    assert s.rcpt("alice@example.org")[0] == 250
    server.proc.send_signal(signal.SIGTERM)
    assert wait_log(server, "event=shutdown")
    code, text = s.data(message(tag))
    assert code == 250, text
    qid = text.decode().split()[-1]
    # and then the session is told to go away
    code, text = s.docmd("NOOP")
    assert code == 421 and text.startswith(b"4.3.2")
    s.close()
    assert server.proc.wait(30) == 0
    # the accepted message is delivered (now or at the next start)
    server.stop()
    server.start()
    assert delivered(server, tag, qid=qid) == 1


# ---- configuration errors ----

GOOD_EXTRA = "[smtp]\nmax_recipients = 50\n"


@pytest.mark.parametrize("line, reason", [
    ("frobnicate = yes", "unknown option 'frobnicate'"),
    ("max_recipients = many", "max_recipients"),
    ("max_recipients = 7", "given twice"),
    ("[nosuchsection]", "unknown section"),
    ("just words", "expected key = value"),
])
def test_config_check_reports_file_and_line(make_server, line, reason):
    srv = make_server(GOOD_EXTRA, users=(), start=False)
    ok = srv.cli("config", "check")
    assert ok.returncode == 0 and ok.stdout.strip() == f"{srv.conf}: ok"
    with open(srv.conf) as f:
        lines = f.read().splitlines()
    lines.append(line)
    with open(srv.conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    bad = srv.cli("config", "check", check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"{srv.conf}:{len(lines)}: "), bad.stderr
    assert reason in bad.stderr
    assert_no_sanitizer_report(bad.stderr)


def test_serve_refuses_unknown_key(make_server):
    srv = make_server(users=(), start=False)
    with open(srv.conf, "a") as f:
        f.write("[smtp]\nmax_recipent = 10\n")
    r = subprocess.run([BIN, "-c", srv.conf, "serve"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "unknown option 'max_recipent'" in r.stderr
    assert "event=start status=failed" in r.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
    assert_no_sanitizer_report(r.stderr)


def test_serve_refuses_missing_certificate(make_server):
    srv = make_server(users=(), start=False)
    set_option(srv, "[tls]\ncert = ", f"[tls]\ncert = {srv.dir}/missing.pem\n# was: ")
    r = subprocess.run([BIN, "-c", srv.conf, "serve"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "missing.pem" in r.stderr or "No such file" in r.stderr, r.stderr
    assert_no_sanitizer_report(r.stderr)


def test_serve_refuses_open_key_and_wrong_key(make_server, tmp_path):
    """The certificate check (run in a child of main, main never loads
    OpenSSL) still stops a start with its reason."""
    srv = make_server(users=(), start=False)
    make_cert(str(tmp_path), "mx.example.org")
    other = tmp_path / "other"
    os.makedirs(other)
    make_cert(str(other), "other.example.org")
    key = str(tmp_path / "key.pem")
    set_option(srv, "[tls]\ncert = ", f"[tls]\ncert = {tmp_path}/cert.pem\n# was: ")
    set_option(srv, "key = ", f"key = {key}\n# was: ")
    os.chmod(key, 0o644)
    r = subprocess.run([BIN, "-c", srv.conf, "serve"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "readable by group or others" in r.stderr, r.stderr
    shutil.copy(str(other / "key.pem"), key)
    os.chmod(key, 0o600)
    r = subprocess.run([BIN, "-c", srv.conf, "serve"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "tls cert" in r.stderr, r.stderr
    assert_no_sanitizer_report(r.stderr)


# ---- the log ----

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                  r"(main|smtp|queue|auth)\[\d+\]: (?:(?:warn|error): )?\S+=\S")


def test_log_tells_the_story_of_a_message(server):
    qid, tag = send_until_accepted(server)
    assert delivered(server, tag, qid=qid) == 1
    assert wait_log(server, f"queue={qid} event=removed")
    log = server.log().splitlines()
    for line in log:
        assert LINE.match(line), line
    story = [l for l in log if qid in l]
    # every line naming the message says queue=ID, and the smtp side
    # names the session too
    assert all(f"queue={qid}" in l for l in story if "reply=" not in l), story
    session = re.search(r"session=(\w+)", story[0]).group(1)
    for l in story:
        if " smtp[" in l and "reply=" not in l:
            assert f"session={session}" in l, l

    def at(needle):
        for i, l in enumerate(story):
            if needle in l:
                return i
        raise AssertionError(f"{needle} missing from:\n" + "\n".join(story))

    data = at("event=data")
    committed = at("event=committed")
    queued = at("event=queued")
    dlv = at("status=delivered")
    removed = at("event=removed")
    assert data < committed < queued
    assert committed < dlv < removed
    assert f"session={session}" in story[committed]
    assert "mailbox=alice@example.org" in story[dlv]
    # the session's own lines: connect ... disconnect
    sess = [l for l in log if f"session={session} " in l]
    assert "event=connect" in sess[0] and "event=disconnect" in sess[-1]
