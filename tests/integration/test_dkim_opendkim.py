"""mailkeep-signed messages verified by OpenDKIM (libopendkim through
opendkim-testmsg), a second independent verifier next to dkimpy.

opendkim-testmsg asks the system resolver, so it runs in a private mount
namespace whose /etc/resolv.conf names a Knot server on 127.55.0.1:53
serving the key records (nothing outside this test sees the change)."""
import os
import shutil
import subprocess

import pytest

from dnsworld import DnsWorld, have_knot
from test_dkim_interop import TOOL, tool

TESTMSG = shutil.which("opendkim-testmsg") or "/usr/sbin/opendkim-testmsg"
HOST = "127.55.0.1"

pytestmark = [
    pytest.mark.skipif(not os.access(TESTMSG, os.X_OK), reason="opendkim-tools not installed"),
    pytest.mark.skipif(not have_knot(), reason="knot not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for unshare -m"),
    pytest.mark.skipif(not os.access(TOOL, os.X_OK), reason="dkim_tool not built"),
]

MSG = (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
       b"Subject: signed by mailkeep\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
       b"Message-ID: <opendkim-1@example.org>\r\n\r\n"
       b"Hello OpenDKIM.\r\n\r\n.leading dot line\r\nlast line\r\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("odkim")
    keys = {}
    for sel, kind, bits in (("rsa", "rsa", "2048"), ("ed", "ed25519", "0")):
        path = str(d / f"{sel}.pem")
        record = tool("genkey", kind, bits, path).stdout.decode().splitlines()[0]
        keys[sel] = (path, record)
    w = DnsWorld(str(d / "dns"), [(f"{sel}._domainkey.example.org", "TXT", rec)
                                  for sel, (_, rec) in keys.items()],
                 host=HOST, port=53)
    try:
        w.start()
    except Exception as e:      # port 53 on that address may be taken
        pytest.skip(f"cannot start Knot on {HOST}:53: {e}")
    resolv = d / "resolv.conf"
    resolv.write_text(f"nameserver {HOST}\noptions attempts:1 timeout:2\n")
    yield keys, str(resolv)
    w.stop()


def run_testmsg(resolv, msg):
    """opendkim-testmsg in its own mount namespace; its exit status."""
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {resolv} /etc/resolv.conf && exec {TESTMSG}"],
        input=msg, capture_output=True, timeout=60)
    return r.returncode, r.stderr.decode(errors="replace")


@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple", "relaxed/simple"])
def test_rsa_signature_verifies_in_opendkim(world, canon):
    keys, resolv = world
    signed = tool("sign", "example.org", f"rsa:{keys['rsa'][0]}", "-c", canon,
                  data=MSG).stdout
    code, err = run_testmsg(resolv, signed)
    assert code == 0, err


def test_two_signatures_rsa_and_ed25519(world):
    """Side by side, as mailkeep signs: OpenDKIM must accept the message
    (it verifies the RSA one; 2.11 may not know Ed25519)."""
    keys, resolv = world
    signed = tool("sign", "example.org", f"rsa:{keys['rsa'][0]}",
                  f"ed:{keys['ed'][0]}", data=MSG).stdout
    assert signed.count(b"DKIM-Signature:") == 2
    code, err = run_testmsg(resolv, signed)
    assert code == 0, err


def test_tampered_body_fails_in_opendkim(world):
    keys, resolv = world
    signed = tool("sign", "example.org", f"rsa:{keys['rsa'][0]}", data=MSG).stdout
    code, err = run_testmsg(resolv, signed.replace(b"Hello OpenDKIM.", b"Hello 0penDKIM."))
    assert code != 0, err
    assert "bad signature" in err.lower() or "body hash" in err.lower(), err
