"""Test harness: starts a real `mailkeep serve` in a temporary data dir.

Every test talks to the real daemon over loopback with real clients. The
binary comes from $MAILKEEP_BIN (the Makefile sets it; the ASan build is
run the same way). After each server stops, its log is checked for
sanitizer reports, so a memory error anywhere fails the test that caused it.
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAILKEEP_BIN", os.path.join(ROOT, "build", "mailkeep"))
# The external conformance data lives beside the repository (../shared).
SHARED = os.environ.get("MAILKEEP_SHARED",
                        os.path.join(os.path.dirname(ROOT), "shared"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=mx.example.org", "-addext", "subjectAltName=DNS:mx.example.org",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    os.chmod(d, 0o755)
    os.chmod(cert, 0o644)
    return str(cert), str(key)


class Server:
    """One mailkeep instance: config, data dir, process, log."""

    def __init__(self, tmp, tls_files, extra="", domains="example.org, example.net",
                 dns=None, host="127.0.0.1", port=None):
        self.dir = str(tmp)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "mailkeep.conf")
        self.log_path = os.path.join(self.dir, "mailkeep.log")
        self.host = host
        self.port = port or free_port()
        self.proc = None
        cert, key = tls_files
        with open(self.conf, "w") as f:
            f.write(f"""hostname = mx.example.org
domains = {domains}
data_dir = {self.data}
run_dir = {self.dir}/run
log_level = debug

[tls]
cert = {cert}
key = {key}

[listen]
smtp = {host}:{self.port}
""")
            # Every instance asks the test DNS world, never the real DNS.
            # (Before `extra`, so that lines tests append go to its sections.)
            if dns is None:
                f.write("\n[checks]\nenabled = no\n")
            elif "[dns]" not in extra:
                f.write(f"\n[dns]\nforwarders = {dns}\n")
            f.write(f"\n{extra}\n")

    def cli(self, *args, input=None, check=True):
        return subprocess.run([BIN, "-c", self.conf, *args], input=input,
                              capture_output=True, text=True, check=check)

    def add_user(self, address, password="secret-pass-1"):
        self.cli("user", "add", address, input=password + "\n")

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.conf, "serve"],
                                     stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mailkeep serve exited:\n" + self.log())
            try:
                with socket.create_connection((self.host, self.port), 0.5) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mailkeep serve did not answer:\n" + self.log())

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.logf.close()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def pids(self):
        """PIDs of main and its children (smtp, queue, auth)."""
        main = self.proc.pid
        out = subprocess.run(["pgrep", "-P", str(main)], capture_output=True, text=True)
        return [main] + [int(p) for p in out.stdout.split()]

    def child_pid(self, role):
        for line in reversed(self.log().splitlines()):
            if f"child={role} pid=" in line and "event=started" in line:
                return int(line.split(f"child={role} pid=")[1].split()[0])
        raise KeyError(role)

    def account_id(self, address):
        out = self.cli("user", "list").stdout
        for line in out.splitlines():
            if address in line.split():
                for word in line.split():
                    if word.isdigit():
                        return int(word)
        raise KeyError(address)

    def maildir_files(self, address, folder=""):
        """Message files of an account's mailbox (folder '' = INBOX)."""
        base = os.path.join(self.data, "accounts", str(self.account_id(address)),
                            "Maildir", folder)
        files = []
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            if os.path.isdir(d):
                files += [os.path.join(d, n) for n in sorted(os.listdir(d))]
        return files

    def messages(self, address, folder=""):
        out = []
        for p in self.maildir_files(address, folder):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, address, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.messages(address)
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        return self.messages(address)


def wait_log(srv, pattern, timeout=15, count=1):
    """True once srv.log() (any object with a log() method) has count
    matches of the regular expression pattern, False after timeout s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(re.findall(pattern, srv.log())) >= count:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def server_root(request):
    """A directory the daemon's unprivileged user can reach: as root the
    worker processes run as `mailkeep` (privilege separation is tested),
    and pytest's own tmp dirs are private to root."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="mailkeep-test-")
    os.chmod(d, 0o755)
    yield d
    if not request.session.testsfailed:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def test_dns(tmp_path_factory):
    """One Knot server for the whole run, with no records: SPF, DKIM and
    DMARC find nothing (none), and no question leaves the machine."""
    from dnsworld import DnsWorld, have_knot
    if not have_knot():
        yield None
        return
    world = DnsWorld(str(tmp_path_factory.mktemp("dns")))
    world.start()
    yield world
    world.stop()


@pytest.fixture
def make_server(server_root, tls_files, test_dns):
    import pathlib
    tmp_path = pathlib.Path(server_root)
    servers = []

    def make(extra="", users=("alice@example.org", "bob@example.net"), start=True,
             **kw):
        if "dns" not in kw:
            kw["dns"] = test_dns.forwarder if test_dns else None
        srv = Server(tmp_path / f"s{len(servers)}", tls_files, extra, **kw)
        servers.append(srv)
        for u in users:
            srv.add_user(u)
        if start:
            srv.start()
        return srv

    yield make
    for srv in servers:
        srv.stop()
        log = srv.log()
        for mark in SANITIZER_MARKS:
            assert mark not in log, f"sanitizer report in server log:\n{log[-8000:]}"


@pytest.fixture
def server(make_server):
    return make_server()
