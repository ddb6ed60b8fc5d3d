"""`mailkeep quickstart` (issue 6 §1): config, account with a generated
password, DKIM keys, a self-signed certificate and the DNS records, on a
fresh machine; never overwriting without --force. The end-to-end test
publishes what quickstart printed in a Knot world, starts the server it
configured and runs `dns check`: only the self-signed certificate warns.
"""
import ipaddress
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import time
import warnings

import pytest

from conftest import BIN, SANITIZER_MARKS, free_port
from dnsworld import dns_world  # noqa: F401  (the fixture)

HOST = "mx.example.org"


def run(conf, *args, check=True, env=None):
    p = subprocess.run([BIN, "-c", conf, *args], capture_output=True, text=True,
                       env=env, timeout=180)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture
def qs(server_root):
    """Paths of a fresh machine: (config, data dir)."""
    return (os.path.join(server_root, "etc", "mailkeep.conf"),
            os.path.join(server_root, "data"))


def quickstart(conf, data, *args, check=True):
    return run(conf, "quickstart", "alice@example.org", "--data-dir", data, *args,
               check=check)


def password_ok(data, address, password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    db = sqlite3.connect(os.path.join(data, "mailkeep.db"))
    (h,) = db.execute("select password_hash from accounts where address = ?",
                      (address,)).fetchone()
    db.close()
    return crypt.crypt(password, h) == h


def test_fresh_machine(qs):
    conf, data = qs
    r = quickstart(conf, data, "--hostname", HOST, "--ip", "127.0.0.2",
                   "--ip", "2001:db8::25")
    out = r.stdout
    # the account, with a password that works and is shown once
    m = re.search(r"account: alice@example.org  password: (\S+)", out)
    assert m, out
    assert len(m.group(1)) == 20 and password_ok(data, "alice@example.org", m.group(1))
    assert not password_ok(data, "alice@example.org", m.group(1) + "x")
    assert "alice@example.org" in run(conf, "user", "list").stdout
    # a configuration that validates and says what quickstart was told
    assert run(conf, "config", "check").stdout.strip() == f"{conf}: ok"
    text = open(conf).read()
    assert f"hostname = {HOST}\n" in text and "domains  = example.org\n" in text
    assert f"data_dir = {data}\n" in text
    assert "public_addresses = 127.0.0.2, 2001:db8::25\n" in text
    for svc, port in (("smtp", 25), ("submission", 587), ("submissions", 465),
                      ("imap", 143), ("imaps", 993)):
        assert re.search(rf"^{svc} += 0\.0\.0\.0:{port}\b", text, re.M), svc
    assert not re.search(r"^pop3", text, re.M)
    assert "/etc/letsencrypt/live/mx.example.org/fullchain.pem" in text
    # two DKIM keys, RSA-2048 and Ed25519, recorded in mailkeep.db
    keys = [l.split("\t") for l in run(conf, "dkim", "list").stdout.splitlines()]
    assert sorted((k[2], k[3]) for k in keys) == [("ed25519", "256"), ("rsa", "2048")]
    assert all(re.fullmatch(r"mk\d{6}[re]", k[1]) for k in keys), keys
    # a self-signed certificate for the host name, its key 0600
    crt = os.path.join(data, "tls", HOST + ".crt")
    key = os.path.join(data, "tls", HOST + ".key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    x = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject", "-issuer",
                        "-ext", "subjectAltName", "-checkend", str(300 * 86400)],
                       capture_output=True, text=True)
    assert x.returncode == 0 and f"DNS:{HOST}" in x.stdout, x.stdout
    assert x.stdout.count(f"CN = {HOST}") == 2          # subject = issuer
    mod = [subprocess.run(["openssl", kind, "-in", f, "-noout", "-modulus"],
                          capture_output=True, text=True).stdout
           for kind, f in (("x509", crt), ("rsa", key))]
    assert mod[0] == mod[1] and mod[0]
    # the records (same text as `dns records`) and the next steps
    assert f"example.org. 3600 IN MX 10 {HOST}." in out
    assert f"{HOST}. 3600 IN AAAA 2001:db8::25" in out
    assert f";   2.0.0.127.in-addr.arpa. IN PTR {HOST}." in out
    for k in keys:
        assert f"{k[1]}._domainkey.example.org. 3600 IN TXT" in out
    records = run(conf, "dns", "records", "example.org").stdout
    assert records in out
    assert f"certbot certonly --standalone -d {HOST} --deploy-hook" in out
    assert "systemctl reload mailkeep" in out


