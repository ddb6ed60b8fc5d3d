"""`mailkeep user import FILE` (Dovecot passwd-file) and `user check`.

Hashes are made the way other systems make them: sha512-crypt and
sha256-crypt by `openssl passwd`, bcrypt by Python's crypt module (libxcrypt),
and the imported accounts must then verify with `user check` exactly for
their passwords. Every line is reported: imported, skipped (exists), or
refused as FILE:LINE: reason, and any refusal makes the exit status 1.
"""
import os
import sqlite3
import subprocess
import warnings

import pytest

from conftest import SANITIZER_MARKS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # deprecated in 3.11, still the libxcrypt binding


def run(srv, *args, input=None, check=True):
    r = srv.cli(*args, input=input, check=False)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r


def sha_crypt(password, bits):
    """$6$ / $5$ hash from OpenSSL, an implementation other than ours."""
    out = subprocess.run(["openssl", "passwd", "-6" if bits == 512 else "-5",
                          "-stdin"], input=password + "\n", capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out.startswith("$6$" if bits == 512 else "$5$"), out
    return out


def bcrypt(password):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))
    assert h.startswith("$2b$"), h
    return h


def check(srv, address, password):
    """`user check`: True when the password verifies."""
    r = run(srv, "user", "check", address, input=password + "\n", check=False)
    assert r.returncode in (0, 1), r
    if r.returncode == 1:
        assert "authentication failed" in r.stderr, r.stderr
    return r.returncode == 0


def accounts(srv):
    """{address: (password_hash, scram_secret)} straight from the database."""
    db = sqlite3.connect(os.path.join(srv.data, "mailkeep.db"))
    try:
        rows = db.execute("SELECT address, password_hash, scram_secret FROM "
                          "accounts").fetchall()
    finally:
        db.close()
    return {a: (h, s) for a, h, s in rows}


@pytest.fixture
def srv(make_server):
    return make_server(users=(), start=False)


def write(srv, name, lines, newline="\n"):
    path = os.path.join(srv.dir, name)
    with open(path, "w", newline="") as f:
        f.write(newline.join(lines) + newline)
    return path


