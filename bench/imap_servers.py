"""IMAP benchmark servers: a private mailkeep and a private Dovecot.

Both listen on a free port on 127.0.0.1 without TLS, keep every file in
the bench's work directory and serve one account, bench@bench.test, whose
password hash is the same string in both (one Dovecot passwd-file line,
which mailkeep imports). Only processes started here are ever stopped,
each by the PID of the process we spawned (both run in the foreground).
"""
import grp
import os
import pwd
import secrets
import signal
import subprocess

from servers import BENCH_DIR, free_port, process_tree, wait_banner

USER = "bench@bench.test"
PASSWORD = "bench-password-1"
START_TIMEOUT = 30
STOP_TIMEOUT = 30


def wait_imap(port, alive, timeout=START_TIMEOUT):
    """Wait until 127.0.0.1:port greets with * OK; alive() False aborts."""
    return wait_banner(port, alive, timeout, b"* OK", b"Z LOGOUT\r\n")


def passwd_line(home, uid, gid):
    """The account as a Dovecot passwd-file line with a SHA512-CRYPT hash
    (openssl passwd -6: glibc/libxcrypt's $6$, 5000 rounds)."""
    h = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=PASSWORD,
                       capture_output=True, text=True, check=True,
                       timeout=30).stdout.strip()
    return f"{USER}:{{SHA512-CRYPT}}{h}:{uid}:{gid}::{home}::\n"


