#!/bin/sh
# t-sieve-diff.sh - differential test of sluice's Sieve against Dovecot
# Pigeonhole itself (issue 3).
#
# tests/sieve-diff/run.py runs every tests/sieve-diff/scripts/*.sieve over a
# fixed subset of the SpamAssassin corpus twice: with Pigeonhole's
# sieve-test (-e into a Maildir, and without -e for the action list) and
# with `sluice deliver --rules` / `sluice test`, both as the unprivileged
# test user with the equivalent configs tests/sieve-diff/pigeonhole.conf
# and tests/sieve-diff/sluice.conf, and compares folders, stored messages,
# flags, mail sent (through a fake sendmail), pipes and action lists.
# Differences listed in tests/sieve-diff/EXPECTED-DIFFERENCES.md are
# expected; one TAP line per script.
#
# Run by `make check`, or by hand as root:
#   SLUICE=BUILDDIR/sluice TOP_SRCDIR=SRCDIR sh SRCDIR/tests/integ/t-sieve-diff.sh
# Just the Pigeonhole side (a baseline, no sluice needed):
#   SIEVE_DIFF_PIGEONHOLE_ONLY=1 sh SRCDIR/tests/integ/t-sieve-diff.sh
# Options for run.py (e.g. --only '2*' --verbose): SIEVE_DIFF_ARGS.

. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"

need_root
# Never a silent skip: without Pigeonhole there is nothing to compare with.
command -v sieve-test >/dev/null 2>&1 ||
    bail "sieve-test not found: install dovecot-sieve (tests/install-deps.sh)"
for t in python3 setpriv stdbuf timeout; do
	command -v "$t" >/dev/null 2>&1 ||
	    bail "$t not found (python3, util-linux, coreutils)"
done
SD="$TOP_SRCDIR/tests/sieve-diff"
[ -r "$SD/run.py" ] || bail "cannot read $SD/run.py"
if [ -z "${SIEVE_DIFF_PIGEONHOLE_ONLY:-}" ]; then
	[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE (build it first)"
fi

ensure_user
scratch
TAB=$(printf '\t')

corpus_files >"$SCRATCH/corpus.all" 2>"$SCRATCH/corpus.err" ||
    bail "cannot fetch the SpamAssassin corpus: $(head -3 "$SCRATCH/corpus.err")"
# The corpus cache is root's; the chosen messages are copied for the user.
python3 "$SD/run.py" --corpus-list "$SCRATCH/corpus.all" \
    --prepare "$SCRATCH/msgs" >"$SCRATCH/prepare.out" 2>&1 ||
    bail "cannot prepare the messages: $(head -5 "$SCRATCH/prepare.out" | tr '\n' ' ')"
chown -R "$TEST_UID:$TEST_GID" "$SCRATCH/msgs" || bail "chown $SCRATCH/msgs"
# The user's home for this test is in scratch too (sluice's state store,
# Pigeonhole's mail_home), so parallel tests never share it.
TEST_HOME="$SCRATCH"

sluice_opt="--sluice $SLUICE"
[ -n "${SIEVE_DIFF_PIGEONHOLE_ONLY:-}" ] && sluice_opt=""
# Bounded: about 75 s here (more with sanitizers); every program run has
# its own 30 s limit, and the whole run SIEVE_DIFF_TIMEOUT seconds.
# shellcheck disable=SC2086 # option lists, split on purpose
as_user timeout "${SIEVE_DIFF_TIMEOUT:-900}" python3 "$SD/run.py" --msgs "$SCRATCH/msgs" --work "$SCRATCH/work" \
    --jobs "${SIEVE_DIFF_JOBS:-2}" $sluice_opt ${SIEVE_DIFF_ARGS:-} \
    --json "$SCRATCH/results.json" >"$SCRATCH/run.out" 2>&1
rc=$?

[ -s "$SCRATCH/run.out" ] || { ok 1 "run.py printed nothing"; done_testing; exit; }
n=0
while IFS="$TAB" read -r st desc; do
	case "$st" in
	ok) ok 0 "$desc"; n=$((n + 1)) ;;
	"not ok") ok 1 "$desc"; n=$((n + 1)) ;;
	"#"*) echo "$st${desc:+ $desc}" ;;
	*) echo "# $st${desc:+ $desc}" ;;	# e.g. a traceback
	esac
done <"$SCRATCH/run.out"
[ "$n" -ge 60 ]
ok $? "at least 60 scripts were compared ($n)"
if [ -n "${SIEVE_DIFF_KEEP:-}" ]; then
	cp "$SCRATCH/results.json" "$SIEVE_DIFF_KEEP" 2>/dev/null &&
	    diag "full results in $SIEVE_DIFF_KEEP"
fi
[ "$rc" -le 1 ]
ok $? "run.py ran to the end (exit $rc)"

done_testing
