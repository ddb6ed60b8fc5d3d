"""CHUNKING (RFC 3030) and PIPELINING (RFC 2920) over raw sockets
(issue 2 §4).

BDAT chunks are raw octets: no dot-stuffing, no terminator; only bare CR
and bare LF are turned into CRLF (bare_newline = normalize) and an
unterminated last line gets its CRLF (src/smtp/smtp_data.c). A refused
chunk is still read to its end (RFC 3030 §2), so its bytes are never taken
as commands. Pipelined commands are answered in order, one reply each.
"""
import threading

from mpt import Wire

ALL_OCTETS = bytes(b for b in range(256) if b not in (10, 13))


def ehlo(w):
    assert w.cmd("EHLO client.remote.test")[0] == 250


def envelope(w, rcpts=("alice@example.org",), sender="sender@remote.test"):
    assert w.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    for r in rcpts:
        assert w.cmd(f"RCPT TO:<{r}>")[0] == 250


def bdat(w, chunk, last=False):
    w.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
    return w.reply()


def _after_received(msg):
    lines = msg.split(b"\r\n")
    i = next(n for n, line in enumerate(lines) if line.startswith(b"Received: "))
    i += 1
    while lines[i].startswith(b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


# ---- BDAT ----------------------------------------------------------------

def test_bdat_multi_chunk_binary_exact(server):
    """Three chunks; every octet value; a CRLF split across chunks; dots at
    line starts and a fake "\\r\\n.\\r\\n" are plain data."""
    msg = (b"Subject: chunks\r\n\r\n" + ALL_OCTETS + b"\r\n.\r\n..dots stay\r\n"
           + b"split CR|LF\r\n" + b"end\r\n")
    cut1 = msg.index(b"|LF") + len(b"|LF") + 1    # right after the CR
    chunks = [msg[:100], msg[100:cut1], msg[cut1:]]
    assert chunks[1].endswith(b"\r") and chunks[2].startswith(b"\n")
    with Wire(server.port) as w:
        ehlo(w)
        envelope(w)
        assert bdat(w, chunks[0]) == (250, ["2.0.0 100 octets received"])
        code, text = bdat(w, chunks[1])
        # (the count is informational; a CR held for its LF is not in it yet)
        assert code == 250 and text[0].endswith(" octets received")
        code, text = bdat(w, chunks[2], last=True)
        assert code == 250 and text[0].startswith("2.0.0 Ok: queued as ")
    m = server.wait_messages("alice@example.org", 1)[0]
    assert m.startswith(b"Return-Path: <sender@remote.test>\r\n")
    assert _after_received(m) == msg


def test_bdat_zero_last_ends_message(server):
    with Wire(server.port) as w:
        ehlo(w)
        envelope(w)
        assert bdat(w, b"Subject: zero last\r\n\r\nbody\r\n")[0] == 250
        code, text = bdat(w, b"", last=True)
        assert code == 250 and text[0].startswith("2.0.0 Ok: queued as ")
    m = server.wait_messages("alice@example.org", 1)[0]
    assert _after_received(m) == b"Subject: zero last\r\n\r\nbody\r\n"


def test_bdat_unterminated_last_line_and_bare_newlines(server):
    with Wire(server.port) as w:
        ehlo(w)
        envelope(w)
        code, _ = bdat(w, b"Subject: bare\r\n\r\na\nb\rc\r\nno newline at end", last=True)
        assert code == 250
    m = server.wait_messages("alice@example.org", 1)[0]
    assert _after_received(m) == b"Subject: bare\r\n\r\na\r\nb\r\nc\r\nno newline at end\r\n"


def test_bdat_bare_newline_rejected_in_reject_mode(make_server):
    srv = make_server("[smtp]\nbare_newline = reject\n")
    with Wire(srv.port) as w:
        ehlo(w)
        envelope(w)
        code, text = bdat(w, b"Subject: bare\r\n\r\na\nb\r\n", last=True)
        assert (code, text[0][:5]) == (550, "5.5.2")
        assert w.cmd("NOOP")[0] == 250
    assert srv.log().count("event=queued") == 0


def test_bdat_without_mail_consumes_chunk(server):
    with Wire(server.port) as w:
        ehlo(w)
        # the chunk holds a command: it must be eaten as data, not run
        assert bdat(w, b"QUIT\r\n") == (503, ["5.5.1 Error: need MAIL and RCPT commands"])
        assert bdat(w, b"QUIT\r\n", last=True)[0] == 503
        assert w.cmd("NOOP")[0] == 250
        # MAIL without RCPT is no better
        assert w.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        assert bdat(w, b"RSET\r\n", last=True)[0] == 503
        # and a real transaction still works afterwards
        envelope(w)
        assert bdat(w, b"Subject: after\r\n\r\nok\r\n", last=True)[0] == 250
    msgs = server.wait_messages("alice@example.org", 1)
    assert len(msgs) == 1 and msgs[0].endswith(b"\r\n\r\nok\r\n")
    assert server.log().count("event=queued") == 1


def test_bdat_after_helo_refused(server):
    with Wire(server.port) as w:
        assert w.cmd("HELO old.client.test")[0] == 250
        envelope(w)
        assert bdat(w, b"NOOP\r\n", last=True)[0] == 503
        assert w.cmd("NOOP")[0] == 250
    assert server.log().count("event=queued") == 0


def test_data_after_bdat_refused(server):
    with Wire(server.port) as w:
        ehlo(w)
        envelope(w)
        assert bdat(w, b"Subject: mixed\r\n\r\n")[0] == 250
        assert w.cmd("DATA") == (503, ["5.5.1 Error: DATA after BDAT"])
        assert bdat(w, b"chunked only\r\n", last=True)[0] == 250
    m = server.wait_messages("alice@example.org", 1)[0]
    assert _after_received(m) == b"Subject: mixed\r\n\r\nchunked only\r\n"


def test_bdat_size_limit(make_server):
    srv = make_server("[smtp]\nmax_message_size = 2k\n")
    with Wire(srv.port) as w:
        ehlo(w)
        envelope(w)
        assert bdat(w, b"x" * 90 + b"\r\n")[0] == 250
        code, text = bdat(w, (b"y" * 90 + b"\r\n") * 30, last=True)
        assert (code, text[0][:5]) == (552, "5.3.4")
        assert w.cmd("NOOP")[0] == 250
    assert srv.log().count("event=queued") == 0


def test_bdat_bad_size_closes(server):
    """Without a size the chunk cannot be skipped, so the session ends."""
    with Wire(server.port) as w:
        ehlo(w)
        envelope(w)
        assert w.cmd("BDAT lots") == (501, ["5.5.4 Syntax: BDAT chunk-size [LAST]"])
        w.expect_eof()


def test_bdat_pipelined_in_one_write(server):
    """Two whole BDAT transactions and QUIT in one write; a chunk whose
    content looks like a BDAT command is data."""
    c1, c2, c3 = b"Subject: pipe\r\n\r\n", b"BDAT 3\r\nabc", b"\r\nlast\r\n"
    two = b"Subject: two\r\n\r\nsecond\r\n"

    def chunk(data, last=False):
        return f"BDAT {len(data)}{' LAST' if last else ''}\r\n".encode() + data
    with Wire(server.port) as w:
        ehlo(w)
        w.send(b"MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<bob@example.net>\r\n" + chunk(c1) + chunk(c2) + chunk(c3, True)
               + b"MAIL FROM:<second@remote.test>\r\nRCPT TO:<alice@example.org>\r\n"
               + chunk(two, True) + b"QUIT\r\n")
        replies = [w.reply() for _ in range(10)]
        assert [c for c, _ in replies] == [250] * 9 + [221], replies
        assert replies[3][1] == [f"2.0.0 {len(c1)} octets received"]
        assert replies[4][1] == [f"2.0.0 {len(c1 + c2)} octets received"]
        assert replies[5][1][0].startswith("2.0.0 Ok: queued as ")
        assert replies[8][1][0].startswith("2.0.0 Ok: queued as ")
        w.expect_eof()
    msgs = server.wait_messages("alice@example.org", 2)
    bodies = sorted(_after_received(m) for m in msgs)
    assert bodies == [c1 + c2 + c3, two]
    assert _after_received(server.wait_messages("bob@example.net", 1)[0]) == bodies[0]


# ---- PIPELINING ----------------------------------------------------------

def test_pipelined_transaction_replies_in_order(server):
    with Wire(server.port) as w:
        ehlo(w)
        w.send(b"MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
        assert w.reply() == (250, ["2.1.0 Ok"])
        assert w.reply() == (250, ["2.1.5 Ok"])
        code, text = w.reply()
        assert (code, text[0][:5]) == (550, "5.1.1") and "nobody@example.org" in text[0]
        assert w.reply() == (250, ["2.1.5 Ok"])
        assert w.reply()[0] == 354
        w.send(b"Subject: pipelined\r\n\r\none write\r\n.\r\n")
        assert w.reply()[0] == 250
    for u in ("alice@example.org", "bob@example.net"):
        m = server.wait_messages(u, 1)[0]
        assert m.endswith(b"Subject: pipelined\r\n\r\none write\r\n")


def test_pipelined_errors_keep_order(server):
    with Wire(server.port) as w:
        ehlo(w)
        w.send(b"MAIL FROM:bad\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nNOOP\r\n"
               b"MAIL FROM:<ok@remote.test>\r\nRCPT TO:<alice@example.org>\r\nRSET\r\n")
        codes = [w.reply()[0] for _ in range(7)]
        assert codes == [501, 503, 503, 250, 250, 250, 250]


def test_two_messages_pipelined(server):
    """RFC 2920 style (wait for 354, then body + next commands in one write),
    then fully unsynchronised (everything in one write)."""
    with Wire(server.port) as w:
        ehlo(w)
        w.send(b"MAIL FROM:<one@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
        assert [w.reply()[0] for _ in range(3)] == [250, 250, 354]
        w.send(b"Subject: one\r\n\r\nfirst\r\n.\r\n"
               b"MAIL FROM:<two@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
        assert [w.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
        w.send(b"Subject: two\r\n\r\nsecond\r\n.\r\n")
        assert w.reply()[0] == 250
        w.send(b"MAIL FROM:<three@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
               b"Subject: three\r\n\r\nthird\r\n.\r\n"
               b"MAIL FROM:<four@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
               b"Subject: four\r\n\r\n..fourth\r\n.\r\nQUIT\r\n")
        replies = [w.reply() for _ in range(9)]
        assert [c for c, _ in replies] == [250, 250, 354, 250, 250, 250, 354, 250, 221]
        w.expect_eof()
    msgs = server.wait_messages("alice@example.org", 4)
    got = sorted((m.split(b"\r\n", 1)[0], _after_received(m)) for m in msgs)
    assert got == sorted([
        (b"Return-Path: <one@remote.test>", b"Subject: one\r\n\r\nfirst\r\n"),
        (b"Return-Path: <two@remote.test>", b"Subject: two\r\n\r\nsecond\r\n"),
        (b"Return-Path: <three@remote.test>", b"Subject: three\r\n\r\nthird\r\n"),
        (b"Return-Path: <four@remote.test>", b"Subject: four\r\n\r\n.fourth\r\n"),
    ])


def test_pipelined_flood_is_flow_controlled(server):
    """20000 NOOPs in one go (about 280 KB of replies, over the server's
    output cap): every one is answered, in order, without loss."""
    n = 20000
    with Wire(server.port, timeout=60) as w:
        ehlo(w)
        payload = b"NOOP\r\n" * n + b"QUIT\r\n"
        err = []

        def writer():
            try:
                w.sock.sendall(payload)
            except OSError as e:
                err.append(e)
        t = threading.Thread(target=writer)
        t.start()
        try:
            for i in range(n):
                line = w.readline()
                assert line == b"250 2.0.0 Ok", (i, line)
            assert w.readline() == b"221 2.0.0 Bye"
            assert w.readline() is None
        finally:
            t.join(60)
        assert not err and not t.is_alive()
