#!/bin/sh
# t-examples.sh - README's first command (examples/demo.sh) works and
# delivers every sample message where it says.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
scratch
# Run the demo from a copy of the tree so that its build-demo/ does not
# land in the source directory of the test run.
mkdir -p "$SCRATCH/tree"
(cd "$TOP_SRCDIR" && tar cf - --exclude=./build-plain --exclude=./build-sanitizers --exclude=./build-demo --exclude=./.git .) |
    (cd "$SCRATCH/tree" && tar xf -)
NO_INSTALL=1 sh "$SCRATCH/tree/examples/demo.sh" >"$SCRATCH/out" 2>&1
is "$?" 0 "demo.sh runs"
n=$(ls "$TOP_SRCDIR"/examples/messages/*.eml | wc -l | tr -d ' ')
is "$(grep -c -- '-> .*(delivered)' "$SCRATCH/out")" "$n" "demo: every sample delivered, each line says where"
grep -q '03-list.eml *-> Lists.announce (delivered)' "$SCRATCH/out"; ok $? "demo: the list message went to its folder (examples/sieve/01-lists.sieve)"
grep -q '05-spam.eml *-> Junk (delivered)' "$SCRATCH/out"; ok $? "demo: the spam went to Junk (filters/default.sieve, spamtest)"
grep -q '01-plain.eml *-> INBOX (delivered)' "$SCRATCH/out"; ok $? "demo: plain mail stayed in INBOX"
ls /tmp/sluice-demo/Maildir/.Lists.announce/cur/*:2,S >/dev/null 2>&1; ok $? "demo: the announcement was marked \\Seen (:flags)"
is "$(find /tmp/sluice-demo/Maildir \( -path '*/new/*' -o -path '*/cur/*' \) -type f | wc -l | tr -d ' ')" "$n" "demo: $n messages in the demo Maildir"
is "$(stat -c %U /tmp/sluice-demo/Maildir/new)" nobody "demo: written as nobody, not root"
[ "$TAP_FAILED" -eq 0 ] || sed 's/^/# /' "$SCRATCH/out"
rm -rf /tmp/sluice-demo
done_testing
