"""The memory floor of mailkeep's process model (bench/README.md, "Memory").

For every program of the daemon (mailkeep-main, -smtp, -queue, -auth, ...)
build a stand-in that links exactly the shared libraries that program
needs (its DT_NEEDED entries, read with readelf) and does nothing but
pause(); start it and read its RSS, PSS and USS. No process of that
program can be smaller than its stand-in: the dynamic loader maps and
relocates the same libraries before main() runs. The sum over the
programs that run is the floor of the summed idle RSS with this process
model (DESIGN §4) and these libraries (DESIGN §3).
"""
import os
import shutil
import subprocess
import tempfile
import time

from servers import memory_of

STAND_IN = "#include <unistd.h>\nint main(void) { pause(); return 0; }\n"
# Linked anyway (libc) or the loader itself: never named on the command line.
IMPLICIT = ("libc.so.", "ld-linux")
SETTLE = 0.5        # seconds for the stand-in to be mapped and paused


def needed_libraries(program):
    """The DT_NEEDED sonames of an ELF program, in order."""
    out = subprocess.run(["readelf", "-d", program], capture_output=True,
                         text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        if "(NEEDED)" in line and "[" in line:
            libs.append(line[line.index("[") + 1:line.rindex("]")])
    return libs


def build_stand_in(program, work):
    """Compile the stand-in for program in work; returns its path."""
    src = os.path.join(work, "stand_in.c")
    with open(src, "w") as f:
        f.write(STAND_IN)
    out = os.path.join(work, "floor-" + os.path.basename(program))
    libs = [f"-l:{lib}" for lib in needed_libraries(program)
            if not lib.startswith(IMPLICIT)]
    # --no-as-needed: keep every library although nothing calls it, as
    # the real program keeps it.
    subprocess.run(["cc", "-O2", "-o", out, src, "-Wl,--no-as-needed"] + libs,
                   check=True, capture_output=True)
    return out


def measure(stand_in):
    """{rss, pss, uss} KiB of the stand-in while it waits in pause()."""
    proc = subprocess.Popen([stand_in])
    try:
        time.sleep(SETTLE)
        return memory_of(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def floor(bindir, names):
    """names: the daemon's program names that ran (mailkeep-smtp, ...).
    Returns {"per_program": {name: {rss, pss, uss, libraries}},
    "rss_kib": sum} or {"error": text} when a stand-in cannot be built."""
    work = tempfile.mkdtemp(prefix="memfloor-")
    try:
        per = {}
        for name in sorted(set(names)):
            program = os.path.join(bindir, name)
            mem = measure(build_stand_in(program, work))
            if mem is None:
                return {"error": f"stand-in for {name} exited"}
            mem["libraries"] = needed_libraries(program)
            per[name] = mem
        total = sum(per[n]["rss"] for n in names if n in per)
        return {"per_program": per, "rss_kib": total}
    except (OSError, subprocess.CalledProcessError) as e:
        return {"error": str(e)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
