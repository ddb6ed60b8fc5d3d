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
