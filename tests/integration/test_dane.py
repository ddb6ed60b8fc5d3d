"""DANE for outbound SMTP (RFC 7672; issue 5 item 3): A (a.test) sends to
B (b.test) through a DNSSEC-signed test world (Knot signs, A validates
with the world's trust anchor) that publishes TLSA records for B's MX host
at _PORT._tcp.mx.b.test. A matching record gets the mail delivered over
verified TLS; a non-matching one, a missing STARTTLS or a failed TLSA
lookup keep it queued (never sent in clear); unsigned zones and unusable
records leave TLS opportunistic.
"""
import os
import shutil

import pytest

from dnsworld import dns_world  # noqa: F401  (the fixture)
from testca import TestCA, spki_sha256, use_cert
from test_outbound import FakeSmtp, message, sender_conf, submit, wait_log

RECORDS = [
    ("a.test", "MX", "10 mx.a.test"),
    ("mx.a.test", "A", "127.0.0.1"),
    ("b.test", "MX", "10 mx.b.test"),
    ("mx.b.test", "A", "127.0.0.1"),
]


@pytest.fixture
def dane(make_server, dns_world, server_root, tls_files):
    """make(tlsa, ...) -> (A, B, port): TLSA records (rdata strings, or a
    function of B's port and certificate) at _PORT._tcp.mx.b.test, or a
    dict {host: such records} for _PORT._tcp.HOST; records: the world."""

    def make(tlsa=(), dnssec=True, a_extra="", start_b=True, b_cert=None,
             servfail_zones=(), records=RECORDS):
        w = dns_world(records, dnssec=dnssec, servfail_zones=servfail_zones)
        b = make_server("", users=("bob@b.test",), domains="b.test",
                        dns=w.forwarder, start=False)
        cert, key = b_cert or tls_files
        use_cert(b, cert, key)
        dns = f"[dns]\nforwarders = {w.forwarder}\n"
        if dnssec:      # readable by the queue process (user mailkeep as root)
            ta = os.path.join(server_root, "ta.key")
            shutil.copy(w.trust_anchor, ta)
            os.chmod(ta, 0o644)
            dns += f"trust_anchor = {ta}\n"
        a = make_server(sender_conf(b.port, f"{a_extra}\n{dns}"),
                        users=("alice@a.test",), domains="a.test", dns=w.forwarder)
        at = tlsa if isinstance(tlsa, dict) else {"mx.b.test": tlsa}
        w.set_records(records + [
            (f"_{b.port}._tcp.{host}", "TLSA", r) for host, rrs in at.items()
            for r in (rrs(b.port, cert) if callable(rrs) else rrs)])
        if start_b:
            b.start()
        return a, b, b.port
    return make


def sent_line(a, verified, timeout=20):
    return wait_log(a, r"to=<bob@b\.test> relay=mx\.b\.test\[127\.0\.0\.1\]:\d+ "
                    r"tls=TLSv1\.[23] status=sent .* verified=%s" % verified,
                    timeout=timeout)


def deferred(a, why, timeout=20):
    return wait_log(a, r"to=<bob@b\.test> relay=none .*status=deferred "
                    r"dsn=4\.\d\.\d+ reply=\".*%s" % why, timeout=timeout)


def test_matching_dane_ee_delivered(dane):
    a, b, port = dane(lambda port, cert: ["3 1 1 " + spki_sha256(cert)])
    submit(a, ["bob@b.test"], message("dane-ee"))
    msgs = b.wait_messages("bob@b.test", 1)
    assert len(msgs) == 1, a.log()[-4000:]
    assert sent_line(a, "dane-ee"), a.log()[-3000:]
    assert wait_log(a, r"event=dane host=mx\.b\.test tlsa=1 usable=1 tls=required")


def test_mismatch_is_deferred_never_sent(dane):
    a, b, port = dane(["3 1 1 " + "00" * 32])
    submit(a, ["bob@b.test"], message("dane-mismatch"))
    assert wait_log(a, r"event=dane-fail host=mx\.b\.test .*reason=\"DANE: "
                    r"certificate not verified"), a.log()[-3000:]
    assert deferred(a, r"4\.7\.5 DANE: certificate not verified"), a.log()[-3000:]
    assert wait_log(a, r"status=deferred .* verified=failed")
    # retried (retry_min 1s), and still nothing reached B, in clear or not
    assert wait_log(a, r"event=dane-fail host=mx\.b\.test", count=2, timeout=30)
    assert b.messages("bob@b.test") == []
    assert "status=sent" not in a.log()


@pytest.mark.parametrize("name,ok", [("mx.b.test", True), ("other.test", False)])
def test_dane_ta_checks_chain_and_name(dane, server_root, name, ok):
    ca = TestCA(server_root)
    chain, key, leaf = ca.issue(name)
    a, b, port = dane(["2 1 1 " + spki_sha256(ca.cert)], b_cert=(chain, key))
    submit(a, ["bob@b.test"], message("dane-ta"))
    if ok:
        assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
        assert sent_line(a, "dane-ta"), a.log()[-3000:]
    else:   # RFC 7672 §3.2.2: the name must be the MX host's or the domain's
        assert deferred(a, "DANE: certificate not verified: hostname mismatch"), \
            a.log()[-3000:]
        assert b.messages("bob@b.test") == []


