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
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p build-demo
[ -f build-demo/Makefile ] || (cd build-demo && ../configure -q) >/dev/null
(cd build-demo && make -j2 -s sluice) >/dev/null
SLUICE=$top/build-demo/sluice

# The admin's part: the shipped global script (spam to Junk) runs first;
# the user's part: examples/sieve/01-lists.sieve (lists into folders).
if [ "$(id -u)" -eq 0 ]; then
	demo=/tmp/sluice-demo
	rm -rf "$demo" && mkdir -p "$demo" && chown nobody "$demo"
	chmod 755 "$demo"
else
	demo=$top/demo
	rm -rf "$demo" && mkdir -p "$demo"
fi
sed "s|@TOP@|$top|" examples/demo.conf >"$demo/sluice.conf"
chmod 644 "$demo/sluice.conf"
if [ "$(id -u)" -eq 0 ]; then
	run() { "$SLUICE" deliver -d nobody -c "$demo/sluice.conf" \
	    --maildir "$demo/Maildir" --rules examples/sieve/01-lists.sieve -e; }
else
	run() { "$SLUICE" deliver -c "$demo/sluice.conf" \
	    --maildir "$demo/Maildir" --rules examples/sieve/01-lists.sieve -e; }
fi

echo "Delivering examples/messages/*.eml into $demo/Maildir"
echo "(global filters/default.sieve, then examples/sieve/01-lists.sieve)"
for f in examples/messages/*.eml; do
	# -e copies sluice's syslog line to stderr; keep its folders= part.
	line=$(run <"$f" 2>&1 >/dev/null | grep 'status=' | tail -1)
	folders=$(echo "$line" | sed -n 's/.*folders=\([^ ]*\).*status=\([a-z]*\).*/\1 (\2)/p')
	printf '  %-28s -> %s\n' "$(basename "$f")" "${folders:-FAILED: $line}"
done
echo
echo "The Maildir as Dovecot will see it:"
(cd "$demo/Maildir" && find . -path '*/new/*' -o -path '*/cur/*' | sort | sed 's/^/  /')
