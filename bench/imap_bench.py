"""mailkeep vs Dovecot over IMAP, side by side in one run (issue 3;
bench/README.md, "IMAP").

usage: imap_bench.py [--quick] MAILKEEP_BINARY WORK_DIR   (via bench/imap.sh)

Both servers get the same generated mailbox (bench/imap_corpus.py) by
pipelined APPEND (not timed), are restarted, and then each operation runs
against each in turn (ABBA order, BENCH_IMAP_REPEAT times; medians shown):
LOGIN+SELECT, UID FETCH 1:* (FLAGS ENVELOPE) (the first run after the
restart is reported on its own), BODY.PEEK[] of 500 messages, SEARCH TEXT
of a word in 1% of the messages and of an absent one, STORE +FLAGS and
-FLAGS on 1,000 messages. Last, 1,000 sessions are opened on each server,
logged in, INBOX selected and left in IDLE, and the growth of the
server's summed PSS is divided by the number of sessions.
"""
import asyncio
import datetime
import json
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time

from benchenv import env_int
from bench import build_options, fmt, make_cert
from imap_client import (Client, ImapError, close_idle, imap_date, open_idle,
                         uid_set)
from imap_corpus import ABSENT_WORD, MARK_WORD, Corpus
from imap_servers import PASSWORD, USER, Dovecot, Mailkeep
from servers import memory_of, process_name



