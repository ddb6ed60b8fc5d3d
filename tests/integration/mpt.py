"""A raw SMTP wire client and a runner for Apache James MPT scripts.

Wire: line-oriented client over a plain socket that can switch to TLS in
the middle (STARTTLS), with every read bounded by a timeout. The other
hostile-input tests (test_smtp_input.py, test_smuggling.py,
test_bdat_pipelining.py) use it too.

MPT scripts (/work/shared/conformance/smtp/james-mpt/, format in
/work/shared/conformance/README.md §5-6):
  C: text     send text + CRLF ("C:" alone sends an empty line); a
              backslash escape \\r \\n \\t \\\\ in text is decoded, and a
              line whose text already ends in \\r\\n gets no extra CRLF
              (starttls_with_injection sends two commands in one write)
  S: regex    read one reply line; it must match the regex entirely
  SUB { ... } a set of S: lines that may arrive in any order
  #, blank    ignored; LOG/WAIT/AWAIT/TIMER lines are no-ops
Runner extensions (only ever introduced by mpt-loosened.txt):
  TLS         TLS handshake on the connection now (after a 220 to STARTTLS)
  EOF         the server must close the connection now

mpt-loosened.txt holds every change made to an upstream script, as hunks:
  @@ SCRIPT.test [SCRIPT.test...]
  reason: one line
  - original line        (consecutive script lines, comments and blanks
  - ...                   skipped, must all be found in order)
  + replacement line     (zero or more)
A hunk must match somewhere in its script (a stale hunk is an error) and
replaces every occurrence. Hunks of one script apply in file order.
"""
import codecs
import os
import re
import socket
import ssl
import time

DEFAULT_TIMEOUT = 10.0
MAX_LINE = 64 * 1024  # a reply line longer than this is a failure


class WireError(AssertionError):
    pass


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Wire:
    """One raw SMTP connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=DEFAULT_TIMEOUT, read_greeting=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        # small writes leave as separate segments (byte-by-byte tests)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.rbuf = b""
        self.transcript = []  # ("C"|"S", bytes), for failure messages
        self.greeting = self.reply() if read_greeting else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append(("C", data))
        self.sock.sendall(data)

    def cmd(self, line):
        """Send one command line (CRLF added) and return its reply."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise WireError(f"timeout waiting for the server\n{self.dump()}")
        except (ConnectionResetError, ssl.SSLError) as e:
            chunk = b""
            self.transcript.append(("S", f"<{e}>".encode()))
        return chunk

    def readline(self):
        """One line without CRLF; None at EOF."""
        while b"\r\n" not in self.rbuf:
            if len(self.rbuf) > MAX_LINE:
                raise WireError(f"reply line too long\n{self.dump()}")
            chunk = self._fill()
            if not chunk:
                if self.rbuf:
                    raise WireError(f"EOF inside a line {self.rbuf!r}\n{self.dump()}")
                return None
            self.rbuf += chunk
        line, self.rbuf = self.rbuf.split(b"\r\n", 1)
        self.transcript.append(("S", line))
        return line

    def reply(self):
        """A whole (multi-line) reply: (code, [text lines]); (None, []) at EOF."""
        lines = []
        while True:
            line = self.readline()
            if line is None:
                if lines:
                    raise WireError(f"EOF inside a reply\n{self.dump()}")
                return None, []
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b" ", b"-", b""):
                raise WireError(f"malformed reply line {line!r}\n{self.dump()}")
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def expect(self, code, text_prefix=None):
        got, lines = self.reply()
        if got != code or (text_prefix is not None and not lines[0].startswith(text_prefix)):
            raise WireError(f"expected {code} {text_prefix or ''}, got {got} {lines}\n{self.dump()}")
        return lines

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def read_until_eof(self, max_bytes=1 << 20):
        """All remaining reply lines until the server closes (bounded)."""
        out, total = [], 0
        while total < max_bytes:
            line = self.readline()
            if line is None:
                return out
            out.append(line)
            total += len(line)
        raise WireError(f"server kept talking\n{self.dump()}")

    def expect_eof(self):
        rest = self.read_until_eof()
        if rest:
            raise WireError(f"expected EOF, got {rest}\n{self.dump()}")

    def starttls(self):
        """TLS handshake (after the server's 220); buffered plaintext must be empty."""
        if self.rbuf:
            raise WireError(f"plaintext after the 220 to STARTTLS: {self.rbuf!r}")
        self.sock = client_tls_context().wrap_socket(self.sock, server_hostname="mx.example.org")
        self.sock.settimeout(self.timeout)
        self.transcript.append(("C", b"<TLS handshake>"))

    def dump(self):
        out = []
        for who, data in self.transcript[-60:]:
            out.append(f"{who}: {data[:300]!r}")
        return "\n".join(out)


# ---- MPT scripts ----------------------------------------------------------

