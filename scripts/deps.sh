#!/bin/sh
# Install the Debian packages mailkeep needs that are not yet on this machine.
#   scripts/deps.sh build   - compile and run (make run)
#   scripts/deps.sh test    - also what the tests, fuzzers and benchmarks use
#   scripts/deps.sh bench   - test, plus Dovecot for the IMAP benchmark
# Runs apt-get only when something is missing, so a second call costs nothing.
set -eu

BUILD_PKGS="build-essential pkg-config meson ninja-build libssl-dev libevent-dev
 libsqlite3-dev libunbound-dev libpsl-dev libcrypt-dev zlib1g-dev
 libcurl4-openssl-dev libpam0g-dev openssl sqlite3"
TEST_PKGS="clang libclang-rt-14-dev python3 python3-pytest swaks postfix
 libnet-ssleay-perl python3-dkim python3-nacl opendkim-tools
 python3-dnslib knot knot-dnsutils isync curl"

# Only a peer of bench/imap.sh, never a test dependency.
BENCH_PKGS="dovecot-imapd"

want="$BUILD_PKGS"
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"
[ "${1:-build}" = bench ] && want="$want $TEST_PKGS $BENCH_PKGS"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# The daemon's unprivileged user (DESIGN §4); tests start it as root too.
if [ "${1:-build}" != build ] && [ "$(id -u)" -eq 0 ] && ! id mailkeep >/dev/null 2>&1; then
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
had_dovecot=no
dpkg-query -W -f='${Status}' dovecot-core 2>/dev/null | grep -q "ok installed" &&
	had_dovecot=yes
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
# Dovecot is only the IMAP benchmark's peer (a private instance on a free
# port): a system instance that this install brought along must not stay
# enabled and serving 143/993. One that was there before is left alone.
if [ "$had_dovecot" = no ] && command -v systemctl >/dev/null 2>&1 &&
	dpkg-query -W -f='${Status}' dovecot-core 2>/dev/null | grep -q "ok installed"; then
	$SUDO systemctl disable --now dovecot.service dovecot.socket \
		>/dev/null 2>&1 || true
fi
