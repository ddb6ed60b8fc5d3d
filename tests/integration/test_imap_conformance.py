"""IMAP conformance over the wire (issue 3, Tests): the Dovecot BODY /
BODYSTRUCTURE / ENVELOPE tables and the MIME corpus of ../shared/conformance,
through APPEND, the store's cached structures and FETCH.

The unit tests check the pure writers against the same tables; these check
what a client sees: each message is APPENDed (LF -> CRLF, as the tables'
sizes assume), then FETCHed in a new session, so ENVELOPE and BODYSTRUCTURE
come from what the store cached at APPEND time.

MIME corpus (stalwart-mail-parser eml/{rfc,thirdparty,malformed}): every
message must APPEND, its BODYSTRUCTURE must parse, every part it names must
be fetchable as BODY[n] (and n.MIME, and BINARY[n] / BINARY.SIZE[n] where the
transfer encoding is one RFC 3516 knows), sizes and line counts in the
BODYSTRUCTURE must agree with the bytes FETCH returns, and the part tree and
the decoded binary parts must agree with mail-parser's JSON parse. Malformed
messages only have to survive (the parse of broken MIME is each parser's
choice): the structural checks apply to them, the comparison with
mail-parser does not.
"""
import base64
import glob
import json
import os
import re
import socket
import time

import pytest

from conftest import SHARED
from imapworld import PASSWORD, USER, imap_server  # noqa: F401 (fixture)

DOVECOT = os.path.join(SHARED, "conformance", "imap", "dovecot-lib-imap")
EML = os.path.join(SHARED, "conformance", "mime", "stalwart-mail-parser", "eml")
KNOWN_CTE = ("7bit", "8bit", "binary", "base64", "quoted-printable")


# ---- a small IMAP client that keeps literals intact ----------------------

