"""A bulk run with Postfix's smtp-source as an independent SMTP client:
concurrent sessions, several messages per session, all delivered once."""
import os
import shutil
import subprocess

import pytest

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"


@pytest.mark.skipif(not os.path.exists(SMTP_SOURCE), reason="postfix's smtp-source not installed")
def test_smtp_source_bulk(server):
    count = 300
    r = subprocess.run(
        [SMTP_SOURCE, "-s", "8", "-m", str(count), "-l", "4096", "-f", "bulk@remote.test",
         "-t", "alice@example.org", "-M", "mx.example.org", f"127.0.0.1:{server.port}"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    msgs = server.wait_messages("alice@example.org", count, timeout=60)
    assert len(msgs) == count
    for m in msgs:
        assert m.startswith(b"Return-Path: <bulk@remote.test>\r\n")
    # each message was queued once and delivered once
    log = server.log()
    assert log.count("event=queued") == count
    assert log.count("status=delivered") == count


@pytest.mark.skipif(not os.path.exists(SMTP_SOURCE), reason="postfix's smtp-source not installed")
def test_one_account_many_messages_in_the_sandbox(server):
    """Enough mail into one account that SQLite would want temporary files
    (the sandboxed queue may write only below data_dir): all delivered."""
    count = 1500
    r = subprocess.run(
        [SMTP_SOURCE, "-s", "2", "-m", str(count), "-l", "2048", "-f", "bulk@remote.test",
         "-t", "alice@example.org", "-M", "mx.example.org", f"127.0.0.1:{server.port}"],
        capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(server.wait_messages("alice@example.org", count, timeout=120)) == count
    assert "status=deferred" not in server.log()