def test_import_dovecot_passwd_file(srv):
    h512 = sha_crypt("alice pass", 512)
    h256 = sha_crypt("dave-pass", 256)
    hblf = bcrypt("bob-pass")
    hbare = sha_crypt("carol-pass", 512)
    path = write(srv, "users", [
        "# exported from dovecot",
        "",
        f"alice@example.org:{{SHA512-CRYPT}}{h512}:1000:1000::/home/alice::"
        "userdb_quota_rule=*:storage=1G",
        f"bob@example.org:{{BLF-CRYPT}}{hblf}",
        f"Carol@Example.ORG:{hbare}:::",
        f"dave@example.net:{{sha256-crypt}}{h256}::",
        "erin@example.org:{PLAIN}erin-pass::",
        f"ALICE@example.org:{{CRYPT}}{h512}",             # 8: exists
        "nodomain:{SHA512-CRYPT}" + h512,                  # 9
        "frank@example.org:{SSHA}c2VjcmV0c2FsdA==",       # 10
        f"gina@example.org:{{SHA512-CRYPT}}{hblf}",        # 11
        "hank@example.org",                                # 12
        f"ivan@elsewhere.test:{{CRYPT}}{h512}",            # 13
        "judy@example.org:{CRYPT}not-a-hash",              # 14
        "kim@example.org::1000:1000",                      # 15
        "not an address@example.org:" + h512,              # 16
        f"lee@example.org:{{BCRYPT}}{hblf}",               # 17: ok
    ])
    r = run(srv, "user", "import", path, check=False)
    assert r.returncode == 1, r
    out = r.stdout.splitlines()
    for a in ("alice@example.org", "bob@example.org", "carol@example.org",
              "dave@example.net", "erin@example.org", "lee@example.org"):
        assert any(line.startswith(f"imported {a} (account ") for line in out), out
    assert "skipped alice@example.org: account exists" in out
    assert out[-1] == "6 imported, 1 skipped, 8 refused"
    err = r.stderr.splitlines()
    expect = {
        9: "without a domain",
        10: "unsupported password scheme",
        11: "does not match its {SCHEME}",
        12: "no password field",
        13: "domain is not local",
        14: "not a password hash crypt(3) accepts",
        15: "empty password field",
        16: "",
    }
    assert len(err) == len(expect), err
    for line, words in zip(err, sorted(expect.items())):
        assert line.startswith(f"{path}:{words[0]}: "), (line, words)
        assert words[1] in line, (line, words)

    # the imported hashes verify, for their passwords only
    assert check(srv, "alice@example.org", "alice pass")
    assert not check(srv, "alice@example.org", "alice pas")
    assert check(srv, "bob@example.org", "bob-pass")
    assert not check(srv, "bob@example.org", "Bob-pass")
    assert check(srv, "carol@example.org", "carol-pass")
    assert check(srv, "dave@example.net", "dave-pass")
    assert check(srv, "erin@example.org", "erin-pass")
    assert check(srv, "lee@example.org", "bob-pass")
    assert not check(srv, "nobody@example.org", "x")

    # hashes are kept as they were; {PLAIN} is hashed here, and only the
    # accounts whose password we saw have a SCRAM secret yet
    table = accounts(srv)
    assert table["alice@example.org"] == (h512, None)
    assert table["bob@example.org"] == (hblf, None)
    assert table["erin@example.org"][0].startswith("$y$")
    assert table["erin@example.org"][1].startswith("SCRAM-SHA-256$4096:")
    assert "erin-pass" not in "".join(table["erin@example.org"])
    assert "gina@example.org" not in table and "kim@example.org" not in table

    # each imported account has its mail store
    listed = run(srv, "user", "list").stdout.splitlines()
    ids = {l.split("\t")[1]: l.split("\t")[0] for l in listed}
    assert len(ids) == 6
    for a, i in ids.items():
        assert os.path.isdir(os.path.join(srv.data, "accounts", i, "Maildir",
                                          "new")), a


def test_import_again_skips_everything(srv):
    path = write(srv, "users.crlf", [
        f"alice@example.org:{{SHA512-CRYPT}}{sha_crypt('pw-a', 512)}",
        f"bob@example.net:{{BLF-CRYPT}}{bcrypt('pw-b')}:1001:1001",
    ], newline="\r\n")
    r = run(srv, "user", "import", path)
    assert r.stdout.splitlines()[-1] == "2 imported, 0 skipped, 0 refused"
    assert check(srv, "bob@example.net", "pw-b")       # no CR in the hash
    r = run(srv, "user", "import", path)
    assert r.stdout.splitlines() == [
        "skipped alice@example.org: account exists",
        "skipped bob@example.net: account exists",
        "0 imported, 2 skipped, 0 refused",
    ]


def test_import_errors(srv):
    r = run(srv, "user", "import", os.path.join(srv.dir, "missing"), check=False)
    assert r.returncode == 1 and r.stderr.startswith("mailkeep: ")
    assert "No such file" in r.stderr
    r = run(srv, "user", "import", check=False)
    assert r.returncode == 2 and "usage: mailkeep user" in r.stderr
    path = write(srv, "long", ["x" * 9000 + "@example.org:{CRYPT}$6$a$b"])
    r = run(srv, "user", "import", path, check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == f"{path}:1: line too long"


def test_user_check_and_scram_secret_of_user_add(srv):
    run(srv, "user", "add", "alice@example.org", input="first-pw\n")
    assert check(srv, "alice@example.org", "first-pw")
    assert not check(srv, "alice@example.org", "first-pw ")
    h, scram = accounts(srv)["alice@example.org"]
    assert scram.startswith("SCRAM-SHA-256$4096:")
    run(srv, "user", "passwd", "alice@example.org", input="second-pw\n")
    assert check(srv, "alice@example.org", "second-pw")
    assert not check(srv, "alice@example.org", "first-pw")
    assert accounts(srv)["alice@example.org"][1] != scram
    r = run(srv, "user", "check", "alice@example.org", input="", check=False)
    assert r.returncode == 1
