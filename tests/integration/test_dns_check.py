"""`mailkeep dns check` against a real authoritative DNS server (issue 6 §3).

A Knot world (dnsworld.py) serves example.org as a receiving server sees
it, and a real `mailkeep serve` answers STARTTLS on a loopback port. The
server's "public" address is 127.0.0.2 (set with [publish]
public_addresses, since a loopback address is never discovered). The
certificates come from a test CA that the check trusts through
$SSL_CERT_FILE, as OpenSSL-based tools do.

First a correct world where every check passes, then one broken world per
case of the issue (missing or wrong PTR, MX at a CNAME or an IP, two SPF
records, SPF not covering the server or over the lookup limit, DKIM key
mismatched or truncated, DMARC missing or malformed, expired or wrong-name
certificate, a DNSBL listing): each must fail exactly the checks it breaks,
with the right fix.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, SANITIZER_MARKS, Server
from dnsworld import dns_world  # noqa: F401  (the fixture)

HOST = "mx.example.org"
IP = "127.0.0.2"
PUBLISH = f"""
[publish]
public_addresses = {IP}
dnsbl = bl.test
"""
LINE = re.compile(r"^(PASS|WARN|FAIL)  (\S+)\s+(.*)$")


# ---- certificates ----

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki():
    """A test CA and server certificates: good, wrong-name, expired,
    expiring soon (all CA-signed) and self-signed, keyed by kind ->
    (cert, key)."""
    d = tempfile.mkdtemp(prefix="mailkeep-pki-")
    os.chmod(d, 0o755)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/CN=mailkeep test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    certs = {}
    for kind, name, days in (("good", HOST, "90"), ("wrong-name", "www.example.org", "90"),
                             ("expired", HOST, "-1"), ("soon", HOST, "5")):
        with open(os.path.join(d, kind + ".ext"), "w") as f:
            f.write(f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", kind + ".key", "-out", kind + ".csr", cwd=d)
        # -days -1: notAfter one day before now (OpenSSL 3.0 accepts it here)
        openssl("x509", "-req", "-in", kind + ".csr", "-CA", "ca.pem", "-CAkey",
                "ca.key", "-CAcreateserial", "-days", days, "-extfile",
                kind + ".ext", "-out", kind + ".pem", cwd=d)
        os.chmod(os.path.join(d, kind + ".key"), 0o600)
        os.chmod(os.path.join(d, kind + ".pem"), 0o644)
        certs[kind] = (os.path.join(d, kind + ".pem"), os.path.join(d, kind + ".key"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "90",
            "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
            "-keyout", "self.key", "-out", "self.pem", cwd=d)
    os.chmod(os.path.join(d, "self.key"), 0o600)
    os.chmod(os.path.join(d, "self.pem"), 0o644)
    certs["self"] = (os.path.join(d, "self.pem"), os.path.join(d, "self.key"))
    certs["ca"] = os.path.join(d, "ca.pem")
    yield certs
    shutil.rmtree(d, ignore_errors=True)


# ---- servers ----

@pytest.fixture
def servers(server_root):
    """Factory: a configured (and by default started) mailkeep with the
    given certificate, asking the given DNS world."""
    made = []

    def make(tls, world, extra=PUBLISH, start=True):
        srv = Server(os.path.join(server_root, f"s{len(made)}"), tls, extra,
                     domains="example.org, example.net", dns=world.forwarder)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in made:
        srv.stop()
        log = srv.log()
        for mark in SANITIZER_MARKS:
            assert mark not in log, f"sanitizer report in server log:\n{log[-8000:]}"


def genkey(srv, selector, domain="example.org"):
    """`dkim genkey`: the record's character-strings, as published."""
    r = srv.cli("dkim", "genkey", domain, selector)
    line = [l for l in r.stdout.splitlines() if " IN TXT " in l][0]
    return re.findall(r'"([^"]*)"', line)


# ---- running the check ----

class Result:
    def __init__(self, proc):
        self.rc, self.out, self.err = proc.returncode, proc.stdout, proc.stderr
        self.items = []   # [status, check, detail, fix]
        for line in self.out.splitlines():
            m = LINE.match(line)
            if m:
                self.items.append([m.group(1), m.group(2), m.group(3), ""])
            elif line.startswith("      fix: "):
                self.items[-1][3] = line[len("      fix: "):]
            elif line.startswith("           "):
                self.items[-1][3] += "\n" + line[11:]
            else:
                raise AssertionError(f"unexpected line {line!r} in\n{self.out}")

    def failing(self):
        return {c for s, c, _, _ in self.items if s == "FAIL"}

    def find(self, check, status):
        found = [i for i in self.items if i[1] == check and i[0] == status]
        assert found, f"no {status} {check} in\n{self.out}"
        return found[0]

    def __repr__(self):
        return f"rc={self.rc}\n{self.out}\n{self.err}"


