#!/bin/sh
# The whole test suite, as CI runs it (.ci/run), on a fresh Debian 12:
# install what the tests need, build from scratch twice (plain, then with
# AddressSanitizer + UndefinedBehaviorSanitizer), run every test in both,
# and end with one line "N passed, N failed".
#
# Run as root: it installs packages, creates an ordinary user to deliver
# as, and starts Postfix and Dovecot on loopback with scratch configs.
# SKIP_DEPS=1 skips the package install (they are already there).
# VARIANTS="plain" runs one build only.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
jobs=${JOBS:-2}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	sh tests/install-deps.sh test || { echo "0 passed, 1 failed"; exit 1; }
fi
# The user the tests deliver as (sluice refuses to deliver as root);
# made here once so that parallel tests do not race on /etc/passwd.
id sluicetest >/dev/null 2>&1 || useradd -m -s /bin/sh sluicetest
# Fetch the corpus once, before the tests run in parallel.
. tests/integ/lib.sh >/dev/null
corpus_dir >/dev/null || echo "warning: corpus fetch failed; the corpus tests will fail"

autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
sum() {		# sum LOG: add the automake totals of one test-suite.log
	p=$(sed -n 's/^# PASS: *//p' "$1" | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$1" | head -1)
	x=$(sed -n 's/^# XPASS: *//p' "$1" | head -1)
	r=$(sed -n 's/^# ERROR: *//p' "$1" | head -1)
	s=$(sed -n 's/^# SKIP: *//p' "$1" | head -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${x:-0} + ${r:-0}))
	skipped=$((skipped + ${s:-0}))
}

for variant in ${VARIANTS:-plain sanitizers}; do
	b="$top/build-$variant"
	rm -rf "$b" && mkdir -p "$b" && cd "$b" || exit 1
	flags=
	[ "$variant" = sanitizers ] && flags=--enable-sanitizers
	echo "=== $variant build"
	if ! ../configure $flags >configure.log 2>&1; then
		tail -20 configure.log
		failed=$((failed + 1))
		cd "$top" && continue
	fi
	sed -n '/^sluice /,$p' configure.log
	if ! make -j"$jobs" >make.log 2>&1; then
		grep -E 'error|warning' make.log | head -40
		failed=$((failed + 1))
		cd "$top" && continue
	fi
	echo "=== $variant tests"
	make -j"$jobs" check >check.log 2>&1
	grep -aE '^(PASS|FAIL|ERROR|SKIP|XPASS)' check.log | grep -v '^PASS' | head -100
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' test-suite.log
	if grep -qE '^# (FAIL|ERROR|XPASS): *[1-9]' test-suite.log; then
		# Show the failing tests' logs (bounded).
		for t in $(grep -lE '^(not ok|Bail out)' tests/*/*.log 2>/dev/null); do
			echo "--- $t"
			grep -E -A8 '^(not ok|Bail out)' "$t" | head -60
		done
	fi
	sum test-suite.log
	cd "$top" || exit 1
done

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
