#!/bin/sh
# demo.sh - build sluice and deliver the sample messages of examples/messages
# into a demo Maildir, printing where each one went. README's first command.
#
#   sh examples/demo.sh            (installs build packages with apt-get
#                                   when run as root or with sudo)
#   NO_INSTALL=1 sh examples/demo.sh   (packages already there)
#
# sluice never delivers as root: run as root, the demo delivers as the
# unprivileged user "nobody" (-d nobody) into /tmp/sluice-demo, which shows
# the privilege drop Postfix setups with -d rely on.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "${NO_INSTALL:-0}" != 1 ]; then
	sh tests/install-deps.sh build
fi
if [ ! -x build-demo/sluice ]; then
	[ -x configure ] || autoreconf -fi >/dev/null 2>&1
	mkdir -p build-demo
	(cd build-demo && ../configure -q && make -j2 -s sluice) >/dev/null
fi
SLUICE=$top/build-demo/sluice

if [ "$(id -u)" -eq 0 ]; then
	demo=/tmp/sluice-demo
	rm -rf "$demo" && mkdir -p "$demo" && chown nobody "$demo"
	run() { "$SLUICE" deliver -d nobody --maildir "$demo/Maildir" -e "$@"; }
else
	demo=$top/demo
	rm -rf "$demo" && mkdir -p "$demo"
	run() { "$SLUICE" deliver --maildir "$demo/Maildir" -e "$@"; }
fi

echo "Delivering examples/messages/*.eml into $demo/Maildir"
for f in examples/messages/*.eml; do
	case "$f" in
	*list*) args="-m Lists.announce" ;;	# as a rule would file it
	*) args= ;;
	esac
	# -e copies sluice's syslog line to stderr; keep its folders= part.
	line=$(run $args <"$f" 2>&1 >/dev/null | grep 'status=' | tail -1)
	folders=$(echo "$line" | sed -n 's/.*folders=\([^ ]*\).*status=\([a-z]*\).*/\1 (\2)/p')
	printf '  %-28s -> %s\n' "$(basename "$f")" "${folders:-FAILED: $line}"
done
echo
echo "The Maildir as Dovecot will see it:"
(cd "$demo/Maildir" && find . -path '*/new/*' -o -path '*/cur/*' | sort | sed 's/^/  /')