def check(srv, pki, *args):
    env = dict(os.environ, SSL_CERT_FILE=pki["ca"])
    p = subprocess.run([BIN, "-c", srv.conf, "dns", "check", *args], env=env,
                       capture_output=True, text=True, timeout=120)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    return Result(p) if "--json" not in args else p


# ---- the world ----

def world_records(dkim_strings, **change):
    """example.org as it should be; change= replaces (None removes) a part."""
    parts = {
        "mx": [("example.org", "MX", f"10 {HOST}")],
        "a": [(HOST, "A", IP)],
        "ptr": [(IP, "PTR", HOST)],
        "spf": [("example.org", "TXT", "v=spf1 mx -all")],
        "dkim": [("sel._domainkey.example.org", "TXT", dkim_strings)],
        "dmarc": [("_dmarc.example.org", "TXT",
                   "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org")],
        "tlsrpt": [("_smtp._tls.example.org", "TXT",
                    "v=TLSRPTv1; rua=mailto:postmaster@example.org")],
        "other": [("example.org", "TXT", "some-site-verification=1234")],
        "dnsbl": [],
    }
    for k, v in change.items():
        parts[k] = v or []
    return [r for recs in parts.values() for r in recs]


@pytest.fixture
def ready(servers, dns_world, pki):
    """A server with a DKIM key (selector sel) and a correct world."""
    world = dns_world([])
    srv = servers(pki["good"], world)
    dkim = genkey(srv, "sel")
    world.set_records(world_records(dkim))
    return srv, world, dkim


