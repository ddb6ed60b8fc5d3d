"""Outbound delivery: mailkeep vs Postfix to Postfix's smtp-sink, side by
side in one run (issue 5 "Benchmark"; bench/README.md, "Outbound").

usage: outbound.py [--quick] MAILKEEP_BINARY WORK_DIR  (via bench/outbound.sh)

Destinations d1.test .. d20.test each have their own smtp-sink on
127.0.0.(N+1):SINK_PORT. mailkeep finds them through MX records served by
a private Knot (tests/integration/dnsworld.py) and `[outbound] port =
SINK_PORT`; Postfix (tests/integration/postfixworld.py) through
transport_maps (`dN.test smtp:[127.0.0.(N+1)]:SINK_PORT`). Both take the
messages the same way: smtp-source over plain SMTP from 127.0.0.1, relayed
because 127.0.0.0/8 is a relay network of both. A run's time goes from the
start of the injection to the moment the sinks have counted every message
(smtp-sink -c prints its running counters as each "." arrives).
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH_DIR), "tests", "integration"))

from benchenv import env_int, env_ints
from dnsworld import DnsWorld, have_knot                  # noqa: E402
from postfixworld import Postfix, can_run                  # noqa: E402
from servers import Mailkeep, free_port                   # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
QUICK = "--quick" in sys.argv
SENDER = "sender@bench.test"
SETTLE = 1.0        # seconds of quiet (after sync) before each run
# seconds after a run before its sessions are counted: Postfix keeps idle
# connections in its cache for smtp_connection_cache_time_limit (2 s)
SESSIONS_SETTLE = 3.0




CFG = {
    "messages": env_int("BENCH_OUT_MESSAGES", 400 if QUICK else 2000),
    "size": env_int("BENCH_OUT_SIZE", 4096),
    "destinations": env_ints("BENCH_OUT_DESTINATIONS", [1, 20]),
    "sessions": env_int("BENCH_OUT_SESSIONS", 20),
    "repeat": env_int("BENCH_OUT_REPEAT", 1 if QUICK else 3),
    # messages per server to all destinations before the measured runs
    # (resolver cache, first connections, processes started), not counted
    "warmup": env_int("BENCH_OUT_WARMUP", 100 if QUICK else 200),
    "run_timeout": env_int("BENCH_OUT_RUN_TIMEOUT", 300),
    # mailkeep's [outbound] max_messages_per_connection; 0: its default
    "mk_messages_per_connection": env_int("BENCH_OUT_MK_PER_CONNECTION", 0),
}
MAX_DEST = max(CFG["destinations"])


class Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP: unwind so that everything is stopped."""


def on_signal(signum, frame):
    raise Stop(f"signal {signum}")


def dest_addr(i):
    """Sink address of destination i (1-based): 127.0.0.(i+1)."""
    return f"127.0.0.{i + 1}"


