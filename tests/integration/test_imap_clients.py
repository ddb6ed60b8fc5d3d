"""Real IMAP clients against the server (issue 3, Tests): mbsync (Debian's
isync) and curl.

mbsync syncs the account down into a local Maildir, then changes go both
ways (a local flag and a local deletion; a server-side flag, a new message
by SMTP and a new folder), a second sync must make both sides agree, and a
third one must transfer nothing: mbsync's own counters are all zero and no
local message file changes.

curl's IMAP URLs (RFC 5092): a message by UID, a section, the mailbox list,
a custom command (EXAMINE), a search, an upload (APPEND) and imaps://.
"""
import os
import re
import shutil
import subprocess

import pytest

from imapworld import PASSWORD, USER, deliver, imap_server, login, message  # noqa: F401

MBSYNC = shutil.which("mbsync")
CURL = shutil.which("curl")


def ok(res):
    typ, data = res
    assert typ == "OK", (typ, data)
    return data


# ---- mbsync --------------------------------------------------------------

MBSYNCRC = """IMAPAccount mk
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
SSLType None
AuthMechs LOGIN

IMAPStore mk-remote
Account mk

MaildirStore mk-local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel mk
Far :mk-remote:
Near :mk-local:
Patterns *
Create Both
Remove None
Expunge Both
SyncState *
"""

# mbsync -Dn prints every IMAP command it sends as ">>> TAG COMMAND"
# (after "(N in progress) " when it pipelines)
OPS = {
    "fetch": re.compile(r"UID FETCH \S+ \((?:[^)]*\s)?BODY\.PEEK\[\]"),
    "append": re.compile(r"APPEND "),
    "store": re.compile(r"UID STORE "),
    "expunge": re.compile(r"(?:UID )?EXPUNGE|CLOSE\b"),
    "create": re.compile(r"CREATE "),
}


def mbsync(conf):
    """Run mbsync -a with the network log on; returns (log, {op: count})
    for the IMAP commands that move data (OPS); CLOSE counts as an expunge
    only when a message was flagged \\Deleted before."""
    r = subprocess.run([MBSYNC, "-c", conf, "-a", "-Dn"], capture_output=True,
                       text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    cmds = re.findall(r"^(?:\(\d+ in progress\) )?>>> \S+ (.*)$", out, re.M)
    counts = {op: sum(1 for c in cmds if rx.match(c)) for op, rx in OPS.items()}
    deleted = any("\\Deleted" in c for c in cmds if c.startswith("UID STORE"))
    if not deleted:
        counts["expunge"] = sum(1 for c in cmds if "EXPUNGE" in c)
    return "\n".join(cmds), counts


def local_messages(folder):
    """{file name: bytes} of a local Maildir folder (new/ and cur/)."""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(folder, sub)
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), "rb") as f:
                out[os.path.join(sub, n)] = f.read()
    return out


def snapshot(root):
    """Every local file with its size and mtime (mbsync's own state files
    excluded): a sync that transfers nothing changes none of it."""
    snap = {}
    for dirpath, _, files in os.walk(root):
        for n in files:
            if n.startswith(".mbsync") or n.startswith(".uidvalidity"):
                continue
            p = os.path.join(dirpath, n)
            st = os.stat(p)
            snap[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return snap


def body_of(data):
    """A message's body, line ends as LF (mbsync stores LF locally)."""
    return data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]


def subjects(msgs):
    out = []
    for data in msgs.values():
        m = re.search(rb"^Subject: (.*?)\r?$", data, re.M)
        out.append(m.group(1).decode() if m else None)
    return sorted(out)


def server_state(srv, mailbox):
    """[(subject, set of flags)] of a server mailbox, through imaplib."""
    M = login(srv)
    ok(M.select(f'"{mailbox}"', readonly=True))
    typ, data = M.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = []
    if typ == "OK" and data and data[0] is not None:
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split())
            subj = re.search(rb"Subject: (.*?)\r\n", item[1]).group(1).decode()
            out.append((subj, flags - {"\\Recent"}))
    M.logout()
    return sorted(out, key=lambda x: x[0])


