"""Settings of the benchmarks from environment variables (BENCH_*)."""
import os


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def env_ints(name, default):
    v = os.environ.get(name, "")
    return [int(x) for x in v.replace(",", " ").split()] if v.strip() else default