class Sink:
    """One smtp-sink; a thread reads its -c counters (cumulative: mesg=
    messages, sess= sessions ended)."""

    def __init__(self, addr, port, pidfile):
        self.addr = addr
        self.proc = subprocess.Popen(
            [SMTP_SINK, "-c", "-u", "nobody", "-h", f"sink.{addr}",
             f"{addr}:{port}", "1024"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        with open(pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")
        self.count = 0
        self.sessions = 0
        self.changed = threading.Event()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        pending = b""
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            pending += data
            *parts, pending = pending.split(b"\r")
            for p in parts:
                m = re.search(rb"sess=(\d+) .*mesg=(\d+)", p)
                if m:
                    self.sessions = int(m.group(1))
                    self.count = int(m.group(2))
                    self.changed.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Sinks:
    def __init__(self, n, port, work):
        self.sinks = [Sink(dest_addr(i), port, os.path.join(work, f"sink{i}.pid"))
                      for i in range(1, n + 1)]
        self.port = port

    def total(self):
        return sum(s.count for s in self.sinks)

    def sessions(self):
        return sum(s.sessions for s in self.sinks)

    def wait_total(self, target, deadline):
        """Monotonic time at which the total reached target, None on timeout."""
        while time.monotonic() < deadline:
            if self.total() >= target:
                return time.monotonic()
            for s in self.sinks:
                s.changed.clear()
            if self.total() >= target:
                return time.monotonic()
            self.sinks[0].changed.wait(0.005)
        return None

    def stop(self):
        for s in self.sinks:
            s.stop()


def records():
    out = []
    for i in range(1, MAX_DEST + 1):
        out += [(f"d{i}.test", "MX", f"10 mx.d{i}.test"),
                (f"mx.d{i}.test", "A", dest_addr(i))]
    return out


class OutMailkeep(Mailkeep):
    """bench/servers.py's mailkeep with an outbound configuration."""

    def __init__(self, work, binary, cert, key, dns, sink_port):
        per_conn = CFG["mk_messages_per_connection"]
        super().__init__(work, binary, cert, key, extra=f"""
[dns]
forwarders = {dns}

[outbound]
port = {sink_port}
{f"max_messages_per_connection = {per_conn}" if per_conn else ""}
""")
        with open(self.conf) as f:
            conf = f.read()
        with open(self.conf, "w") as f:     # relay for the injecting sessions
            f.write(conf.replace("[smtp]\n", "[smtp]\nrelay_networks = 127.0.0.0/8\n", 1))


def make_postfix(work, sink_port):
    transport = "".join(f"d{i}.test smtp:[{dest_addr(i)}]:{sink_port}\n"
                        for i in range(1, MAX_DEST + 1))
    etc = os.path.join(work, "postfix", "etc")
    return Postfix(os.path.join(work, "postfix"), host="127.0.0.1",
                   hostname="postfix.bench.test",
                   main={"transport_maps": f"texthash:{etc}/transport"},
                   tables={"transport": transport})


def inject(server_port, ndest, count):
    """smtp-source processes: CFG sessions in all, spread over ndest
    recipient domains; returns the Popen list."""
    procs = []
    per, extra = divmod(count, ndest)
    sessions = max(1, CFG["sessions"] // ndest)
    for i in range(1, ndest + 1):
        m = per + (1 if i <= extra else 0)
        procs.append(subprocess.Popen(
            [SMTP_SOURCE, "-s", str(sessions), "-m", str(m), "-l", str(CFG["size"]),
             "-f", SENDER, "-t", f"user@d{i}.test", "-M", "client.bench.test",
             f"127.0.0.1:{server_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    return procs


def run_one(server, sinks, ndest, count=None):
    count = count or CFG["messages"]
    os.sync()
    time.sleep(SETTLE)
    base, sess0 = sinks.total(), sinks.sessions()
    t0 = time.monotonic()
    deadline = t0 + CFG["run_timeout"]
    procs = inject(server.port, ndest, count)
    errors = []
    try:
        for p in procs:
            _, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
            if p.returncode != 0:
                errors.append(err.strip()[-500:])
        injected = time.monotonic() - t0
        done = sinks.wait_total(base + count, deadline) if not errors else None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    got = sinks.total() - base
    res = {"ok": done is not None and not errors, "messages": count,
           "received": got, "inject_seconds": round(injected, 3)}
    if res["ok"]:
        res["seconds"] = round(done - t0, 3)
        res["per_s"] = round(count / (done - t0), 1)
    else:
        res["error"] = "; ".join(errors) or f"{got} of {count} at the sinks"
    # nothing more may arrive (a duplicate would show up here); the
    # connections are closed by then
    time.sleep(SESSIONS_SETTLE)
    res["received_after"] = sinks.total() - base
    res["sessions"] = sinks.sessions() - sess0
    return res


def median(runs, key):
    vals = [r[key] for r in runs if r.get("ok")]
    return statistics.median(vals) if vals else None


def main():
    binary, work = [a for a in sys.argv[1:] if a != "--quick"]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    why = can_run()
    if why or not have_knot():
        print("bench-outbound: " + (why or "knot not installed"), file=sys.stderr)
        return 2
    sink_port = free_port()
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "2", "-subj", "/CN=mailkeep.bench.test",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(cert, 0o644)
    started, results = [], {"config": CFG, "points": []}
    try:
        dns = DnsWorld(os.path.join(work, "dns"), records())
        dns.start()
        started.append(dns)
        with open(os.path.join(work, "knotd.pid"), "w") as f:
            f.write(f"{dns.proc.pid}\n")
        sinks = Sinks(MAX_DEST, sink_port, work)
        started.append(sinks)
        mk = OutMailkeep(work, binary, cert, key, dns.forwarder, sink_port)
        pf = make_postfix(work, sink_port)
        mk.start()
        started.append(mk)
        with open(os.path.join(work, "mailkeep.pid"), "w") as f:
            f.write(f"{mk.proc.pid}\n")
        pf.start()
        started.append(pf)
        servers = {"mailkeep": mk, "postfix": pf}
        results["versions"] = {"mailkeep": mk.version(), "postfix": pf_version()}
        print(f"outbound: {CFG['messages']} x {CFG['size']} B per run, "
              f"{CFG['sessions']} injecting sessions, median of {CFG['repeat']}; "
              f"{results['versions']['mailkeep']}, {results['versions']['postfix']}")
        for name, server in servers.items():
            if CFG["warmup"]:
                r = run_one(server, sinks, MAX_DEST, CFG["warmup"])
                if not r["ok"]:
                    raise RuntimeError(f"warm-up of {name} failed: {r['error']}")
        runs = {(n, s): [] for n in CFG["destinations"] for s in servers}
        order = list(servers)
        for rep in range(CFG["repeat"]):
            for ndest in CFG["destinations"]:
                for name in order:
                    r = run_one(servers[name], sinks, ndest)
                    runs[(ndest, name)].append(r)
                    print(f"  {ndest:>2} dest  {name:<9} " +
                          (f"{r['per_s']:>8.1f} msg/s  ({r['seconds']} s, "
                           f"injected in {r['inject_seconds']} s, "
                           f"{r['sessions']} connections)" if r["ok"]
                           else f"FAILED: {r['error']}"), flush=True)
                order.reverse()         # ABBA
        print()
        print(f"{'destinations':<14}{'mailkeep msg/s':>16}{'Postfix msg/s':>16}"
              f"{'ratio mk/pf':>13}")
        for ndest in CFG["destinations"]:
            mkv, pfv = median(runs[(ndest, "mailkeep")], "per_s"), \
                median(runs[(ndest, "postfix")], "per_s")
            ratio = round(mkv / pfv, 2) if mkv and pfv else None
            print(f"{ndest:<14}{fmt(mkv):>16}{fmt(pfv):>16}{fmt(ratio, '.2f'):>13}")
            results["points"].append({
                "destinations": ndest, "ratio": ratio,
                "mailkeep": {"median_per_s": mkv, "runs": runs[(ndest, "mailkeep")]},
                "postfix": {"median_per_s": pfv, "runs": runs[(ndest, "postfix")]}})
        problems = [l for l in mk.problems()][:20]
        if problems:
            print("\nmailkeep log problems:\n  " + "\n  ".join(problems))
        ok = all(r["ok"] for v in runs.values() for r in v)
    finally:
        for thing in reversed(started):
            thing.stop()
    out_dir = os.environ.get("BENCH_OUT", os.path.join(BENCH_DIR, "out"))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, time.strftime("outbound-%Y%m%d-%H%M%S.json"))
    results["load_average"] = os.getloadavg()
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nresults: {path}")
    return 0 if ok else 1


def fmt(v, spec=".1f"):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def pf_version():
    out = subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"],
                         capture_output=True, text=True)
    return "Postfix " + out.stdout.strip()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Stop as e:
        print(f"bench-outbound: stopped ({e})", file=sys.stderr)
        sys.exit(130)
