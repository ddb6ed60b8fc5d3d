"""Local delivery: aliases (database and /etc/aliases file), catch-all,
sub-addressing, duplicates, default folders, run-time domains and accounts
(issue 2 §6).

Each test sends through the real daemon and counts the files in the
recipients' Maildirs once the queue has logged that it is done with the
message (`queue=ID event=removed`), so "exactly one copy" is checked after
delivery finished, not after a guess at how long it takes.
"""
import os
import signal
import smtplib
import time
import uuid

import pytest

import conftest

SENDER = "sender@remote.test"
FOLDERS = (".Sent", ".Drafts", ".Junk", ".Trash", ".Archive")


def smtp(srv):
    return smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.remote.test",
                        timeout=10)


def message(tag):
    return (f"From: {SENDER}\r\nTo: list@example.org\r\nSubject: {tag}\r\n"
            f"Message-ID: <{tag}@remote.test>\r\n\r\nbody of {tag}\r\n").encode()


def rcpt_reply(srv, address):
    """(code, text) of RCPT TO:<address> in a fresh transaction."""
    with smtp(srv) as s:
        s.ehlo()
        s.mail(SENDER)
        return s.rcpt(address)


def send(srv, rcpts):
    """One message to rcpts (each must get 250); returns (queue id, tag)."""
    tag = uuid.uuid4().hex
    with smtp(srv) as s:
        s.ehlo()
        assert s.mail(SENDER)[0] == 250
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, (r, code, text)
        code, text = s.data(message(tag))
        assert code == 250, text
    qid = text.decode().split()[-1]
    return qid, tag


