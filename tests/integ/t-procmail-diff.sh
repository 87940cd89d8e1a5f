#!/bin/sh
# t-procmail-diff.sh - differential test of sluice's procmailrc support
# against Debian's procmail 3.22 itself (issue 4).
#
# tests/procmail-diff/run.py runs every case of tests/procmail-diff/cases/
# (an rc file + a message + options) and a realistic rc over 30 messages
# of the SpamAssassin corpus, first with /usr/bin/procmail, then with
# sluice invoked as `procmail` through a symlink, both as the unprivileged
# test user in the same scratch directory, and compares the exit status,
# every file written (folders of all types, mbox bytes, program output,
# forwarded mail), LASTFOLDER and the captured variables. Differences
# listed in tests/procmail-diff/EXPECTED-DIFFERENCES.md are expected, and
# the documented sluice behaviour is checked for them. One TAP line per
# case, then the disagreements as unified diffs.
#
# Run by `make check`, or by hand as root:
#   SLUICE=BUILDDIR/sluice TOP_SRCDIR=SRCDIR sh SRCDIR/tests/integ/t-procmail-diff.sh
# Just the procmail side (validates the cases, no sluice needed):
#   PROCMAIL_DIFF_PROCMAIL_ONLY=1 sh SRCDIR/tests/integ/t-procmail-diff.sh
# Options for run.py (e.g. --only 'flag-*' --verbose): PROCMAIL_DIFF_ARGS.

. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"

need_root
# Never a silent skip: without procmail there is nothing to compare with.
[ -x /usr/bin/procmail ] ||
    bail "/usr/bin/procmail not found: install procmail (tests/install-deps.sh)"
for t in python3 setpriv timeout formail; do
	command -v "$t" >/dev/null 2>&1 ||
	    bail "$t not found (python3, util-linux, coreutils, procmail)"
done
PD="$TOP_SRCDIR/tests/procmail-diff"
[ -r "$PD/run.py" ] || bail "cannot read $PD/run.py"
if [ -z "${PROCMAIL_DIFF_PROCMAIL_ONLY:-}" ]; then
	[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE (build it first)"
fi

ensure_user
scratch
TAB=$(printf '\t')

corpus_files >"$SCRATCH/corpus.all" 2>"$SCRATCH/corpus.err" ||
    bail "cannot fetch the SpamAssassin corpus: $(head -3 "$SCRATCH/corpus.err")"
# The corpus cache is root's; the chosen messages are copied for the user.
python3 "$PD/run.py" --prepare-corpus "$SCRATCH/corpus.all" "$SCRATCH/corpus" \
    >"$SCRATCH/prepare.out" 2>&1 ||
    bail "cannot prepare the corpus messages: $(head -5 "$SCRATCH/prepare.out" | tr '\n' ' ')"
chown -R "$TEST_UID:$TEST_GID" "$SCRATCH/corpus" || bail "chown $SCRATCH/corpus"

sluice_opt="--sluice $SLUICE"
[ -n "${PROCMAIL_DIFF_PROCMAIL_ONLY:-}" ] && sluice_opt=""
# Bounded: every program run has its own 30 s limit, the whole run
# PROCMAIL_DIFF_TIMEOUT seconds (about 35 s here on 2 cores: 4 jobs, as
# most of the time is procmail sleeping, e.g. 1 s after creating an mbox).
# shellcheck disable=SC2086 # option lists, split on purpose
as_user timeout "${PROCMAIL_DIFF_TIMEOUT:-600}" python3 "$PD/run.py" \
    --work "$SCRATCH/work" --corpus "$SCRATCH/corpus" \
    --jobs "${PROCMAIL_DIFF_JOBS:-4}" $sluice_opt ${PROCMAIL_DIFF_ARGS:-} \
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
if [ -z "${PROCMAIL_DIFF_ARGS:-}" ]; then
	[ "$n" -ge 200 ]
	ok $? "at least 200 cases were compared ($n)"
fi
if [ -n "${PROCMAIL_DIFF_KEEP:-}" ]; then
	cp "$SCRATCH/results.json" "$PROCMAIL_DIFF_KEEP" 2>/dev/null &&
	    diag "full results in $PROCMAIL_DIFF_KEEP"
fi
[ "$rc" -le 1 ]
ok $? "run.py ran to the end (exit $rc)"

done_testing
