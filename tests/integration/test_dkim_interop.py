"""DKIM interop with an independent implementation, dkimpy (python3-dkim).

Our signer (RSA-2048 and Ed25519, every canonicalisation) signs random and
corpus messages and dkimpy must verify each signature; dkimpy signs and our
verifier must pass them; tampering must be caught by both. Keys come from
our key generator, so the published TXT records are checked as well.

Our side is tests/unit/dkim_tool from a meson build dir: $MAILKEEP_BUILD_DIR,
else the directory of $MAILKEEP_BIN, else ./build. Run with /usr/bin/python3.
"""
import base64
import os
import random
import subprocess

import pytest

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) not installed")
nacl_signing = pytest.importorskip("nacl.signing", reason="python3-nacl not installed")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.get("MAILKEEP_BUILD_DIR"):
    BUILD = os.environ["MAILKEEP_BUILD_DIR"]
elif os.environ.get("MAILKEEP_BIN"):
    BUILD = os.path.dirname(os.environ["MAILKEEP_BIN"])
else:
    BUILD = os.path.join(ROOT, "build")
TOOL = os.path.join(BUILD, "tests", "unit", "dkim_tool")
DATA = os.path.join(os.path.dirname(ROOT), "shared", "conformance", "dkim")
DOMAIN = "example.org"
CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"]

pytestmark = pytest.mark.skipif(
    not os.access(TOOL, os.X_OK),
    reason=f"dkim_tool not built at {TOOL} (set MAILKEEP_BUILD_DIR to a meson build dir)")


def tool(*args, data=b"", check=True):
    r = subprocess.run([TOOL, *args], input=data, capture_output=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"dkim_tool {args[0]} failed: {r.stderr.decode(errors='replace')}")
    return r


class Keys:
    """Keys by selector: our genkey's RSA-2048 and Ed25519 PEM files, and an
    Ed25519 seed made by PyNaCl (the form dkimpy signs with)."""

    def __init__(self, tmp):
        self.files, self.records, self.dkimpy = {}, {}, {}
        for sel, kind, bits in (("rsa", "rsa", "2048"), ("ed", "ed25519", "0")):
            path = str(tmp / f"{sel}.pem")
            out = tool("genkey", kind, bits, path).stdout.decode()
            record, strings = out.splitlines()
            assert oct(os.stat(path).st_mode & 0o777) == "0o600"
            assert all(len(s) <= 255 for s in strings.strip('"').split('" "'))
            assert "".join(strings.strip('"').split('" "')) == record
            self.files[sel], self.records[sel] = path, record
        with open(self.files["rsa"], "rb") as f:
            self.dkimpy["rsa"] = f.read()      # PKCS#8 PEM: dkimpy reads it
        seed = nacl_signing.SigningKey.generate()
        self.dkimpy["seed"] = base64.b64encode(bytes(seed))
        path = str(tmp / "seed.key")
        with open(path, "wb") as f:
            f.write(self.dkimpy["seed"])
        self.files["seed"] = path
        pub = base64.b64encode(bytes(seed.verify_key)).decode()
        self.records["seed"] = f"v=DKIM1; k=ed25519; p={pub}"
        self.table = str(tmp / "keys.txt")
        with open(self.table, "w") as f:
            for sel, rec in self.records.items():
                f.write(f"{sel}._domainkey.{DOMAIN} {rec}\n")

    def dnsfunc(self, name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        for sel, rec in self.records.items():
            if name.rstrip(".").lower() == f"{sel}._domainkey.{DOMAIN}":
                return rec.encode()
        return None


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("dkim"))


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def random_message(rnd):
    """Headers and bodies with the things canonicalisation cares about:
    folding, odd whitespace, repeated fields, 8-bit text, trailing empty
    lines, long lines, no body, no final CRLF. (No whitespace before a
    field's colon: dkimpy cannot parse that obsolete syntax.)"""
    ws = lambda: rnd.choice(["", " ", "  ", "\t", " \t "])
    words = ["dinner", "game", "caf\xe9", "\u00fcber", "x" * 90, "a;b=c", "(note)"]
    text = lambda n: " ".join(rnd.choice(words) + ws() for _ in range(n))
    h = [f"From:{ws()} Joe <joe@{DOMAIN}>{ws()}", "To: suzie@example.net"]
    if rnd.random() < 0.5:
        h.append(f"Cc: a@example.net,\r\n\t{ws()}b@example.net")
    for _ in range(rnd.randint(1, 3)):
        h.append(f"Subject:{ws()}{text(rnd.randint(1, 4))}")
    h.append("Date: Thu, 01 Jan 2026 00:00:00 +0000")
    h.append(f"Message-ID: <{rnd.randint(0, 10**9)}@{DOMAIN}>")
    for i in range(rnd.randint(0, 4)):
        h.append(f"X-Extra-{i}:{ws()}{text(2)}\r\n {text(1)}")
    if rnd.random() < 0.5:
        h += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    rnd.shuffle(h)
    lines = [text(rnd.randint(0, 12)) + ws() for _ in range(rnd.randint(0, 15))]
    lines += [ws() for _ in range(rnd.randint(0, 3))]
    body = "\r\n".join(lines)
    # SMTP bodies always end in CRLF; without one, dkimpy keeps a last
    # line's trailing whitespace in relaxed mode (RFC 6376 §3.4.4 a. drops
    # it; we do), so only lines ending in text are left unterminated here.
    if body and (rnd.random() < 0.85 or body[-1] in " \t"):
        body += "\r\n"
    msg = "\r\n".join(h) + "\r\n" + ("\r\n" + body if rnd.random() < 0.95 else "")
    return msg.encode("utf-8")


