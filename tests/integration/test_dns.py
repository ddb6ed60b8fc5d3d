"""lib_dns against a real authoritative server: dns_tool (tests/unit)
asks through libunbound, forwarding to a Knot test world (dnsworld.py).

Covers the answer conversions of dnsq.h on real packets (A, AAAA, MX and
null MX, TXT strings joined, PTR of 127.0.0.x), NXDOMAIN vs NODATA,
names refused without being sent, DNSSEC (secure, and bogus -> tempfail),
SERVFAIL and timeouts -> tempfail, both the event-loop and the blocking
API. The tool comes from $MAILKEEP_DNS_TOOL, else next to $MAILKEEP_BIN.
"""
import os
import subprocess
import time

import pytest

from conftest import BIN, SANITIZER_MARKS
from dnsworld import BlackHole, dns_world  # noqa: F401 (fixture)

TOOL = os.environ.get("MAILKEEP_DNS_TOOL",
                      os.path.join(os.path.dirname(BIN), "tests", "unit", "dns_tool"))

pytestmark = pytest.mark.skipif(not os.access(TOOL, os.X_OK),
                                reason="dns_tool not built: " + TOOL)

RECORDS = [
    ("example.org", "A", "192.0.2.10"),
    ("example.org", "A", "192.0.2.11"),
    ("example.org", "AAAA", "2001:db8::25"),
    ("example.org", "MX", "10 mx1.example.org"),
    ("example.org", "MX", (20, "mx2.example.org.")),
    ("example.org", "TXT", "v=spf1 ip4:192.0.2.0/24 -all"),
    ("mx1.example.org", "A", "127.0.0.2"),
    ("127.0.0.2", "PTR", "mx1.example.org"),
    ("2001:db8::25", "PTR", "v6.example.org"),
    ("split.example.org", "TXT", ["v=DKIM1; k=rsa; ", "p=AAAA", "BBBB"]),
    ("long.example.org", "TXT", "x" * 600),
    ("odd.example.org", "TXT", b'q"b\\s\x00n\xc3\xa9'),
    ("multi.example.org", "TXT", "first"),
    ("multi.example.org", "TXT", "second"),
    ("nullmx.example.net", "MX", "0 ."),
    ("deep.under.example.org", "A", "192.0.2.99"),
    ("alias.example.org", "CNAME", "example.org"),
    ("a+b.example.org", "TXT", "plus sent as is"),
    ("bad\\032name.example.org", "TXT", "must never be asked"),
    ("host.mailkeep.test", "A", "127.0.0.3"),
]


def ask(world_or_fwd, rtype, *names, args=(), timeout=30):
    """Run dns_tool; returns ({name: answer}, seconds taken)."""
    fwd = getattr(world_or_fwd, "forwarder", world_or_fwd)
    cmd = [TOOL, "-f", fwd, *args, rtype, *names]
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - start
    for mark in SANITIZER_MARKS:
        assert mark not in out.stderr, out.stderr
    assert out.returncode == 0, out.stderr
    answers, cur = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("rr="):
            cur["rr"].append(line[3:])
            continue
        name, rest = line[len("name="):].split(" type=", 1)
        fields = dict(f.split("=", 1) for f in ("type=" + rest).split())
        cur = {"rcode": fields["rcode"], "secure": fields["secure"] == "yes",
               "n": int(fields["n"]), "rr": []}
        answers[name] = cur
    assert len(answers) == len(names), out.stdout
    for a in answers.values():
        assert a["n"] == len(a["rr"])
    return answers, took


def one(world, rtype, name, args=()):
    return ask(world, rtype, name, args=args)[0][name]


@pytest.fixture
def world(dns_world):
    return dns_world(RECORDS)


@pytest.mark.parametrize("mode", [(), ("-S",)], ids=["event-loop", "sync"])
def test_address_records(world, mode):
    a = one(world, "A", "example.org", mode)
    assert a["rcode"] == "ok" and sorted(a["rr"]) == ["192.0.2.10", "192.0.2.11"]
    assert not a["secure"]
    aaaa = one(world, "AAAA", "Example.ORG.", mode)
    assert aaaa["rr"] == ["2001:db8::25"]
    cname = one(world, "A", "alias.example.org", mode)  # CNAME followed
    assert sorted(cname["rr"]) == ["192.0.2.10", "192.0.2.11"]


def test_mx_and_null_mx(world):
    a = one(world, "MX", "example.org")
    assert sorted(a["rr"]) == ["10 mx1.example.org", "20 mx2.example.org"]
    assert one(world, "MX", "nullmx.example.net")["rr"] == ["0 ."]


def test_txt_strings_joined(world):
    got, _ = ask(world, "TXT", "example.org", "split.example.org",
                 "long.example.org", "odd.example.org", "multi.example.org")
    assert got["example.org"]["rr"] == ["v=spf1 ip4:192.0.2.0/24 -all"]
    assert got["split.example.org"]["rr"] == ["v=DKIM1; k=rsa; p=AAAABBBB"]
    assert got["long.example.org"]["rr"] == ["x" * 600]  # 255+255+90
    # NUL and non-ASCII survive (rr_len); the tool prints them as \xNN.
    assert got["odd.example.org"]["rr"] == ['q"b\\x5cs\\x00n\\xc3\\xa9']
    assert sorted(got["multi.example.org"]["rr"]) == ["first", "second"]


