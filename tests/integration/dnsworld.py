"""A test DNS world: a real authoritative server (Knot, from Debian) on a
free loopback port, serving the whole test namespace as one root zone ".",
so any name (example.org, 2.0.0.127.in-addr.arpa, mx.test) can be given
records. mailkeep's resolver forwards to it (`world.forwarder`, the
"127.0.0.1@PORT" form of struct dns_config / `[dns] forwarders`).

    from dnsworld import DnsWorld, dns_world      # dns_world: the fixture

    def test_x(dns_world):
        w = dns_world([
            ("example.org", "MX", "10 mx.example.org"),
            ("mx.example.org", "A", "127.0.0.2"),
            ("127.0.0.2", "PTR", "mx.example.org"),         # reversed for you
            ("example.org", "TXT", "v=spf1 mx -all"),
            ("sel._domainkey.example.org", "TXT", ["k=rsa; ", "p=MIIB..."]),
        ], dnssec=True)
        w.forwarder, w.trust_anchor   # "127.0.0.1@40123", ".../ta.key"

Records are (name, type, value) tuples, or a dict {name: {type: value or
[values]}} (there a list means several records). Names are absolute (a
trailing dot is added). A TXT value is a str or bytes (split into 255-byte
character-strings), or a list/tuple of them: one record, one
character-string each (readers join them with no space). MX, PTR, CNAME, NS
values get a trailing dot; any other type is zone-file text as given.

raw="..." adds zone-file text as it is (absolute names, e.g. the output
of `mailkeep dns records`); set_records(records, raw=...) replaces it too.

dnssec=True signs the zone (ECDSA P-256, NSEC) and writes the KSK as the
trust anchor; `servfail_zones` names zones that Knot is configured for but
cannot load, so it answers SERVFAIL inside them. `BlackHole` is a UDP port
that never answers, for timeouts. knotd is stopped by its PID.
"""
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
KDIG = shutil.which("kdig") or "/usr/bin/kdig"
NAME_TYPES = ("MX", "PTR", "CNAME", "NS")


