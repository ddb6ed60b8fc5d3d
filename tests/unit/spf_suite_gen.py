#!/usr/bin/python3
"""Convert the openspf/pyspf SPF test suite (JSON form) into the line-based
file that tests/unit/spf_suite.c reads, applying the suite's DNS emulation
rules (../shared/conformance/README.md, section 1):

  - SPF records are served as TXT when the name has no TXT entry at all;
  - "NONE" means no records of that type;
  - a multi-string TXT/SPF value is one RR, its strings joined with no space;
  - TIMEOUT makes every type not listed before it fail temporarily, so
    records listed after a TIMEOUT are dropped here;
  - \\xNN escapes became code points U+00NN; they are written as UTF-8, as
    pyspf does.

Output lines (fields separated by one space; bytes outside 0x21-0x7e, '\\'
and '"' written as \\xNN; an empty field is ""):

  scenario DESCRIPTION
  node NAME                      the name exists (maybe with no records)
  rr NAME TYPE DATA              TYPE is TXT, A, AAAA, MX, PTR or CNAME
  timeout NAME                   other types of NAME time out
  test ID HOST MAILFROM HELO RESULT[,RESULT...] [EXPLANATION]

Usage: spf_suite_gen.py INPUT.json OUTPUT.txt
       spf_suite_gen.py --stalwart DIR OUTPUT.txt

The second form reads Stalwart's independent suite (DIR/*.yml, line-based
pseudo-YAML, README section 1): record lines (spf exp a aaaa ptr mx) set the
records of a name, replacing earlier ones, and may appear between tests;
domain (the HELO name), sender and ip carry over; each expect line is a
test, written with a snapshot of the records as its own scenario. Names
starting with "_dns_error" fail temporarily, as in Stalwart's resolver.
Seven of its 163 expectations differ from RFC 7208 (and from the RFC 7208
suite), so that run is a report only:
  all:1          "-all ip:10.0.0.1" -> fail; an unknown mechanism anywhere
                 is a permerror (§4.6; suite detect-errors-anywhere)
  basic:Limits:1 ten void "a:" lookups -> softfail; the void limit of 2
                 (§4.6.4) gives permerror
  basic:Limits:6 11 MX, match in the first 10 -> pass; more than 10 MX
                 records is a permerror (§4.6.4; suite mx-limit, pyspf)
  basic:HELO:1   checks the HELO identity although a sender is given; the
                 runner checks MAIL FROM whenever there is a sender
  exists:2, macro:2  "exists" matched an AAAA-only name; exists looks up A
                 even for IPv6 clients (§5.7; suite exists-ip6only)
  ip:IPv6:4      "ip6:::ffff:10.1.2.3" matched IPv4 10.1.2.3; IPv4-mapped
                 addresses are IPv4 and match ip4 only (§5; suite cidr6-ip4)
"""
import ipaddress
import json
import os
import re
import sys

TYPES = ("TXT", "A", "AAAA", "MX", "PTR", "CNAME")


def esc(value):
    """One field: the UTF-8 bytes of value, escaped."""
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


