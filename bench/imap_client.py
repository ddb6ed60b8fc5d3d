"""A minimal IMAP client for the benchmark: raw sockets, no imaplib.

The client must cost far less than the servers it times, so responses
are not parsed beyond what the benchmark needs: lines are found with
bytes.find, literals ({N}) are skipped by their announced length (so a
message body that holds "A1 OK" cannot end a response early), untagged
lines are counted, and kept only when asked (SEARCH). Every read has a
timeout; a server that stops answering fails the operation, never hangs
the bench.
"""
import asyncio
import re
import socket
import time

READ_SIZE = 1 << 20
LITERAL_RE = re.compile(rb"\{(\d+)\+?\}$")


class ImapError(Exception):
    pass


class Response:
    """The outcome of one command: tagged status and text, how many
    untagged lines and literal bytes came before it."""

    __slots__ = ("status", "text", "untagged", "literal_bytes", "literals",
                 "lines")

    def __init__(self):
        self.status, self.text = None, b""
        self.untagged = self.literal_bytes = self.literals = 0
        self.lines = []


class Client:
    """One blocking connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=300.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.seq = 0
        self.greeting = bytes(self._line())
        if not self.greeting.startswith(b"* OK"):
            raise ImapError(f"greeting: {self.greeting[:200]!r}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        if self.pos > READ_SIZE:                # drop what was consumed
            del self.buf[:self.pos]
            self.pos = 0
        data = self.sock.recv(READ_SIZE)
        if not data:
            raise ImapError("connection closed by the server")
        self.buf += data

    def _line(self):
        """The next line without CRLF (no literal handling)."""
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def tag(self):
        self.seq += 1
        return b"A%d" % self.seq

    def send(self, data):
        self.sock.sendall(data)

    def read_response(self, tag, keep=False):
        """Read up to and including the tagged response of tag."""
        r, start, want = Response(), True, tag + b" "
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i < 0:
                self._fill()
                continue
            line_start, self.pos = self.pos, i + 2
            if start:
                if self.buf.startswith(b"* ", line_start):
                    r.untagged += 1
                elif self.buf.startswith(want, line_start):
                    status = self.buf[line_start + len(want):i]
                    r.status, _, r.text = bytes(status).partition(b" ")
                    return r
            if keep:
                r.lines.append(bytes(self.buf[line_start:i]))
            start = True
            if i > line_start and self.buf[i - 1] == 0x7D:      # '}'
                m = LITERAL_RE.search(self.buf, max(line_start, i - 24), i)
                if m:
                    n = int(m.group(1))
                    while len(self.buf) - self.pos < n:
                        self._fill()
                    self.pos += n
                    r.literal_bytes += n
                    r.literals += 1
                    start = False       # the line goes on after the literal

    def command(self, text, keep=False, ok=True):
        """Send one command line (bytes, without tag and CRLF)."""
        tag = self.tag()
        self.send(tag + b" " + text + b"\r\n")
        r = self.read_response(tag, keep)
        if ok and r.status != b"OK":
            raise ImapError(f"{text[:60]!r}: {r.status!r} {r.text[:200]!r}")
        return r

    def login(self, user, password):
        return self.command(b"LOGIN " + quote(user) + b" " + quote(password))

    def capabilities(self):
        r = self.command(b"CAPABILITY", keep=True)
        for line in r.lines:
            if line.startswith(b"* CAPABILITY "):
                return set(line.upper().split()[2:])
        return set()

    def append_many(self, mailbox, messages, flags, dates, window=32,
                    progress=None):
        """APPEND every message, pipelined with LITERAL+ (RFC 7888): up to
        window commands in flight. Returns the number appended."""
        pending, done = [], 0
        for i, msg in enumerate(messages):
            tag = self.tag()
            fl = (flags[i] + b" ") if flags[i] else b""
            self.send(b"%s APPEND %s %s\"%s\" {%d+}\r\n" %
                      (tag, mailbox, fl, dates[i], len(msg)) + msg + b"\r\n")
            pending.append(tag)
            if len(pending) >= window:
                done += self._append_done(pending.pop(0))
                if progress and done % 1000 == 0:
                    progress(done)
        for tag in pending:
            done += self._append_done(tag)
        return done

    def _append_done(self, tag):
        r = self.read_response(tag)
        if r.status != b"OK":
            raise ImapError(f"APPEND: {r.status!r} {r.text[:200]!r}")
        return 1

    def logout(self):
        try:
            self.command(b"LOGOUT", ok=False)
        except (OSError, ImapError):
            pass
        self.close()


def quote(s):
    if isinstance(s, str):
        s = s.encode()
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def imap_date(dt):
    """INTERNALDATE text of an aware datetime (RFC 3501 date-time)."""
    return dt.strftime("%d-%b-%Y %H:%M:%S +0000").encode()


def uid_set(uids):
    """Sorted UIDs as a compact sequence set: 1:3,7,9:10."""
    out, uids = [], sorted(uids)
    i = 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        out.append(f"{uids[i]}:{uids[j]}" if j > i else f"{uids[i]}")
        i = j + 1
    return ",".join(out).encode()


def timed(fn):
    """(seconds, result) of fn()."""
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


# --- many idle connections (asyncio) ---

async def _expect(reader, pred, timeout):
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise ImapError("connection closed by the server")
        if pred(line):
            return line


async def _idle_one(port, user, password, timeout):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, limit=1 << 20), timeout)
    try:
        await _expect(reader, lambda l: True, timeout)           # greeting
        for tag, cmd in ((b"L", b"LOGIN " + quote(user) + b" " + quote(password)),
                         (b"S", b"SELECT INBOX")):
            writer.write(tag + b" " + cmd + b"\r\n")
            line = await _expect(reader, lambda l, t=tag: l.startswith(t + b" "),
                                 timeout)
            if not line.startswith(tag + b" OK"):
                raise ImapError(f"{cmd.split()[0].decode()}: {line[:200]!r}")
        writer.write(b"I IDLE\r\n")
        await _expect(reader, lambda l: l.startswith(b"+"), timeout)
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def open_idle(port, user, password, count, parallel=20, timeout=60.0):
    """count connections, each logged in, INBOX selected and in IDLE.
    Returns (connections, errors)."""
    sem = asyncio.Semaphore(parallel)
    errors = []

    async def one():
        async with sem:
            try:
                return await _idle_one(port, user, password, timeout)
            except (OSError, ImapError, asyncio.TimeoutError) as e:
                errors.append(str(e) or type(e).__name__)
                return None

    conns = await asyncio.gather(*(one() for _ in range(count)))
    return [c for c in conns if c], errors


async def close_idle(conns):
    for _, writer in conns:
        try:
            writer.write(b"DONE\r\nO LOGOUT\r\n")
        except (OSError, RuntimeError):
            pass
    for _, writer in conns:
        writer.close()
    for _, writer in conns:
        try:
            await asyncio.wait_for(writer.wait_closed(), 5)
        except (OSError, asyncio.TimeoutError, RuntimeError):
            pass
