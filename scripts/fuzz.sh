#!/bin/sh
# Run every libFuzzer target of a fuzz build for a few seconds each,
# starting from its seed corpus (tests/fuzz/corpus/NAME).
set -eu
build=$1
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t" | sed 's/^fuzz_//')
	work="$root/tests/fuzz/corpus-run/$name"
	mkdir -p "$work"
	seeds="$root/tests/fuzz/corpus/$name"
	echo "fuzz: $name for ${seconds}s"
	if ! "$t" -max_total_time="$seconds" -print_final_stats=0 -artifact_prefix="$work." "$work" \
		${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} >"$work.log" 2>&1; then
		echo "fuzz: $name FAILED, see $work.log" >&2
		tail -30 "$work.log" >&2
		status=1
	fi
done
exit $status
