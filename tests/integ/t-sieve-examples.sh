#!/bin/sh
# t-sieve-examples.sh - the Sieve scripts we ship and document compile:
# every examples/sieve/*.sieve and filters/*.sieve passes `sluice check`
# (exit 0, no diagnostics), and `sluice test` of the first example over a
# sample message lists the actions that examples/sieve/01-lists.sieve's
# header comment and README promise.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
scratch

n=0
for f in "$TOP_SRCDIR"/examples/sieve/*.sieve "$TOP_SRCDIR"/filters/*.sieve; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	rel=${f#"$TOP_SRCDIR"/}
	"$SLUICE" check -c /dev/null --lang sieve "$f" >"$SCRATCH/out" 2>&1
	rc=$?
	is "$rc" 0 "check $rel"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$SCRATCH/out"
	is "$(grep -c 'error:' "$SCRATCH/out")" 0 "check $rel: no errors printed"
done
[ "$n" -ge 6 ] || bail "expected the shipped scripts, found $n"

ex="$TOP_SRCDIR/examples/sieve/01-lists.sieve"
msgs="$TOP_SRCDIR/examples/messages"
# actions MESSAGE: the action lines of `sluice test`, indentation removed
actions() {
	"$SLUICE" test -c /dev/null "$ex" "$1" >"$SCRATCH/test.out" 2>&1
	echo "rc=$?"
	sed -n '/^Actions:/,/^## /p' "$SCRATCH/test.out" |
	    sed -e '/^Actions:/d' -e '/^## /d' -e 's/^ *//'
}
got=$(actions "$msgs/03-list.eml")
want='rc=0
fileinto "Lists.announce" :flags "\\Seen" :create'
is "$got" "$want" "test 01-lists.sieve 03-list.eml: filed read into Lists.announce"
[ "$got" = "$want" ] || sed 's/^/#   /' "$SCRATCH/test.out"
grep -q '01-lists.sieve:10: .*header :contains "list-id" "announce.lists.example.org" -> true' \
    "$SCRATCH/test.out"
ok $? "test 01-lists.sieve: the trace names the rule (file:line) and the match"

got=$(actions "$msgs/01-plain.eml")
want='rc=0
keep (implicit)'
is "$got" "$want" "test 01-lists.sieve 01-plain.eml: no rule matches, implicit keep"
[ "$got" = "$want" ] || sed 's/^/#   /' "$SCRATCH/test.out"
done_testing
