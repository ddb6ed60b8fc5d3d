"""Administrative CLI: user, alias and domain commands (issue 2 §6).

Every command runs the real binary against a fresh data dir; errors must
exit non-zero and say why on stderr ("mailkeep: ...").
"""
import os
import sqlite3

import pytest

from conftest import BIN, SANITIZER_MARKS


def is_asan_build():
    try:
        with open(BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def run(srv, *args, input=None, check=True):
    """srv.cli, and no sanitizer report on stderr, whatever the outcome."""
    r = srv.cli(*args, input=input, check=False)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r


def fails(result, *words):
    """A failed command: non-zero exit, every word in its message."""
    assert result.returncode != 0, result
    assert result.stderr.startswith("mailkeep: ") or \
        result.stderr.startswith("usage: "), result.stderr
    for w in words:
        assert w in result.stderr, (w, result.stderr)
    return result


def users(srv):
    """{address: id} from `user list`."""
    out = run(srv, "user", "list").stdout
    table = {}
    for line in out.splitlines():
        fields = line.split("\t")
        table[fields[1]] = int(fields[0])
    return table


def aliases(srv):
    """{alias: [targets]} from `alias list` ("alias: t1, t2")."""
    table = {}
    for line in run(srv, "alias", "list").stdout.splitlines():
        name, _, targets = line.partition(": ")
        table[name] = targets.split(", ")
    return table


def domains(srv):
    """{domain: origin} from `domain list` ("domain<TAB>config|database")."""
    out = run(srv, "domain", "list").stdout
    return dict(line.split("\t") for line in out.splitlines())


def password_hash(srv, address):
    db = sqlite3.connect(os.path.join(srv.data, "mailkeep.db"))
    try:
        row = db.execute("SELECT password_hash FROM accounts WHERE address=?",
                         (address,)).fetchone()
    finally:
        db.close()
    return row[0] if row else None


@pytest.fixture
def srv(make_server):
    return make_server(users=(), start=False)


def test_user_add_list_and_store(srv):
    r = run(srv, "user", "add", "Alice@Example.ORG", input="pw-one\n")
    assert r.returncode == 0
    assert r.stdout.startswith("added alice@example.org (account ")
    run(srv, "user", "add", "bob@example.net", input="pw-two\n")
    table = users(srv)
    assert set(table) == {"alice@example.org", "bob@example.net"}
    # the mail store exists at once, with the default folders
    maildir = os.path.join(srv.data, "accounts", str(table["alice@example.org"]),
                           "Maildir")
    for sub in ("new", "cur", "tmp"):
        assert os.path.isdir(os.path.join(maildir, sub)), sub
    # stored as a crypt(3) hash, never the password itself
    h = password_hash(srv, "alice@example.org")
    assert h.startswith("$y$") and "pw-one" not in h


@pytest.mark.parametrize("args, stdin, words", [
    (("user", "add", "carol@elsewhere.test"), "pw\n", ["not a local domain"]),
    (("user", "add", "not-an-address"), "pw\n", ["invalid address"]),
    (("user", "add", "carol@example.org"), "", ["no password"]),
    (("user", "add", "carol@example.org"), "\n", ["empty password"]),
    (("user", "del", "nobody@example.org"), None, ["no such account"]),
    (("user", "passwd", "nobody@example.org"), "pw\n", ["no such account"]),
])
def test_user_errors(srv, args, stdin, words):
    fails(run(srv, *args, input=stdin, check=False), *words)
    assert users(srv) == {}


def test_user_add_twice_refused(srv):
    srv.add_user("alice@example.org")
    fails(run(srv, "user", "add", "ALICE@example.org", input="x-pass\n",
                  check=False), "alice@example.org", "already exists")
    assert list(users(srv)) == ["alice@example.org"]


def test_user_usage_errors(srv):
    for args in (("user",), ("user", "add"), ("user", "frobnicate", "x"),
                 ("user", "list", "extra")):
        r = run(srv, *args, check=False)
        assert r.returncode == 2, args
        assert "usage: mailkeep user" in r.stderr


def test_user_passwd_changes_hash(srv):
    srv.add_user("alice@example.org", "old-password")
    before = password_hash(srv, "alice@example.org")
    r = run(srv, "user", "passwd", "alice@example.org", input="new-password\n")
    assert r.returncode == 0 and "password changed" in r.stdout
    after = password_hash(srv, "alice@example.org")
    assert after != before and after.startswith("$y$")
    # an empty new password is refused and the hash stays
    fails(run(srv, "user", "passwd", "alice@example.org", input="\n",
                  check=False), "empty password")
    assert password_hash(srv, "alice@example.org") == after


def test_user_del_keeps_mail_aside(srv):
    srv.add_user("alice@example.org")
    srv.add_user("bob@example.net")
    aid = users(srv)["alice@example.org"]
    r = run(srv, "user", "del", "alice@example.org")
    assert "its mail is kept in" in r.stdout
    assert list(users(srv)) == ["bob@example.net"]
    accounts = os.listdir(os.path.join(srv.data, "accounts"))
    assert str(aid) not in accounts
    assert any(n.startswith(f"{aid}.deleted-") for n in accounts), accounts
    fails(run(srv, "user", "del", "alice@example.org", check=False),
          "no such account")
    # ids are never reused: a new alice is a new account
    srv.add_user("alice@example.org")
    assert users(srv)["alice@example.org"] > aid


def test_alias_add_list_del(srv):
    srv.add_user("alice@example.org")
    run(srv, "alias", "add", "info@example.org", "alice@example.org",
            "someone@remote.test")
    run(srv, "alias", "add", "@example.net", "alice@example.org")
    assert aliases(srv) == {
        "@example.net": ["alice@example.org"],
        "info@example.org": ["alice@example.org", "someone@remote.test"],
    }
    # one target, then the whole alias
    run(srv, "alias", "del", "info@example.org", "someone@remote.test")
    assert aliases(srv)["info@example.org"] == ["alice@example.org"]
    run(srv, "alias", "del", "info@example.org")
    run(srv, "alias", "del", "@example.net")
    assert aliases(srv) == {}


@pytest.mark.parametrize("args, words", [
    (("alias", "add", "info@elsewhere.test", "alice@example.org"),
     ["not local"]),
    (("alias", "add", "@elsewhere.test", "alice@example.org"), ["not local"]),
    (("alias", "add", "info@example.org", "not an address"),
     ["invalid target"]),
    (("alias", "del", "nothing@example.org"), ["no such alias"]),
])
def test_alias_errors(srv, args, words):
    fails(run(srv, *args, check=False), *words)
    assert aliases(srv) == {}


def test_alias_duplicate_target_refused(srv):
    run(srv, "alias", "add", "info@example.org", "alice@example.org")
    fails(run(srv, "alias", "add", "info@example.org", "Alice@Example.org",
                  check=False), "already has this target")
    assert aliases(srv) == {"info@example.org": ["alice@example.org"]}


def test_alias_on_account_warns(srv):
    srv.add_user("alice@example.org")
    r = run(srv, "alias", "add", "alice@example.org", "bob@example.net")
    assert "is an account" in r.stderr


def test_domain_add_list_del(srv):
    assert domains(srv) == {"example.org": "config", "example.net": "config"}
    fails(run(srv, "user", "add", "carol@example.com", input="pw\n",
                  check=False), "not a local domain")
    run(srv, "domain", "add", "Example.COM")
    assert domains(srv)["example.com"] == "database"
    srv.add_user("carol@example.com")
    # a domain with accounts cannot go away
    fails(run(srv, "domain", "del", "example.com", check=False),
          "still has accounts")
    run(srv, "user", "del", "carol@example.com")
    run(srv, "domain", "del", "example.com")
    assert "example.com" not in domains(srv)


@pytest.mark.parametrize("args, words", [
    (("domain", "del", "example.org"), ["configuration file"]),
    (("domain", "del", "never-added.test"), ["no such domain"]),
    (("domain", "add", "bad domain!"), ["invalid domain"]),
])
def test_domain_errors(srv, args, words):
    fails(run(srv, *args, check=False), *words)
    assert set(domains(srv)) == {"example.org", "example.net"}


def test_cli_with_broken_config(srv):
    with open(srv.conf, "a") as f:
        f.write("no_such_option = 1\n")
    r = fails(run(srv, "user", "list", check=False), "unknown option")
    assert f"{srv.conf}:" in r.stderr