class Client:
    """Raw IMAP over a socket: commands with literals, responses as bytes
    with literals inline (so they can be parsed exactly)."""

    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def close(self):
        self.sock.close()

    def _more(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """One response with its literals: bytes (CRLF inside literals)."""
        out = b""
        while True:
            line = self.line()
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            out += b"\r\n" + self.take(int(m.group(1)))

    def cmd(self, text, literal=None):
        """Send a command (LITERAL+ for the literal); (tagged, [untagged])."""
        self.n += 1
        tag = b"c%d" % self.n
        data = tag + b" " + (text.encode() if isinstance(text, str) else text)
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                return r, untagged
            untagged.append(r)

    def ok(self, text, literal=None):
        tagged, untagged = self.cmd(text, literal)
        assert tagged.split()[1] == b"OK", (text, tagged, untagged[-3:])
        return untagged


def login(srv):
    c = Client(srv.imap_port)
    c.ok(f"LOGIN {USER} {PASSWORD}")
    return c


# ---- IMAP data parser ----------------------------------------------------

class Parser:
    """Parses IMAP data (atoms, numbers, NIL, quoted strings, literals,
    parenthesised lists) into str/int/None/bytes/list."""
    ATOM = re.compile(rb"[^\s()\[\]{}\"]+(?:\[[^\]]*\](?:<\d+>)?)?")

    def __init__(self, data):
        self.d, self.i = data, 0

    def value(self):
        d = self.d
        while d[self.i:self.i + 1] == b" ":
            self.i += 1
        c = d[self.i:self.i + 1]
        if c == b"(":
            self.i += 1
            out = []
            while True:
                while d[self.i:self.i + 1] == b" ":
                    self.i += 1
                if d[self.i:self.i + 1] == b")":
                    self.i += 1
                    return out
                out.append(self.value())
        if c == b'"':
            j, s = self.i + 1, bytearray()
            while d[j:j + 1] != b'"':
                if d[j:j + 1] == b"\\":
                    j += 1
                s += d[j:j + 1]
                j += 1
            self.i = j + 1
            return bytes(s)
        if c == b"~" and d[self.i + 1:self.i + 2] == b"{":    # literal8, RFC 3516
            self.i += 1
            c = b"{"
        if c == b"{":
            m = re.compile(rb"\{(\d+)\}\r\n").match(d, self.i)
            n = int(m.group(1))
            self.i = m.end() + n
            return d[m.end():m.end() + n]
        m = self.ATOM.match(d, self.i)
        assert m, (d[self.i:self.i + 40], self.i)
        self.i = m.end()
        tok = m.group(0)
        if tok.upper() == b"NIL":
            return None
        if tok.isdigit():
            return int(tok)
        return tok.decode()


def parse(data):
    return Parser(data if isinstance(data, bytes) else data.encode()).value()


def fetch_items(resp):
    """'* n FETCH (...)' -> {ITEM NAME: value} (names upper-cased)."""
    m = re.match(rb"\* \d+ FETCH ", resp)
    assert m, resp[:100]
    items = Parser(resp[m.end():]).value()
    return {items[i].upper(): items[i + 1] for i in range(0, len(items), 2)}


def fetch(c, seq, what):
    tagged, untagged = c.cmd(f"FETCH {seq} ({what})")
    assert tagged.split()[1] == b"OK", (what, tagged)
    got = {}
    for r in untagged:
        if re.match(rb"\* %d FETCH" % seq, r):
            got.update(fetch_items(r))
    return got


def crlf(text):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


# ---- Dovecot tables ------------------------------------------------------

def load(name):
    with open(os.path.join(DOVECOT, name), encoding="utf-8") as f:
        return json.load(f)


def append_all(srv, mailbox, messages):
    c = login(srv)
    c.ok(f"CREATE {mailbox}")
    for m in messages:
        c.ok(f"APPEND {mailbox}", crlf(m))
    c.close()


def test_dovecot_bodystructure_tables(imap_server):
    """BODY and BODYSTRUCTURE of the Dovecot tables, byte for byte (parsed,
    so that a literal in place of a quoted string would also do)."""
    tables = load("bodystructure.json")
    # (normalize_tests are Dovecot's upgrade of a cached BODY: their output
    # is not the BODYSTRUCTURE of their message, so they are not used here)
    cases = [(t["message"], t["body"], t["bodystructure"]) for t in tables["parse_tests"]]
    srv = imap_server()
    append_all(srv, "tables", [m for m, _, _ in cases])
    c = login(srv)
    c.ok("EXAMINE tables")
    bad = []
    for n, (msg, body, bs) in enumerate(cases, 1):
        tagged, untagged = c.cmd(f"FETCH {n} (BODY BODYSTRUCTURE RFC822.SIZE)")
        got = fetch_items(untagged[0])
        raw = untagged[0].decode("utf-8", "replace")
        if got["RFC822.SIZE"] != len(crlf(msg)):
            bad.append((n, "RFC822.SIZE", got["RFC822.SIZE"], len(crlf(msg))))
        if got["BODY"] != parse("(" + body + ")"):
            bad.append((n, "BODY", raw, body))
        if got["BODYSTRUCTURE"] != parse("(" + bs + ")"):
            bad.append((n, "BODYSTRUCTURE", raw, bs))
        elif "{" not in raw and f"BODYSTRUCTURE ({bs})" not in raw:
            bad.append((n, "BODYSTRUCTURE text", raw, bs))
    c.close()
    assert not bad, "\n".join(map(str, bad))


def test_dovecot_envelope_tables(imap_server):
    tables = load("envelope.json")["parse_tests"]
    srv = imap_server()
    append_all(srv, "envelopes", [t["message"] for t in tables])
    c = login(srv)
    c.ok("EXAMINE envelopes")
    bad = []
    for n, t in enumerate(tables, 1):
        tagged, untagged = c.cmd(f"FETCH {n} (ENVELOPE)")
        raw = untagged[0].decode("utf-8", "replace")
        if fetch_items(untagged[0])["ENVELOPE"] != parse("(" + t["envelope"] + ")"):
            bad.append((n, raw, t["envelope"]))
    c.close()
    assert not bad, "\n".join(map(str, bad))


# ---- MIME corpus ---------------------------------------------------------

def parts(bs, prefix=""):
    """[(section, node)] for the parts of a multipart BODYSTRUCTURE, in the
    numbering of RFC 3501 §6.4.5, nested parts included."""
    out = []
    kids = []
    for x in bs:
        if not isinstance(x, list):
            break
        kids.append(x)
    for i, kid in enumerate(kids, 1):
        sec = f"{prefix}{i}"
        out.append((sec, kid))
        if isinstance(kid[0], list):
            out += parts(kid, sec + ".")
        elif is_message(kid):
            out += message_parts(kid, sec)
    return out


def is_message(node):
    return (isinstance(node[0], bytes) and node[0].lower() == b"message" and
            node[1].lower() in (b"rfc822", b"global") and len(node) > 9)


def message_parts(node, sec):
    """Parts inside an encapsulated message (node[8] is its body)."""
    inner = node[8]
    if isinstance(inner[0], list):
        return parts(inner, sec + ".")
    out = [(sec + ".1", inner)]
    if is_message(inner):
        out += message_parts(inner, sec + ".1")
    return out


def top_parts(bs):
    if isinstance(bs[0], list):
        return parts(bs)
    out = [("1", bs)]
    if is_message(bs):
        out += message_parts(bs, "1")
    return out


def lines_of(data):
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def sent(data):
    """What a FETCH BODY of DATA carries: NULs become 0x80 (a literal may
    not hold NUL, RFC 3501 §4.3; BINARY's literal8 may)."""
    return data.replace(b"\0", b"\x80")


# Known server bugs seen by these tests: they make the test xfail while they
# are the only problems found (and it passes again once they are fixed).
KNOWN = {}


def check_part(c, seq, sec, node, top_single, problems):
    """Fetch one part every way it can be fetched; check the sizes."""
    what = f"BODY.PEEK[{sec}]"
    if not top_single:
        what += f" BODY.PEEK[{sec}.MIME]"
    got = fetch(c, seq, what)
    body = got.get(f"BODY[{sec}]")
    leaf = not isinstance(node[0], list)
    if body is None:
        problems.append(("no-body", seq, sec, list(got)))
        return got
    if leaf and node[6] != len(body):
        problems.append(("size", seq, sec, node[6], len(body)))
    if leaf and isinstance(node[0], bytes) and node[0].lower() == b"text":
        if node[7] not in (lines_of(body), body.count(b"\n")):
            problems.append(("lines", seq, sec, node[7], lines_of(body)))
    cte = node[5].lower() if leaf and isinstance(node[5], bytes) else None
    if leaf and not is_message(node) and cte in [x.encode() for x in KNOWN_CTE]:
        check_binary(c, seq, sec, cte, body, got, problems)
    return got


def check_binary(c, seq, sec, cte, body, got, problems):
    """BINARY[sec] and BINARY.SIZE[sec] (RFC 3516) against BODY[sec]."""
    tagged, untagged = c.cmd(f"FETCH {seq} (BINARY.PEEK[{sec}] BINARY.SIZE[{sec}])")
    items = {}
    for r in untagged:
        if re.match(rb"\* %d FETCH" % seq, r):
            items.update(fetch_items(r))
    if tagged.split()[1] != b"OK":
        if b"[UNKNOWN-CTE]" not in tagged:
            problems.append(("binary-no", seq, sec, tagged.decode(errors="replace")))
        return
    dec = items.get(f"BINARY[{sec}]")
    got.update(items)
    if dec is None or items.get(f"BINARY.SIZE[{sec}]") != len(dec):
        problems.append(("binary-size", seq, sec, items.get(f"BINARY.SIZE[{sec}]"),
                         None if dec is None else len(dec)))
    elif cte == b"base64":
        clean = re.sub(rb"[^A-Za-z0-9+/]", b"", body)
        if len(clean) % 4 == 0 and base64.b64decode(clean) != dec:
            problems.append(("binary-base64", seq, sec, dec[:40]))
    elif cte in (b"7bit", b"8bit", b"binary") and sent(dec) != body:
        problems.append(("binary-identity", seq, sec, dec[:40], body[:40]))


def json_parts(msg):
    """mail-parser's parse -> [(section, (type, subtype), kind, body)]."""
    plist = msg["parts"]

    def ctype(p):
        for h in p["headers"]:
            if h["name"] == "content_type" and isinstance(h["value"], dict):
                ct = h["value"].get("ContentType")
                if ct:
                    return (ct["c_type"].lower(), (ct.get("c_subtype") or "").lower())
        return None

    def walk(idx, sec, out):
        p = plist[idx]
        kind = list(p["body"])[0]
        out.append((sec, ctype(p), kind, p["body"][kind]))
        if kind == "Multipart":
            for i, k in enumerate(p["body"]["Multipart"], 1):
                walk(k, f"{sec}.{i}", out)
        elif kind == "Message":
            sub = json_parts(p["body"]["Message"])
            if sub and sub[0][0] == "":
                out += [(f"{sec}.{s}", *rest) for s, *rest in sub[1:]]
            else:
                out += [(f"{sec}.{s}", *rest) for s, *rest in sub]
        return out

    root = plist[0]
    if list(root["body"])[0] == "Multipart":
        out = [("", ctype(root), "Multipart", None)]
        for i, k in enumerate(root["body"]["Multipart"], 1):
            walk(k, str(i), out)
        return out
    return walk(0, "1", [])


def corpus(kind):
    return sorted(glob.glob(os.path.join(EML, kind, "*.eml")))


@pytest.mark.parametrize("kind", ["rfc", "thirdparty", "malformed"])
def test_mime_corpus(imap_server, kind):
    files = corpus(kind)
    assert files
    srv = imap_server()
    c = login(srv)
    c.ok("CREATE corpus")
    for f in files:
        with open(f, "rb") as fh:
            tagged, _ = c.cmd("APPEND corpus", crlf(fh.read()))
        assert tagged.split()[1] == b"OK", (f, tagged)
    c.ok("SELECT corpus")
    problems = []
    for seq, f in enumerate(files, 1):
        with open(f, "rb") as fh:
            data = crlf(fh.read())
        name = os.path.basename(f)
        got = fetch(c, seq, "RFC822.SIZE BODYSTRUCTURE BODY ENVELOPE")
        if got["RFC822.SIZE"] != len(data):
            problems.append(("rfc822.size", name, got["RFC822.SIZE"], len(data)))
        if fetch(c, seq, "BODY.PEEK[]").get("BODY[]") != sent(data):
            problems.append(("body[]", name))
        tree = top_parts(got["BODYSTRUCTURE"])
        top_single = not isinstance(got["BODYSTRUCTURE"][0], list)
        fetched = {}
        for sec, node in tree:
            fetched[sec] = check_part(c, seq, sec, node, top_single and sec == "1",
                                      problems)
        if kind == "rfc":
            compare_with_parser(name, f, tree, fetched, problems)
    c2 = login(srv)                     # the server is still fine
    c2.ok("NOOP")
    c2.close()
    c.close()
    unknown = [p for p in problems if p[0] not in KNOWN]
    assert not unknown, "\n".join(map(str, problems))
    if problems:
        pytest.xfail("; ".join(sorted({f"[{p[0]}] {KNOWN[p[0]]}" for p in problems})))


def compare_with_parser(name, path, tree, fetched, problems):
    """The part tree and the decoded binary parts against mail-parser's
    parse. Below a message/rfc822 part whose transfer encoding is not an
    identity one (forbidden by RFC 2046 §5.2.1) parsers legitimately part
    ways: mail-parser decodes and parses it, IMAP sections address raw
    bytes; such subtrees are not compared."""
    with open(path[:-4] + ".crlf.json", encoding="utf-8") as f:
        ref = json_parts(json.load(f))
    ours = dict(tree)
    opaque = [sec for sec, node in tree if is_message(node) and
              isinstance(node[5], bytes) and
              node[5].lower() not in (b"7bit", b"8bit", b"binary")]

    def skipped(sec):
        return any(sec.startswith(o + ".") for o in opaque)
    for sec, ctype, kind, body in ref:
        if sec == "" or skipped(sec):
            continue
        node = ours.get(sec)
        if node is None:
            problems.append(("tree", name, sec, "part missing", ctype, sorted(ours)))
            continue
        if ctype is not None and ctype[1] and isinstance(node[0], bytes):
            mine = (node[0].decode().lower(), node[1].decode().lower())
            if mine != ctype:
                problems.append(("tree", name, sec, "type", mine, ctype))
        if kind in ("Binary", "InlineBinary"):
            dec = fetched.get(sec, {}).get(f"BINARY[{sec}]")
            if dec is not None and dec != bytes(body):
                problems.append(("decoded", name, sec, dec[:40], bytes(body)[:40]))
    extra = sorted(s for s in set(ours) - {s for s, *_ in ref} if not skipped(s))
    if extra:
        problems.append(("tree", name, "parts mail-parser does not have", extra))


# ---- a client that goes away in the middle of a FETCH -------------------

def test_disconnect_during_fetch_leaves_server_responsive(make_server):
    """Clients vanish mid-FETCH; the IMAP process must neither spin nor
    hang. The exchange is James's FetchRFC822Mixed.test (the way it was
    found): ten messages APPENDed line by line into the selected mailbox,
    FETCH 1:* (RFC822.SIZE), then FETCH 1:* (RFC822), of which the client
    reads one line and closes."""
    import imapmpt
    from test_james_imap import PASSWORD as JAMES_PASSWORD
    from test_james_imap import USER as JAMES_USER
    from test_james_imap import start as james_server
    srv = james_server(make_server, "FetchRFC822Mixed.test")
    steps, nsess, wire = imapmpt.build(
        "FetchRFC822Mixed.test", "selected",
        workarounds=[b for b in ("recent", "highestmodseq", "literal-sp")
                     if b in imapmpt.WORKAROUNDS])
    last = next(i for i, st in enumerate(steps)
                if st[0] == "C" and st[2].startswith(b"A15 FETCH 1:* (RFC822)"))
    r = imapmpt.Runner(srv.imap_port, nsess, wire)
    try:
        r.run(steps[:last + 1])
        assert r.wires[0].readline().startswith(b"* 1 FETCH (RFC822")
    finally:
        r.close()
    time.sleep(0.5)
    pid = srv.child_pid("imap")
    t0 = cpu_seconds(pid)
    time.sleep(1.0)
    assert cpu_seconds(pid) - t0 < 0.5, "imap process spins after a client vanished"
    c = Client(srv.imap_port, timeout=5)        # another session is served
    c.ok(f"LOGIN {JAMES_USER} {JAMES_PASSWORD}")
    c.ok("NOOP")
    c.close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
