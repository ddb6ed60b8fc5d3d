"""`mailkeep dkim genkey|list|del` (issue 4 §2).

The printed record must match the written key: dkimpy (an independent
implementation) signs with the key file and verifies with the printed
record, for RSA and Ed25519; the record is also served by a real DNS server
(Knot) from the printed zone-file text, pasted as is. Files are 0600 in 0700
directories, keys are never overwritten without --force and never
destroyed, and only local domains get keys.
"""
import base64
import os
import re
import sqlite3
import stat
import subprocess

import pytest

from conftest import SANITIZER_MARKS

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) not installed")

MSG = (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
       b"Subject: key check\r\nMessage-ID: <k1@example.org>\r\n\r\n"
       b"The record and the key belong together.\r\n")


def run(srv, *args, check=True):
    r = srv.cli(*args, check=False)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r


def fails(r, code, *words):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith(("mailkeep: ", "usage: ")), r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


@pytest.fixture
def srv(make_server):
    return make_server(users=(), start=False)


def key_path(srv, domain, selector):
    return os.path.join(srv.data, "dkim", domain, selector + ".key")


def parse_record(out, domain, selector):
    """The zone-file line of genkey: (name, [strings], joined record)."""
    lines = [l for l in out.splitlines() if not l.startswith(";")]
    assert len(lines) == 1, out
    m = re.fullmatch(r'(\S+) IN TXT \( ((?:"[^"]*" ?)+)\)', lines[0])
    assert m, lines[0]
    assert m.group(1) == f"{selector}._domainkey.{domain}."
    strings = re.findall(r'"([^"]*)"', m.group(2))
    assert all(1 <= len(s) <= 255 for s in strings), [len(s) for s in strings]
    return lines[0], strings, "".join(strings)


def dnsfunc_for(domain, selector, record):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        if name.rstrip(".").lower() == f"{selector}._domainkey.{domain}":
            return record.encode()
        return None
    return dnsfunc


