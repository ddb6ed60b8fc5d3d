#!/bin/sh
# Source rules the compiler does not enforce (STYLE §3, §12): no unbounded
# string functions in our C code.
set -eu
cd "$(dirname "$0")/.."
bad=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|gets)\s*\(' src tests/unit tests/fuzz \
	--include='*.c' --include='*.h' | grep -vE '\b(snprintf|vsnprintf)\s*\(' || true)
if [ -n "$bad" ]; then
	echo "check-source: forbidden string functions:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "check-source: ok"