def flag_local(folder, subject, flag_letter):
    """Add a Maildir info flag (F = \\Flagged) to the message with SUBJECT."""
    for sub in ("cur", "new"):
        d = os.path.join(folder, sub)
        for n in os.listdir(d):
            with open(os.path.join(d, n), "rb") as f:
                if f"Subject: {subject}".encode() not in f.read():
                    continue
            base, _, info = n.partition(":2,")
            flags = "".join(sorted(set(info + flag_letter)))
            os.rename(os.path.join(d, n), os.path.join(folder, "cur", f"{base}:2,{flags}"))
            return
    raise AssertionError(f"no local message {subject}")


def delete_local(folder, subject):
    for sub in ("cur", "new"):
        d = os.path.join(folder, sub)
        for n in os.listdir(d):
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                if f"Subject: {subject}".encode() in f.read():
                    os.unlink(p)
                    return
    raise AssertionError(f"no local message {subject}")


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (Debian isync) not installed")
def test_mbsync_down_both_ways_then_nothing(imap_server, tmp_path):
    srv = imap_server()
    for i in range(3):
        deliver(srv, subject=f"inbox {i}", body=f"inbox body {i}\r\n")
    M = login(srv)
    ok(M.append("Sent", "(\\Seen)", None, message(subject="sent 0", body="sent body\r\n")))
    ok(M.append("Archive", None, None, message(subject="archived 0", body="old\r\n")))
    ok(M.append("Archive", "(\\Flagged)", None, message(subject="archived 1", body="older\r\n")))
    M.logout()

    maildir = tmp_path / "mail"
    maildir.mkdir()
    conf = tmp_path / "mbsyncrc"
    conf.write_text(MBSYNCRC.format(port=srv.imap_port, user=USER, password=PASSWORD,
                                    maildir=maildir))
    conf.chmod(0o600)

    # 1. the first sync brings everything down, bodies intact
    out, counts = mbsync(str(conf))
    assert counts["fetch"] == 6 and counts["append"] == 0, (counts, out)
    server_inbox = {body_of(m) for m in srv.messages(USER)}
    local_inbox = local_messages(maildir / "INBOX")
    assert {body_of(m) for m in local_inbox.values()} == server_inbox
    assert subjects(local_messages(maildir / "Sent")) == ["sent 0"]
    assert subjects(local_messages(maildir / "Archive")) == ["archived 0", "archived 1"]
    assert any(n.endswith("F") for n in local_messages(maildir / "Archive"))

    # 2. changes on both sides
    flag_local(maildir / "INBOX", "inbox 0", "F")
    delete_local(maildir / "INBOX", "inbox 1")
    M = login(srv)
    ok(M.select("INBOX"))
    typ, data = M.search(None, "SUBJECT", '"inbox 2"')
    ok(M.store(data[0].split()[0], "+FLAGS", "(\\Answered)"))
    ok(M.create("Projects"))
    ok(M.append("Projects", None, None, message(subject="project 0", body="plan\r\n")))
    M.logout()
    deliver(srv, subject="inbox 3", body="arrived between syncs\r\n")

    out, counts = mbsync(str(conf))
    assert counts["fetch"] == 2, counts             # inbox 3, project 0
    assert counts["store"] >= 2 and counts["append"] == 0, counts
    # the server: inbox 1 gone, inbox 0 flagged, inbox 2 answered, inbox 3 there
    state = server_state(srv, "INBOX")
    assert [s for s, _ in state] == ["inbox 0", "inbox 2", "inbox 3"], state
    assert "\\Flagged" in dict(state)["inbox 0"]
    assert "\\Answered" in dict(state)["inbox 2"]
    # local: the same set, the answered flag (R) arrived, the new folder too
    local_inbox = local_messages(maildir / "INBOX")
    assert subjects(local_inbox) == ["inbox 0", "inbox 2", "inbox 3"]
    for name, data in local_inbox.items():
        info = name.partition(":2,")[2]
        subj = re.search(rb"^Subject: (.*?)\r?$", data, re.M).group(1)
        assert ("F" in info) == (subj == b"inbox 0"), name
        assert ("R" in info) == (subj == b"inbox 2"), name
    assert subjects(local_messages(maildir / "Projects")) == ["project 0"]
    server_bodies = {body_of(m) for m in srv.messages(USER)}
    assert {body_of(m) for m in local_inbox.values()} == server_bodies

    # 3. nothing left to do: nothing moves, no local file changes
    before = snapshot(maildir)
    out, counts = mbsync(str(conf))
    assert all(v == 0 for v in counts.values()), (counts, out[-3000:])
    assert snapshot(maildir) == before
    assert [s for s, _ in server_state(srv, "INBOX")] == ["inbox 0", "inbox 2", "inbox 3"]


