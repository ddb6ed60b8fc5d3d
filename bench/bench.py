"""mailkeep vs Postfix, side by side in one run (issue 2; bench/README.md).

usage: bench.py MAILKEEP_BINARY WORK_DIR   (normally via bench/run.sh)

For each point (sessions x message size) smtp-source sends COUNT messages
to each server in turn; we time how long until smtp-source has had its
last 250 ("accepted") and until the last message file is in the Maildir
("delivered"), and sample the memory of all the server's processes every
100 ms. Idle memory is taken after start and again after the load.
"""
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time

from benchenv import env_int, env_ints
import memfloor
from servers import (RCPT, Mailkeep, Postfix, count_files, list_files,
                     memory_kib, memory_of, process_name)

SMTP_SOURCE = "/usr/sbin/smtp-source"
SAMPLE_INTERVAL = 0.1     # seconds between memory samples (issue: 100 ms)
POLL_INTERVAL = 0.01      # seconds between Maildir counts while delivering
SETTLE = 1.0              # seconds of quiet (after sync) before each run
QUIET_INTERVAL = 1.0      # wait_quiet(): sampling interval, seconds
QUIET_TIMEOUT = 120.0     # wait_quiet(): longest wait, seconds
IDLE_SETTLE = 3.0         # seconds after start before the idle sample




CFG = {
    "sessions": env_ints("BENCH_SESSIONS", [1, 8, 32]),
    "sizes": env_ints("BENCH_SIZES", [4096, 102400]),
    "count_small": env_int("BENCH_SMALL_COUNT", 2000),   # sizes < 64 KiB
    "count_large": env_int("BENCH_LARGE_COUNT", 2000),   # sizes >= 64 KiB
    "warmup": env_int("BENCH_WARMUP", 200),
    "repeat": env_int("BENCH_REPEAT", 3),      # runs per point; median shown
    "reuse": env_int("BENCH_REUSE", 0),        # 1: smtp-source -d
    "accept_timeout": env_int("BENCH_ACCEPT_TIMEOUT", 300),
    "deliver_timeout": env_int("BENCH_DELIVER_TIMEOUT", 120),
}


class Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP: unwind so that the servers are stopped."""


def on_signal(signum, frame):
    raise Stop(f"signal {signum}")


class Sampler(threading.Thread):
    """Peak of the summed RSS, PSS and USS of a server's processes."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.halt = threading.Event()
        self.peak = {"rss": 0, "pss": 0, "uss": 0, "procs": 0}
        self.samples = 0

    def run(self):
        while not self.halt.is_set():
            pids = self.server.pids()
            mem = memory_kib(pids)
            mem["procs"] = len(pids)
            for k, v in mem.items():
                self.peak[k] = max(self.peak[k], v)
            self.samples += 1
            self.halt.wait(SAMPLE_INTERVAL)

    def finish(self):
        self.halt.set()
        self.join()


def idle_memory(server):
    """Totals and a per-process breakdown of an idle server."""
    pids = server.pids()
    mem = memory_kib(pids)
    procs = []
    for pid in pids:
        one, name = memory_of(pid), process_name(pid)
        if one and name:
            procs.append(dict(name=name, **one))
    return {"rss_kib": mem["rss"], "pss_kib": mem["pss"],
            "uss_kib": mem["uss"], "processes": len(pids), "per_process": procs}


def smtp_source(server, sessions, size, count):
    args = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", "sender@client.test", "-t", RCPT, "-M", "client.test"]
    if CFG["reuse"]:
        args.append("-d")
    return args + [f"127.0.0.1:{server.port}"]


def wait_delivered(server, target):
    deadline = time.monotonic() + CFG["deliver_timeout"]
    n = count_files(server.maildir)
    while n < target and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        n = count_files(server.maildir)
    return n


