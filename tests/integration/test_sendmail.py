"""Local submission: `sendmail` (argv[0]) and `mailkeep sendmail` talking
to a real daemon over run_dir/submit.sock, run from a shell as cron,
mail(1) and scripts do (issue 5 item 5)."""
import os
import re
import shlex
import stat
import subprocess
import time

import pytest

from conftest import BIN, wait_log

ORIGIN = "example.org"


def sendmail(srv, args, data, as_nobody=False, pipe=None, name="sendmail"):
    """Run `sendmail ARGS` through /bin/sh with MAILKEEP_CONFIG set, the
    message on stdin (or from `pipe`, a shell command piped into it)."""
    link = os.path.join(srv.dir, name)
    if not os.path.lexists(link):
        os.symlink(BIN, link)
    cmd = shlex.join([link] + args)
    if pipe is not None:
        cmd = f"{pipe} | {cmd}"
    env = dict(os.environ, MAILKEEP_CONFIG=srv.conf)
    argv = ["/bin/sh", "-c", cmd]
    if as_nobody:
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                "--clear-groups"] + argv
    return subprocess.run(argv, input=data, env=env, capture_output=True,
                          timeout=60)


def received(srv, address, tag, count=1):
    """The messages of address that contain tag, once count have arrived."""
    deadline = time.time() + 15
    while time.time() < deadline:
        got = [m for m in srv.messages(address) if tag.encode() in m]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    return [m for m in srv.messages(address) if tag.encode() in m]


def header(msg, name):
    head = msg.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    unfolded = re.sub(r"\r\n[ \t]", " ", head)
    return [line.split(":", 1)[1].strip() for line in unfolded.split("\r\n")
            if line.lower().startswith(name.lower() + ":")]


@pytest.fixture
def srv(make_server):
    s = make_server()
    s.cli("alias", "add", f"root@{ORIGIN}", "alice@example.org")
    return s


def test_socket_mode_and_cleanup(make_server):
    s = make_server()
    sock = os.path.join(s.dir, "run", "submit.sock")
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o666
    assert "service=local" in s.log()
    s.stop()
    assert not os.path.exists(sock)


def test_t_i_from_shell_pipeline(srv):
    msg = ("To: alice@example.org\nSubject: pipeline t1\n\nhello from a pipe\n"
           ".\nafter the dot\n")
    r = sendmail(srv, ["-t", "-i"], None,
                 pipe=f"printf %s {shlex.quote(msg)}")
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "pipeline t1")[0]
    body = m.split(b"\r\n\r\n", 1)[1]
    assert b"hello from a pipe\r\n.\r\nafter the dot\r\n" in body
    assert header(m, "Message-ID") and header(m, "Date")
    assert re.fullmatch(r"[^@ ]+@" + re.escape(ORIGIN), header(m, "From")[0])
    rec = header(m, "Received")[0]
    assert "from local (uid %d, user " % os.getuid() in rec
    assert wait_log(srv, r"event=queued .* uid=%d " % os.getuid())


def test_unqualified_root_reaches_alias_target(srv):
    """As cron sends it: "To: root" in the header and on the command line;
    both are qualified with the origin domain."""
    r = sendmail(srv, ["root"], b"To: root\nSubject: cron t2\n\nroot mail\n")
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "cron t2")[0]
    assert header(m, "From")[0].endswith(f"@{ORIGIN}")
    assert header(m, "To") == [f"root@{ORIGIN}"]


