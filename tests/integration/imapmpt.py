"""A runner for the Apache James MPT IMAP scripts over the wire.

The scripts (/work/shared/conformance/imap/james-mpt/scripts/, format in
/work/shared/conformance/README.md §5) are read the way James's
FileProtocolSessionBuilder reads them, which differs from the SMTP reader
in mpt.py in three ways that matter for IMAP:
  - client text is sent verbatim (no backslash escapes: the messages in
    the scripts contain "\\;" and "\\," that count in literal sizes), and
    trailing spaces are kept (they count too);
  - "S: \\+ Ok" is a continuation request: any line starting with "+";
  - several connections: "SESSION: n" switches, lines before any SESSION:
    go to every connection; REINIT reconnects (greeting not checked).
WAIT sleeps; LOG, AWAIT and TIMER are no-ops.

James's Java harness adds steps around a script, depending on the state a
suite runs it in (STATES): the greeting check (Welcome.test), "a001 LOGIN
imapuser password", SelectedStateSetup.test before and
SelectedStateCleanup.test after, or a SELECT of INBOX and a CLOSE. They
are written here as James writes them and changed, like any script, only
through imap-mpt-loosened.txt.

imap-mpt-loosened.txt holds every change, in two forms:
  @@ NAME.test ...     hunks, exactly as in mpt.py (mpt.read_loosenings);
                       the harness steps are the files harness-login.test,
                       harness-select-inbox.test and harness-close.test
  %% rule NAME         a named rewrite applied to every script (or only
  reason: ...          the scripts listed after "scripts:"); the rewrite
  [scripts: A.test ..] itself is a function in RULES below, and the file
                       and RULES must name the same rules.
Hunks apply first (their "-" lines are upstream lines), then the rules.
A few rules also rewrite the server's lines before they are matched
(WIRE_RULES: the order inside flag, attribute and parameter lists) or the
match itself (status-order).

WORKAROUNDS are not loosenings: they step over open server bugs, and only
test_james_imap_beyond_open_bugs uses them (see test_james_imap.py).
"""
import os
import re
import time

import mpt
from mpt import Wire, WireError

from conftest import SHARED

JAMES = os.path.join(SHARED, "conformance", "imap", "james-mpt")
SCRIPTS = os.path.join(JAMES, "scripts")
LOOSENED = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "imap-mpt-loosened.txt")
TIMEOUT = 8.0

# The harness steps of James's suites (BasicImapCommands, Base*State).
HARNESS = {
    "harness-login.test": ["C: a001 LOGIN imapuser password", "S: a001 OK .*"],
    "harness-select-inbox.test": [
        "C: abcd SELECT inbox",
        r"S: \* FLAGS \(\\Answered \\Deleted \\Draft \\Flagged \\Seen\)",
        r"S: \* \d+ EXISTS",
        r"S: \* \d+ RECENT",
        r"S: \* OK \[UIDVALIDITY \d+\].*",
        r"S: \* OK \[PERMANENTFLAGS \(\\Answered \\Deleted \\Draft \\Flagged \\\Seen( \\\*)?\)\].*",
        r"S: \* OK \[HIGHESTMODSEQ \d+\].*",
        r"S: \* OK \[UIDNEXT 1\].*",
        r"S: abcd OK \[READ-WRITE\] SELECT completed.",
    ],
    "harness-close.test": ["C: a CLOSE", "S: .*"],
}

# state -> (files before the script, files after it)
STATES = {
    "bare": ([], []),
    "nonauth": (["Welcome.test"], []),
    "auth": (["Welcome.test", "harness-login.test"], []),
    "selected": (["Welcome.test", "harness-login.test", "SelectedStateSetup.test"],
                 ["SelectedStateCleanup.test"]),
    "inbox": (["Welcome.test", "harness-login.test", "harness-select-inbox.test"],
              ["harness-close.test"]),
}


# ---- reading -------------------------------------------------------------