# ---- curl ----------------------------------------------------------------

def curl(*args, ok_codes=(0,)):
    r = subprocess.run([CURL, "-s", "-S", "--max-time", "20",
                        "--user", f"{USER}:{PASSWORD}", *args],
                       capture_output=True, timeout=60)
    assert r.returncode in ok_codes, (args, r.returncode, r.stderr)
    return r.stdout


@pytest.mark.skipif(CURL is None, reason="curl not installed")
def test_curl_imap(imap_server, tmp_path):
    srv = imap_server()
    first = deliver(srv, subject="curl one", body="first body line\r\n")
    deliver(srv, subject="needle in subject", body="second\r\n")
    base = f"imap://127.0.0.1:{srv.imap_port}"
    stored = srv.messages(USER)

    # a message by UID (RFC 5092 ;UID=): the whole message as stored
    got = curl(f"{base}/INBOX;UID=1")
    assert got == stored[0]
    assert first.split(b"\r\n\r\n", 1)[1] in got
    # a section of it
    assert curl(f"{base}/INBOX;UID=1;SECTION=TEXT") == b"first body line\r\n"
    hdr = curl(f"{base}/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)")
    assert hdr.strip() == b"Subject: needle in subject"
    # the mailbox list
    listing = curl(f"{base}/").decode()
    names = re.findall(r'^\* LIST \([^)]*\) "\." "?([^"\r\n]+)"?\r?$', listing, re.M)
    assert {"INBOX", "Sent", "Drafts", "Junk", "Trash", "Archive"} <= set(names), listing
    assert re.search(r'^\* LIST \([^)]*\\Sent[^)]*\) "\." "?Sent"?', listing, re.M)
    # a custom command
    examine = curl(base, "-X", "EXAMINE INBOX").decode()
    assert re.search(r"^\* 2 EXISTS\r?$", examine, re.M), examine
    assert "[UIDVALIDITY " in examine
    # a search (RFC 5092 ?<search>)
    assert curl(f"{base}/INBOX?SUBJECT%20needle").strip() == b"* SEARCH 2"
    assert curl(f"{base}/INBOX?SUBJECT%20nowhere").strip() == b"* SEARCH"
    # an upload: APPEND
    up = tmp_path / "up.eml"
    up.write_bytes(message(subject="uploaded by curl", body="up\r\n"))
    curl(f"{base}/Drafts", "-T", str(up))
    M = login(srv)
    ok(M.select("Drafts", readonly=True))
    typ, data = M.search(None, "SUBJECT", '"uploaded by curl"')
    assert data[0].split() == [b"1"]
    M.logout()
    # a missing message and a wrong password fail
    curl(f"{base}/INBOX;UID=99", ok_codes=(78, 8, 67, 9))
    r = subprocess.run([CURL, "-s", "--max-time", "20", "--user", f"{USER}:wrong",
                        f"{base}/INBOX;UID=1"], capture_output=True, timeout=60)
    assert r.returncode != 0 and r.stdout == b""


@pytest.mark.skipif(CURL is None, reason="curl not installed")
def test_curl_imaps(imap_server):
    srv = imap_server(plaintext_loopback=False)
    deliver(srv, subject="over tls", body="secret body\r\n")
    base = f"imaps://127.0.0.1:{srv.imaps_port}"
    got = curl("-k", f"{base}/INBOX;UID=1")
    assert got == srv.messages(USER)[0]
    # without -k the self-signed certificate is refused
    r = subprocess.run([CURL, "-s", "--max-time", "20", "--user", f"{USER}:{PASSWORD}",
                        f"{base}/INBOX;UID=1"], capture_output=True, timeout=60)
    assert r.returncode == 60
    # STARTTLS on the plain port (--ssl-reqd), with LOGINDISABLED before it
    got = curl("-k", "--ssl-reqd", f"imap://127.0.0.1:{srv.imap_port}/INBOX;UID=1")
    assert got == srv.messages(USER)[0]
    with pytest.raises(AssertionError):
        curl(f"imap://127.0.0.1:{srv.imap_port}/INBOX;UID=1")
