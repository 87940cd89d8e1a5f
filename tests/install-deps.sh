#!/bin/sh
# Install what sluice needs from Debian 12, as root (or through sudo).
#   tests/install-deps.sh build   compiler, autotools and libraries
#   tests/install-deps.sh test    the above plus the servers and tools the tests run
set -eu
what=${1:-build}
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

build_pkgs="gcc make autoconf automake libtool pkg-config
 libpcre2-dev libhiredis-dev libspf2-dev libmilter-dev liblmdb-dev
 libhyperscan-dev"
# postfix asks a debconf question; answer it so the install is unattended.
test_pkgs="postfix dovecot-core dovecot-imapd dovecot-sieve redis-server
 procmail maildrop strace clang libclang-rt-14-dev python3
 util-linux passwd psmisc time spamassassin spamc spamd dnsmasq-base
 opendkim-tools miltertest"

pkgs=$build_pkgs
if [ "$what" = test ]; then
	pkgs="$build_pkgs $test_pkgs"
	# The corpus comes from the npm registry; use an npm that is already
	# there (e.g. NodeSource's), else Debian's.
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi

if [ "$what" = test ]; then
	echo "postfix postfix/main_mailer_type select No configuration" |
	    $SUDO debconf-set-selections
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
if [ "$what" = test ]; then
	# Debian starts the daemons it installs; the tests start their own on
	# loopback with scratch configs, so stop the system ones.
	for s in postfix dovecot redis-server spamd spamassassin; do
		$SUDO service "$s" stop >/dev/null 2>&1 || true
	done
fi
echo "install-deps: $what packages installed"
