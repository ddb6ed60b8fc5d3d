#!/usr/bin/python3
"""Convert the DMARC conformance data (../shared/conformance/dmarc, README
section 3) into the line file that tests/unit/dmarc_suite.c reads:

  - psl/test_psl.txt: checkPublicSuffix(input, expected) lines; the
    organisational domain (RFC 7489 3.2) is the registrable domain;
  - opendmarc/tables.json: OpenDMARC's record-parse and alignment tables;
  - authheaders/cases.json + the messages: end-to-end DMARC cases with DNS
    data, DKIM results and the expected Authentication-Results.

Output lines (fields separated by one space; bytes outside 0x21-0x7e, '\\'
and '"' written as \\xNN; an empty field is ""; "-" stands for null):

  psl INPUT EXPECTED
  record UPSTREAM OURS TEXT       UPSTREAM: OpenDMARC's status mapped to
                                  ok|nopolicy|notdmarc|badvalue; OURS: what
                                  RFC 7489 asks of our parser (see below)
  align FROM AUTH strict|relaxed yes|no
  case NAME AUTHSERV-ID CHECKS    CHECKS: dkim or dkim+dmarc
  from VALUE                      a raw From field value (unfolded)
  dkim DOMAIN RESULT              a DKIM result (d=, pass/fail)
  txt NAME VALUE                  a TXT record
  exists NAME                     NAME has an A record (else NXDOMAIN)
  expect DMARC-RESULT POLICY      POLICY: policy.dmarc or -
  ar VALUE                        the expected Authentication-Results
  end

OURS differs from OpenDMARC's outcome where RFC 7489 says otherwise:
  - BAD_VALUE on an optional tag other than sp= (pct=500, adkim=bob, ...):
    section 6.3 says "Syntax errors in the remainder of the record SHOULD be
    discarded in favor of default values (if any) or ignored outright", so
    the record is ok; an invalid p= or sp= is nopolicy (6.6.3 step 6);
  - "p=n": OpenDMARC matches policy names by prefix; the ABNF (6.4) allows
    only none/quarantine/reject, so no valid p= (nopolicy).

Usage: dmarc_suite_gen.py CONFORMANCE_DMARC_DIR OUTPUT.txt
"""
import email.parser
import email.policy
import json
import os
import re
import sys

POLICIES = ("none", "quarantine", "reject")


def esc(value):
    """One field: the UTF-8 bytes of value, escaped; None is "-"."""
    if value is None:
        return "-"
    data = value.encode("utf-8") if isinstance(value, str) else value
    if not data:
        return '""'
    out = []
    for b in data:
        if 0x21 <= b <= 0x7E and b not in (0x5C, 0x22):
            out.append(chr(b))
        else:
            out.append("\\x%02X" % b)
    return "".join(out)


def line(*fields):
    return " ".join(fields) + "\n"


def psl_lines(path):
    pat = re.compile(r"^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);")
    out = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            m = pat.match(raw.strip())
            if not m:
                continue
            vals = [None if v == "null" else v[1:-1] for v in m.groups()]
            out.append(line("psl", esc(vals[0]), esc(vals[1])))
    return out


def tags(record):
    result = {}
    for spec in record.split(";"):
        if "=" in spec:
            name, value = spec.split("=", 1)
            result.setdefault(name.strip().lower(), value.strip())
    return result


def ours(record, upstream):
    """Our expectation for one OpenDMARC row (see the module comment)."""
    if upstream == "notdmarc":
        return "notdmarc"
    t = tags(record)
    if t.get("p", "").lower() not in POLICIES:
        return "nopolicy"
    if "sp" in t and t["sp"].lower() not in POLICIES:
        return "nopolicy"
    return "ok"


UPSTREAM = {
    "DMARC_PARSE_OKAY": "ok",
    "DMARC_PARSE_ERROR_EMPTY": "notdmarc",
    "DMARC_PARSE_ERROR_BAD_VERSION": "notdmarc",
    "DMARC_PARSE_ERROR_NO_REQUIRED_P": "nopolicy",
    "DMARC_PARSE_ERROR_BAD_VALUE": "badvalue",
}


def opendmarc_lines(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for row in data["policy_parse"]:
        up = UPSTREAM[row["expected"]]
        out.append(line("record", up, ours(row["record"], up),
                        esc(row["record"])))
    for row in data["alignment"]:
        out.append(line("align", esc(row["from_domain"]),
                        esc(row["auth_domain"]), row["mode"],
                        "yes" if row["aligned"] else "no"))
    return out


def from_values(path):
    """The raw (unfolded) From field values of a message."""
    with open(path, "rb") as f:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parse(f)
    values = []
    for name, value in msg.raw_items():
        if name.lower() == "from":
            values.append(re.sub(r"\r?\n", "", value).strip())
    return values


def dkim_results(text):
    """(d, result) pairs of the dkim= resinfos of an A-R value."""
    out = []
    for part in text.split(";"):
        m = re.match(r"\s*dkim=(\w+)(.*)", part)
        if m:
            d = re.search(r"header\.d=([^\s;]+)", m.group(2))
            out.append((d.group(1) if d else "", m.group(1)))
    return out


def dns_lines(dns):
    out = []
    for name, value in dns.items():
        if value is None or value.startswith("NXDOMAIN"):
            continue            # not in the zone: NXDOMAIN
        if value.startswith("exists"):
            out.append(line("exists", esc(name)))
        else:
            out.append(line("txt", esc(name), esc(value)))
    return out


def case_lines(directory, data, case):
    out = [line("case", esc(case["name"]),
                esc(case.get("authserv_id", "example.com")),
                case.get("checks", "dkim+dmarc"))]
    for value in from_values(os.path.join(directory, case["message"])):
        out.append(line("from", esc(value)))
    expected = case["expected_ar"].split(":", 1)[1]
    prior = case.get("prior_dkim_results")
    for d, result in dkim_results(prior if prior else expected):
        out.append(line("dkim", esc(d), result))
    out += dns_lines(data["dns_txt"])
    if "expected_dmarc" in case:
        out.append(line("expect", case["expected_dmarc"],
                        esc(case.get("policy"))))
    out.append(line("ar", esc(case["expected_ar"])))
    out.append("end\n")
    return out


def authheaders_lines(directory):
    with open(os.path.join(directory, "cases.json"), encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for case in data["cases"]:
        out += case_lines(directory, data, case)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    top, output = sys.argv[1], sys.argv[2]
    lines = psl_lines(os.path.join(top, "psl", "test_psl.txt"))
    lines += opendmarc_lines(os.path.join(top, "opendmarc", "tables.json"))
    lines += authheaders_lines(os.path.join(top, "authheaders"))
    with open(output, "w", encoding="ascii") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
