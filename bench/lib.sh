# shellcheck shell=sh disable=SC2034  # QUICK, BIN, BENCH_DIR, WORK: for the caller
# bench/lib.sh: what the bench entry points (run.sh, imap.sh, outbound.sh)
# share; sourced, not run. Each entry point sets NAME (for messages) first.

# bench_args [--quick] PATH/TO/mailkeep: sets QUICK, BIN and BENCH_DIR.
bench_args() {
	QUICK=
	if [ "${1:-}" = --quick ]; then
		QUICK=--quick
		shift
	fi
	if [ $# -ne 1 ]; then
		echo "usage: bench/$NAME [--quick] PATH/TO/mailkeep" >&2
		exit 2
	fi
	BIN=$1
	[ -x "$BIN" ] || { echo "bench: $BIN is not an executable" >&2; exit 2; }
	BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
}

# A private Postfix instance (its own master, queue and mail_owner) can
# only be started by root.
bench_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: run as root: Postfix's master(8) only starts as root" >&2
		exit 2
	fi
}

# bench_need_tools HINT TOOL...: every tool is there, else say HINT.
bench_need_tools() {
	hint=$1
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
			{ echo "bench: missing $tool ($hint)" >&2; exit 2; }
	done
}

# bench_need_users USER...: Debian's packages made them.
bench_need_users() {
	for u in "$@"; do
		id "$u" >/dev/null 2>&1 ||
			{ echo "bench: no $u user (is its package installed?)" >&2; exit 2; }
	done
}

# mailkeep's workers drop to this user when started as root (DESIGN §4).
bench_mailkeep_user() {
	if [ "$(id -u)" -eq 0 ] && ! id mailkeep >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin mailkeep
	fi
}

# bench_workdir PREFIX: WORK, under /var/tmp rather than /tmp (/tmp may be
# tmpfs, where fsync is free).
bench_workdir() {
	WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/$1.XXXXXX")
	chmod 755 "$WORK"
}

# Stop a private Postfix of $WORK/postfix if its master still runs.
bench_stop_postfix() {
	pid=$(tr -d ' ' <"$WORK/postfix/spool/pid/master.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ]; then
		/usr/sbin/postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
	fi
}

# SIGTERM the PID in FILE if its process is still named COMM.
bench_stop_pid() {
	pid=$(cat "$1" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
}

# The end of every cleanup: keep $WORK with BENCH_KEEP=1, else remove it.
bench_remove_work() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}

# bench_run SECONDS SCRIPT ARG...: the whole run, bounded; exits with its
# status (the EXIT trap cleans up).
bench_run() {
	limit=$1
	script=$2
	shift 2
	rc=0
	export PYTHONDONTWRITEBYTECODE=1
	timeout --foreground --kill-after=60 "$limit" \
		/usr/bin/python3 "$BENCH_DIR/$script" "$@" || rc=$?
	exit $rc
}
