"""A private Postfix instance for interop tests and the outbound bench.

Everything lives under one directory: etc/ (config_directory), spool/
(queue_directory), lib/ (data_directory), vmail/ (Maildirs of virtual(8)
delivery, owned by `nobody`) and maillog (postlogd). It listens on
HOST:PORT only (one smtpd service in master.cf); the system's
/etc/postfix is neither read nor changed, and the system instance is not
touched. master.cf is bench/postfix/master.cf.in (Debian's service list,
chroot off) with the listener moved to HOST:PORT.

    pf = Postfix(dir, host="127.0.0.3", main={"virtual_mailbox_domains":
                 "p.test"}, mailboxes=["pat@p.test"],
                 tables={"transport": "a.test smtp:[127.0.0.1]:2525\\n"})
    pf.start(); ...; pf.stop()      # stop: `postfix -c DIR/etc stop`

Postfix's master only starts as root: `can_run()` says whether this
machine can (callers skip otherwise). `main` entries override the base
main.cf; `tables` are written to etc/NAME and can be named in `main` as
texthash:ETC/NAME (texthash needs no postmap step).
"""
import os
import pwd
import re
import shutil
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASTER_CF = os.path.join(ROOT, "bench", "postfix", "master.cf.in")
POSTFIX = "/usr/sbin/postfix"
START_TIMEOUT = 30
STOP_TIMEOUT = 30


def can_run():
    """'' when a private Postfix can be started here, else the reason."""
    if not os.access(POSTFIX, os.X_OK):
        return "postfix not installed (scripts/deps.sh test)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (master(8))"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user"
    if not shutil.which("script"):
        return "script(1) missing (bsdutils)"
    return ""


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def listening(host, port):
    """True when something listens on host:port (IPv4, from /proc/net/tcp,
    without connecting)."""
    ip = "".join("%02X" % int(b) for b in reversed(host.split(".")))
    want = f"{ip}:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            return any(l.split()[1] == want and l.split()[3] == "0A" for l in f)
    except (OSError, StopIteration, IndexError):
        return False


class Postfix:
    """One private Postfix instance under `directory`."""

    def __init__(self, directory, host="127.0.0.1", port=None, hostname="mx.p.test",
                 main=None, tables=None, mailboxes=(), master_extra=""):
        self.dir = str(directory)
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.vmail = os.path.join(self.dir, "vmail")
        self.log_path = os.path.join(self.dir, "maillog")
        self.host, self.port = host, port or free_port(host)
        self.hostname = hostname
        self.started = False
        nobody = pwd.getpwnam("nobody")
        for d in ("etc", "spool", "lib", "vmail"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "lib"), "postfix")
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        tables = dict(tables or {})
        tables["vmailbox"] = "".join(f"{m} {self.mailbox_rel(m)}\n" for m in mailboxes)
        for name, text in tables.items():
            self.write_table(name, text)
        conf = self.base_main(nobody)
        conf.update(main or {})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("# written by tests/integration/postfixworld.py\n")
            f.write("".join(f"{k} = {v}\n" for k, v in conf.items()))
        with open(MASTER_CF) as f:
            master = f.read().replace("127.0.0.1:@PORT@", f"{host}:{self.port}")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master + master_extra)

    def base_main(self, nobody):
        return {
            "compatibility_level": "3.6",
            "queue_directory": self.spool,
            "data_directory": os.path.join(self.dir, "lib"),
            "mail_owner": "postfix",
            "myhostname": self.hostname,
            "mydomain": self.hostname.split(".", 1)[-1],
            "myorigin": "$mydomain",
            "mydestination": "",
            # must name an interface address (127.0.0.3 is none): the
            # listener's own address is in master.cf
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "virtual_mailbox_domains": "",
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": f"texthash:{self.etc}/vmailbox",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            # no DNS from a test: next hops come from transport_maps
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
        }

    @staticmethod
    def mailbox_rel(addr):
        return addr.split("@")[0] + "/Maildir/"

    def write_table(self, name, text):
        with open(os.path.join(self.etc, name), "w") as f:
            f.write(text)

    def _postfix(self, action):
        # postfix(1) reports only to a terminal or syslog: under script(1)
        # a failure's reason reaches our output.
        cmd = f"{POSTFIX} -c {self.etc} {action}"
        return subprocess.run(["script", "-qec", cmd, "/dev/null"],
                              capture_output=True, text=True, timeout=60)

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                pid = int(f.read().split()[0])
            with open(f"/proc/{pid}/comm") as f:
                return pid if f.read().strip() == "master" else None
        except (OSError, ValueError, IndexError):
            return None

    def start(self):
        """`postfix check` (creates the queue directories), then start;
        ready when master runs and the listener is up."""
        r = self._postfix("check")
        if r.returncode != 0:
            raise RuntimeError("postfix check failed:\n" + r.stdout + r.stderr)
        r = self._postfix("start")
        self.started = True
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if r.returncode == 0 and self.master_pid() and \
                    listening(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("postfix did not start:\n" + r.stdout + r.stderr +
                           self.log()[-3000:])

    def reload(self):
        """Re-read main.cf and the tables (smtpd processes restart)."""
        r = self._postfix("reload")
        if r.returncode != 0:
            raise RuntimeError("postfix reload failed:\n" + r.stdout + r.stderr)

    def flush(self):
        subprocess.run(["/usr/sbin/postqueue", "-c", self.etc, "-f"],
                       capture_output=True, timeout=60)

    def stop(self):
        """Stop this instance (only it: `postfix -c OUR_DIR stop`), then
        wait for its master to exit; SIGKILL to that PID as a last resort."""
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        self._postfix("stop")
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid and os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and self.master_pid() == pid:
            os.kill(pid, 9)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30, count=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(re.findall(pattern, self.log())) >= count:
                return True
            time.sleep(0.1)
        return False

    def maildir_files(self, addr):
        base = os.path.join(self.vmail, self.mailbox_rel(addr))
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            if os.path.isdir(d):
                out += sorted(os.path.join(d, n) for n in os.listdir(d))
        return out

    def messages(self, addr):
        out = []
        for p in self.maildir_files(addr):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, addr, count, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.messages(addr)
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        return self.messages(addr)
