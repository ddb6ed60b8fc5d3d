"""Shared test data for the mail-authentication tests (test_checks.py,
test_analyze.py): the dkimpy test key of ../shared/conformance, the DNS
records of a sender domain that uses it, and signing with dkimpy."""
import os

from conftest import SHARED

KEYS = os.path.join(SHARED, "conformance", "dkim", "dkimpy")


def key_files():
    """(PEM private key, DKIM TXT record) of the dkimpy test key."""
    with open(os.path.join(KEYS, "test.private"), "rb") as f:
        private = f.read()
    with open(os.path.join(KEYS, "test.txt")) as f:
        record = f.read().strip()
    return private, record


def records(dmarc="v=DMARC1; p=reject", spf="v=spf1 ip4:127.0.0.1 -all"):
    """sender.test with SPF, the DKIM key at selector "test", DMARC, and
    forward-confirmed reverse DNS for 127.0.0.1."""
    _, record = key_files()
    return [
        ("sender.test", "TXT", spf),
        ("test._domainkey.sender.test", "TXT", record),
        ("_dmarc.sender.test", "TXT", dmarc),
        ("127.0.0.1", "PTR", "localhost.test"),
        ("localhost.test", "A", "127.0.0.1"),
    ]


def signed(msg):
    """msg with a dkimpy signature by sender.test (selector "test")."""
    import dkim
    private, _ = key_files()
    sig = dkim.sign(msg, b"test", b"sender.test", private,
                    include_headers=[b"from", b"to", b"subject", b"message-id"])
    return sig + msg
