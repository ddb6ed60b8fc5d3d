#!/bin/sh
# Install the Debian packages mailkeep needs that are not yet on this machine.
#   scripts/deps.sh build   - compile and run (make run)
#   scripts/deps.sh test    - also what the tests, fuzzers and benchmarks use
# Runs apt-get only when something is missing, so a second call costs nothing.
set -eu

BUILD_PKGS="build-essential pkg-config meson ninja-build libssl-dev libevent-dev
 libsqlite3-dev libunbound-dev libpsl-dev libcrypt-dev zlib1g-dev
 libcurl4-openssl-dev openssl sqlite3"
TEST_PKGS="clang libclang-rt-14-dev python3 python3-pytest swaks postfix
 libnet-ssleay-perl python3-dkim python3-nacl opendkim-tools
 python3-dnslib knot knot-dnsutils"

want="$BUILD_PKGS"
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# The daemon's unprivileged user (DESIGN §4); tests start it as root too.
if [ "${1:-build}" = test ] && [ "$(id -u)" -eq 0 ] && ! id mailkeep >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin mailkeep
fi
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a benchmark/interop peer: keep it unconfigured and stopped.
echo "postfix postfix/main_mailer_type select No configuration" |
	$SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