def txt_value(value):
    """An SPF/TXT value: one string, or a list of strings forming one RR."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


def rr_data(rtype, value):
    if rtype == "MX":
        pref, name = value
        return "%d %s" % (int(pref), name if name else ".")
    if rtype in ("TXT", "SPF"):
        return txt_value(value)
    return str(value)


def zone_lines(name, entries):
    """The node, rr and timeout lines of one zonedata name."""
    lines = ["node " + esc(name)]
    records = {t: [] for t in TYPES}
    spf = []
    has_txt_entry = False
    timed_out = False
    for entry in entries:
        if entry == "TIMEOUT":
            timed_out = True
            continue
        ((rtype, value),) = entry.items()
        if rtype == "TXT":
            has_txt_entry = True
        if timed_out or value == "NONE":
            continue
        if rtype == "SPF":
            spf.append(rr_data(rtype, value))
        elif rtype in records:
            records[rtype].append(rr_data(rtype, value))
        else:
            raise ValueError("%s: unknown record type %s" % (name, rtype))
    if not has_txt_entry:
        records["TXT"] = spf
    for rtype in TYPES:
        for data in records[rtype]:
            lines.append("rr %s %s %s" % (esc(name), rtype, esc(data)))
    if timed_out:
        lines.append("timeout " + esc(name))
    return lines


def test_line(test_id, test):
    results = test["result"]
    if not isinstance(results, list):
        results = [results]
    fields = ["test", esc(test_id), esc(str(test["host"])),
              esc(test.get("mailfrom", "")), esc(test.get("helo", "")),
              ",".join(results)]
    if "explanation" in test:
        fields.append(esc(test["explanation"]))
    return " ".join(fields)


def convert(scenarios):
    lines = []
    for scenario in scenarios:
        lines.append("scenario " + esc(scenario.get("description", "")))
        for name, entries in (scenario.get("zonedata") or {}).items():
            lines.extend(zone_lines(name, entries))
        for test_id, test in scenario["tests"].items():
            lines.append(test_line(test_id, test))
    return lines


def reverse_name(ip):
    return ipaddress.ip_address(ip).reverse_pointer


def stalwart_record(zone, key, value):
    """Apply one record line: zone maps (name, type) to a list of data."""
    name, _, rest = value.partition(" ")
    items = [v.strip() for v in rest.split(",") if v.strip()]
    if key in ("spf", "exp"):
        zone[(name.lower(), key)] = [("TXT", rest.strip())]
    elif key in ("a", "aaaa"):
        zone[(name.lower(), key)] = [(key.upper(), ip) for ip in items]
    elif key == "ptr":
        zone[(reverse_name(name), "ptr")] = [("PTR", n) for n in items]
    elif key == "mx":
        records = []
        for pos, ip in enumerate(items, 1):
            host = "mx.%s.%d" % (ip, pos)
            records.append(("MX", "%d %s" % (pos, host)))
            rtype = "AAAA" if ":" in ip else "A"
            zone[(host.lower(), "mxaddr")] = [(rtype, ip)]
        zone[(name.lower(), "mx")] = records


def stalwart_scenario(zone, errors, test_id, test):
    lines = ["scenario " + esc(test_id)]
    for name in sorted({name for name, _ in zone} | errors):
        lines.append("node " + esc(name))
        if name in errors:
            lines.append("timeout " + esc(name))
    for (name, _), records in sorted(zone.items()):
        for rtype, data in records:
            lines.append("rr %s %s %s" % (esc(name), rtype, esc(data)))
    lines.append(test_line(test_id, test))
    return lines


def stalwart_doc(fname, doc):
    lines, zone, count = [], {}, 0
    errors = {n.rstrip(".").lower() for n in re.findall(r"_dns_error[\w.-]*", doc)}
    test = {"helo": "", "mailfrom": "", "host": ""}
    title = ""
    for raw in doc.splitlines():
        line = raw.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "name":
            title = value
        elif key in ("spf", "exp", "a", "aaaa", "ptr", "mx"):
            stalwart_record(zone, key, value)
        elif key in ("domain", "sender", "ip"):
            test[{"domain": "helo", "sender": "mailfrom", "ip": "host"}[key]] = value
        elif key == "expect":
            result, _, explanation = value.partition(" ")
            case = dict(test, result=result)
            if explanation.strip():
                case["explanation"] = explanation.strip()
            count += 1
            test_id = "%s:%s:%d" % (fname, title.replace(" ", "_"), count)
            lines.extend(stalwart_scenario(zone, errors, test_id, case))
    return lines


def convert_stalwart(directory):
    lines = []
    for fname in sorted(os.listdir(directory)):
        if not fname.endswith(".yml"):
            continue
        with open(os.path.join(directory, fname), encoding="utf-8") as f:
            for doc in f.read().split("\n---"):
                lines.extend(stalwart_doc(fname[:-4], doc))
    return lines


def main(argv):
    if len(argv) == 4 and argv[1] == "--stalwart":
        lines = convert_stalwart(argv[2])
        argv = argv[1:]
    elif len(argv) == 3:
        with open(argv[1], encoding="utf-8") as f:
            lines = convert(json.load(f))
    else:
        sys.stderr.write("usage: spf_suite_gen.py INPUT.json OUTPUT.txt\n"
                         "       spf_suite_gen.py --stalwart DIR OUTPUT.txt\n")
        return 2
    with open(argv[2], "w", encoding="ascii") as f:
        f.write("# generated by spf_suite_gen.py from %s\n" % argv[1])
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
