"""Count the durability system calls each server makes per message.

usage: syscalls.py MAILKEEP_BINARY WORK_DIR   (via bench/run.sh when
BENCH_SYSCALLS=1, or on its own with a fresh WORK_DIR)

Starts both servers as bench.py does, attaches strace(1) to every process
of each server (following the processes they fork later), sends COUNT
messages with SESSIONS smtp-source sessions, waits until they are all in
the Maildir and prints fsync/fdatasync/rename/... calls per message. The
numbers back the "what each server does per message" table in README.md.
"""
import os
import re
import signal
import subprocess
import sys
import time

import bench
from servers import count_files

TRACED = "fsync,fdatasync,sync_file_range,rename,renameat,renameat2,link,linkat,unlink,unlinkat"
COUNT = bench.env_int("BENCH_SYSCALLS_COUNT", 200)
SESSIONS = bench.env_ints("BENCH_SYSCALLS_SESSIONS", [1, 32])


def trace(server, out):
    """strace every current process of server, following forks."""
    procs = []
    for i, pid in enumerate(server.pids()):
        procs.append(subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=" + TRACED, "-o",
             f"{out}.{i}", "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)         # let strace attach
    return procs


def untrace(procs):
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tally(out):
    """{syscall: count} of successful calls in out.* files."""
    counts = {}
    d, base = os.path.split(out)
    for name in os.listdir(d):
        if not name.startswith(base + "."):
            continue
        with open(os.path.join(d, name), errors="replace") as f:
            for line in f:
                # completed calls that succeeded: "name(...) = 0" or
                # "<... name resumed>...) = 0" (failed ones return -1)
                m = re.match(r"^(?:\d+\s+)?(?:<\.\.\. )?(\w+)[( ]", line)
                if m and re.search(r"\) += [0-9]", line):
                    counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def measure(server, sessions, work):
    out = os.path.join(work, f"strace-{server.name}-{sessions}")
    target = count_files(server.maildir) + COUNT
    procs = trace(server, out)
    subprocess.run(bench.smtp_source(server, sessions, 4096, COUNT),
                   check=True, timeout=bench.CFG["accept_timeout"])
    bench.wait_delivered(server, target)
    time.sleep(1.0)         # Postfix's qmgr unlinks after the file lands
    untrace(procs)
    return tally(out)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: syscalls.py MAILKEEP_BINARY WORK_DIR")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, bench.on_signal)
    servers = []
    try:
        servers = bench.start_servers(sys.argv[2], sys.argv[1])
        print(f"system calls per message ({COUNT} messages of 4 KiB each run, "
              "all processes of the server)")
        for sessions in SESSIONS:
            for s in servers:
                c = measure(s, sessions, sys.argv[2])
                per = ", ".join(f"{k} {v / COUNT:.2f}" for k, v in sorted(c.items()))
                print(f"  {s.name:<9} {sessions:>2} sessions: {per}", flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
