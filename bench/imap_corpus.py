"""The IMAP benchmark's mailbox: COUNT deterministic, realistic messages.

Sizes 2-50 KiB (log-uniform, so most are small, as in real mailboxes);
plain text (7bit and quoted-printable UTF-8), multipart/alternative with an
HTML part, multipart/mixed with base64 attachments, a few forwarded
message/rfc822 parts; RFC 2047 subjects, threads (Re:, In-Reply-To,
References), Cc lists, Received lines. The same seed gives the same bytes,
so both servers get exactly the same mailbox in the same order (and so the
same UIDs).

Exactly one message in MARK_EVERY carries MARK_WORD in its text part (the
"~1%" SEARCH TEXT word); ABSENT_WORD is in none (checked at generation).
"""
import base64
import datetime
import quopri
import random

SEED = 20261122
MIN_SIZE = 2 * 1024
MAX_SIZE = 50 * 1024
MARK_WORD = "quillometry"       # in 1 message of MARK_EVERY
MARK_EVERY = 100
ABSENT_WORD = "xanthoplasmic"   # in none
SELF = "bench@bench.test"

SYLLABLES = ("ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga "
             "ge go ha he hi ho ka ke ki ko la le li lo lu ma me mi mo mu na "
             "ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te "
             "ti to tu va ve vi vo wa we wi ya yo za zo ar er ir or ur an en "
             "in on un al el il ol st tr pl gr br ch sh th").split()
COMMON = ("the of and to in is that for it as with was on be by this are "
          "from at or have an not but which all were can we will your our "
          "meeting report budget project review draft attached please "
          "thanks regards schedule team customer invoice release server "
          "update question proposal deadline agenda notes friday monday").split()
ACCENTED = ("café naïve Müller façade résumé Zürich crème brûlée smörgåsbord "
            "jalapeño Ærø Łódź").split()
FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj "
         "Olivia Peggy Rupert Sybil Trent Victor Walter Zoe").split()
LAST = ("Smith Jones Brown Taylor Wilson Davies Evans Thomas Roberts Walker "
        "Wright Hughes Green Hall Wood Clarke Lewis Harris Martin Cooper").split()
DOMAINS = ("example.com example.org example.net mail.example.com "
           "lists.example.org corp.example").split()
ATTACH = (("application/pdf", "report.pdf"), ("image/jpeg", "photo.jpg"),
          ("image/png", "chart.png"), ("application/zip", "files.zip"),
          ("application/vnd.oasis.opendocument.text", "minutes.odt"))


