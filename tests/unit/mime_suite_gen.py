#!/usr/bin/python3
"""Turn the MIME / IMAP conformance data (../shared/conformance/imap and
../shared/conformance/mime, README section 4) into line files that the C
unit tests read (tests/unit/suite_io.h).

Every line is one record: a keyword, then fields separated by one space.
A field is the UTF-8 bytes of a value with bytes outside 0x21-0x7e, '\\'
and '"' written as \\xNN; an empty field is "" and a null one is -.

  dovecot BODYSTRUCTURE.json ENVELOPE.json OUT
      bs MESSAGE BODY BODYSTRUCTURE        Dovecot parse_tests
      env MESSAGE ENVELOPE                 Dovecot envelope tests
  headers DIR OUT                          Stalwart mail-parser headers/
      ctype VALUE TYPE SUBTYPE [NAME VALUE]...   (TYPE - : not a type)
      unstructured VALUE EXPECTED
      address VALUE [NAME ADDRESS]...      groups flattened, "group:" GROUP
      date VALUE Y M D h m s ZONE_MINUTES  (Y - : not a date)
  eml DIR OUT                              Stalwart mail-parser eml/*/
      msg PATH CRLF                        PATH relative to DIR, CRLF 0|1
      part DEPTH KIND TYPE SUBTYPE HDR BODY END
          KIND: multipart, message, leaf; offsets from the .json
          (.crlf.json when CRLF is 1: the message with LF -> CRLF)

Usage: mime_suite_gen.py dovecot|headers|eml ARGS...
"""
import glob
import json
import os
import sys


def esc(value):
    if value is None:
        return "-"
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not data:
        return '""'
    out = []
    for b in data:
        if 0x21 <= b <= 0x7e and b not in (0x5c, 0x22):
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def line(*fields):
    return " ".join(esc(f) if not isinstance(f, int) else str(f)
                    for f in fields) + "\n"


def gen_dovecot(bs_path, env_path):
    out = []
    with open(bs_path, encoding="utf-8") as f:
        for t in json.load(f)["parse_tests"]:
            out.append(line("bs", t["message"], t["body"], t["bodystructure"]))
    with open(env_path, encoding="utf-8") as f:
        for t in json.load(f)["parse_tests"]:
            out.append(line("env", t["message"], t["envelope"]))
    return out


def gen_ctype(cases):
    out = []
    for t in cases:
        e = t["expected"]
        if e is None:
            out.append(line("ctype", t["header"], None, None))
            continue
        fields = ["ctype", t["header"], e["c_type"], e.get("c_subtype")]
        for name, value in (e.get("attributes") or []):
            fields += [name, value]
        out.append(line(*fields))
    return out


def flatten_addresses(e):
    """[(name, address)] with ("group:", NAME) before a group's members."""
    res = []
    if "List" in e:
        for a in e["List"]:
            res.append((a.get("name"), a.get("address")))
    elif "Group" in e:
        for g in e["Group"]:
            res.append(("group:", g.get("name")))
            for a in g.get("addresses") or []:
                res.append((a.get("name"), a.get("address")))
    return res


def gen_headers(d):
    out = []
    with open(os.path.join(d, "content_type.json"), encoding="utf-8") as f:
        out += gen_ctype(json.load(f))
    with open(os.path.join(d, "unstructured.json"), encoding="utf-8") as f:
        for t in json.load(f):
            out.append(line("unstructured", t["header"], t["expected"]))
    with open(os.path.join(d, "address.json"), encoding="utf-8") as f:
        for t in json.load(f):
            fields = ["address", t["header"]]
            for name, addr in flatten_addresses(t["expected"] or {}):
                fields += [name, addr]
            out.append(line(*fields))
    with open(os.path.join(d, "date.json"), encoding="utf-8") as f:
        for t in json.load(f):
            e = t["expected"]
            if e is None:
                out.append(line("date", t["header"], None))
                continue
            zone = (e["tz_hour"] * 60 + e["tz_minute"]) * \
                (-1 if e["tz_before_gmt"] else 1)
            out.append(line("date", t["header"], e["year"], e["month"],
                            e["day"], e["hour"], e["minute"], e["second"],
                            zone))
    return out


def part_type(part):
    for h in part["headers"]:
        if h["name"] == "content_type" and isinstance(h["value"], dict) \
                and "ContentType" in h["value"]:
            ct = h["value"]["ContentType"]
            return ct["c_type"], ct.get("c_subtype")
    return None, None


def walk(doc, idx, depth, out):
    part = doc["parts"][idx]
    body = part["body"]
    kind = "leaf"
    if isinstance(body, dict) and "Multipart" in body:
        kind = "multipart"
    elif isinstance(body, dict) and "Message" in body:
        kind = "message"
    ctype, csub = part_type(part)
    out.append(line("part", depth, kind, ctype, csub, part["offset_header"],
                    part["offset_body"], part["offset_end"]))
    if kind == "multipart":
        for child in body["Multipart"]:
            walk(doc, child, depth + 1, out)
    elif kind == "message":
        walk(body["Message"], 0, depth + 1, out)


def gen_eml(d):
    out = []
    for eml in sorted(glob.glob(os.path.join(d, "*", "*.eml"))):
        rel = os.path.relpath(eml, d)
        for crlf, suffix in ((0, ".json"), (1, ".crlf.json")):
            js = eml[:-4] + suffix
            if not os.path.exists(js):
                continue
            with open(js, encoding="utf-8") as f:
                doc = json.load(f)
            out.append(line("msg", rel, crlf))
            walk(doc, 0, 0, out)
    return out


def main(argv):
    if len(argv) == 5 and argv[1] == "dovecot":
        lines = gen_dovecot(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "headers":
        lines = gen_headers(argv[2])
    elif len(argv) == 4 and argv[1] == "eml":
        lines = gen_eml(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[-1], "w", encoding="ascii") as f:
        f.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