class Server:
    """What both have in common: a foreground process we spawned."""

    name = "?"

    def __init__(self, work):
        self.pids_file = os.path.join(work, "pids")
        self.proc = None
        self.logf = None
        self.port = free_port()
        self.log_path = None     # the server's log
        self.out_path = None     # its stdout and stderr
        self.stop_ranges = []    # (path, from, to): logged while stopping

    def _spawn(self, argv):
        self.logf = open(self.out_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        with open(self.pids_file, "a") as f:    # for imap.sh's trap
            f.write(f"{self.proc.pid}\n")
        if not wait_imap(self.port, lambda: self.proc.poll() is None):
            raise RuntimeError(f"{self.name} did not start:\n" + self.log_tail())

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return process_tree(self.proc.pid)

    def _log_sizes(self):
        out = {}
        for path in {self.log_path, self.out_path}:
            try:
                out[path] = os.path.getsize(path)
            except OSError:
                out[path] = 0
        return out

    def stop(self):
        if self.proc is None:
            return
        before = self._log_sizes()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.logf.close()
        after = self._log_sizes()
        # what a server logs while it shuts down (peers gone, killed by
        # signal 15) is not a problem of the run
        self.stop_ranges += [(p, before[p], after[p]) for p in before]

    def restart(self):
        self.stop()
        self.start()

    def log_tail(self, n=30):
        out = []
        for path in sorted({self.log_path, self.out_path}):
            try:
                with open(path, errors="replace") as f:
                    out += f.readlines()[-n:]
            except OSError:
                pass
        return "".join(out)

    def problems(self, bad):
        """Log lines holding one of bad, except those logged while the
        server was being stopped."""
        lines = []
        for path in sorted({self.log_path, self.out_path}):
            skip = [(a, b) for p, a, b in self.stop_ranges if p == path]
            try:
                with open(path, "rb") as f:
                    pos = 0
                    for raw in f:
                        at, pos = pos, pos + len(raw)
                        line = raw.decode(errors="replace")
                        if any(b in line for b in bad) and \
                                not any(a <= at < b for a, b in skip):
                            lines.append(line.rstrip())
            except OSError:
                pass
        return lines


class Mailkeep(Server):
    """`mailkeep serve` with only the IMAP listener, in WORK/mailkeep."""

    name = "mailkeep"

    def __init__(self, work, binary, cert, key, conns):
        super().__init__(work)
        self.dir = os.path.join(work, "mailkeep")
        self.bin = os.path.abspath(binary)
        self.conf = os.path.join(self.dir, "mailkeep.conf")
        self.log_path = self.out_path = os.path.join(self.dir, "mailkeep.log")
        self.account_via = None
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        limit = conns + 100
        with open(self.conf, "w") as f:
            f.write(f"""# written by bench/imap_bench.py
hostname = mailkeep.bench.test
domains = bench.test
data_dir = {self.dir}/data
run_dir = {self.dir}/run
log_level = info

[tls]
cert = {cert}
key = {key}

[listen]
imap = 127.0.0.1:{self.port}

[imap]
# LOGIN without TLS from loopback, like the Dovecot next to it (ssl = no).
plaintext_loopback = yes
# {conns} idle sessions of one account from one address, plus the
# bench's own sessions.
max_connections = {limit}
max_connections_per_ip = {limit}
max_connections_per_user = {limit}

[checks]
enabled = no
""")

    def _cli(self, *args, stdin=None, check=True):
        return subprocess.run([self.bin, "-c", self.conf, *args], input=stdin,
                              capture_output=True, text=True, check=check,
                              timeout=120)

    def setup(self, passwd_file):
        """The account: imported from Dovecot's passwd-file (the same
        hash); `user add` with the same password if import fails."""
        r = self._cli("user", "import", passwd_file, check=False)
        if r.returncode == 0 and "1 imported" in r.stdout:
            self.account_via = "user import (same SHA512-CRYPT hash as Dovecot)"
        else:
            self._cli("user", "add", USER, stdin=PASSWORD + "\n")
            self.account_via = ("user add (mailkeep's default hash; import "
                                f"failed: {(r.stderr or r.stdout).strip()[:200]})")

    def start(self):
        self._spawn([self.bin, "-c", self.conf, "serve"])

    def problems(self):
        return super().problems((": error: ", ": warn: ", "runtime error:",
                                 "ERROR: AddressSanitizer"))

    def version(self):
        return subprocess.run([self.bin, "version"], capture_output=True,
                              text=True).stdout.strip()


class Dovecot(Server):
    """A private Dovecot in WORK/dovecot (`dovecot -c CONF -F`)."""

    name = "dovecot"

    def __init__(self, work, conns):
        super().__init__(work)
        self.dir = os.path.join(work, "dovecot")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.out_path = os.path.join(self.dir, "dovecot.out")
        self.passwd = os.path.join(self.dir, "passwd")
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        os.chmod(self.dir, 0o755)
        home = os.path.join(self.dir, "mail", USER.split("@")[0])
        root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid())
        mail = pwd.getpwnam("nobody") if root else me
        os.chown(os.path.join(self.dir, "mail"), mail.pw_uid, mail.pw_gid)
        with open(self.passwd, "w") as f:
            f.write(passwd_line(home, mail.pw_uid, mail.pw_gid))
        if root:
            os.chown(self.passwd, 0, grp.getgrnam("dovecot").gr_gid)
        os.chmod(self.passwd, 0o640)
        group = grp.getgrgid(me.pw_gid).gr_name
        users = ("default_internal_user = dovecot\n"
                 "default_login_user = dovenull") if root else \
            (f"default_internal_user = {me.pw_name}\n"
             f"default_internal_group = {group}\n"
             f"default_login_user = {me.pw_name}")
        unpriv = "" if root else \
            "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n"
        # instance_name names the processes (dovecot-NAME/imap) and must
        # differ from any other Dovecot on this machine.
        subst = {"@DIR@": self.dir, "@PORT@": str(self.port),
                 "@INSTANCE@": "mkbench-" + secrets.token_hex(3),
                 "@CONNS@": str(conns + 100),
                 "@CLIENTS@": str(max(1000, 2 * conns + 200)),
                 "@USERS@": users, "@UNPRIVILEGED@": unpriv}
        with open(os.path.join(BENCH_DIR, "dovecot", "dovecot.conf.in")) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace(k, v)
        with open(self.conf, "w") as f:
            f.write(text)

    def setup(self):
        r = subprocess.run(["/usr/sbin/dovecot", "-c", self.conf, "-n"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("dovecot -n failed:\n" + r.stderr)
        self.warnings = [l for l in r.stderr.splitlines() if l.strip()]

    def start(self):
        self._spawn(["/usr/sbin/dovecot", "-c", self.conf, "-F"])

    INOTIFY = "Inotify instance limit"

    def problems(self):
        """Errors and warnings, less the inotify fallback (see
        inotify_fallbacks)."""
        return [l for l in super().problems(("Error:", "Fatal:", "Panic:",
                                             "Warning:"))
                if self.INOTIFY not in l]

    def inotify_fallbacks(self):
        """Sessions that found fs.inotify.max_user_instances (128 by
        default) used up by the other sessions of the same uid and watch
        the mailbox by polling instead (mailbox_idle_check_interval)."""
        return len(super().problems((self.INOTIFY,)))

    def version(self):
        return "Dovecot " + subprocess.run(
            ["/usr/sbin/dovecot", "--version"], capture_output=True,
            text=True).stdout.strip()