def read_script(path):
    """The script's meaningful lines (comments and blanks dropped), stripped of CR/LF."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            lines.append(line.rstrip())
    return lines


def read_loosenings(path):
    """{script name: [(reason, [old lines], [new lines])]} from mpt-loosened.txt."""
    with open(path, encoding="utf-8") as f:
        return parse_loosenings(f, path)


def parse_loosenings(lines, path):
    """read_loosenings over lines already read (imapmpt.py mixes in rules)."""
    hunks = {}
    cur = None
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if line.startswith("@@ "):
            cur = {"reason": None, "old": [], "new": []}
            for name in line[3:].split():
                hunks.setdefault(name, []).append(cur)
        elif line.startswith("reason:") and cur is not None:
            cur["reason"] = line[7:].strip()
        elif line.startswith("- ") and cur is not None:
            cur["old"].append(line[2:].rstrip())
        elif line.startswith("+ ") and cur is not None:
            cur["new"].append(line[2:].rstrip())
        elif line.startswith("#") or not line.strip():
            continue
        else:
            raise ValueError(f"{path}:{n}: cannot parse {line!r}")
    for name, lst in hunks.items():
        for h in lst:
            if not h["reason"] or not (h["old"] or h["new"]):
                raise ValueError(f"{path}: hunk for {name} needs a reason and lines")
            if not h["old"]:
                raise ValueError(f"{path}: hunk for {name} must name the lines it changes")
    return {k: [(h["reason"], h["old"], h["new"]) for h in v] for k, v in hunks.items()}


def apply_loosenings(lines, hunks, name, compare=None):
    """compare: applied to script lines before matching (imapmpt.py keeps
    trailing spaces in its lines and matches them with str.rstrip)."""
    for reason, old, new in hunks:
        out, i, hits = [], 0, 0
        while i < len(lines):
            window = lines[i:i + len(old)]
            if compare is not None:
                window = [compare(x) for x in window]
            if window == old:
                out.extend(new)
                i += len(old)
                hits += 1
            else:
                out.append(lines[i])
                i += 1
        if hits == 0:
            raise ValueError(f"stale loosening for {name} ({reason}): {old} not found")
        lines = out
    return lines


def decode_client_text(text):
    data = codecs.decode(text, "unicode_escape").encode("latin-1") if "\\" in text else text.encode()
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def parse(lines):
    """Script lines -> steps: ("C", bytes) ("S", regex) ("SUB", [regex]) ("TLS",) ("EOF",)."""
    steps, sub = [], None
    for line in lines:
        s = line.strip()
        if sub is not None:
            if s == "}":
                steps.append(("SUB", sub))
                sub = None
            elif s.startswith("S:"):
                sub.append(s[2:].lstrip(" "))
            else:
                raise ValueError(f"only S: lines inside SUB: {line!r}")
        elif s.startswith("SUB") and s.endswith("{"):
            sub = []
        elif line.startswith("C:"):
            text = line[2:]
            steps.append(("C", decode_client_text(text[1:] if text.startswith(" ") else text)))
        elif line.startswith("S:"):
            steps.append(("S", line[2:].lstrip(" ")))
        elif s in ("TLS", "EOF"):
            steps.append((s,))
        elif s.split()[0] in ("LOG", "WAIT", "AWAIT", "TIMER", "REINIT", "SESSION:"):
            if s.split()[0] in ("REINIT", "SESSION:"):
                raise ValueError(f"multi-session scripts are not supported: {line!r}")
        else:
            raise ValueError(f"cannot parse script line {line!r}")
    if sub is not None:
        raise ValueError("unterminated SUB block")
    return steps


def _match(regex, line, wire):
    text = line.decode("utf-8", "replace")
    if re.fullmatch(regex, text) is None:
        raise WireError(f"line {text!r} does not match /{regex}/\n{wire.dump()}")


def run(steps, port, timeout=DEFAULT_TIMEOUT):
    """Run parsed steps against the server; the greeting is the script's first S:."""
    wire = Wire(port, timeout=timeout, read_greeting=False)
    try:
        for step in steps:
            kind = step[0]
            if kind == "C":
                wire.send(step[1])
            elif kind == "S":
                line = wire.readline()
                if line is None:
                    raise WireError(f"EOF, expected /{step[1]}/\n{wire.dump()}")
                _match(step[1], line, wire)
            elif kind == "SUB":
                pending = list(step[1])
                while pending:
                    line = wire.readline()
                    if line is None:
                        raise WireError(f"EOF, expected one of {pending}\n{wire.dump()}")
                    text = line.decode("utf-8", "replace")
                    hit = next((r for r in pending if re.fullmatch(r, text)), None)
                    if hit is None:
                        raise WireError(f"{text!r} matches none of {pending}\n{wire.dump()}")
                    pending.remove(hit)
            elif kind == "TLS":
                wire.starttls()
            elif kind == "EOF":
                wire.expect_eof()
        return wire.transcript
    finally:
        wire.close()


def run_script(path, port, loosened_path):
    """Load a script, apply its loosenings, run it; returns the transcript."""
    name = os.path.basename(path)
    hunks = read_loosenings(loosened_path).get(name, [])
    lines = apply_loosenings(read_script(path), hunks, name)
    return run(parse(lines), port)


def wait_for(pred, timeout=15.0, step=0.05):
    """Poll pred() until true or the (bounded) timeout; returns its last value."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def connect_when_free(port, timeout=10.0, wire_timeout=DEFAULT_TIMEOUT):
    """A Wire greeted with 220, retrying (bounded) while the server answers
    421: sessions that just ended free their per-IP slot asynchronously."""
    def attempt():
        w = Wire(port, timeout=wire_timeout)
        if w.greeting[0] == 220:
            return w
        w.close()
        return None
    w = wait_for(attempt, timeout=timeout, step=0.1)
    if w is None:
        raise WireError(f"no 220 from port {port} within {timeout}s")
    return w
