"""`mailkeep dns records` (issue 6 §2): zone-file text that a real DNS
server loads as it is, one comment line before each record, and that makes
`mailkeep dns check` pass: the two commands agree.
"""
import os
import re

import pytest

from conftest import SANITIZER_MARKS
from dnsworld import dns_world  # noqa: F401  (the fixture)
from test_dns_check import HOST, IP, PUBLISH, check, pki, servers  # noqa: F401

PTR_REQUEST = re.compile(r"^;\s+(\S+\.arpa\.) IN PTR (\S+)$")


def records(srv, *args):
    r = srv.cli("dns", "records", *args, check=False)
    assert r.returncode == 0, r.stderr
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    return r.stdout


def record_lines(text):
    return [l for l in text.splitlines() if l and not l.startswith(";")]


def as_provider_publishes(text):
    """The zone text, plus the PTR records the hosting provider was asked
    for (the test world plays the provider too)."""
    out = []
    for line in text.splitlines():
        m = PTR_REQUEST.match(line)
        out.append(f"{m.group(1)} 3600 IN PTR {m.group(2)}" if m else line)
    return "\n".join(out) + "\n"


def test_every_record_explained_and_defaults(servers, dns_world, pki):
    srv = servers(pki["good"], dns_world([]), start=False)
    srv.cli("dkim", "genkey", "example.org", "k1")
    text = records(srv)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith(";"):
            assert i > 0 and lines[i - 1].startswith("; "), line
            assert re.match(r"^\S+\. 3600 IN [A-Z]+ ", line), line
    recs = record_lines(text)
    # the host once, then each configured domain
    assert recs.count(f"{HOST}. 3600 IN A {IP}") == 1
    assert f'{HOST}. 3600 IN TXT "v=spf1 a -all"' in recs
    assert f";   2.0.0.127.in-addr.arpa. IN PTR {HOST}." in lines
    assert f"example.org. 3600 IN MX 10 {HOST}." in recs
    assert f"example.net. 3600 IN MX 10 {HOST}." in recs
    # SPF: mx inside the host's domain; written-out address outside it
    assert 'example.org. 3600 IN TXT "v=spf1 mx -all"' in recs
    assert f'example.net. 3600 IN TXT "v=spf1 ip4:{IP} -all"' in recs
    assert ('_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=quarantine; '
            'rua=mailto:postmaster@example.org"') in recs
    assert ('_smtp._tls.example.net. 3600 IN TXT "v=TLSRPTv1; '
            'rua=mailto:postmaster@example.net"') in recs
    assert any(l.startswith("k1._domainkey.example.org. 3600 IN TXT ( "
                            '"v=DKIM1; k=rsa; " "p=') for l in recs)
    assert not any("_domainkey.example.net" in l for l in recs)
    # only smtp listens in this config: every client service "not offered"
    for srv_name in ("_submission", "_submissions", "_imap", "_imaps", "_pop3s"):
        assert f"{srv_name}._tcp.example.org. 3600 IN SRV 0 0 0 ." in recs
    assert not any("_mta-sts" in l for l in recs)
    # one domain only
    one = records(srv, "example.net")
    assert "example.org. 3600 IN MX" not in one and "example.net. 3600 IN MX" in one


def test_options_shape_the_records(servers, dns_world, pki):
    extra = PUBLISH + """dmarc_policy = reject
dmarc_rua = reports@example.net
tls_rpt_rua = none
mta_sts = enforce

[listen]
submissions = 127.0.0.1:4650
imaps = 127.0.0.1:9930
"""
    srv = servers(pki["good"], dns_world([]), extra=extra, start=False)
    text = records(srv, "example.org")
    recs = record_lines(text)
    assert ('_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=reject; '
            'rua=mailto:reports@example.net"') in recs
    assert 'example.org._report._dmarc.example.net. 3600 IN TXT "v=DMARC1"' in recs
    assert not any("_smtp._tls" in l for l in recs)
    assert any(l.startswith('_mta-sts.example.org. 3600 IN TXT "v=STSv1; id=')
               for l in recs)
    assert f"mta-sts.example.org. 3600 IN A {IP}" in recs
    assert ";   mode: enforce" in text.splitlines()
    assert f"_submissions._tcp.example.org. 3600 IN SRV 0 1 4650 {HOST}." in recs
    assert f"_imaps._tcp.example.org. 3600 IN SRV 0 1 9930 {HOST}." in recs
    assert "_submission._tcp.example.org. 3600 IN SRV 0 0 0 ." in recs


@pytest.mark.parametrize("line, why", [
    ("public_addresses = 127.0.0.2, mail.example.org", "is not an IP address"),
    ("dmarc_policy = strict", "not one of the allowed values"),
    ("dmarc_rua = postmaster", "is not a mailbox"),
    ("tls_rpt_rua = a@b@", "is not a mailbox"),
    ("mta_sts = on", "not one of the allowed values"),
    ("dnsbl = bl..test", "is not a DNS zone"),
])
def test_publish_options_are_validated(servers, dns_world, pki, line, why):
    srv = servers(pki["good"], dns_world([]), extra=f"[publish]\n{line}\n",
                  start=False)
    r = srv.cli("config", "check", check=False)
    assert r.returncode == 1 and why in r.stderr, r.stderr


def test_records_loaded_into_knot_make_check_pass(servers, dns_world, pki):
    """The agreement test: what `dns records` prints, published as it is
    (and the PTRs it asks for), passes every `dns check` check; only the
    MTA-STS policy fetch is left, as no web server serves the policy."""
    world = dns_world([])
    srv = servers(pki["good"], world, extra=PUBLISH + "mta_sts = testing\n")
    srv.cli("dkim", "genkey", "example.org", "mk1")
    srv.cli("dkim", "genkey", "example.org", "mk2", "--type", "ed25519")
    world.set_records([], raw=as_provider_publishes(records(srv, "example.org")))
    r = check(srv, pki, "example.org")
    assert r.rc == 0, r
    not_passed = [(s, c) for s, c, _, _ in r.items if s != "PASS"]
    assert not_passed == [("WARN", "mta-sts")], r
    assert "could not be fetched" in r.find("mta-sts", "WARN")[2]
    for want in ("mx", "spf", "dkim:mk1", "dkim:mk2", "dmarc", "tls-rpt",
                 f"fcrdns:{IP}", "tls:smtp", "dnsbl:bl.test"):
        r.find(want, "PASS")
    # the DKIM record as Knot serves it verifies a signature made with the
    # key file, by an independent implementation
    dkim = pytest.importorskip("dkim", reason="python3-dkim not installed")
    served = world.dig("TXT", "mk1._domainkey.example.org")
    record = "".join(re.findall(r'"([^"]*)"', served[0]))
    with open(os.path.join(srv.data, "dkim", "example.org", "mk1.key"), "rb") as f:
        key = f.read()
    msg = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: x\r\n\r\nhi\r\n"
    sig = dkim.sign(msg, b"mk1", b"example.org", key, include_headers=[b"from"])
    assert dkim.verify(sig + msg, dnsfunc=lambda name, timeout=5: record.encode())