def wait_log(srv, needle, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if needle in srv.log():
            return True
        time.sleep(0.05)
    return False


def deliver(srv, rcpts):
    """Send and wait until the queue has finished with the message."""
    qid, tag = send(srv, rcpts)
    assert wait_log(srv, f"queue={qid} event=removed"), srv.log()[-3000:]
    return qid, tag


def copies(srv, address, tag):
    return sum(1 for m in srv.messages(address) if tag.encode() in m)


def delivered_to(srv, addresses, tag):
    return {a: copies(srv, a, tag) for a in addresses}


@pytest.fixture
def three(make_server):
    return make_server(users=("alice@example.org", "bob@example.net",
                              "carol@example.org"))


# ---- aliases in the database ----

def test_db_alias_single_target(three):
    three.cli("alias", "add", "info@example.org", "bob@example.net")
    _, tag = deliver(three, ["info@example.org"])
    assert delivered_to(three, ["alice@example.org", "bob@example.net",
                                "carol@example.org"], tag) == \
        {"alice@example.org": 0, "bob@example.net": 1, "carol@example.org": 0}
    m = [m for m in three.messages("bob@example.net") if tag.encode() in m][0]
    assert b"Delivered-To: info@example.org\r\n" in m


def test_db_alias_list_each_gets_one_copy(three):
    three.cli("alias", "add", "team@example.org", "alice@example.org",
              "bob@example.net", "carol@example.org")
    _, tag = deliver(three, ["team@example.org"])
    assert delivered_to(three, ["alice@example.org", "bob@example.net",
                                "carol@example.org"], tag) == \
        {"alice@example.org": 1, "bob@example.net": 1, "carol@example.org": 1}


def test_db_alias_to_remote_is_accepted(three):
    three.cli("alias", "add", "fwd@example.org", "someone@remote.test",
              "alice@example.org")
    qid, tag = send(three, ["fwd@example.org"])
    # the local copy arrives; the remote one waits for outbound delivery
    assert len(three.wait_messages("alice@example.org", 1)) == 1
    assert copies(three, "alice@example.org", tag) == 1
    assert f"queue={qid} to=<fwd@example.org> status=failed" not in three.log()
    # one local recipient (fwd@): alice's file is the queue file itself,
    # hard-linked (the queue keeps its name while the remote copy waits)
    queue_file = os.stat(os.path.join(three.data, "queue", "msg", qid))
    mine = os.stat(three.maildir_files("alice@example.org")[0])
    assert (mine.st_ino, mine.st_nlink) == (queue_file.st_ino, 2)
    assert (mine.st_mode & 0o777) == 0o600


def test_one_and_two_recipients_get_the_same_layout(three):
    """A message for one local recipient is written by smtp with the local
    trace on top and its queue file is linked into the mailbox; with two
    recipients each mailbox gets a copy behind its own trace. Either way
    the file starts with Return-Path and Delivered-To, once each, then the
    verdict fields (Authentication-Results:, Received-SPF:), then our
    Received:."""
    _, one = deliver(three, ["alice@example.org"])
    _, two = deliver(three, ["alice@example.org", "bob@example.net"])
    for tag, who in ((one, "alice@example.org"), (two, "alice@example.org"),
                     (two, "bob@example.net")):
        m = [m for m in three.messages(who) if tag.encode() in m][0]
        top = f"Return-Path: <{SENDER}>\r\nDelivered-To: {who}\r\n".encode()
        assert m.startswith(top), m[:300]
        assert m.count(b"Return-Path:") == 1 and m.count(b"Delivered-To:") == 1
        rest = m[len(top):]
        assert rest.startswith(b"Authentication-Results: mx.example.org;"), m[:400]
        assert rest.index(b"\r\nReceived-SPF: ") < \
            rest.index(b"\r\nReceived: from client.remote.test"), m[:600]
        assert m.endswith(f"body of {tag}\r\n".encode())


def test_catch_all(three):
    three.cli("alias", "add", "@example.net", "carol@example.org")
    _, tag = deliver(three, ["whoever@example.net"])
    assert copies(three, "carol@example.org", tag) == 1
    # an existing account is not swallowed by its domain's catch-all
    _, tag2 = deliver(three, ["bob@example.net"])
    assert delivered_to(three, ["bob@example.net", "carol@example.org"], tag2) \
        == {"bob@example.net": 1, "carol@example.org": 0}
    # without a catch-all, example.org still rejects unknown users
    code, text = rcpt_reply(three, "whoever@example.org")
    assert code == 550 and text.startswith(b"5.1.1")


def test_db_alias_loop_rejected(three):
    three.cli("alias", "add", "ping@example.org", "pong@example.org")
    three.cli("alias", "add", "pong@example.org", "ping@example.org")
    code, text = rcpt_reply(three, "ping@example.org")
    assert code == 550 and text.startswith(b"5.4.6"), text


# ---- sub-addressing ----

def test_subaddress_default_delimiter(three):
    _, tag = deliver(three, ["alice+lists@example.org"])
    assert copies(three, "alice@example.org", tag) == 1
    m = [m for m in three.messages("alice@example.org") if tag.encode() in m][0]
    assert b"Delivered-To: alice+lists@example.org\r\n" in m
    code, text = rcpt_reply(three, "nobody+lists@example.org")
    assert code == 550 and text.startswith(b"5.1.1")


def test_subaddress_configured_delimiter(make_server):
    srv = make_server("[delivery]\nrecipient_delimiter = -\n")
    _, tag = deliver(srv, ["alice-news@example.org"])
    assert copies(srv, "alice@example.org", tag) == 1
    # '+' is an ordinary character now
    code, text = rcpt_reply(srv, "alice+news@example.org")
    assert code == 550 and text.startswith(b"5.1.1")


def test_subaddress_off(make_server):
    srv = make_server("[delivery]\nrecipient_delimiter =\n")
    assert rcpt_reply(srv, "alice+news@example.org")[0] == 550
    assert rcpt_reply(srv, "alice@example.org")[0] == 250


# ---- duplicates ----

def test_same_account_twice_in_one_message(three):
    _, tag = deliver(three, ["alice@example.org", "alice+x@example.org",
                             "ALICE@example.org"])
    assert copies(three, "alice@example.org", tag) == 1


def test_nested_db_aliases_reaching_one_account_twice(three):
    three.cli("alias", "add", "team@example.org", "alice@example.org",
              "bob@example.net")
    three.cli("alias", "add", "all@example.org", "team@example.org",
              "alice@example.org")
    _, tag = deliver(three, ["all@example.org", "team@example.org"])
    assert delivered_to(three, ["alice@example.org", "bob@example.net"], tag) \
        == {"alice@example.org": 1, "bob@example.net": 1}


# ---- the aliases file ----

ALIASES_FILE = """\
# /etc/aliases as an operator would write it
postmaster: root
root:       alice
chain1:     chain2
chain2:     chain3
chain3:     bob@example.net
staff:      alice,
            bob@example.net,
            carol
twice:      alice, alice@example.org, root
loopa:      loopb
loopb:      loopa
cmd:        "|/bin/touch /tmp/mailkeep-alias-pipe-ran", carol
"""


@pytest.fixture
def with_file(make_server, server_root):
    path = os.path.join(server_root, "aliases")
    with open(path, "w") as f:
        f.write(ALIASES_FILE)
    os.chmod(path, 0o644)
    srv = make_server(f"[delivery]\naliases_file = {path}\n",
                      users=("alice@example.org", "bob@example.net",
                             "carol@example.org"))
    srv.aliases_path = path
    # start() returns at the first 220; the queue and auth read the file
    # when they get ready, and the tests below edit it
    for role in ("queue", "auth"):
        assert conftest.wait_log(srv, rf"{role}\[\d+\]: event=ready"), srv.log()
    return srv


def test_file_postmaster_root_alice(with_file):
    _, tag = deliver(with_file, ["postmaster@example.org"])
    assert delivered_to(with_file, ["alice@example.org", "bob@example.net",
                                    "carol@example.org"], tag) == \
        {"alice@example.org": 1, "bob@example.net": 0, "carol@example.org": 0}
    # file aliases apply to every local domain
    _, tag = deliver(with_file, ["root@example.net"])
    assert copies(with_file, "alice@example.org", tag) == 1


def test_file_chain(with_file):
    _, tag = deliver(with_file, ["chain1@example.org"])
    assert copies(with_file, "bob@example.net", tag) == 1


def test_file_list_with_continuation(with_file):
    _, tag = deliver(with_file, ["staff@example.org"])
    assert delivered_to(with_file, ["alice@example.org", "bob@example.net",
                                    "carol@example.org"], tag) == \
        {"alice@example.org": 1, "bob@example.net": 1, "carol@example.org": 1}


def test_file_duplicate_targets_deliver_once(with_file):
    _, tag = deliver(with_file, ["twice@example.org"])
    assert copies(with_file, "alice@example.org", tag) == 1


def test_file_loop_rejected_at_rcpt(with_file):
    code, text = rcpt_reply(with_file, "loopa@example.org")
    assert code == 550 and text.startswith(b"5.4.6"), text
    assert rcpt_reply(with_file, "loopb@example.net")[0] == 550


def test_file_command_target_skipped_and_logged(with_file):
    marker = "/tmp/mailkeep-alias-pipe-ran"
    if os.path.exists(marker):
        os.unlink(marker)
    _, tag = deliver(with_file, ["cmd@example.org"])
    assert copies(with_file, "carol@example.org", tag) == 1
    assert not os.path.exists(marker)
    log = with_file.log()
    assert "commands are not supported" in log
    assert f"{with_file.aliases_path}:" in log


def test_file_reread_on_sighup(with_file):
    code, _ = rcpt_reply(with_file, "newbie@example.org")
    assert code == 550
    with open(with_file.aliases_path, "a") as f:
        f.write("newbie: bob@example.net\n")
    with_file.proc.send_signal(signal.SIGHUP)
    assert wait_log(with_file, "event=reload status=ok")
    # the children reload after main: bounded wait for the new table
    deadline = time.time() + 10
    while time.time() < deadline and rcpt_reply(with_file, "newbie@example.org")[0] != 250:
        time.sleep(0.1)
    _, tag = deliver(with_file, ["newbie@example.org"])
    assert copies(with_file, "bob@example.net", tag) == 1


def test_file_broken_on_sighup_keeps_previous(with_file):
    with open(with_file.aliases_path, "a") as f:
        f.write("\"unterminated: alice\n")
    with_file.proc.send_signal(signal.SIGHUP)
    # main validates the file: the whole reload is refused, the old table stays
    assert wait_log(with_file, "event=reload status=failed reason=\"aliases file\"")
    _, tag = deliver(with_file, ["root@example.org"])
    assert copies(with_file, "alice@example.org", tag) == 1


# ---- accounts and domains at run time ----

def test_default_folders_of_new_account(server):
    server.add_user("dave@example.org")
    base = os.path.join(server.data, "accounts",
                        str(server.account_id("dave@example.org")), "Maildir")
    for folder in ("",) + FOLDERS:
        for sub in ("cur", "new", "tmp"):
            assert os.path.isdir(os.path.join(base, folder, sub)), (folder, sub)
        if folder:  # the Maildir++ marker of a subfolder
            assert os.path.isfile(os.path.join(base, folder, "maildirfolder"))
    _, tag = deliver(server, ["dave@example.org"])
    assert copies(server, "dave@example.org", tag) == 1
    for folder in FOLDERS:
        assert server.messages("dave@example.org", folder) == []


def test_domain_added_at_run_time(server):
    code, text = rcpt_reply(server, "erin@example.com")
    assert code == 554 and text.startswith(b"5.7.1")
    server.cli("domain", "add", "example.com")
    # a local domain now: unknown users are 550, not relay-denied
    code, text = rcpt_reply(server, "erin@example.com")
    assert code == 550 and text.startswith(b"5.1.1")
    server.add_user("erin@example.com")
    _, tag = deliver(server, ["erin@example.com"])
    assert copies(server, "erin@example.com", tag) == 1


def test_user_added_and_deleted_at_run_time(server):
    assert rcpt_reply(server, "frank@example.org")[0] == 550
    server.add_user("frank@example.org")
    _, tag = deliver(server, ["frank@example.org"])
    assert copies(server, "frank@example.org", tag) == 1
    server.cli("user", "del", "frank@example.org")
    code, text = rcpt_reply(server, "frank@example.org")
    assert code == 550 and text.startswith(b"5.1.1"), text
    code, text = rcpt_reply(server, "frank+tag@example.org")
    assert code == 550


def test_restarted_queue_uses_the_reloaded_aliases_table(with_file):
    with open(with_file.aliases_path) as f:
        text = f.read()
    # edited on disk, not reloaded yet: the running table still has root
    with open(with_file.aliases_path, "w") as f:
        f.write(text.replace("root:       alice\n", ""))
    old = with_file.child_pid("queue")
    os.kill(old, signal.SIGKILL)
    assert conftest.wait_log(with_file, r"child=queue pid=(?!%d)\d+ event=started" % old)
    assert conftest.wait_log(with_file, r"queue\[(?!%d)\d+\]: event=ready" % old)
    qid, tag = send(with_file, ["root@example.org"])
    assert wait_log(with_file, f"queue={qid} event=removed")
    assert copies(with_file, "alice@example.org", tag) == 1


def test_alias_to_more_accounts_than_the_store_cache(make_server):
    """One message fanned out to more accounts than the queue keeps stores
    open for (32): every account gets its copy in the same pass."""
    users = [f"u{i:02d}@example.org" for i in range(40)]
    srv = make_server(users=users)
    srv.cli("alias", "add", "all@example.org", *users)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=30) as s:
        s.sendmail("boss@remote.test", ["all@example.org"],
                   b"Subject: everyone\r\n\r\nhello all\r\n")
    for u in users:
        assert len(srv.wait_messages(u, 1)) == 1, u
    assert "status=deferred" not in srv.log()
