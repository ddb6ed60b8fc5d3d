#!/bin/sh
# bench/outbound.sh [--quick] BUILD/mailkeep: outbound messages per second,
# mailkeep vs a private Postfix, both delivering to Postfix's smtp-sink
# (1 and 20 destinations) in the same run (bench/README.md, "Outbound").
# Tunables are environment variables (BENCH_OUT_*, see the README).
set -eu
# shellcheck disable=SC2034  # read by lib.sh
NAME=outbound.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_args "$@"
bench_need_root
bench_need_tools "scripts/deps.sh test" /usr/sbin/smtp-source \
	/usr/sbin/smtp-sink /usr/sbin/postfix /usr/sbin/knotd /usr/bin/python3 \
	script openssl
bench_need_users postfix
bench_mailkeep_user
bench_workdir mailkeep-outbound

# Safety net for a crashed or killed outbound.py (which stops everything
# itself): stop only what this run started, found through $WORK.
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	bench_stop_postfix
	bench_stop_pid "$WORK/mailkeep.pid" mailkeep
	bench_stop_pid "$WORK/knotd.pid" knotd
	for f in "$WORK"/sink*.pid; do
		[ -f "$f" ] && bench_stop_pid "$f" smtp-sink
	done
	bench_remove_work
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_run "${BENCH_TOTAL_TIMEOUT:-1200}" outbound.py $QUICK "$BIN" "$WORK"