def test_correct_world_passes_everything(ready, pki):
    srv, world, _ = ready
    r = check(srv, pki, "example.org")
    assert r.rc == 0, r
    assert [s for s, *_ in r.items] == ["PASS"] * len(r.items), r
    checks = [c for _, c, _, _ in r.items]
    for want in ("addresses", "mx", "spf", "dkim:sel", "dmarc", "tls-rpt",
                 f"fcrdns:{IP}", "tls:smtp", "dnsbl:bl.test"):
        assert want in checks, r
    assert "127.0.0.2 -> mx.example.org -> 127.0.0.2" in r.out
    # `check` is the same command, --json the same verdicts for scripts
    env = dict(os.environ, SSL_CERT_FILE=pki["ca"])
    p = subprocess.run([BIN, "-c", srv.conf, "check", "example.org", "--json"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [(d["check"], d["status"]) for d in doc] == \
        [(c, "pass") for _, c, _, _ in r.items]
    assert all(set(d) == {"check", "domain", "status", "detail", "fix"} for d in doc)


def include_chain(n):
    """An SPF record with n includes (each of a domain whose own record
    fails), then mx: the RFC 7208 §4.6.4 limit is hit before the mx."""
    recs = [("example.org", "TXT",
             "v=spf1 " + " ".join(f"include:i{i}.example.org" for i in range(n)) +
             " mx -all")]
    recs += [(f"i{i}.example.org", "TXT", "v=spf1 -all") for i in range(n)]
    return recs


BROKEN = [
    # id, change, failing checks, check, detail words, fix words
    ("missing-ptr", {"ptr": None}, {f"fcrdns:{IP}"}, f"fcrdns:{IP}",
     "no PTR record", "2.0.0.127.in-addr.arpa. IN PTR mx.example.org."),
    ("ptr-not-matching", {"ptr": [(IP, "PTR", "host-2.provider.test")]},
     {f"fcrdns:{IP}"}, f"fcrdns:{IP}", "is host-2.provider.test, not mx.example.org",
     "set its reverse DNS (PTR) to mx.example.org"),
    ("mx-cname", {"mx": [("example.org", "MX", "10 mail.example.org"),
                         ("mail.example.org", "CNAME", HOST)]},
     {"mx"}, "mx", "mail.example.org is a CNAME (an alias of mx.example.org)",
     "RFC 2181 §10.3"),
    ("mx-ip", {"mx": [("example.org", "MX", f"10 {IP}")]},
     {"mx", "spf"}, "mx", "MX 10 127.0.0.2 is an IP address", "RFC 5321 §5.1"),
    ("two-spf", {"spf": [("example.org", "TXT", "v=spf1 mx -all"),
                         ("example.org", "TXT", "v=spf1 a -all")]},
     {"spf"}, "spf", "2 SPF records", "merge them into one"),
    ("spf-not-covering", {"spf": [("example.org", "TXT", "v=spf1 ip4:192.0.2.1 -all")]},
     {"spf"}, "spf", "127.0.0.2 is not allowed to send for example.org: fail",
     'example.org. 3600 IN TXT "v=spf1 mx -all"'),
    ("spf-over-limit", {"spf": include_chain(11)}, {"spf"}, "spf",
     "over the lookup limit of 10", "write addresses as ip4:/ip6:"),
    ("dmarc-missing", {"dmarc": None}, {"dmarc"}, "dmarc", "no DMARC record",
     '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=quarantine; '
     'rua=mailto:postmaster@example.org"'),
    ("dmarc-malformed", {"dmarc": [("_dmarc.example.org", "TXT", "v=DMARC1; p=rejectt")]},
     {"dmarc"}, "dmarc", "malformed DMARC record", '"v=DMARC1; p=quarantine;'),
    ("dnsbl-listed", {"dnsbl": [("2.0.0.127.bl.test", "A", "127.0.0.2"),
                                ("2.0.0.127.bl.test", "TXT", "listed for tests")]},
     {"dnsbl:bl.test"}, "dnsbl:bl.test", "127.0.0.2 is listed (127.0.0.2)",
     "ask bl.test to remove 127.0.0.2"),
]


@pytest.mark.parametrize("name, change, failing, which, detail, fix", BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_broken_world_fails_with_fix(ready, pki, name, change, failing, which,
                                     detail, fix):
    srv, world, dkim = ready
    world.set_records(world_records(dkim, **change))
    r = check(srv, pki, "example.org")
    assert r.rc == 1, r
    assert r.failing() == failing, r
    _, _, got_detail, got_fix = r.find(which, "FAIL")
    assert detail in got_detail, r
    assert fix in got_fix, r


def test_dkim_mismatched_and_truncated(ready, pki):
    srv, world, dkim = ready
    other = genkey(srv, "other")
    world.set_records(world_records(dkim, dkim=[
        ("sel._domainkey.example.org", "TXT", other),
        ("other._domainkey.example.org", "TXT", other)]))
    r = check(srv, pki, "example.org")
    assert r.rc == 1 and r.failing() == {"dkim:sel"}, r
    _, _, detail, fix = r.find("dkim:sel", "FAIL")
    assert "different key than the private key file" in detail
    assert fix.splitlines()[1].startswith('sel._domainkey.example.org. 3600 IN TXT ( "'
                                          + dkim[0] + '" "' + dkim[1])
    r.find("dkim:other", "PASS")
    # the record cut at 255 characters, as some DNS web forms do
    joined = "".join(dkim)
    world.set_records(world_records(dkim, dkim=[
        ("sel._domainkey.example.org", "TXT", joined[:255]),
        ("other._domainkey.example.org", "TXT", other)]))
    r = check(srv, pki, "example.org")
    assert r.rc == 1 and r.failing() == {"dkim:sel"}, r
    _, _, detail, fix = r.find("dkim:sel", "FAIL")
    assert "truncated" in detail and "p= has" in detail, r
    assert "joined without quotes" in fix


@pytest.mark.parametrize("kind, detail, fix", [
    ("expired", "expired on", "certbot certonly --standalone -d mx.example.org"),
    ("wrong-name", "issued for www.example.org, not mx.example.org",
     "cert = /etc/letsencrypt/live/mx.example.org/fullchain.pem"),
    ("soon", "expires in", "certbot renew"),
])
def test_bad_certificate_fails(servers, dns_world, pki, kind, detail, fix):
    world = dns_world([])
    srv = servers(pki[kind], world)
    world.set_records(world_records(genkey(srv, "sel")))
    r = check(srv, pki, "example.org")
    assert r.rc == 1 and r.failing() == {"tls:smtp"}, r
    _, _, got_detail, got_fix = r.find("tls:smtp", "FAIL")
    assert detail in got_detail and fix in got_fix, r


def test_self_signed_certificate_warns(servers, dns_world, pki):
    world = dns_world([])
    srv = servers(pki["self"], world)
    world.set_records(world_records(genkey(srv, "sel")))
    r = check(srv, pki, "example.org")
    assert r.rc == 0, r
    _, _, detail, fix = r.find("tls:smtp", "WARN")
    assert "self-signed certificate for mx.example.org" in detail
    assert "--deploy-hook 'systemctl reload mailkeep'" in fix
    assert r.failing() == set(), r


def test_listener_not_reachable_and_dmarc_none(ready, pki):
    srv, world, dkim = ready
    world.set_records(world_records(dkim, dmarc=[
        ("_dmarc.example.org", "TXT", "v=DMARC1; p=none")]))
    srv.stop()
    r = check(srv, pki, "example.org")
    assert r.rc == 1 and r.failing() == {"tls:smtp"}, r
    assert "not reachable" in r.find("tls:smtp", "FAIL")[2]
    _, _, detail, fix = r.find("dmarc", "WARN")
    assert "p=none" in detail and "p=quarantine" in fix


def test_mta_sts_policy_not_served_warns(servers, dns_world, pki):
    world = dns_world([])
    srv = servers(pki["good"], world, extra=PUBLISH + "mta_sts = testing\n")
    dkim = genkey(srv, "sel")
    world.set_records(world_records(dkim, other=[
        ("_mta-sts.example.org", "TXT", "v=STSv1; id=20261122"),
        ("mta-sts.example.org", "A", IP)]))
    r = check(srv, pki, "example.org")
    assert r.rc == 0, r
    _, _, detail, fix = r.find("mta-sts", "WARN")
    assert "could not be fetched" in detail and "mta-sts.example.org" in detail
    assert "mode: testing" in fix
    world.set_records(world_records(dkim))
    r = check(srv, pki, "example.org")
    assert r.rc == 1 and r.failing() == {"mta-sts"}, r
    assert "_mta-sts.example.org. 3600 IN TXT \"v=STSv1; id=" in \
        r.find("mta-sts", "FAIL")[3]


def test_unknown_domain_and_usage(servers, dns_world, pki):
    world = dns_world([])
    srv = servers(pki["good"], world, start=False)
    p = srv.cli("dns", "check", "elsewhere.test", check=False)
    assert p.returncode == 1 and "not a local domain" in p.stderr
    p = srv.cli("dns", "check", "--bogus", check=False)
    assert p.returncode == 2 and p.stderr.startswith("usage: ")
    p = srv.cli("dns", "frobnicate", check=False)
    assert p.returncode == 2


def test_dkim_key_file_missing(ready, pki):
    srv, world, dkim = ready
    path = os.path.join(srv.data, "dkim", "example.org", "sel.key")
    os.rename(path, path + ".moved")
    r = check(srv, pki, "example.org")
    assert r.rc == 1 and r.failing() == {"dkim:sel"}, r
    _, _, detail, fix = r.find("dkim:sel", "FAIL")
    assert "private key is missing" in detail and path in detail
    assert "mailkeep dkim genkey example.org sel --force" in fix
    out = srv.cli("dns", "records", "example.org").stdout
    assert f"; DKIM key sel left out: {path}: No such file or directory" in out
    assert "sel._domainkey" not in out


def imap_answers(port, timeout=10):
    """Does an IMAP greeting come from 127.0.0.1:port (plain text)?"""
    import socket
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.settimeout(5)
                return s.recv(512).startswith(b"* OK")
        except OSError:
            time.sleep(0.1)
    return False


@pytest.mark.parametrize("kind, status", [("good", "PASS"), ("wrong-name", "FAIL")])
def test_imap_certificates(servers, dns_world, pki, kind, status):
    """IMAP with STARTTLS and IMAP over TLS are probed like SMTP."""
    from conftest import free_port
    imap, imaps = free_port(), free_port()
    world = dns_world([])
    srv = servers(pki[kind], world, extra=PUBLISH +
                  f"\n[listen]\nimap = 127.0.0.1:{imap}\nimaps = 127.0.0.1:{imaps}\n")
    if not imap_answers(imap):
        pytest.skip("this build does not serve IMAP yet")
    world.set_records(world_records(genkey(srv, "sel")))
    r = check(srv, pki, "example.org")
    for svc, port in (("smtp", srv.port), ("imap", imap), ("imaps", imaps)):
        _, _, detail, _ = r.find(f"tls:{svc}", status)
        assert f"{svc} at 127.0.0.1:{port}" in detail, r
    if status == "PASS":
        assert r.rc == 0, r
    else:
        assert r.failing() == {"tls:smtp", "tls:imap", "tls:imaps"}, r
        assert "issued for www.example.org" in r.find("tls:imaps", "FAIL")[2]