def dkimpy_key(path, kind):
    """What dkimpy signs with: the PEM for RSA, the base64 seed for Ed25519
    (the last 32 octets of the PKCS#8 DER, via the openssl tool)."""
    with open(path, "rb") as f:
        pem = f.read()
    if kind == "rsa":
        return pem
    der = subprocess.run(["openssl", "pkey", "-in", path, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    assert len(der) == 48, len(der)
    return base64.b64encode(der[-32:])


def sign_and_verify(path, kind, domain, selector, record, msg=MSG):
    algo = b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"
    sig = dkim.sign(msg, selector.encode(), domain.encode(), dkimpy_key(path, kind),
                    signature_algorithm=algo,
                    include_headers=[b"from", b"to", b"subject"])
    return dkim.verify(sig + msg, dnsfunc=dnsfunc_for(domain, selector, record))


@pytest.mark.parametrize("kind, args, bits, tag", [
    ("rsa", (), 2048, "k=rsa"),
    ("rsa", ("--bits", "1024"), 1024, "k=rsa"),
    ("rsa", ("--type", "rsa", "--bits=3072"), 3072, "k=rsa"),
    ("ed25519", ("--type", "ed25519"), 256, "k=ed25519"),
])
def test_genkey_record_matches_key(srv, kind, args, bits, tag):
    r = run(srv, "dkim", "genkey", "example.org", "sel1", *args)
    _, strings, record = parse_record(r.stdout, "example.org", "sel1")
    assert record.startswith(f"v=DKIM1; {tag}; p=")
    if kind == "rsa" and bits >= 2048:
        assert len(strings) >= 2     # p= alone is over 255 octets
    path = key_path(srv, "example.org", "sel1")
    assert f"in {path}" in r.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for d in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
    assert sign_and_verify(path, kind, "example.org", "sel1", record)
    # the record of another key does not verify this key's signatures
    other = run(srv, "dkim", "genkey", "example.org", "other", *args).stdout
    _, _, other_record = parse_record(other, "example.org", "other")
    assert not sign_and_verify(path, kind, "example.org", "sel1", other_record)
    lst = run(srv, "dkim", "list").stdout.splitlines()
    assert f"example.org\tsel1\t{kind}\t{bits}\t{path}" in lst


def test_genkey_refuses_overwrite_without_force(srv):
    run(srv, "dkim", "genkey", "example.org", "s")
    path = key_path(srv, "example.org", "s")
    with open(path, "rb") as f:
        first = f.read()
    fails(run(srv, "dkim", "genkey", "example.org", "s", check=False), 1,
          "--force")
    fails(run(srv, "dkim", "genkey", "example.org", "S", "--type", "ed25519",
              check=False), 1, "--force")
    with open(path, "rb") as f:
        assert f.read() == first
    # --force replaces it, and keeps the old key aside
    r = run(srv, "dkim", "genkey", "example.org", "s", "--type", "ed25519", "--force")
    _, _, record = parse_record(r.stdout, "example.org", "s")
    assert "k=ed25519" in record
    aside = [n for n in os.listdir(os.path.dirname(path)) if n.startswith("s.key.replaced-")]
    assert len(aside) == 1, os.listdir(os.path.dirname(path))
    with open(os.path.join(os.path.dirname(path), aside[0]), "rb") as f:
        assert f.read() == first
    assert sign_and_verify(path, "ed25519", "example.org", "s", record)
    assert run(srv, "dkim", "list").stdout.split("\t")[2] == "ed25519"


def test_genkey_refuses_non_local_domain(srv):
    fails(run(srv, "dkim", "genkey", "elsewhere.test", "s", check=False), 1,
          "not a local domain")
    assert not os.path.exists(os.path.join(srv.data, "dkim", "elsewhere.test"))
    assert run(srv, "dkim", "list").stdout == ""
    # a domain added at run time is local
    run(srv, "domain", "add", "elsewhere.test")
    run(srv, "dkim", "genkey", "Elsewhere.TEST", "S1", "--type", "ed25519")
    assert os.path.exists(key_path(srv, "elsewhere.test", "s1"))


@pytest.mark.parametrize("args, code, words", [
    (("example.org", "s", "--bits", "512"), 2, ["1024 to 8192"]),
    (("example.org", "s", "--bits", "8193"), 2, ["1024 to 8192"]),
    (("example.org", "s", "--bits", "2k"), 2, ["1024 to 8192"]),
    (("example.org", "s", "--type", "dsa"), 2, ["rsa or ed25519"]),
    (("example.org", "s", "--type", "ed25519", "--bits", "2048"), 2, ["RSA keys only"]),
    (("example.org", "s", "--frob"), 2, ["usage: mailkeep dkim"]),
    (("example.org",), 2, ["usage: mailkeep dkim"]),
    (("example.org", "../../etc"), 1, ["invalid selector"]),
    (("example.org", "a/b"), 1, ["invalid selector"]),
    (("example.org", "-x-"), 2, ["usage"]),
    (("example.org", "a_b"), 1, ["invalid selector"]),
    (("../example.org", "s"), 1, ["invalid domain"]),
])
def test_genkey_bad_arguments(srv, args, code, words):
    fails(run(srv, "dkim", "genkey", *args, check=False), code, *words)
    assert run(srv, "dkim", "list").stdout == ""


def test_del_keeps_the_file(srv):
    run(srv, "dkim", "genkey", "example.org", "old", "--type", "ed25519")
    run(srv, "dkim", "genkey", "example.net", "keep", "--type", "ed25519")
    path = key_path(srv, "example.org", "old")
    r = run(srv, "dkim", "del", "EXAMPLE.org", "Old")
    assert "old._domainkey.example.org" in r.stdout
    assert not os.path.exists(path)
    aside = [n for n in os.listdir(os.path.dirname(path)) if n.startswith("old.key.deleted-")]
    assert len(aside) == 1
    assert stat.S_IMODE(os.stat(os.path.join(os.path.dirname(path), aside[0])).st_mode) == 0o600
    lst = run(srv, "dkim", "list").stdout.splitlines()
    assert [l.split("\t")[:2] for l in lst] == [["example.net", "keep"]]
    fails(run(srv, "dkim", "del", "example.org", "old", check=False), 1, "no DKIM key")
    # a key whose file is gone: listed as missing, and can still be deleted
    os.unlink(key_path(srv, "example.net", "keep"))
    assert run(srv, "dkim", "list").stdout.rstrip("\n").endswith("\tmissing")
    assert "no key file" in run(srv, "dkim", "del", "example.net", "keep").stdout
    assert run(srv, "dkim", "list").stdout == ""


def test_schema_migration_adds_the_table(srv):
    """A database of schema 1 (before DKIM keys) is upgraded in place."""
    run(srv, "domain", "list")          # creates mailkeep.db at the newest schema
    db = sqlite3.connect(os.path.join(srv.data, "mailkeep.db"))
    db.execute("DROP TABLE dkim_keys")
    db.execute("ALTER TABLE accounts DROP COLUMN scram_secret")   # schema 3
    db.execute("ALTER TABLE accounts DROP COLUMN pam")            # schema 4
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    run(srv, "dkim", "genkey", "example.org", "m", "--type", "ed25519")
    db = sqlite3.connect(os.path.join(srv.data, "mailkeep.db"))
    try:
        assert db.execute("SELECT value FROM meta WHERE key='schema_version'"
                          ).fetchone()[0] == "4"
        assert db.execute("SELECT domain, selector, type, bits FROM dkim_keys"
                          ).fetchall() == [("example.org", "m", "ed25519", 256)]
    finally:
        db.close()


def test_pasted_record_served_by_knot(srv, tmp_path):
    """The printed line, pasted into a zone file as is, loads in Knot and
    serves the same record."""
    from dnsworld import DnsWorld, have_knot
    if not have_knot():
        pytest.skip("knot not installed")
    r = run(srv, "dkim", "genkey", "example.org", "paste")
    line, strings, record = parse_record(r.stdout, "example.org", "paste")
    w = DnsWorld(str(tmp_path / "dns"))
    name, _, rdata = line.partition(" IN TXT ")
    w.records = [(name, "TXT", rdata)]
    w.start()
    try:
        got = w.dig("TXT", "paste._domainkey.example.org")
    finally:
        w.stop()
    assert got and "".join(re.findall(r'"([^"]*)"', got[0])) == record