def read_lines(name):
    """A script's lines as James reads them: CR/LF dropped, trailing spaces
    kept, comment and blank lines dropped."""
    if name in HARNESS:
        return list(HARNESS[name])
    out = []
    with open(os.path.join(SCRIPTS, name), encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.strip() and not line.startswith("#"):
                out.append(line)
    return out


def read_loosened(path=LOOSENED):
    """(hunks {script: [(reason, old, new)]}, rules {name: (reason, scripts or None)})."""
    hunk_lines, rules, cur = [], {}, None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if line.startswith("@@ "):
                cur = None
            elif line.startswith("%% rule "):
                cur = line[8:].strip()
                if cur in rules:
                    raise ValueError(f"{path}:{n}: rule {cur} twice")
                rules[cur] = [None, None]
            elif cur is not None and line.startswith("reason:"):
                rules[cur][0] = line[7:].strip()
            elif cur is not None and line.startswith("scripts:"):
                rules[cur][1] = set(line[8:].split())
            elif cur is not None and line.strip() and not line.startswith("#"):
                raise ValueError(f"{path}:{n}: cannot parse {line!r} in rule {cur}")
            # rule lines become blanks: mpt's errors keep the file's line numbers
            hunk_lines.append(line if cur is None else "")
    for name, (reason, _) in rules.items():
        if not reason:
            raise ValueError(f"{path}: rule {name} needs a reason")
    hunks = mpt.parse_loosenings(hunk_lines, path)
    return hunks, {k: tuple(v) for k, v in rules.items()}


def loosen(name, hunks, rules, workarounds=()):
    """One file's lines with its hunks and the rules that apply to it (and
    the workarounds for open server bugs, see WORKAROUNDS)."""
    lines = mpt.apply_loosenings(read_lines(name), hunks.get(name, []), name,
                                 compare=str.rstrip)
    for bug in workarounds:
        if WORKAROUNDS[bug][0] is not None:
            lines = WORKAROUNDS[bug][0](lines)
    for rule, fn in RULES.items():          # in RULES order, not the file's
        if rule in rules and (rules[rule][1] is None or name in rules[rule][1]):
            lines = fn(lines)
    return lines


# ---- rules (each one named and justified in imap-mpt-loosened.txt) ------

ESC_CODE = re.compile(r"\\\[(?:[^\\]|\\[^\]])*\\\]")   # \[ ... \] in a regex


def _free_text(rest):
    """resp-text of a status regex: keep the response code, free the text."""
    m = ESC_CODE.match(rest)
    if m:
        return m.group(0) + ("(?: .*)?" if rest[m.end():] else "")
    if rest.startswith(r"\["):
        return rest                    # an open-ended code regex: keep it
    return ".*"


STATUS_TAGGED = re.compile(r"^S: ([^\s\\+*][^\s]*) (OK|NO|BAD) (.+)$")
STATUS_UNTAGGED = re.compile(r"^S: \\\* (OK|NO|BAD|BYE|PREAUTH) (.+)$")


def rule_resp_text(lines):
    out = []
    for line in lines:
        m = STATUS_TAGGED.match(line.rstrip())
        if m:
            out.append(f"S: {m.group(1)} {m.group(2)} {_free_text(m.group(3))}")
            continue
        m = STATUS_UNTAGGED.match(line.rstrip())
        if m:
            out.append(f"S: \\* {m.group(1)} {_free_text(m.group(2))}")
            continue
        out.append(line)
    return out


MAILBOXID_CODE = re.compile(r"\\\[MAILBOXID \\\(\.[+*]\\\)\\\] ")
MAILBOXID_LINE = re.compile(r"^S: \\\* OK \\\[MAILBOXID \\\([^ ]*\\\)\\\].*$")
MAILBOXID_STATUS = re.compile(r" ?MAILBOXID \\\(\.[+*]\\\)")


def rule_no_objectid(lines):
    out = []
    for line in lines:
        if MAILBOXID_LINE.match(line):
            continue
        line = MAILBOXID_CODE.sub("", line)
        if line.startswith("S: ") and "STATUS" in line:
            line = MAILBOXID_STATUS.sub("", line).replace(r"\( ", r"\(")
        out.append(line)
    return out


FLAG_TOKEN = re.compile(r"^(?:\\\\\\?([A-Za-z]+)|(\\\\\\\*)|([A-Za-z0-9_$-]+))$")
REGEX_FLAGS = re.compile(r"((?:FLAGS|LIST|LSUB) \\\()([^()]*?)(\\\))")
WIRE_FLAGS = re.compile(rb"((?:FLAGS|LIST|LSUB) \()([^()]*)(\))")


def flag_key(flag):
    """James's order: system flags by name, then keywords, then \\*."""
    if flag == "\\*":
        return (2, "")
    return (0 if flag.startswith("\\") else 1, flag.lower())


def _sort_regex_flags(m):
    tokens = m.group(2).split(" ") if m.group(2) else []
    flags = []
    for t in tokens:
        f = FLAG_TOKEN.match(t)
        if not f:
            return m.group(0)          # not a plain list: leave it alone
        flags.append((("\\" + f.group(1)) if f.group(1) else "\\*" if f.group(2)
                      else f.group(3), t))
    flags.sort(key=lambda ft: flag_key(ft[0]))
    return m.group(1) + " ".join(t for _, t in flags) + m.group(3)


def rule_flag_order(lines):
    return [REGEX_FLAGS.sub(_sort_regex_flags, line) if line.startswith("S: ")
            else line for line in lines]


def canon_wire_flags(line):
    """The server's flag lists in flag_key order (for rule flag-order)."""
    def sort(m):
        flags = m.group(2).split()
        flags.sort(key=lambda f: flag_key(f.decode("ascii", "replace")))
        return m.group(1) + b" ".join(flags) + m.group(3)
    return WIRE_FLAGS.sub(sort, line)


SELECT_CMD = re.compile(r"^C: (\S+) (SELECT|EXAMINE) ", re.I)


def _select_block(lines, i, tag):
    """End (index of the tagged line) of the untagged answer that starts at
    I, with any SUB braces in it; None if it is not only untagged lines."""
    j = i
    while j < len(lines) and (lines[j].startswith("S: \\*") or
                              lines[j] in ("SUB {", "}")):
        j += 1
    if j < len(lines) and lines[j].startswith(f"S: {tag} "):
        return j
    return None


def rule_select_order(lines):
    """The untagged data of a SELECT/EXAMINE become one unordered block."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        m = SELECT_CMD.match(line)
        j = _select_block(lines, i, m.group(1)) if m else None
        if j is not None and j > i:
            body = [x for x in lines[i:j] if x not in ("SUB {", "}")]
            out += ["SUB {"] + body + ["}"]
            i = j
    return out


PERMANENT_ANY = re.compile(r"^S: \\\* OK \\\[PERMANENTFLAGS \\\(.*$")


def rule_examine_permanentflags(lines):
    """EXAMINE: no permanent flags, as in RFC 3501 §6.3.2's example."""
    out, examine = [], False
    for line in lines:
        m = SELECT_CMD.match(line)
        if m:
            examine = m.group(2).upper() == "EXAMINE"
        elif line.startswith("C:"):
            examine = False
        if examine and PERMANENT_ANY.match(line):
            line = "S: \\* OK \\[PERMANENTFLAGS \\(\\)\\](?: .*)?"
        out.append(line)
    return out


FETCH_FLAGS_FIRST = re.compile(
    r"^S: (\\\* \d+ FETCH \\\()(?:FLAGS \\\(([^()]*)|(\.\*))\\\) (.*\\\{(\d+)\\?\})$")
FETCH_CMD = re.compile(r"^C: \S+ (?:UID )?FETCH ", re.I)


def _unescape(regex):
    return re.sub(r"\\(.)", r"\1", regex)


def _literal_close(lines, i, size):
    """Index of the line (after I) on which a literal of SIZE bytes ends."""
    used, j = 0, i + 1
    while j < len(lines) and lines[j].startswith("S:"):
        text = _unescape(lines[j][3:])
        if used + len(text) + 2 > size:
            return j
        used += len(text) + 2
        j += 1
    return None


SECTION_FETCH = re.compile(
    r"^S: \\\* (\d+) FETCH \\\(BODY\\\[((?:\d+\\\.)*\d+(?:\\\.MIME)?)\\\] \\\{(\d+)\\\}$")


def rule_part_one(lines):
    """BODY[n.1] of a part n that is not multipart: part n itself, where the
    script fetched BODY[n] of the same message before (James: empty)."""
    out, seen = [], {}
    i = 0
    while i < len(lines):
        m = SECTION_FETCH.match(lines[i])
        if m:
            j = _literal_close(lines, i, int(m.group(3)))
            msg, sec = m.group(1), m.group(2)
            base = re.sub(r"\\\.1(?=$|\\\.MIME$)", "", sec, count=1)
            if (m.group(3) == "0" and base != sec and j == i + 1 and
                    (msg, base) in seen):
                block = seen[(msg, base)]
                out.append(block[0].replace(f"[{base}\\]", f"[{sec}\\]"))
                out += block[1:]
                i = j + 1
                continue
            if j is not None:
                seen[(msg, sec)] = lines[i:j + 1]
        out.append(lines[i])
        i += 1
    return out


FETCH_LITERAL = re.compile(r"^S: \\\* \d+ FETCH \\\((?!.*FLAGS).*\\\{(\d+)\\?\}$")
OPTIONAL_FLAGS = "(?: FLAGS \\([^()]*\\))?\\)"


def rule_fetch_item_order(lines):
    """A \\Seen set by the FETCH itself: the FLAGS item may follow the
    literal instead of coming first, and may come when it did not change."""
    out, cmd = list(lines), ""
    for i, line in enumerate(out):
        if FETCH_CMD.match(line):
            cmd = line.upper()
        if "FLAGS" in cmd:
            continue
        m = FETCH_FLAGS_FIRST.match(line)
        lit = None if m else FETCH_LITERAL.match(line)
        if lit:
            j = _literal_close(out, i, int(lit.group(1)))
            if j is not None and out[j].endswith("\\)"):
                out[j] = out[j][:-2] + OPTIONAL_FLAGS
            continue
        if not m:
            continue
        j = _literal_close(out, i, int(m.group(5)))
        if j is None or not out[j].endswith("\\)"):
            continue
        flags = ".*" if m.group(3) else m.group(2)     # James's "\(.*\)" form
        out[i] = "S: " + m.group(1) + m.group(4)
        out[j] = out[j][:-2] + " FLAGS \\(" + flags + "\\)\\)"
    return out


FETCH_NO_UID = re.compile(r"^(S: \\\* \d+ FETCH \\\()(FLAGS \\\(.*)$")


def rule_fetch_extra_uid(lines):
    """A FETCH response may carry a UID item nobody asked for."""
    return [FETCH_NO_UID.sub(r"\1(?:UID \\d+ )?\2", line)
            if "UID" not in line else line for line in lines]


STRUCT_TOKEN = re.compile(r'(\\?")((?:[A-Za-z0-9-]|\\[+.])+)(\\?")')


def rule_structure_case(lines):
    """Quoted tokens in BODY/BODYSTRUCTURE expectations match in any case."""
    out = []
    for line in lines:
        if line.startswith("S: ") and re.search(r"BODY(STRUCTURE)? \\\(", line):
            line = STRUCT_TOKEN.sub(r"\1(?i:\2)\3", line)
        out.append(line)
    return out


WIRE_QSTR = rb'"(?:[^"\\\\]|\\\\.)*"'
WIRE_PARAMS = re.compile(rb"\((" + WIRE_QSTR + rb" " + WIRE_QSTR +
                         rb"(?: " + WIRE_QSTR + rb" " + WIRE_QSTR + rb")*)\)")
REGEX_QSTR = r'\\?"(?:\(\?i:[^()]*\)|[^"\\]|\\[^"])*\\?"'
REGEX_PARAMS = re.compile(r"\\\((" + REGEX_QSTR + " " + REGEX_QSTR +
                          "(?: " + REGEX_QSTR + " " + REGEX_QSTR + r")*)\\\)")


def _pair_key(text):
    return re.sub(r"\(\?i:|[\\()\"]", "", text).lower()


def sort_params_regex(line):
    """Attribute/value pairs of the regex's parameter lists, by attribute."""
    def one(m):
        items = re.findall(REGEX_QSTR, m.group(1))
        pairs = sorted(zip(items[0::2], items[1::2]), key=lambda p: _pair_key(p[0]))
        return "\\(" + " ".join(a + " " + v for a, v in pairs) + "\\)"
    return REGEX_PARAMS.sub(one, line)


def sort_params_wire(line):
    """The same for the server's BODY/BODYSTRUCTURE parameter lists."""
    def one(m):
        items = re.findall(WIRE_QSTR, m.group(1))
        pairs = sorted(zip(items[0::2], items[1::2]),
                       key=lambda p: p[0].decode("latin-1").lower())
        return b"(" + b" ".join(a + b" " + v for a, v in pairs) + b")"
    return WIRE_PARAMS.sub(one, line) if b"BODY" in line else line


def rule_param_order(lines):
    return [sort_params_regex(line) if line.startswith("S: ") and
            re.search(r"BODY(STRUCTURE)? \\\(", line) else line for line in lines]


UID_LAST = re.compile(r"^(S: \\\* \d+ FETCH \\\()(.+) (UID \d+)\\\)$")
UID_CMD = re.compile(r"^C: \S+ UID FETCH ", re.I)


def rule_uid_item_order(lines):
    """In answers to UID FETCH ours sends the UID item first."""
    out, uid = [], False
    for line in lines:
        if line.startswith("C: ") and re.match(r"^C: \S+ \S", line):
            uid = bool(UID_CMD.match(line))
        if uid:
            line = UID_LAST.sub(r"\1\3 \2\\)", line)
        out.append(line)
    return out


def rule_status_order(lines):
    return lines                        # done at match time: Runner.match


LOGIN = re.compile(r"^(C: \S+ LOGIN )imapuser( .*)$")


def rule_login_address(lines):
    return [LOGIN.sub(r"\1imapuser@example.org\2", line) for line in lines]


WRONG_STATE = re.compile(r"^(S: \S+ )NO (.*Command not valid in this state.*)$")


def rule_wrong_state_bad(lines):
    return [WRONG_STATE.sub(r"\1BAD \2", line) for line in lines]


UNTAGGED_FLAGS = re.compile(r"^(S: \\\* FLAGS \\\(.*?)(\\\))$")
PERMANENT_FLAGS = re.compile(r"^(S: \\\* OK \\\[PERMANENTFLAGS \\\(.*?)"
                             r"((?:\( \\\\\\\*\)\?|(?: \\\\\\\*))?\\\)\\\])")
KEYWORDS = r"(?: [^\s()\\]+)*"


def rule_mailbox_keywords(lines):
    out = []
    for line in lines:
        m = UNTAGGED_FLAGS.match(line) or PERMANENT_FLAGS.match(line)
        if m and KEYWORDS not in line:
            line = line[:m.end(1)] + KEYWORDS + line[m.end(1):]
        out.append(line)
    return out


# Applied in this order (hunks come first, see loosen()).
RULES = {
    "login-address": rule_login_address,
    "wrong-state-bad": rule_wrong_state_bad,
    "no-objectid": rule_no_objectid,
    "resp-text": rule_resp_text,
    "part-one": rule_part_one,
    "fetch-item-order": rule_fetch_item_order,
    "fetch-extra-uid": rule_fetch_extra_uid,
    "uid-item-order": rule_uid_item_order,
    "flag-order": rule_flag_order,
    "mailbox-keywords": rule_mailbox_keywords,
    "structure-case": rule_structure_case,
    "param-order": rule_param_order,
    "examine-permanentflags": rule_examine_permanentflags,
    "select-order": rule_select_order,
    "status-order": rule_status_order,
}
# rules that also rewrite the server's lines before matching
WIRE_RULES = ("flag-order", "param-order")
WIRE_FUNCS = {"flag-order": canon_wire_flags, "param-order": sort_params_wire}


# ---- workarounds for open server bugs -------------------------------------
# Not loosenings: test_james_imap.py uses them only in the test that runs
# scripts with a known bug "beyond the bug", to check the rest of the script
# while the bug is open; the plain run of such a script must still fail.

def _wa_recent_lines(lines):
    out = []
    for line in lines:
        if line.startswith("S: "):
            if (re.fullmatch(r"S: \\\* (\d+|\\d\+) RECENT", line) and out and
                    re.match(r"S: \\\* \d+ EXPUNGE", out[-1])):
                continue            # James's RECENT update after EXPUNGE
            line = re.sub(r" ?\\\\Recent", "", line)
            line = line.replace("FLAGS \\( ", "FLAGS \\(")
            line = re.sub(r"^S: \\\* \d+ RECENT$", r"S: \\* \\d+ RECENT", line)
            line = re.sub(r"RECENT \d+", r"RECENT \\d+", line)
        out.append(line)
    return out


def _wa_recent_wire(line):
    return (line.replace(b" \\Recent", b"").replace(b"(\\Recent ", b"(")
            .replace(b"(\\Recent)", b"()"))


def _wa_highestmodseq_lines(lines):
    return [x for x in lines if not re.match(r"^S: \\\* OK \\\[HIGHESTMODSEQ ", x)]


def _wa_literal_sp_wire(line):
    line = re.sub(rb"(?<=[^ (A-Z])FLAGS \(", b" FLAGS (", line)
    return b" " + line if line.startswith(b"FLAGS (") else line


WORKAROUNDS = {}


# ---- parsing and running -------------------------------------------------

def parse(lines):
    """Lines -> steps (kind, session, arg); session -1 = every session."""
    steps, sub, sess = [], None, -1
    for line in lines:
        if sub is not None:
            if line.startswith("}"):
                steps.append(("SUB", sess, sub))
                sub = None
            elif line.startswith("S:"):
                sub.append(line[3:])
            else:
                raise ValueError(f"only S: lines inside SUB: {line!r}")
        elif line.rstrip() == r"S: \+ Ok":
            steps.append(("CONT", sess, None))
        elif line.startswith("C:"):
            steps.append(("C", sess, line[3:].encode("utf-8") + b"\r\n"))
        elif line.startswith("S:"):
            steps.append(("S", sess, line[3:]))
        elif line.startswith("SUB {"):
            sub = []
        elif line.startswith("SESSION:"):
            sess = int(line[8:].strip())
        elif line.startswith("REINIT"):
            steps.append(("REINIT", max(sess, 0), None))
        elif line.startswith("WAIT"):
            steps.append(("WAIT", sess, int(line[5:])))
        elif line.startswith(("LOG", "AWAIT", "TIMER")):
            continue
        else:
            raise ValueError(f"cannot parse script line {line!r}")
    if sub is not None:
        raise ValueError("unterminated SUB block")
    return steps


def build(script, state, loosened=None, workarounds=()):
    """The steps of SCRIPT run in STATE: (steps, sessions, wire rewrites).
    A ("POST",) step separates the script from the harness steps after it."""
    hunks, rules = loosened or read_loosened()
    before, after = STATES[state]
    lines = []
    for name in before + [script]:
        lines += loosen(name, hunks, rules, workarounds)
    post = []
    for name in after:
        post += loosen(name, hunks, rules, workarounds)
    nsess = 1 + max([int(x[8:]) for x in lines if x.startswith("SESSION:")] or [0])
    steps = parse(lines) + ([("POST", -1, None)] + parse(post) if post else [])
    wire = [WIRE_FUNCS[r] for r in WIRE_RULES if r in rules]
    wire += [WORKAROUNDS[b][1] for b in workarounds if WORKAROUNDS[b][1]]
    return steps, nsess, (wire, "status-order" in rules)


def match_unordered(regexes, texts, match=lambda r, t: re.fullmatch(r, t)):
    """Lines of TEXTS left over by the best one-to-one matching with REGEXES
    (James matches a SUB block greedily; a loose regex must not steal a
    line that a stricter one needs, so this finds a full matching)."""
    fits = [[i for i, r in enumerate(regexes) if match(r, t)] for t in texts]
    owner = {}

    def place(t, seen):
        for i in fits[t]:
            if i not in seen:
                seen.add(i)
                if i not in owner or place(owner[i], seen):
                    owner[i] = t
                    return True
        return False
    return [texts[t] for t in range(len(texts)) if not place(t, set())]


STATUS_LINE = re.compile(r"^(\* STATUS (?:\S+|\"[^\"]*\") \()(.*)(\))$")
STATUS_ITEM = re.compile(r"([A-Z-]+) (\d+|\([^()]*\))")


def status_in_regex_order(text, regex):
    """A STATUS response's items in the order the regex names them."""
    m = STATUS_LINE.match(text)
    if not m or "STATUS" not in regex:
        return text
    items = STATUS_ITEM.findall(m.group(2))
    pos = {name: regex.find(name + " ") for name, _ in items}
    if any(p < 0 for p in pos.values()):
        return text
    items.sort(key=lambda it: pos[it[0]])
    return m.group(1) + " ".join(f"{n} {v}" for n, v in items) + m.group(3)


class Runner:
    def __init__(self, port, nsess, wire=((), False), timeout=TIMEOUT):
        self.port, self.timeout = port, timeout
        self.rewrites, self.status_order = wire
        self.wires = [self._open() for _ in range(nsess)]
        self.bye = [False] * nsess      # the session was told BYE
        self.post = False               # running the harness steps after

    def _open(self):
        return Wire(self.port, timeout=self.timeout, read_greeting=False)

    def close(self):
        for w in self.wires:
            w.close()

    def readline(self, n, expect):
        line = self.wires[n].readline()
        if line is None:
            raise WireError(f"session {n}: EOF, expected {expect}\n{self.dump()}")
        for rewrite in self.rewrites:
            line = rewrite(line)
        text = line.decode("utf-8", "replace")
        if text.startswith("* BYE "):
            self.bye[n] = True
        return text

    def match(self, regex, text):
        if self.status_order:
            text = status_in_regex_order(text, regex)
        return re.fullmatch(regex, text) is not None

    def step(self, kind, n, arg):
        if kind == "C":
            self.wires[n].send(arg)
        elif kind == "S":
            text = self.readline(n, f"/{arg}/")
            if not self.match(arg, text):
                raise WireError(f"session {n}: {text!r} does not match /{arg}/\n"
                                f"{self.dump()}")
        elif kind == "SUB":
            texts = [self.readline(n, f"one of {arg}") for _ in arg]
            unmatched = match_unordered(arg, texts, self.match)
            if unmatched:
                raise WireError(f"session {n}: {unmatched!r} match none of "
                                f"{arg}\n{self.dump()}")
        elif kind == "CONT":
            text = self.readline(n, "a continuation")
            if not text.startswith("+"):
                raise WireError(f"session {n}: expected '+', got {text!r}\n{self.dump()}")
        elif kind == "REINIT":
            self.wires[n].close()
            self.wires[n] = self._open()
            self.bye[n] = False
            self.readline(n, "a greeting")
        elif kind == "WAIT":
            time.sleep(arg / 1000.0)

    def run(self, steps):
        for kind, sess, arg in steps:
            if kind == "POST":
                self.post = True
                continue
            for n in (range(len(self.wires)) if sess < 0 else [sess]):
                if self.post and self.bye[n]:
                    continue            # the script logged out: no cleanup
                self.step(kind, n, arg)

    def dump(self):
        out = []
        for n, w in enumerate(self.wires):
            out.append(f"--- session {n}")
            out.append(w.dump())
        return "\n".join(out)


def run_script(script, state, port, loosened=None, timeout=TIMEOUT,
               workarounds=()):
    """Run SCRIPT in STATE against 127.0.0.1:PORT; returns the transcripts."""
    steps, nsess, wire = build(script, state, loosened, workarounds)
    r = Runner(port, nsess, wire, timeout)
    try:
        r.run(steps)
        return [w.transcript for w in r.wires]
    finally:
        r.close()