def test_refuses_to_overwrite_without_force(qs):
    conf, data = qs
    first = quickstart(conf, data, "--ip", "127.0.0.2").stdout
    before = open(conf).read()
    r = quickstart(conf, data, "--ip", "127.0.0.3", check=False)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    assert open(conf).read() == before
    keys = run(conf, "dkim", "list").stdout
    # --force: new config, the old one kept; account and keys kept
    r = quickstart(conf, data, "--ip", "127.0.0.3", "--force")
    assert "public_addresses = 127.0.0.3\n" in open(conf).read()
    aside = [n for n in os.listdir(os.path.dirname(conf))
             if n.startswith("mailkeep.conf.replaced-")]
    assert len(aside) == 1
    assert open(os.path.join(os.path.dirname(conf), aside[0])).read() == before
    assert "exists; its password is unchanged" in r.stdout
    assert "password:" not in r.stdout
    assert run(conf, "dkim", "list").stdout == keys
    assert "kept" in r.stdout and "mail.example.org.crt" in first


def test_without_ip_uses_global_addresses_only(qs):
    conf, data = qs
    r = quickstart(conf, data)
    text = open(conf).read()
    m = re.search(r"^public_addresses = (.*)$", text, re.M)
    if m:
        for a in m.group(1).split(", "):
            assert ipaddress.ip_address(a).is_global, a
    else:
        # a test machine behind NAT: a placeholder and the way out
        assert "# public_addresses = " in text
        assert "No public address was found" in r.stdout
        assert "<the server's public IPv4 address>" in r.stdout


@pytest.mark.parametrize("args, code, words", [
    (("not-an-address",), 1, "invalid address"),
    (("a@example.org", "--ip", "300.1.1.1"), 2, "not an IP address"),
    (("a@example.org", "--hostname", "bad_name!"), 1, "not a valid host name"),
    (("a@example.org", "--frob"), 2, "usage: "),
    ((), 2, "usage: "),
])
def test_bad_arguments(qs, args, code, words):
    conf, _ = qs
    r = run(conf, "quickstart", *args, check=False)
    assert r.returncode == code and words in r.stderr, r.stderr
    assert not os.path.exists(conf)


def serve(conf, port):
    """Start `mailkeep serve` and wait for its SMTP greeting."""
    log = open(conf + ".log", "ab")
    p = subprocess.Popen([BIN, "-c", conf, "serve"], stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        assert p.poll() is None, open(conf + ".log").read()
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    return p, log
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise AssertionError("mailkeep serve did not answer")


def test_end_to_end_quickstart_records_check(qs, dns_world):
    conf, data = qs
    out = quickstart(conf, data, "--hostname", HOST, "--ip", "127.0.0.2").stdout
    zone = "\n".join(re.sub(r"^;\s+(\S+\.arpa\.) IN PTR (\S+)$", r"\1 3600 IN PTR \2", l)
                     for l in out.splitlines()
                     if l.startswith(";") or re.match(r"^\S+\. 3600 IN ", l))
    world = dns_world([], raw=zone + "\n")
    # the machine's ports are not ours to take: SMTP on a free loopback port
    port = free_port()
    text = open(conf).read()
    text = re.sub(r"\[listen\]\n(.*\n)*?\n", f"[listen]\nsmtp = 127.0.0.1:{port}\n\n", text)
    text += f"\n[dns]\nforwarders = {world.forwarder}\n"
    with open(conf, "w") as f:
        f.write(text)
    p, log = serve(conf, port)
    try:
        r = run(conf, "dns", "check", check=False)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)
        log.close()
    lines = [l for l in r.stdout.splitlines() if re.match(r"^(PASS|WARN|FAIL) ", l)]
    assert r.returncode == 0, r.stdout + r.stderr
    not_passed = [l.split()[:2] for l in lines if not l.startswith("PASS")]
    assert not_passed == [["WARN", "tls:smtp"]], r.stdout
    assert "self-signed certificate for mx.example.org" in r.stdout
    for want in ("mx", "spf", "dmarc", "tls-rpt", "fcrdns:127.0.0.2"):
        assert any(l.split()[:2] == ["PASS", want] for l in lines), (want, r.stdout)
    assert sum(l.split()[1].startswith("dkim:") for l in lines) == 2
    for mark in SANITIZER_MARKS:
        assert mark not in open(conf + ".log").read()