def cpu_seconds(pids):
    """User + system CPU time of the processes that are still there."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / tick


def wait_quiet(server):
    """Wait until the server's processes use under 5% of a CPU (work a
    server does after delivering, such as mailkeep's full-text indexing,
    must not run into the next measurement of either server); returns the
    CPU seconds they used meanwhile. At most QUIET_TIMEOUT seconds."""
    deadline = time.monotonic() + QUIET_TIMEOUT
    start = last = cpu_seconds(server.pids())
    while time.monotonic() < deadline:
        time.sleep(QUIET_INTERVAL)
        now = cpu_seconds(server.pids())
        if now - last < 0.05 * QUIET_INTERVAL:
            break
        last = now
    return max(last - start, 0.0)


def last_mtime(paths):
    latest = 0.0
    for p in paths:
        try:
            latest = max(latest, os.stat(p).st_mtime)
        except FileNotFoundError:
            pass
    return latest


def run_point(server, sessions, size, count):
    """One measured run; returns its result dict."""
    os.sync()
    time.sleep(SETTLE)
    before = list_files(server.maildir)
    sampler = Sampler(server)
    sampler.start()
    wall0, t0 = time.time(), time.monotonic()
    proc = subprocess.Popen(smtp_source(server, sessions, size, count),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, err = proc.communicate(timeout=CFG["accept_timeout"])
        accepted = time.monotonic() - t0
        # after a refusal fewer files come: do not wait for them
        n = wait_delivered(server, len(before) + count) \
            if proc.returncode == 0 else count_files(server.maildir)
        polled = time.monotonic() - t0
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        err = f"smtp-source timed out after {CFG['accept_timeout']} s; " + err
        accepted = polled = time.monotonic() - t0
        n = count_files(server.maildir)
    finally:
        if proc.poll() is None:     # interrupted: our smtp-source goes too
            proc.kill()
            proc.wait()
        sampler.finish()
    after_cpu = wait_quiet(server)
    new = list_files(server.maildir) - before
    # The newest file's mtime is when the last message landed, independent
    # of the polling interval.
    delivered = last_mtime(new) - wall0 if new else polled
    ok = proc.returncode == 0 and len(new) == count
    res = {
        "ok": ok, "messages": count, "delivered_files": len(new),
        "accept_seconds": round(accepted, 3),
        "deliver_seconds": round(max(delivered, 0.0), 3),
        "poll_seconds": round(polled, 3),
        "accepted_per_s": round(count / accepted, 1) if ok else None,
        "delivered_per_s": round(count / max(delivered, 1e-3), 1) if ok else None,
        "peak_rss_kib": sampler.peak["rss"], "peak_pss_kib": sampler.peak["pss"],
        "peak_uss_kib": sampler.peak["uss"],
        "peak_processes": sampler.peak["procs"], "samples": sampler.samples,
        # CPU the server still used after the run (wait_quiet)
        "after_cpu_seconds": round(after_cpu, 2),
    }
    if not ok:
        res["error"] = (err or "").strip()[-2000:] or \
            f"{len(new)} of {count} messages in the Maildir (files now: {n})"
    return res


def label(sessions, size):
    return f"{sessions:>2} x {size // 1024} KiB"


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def fmt(v, width, spec=".0f"):
    return f"{v:{width}{spec}}" if isinstance(v, (int, float)) else f"{'-':>{width}}"


def print_throughput(points):
    print()
    print(f"throughput, messages/s, median of {CFG['repeat']} runs (accepted = "
          "last 250 seen by smtp-source; delivered = last file in the Maildir)")
    print(f"{'point':<14}{'mailkeep':>22}{'postfix':>22}{'ratio mk/pf':>18}")
    print(f"{'':<14}{'accepted':>11}{'delivered':>11}{'accepted':>11}"
          f"{'delivered':>11}{'acc':>9}{'del':>9}")
    for p in points:
        mk, pf = p["mailkeep"], p["postfix"]
        print(f"{p['point']:<14}"
              f"{fmt(mk['accepted_per_s'], 11)}{fmt(mk['delivered_per_s'], 11)}"
              f"{fmt(pf['accepted_per_s'], 11)}{fmt(pf['delivered_per_s'], 11)}"
              f"{fmt(p['ratio_accepted'], 9, '.2f')}"
              f"{fmt(p['ratio_delivered'], 9, '.2f')}")


def print_memory(mem):
    print()
    print("memory, KiB summed over all processes of each server (RSS counts "
          "shared library pages once per process, PSS splits them between "
          "processes, USS = private pages only)")
    print(f"{'':<34}{'mailkeep':>10}{'postfix':>10}{'ratio':>8}")
    for row in mem:
        print(f"{row['what']:<34}{fmt(row['mailkeep'], 10)}"
              f"{fmt(row['postfix'], 10)}{fmt(row['ratio'], 8, '.2f')}")


def memory_rows(result):
    rows = []

    def add(what, key, mk, pf):
        rows.append({"what": what, "mailkeep": mk.get(key),
                     "postfix": pf.get(key),
                     "ratio": ratio(mk.get(key), pf.get(key))})

    for when in ("idle_after_start", "idle_after_load"):
        mk, pf = result["memory"][when]["mailkeep"], result["memory"][when]["postfix"]
        for key in ("rss", "pss", "uss"):
            add(f"{when.replace('_', ' ')}: {key.upper()}", key + "_kib", mk, pf)
        add(f"{when.replace('_', ' ')}: processes", "processes", mk, pf)
    for p in result["points"]:
        if p["sessions"] == max(CFG["sessions"]):
            what = f"peak during {p['point'].strip()}"
            for key in ("rss", "pss", "uss"):
                add(f"{what}: {key.upper()}", f"peak_{key}_kib",
                    p["mailkeep"], p["postfix"])
            add(f"{what}: procs", "peak_processes", p["mailkeep"], p["postfix"])
    return rows


def print_breakdown(result):
    """Per process (grouped by name): count x, RSS and USS in KiB."""
    print()
    print("per process, idle (name xcount RSS/USS KiB)")
    for when in ("idle_after_start", "idle_after_load"):
        for name in ("mailkeep", "postfix"):
            groups = {}
            for p in result["memory"][when][name]["per_process"]:
                g = groups.setdefault(p["name"], [0, 0, 0])
                g[0] += 1
                g[1] += p["rss"]
                g[2] += p["uss"]
            parts = [f"{n} x{c} {r}/{u}" for n, (c, r, u) in
                     sorted(groups.items(), key=lambda kv: -kv[1][2])]
            print(f"  {when.replace('_', ' ')}, {name}: " + "; ".join(parts))


def print_targets(result):
    print()
    print("issue 2 targets")
    top = max(CFG["sessions"])
    for p in result["points"]:
        if p["sessions"] == top:
            for kind in ("accepted", "delivered"):
                r = p["ratio_" + kind]
                verdict = "met" if r is not None and r >= 2 else "NOT met"
                print(f"  >= 2x Postfix at {top} sessions, {p['size'] // 1024} KiB"
                      f" ({kind}): {fmt(r, 0, '.2f')}x  {verdict}")
    idle = result["memory"]["idle_after_start"]["mailkeep"]["rss_kib"]
    verdict = "met" if idle < 10 * 1024 else "NOT met"
    print(f"  all mailkeep processes < 10 MB RSS idle: {idle / 1024:.1f} MB "
          f"(PSS {result['memory']['idle_after_start']['mailkeep']['pss_kib'] / 1024:.1f} MB)"
          f"  {verdict}")
    fl = result["memory"].get("floor", {})
    if "error" in fl:
        print(f"  floor: not measured ({fl['error']})")
    elif fl:
        parts = [f"{n} {m['rss']}" for n, m in fl["per_program"].items()]
        print(f"  floor: programs linked with the same libraries that only "
              f"pause(): {fl['rss_kib'] / 1024:.1f} MB summed RSS over the "
              f"same processes (KiB: {', '.join(parts)})")


def build_options(binary):
    """buildtype/optimization/sanitizers of the meson build holding binary."""
    info = os.path.join(os.path.dirname(os.path.abspath(binary)), "meson-info",
                        "intro-buildoptions.json")
    try:
        with open(info) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {k: opts.get(k) for k in ("buildtype", "optimization", "b_sanitize")}


def environment(work, mk, pf):
    fs = subprocess.run(["df", "--output=fstype,source", work],
                        capture_output=True, text=True).stdout.split()[2:]
    if fs and fs[0] == "ext4":
        # a journal-less ext4 fsyncs differently and scans recently
        # deleted inodes on every file creation: worth knowing
        task = f"/sys/fs/ext4/{os.path.basename(fs[1])}/journal_task"
        try:
            with open(task) as f:
                task = f.read().strip()
            fs[0] += " (NO journal)" if task in ("", "<none>") else " (journal)"
        except OSError:
            pass
    fs = " on ".join(fs)
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
            "loadavg_at_start": os.getloadavg(),
            "work_dir": work, "filesystem": fs, "mailkeep": mk.version(),
            "mailkeep_git": git, "mailkeep_build": build_options(mk.bin),
            "postfix": pf.version(), "config": CFG}


def make_cert(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "2", "-subj", "/CN=mailkeep.bench.test",
                    "-keyout", key, "-out", cert], check=True,
                   capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def start_servers(work, binary):
    mk = Mailkeep(work, binary, *make_cert(work))
    pf = Postfix(work)
    servers = [mk, pf]
    for s in servers:
        s.setup()
    mk.start()
    with open(os.path.join(work, "mailkeep.pid"), "w") as f:
        f.write(f"{mk.proc.pid}\n")     # for run.sh's safety-net trap
    pf.start()
    return servers


def run_all(servers, result):
    time.sleep(IDLE_SETTLE)
    result["memory"] = {"idle_after_start": {s.name: idle_memory(s)
                                             for s in servers}}
    mk = servers[0]
    names = [p["name"] for p in
             result["memory"]["idle_after_start"][mk.name]["per_process"]]
    result["memory"]["floor"] = memfloor.floor(os.path.dirname(mk.bin), names)
    for s in servers:
        print(f"bench: warm-up {s.name} ({CFG['warmup']} messages)", flush=True)
        w = run_point(s, 8, 4096, CFG["warmup"])
        if not w["ok"]:
            raise RuntimeError(f"warm-up of {s.name} failed: {w['error']}")
    points = [{"point": label(n, size), "sessions": n, "size": size,
               "messages": CFG["count_small"] if size < 65536
               else CFG["count_large"], "mailkeep": [], "postfix": []}
              for size in CFG["sizes"] for n in CFG["sessions"]]
    i = 0
    # Repetitions outermost, so that a burst of outside load hits one run
    # of a point, not all of them; the median is reported.
    for rep in range(CFG["repeat"]):
        for point in points:
            # ABBA order, so that neither server always runs second
            for s in (servers if i % 2 == 0 else servers[::-1]):
                run_one(point, s, rep)
            i += 1
    result["points"] = [summarize(p) for p in points]
    time.sleep(IDLE_SETTLE)
    result["memory"]["idle_after_load"] = {s.name: idle_memory(s)
                                           for s in servers}
    for s in servers:
        result["log_problems"][s.name] = s.problems()[:50]


def run_one(point, server, rep):
    print(f"bench: run {rep + 1}/{CFG['repeat']} {point['point']:<12} "
          f"{server.name:<9} {point['messages']} msgs", end="", flush=True)
    r = run_point(server, point["sessions"], point["size"], point["messages"])
    point[server.name].append(r)
    print(f"  {fmt(r['accepted_per_s'], 7)} acc/s "
          f"{fmt(r['delivered_per_s'], 7)} del/s"
          f"  {r['after_cpu_seconds']:5.2f} s CPU after"
          + ("" if r["ok"] else "  FAILED: " + r["error"][:300]), flush=True)


def summarize(point):
    """Medians over the runs of a point (None if any run failed)."""
    for name in ("mailkeep", "postfix"):
        runs = point[name]
        ok = all(r["ok"] for r in runs)
        point[name] = {"ok": ok, "runs": runs}
        for key in ("accepted_per_s", "delivered_per_s"):
            vals = [r[key] for r in runs]
            point[name][key] = statistics.median(vals) if ok else None
            point[name][key + "_range"] = [min(vals), max(vals)] if ok else None
        for key in ("peak_rss_kib", "peak_pss_kib", "peak_uss_kib",
                    "peak_processes"):
            point[name][key] = max(r[key] for r in runs)
    for kind in ("accepted", "delivered"):
        point["ratio_" + kind] = ratio(point["mailkeep"][kind + "_per_s"],
                                       point["postfix"][kind + "_per_s"])
    return point


def write_json(result):
    out = os.environ.get("BENCH_OUT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "out")
    os.makedirs(out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(out, f"bench-{stamp}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return path


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench.py MAILKEEP_BINARY WORK_DIR")
    binary, work = sys.argv[1], sys.argv[2]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    servers = []
    result = {"points": [], "log_problems": {}}
    failed = True
    try:
        servers = start_servers(work, binary)
        result["environment"] = environment(work, *servers)
        env = result["environment"]
        print(f"bench: {env['mailkeep']} "
              f"({env['mailkeep_build'].get('buildtype', '?')} build) vs "
              f"{env['postfix']}; {env['cpus']} CPUs, {env['filesystem']} "
              f"at {work}", flush=True)
        if env["filesystem"].split()[0] in ("tmpfs", "ramfs"):
            print("bench: WARNING: work dir on tmpfs: fsync costs nothing here; "
                  "set BENCH_TMPDIR to a disk", flush=True)
        build = env["mailkeep_build"]
        if build and (build.get("optimization") in ("0", "g", "plain") or
                      build.get("b_sanitize") not in (None, "none")):
            print(f"bench: WARNING: mailkeep is an unoptimized or sanitizer "
                  f"build ({build}); use --buildtype=release", flush=True)
        load = env["loadavg_at_start"][0]
        if load > 0.5 * (env["cpus"] or 1):
            print(f"bench: WARNING: load average {load:.2f} at start: other "
                  "work on this machine skews the numbers", flush=True)
        run_all(servers, result)
        result["environment"]["loadavg_at_end"] = os.getloadavg()
        failed = not all(p[s]["ok"] for p in result["points"]
                         for s in ("mailkeep", "postfix"))
    except Stop as e:
        print(f"bench: interrupted ({e})", file=sys.stderr)
    except Exception as e:      # report, then still stop the servers
        print(f"bench: error: {e}", file=sys.stderr)
        for s in servers:
            print(f"--- {s.name} log tail:\n{s.log_tail()}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for s in servers:
            s.stop()
    if result["points"]:
        print_throughput(result["points"])
    if "idle_after_load" in result.get("memory", {}):
        rows = memory_rows(result)
        print_memory(rows)
        print_breakdown(result)
        print_targets(result)
        for name, lines in result["log_problems"].items():
            if lines:
                print(f"\n{name}: {len(lines)} warning/error log lines, first: "
                      f"{lines[0]}")
    if result["points"]:
        print(f"\nbench: results in {write_json(result)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