@pytest.mark.parametrize("usage,ok", [("3", True), ("2", False)])
def test_expired_certificate(dane, server_root, usage, ok):
    """RFC 7672 §3.1.1: DANE-EE ignores validity dates; DANE-TA checks
    the chain as PKIX would, dates included."""
    ca = TestCA(server_root)
    chain, key, leaf = ca.issue("mx.b.test", expired=True)
    tlsa = "%s 1 1 %s" % (usage, spki_sha256(leaf if usage == "3" else ca.cert))
    a, b, port = dane([tlsa], b_cert=(chain, key))
    submit(a, ["bob@b.test"], message("dane-expired"))
    if ok:
        assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
        assert sent_line(a, "dane-ee"), a.log()[-3000:]
    else:
        assert deferred(a, "DANE: certificate not verified: certificate has "
                        "expired"), a.log()[-3000:]
        assert b.messages("bob@b.test") == []


def test_no_starttls_is_deferred(dane):
    a, b, port = dane(lambda port, cert: ["3 1 1 " + spki_sha256(cert)],
                      start_b=False)
    fake = FakeSmtp(port, b"250 ok", data_reply=b"250 ok")     # no STARTTLS
    try:
        submit(a, ["bob@b.test"], message("dane-cleartext"))
        assert deferred(a, "TLS is required but the server does not offer "
                        "STARTTLS"), a.log()[-3000:]
        assert fake.rcpts == 0 and fake.messages == []
    finally:
        fake.close()


def test_tlsa_lookup_failure_skips_host(dane):
    a, b, port = dane(["3 1 1 " + "00" * 32], servfail_zones=["_tcp.mx.b.test"])
    submit(a, ["bob@b.test"], message("dane-servfail"))
    assert deferred(a, r"4\.7\.5 DANE: TLSA lookup failed"), a.log()[-3000:]
    assert wait_log(a, r"event=dane-fail host=mx\.b\.test .*reason=\"TLSA lookup")
    assert b.messages("bob@b.test") == []


def test_unsigned_zone_ignores_tlsa(dane):
    a, b, port = dane(["3 1 1 " + "00" * 32], dnssec=False)
    submit(a, ["bob@b.test"], message("dane-unsigned"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert sent_line(a, "no")
    assert "event=dane" not in a.log()


def test_only_unusable_records_stay_opportunistic(dane):
    a, b, port = dane(["1 1 1 " + "00" * 32, "0 0 1 " + "11" * 32,
                       "3 1 1 abcd"])
    submit(a, ["bob@b.test"], message("dane-unusable"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert sent_line(a, "no")
    assert wait_log(a, r"event=dane host=mx\.b\.test tlsa=3 usable=0 "
                    r"tls=opportunistic")
    assert wait_log(a, r"event=dane-tlsa host=mx\.b\.test record=\d "
                    r"status=unusable reason=\"PKIX usage")


def test_dane_off_by_configuration(dane):
    a, b, port = dane(["3 1 1 " + "00" * 32], a_extra="dane = no")
    submit(a, ["bob@b.test"], message("dane-off"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert sent_line(a, "no")


# RFC 7672 §2.2.2 / RFC 7671 §7: B's MX host is an alias.
CNAME_RECORDS = RECORDS[:3] + [
    ("mx.b.test", "CNAME", "smtp.b.test."),
    ("smtp.b.test", "A", "127.0.0.1"),
]


def ee_match(port, cert):
    return ["3 1 1 " + spki_sha256(cert)]


def test_cname_tlsa_at_the_expanded_name(dane):
    a, b, port = dane({"smtp.b.test": ee_match}, records=CNAME_RECORDS)
    submit(a, ["bob@b.test"], message("dane-cname"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert sent_line(a, "dane-ee"), a.log()[-3000:]
    assert wait_log(a, r"event=dane host=mx\.b\.test base=smtp\.b\.test "
                    r"tlsa=1 usable=1 tls=required")


def test_cname_none_at_the_expanded_name_asks_the_mx_name(dane):
    a, b, port = dane({"mx.b.test": ee_match}, records=CNAME_RECORDS)
    submit(a, ["bob@b.test"], message("dane-cname-fallback"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert sent_line(a, "dane-ee"), a.log()[-3000:]
    assert wait_log(a, r"event=dane host=mx\.b\.test tlsa=1 usable=1 "
                    r"tls=required")


def test_cname_expanded_name_comes_first(dane):
    a, b, port = dane({"smtp.b.test": ["3 1 1 " + "00" * 32],
                       "mx.b.test": ee_match}, records=CNAME_RECORDS)
    submit(a, ["bob@b.test"], message("dane-cname-first"))
    assert deferred(a, r"4\.7\.5 DANE: certificate not verified"), a.log()[-3000:]
    assert b.messages("bob@b.test") == []


def test_cname_dane_ta_accepts_the_expanded_name(dane, server_root):
    """§3.2.2: the certificate may name the TLSA base domain."""
    ca = TestCA(server_root)
    chain, key, leaf = ca.issue("smtp.b.test")
    a, b, port = dane({"smtp.b.test": ["2 1 1 " + spki_sha256(ca.cert)]},
                      records=CNAME_RECORDS, b_cert=(chain, key))
    submit(a, ["bob@b.test"], message("dane-cname-ta"))
    assert len(b.wait_messages("bob@b.test", 1)) == 1, a.log()[-4000:]
    assert sent_line(a, "dane-ta"), a.log()[-3000:]
