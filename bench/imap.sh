#!/bin/sh
# bench/imap.sh [--quick] BUILD/mailkeep: mailkeep's IMAP server vs a
# private Dovecot instance over the same 10,000-message mailbox, side by
# side in one run (issue 3; bench/README.md, "IMAP").
# --quick: 1,000 messages and 100 idle sessions, a smoke run (~2 minutes).
# Tunables are environment variables (BENCH_IMAP_*, see the README).
set -eu

usage() {
	echo "usage: bench/imap.sh [--quick] PATH/TO/mailkeep" >&2
	exit 2
}

QUICK=
if [ "${1:-}" = --quick ]; then
	QUICK=--quick
	shift
fi
[ $# -eq 1 ] || usage
BIN=$1
[ -x "$BIN" ] || { echo "bench: $BIN is not an executable" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

for tool in /usr/sbin/dovecot /usr/bin/python3 openssl; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "bench: missing $tool (scripts/deps.sh bench)" >&2; exit 2; }
done
if [ "$(id -u)" -eq 0 ]; then
	# Root: Dovecot's login and internal processes run as Debian's dovecot
	# and dovenull users, mailkeep's workers as mailkeep (DESIGN §4).
	for u in dovecot dovenull; do
		id "$u" >/dev/null 2>&1 ||
			{ echo "bench: no $u user (is dovecot-core installed?)" >&2; exit 2; }
	done
	if ! id mailkeep >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin mailkeep
	fi
fi

# /var/tmp rather than /tmp: /tmp may be tmpfs, where fsync is free.
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/mailkeep-imapbench.XXXXXX")
chmod 755 "$WORK"

# Safety net for a crashed or killed imap_bench.py (which stops both servers
# itself): stop only server processes this run started (each start appends
# its PID to $WORK/pids), and only while their command line names $WORK.
# shellcheck disable=SC2317  # called from the trap
ours() {
	grep -q "$WORK" "/proc/$1/cmdline" 2>/dev/null
}
# shellcheck disable=SC2317
cleanup() {
	if [ -f "$WORK/pids" ]; then
		while read -r pid; do
			if ours "$pid"; then
				kill -TERM "$pid" 2>/dev/null || true
			fi
		done <"$WORK/pids"
		n=0
		while [ "$n" -lt 20 ]; do		# up to 10 s to exit
			left=0
			while read -r pid; do
				if ours "$pid"; then left=1; fi
			done <"$WORK/pids"
			[ "$left" -eq 0 ] && break
			sleep 0.5
			n=$((n + 1))
		done
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The whole run is bounded; each IMAP command has its own timeout too.
if [ -n "$QUICK" ]; then
	LIMIT=${BENCH_TOTAL_TIMEOUT:-600}
else
	LIMIT=${BENCH_TOTAL_TIMEOUT:-3600}
fi
rc=0
export PYTHONDONTWRITEBYTECODE=1
timeout --foreground --kill-after=60 "$LIMIT" \
	/usr/bin/python3 "$BENCH_DIR/imap_bench.py" $QUICK "$BIN" "$WORK" || rc=$?
exit $rc