def have_knot():
    return all(os.access(p, os.X_OK) for p in (KNOTD, KNOTC, KDIG))


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP (Knot listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def absolute(name):
    if name in ("", "@", "."):
        return "."
    return name if name.endswith(".") else name + "."


def zone_name(name):
    """An absolute name in zone-file text: bytes other than letters, digits,
    '-', '_', '*' become \\DDD (Knot refuses e.g. '+'); '\\' escapes that
    are already there are kept."""
    out = []
    for ch in absolute(name):
        if ch.isascii() and (ch.isalnum() or ch in "-_*.\\"):
            out.append(ch)
        else:
            out += ["\\%03d" % b for b in ch.encode()]
    return "".join(out)


def reverse_name(addr):
    """127.0.0.2 -> 2.0.0.127.in-addr.arpa. (also IPv6, ip6.arpa.)"""
    return ipaddress.ip_address(addr).reverse_pointer + "."


def owner(name, rtype):
    if rtype == "PTR":
        try:
            return reverse_name(name)
        except ValueError:
            pass
    return zone_name(name)


def char_string(data):
    """One quoted character-string of at most 255 bytes."""
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= 255, "a character-string holds at most 255 bytes"
    out = []
    for b in data:
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


def txt_rdata(value):
    if isinstance(value, (list, tuple)):
        return " ".join(char_string(v) for v in value)
    if isinstance(value, str):
        value = value.encode()
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [b""]
    return " ".join(char_string(c) for c in chunks)


def rdata(rtype, value):
    if rtype == "TXT":
        return txt_rdata(value)
    if isinstance(value, (list, tuple)):  # (10, "mx.example.org")
        value = " ".join(str(v) for v in value)
    if rtype in NAME_TYPES:
        words = str(value).split()
        words[-1] = absolute(words[-1])
        return " ".join(words)
    return str(value)


def normalize(records):
    """Records as a list of (owner, TYPE, rdata) zone-file fields."""
    if isinstance(records, dict):
        records = [(name, rtype, v)
                   for name, types in records.items()
                   for rtype, values in types.items()
                   for v in (values if isinstance(values, list) else [values])]
    return [(owner(name, rtype.upper()), rtype.upper(), rdata(rtype.upper(), value))
            for name, rtype, value in records]


class BlackHole:
    """A loopback UDP port that reads nothing: questions sent there time out."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.forwarder = "%s@%d" % self.sock.getsockname()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DnsWorld:
    """One knotd serving the root zone "." with the given records."""

    def __init__(self, directory, records=(), dnssec=False, servfail_zones=(),
                 host="127.0.0.1", port=None, ttl=60, raw=""):
        self.dir = str(directory)
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.host, self.port = host, port or free_port(host)
        self.forwarder = "%s@%d" % (self.host, self.port)
        self.dnssec, self.ttl = dnssec, ttl
        self.servfail_zones = [absolute(z) for z in servfail_zones]
        self.conf = os.path.join(self.dir, "knot.conf")
        self.zone = os.path.join(self.dir, "root.zone")
        self.log_path = os.path.join(self.dir, "knotd.log")
        self.trust_anchor = os.path.join(self.dir, "ta.key") if dnssec else None
        self.serial = 1
        self.records = normalize(records)
        self.raw = raw
        self.proc = None

    # ---- files ----

    def write_conf(self):
        d = self.dir
        lines = [
            "server:",
            f"    rundir: {d}",
            f"    listen: {self.host}@{self.port}",
            "log:",
            "  - target: stderr",
            "    any: info",
            "database:",
            f"    storage: {d}/db",
        ]
        if self.dnssec:
            lines += ["policy:", "  - id: mk", "    algorithm: ecdsap256sha256",
                      "    nsec3: off"]
        lines += ["zone:", "  - domain: .", f"    file: {self.zone}",
                  "    zonefile-sync: -1", "    journal-content: none"]
        if self.dnssec:
            lines += ["    dnssec-signing: on", "    dnssec-policy: mk"]
        for i, z in enumerate(self.servfail_zones):
            lines += [f"  - domain: {z}", f"    file: {d}/missing-{i}.zone"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def write_zone(self):
        lines = [f"$TTL {self.ttl}",
                 f". IN SOA ns.dnsworld. hostmaster.dnsworld. {self.serial} 3600 600 86400 {self.ttl}",
                 ". IN NS ns.dnsworld.",
                 f"ns.dnsworld. IN A {self.host}"]
        lines += [f"{o} IN {t} {r}" for o, t, r in self.records]
        lines += [self.raw] if self.raw else []
        with open(self.zone, "w") as f:
            f.write("\n".join(lines) + "\n")

    # ---- process ----

    def start(self, timeout=20):
        self.write_conf()
        self.write_zone()
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([KNOTD, "-c", self.conf],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd exited:\n" + self.log())
            if "[.] zone event 'load' failed" in self.log():
                self.stop()
                raise RuntimeError("knotd cannot load the zone:\n" + self.log())
            if self.serial_seen() is not None and (not self.dnssec or self.ksk()):
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("knotd did not answer:\n" + self.log())
        if self.dnssec:
            with open(self.trust_anchor, "w") as f:
                f.write("".join(f". IN DNSKEY {k}\n" for k in self.ksk()))
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        self.logf.close()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # ---- queries and changes ----

    def dig(self, rtype, name, *opts):
        """kdig +short straight at knotd (not through mailkeep)."""
        out = subprocess.run([KDIG, "@" + self.host, "-p", str(self.port),
                              "+short", "+timeout=1", "+retry=0", *opts,
                              rtype, absolute(name)],
                             capture_output=True, text=True)
        return out.stdout.split("\n")[:-1] if out.returncode == 0 else None

    def serial_seen(self):
        soa = self.dig("SOA", ".")
        return int(soa[0].split()[2]) if soa else None

    def ksk(self):
        return [k for k in self.dig("DNSKEY", ".") or [] if k.startswith("257 ")]

    def set_records(self, records, timeout=10, raw=""):
        """Replace the zone's records (and raw text) and reload knotd (new
        SOA serial)."""
        self.records = normalize(records)
        self.raw = raw
        # Above what is served (Knot's signer raises the serial too).
        self.serial = max(self.serial, self.serial_seen() or 0) + 1
        self.write_zone()
        subprocess.run([KNOTC, "-c", self.conf, "zone-reload", "."],
                       check=True, capture_output=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            seen = self.serial_seen()
            if seen is not None and seen >= self.serial:
                return
            time.sleep(0.05)
        raise RuntimeError("knotd did not load the new zone:\n" + self.log())


@pytest.fixture
def dns_world(tmp_path):
    """Factory: dns_world(records, **kw) -> a started DnsWorld, stopped at
    teardown. Skips the test when Knot is not installed."""
    if not have_knot():
        pytest.skip("knot / knot-dnsutils not installed (scripts/deps.sh test)")
    worlds = []

    def make(records=(), **kw):
        w = DnsWorld(tmp_path / f"dns{len(worlds)}", records, **kw)
        worlds.append(w)
        return w.start()

    yield make
    for w in worlds:
        w.stop()