def test_mailkeep_sendmail_subcommand_with_c(srv):
    r = subprocess.run([BIN, "-c", srv.conf, "sendmail", "-oi", "alice"],
                       input=b"Subject: subcommand t3\n\nx\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert received(srv, "alice@example.org", "subcommand t3")


def test_bcc_stripped_but_delivered(srv):
    msg = (b"To: alice@example.org\nBcc: bob@example.net\nSubject: bcc t4\n\n"
           b"secret copy\n")
    r = sendmail(srv, ["-t"], msg)
    assert r.returncode == 0, r.stderr
    for who in ("alice@example.org", "bob@example.net"):
        m = received(srv, who, "bcc t4")[0]
        assert not header(m, "Bcc")
    alice = received(srv, "alice@example.org", "bcc t4")[0]
    assert b"bob@example.net" not in alice


def test_f_and_F(srv):
    r = sendmail(srv, ["-f", "bounces@example.org", "-F", "Cron Daemon", "alice"],
                 b"Subject: sender t5\n\nx\n")
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "sender t5")[0]
    assert header(m, "From") == ["Cron Daemon <bounces@example.org>"]
    assert wait_log(srv, r"event=local-sender uid=%d .*from=<bounces@example\.org>"
                    % os.getuid())
    # -F alone: the login's own address at the origin domain
    r = sendmail(srv, ["-FCron", "alice"], b"Subject: sender t5b\n\nx\n")
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "sender t5b")[0]
    assert re.fullmatch(r"Cron <[^@]+@example\.org>", header(m, "From")[0])
    # the null sender
    r = sendmail(srv, ["-f", "<>", "alice"], b"Subject: sender t5c\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert received(srv, "alice@example.org", "sender t5c")


def test_lone_dot_ends_input_without_i(srv):
    r = sendmail(srv, ["alice"], b"Subject: dot t6\n\nbefore\n.\nafter t6-tail\n")
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "dot t6")[0]
    assert b"before\r\n" in m and b"t6-tail" not in m
    r = sendmail(srv, ["-i", "alice"], b"Subject: dot t6i\n\nbefore\n.\nafter t6i-tail\n")
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "dot t6i")[0]
    assert b"before\r\n.\r\nafter t6i-tail\r\n" in m


def test_existing_message_id_and_date_kept(srv):
    msg = (b"Message-ID: <keep.t7@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
           b"Subject: keep t7\n\nx\n")
    r = sendmail(srv, ["alice"], msg)
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "keep t7")[0]
    assert header(m, "Message-ID") == ["<keep.t7@example.org>"]
    assert header(m, "Date") == ["Mon, 1 Jan 2024 00:00:00 +0000"]


def test_remote_recipient_is_queued_for_outbound(srv):
    r = sendmail(srv, ["someone@remote.test"], b"Subject: remote t8\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert wait_log(srv, r"event=relay to=<someone@remote\.test> client=uid:%d"
                    % os.getuid())
    assert wait_log(srv, r"event=queued from=<[^>]+@example\.org> nrcpt=1 .*"
                    r"client=uid:%d" % os.getuid())


def test_unknown_local_user_is_67(srv):
    r = sendmail(srv, ["nosuchuser"], b"Subject: t9\n\nx\n")
    assert r.returncode == 67, r.stderr
    assert b"5.1.1" in r.stderr
    # all or nothing: the good recipient got nothing either
    r = sendmail(srv, ["alice", "nosuchuser"], b"Subject: none t9b\n\nx\n")
    assert r.returncode == 67, r.stderr
    assert not [m for m in srv.messages("alice@example.org") if b"none t9b" in m]


def test_daemon_not_running_is_75(make_server):
    s = make_server(start=False)
    r = sendmail(s, ["alice"], b"Subject: t10\n\nx\n")
    assert r.returncode == 75, r.stderr
    assert b"is mailkeep running" in r.stderr


def test_no_recipients_is_64(srv):
    r = sendmail(srv, [], b"Subject: t11\n\nx\n")
    assert r.returncode == 64
    assert b"no recipients" in r.stderr
    r = sendmail(srv, ["-t"], b"Subject: t11\n\nx\n")
    assert r.returncode == 64
    r = sendmail(srv, ["-bp"], b"")
    assert r.returncode == 64 and b"mailkeep queue list" in r.stderr
    r = sendmail(srv, ["-k", "alice"], b"")
    assert r.returncode == 64


