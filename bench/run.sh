#!/bin/sh
# bench/run.sh BUILD/mailkeep: mailkeep vs a private Postfix instance,
# throughput and memory side by side in one run (bench/README.md).
# Tunables are environment variables (BENCH_*, see the README).
set -eu

usage() {
	echo "usage: bench/run.sh PATH/TO/mailkeep" >&2
	exit 2
}

[ $# -eq 1 ] || usage
BIN=$1
[ -x "$BIN" ] || { echo "bench: $BIN is not an executable" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

# A private Postfix instance (its own master, queue and mail_owner) can only
# be started by root.
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root: Postfix's master(8) only starts as root" >&2
	exit 2
fi
for tool in /usr/sbin/smtp-source /usr/sbin/postfix /usr/bin/python3 script openssl; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "bench: missing $tool (scripts/deps.sh test)" >&2; exit 2; }
done
id postfix >/dev/null 2>&1 || { echo "bench: no postfix user" >&2; exit 2; }
# mailkeep's workers drop to this user when started as root (DESIGN §4).
if ! id mailkeep >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin mailkeep
fi

# /var/tmp rather than /tmp: /tmp may be tmpfs, where fsync is free.
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/mailkeep-bench.XXXXXX")
chmod 755 "$WORK"

# Safety net for a crashed or killed bench.py (which stops both servers
# itself): stop only what this run started, found through $WORK.
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	pid=$(tr -d ' ' <"$WORK/postfix/spool/pid/master.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ]; then
		/usr/sbin/postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
	fi
	if [ -f "$WORK/mailkeep.pid" ]; then
		pid=$(cat "$WORK/mailkeep.pid")
		if grep -q "$WORK" "/proc/$pid/cmdline" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# BENCH_SYSCALLS=1: count fsyncs etc. per message with strace instead.
SCRIPT=bench.py
if [ "${BENCH_SYSCALLS:-0}" = 1 ]; then
	command -v strace >/dev/null 2>&1 ||
		{ echo "bench: BENCH_SYSCALLS=1 needs strace" >&2; exit 2; }
	SCRIPT=syscalls.py
fi

# The whole run is bounded; bench.py bounds each point on its own too.
rc=0
export PYTHONDONTWRITEBYTECODE=1
timeout --foreground --kill-after=60 "${BENCH_TOTAL_TIMEOUT:-1800}" \
	/usr/bin/python3 "$BENCH_DIR/$SCRIPT" "$BIN" "$WORK" || rc=$?
exit $rc
