#!/bin/sh
# bench/run.sh BUILD/mailkeep: mailkeep vs a private Postfix instance,
# throughput and memory side by side in one run (bench/README.md).
# Tunables are environment variables (BENCH_*, see the README).
set -eu
# shellcheck disable=SC2034  # read by lib.sh
NAME=run.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_args "$@"
[ -z "$QUICK" ] || { echo "bench: run.sh has no --quick" >&2; exit 2; }
bench_need_root
bench_need_tools "scripts/deps.sh test" /usr/sbin/smtp-source \
	/usr/sbin/postfix /usr/bin/python3 script openssl
bench_need_users postfix
bench_mailkeep_user
bench_workdir mailkeep-bench

# Safety net for a crashed or killed bench.py (which stops both servers
# itself): stop only what this run started, found through $WORK.
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	bench_stop_postfix
	if [ -f "$WORK/mailkeep.pid" ]; then
		pid=$(cat "$WORK/mailkeep.pid")
		if grep -q "$WORK" "/proc/$pid/cmdline" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	fi
	bench_remove_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# BENCH_SYSCALLS=1: count fsyncs etc. per message with strace instead.
SCRIPT=bench.py
if [ "${BENCH_SYSCALLS:-0}" = 1 ]; then
	bench_need_tools "BENCH_SYSCALLS=1 needs it" strace
	SCRIPT=syscalls.py
fi

# The whole run is bounded; bench.py bounds each point on its own too.
bench_run "${BENCH_TOTAL_TIMEOUT:-1800}" "$SCRIPT" "$BIN" "$WORK"
