#!/bin/sh
# t-sieve-suite.sh - the project's Sieve tests (tests/sieve/*.svtest, in
# Pigeonhole's vnd.dovecot.testsuite language) through `sluice testsuite`:
# every "NN: Test 'name' SUCCEEDED|FAILED" line becomes a TAP line, plus
# one line per file for its exit status (a crash, a sanitizer report, a
# compile failure or a non-zero exit fails it). Then: the testsuite
# extension must not exist outside `sluice testsuite` (sluice check
# refuses it; sluice deliver keeps the mail in INBOX).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch

files=$(find "$TOP_SRCDIR/tests/sieve" -name '*.svtest' -type f | sort)
[ -n "$files" ] || bail "no tests/sieve/*.svtest files"

for f in $files; do
	name=${f#"$TOP_SRCDIR/tests/sieve/"}
	out="$SCRATCH/out.$$"
	err="$SCRATCH/err.$$"
	"$SLUICE" testsuite -W "$SCRATCH/work" "$f" >"$out" 2>"$err"
	rc=$?
	while IFS= read -r line; do
		# TAP: a bare "#" would start a directive
		line=$(printf '%s' "$line" | sed 's/#/\\#/g')
		case $line in
		*": Test "*" SUCCEEDED"*)
			ok 0 "$name: ${line#*: Test }" ;;
		*": Test "*" FAILED"*|"XX: Test CASE FAILED"*)
			ok 1 "$name: ${line#*: Test }" ;;
		esac
	done <"$out"
	if [ "$rc" -ne 0 ]; then
		tail -n 3 "$out" | while IFS= read -r l; do diag "$l"; done
		head -n 20 "$err" | while IFS= read -r l; do diag "$l"; done
	fi
	grep -q '^PASS: [0-9]* tests succeeded\.$' "$out"
	pass=$?
	[ "$rc" -eq 0 ] && [ "$pass" -eq 0 ]
	ok $? "$name: sluice testsuite exit 0 and PASS (exit $rc)"
done

# -- the testsuite extension is refused everywhere else
H="$SCRATCH/home"
mkdir -p "$H" && chown "$TEST_UID:$TEST_GID" "$H"
printf 'require "vnd.dovecot.testsuite";\ntest "x" { discard; }\n' \
    >"$SCRATCH/ts.sieve"
"$SLUICE" check -c /dev/null "$SCRATCH/ts.sieve" >"$SCRATCH/check.out" 2>&1
is "$?" 1 "sluice check: vnd.dovecot.testsuite refused (exit 1)"
grep -q "unknown Sieve capability 'vnd.dovecot.testsuite'" "$SCRATCH/check.out"
ok $? "sluice check: unknown capability error"

printf 'sieve_extensions = +vnd.dovecot.testsuite\n' >"$SCRATCH/ts.conf"
"$SLUICE" check -c "$SCRATCH/ts.conf" "$SCRATCH/ts.sieve" \
    >"$SCRATCH/check2.out" 2>&1
is "$?" 1 "sluice check: refused even when sieve_extensions names it"

cp "$SCRATCH/ts.sieve" "$H/.dovecot.sieve"
chown "$TEST_UID:$TEST_GID" "$H/.dovecot.sieve"
chmod 600 "$H/.dovecot.sieve"
chmod 644 "$SCRATCH/ts.conf"
printf 'From: a@example.org\nTo: b@example.org\nSubject: t\n\nbody\n' |
    setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
    env -i HOME="$H" USER="$TEST_USER" PATH=/usr/bin:/bin \
    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
    "$SLUICE" deliver -c "$SCRATCH/ts.conf" >"$SCRATCH/dout" 2>&1
is "$?" 0 "sluice deliver with a testsuite script: exit 0"
n=$(find "$H/Maildir/new" -type f 2>/dev/null | wc -l | tr -d ' ')
is "$n" 1 "sluice deliver: compile error, message kept in INBOX (not discarded)"
grep -q "vnd.dovecot.testsuite" "$H/.dovecot.sieve.log" 2>/dev/null
ok $? "sluice deliver: the refusal is in ~/.dovecot.sieve.log"

done_testing