def test_long_line_is_65(srv):
    r = sendmail(srv, ["alice"], b"Subject: t12\n\n" + b"a" * 999 + b"\n")
    assert r.returncode == 65
    assert b"998" in r.stderr
    assert "event=local-sender" not in srv.log()  # refused before connecting


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_unprivileged_user(srv):
    r = sendmail(srv, ["-t", "-i"], b"To: alice@example.org\nSubject: nobody t13\n\nx\n",
                 as_nobody=True)
    assert r.returncode == 0, r.stderr
    m = received(srv, "alice@example.org", "nobody t13")[0]
    assert "from local (uid 65534, user nobody)" in header(m, "Received")[0]
    assert header(m, "From") == [f"nobody@{ORIGIN}"]
    assert wait_log(srv, r"event=queued .* uid=65534 user=nobody")


def test_disabled_has_no_socket(make_server):
    s = make_server(extra="[sendmail]\nenabled = no\n")
    assert not os.path.exists(os.path.join(s.dir, "run", "submit.sock"))
    r = sendmail(s, ["alice"], b"Subject: t14\n\nx\n")
    assert r.returncode == 75


def test_origin_option(make_server):
    s = make_server(extra="[sendmail]\norigin = example.net\n")
    r = sendmail(s, ["bob"], b"Subject: origin t15\n\nx\n")
    assert r.returncode == 0, r.stderr
    m = received(s, "bob@example.net", "origin t15")[0]
    assert header(m, "From")[0].endswith("@example.net")


def test_dkim_signed_when_from_is_ours(make_server):
    from conftest import free_port
    from test_outbound import FakeSmtp
    port = free_port()
    fake = FakeSmtp(port, b"250 2.1.5 ok", data_reply=b"250 2.0.0 ok")
    try:
        s = make_server(start=False, extra=f"[relay]\nhost = 127.0.0.1\n"
                        f"port = {port}\ntls = none\n")
        s.cli("dkim", "genkey", "example.org", "sel1")
        s.start()
        r = sendmail(s, ["-F", "Cron", "someone@remote.test"],
                     b"Subject: dkim t16\n\nsigned\n")
        assert r.returncode == 0, r.stderr
        assert wait_log(s, r"to=<someone@remote\.test> relay=.*status=sent"), \
            s.log()[-3000:]
        head = [m for m in fake.messages if m and b"dkim t16" in m][0] \
            .split(b"\r\n\r\n", 1)[0]
        assert b"DKIM-Signature:" in head and b"d=example.org" in head
        assert wait_log(s, r"event=dkim-sign status=ok d=example\.org")
    finally:
        fake.close()


def test_stale_socket_replaced_at_start(make_server):
    import signal
    s = make_server()
    pids = s.pids()
    s.stop(signal.SIGKILL)          # no cleanup: the socket file stays
    deadline = time.time() + 20
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.05)
    sock = os.path.join(s.dir, "run", "submit.sock")
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    s.start()
    r = sendmail(s, ["alice"], b"Subject: restart t17\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert received(s, "alice@example.org", "restart t17")


def test_file_in_the_way_fails_start(make_server):
    s = make_server(start=False)
    os.makedirs(os.path.join(s.dir, "run"), exist_ok=True)
    with open(os.path.join(s.dir, "run", "submit.sock"), "w") as f:
        f.write("not a socket\n")
    with pytest.raises(RuntimeError):
        s.start()
    assert "not a socket is in the way" in s.log()


def test_8bit_and_utf8_header(srv):
    msg = "Subject: gr\u00fc\u00dfe t18\n\n5 \u20ac\n".encode()
    r = sendmail(srv, ["-v", "-F", "J\u00f6rg", "alice"], msg)
    assert r.returncode == 0, r.stderr
    assert b"BODY=8BITMIME SMTPUTF8" in r.stderr      # -v shows the dialogue
    m = received(srv, "alice@example.org", "t18")[0]
    assert "gr\u00fc\u00dfe t18".encode() in m and "5 \u20ac\r\n".encode() in m
    assert header(m, "From")[0].startswith("J\u00f6rg <")