def corpus_messages():
    """Real messages from the conformance folder that have a From field."""
    if not os.path.isdir(DATA):
        return []
    out = []
    for sub in ("dkimpy", "mail-dkim/corpus"):
        for name in sorted(os.listdir(os.path.join(DATA, sub))):
            if not name.endswith((".msg", ".message", ".txt")):
                continue
            with open(os.path.join(DATA, sub, name), "rb") as f:
                data = crlf(f.read())
            if b"\r\n\r\n" in data and b"\nFrom:" in b"\n" + data.split(b"\r\n\r\n")[0]:
                out.append((f"{sub}/{name}", data))
    return out


def messages():
    rnd = random.Random(int(os.environ.get("DKIM_INTEROP_SEED", "4")))
    return [(f"random{i}", random_message(rnd)) for i in range(40)] + corpus_messages()


MESSAGES = messages()


def dkimpy_verify(signed, idx, keys):
    try:
        return dkim.DKIM(signed).verify(idx=idx, dnsfunc=keys.dnsfunc)
    except dkim.DKIMException:
        return False


def dkimpy_verify_all(signed, n, keys):
    return [dkimpy_verify(signed, i, keys) for i in range(n)]


@pytest.mark.parametrize("canon", CANONS)
def test_ours_signed_dkimpy_verifies(keys, canon):
    bad = []
    for name, msg in MESSAGES:
        for selectors in (("rsa", "ed"), ("seed",)):
            specs = [f"{s}:{keys.files[s]}" for s in selectors]
            signed = tool("sign", DOMAIN, *specs, "-c", canon, data=msg).stdout
            got = dkimpy_verify_all(signed, len(selectors), keys)
            if not all(got):
                bad.append((name, selectors, got))
    assert not bad, f"dkimpy rejected our signatures: {bad[:5]}"


def our_verify(signed, keys):
    r = tool("verify", keys.table, data=signed, check=False)
    return r.returncode, r.stdout.decode()


@pytest.mark.parametrize("canon", CANONS)
def test_dkimpy_signed_ours_verifies(keys, canon):
    hc, bc = (c.encode() for c in canon.split("/"))
    bad = []
    for name, msg in MESSAGES:
        for sel, algo, key in (("rsa", b"rsa-sha256", keys.dkimpy["rsa"]),
                               ("seed", b"ed25519-sha256", keys.dkimpy["seed"])):
            sig = dkim.sign(msg, sel.encode(), DOMAIN.encode(), key,
                            canonicalize=(hc, bc), signature_algorithm=algo)
            rc, out = our_verify(sig + msg, keys)
            first = out.splitlines()[0] if out else ""
            if not first.startswith("0 dkim=pass"):
                bad.append((name, sel, out))
    assert not bad, f"we rejected dkimpy's signatures: {bad[:5]}"


def test_both_sign_the_same_message_together(keys):
    """dkimpy's signature below ours and ours below dkimpy's: each side
    verifies every signature."""
    msg = MESSAGES[0][1]
    inner = dkim.sign(msg, b"rsa", DOMAIN.encode(), keys.dkimpy["rsa"]) + msg
    outer = tool("sign", DOMAIN, f"ed:{keys.files['ed']}", data=inner).stdout
    assert dkimpy_verify_all(outer, 2, keys) == [True, True]
    rc, out = our_verify(outer, keys)
    assert rc == 0 and out.count("dkim=pass") == 2, out


@pytest.mark.parametrize("change", [
    (b"Hi", b"Bye"),                         # body
    (b"Subject:", b"Subject: re:"),          # a signed field
])
def test_tampering_caught_by_both(keys, change):
    msg = (b"From: Joe <joe@example.org>\r\nTo: x@example.net\r\nSubject: Hi\r\n"
           b"\r\nHi there.\r\n")
    signed = tool("sign", DOMAIN, f"rsa:{keys.files['rsa']}", f"ed:{keys.files['ed']}",
                  data=msg).stdout
    assert dkimpy_verify_all(signed, 2, keys) == [True, True]
    head, body = signed.split(b"\r\n\r\n", 1)
    if change[0] == b"Hi":
        tampered = head + b"\r\n\r\n" + body.replace(*change)
    else:
        tampered = head.replace(*change) + b"\r\n\r\n" + body
    assert dkimpy_verify_all(tampered, 2, keys) == [False, False]
    rc, out = our_verify(tampered, keys)
    assert rc == 1 and out.count("dkim=fail") == 2, out


def test_oversigned_from_added_later(keys):
    msg = b"From: joe@example.org\r\nTo: x@example.net\r\n\r\nHi.\r\n"
    signed = tool("sign", DOMAIN, f"rsa:{keys.files['rsa']}", data=msg).stdout
    forged = b"From: ceo@example.org\r\n" + signed
    assert dkimpy_verify_all(forged, 1, keys) == [False]
    rc, out = our_verify(forged, keys)
    assert rc == 1 and "dkim=fail" in out, out


def test_rfc8463_example_verified_by_ours(tmp_path):
    """The RFC 8463 Appendix A message, whose keys dkimpy's tests publish."""
    path = os.path.join(DATA, "dkimpy", "rfc6376.signed.msg")
    if not os.path.exists(path):
        pytest.skip(f"conformance data not found: {DATA}")
    with open(os.path.join(DATA, "dkimpy", "test.txt")) as f:
        rsa = f.read().strip()
    table = str(tmp_path / "keys.txt")
    with open(table, "w") as f:
        f.write("brisbane._domainkey.football.example.com v=DKIM1; k=ed25519; "
                "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n")
        f.write(f"test._domainkey.football.example.com {rsa}\n")
    with open(path, "rb") as f:
        msg = crlf(f.read())
    r = tool("verify", table, data=msg, check=False)
    assert r.returncode == 0 and r.stdout.decode().count("dkim=pass") == 2, r.stdout