QUICK = "--quick" in sys.argv[1:]
CFG = {
    "quick": QUICK,
    "messages": env_int("BENCH_IMAP_MESSAGES", 1000 if QUICK else 10000),
    "idle_connections": env_int("BENCH_IMAP_CONNS", 100 if QUICK else 1000),
    "repeat": env_int("BENCH_IMAP_REPEAT", 3 if QUICK else 5),
    "login_repeat": env_int("BENCH_IMAP_LOGINS", 10 if QUICK else 20),
    "op_timeout": env_int("BENCH_IMAP_OP_TIMEOUT", 300),
    "append_window": env_int("BENCH_IMAP_WINDOW", 32),
    "drop_caches": env_int("BENCH_IMAP_DROP_CACHES", 0),
}
# 500 bodies and 1,000 STOREs of 10,000 messages; scaled for other sizes.
CFG["body_count"] = max(1, min(500, CFG["messages"] * 500 // 10000))
CFG["store_count"] = max(1, min(1000, CFG["messages"] * 1000 // 10000))
SETTLE = 1.0            # seconds of quiet (after sync) before each op
IDLE_SETTLE = 3.0       # seconds before and after opening the idle sessions
SAMPLE = random.Random(7)


class Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP: unwind so that the servers are stopped."""


def on_signal(signum, frame):
    raise Stop(f"signal {signum}")


# --- operations: each returns (seconds, check) for one run ---

def session(server):
    c = Client(server.port, CFG["op_timeout"])
    c.login(USER, PASSWORD)
    r = c.command(b"SELECT INBOX", keep=True)
    return c, r


def op_login_select(server, ctx):
    t0 = time.perf_counter()
    c, r = session(server)
    dt = time.perf_counter() - t0
    c.logout()
    exists = [l for l in r.lines if l.endswith(b" EXISTS")]
    n = int(exists[0].split()[1]) if exists else -1
    return dt, n == ctx["corpus_n"] or f"SELECT: {n} EXISTS"


def op_fetch_envelope(server, ctx):
    c, _ = session(server)
    t0 = time.perf_counter()
    r = c.command(b"UID FETCH 1:* (FLAGS ENVELOPE)")
    dt = time.perf_counter() - t0
    c.logout()
    return dt, r.untagged == ctx["corpus_n"] or f"{r.untagged} FETCH lines"


def op_fetch_body(server, ctx):
    c, _ = session(server)
    t0 = time.perf_counter()
    r = c.command(b"UID FETCH " + uid_set(ctx["body_uids"]) + b" BODY.PEEK[]")
    dt = time.perf_counter() - t0
    c.logout()
    ok = r.literals == len(ctx["body_uids"]) and \
        r.literal_bytes == ctx["body_bytes"]
    return dt, ok or (f"{r.literals} literals, {r.literal_bytes} bytes, "
                      f"expected {len(ctx['body_uids'])}, {ctx['body_bytes']}")


def search(server, word, want):
    c, _ = session(server)
    t0 = time.perf_counter()
    r = c.command(b"UID SEARCH TEXT " + word.encode(), keep=True)
    dt = time.perf_counter() - t0
    c.logout()
    got = sorted(int(u) for l in r.lines if l.startswith(b"* SEARCH")
                 for u in l.split()[2:])
    return dt, got == want or (f"{len(got)} hits, expected {len(want)}"
                               f" (first: {got[:5]})")


def op_search_present(server, ctx):
    return search(server, MARK_WORD, ctx["marked"])


def op_search_absent(server, ctx):
    return search(server, ABSENT_WORD, [])


def store(server, ctx, sign):
    c, _ = session(server)
    cmd = b"UID STORE " + uid_set(ctx["store_uids"]) + sign + \
        b"FLAGS (\\Flagged)"
    t0 = time.perf_counter()
    r = c.command(cmd)
    dt = time.perf_counter() - t0
    c.logout()
    return dt, r.untagged >= len(ctx["store_uids"]) or \
        f"{r.untagged} FETCH lines for {len(ctx['store_uids'])} messages"


def op_store_add(server, ctx):
    return store(server, ctx, b" +")


def op_store_remove(server, ctx):
    return store(server, ctx, b" -")


# (key, label, function, runs per repetition)
def operations(ctx):
    n = ctx["corpus_n"]
    return [
        ("login_select", "LOGIN + SELECT INBOX", op_login_select,
         CFG["login_repeat"]),
        ("fetch_envelope", f"UID FETCH 1:* (FLAGS ENVELOPE), {n} msgs",
         op_fetch_envelope, 1),
        ("fetch_body", f"UID FETCH {CFG['body_count']} x BODY.PEEK[]",
         op_fetch_body, 1),
        ("search_present", f"UID SEARCH TEXT, {len(ctx['marked'])} hits",
         op_search_present, 1),
        ("search_absent", "UID SEARCH TEXT, no hit", op_search_absent, 1),
        ("store_add", f"UID STORE {CFG['store_count']} +FLAGS (\\Flagged)",
         op_store_add, 1),
        ("store_remove", f"UID STORE {CFG['store_count']} -FLAGS (\\Flagged)",
         op_store_remove, 1),
    ]


def run_op(fn, server, ctx, runs):
    """runs measurements of one operation: (seconds list, error or None)."""
    times = []
    try:
        for _ in range(runs):
            c0 = time.process_time()
            dt, check = fn(server, ctx)
            ctx["client_cpu"] += time.process_time() - c0
            if check is not True:
                return times, f"wrong answer: {check}"
            times.append(dt)
    except (OSError, ImapError) as e:
        return times, f"{type(e).__name__}: {e}"
    return times, None


def quiet():
    os.sync()
    time.sleep(SETTLE)


# --- load, restart, idle sessions ---

def load(server, corpus):
    """APPEND the corpus to INBOX over one connection (UIDs in corpus
    order), then check the count. Returns seconds (not a measurement)."""
    t0 = time.monotonic()
    c = Client(server.port, CFG["op_timeout"])
    c.login(USER, PASSWORD)
    if b"LITERAL+" not in c.capabilities():
        raise RuntimeError(f"{server.name}: no LITERAL+ (needed to load)")
    flags = [f.encode() for f in corpus.flags]
    dates = [imap_date(d) for d in corpus.dates]
    c.append_many(b"INBOX", corpus.messages, flags, dates,
                  CFG["append_window"],
                  lambda n: print(f"bench: {server.name}: {n} appended",
                                  flush=True))
    r = c.command(b"SELECT INBOX", keep=True)
    c.logout()
    exists = [l for l in r.lines if l.endswith(b" EXISTS")]
    if not exists or int(exists[0].split()[1]) != len(corpus.messages):
        raise RuntimeError(f"{server.name}: after loading: {exists}")
    return time.monotonic() - t0


def load_all(servers, corpus):
    """Both loads at once (threads): the load is not measured."""
    out, errors = {}, {}

    def one(s):
        try:
            out[s.name] = round(load(s, corpus), 1)
        except Exception as e:      # reported below, in the main thread
            errors[s.name] = e

    threads = [threading.Thread(target=one, args=(s,), daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)         # wakes up for signals
    if errors:
        raise RuntimeError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    return out


def drop_caches():
    """BENCH_IMAP_DROP_CACHES=1: empty the page cache (whole machine)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def memory_by_name(server):
    """{process name: {count, rss, pss, uss}} over the server's tree."""
    groups = {}
    for pid in server.pids():
        one, name = memory_of(pid), process_name(pid)
        if not one or not name:
            continue
        g = groups.setdefault(name, {"count": 0, "rss": 0, "pss": 0, "uss": 0})
        g["count"] += 1
        for k in ("rss", "pss", "uss"):
            g[k] += one[k]
    return groups


def totals(groups):
    return {k: sum(g[k] for g in groups.values())
            for k in ("count", "rss", "pss", "uss")}


def idle_sessions(server, n):
    """Memory growth with n IDLE sessions; the sessions are closed again."""
    quiet()
    time.sleep(IDLE_SETTLE)
    before = memory_by_name(server)
    t0 = time.monotonic()
    loop = asyncio.new_event_loop()
    try:
        conns, errors = loop.run_until_complete(
            open_idle(server.port, USER, PASSWORD, n,
                      timeout=CFG["op_timeout"]))
        opened = time.monotonic() - t0
        time.sleep(IDLE_SETTLE)
        after = memory_by_name(server)
        loop.run_until_complete(close_idle(conns))
    finally:
        loop.close()
    b, a = totals(before), totals(after)
    ok = len(conns)
    res = {"sessions": ok, "wanted": n, "errors": errors[:20],
           "error_count": len(errors), "open_seconds": round(opened, 2),
           "before": before, "after": after}
    for k in ("rss", "pss", "uss"):
        res[f"{k}_kib_per_session"] = round((a[k] - b[k]) / ok, 1) if ok else None
    res["processes_before"], res["processes_after"] = b["count"], a["count"]
    time.sleep(IDLE_SETTLE)     # let the server wind the sessions down
    return res


# --- the run ---

def context(corpus):
    n = len(corpus.messages)
    body = sorted(SAMPLE.sample(range(1, n + 1), CFG["body_count"]))
    st = sorted(SAMPLE.sample(range(1, n + 1), CFG["store_count"]))
    return {"corpus_n": n, "marked": corpus.marked, "body_uids": body,
            "body_bytes": corpus.total_bytes(body), "store_uids": st,
            "client_cpu": 0.0}


def run_all(servers, corpus, result):
    ctx = context(corpus)
    result["corpus"] = {
        "messages": ctx["corpus_n"], "bytes": corpus.total_bytes(),
        "search_word": MARK_WORD, "search_hits": len(ctx["marked"]),
        "absent_word": ABSENT_WORD, "body_uids": len(ctx["body_uids"]),
        "body_bytes": ctx["body_bytes"], "store_uids": len(ctx["store_uids"])}
    print(f"bench: loading {ctx['corpus_n']} messages "
          f"({corpus.total_bytes() / 2**20:.0f} MiB) into both by APPEND",
          flush=True)
    result["load_seconds"] = load_all(servers, corpus)
    print(f"bench: loaded in {result['load_seconds']} s (not measured); "
          "restarting both", flush=True)
    for s in servers:
        s.restart()
    if CFG["drop_caches"]:
        drop_caches()
    ops = operations(ctx)
    res = {key: {"label": label, **{s.name: [] for s in servers},
                 "errors": {}} for key, label, _, _ in ops}
    res["fetch_envelope_first"] = {
        "label": "UID FETCH 1:* (FLAGS ENVELOPE), first after start",
        "errors": {}}
    res["login_select_first"] = {"label": "LOGIN + SELECT, first after start",
                                 "errors": {}}
    for s in servers:
        quiet()
        for key, fn in (("login_select_first", op_login_select),
                        ("fetch_envelope_first", op_fetch_envelope)):
            t, err = run_op(fn, s, ctx, 1)
            res[key][s.name] = t
            if err:
                res[key]["errors"][s.name] = err
        print(f"bench: first after start, {s.name}: LOGIN+SELECT "
              f"{fmt_ms(res['login_select_first'][s.name])}, FETCH ENVELOPE "
              f"{fmt_ms(res['fetch_envelope_first'][s.name])}", flush=True)
    i = 0
    for rep in range(CFG["repeat"]):
        for key, label, fn, runs in ops:
            for s in (servers if i % 2 == 0 else servers[::-1]):
                if res[key]["errors"].get(s.name):
                    continue
                quiet()
                t, err = run_op(fn, s, ctx, runs)
                res[key][s.name] += t
                if err:
                    res[key]["errors"][s.name] = err
                print(f"bench: run {rep + 1}/{CFG['repeat']} {label:<44} "
                      f"{s.name:<9} {fmt_ms(t)}"
                      + (f"  FAILED: {err[:300]}" if err else ""), flush=True)
            i += 1
    result["operations"] = summarize(res, servers)
    result["client_cpu_seconds"] = round(ctx["client_cpu"], 2)
    # Idle sessions on freshly started servers, after one session has
    # opened the mailbox: the baseline holds what every session shares,
    # and no heap left over from the operations above hides the growth.
    for s in servers:
        s.restart()
    result["idle"] = {}
    for s in servers:
        run_op(op_login_select, s, ctx, 1)
        print(f"bench: {s.name}: opening {CFG['idle_connections']} IDLE "
              "sessions", flush=True)
        result["idle"][s.name] = idle_sessions(s, CFG["idle_connections"])
        r = result["idle"][s.name]
        print(f"bench: {s.name}: {r['sessions']} sessions in "
              f"{r['open_seconds']} s, {fmt(r['pss_kib_per_session'], 0, '.1f')}"
              " KiB PSS each" + (f", {r['error_count']} failed: "
                                 f"{r['errors'][:1]}" if r["errors"] else ""),
              flush=True)
    for s in servers:
        result["log_problems"][s.name] = s.problems()[:50]
        if isinstance(s, Dovecot):
            result["idle"][s.name]["inotify_fallbacks"] = s.inotify_fallbacks()


def fmt_ms(times):
    if not times:
        return "-"
    return f"{statistics.median(times) * 1000:.1f} ms" + \
        (f" (median of {len(times)})" if len(times) > 1 else "")


def summarize(res, servers):
    """Median seconds per server, all runs kept, ratio dovecot/mailkeep."""
    out = {}
    for key, r in res.items():
        row = {"label": r["label"], "errors": r["errors"]}
        for s in servers:
            runs = r.get(s.name, [])
            ok = bool(runs) and s.name not in r["errors"]
            row[s.name] = {
                "ok": ok, "runs_s": [round(x, 5) for x in runs],
                "median_ms": round(statistics.median(runs) * 1000, 2)
                if ok else None,
                "range_ms": [round(min(runs) * 1000, 2),
                             round(max(runs) * 1000, 2)] if ok else None}
        mk, dc = row["mailkeep"]["median_ms"], row["dovecot"]["median_ms"]
        row["ratio"] = round(dc / mk, 2) if mk and dc else None
        out[key] = row
    return out


ORDER = ("login_select_first", "login_select", "fetch_envelope_first",
         "fetch_envelope", "fetch_body", "search_present", "search_absent",
         "store_add", "store_remove")


def print_tables(result):
    ops = result["operations"]
    print()
    print(f"IMAP, milliseconds, median of {CFG['repeat']} runs "
          f"({CFG['login_repeat']} per run for LOGIN+SELECT); "
          "ratio = Dovecot / mailkeep (> 1: mailkeep faster)")
    print(f"{'operation':<50}{'mailkeep':>10}{'dovecot':>10}{'ratio':>8}")
    for key in ORDER:
        if key not in ops:
            continue
        r = ops[key]
        print(f"{r['label']:<50}{fmt(r['mailkeep']['median_ms'], 10, '.1f')}"
              f"{fmt(r['dovecot']['median_ms'], 10, '.1f')}"
              f"{fmt(r['ratio'], 8, '.2f')}")
        for name, err in r["errors"].items():
            print(f"    {name} FAILED: {err[:200]}")
    idle = result.get("idle", {})
    if idle:
        mk, dc = idle.get("mailkeep", {}), idle.get("dovecot", {})
        print()
        print(f"{CFG['idle_connections']} sessions logged in, INBOX selected, "
              "in IDLE: growth of the server's summed memory per session, KiB")
        print(f"{'':<50}{'mailkeep':>10}{'dovecot':>10}{'ratio':>8}")
        for k in ("pss", "rss", "uss"):
            a, b = mk.get(f"{k}_kib_per_session"), dc.get(f"{k}_kib_per_session")
            print(f"{k.upper() + ' per session':<50}{fmt(a, 10, '.1f')}"
                  f"{fmt(b, 10, '.1f')}"
                  f"{fmt(round(b / a, 2) if a and b else None, 8, '.2f')}")
        if dc.get("inotify_fallbacks"):
            print(f"  dovecot: {dc['inotify_fallbacks']} sessions polled instead "
                  "of inotify (fs.inotify.max_user_instances reached)")
        for name in ("mailkeep", "dovecot"):
            r = idle.get(name)
            if not r:
                continue
            grew = []
            for p, g in r["after"].items():
                b = r["before"].get(p, {"count": 0, "pss": 0})
                grew.append((g["pss"] - b["pss"], p, b["count"], g["count"]))
            parts = [f"{p} x{c0}->{c1} {d:+d}" for d, p, c0, c1 in
                     sorted(grew, reverse=True)[:5]]
            print(f"  {name}: processes {r['processes_before']} -> "
                  f"{r['processes_after']}; PSS growth KiB by process: "
                  + "; ".join(parts))
    print()
    print("issue 3 targets")
    for key in ORDER[1:]:
        if key in ops:
            r = ops[key]["ratio"]
            verdict = "met" if r is not None and r >= 1 else "NOT met"
            print(f"  at least as fast as Dovecot: {ops[key]['label']:<48}"
                  f"{fmt(r, 6, '.2f')}x  {verdict}")
    pss = idle.get("mailkeep", {}).get("pss_kib_per_session")
    verdict = "met" if pss is not None and pss <= 50 else "NOT met"
    print(f"  <= 50 KiB per idle session (PSS): {fmt(pss, 0, '.1f')} KiB  "
          f"{verdict}")


def environment(work, mk, dc):
    fs = subprocess.run(["df", "--output=fstype,source", work],
                        capture_output=True, text=True).stdout.split()[2:]
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                          "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(), "work_dir": work,
            "filesystem": " on ".join(fs), "mailkeep": mk.version(),
            "mailkeep_git": git, "mailkeep_build": build_options(mk.bin),
            "mailkeep_account": mk.account_via, "dovecot": dc.version(),
            "dovecot_config_warnings": dc.warnings, "config": CFG}


def raise_nofile():
    """Enough descriptors for the idle sessions (inherited by mailkeep)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CFG["idle_connections"] * 2 + 1024
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if new < want and os.geteuid() == 0:
            new = hard = want
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def write_json(result):
    out = os.environ.get("BENCH_OUT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "out")
    os.makedirs(out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(out, f"imap-{'quick-' if QUICK else ''}{stamp}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    return path


def start_servers(work, binary):
    conns = CFG["idle_connections"]
    dc = Dovecot(work, conns)
    mk = Mailkeep(work, binary, *make_cert(work), conns)
    dc.setup()
    mk.setup(dc.passwd)
    servers = [mk, dc]
    for s in servers:
        s.start()
    return servers


def main():
    args = [a for a in sys.argv[1:] if a != "--quick"]
    if len(args) != 2:
        sys.exit("usage: imap_bench.py [--quick] MAILKEEP_BINARY WORK_DIR")
    binary, work = args
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    servers, failed = [], True
    result = {"operations": {}, "log_problems": {}}
    try:
        nofile = raise_nofile()
        if nofile < CFG["idle_connections"] + 100:
            raise RuntimeError(f"RLIMIT_NOFILE {nofile} is too low for "
                               f"{CFG['idle_connections']} sessions")
        t0 = time.monotonic()
        corpus = Corpus(CFG["messages"])
        print(f"bench: generated {len(corpus.messages)} messages in "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        servers = start_servers(work, binary)
        result["environment"] = env = environment(work, *servers)
        print(f"bench: {env['mailkeep']} ({env['mailkeep_build'].get('buildtype', '?')}"
              f" build) vs {env['dovecot']}; {env['cpus']} CPUs, "
              f"{env['filesystem']}; account by {env['mailkeep_account']}",
              flush=True)
        build = env["mailkeep_build"]
        if build and (build.get("optimization") in ("0", "g", "plain") or
                      build.get("b_sanitize") not in (None, "none")):
            print(f"bench: WARNING: mailkeep is an unoptimized or sanitizer "
                  f"build ({build}); use --buildtype=release", flush=True)
        load = env["loadavg_at_start"][0]
        if load > 0.5 * (env["cpus"] or 1):
            print(f"bench: WARNING: load average {load:.2f} at start: other "
                  "work on this machine skews the numbers", flush=True)
        for w in servers[1].warnings:
            print(f"bench: dovecot config: {w}", flush=True)
        run_all(servers, corpus, result)
        result["environment"]["loadavg_at_end"] = os.getloadavg()
        failed = any(r["errors"] for r in result["operations"].values()) or \
            any(r["error_count"] for r in result["idle"].values())
    except Stop as e:
        print(f"bench: interrupted ({e})", file=sys.stderr)
    except Exception as e:      # report, then still stop the servers
        print(f"bench: error: {type(e).__name__}: {e}", file=sys.stderr)
        for s in servers:
            print(f"--- {s.name} log tail:\n{s.log_tail()}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for s in servers:
            s.stop()
    if result["operations"]:
        print_tables(result)
        for name, lines in result["log_problems"].items():
            if lines:
                print(f"\n{name}: {len(lines)} warning/error log lines, "
                      f"first: {lines[0]}")
        print(f"\nbench: results in {write_json(result)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
