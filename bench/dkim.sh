#!/bin/sh
# bench/dkim.sh [BUILD_DIR]: DKIM signing and verifying rates of mailkeep
# (bench/dkim_bench, messages/second, RSA-2048 and Ed25519, 4 KiB and
# 100 KiB bodies) next to the raw OpenSSL rates of
# `openssl speed rsa2048 ed25519`, on the same machine in the same run
# (issue 4, "Benchmark"). Target: signing a 4 KiB message at 90% or more of
# the raw RSA-2048 sign rate.
#
# The two alternate for BENCH_DKIM_ROUNDS rounds of BENCH_DKIM_SECONDS per
# case; the table shows the best round of each (the one least disturbed by
# other load), the raw numbers of every round go to
# BENCH_OUT/dkim-DATE-TIME.txt. Needs no root and no network.
set -eu

BUILD=${1:-build}
BIN=$BUILD/bench/dkim_bench
SECS=${BENCH_DKIM_SECONDS:-2}
ROUNDS=${BENCH_DKIM_ROUNDS:-3}
OUT_DIR=${BENCH_OUT:-$(cd "$(dirname "$0")" && pwd)/out}

[ -x "$BIN" ] || { echo "bench: $BIN not built (ninja -C $BUILD bench/dkim_bench)" >&2; exit 2; }
command -v openssl >/dev/null 2>&1 || { echo "bench: missing openssl" >&2; exit 2; }
for v in "$ROUNDS" "$SECS"; do	# openssl speed -seconds takes whole seconds
	case $v in ''|*[!0-9]*|0) echo "bench: BENCH_DKIM_ROUNDS and BENCH_DKIM_SECONDS" \
		"must be whole numbers > 0" >&2; exit 2;; esac
done

mkdir -p "$OUT_DIR"
RAW=$OUT_DIR/dkim-$(date +%Y%m%d-%H%M%S).txt
{
	echo "# dkim.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) rounds=$ROUNDS seconds=$SECS"
	echo "# $(openssl version)"
	echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')" \
		"cpus=$(nproc 2>/dev/null || echo '?') load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
} >"$RAW"

r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "bench: dkim round $r/$ROUNDS (openssl speed, then dkim_bench)" >&2
	openssl speed -seconds "$SECS" rsa2048 ed25519 2>/dev/null |
		awk -v r="$r" '/^rsa 2048 bits/ { print "openssl", r, "rsa2048", $(NF-1), $NF }
			/\(Ed25519\)/ { print "openssl", r, "ed25519", $(NF-1), $NF }' >>"$RAW"
	grep -q "^openssl $r " "$RAW" ||
		{ echo "bench: no rates from openssl speed" >&2; exit 1; }
	"$BIN" "$SECS" | awk -v r="$r" 'NR > 1 { print "dkim", r, $1, $2, $3, $6 }' >>"$RAW"
	r=$((r + 1))
done

# Best round per case; mailkeep sign/verify against openssl sign/s, verify/s.
TABLE=$(awk '
/^openssl/ { if ($4 > sign[$3]) sign[$3] = $4; if ($5 > ver[$3]) ver[$3] = $5 }
/^dkim/ { k = $3 " " $4 " " $5; if ($6 > best[k]) best[k] = $6 }
/^# / { sub(/^# /, ""); print }
END {
	printf "\n%-8s %-6s %8s %15s %14s %7s\n", "key", "op", "body", "mailkeep msg/s",
	       "openssl op/s", "ratio"
	split("rsa2048 ed25519", algos, " ")
	split("sign verify", ops, " ")
	split("4096 102400", sizes, " ")
	for (a = 1; a <= 2; a++) for (o = 1; o <= 2; o++) for (s = 1; s <= 2; s++) {
		k = algos[a] " " ops[o] " " sizes[s]
		ref = ops[o] == "sign" ? sign[algos[a]] : ver[algos[a]]
		printf "%-8s %-6s %4d KiB %15.1f %14.1f %6.1f%%\n", algos[a], ops[o],
		       sizes[s] / 1024, best[k], ref, (ref > 0 ? 100 * best[k] / ref : 0)
	}
	ratio = sign["rsa2048"] > 0 ? 100 * best["rsa2048 sign 4096"] / sign["rsa2048"] : 0
	printf "\ntarget: RSA-2048 signing of a 4 KiB message >= 90%% of openssl speed: %.1f%% (%s)\n",
	       ratio, (ratio >= 90 ? "met" : "NOT met")
}' "$RAW")
printf '%s\n' "$TABLE"
printf '%s\n' "$TABLE" >>"$RAW"
echo "bench: raw numbers in $RAW" >&2
