#!/bin/sh
# bench/imap.sh [--quick] BUILD/mailkeep: mailkeep's IMAP server vs a
# private Dovecot instance over the same 10,000-message mailbox, side by
# side in one run (issue 3; bench/README.md, "IMAP").
# --quick: 1,000 messages and 100 idle sessions, a smoke run (~2 minutes).
# Tunables are environment variables (BENCH_IMAP_*, see the README).
set -eu
# shellcheck disable=SC2034  # read by lib.sh
NAME=imap.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_args "$@"
bench_need_tools "scripts/deps.sh bench" /usr/sbin/dovecot /usr/bin/python3 openssl
if [ "$(id -u)" -eq 0 ]; then
	# Root: Dovecot's login and internal processes run as Debian's dovecot
	# and dovenull users, mailkeep's workers as mailkeep (DESIGN §4).
	bench_need_users dovecot dovenull
	bench_mailkeep_user
fi
bench_workdir mailkeep-imapbench

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
	bench_remove_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The whole run is bounded; each IMAP command has its own timeout too.
if [ -n "$QUICK" ]; then
	LIMIT=${BENCH_TOTAL_TIMEOUT:-600}
else
	LIMIT=${BENCH_TOTAL_TIMEOUT:-3600}
fi
bench_run "$LIMIT" imap_bench.py $QUICK "$BIN" "$WORK"
