"""Benchmark servers: a private mailkeep and a private Postfix instance.

Both listen on 127.0.0.1 on a free high port, keep all their files under
the benchmark's work directory and deliver to one Maildir. Only processes
started here are ever stopped: mailkeep by the PID of the `serve` process
we spawned, Postfix with `postfix -c OUR_CONFIG_DIR stop`.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
RCPT = "bench@bench.test"
START_TIMEOUT = 30      # seconds for a server to answer 220 after start
STOP_TIMEOUT = 30       # seconds for a server to exit after being told to


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_banner(port, alive, timeout=START_TIMEOUT, greeting=b"220",
                bye=b"QUIT\r\n"):
    """Wait until 127.0.0.1:port greets with `greeting` (SMTP 220 by
    default); alive() False aborts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.settimeout(5)
                if s.recv(512).startswith(greeting):
                    s.sendall(bye)
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def listening(port):
    """True when something listens on 127.0.0.1:port (read from
    /proc/net/tcp, so that no connection is made)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            return any(l.split()[1] == want and l.split()[3] == "0A" for l in f)
    except (OSError, StopIteration, IndexError):
        return False


def count_files(maildir):
    """Number of message files in new/ and cur/ of a Maildir."""
    n = 0
    for sub in ("new", "cur"):
        try:
            with os.scandir(os.path.join(maildir, sub)) as it:
                n += sum(1 for e in it if not e.name.startswith("."))
        except FileNotFoundError:
            pass
    return n


def list_files(maildir):
    out = set()
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if os.path.isdir(d):
            out.update(os.path.join(d, n) for n in os.listdir(d)
                       if not n.startswith("."))
    return out


def process_tree(root_pid):
    """root_pid and all its descendants (one scan of /proc)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces: fields start after ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def memory_of(pid):
    """{rss, pss, uss} of one process in KiB, None if it is gone. RSS counts
    shared pages in every process that maps them, PSS splits them between
    those processes, USS (Private_Clean + Private_Dirty) is what the
    process alone holds."""
    one = {"rss": 0, "pss": 0, "uss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "Rss":
                    one["rss"] = int(rest.split()[0])
                elif key == "Pss":
                    one["pss"] = int(rest.split()[0])
                elif key in ("Private_Clean", "Private_Dirty"):
                    one["uss"] += int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return None         # the process exited meanwhile
    return one


def memory_kib(pids):
    """memory_of() summed over pids."""
    tot = {"rss": 0, "pss": 0, "uss": 0}
    for pid in pids:
        one = memory_of(pid)
        for k in tot:
            tot[k] += one[k] if one else 0
    return tot


def process_name(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None
    if not argv:
        return None
    # mailkeep's processes are mailkeep-main, mailkeep-smtp, ...
    return os.path.basename(argv[0])


class Mailkeep:
    """`mailkeep serve` in WORK/mailkeep with one account."""

    name = "mailkeep"

    def __init__(self, work, binary, cert, key, extra=""):
        """extra: configuration text appended (more sections)."""
        self.dir = os.path.join(work, "mailkeep")
        self.bin = os.path.abspath(binary)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mailkeep.conf")
        self.log_path = os.path.join(self.dir, "mailkeep.log")
        self.proc = None
        self.logf = None
        self.maildir = None
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        with open(self.conf, "w") as f:
            f.write(f"""# written by bench/run.sh
hostname = mailkeep.bench.test
domains = bench.test
data_dir = {self.dir}/data
run_dir = {self.dir}/run
log_level = info

[tls]
cert = {cert}
key = {key}

[listen]
smtp = 127.0.0.1:{self.port}

[smtp]
# Postfix exempts $mynetworks (127.0.0.0/8 here) from its per-client
# connection limit; 32 sessions from one address need more than the
# default of 20 here.
max_connections_per_ip = 100

[checks]
# Postfix here runs no SPF/DKIM/DMARC policy service either, and a bench
# must not send DNS questions off this machine.
enabled = no
{extra}""")

    def _cli(self, *args, stdin=None):
        return subprocess.run([self.bin, "-c", self.conf, *args], input=stdin,
                              capture_output=True, text=True, check=True,
                              timeout=60)

    def setup(self):
        self._cli("user", "add", RCPT, stdin="bench-password-1\n")
        for line in self._cli("user", "list").stdout.splitlines():
            words = line.split()
            if RCPT in words:
                acct = next(w for w in words if w.isdigit())
                self.maildir = os.path.join(self.dir, "data", "accounts",
                                            acct, "Maildir")
        if self.maildir is None:
            raise RuntimeError("mailkeep: account not found in `user list`")

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.bin, "-c", self.conf, "serve"],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        if not wait_banner(self.port, lambda: self.proc.poll() is None):
            raise RuntimeError("mailkeep did not start:\n" + self.log_tail())

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return process_tree(self.proc.pid)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.logf.close()

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def problems(self):
        """Log lines that mean something went wrong (warnings, errors,
        deferrals); empty on a clean run."""
        bad = (": error: ", ": warn: ", "status=deferred", "status=failed",
               "ERROR: AddressSanitizer", "runtime error:")
        with open(self.log_path, errors="replace") as f:
            return [l.rstrip() for l in f if any(b in l for b in bad)]

    def version(self):
        out = subprocess.run([self.bin, "version"], capture_output=True,
                             text=True)
        return out.stdout.strip()


class Postfix:
    """A private Postfix instance in WORK/postfix (never /etc/postfix)."""

    name = "postfix"

    def __init__(self, work):
        self.dir = os.path.join(work, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "maillog")
        self.maildir = os.path.join(self.dir, "vmail", "bench", "Maildir")
        self.started = False
        nobody = pwd.getpwnam("nobody")
        subst = {"@DIR@": self.dir, "@PORT@": str(self.port),
                 "@UID@": str(nobody.pw_uid), "@GID@": str(nobody.pw_gid)}
        for d in ("etc", "spool", "lib", "vmail"):
            os.makedirs(os.path.join(self.dir, d))
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "lib"), "postfix")
        os.chown(os.path.join(self.dir, "vmail"), nobody.pw_uid, nobody.pw_gid)
        for name in ("main.cf", "master.cf"):
            with open(os.path.join(BENCH_DIR, "postfix", name + ".in")) as f:
                text = f.read()
            for k, v in subst.items():
                text = text.replace(k, v)
            with open(os.path.join(self.etc, name), "w") as f:
                f.write(text)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            f.write(f"{RCPT} bench/Maildir/\n")

    def _postfix(self, action):
        # postfix(1) reports only to a terminal or syslog: run it under
        # script(1) so that a failure's reason reaches our output.
        cmd = f"/usr/sbin/postfix -c {self.etc} {action}"
        return subprocess.run(["script", "-qec", cmd, "/dev/null"],
                              capture_output=True, text=True, timeout=60)

    def setup(self):
        r = self._postfix("check")
        if r.returncode != 0:
            raise RuntimeError("postfix check failed:\n" + r.stdout + r.stderr)

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "spool", "pid", "master.pid")) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            with open(f"/proc/{pid}/comm") as f:
                return pid if f.read().strip() == "master" else None
        except OSError:
            return None

    def start(self):
        """Start master(8). Readiness is its listening socket, not a
        connection: a probe would leave an smtpd(8) process behind for
        max_idle (100 s) and inflate the idle memory figure."""
        r = self._postfix("start")
        self.started = True
        deadline = time.monotonic() + START_TIMEOUT
        while r.returncode == 0 and time.monotonic() < deadline and \
                not (self.master_pid() and listening(self.port)):
            time.sleep(0.1)
        if not (self.master_pid() and listening(self.port)):
            raise RuntimeError("postfix did not start:\n" + r.stdout +
                               r.stderr + self.log_tail())

    def pids(self):
        pid = self.master_pid()
        return process_tree(pid) if pid else []

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        self._postfix("stop")
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid and os.path.exists(f"/proc/{pid}") and \
                time.monotonic() < deadline:
            time.sleep(0.1)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def problems(self):
        bad = ("status=deferred", "status=bounced", "warning:", "fatal:",
               "panic:", "error:")
        try:
            with open(self.log_path, errors="replace") as f:
                return [l.rstrip() for l in f if any(b in l for b in bad)]
        except OSError:
            return []

    def version(self):
        out = subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"],
                             capture_output=True, text=True)
        return "Postfix " + out.stdout.strip()