class Corpus:
    """messages[i] is the RFC 5322 text (CRLF) of UID i+1; flags[i] its
    APPEND flags; dates[i] its INTERNALDATE; marked the UIDs holding
    MARK_WORD."""

    def __init__(self, count, seed=SEED):
        self.rnd = random.Random(seed)
        self._words()
        self._paragraphs()
        self.messages, self.flags, self.dates, self.marked = [], [], [], []
        start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
        step = 2 * 365 * 86400 / max(count, 1)
        for i in range(count):
            when = start + datetime.timedelta(
                seconds=int(i * step + self.rnd.random() * step))
            mark = i % MARK_EVERY == MARK_EVERY // 2
            self.messages.append(self._message(i, when, mark))
            self.flags.append(self._flags())
            self.dates.append(when)
            if mark:
                self.marked.append(i + 1)
        self._check()

    # --- text ---

    def _words(self):
        rnd, vocab = self.rnd, set()
        while len(vocab) < 4000:
            vocab.add("".join(rnd.choice(SYLLABLES)
                              for _ in range(rnd.randint(2, 4))))
        vocab = sorted(vocab) + COMMON * 8     # common words more often
        rnd.shuffle(vocab)
        self.vocab = vocab
        # Zipf-like: word k has weight 1/(k+1)
        acc, self.cum = 0.0, []
        for k in range(len(vocab)):
            acc += 1.0 / (k + 1)
            self.cum.append(acc)

    def _paragraphs(self):
        """A pool of paragraphs wrapped at 72 columns; bodies reuse them."""
        rnd, self.pool = self.rnd, []
        for _ in range(3000):
            words = rnd.choices(self.vocab, cum_weights=self.cum,
                                k=rnd.randint(20, 120))
            words[0] = words[0].capitalize()
            self.pool.append(wrap(" ".join(words) + "."))

    def _text(self, size, mark, accented=False):
        parts, n = [], 0
        while n < size:
            p = self.rnd.choice(self.pool)
            if accented and self.rnd.random() < 0.5:
                p = p.replace(" the ", f" {self.rnd.choice(ACCENTED)} ", 2)
            parts.append(p)
            n += len(p) + 2
        if mark:
            k = self.rnd.randrange(len(parts))
            parts[k] = wrap(f"Note the {MARK_WORD} figures here.") \
                + "\r\n" + parts[k]
        return "\r\n\r\n".join(parts) + "\r\n"

    # --- headers ---

    def _person(self):
        f, l = self.rnd.choice(FIRST), self.rnd.choice(LAST)
        return f"{f} {l}", f"{f.lower()}.{l.lower()}@{self.rnd.choice(DOMAINS)}"

    def _subject(self):
        words = self.rnd.choices(self.vocab, cum_weights=self.cum,
                                 k=self.rnd.randint(3, 9))
        s = " ".join(words).capitalize()
        r = self.rnd.random()
        if r < 0.08:
            s = f"{self.rnd.choice(ACCENTED)} {s}"
            return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?="
        return ("Re: " if r < 0.35 else "Fwd: " if r < 0.4 else "") + s

    def _headers(self, i, when, ctype):
        rnd = self.rnd
        name, addr = self._person()
        host = addr.split("@")[1]
        date = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
        h = [f"Received: from mx.{host} (mx.{host} [192.0.2.{rnd.randint(1, 254)}])"
             f"\r\n\tby mail.bench.test with ESMTPS id {rnd.getrandbits(48):012x}"
             f"\r\n\tfor <{SELF}>; {date}",
             f"Received: from client.{host} by mx.{host}; {date}",
             f"Date: {date}",
             f'From: "{name}" <{addr}>',
             f"To: Bench User <{SELF}>"]
        if rnd.random() < 0.3:
            h.append("Cc: " + ", ".join(f'"{n}" <{a}>' for n, a in
                                        (self._person() for _ in
                                         range(rnd.randint(1, 3)))))
        subject = self._subject()
        h.append(f"Subject: {subject}")
        h.append(f"Message-ID: <{i}.{rnd.getrandbits(64):016x}@{host}>")
        if subject.startswith("Re:") and i > 0:
            ref = f"<{rnd.randrange(i)}.{rnd.getrandbits(64):016x}@{host}>"
            h += [f"In-Reply-To: {ref}", f"References: {ref}"]
        if rnd.random() < 0.5:
            h.append(f"X-Mailer: BenchMail {rnd.randint(1, 9)}.{rnd.randint(0, 9)}")
        h += ["MIME-Version: 1.0", ctype]
        return "\r\n".join(h) + "\r\n\r\n"

    # --- bodies ---

    def _message(self, i, when, mark):
        """One message of MIN_SIZE..MAX_SIZE bytes (drawn again when the
        parts overshoot the drawn size)."""
        while True:
            m = self._draw(i, when, mark)
            if MIN_SIZE <= len(m) <= MAX_SIZE:
                return m

    def _draw(self, i, when, mark):
        rnd = self.rnd
        size = int(MIN_SIZE * (MAX_SIZE / MIN_SIZE) ** rnd.random())
        r = rnd.random()
        if r < 0.55:
            return self._plain(i, when, size, mark)
        if r < 0.65:
            return self._qp(i, when, size, mark)
        if r < 0.80:
            return self._alternative(i, when, size, mark)
        return self._mixed(i, when, size, mark)

    def _plain(self, i, when, size, mark):
        head = self._headers(i, when, 'Content-Type: text/plain; charset="us-ascii"'
                             "\r\nContent-Transfer-Encoding: 7bit")
        return (head + self._text(size - len(head) - 400, mark)).encode()

    def _qp(self, i, when, size, mark):
        head = self._headers(i, when, 'Content-Type: text/plain; charset="utf-8"'
                             "\r\nContent-Transfer-Encoding: quoted-printable")
        text = self._text(int((size - len(head)) * 0.9), mark, accented=True)
        return head.encode() + qp(text)

    def _alternative(self, i, when, size, mark):
        b = f"=_alt_{self.rnd.getrandbits(64):016x}"
        head = self._headers(i, when, "Content-Type: multipart/alternative;"
                             f'\r\n\tboundary="{b}"')
        text = self._text((size - len(head)) // 2 - 200, mark)
        html = "<html><body>\r\n" + "".join(
            f"<p>{p}</p>\r\n" for p in text.split("\r\n\r\n") if p.strip()) \
            + "</body></html>\r\n"
        return (head + "This is a multi-part message in MIME format.\r\n\r\n"
                + part(b, 'text/plain; charset="us-ascii"', "7bit", text)
                + part(b, 'text/html; charset="us-ascii"', "7bit", html)
                + f"--{b}--\r\n").encode()

    def _mixed(self, i, when, size, mark):
        rnd = self.rnd
        b = f"=_mix_{rnd.getrandbits(64):016x}"
        head = self._headers(i, when, "Content-Type: multipart/mixed;"
                             f'\r\n\tboundary="{b}"')
        room = max(size - len(head) - 600, 1200)
        text = self._text(max(room // 4, 300), mark)
        body = part(b, 'text/plain; charset="us-ascii"', "7bit", text)
        left = room - len(text)
        if rnd.random() < 0.2:          # a forwarded message
            inner = self._plain(i, when, max(left // 2, 1500), False).decode()
            body += part(b, "message/rfc822", "7bit", inner)
            left -= len(inner)
        n = rnd.choice((1, 1, 1, 2))
        for _ in range(n):
            ctype, name = rnd.choice(ATTACH)
            raw = rnd.randbytes(max(int(left * 0.72) // n, 256))
            data = base64.encodebytes(raw).decode().replace("\n", "\r\n")
            body += part(b, f'{ctype}; name="{name}"', "base64", data,
                         f'attachment; filename="{name}"')
        return (head + "This is a multi-part message in MIME format.\r\n\r\n"
                + body + f"--{b}--\r\n").encode()

    def _flags(self):
        r = self.rnd.random()
        return "(\\Seen)" if r < 0.6 else "(\\Seen \\Answered)" if r < 0.65 \
            else ""

    def _check(self):
        """MARK_WORD only in the marked messages, ABSENT_WORD nowhere (as
        bytes, so also not by chance inside base64)."""
        mark, absent = MARK_WORD.encode(), ABSENT_WORD.encode()
        marked = set(self.marked)
        for uid, m in enumerate(self.messages, 1):
            low = m.lower()
            if (mark in low) != (uid in marked) or absent in low:
                raise RuntimeError(f"corpus: search word check failed at {uid}")

    def total_bytes(self, uids=None):
        if uids is None:
            return sum(len(m) for m in self.messages)
        return sum(len(self.messages[u - 1]) for u in uids)


def wrap(text, width=72):
    lines, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return "\r\n".join(lines)


def qp(text):
    """Quoted-printable with CRLF line ends (RFC 2045 6.7)."""
    out = quopri.encodestring(text.replace("\r\n", "\n").encode())
    return out.replace(b"\n", b"\r\n")


def part(boundary, ctype, cte, body, disposition=None):
    h = f"--{boundary}\r\nContent-Type: {ctype}\r\n" \
        f"Content-Transfer-Encoding: {cte}\r\n"
    if disposition:
        h += f"Content-Disposition: {disposition}\r\n"
    if not body.endswith("\r\n"):
        body += "\r\n"
    return h + "\r\n" + body