def test_ptr_including_loopback_reverse(world):
    # 127.in-addr.arpa is libunbound's own zone unless we forward it.
    a = one(world, "PTR", "2.0.0.127.in-addr.arpa")
    assert a["rcode"] == "ok" and a["rr"] == ["mx1.example.org"]
    v6 = "5.2.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.ip6.arpa"
    assert one(world, "PTR", v6)["rr"] == ["v6.example.org"]
    assert one(world, "PTR", "3.0.0.127.in-addr.arpa")["rcode"] == "nxdomain"
    # RFC 6761 "test." is forwarded too, for test worlds that use it.
    assert one(world, "A", "host.mailkeep.test")["rr"] == ["127.0.0.3"]


def test_nxdomain_versus_nodata(world):
    got, _ = ask(world, "MX", "mx1.example.org", "nope.example.org",
                 "under.example.org", "deep.under.example.org")
    assert got["mx1.example.org"]["rcode"] == "nodata"   # has A, no MX
    assert got["nope.example.org"]["rcode"] == "nxdomain"
    assert got["under.example.org"]["rcode"] == "nodata"  # empty non-terminal
    assert got["deep.under.example.org"]["rcode"] == "nodata"
    assert one(world, "AAAA", "mx1.example.org")["rcode"] == "nodata"


def test_names_refused_without_sending(world):
    # The zone has "bad\032name": a name with a space is never asked.
    got, _ = ask(world, "TXT", "bad name.example.org", "a..example.org",
                 "a+b.example.org")
    assert got["bad name.example.org"]["rcode"] == "nxdomain"
    assert got["a..example.org"]["rcode"] == "nxdomain"
    # Other printable bytes are escaped and really asked.
    assert got["a+b.example.org"]["rr"] == ["plus sent as is"]
    assert world.dig("TXT", "bad\\032name.example.org") == ['"must never be asked"']


def test_many_questions_at_once(world):
    names = [f"n{i}.example.org" for i in range(150)] + ["example.org"]
    got, _ = ask(world, "TXT", *names)
    assert got["example.org"]["rcode"] == "ok"
    assert all(got[n]["rcode"] == "nxdomain" for n in names[:-1])


def test_zone_change_is_seen(world):
    assert one(world, "TXT", "example.org")["rr"] == ["v=spf1 ip4:192.0.2.0/24 -all"]
    world.set_records({"example.org": {"TXT": ["v=spf1 -all", ("a", "b")]}})
    assert sorted(one(world, "TXT", "example.org")["rr"]) == ["ab", "v=spf1 -all"]
    assert one(world, "A", "example.org")["rcode"] == "nodata"


def test_dnssec_secure_answers(dns_world):
    w = dns_world(RECORDS, dnssec=True)
    ta = ("-a", w.trust_anchor)
    got, _ = ask(w, "MX", "example.org", "mx1.example.org", "nope.example.org",
                 args=ta)
    assert got["example.org"]["rcode"] == "ok" and got["example.org"]["secure"]
    assert sorted(got["example.org"]["rr"]) == ["10 mx1.example.org", "20 mx2.example.org"]
    assert got["mx1.example.org"]["rcode"] == "nodata"    # proven by NSEC
    assert got["mx1.example.org"]["secure"]
    assert got["nope.example.org"]["rcode"] == "nxdomain"
    assert got["nope.example.org"]["secure"]
    assert one(w, "TXT", "split.example.org", ("-S",) + ta)["secure"]
    # Without a trust anchor: same data, not validated.
    assert not one(w, "MX", "example.org")["secure"]


def test_dnssec_bogus_is_tempfail(dns_world, tmp_path):
    w = dns_world(RECORDS, dnssec=True)
    with open(w.trust_anchor) as f:
        key = f.read().split()
    key[-1] = key[-1][:10] + ("A" if key[-1][10] != "A" else "B") + key[-1][11:]
    wrong = tmp_path / "wrong.key"
    wrong.write_text(" ".join(key) + "\n")
    a = one(w, "TXT", "example.org", ("-a", str(wrong)))
    assert a["rcode"] == "tempfail" and not a["secure"] and a["rr"] == []
    # An unsigned world under a trust anchor is bogus as well.
    plain = dns_world(RECORDS)
    assert one(plain, "TXT", "example.org", ("-a", w.trust_anchor))["rcode"] == "tempfail"


def test_servfail_is_tempfail(dns_world):
    w = dns_world(RECORDS, servfail_zones=["broken.example.org"])
    assert w.dig("A", "x.broken.example.org") == []  # knotd: SERVFAIL
    got, took = ask(w, "A", "x.broken.example.org", "example.org",
                    args=("-t", "8000"))
    assert got["x.broken.example.org"]["rcode"] == "tempfail"
    assert got["example.org"]["rcode"] == "ok"
    assert took < 8


@pytest.mark.parametrize("mode", [(), ("-S",)], ids=["event-loop", "sync"])
def test_timeout_is_tempfail(mode):
    with BlackHole() as hole:
        got, took = ask(hole, "TXT", "example.org", "localhost",
                        args=("-t", "700") + mode)
    assert got["example.org"]["rcode"] == "tempfail"
    assert got["localhost"]["rcode"] == "nodata"   # answered locally
    assert 0.6 <= took < 5
