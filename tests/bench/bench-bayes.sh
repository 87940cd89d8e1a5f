#!/bin/sh
# bench-bayes.sh - accuracy and learning speed of sluice's Bayes on the
# SpamAssassin public corpus (issue 5, "Accuracy"), against bogofilter
# and spamprobe trained and tested on exactly the same files.
#
#   TOP_SRCDIR=/path/to/src TOP_BUILDDIR=/path/to/build \
#       sh tests/bench/bench-bayes.sh [SALT]
#
# Protocols:
#   half   every message goes to half A or B by a salted hash of its
#          name ("DIR/FILE", SHA-256 of SALT + "/" + name, low bit of the
#          first byte); train on A and test on B, then the other way round;
#          the figures are over both test halves (every message tested
#          once). SALT (default "sluice") is the first argument.
#   hard   train easy-ham-1 + spam-1, test easy-ham-2 + hard-ham-1 + spam-2.
# Reported per tool: false positives (ham called spam, % of ham), false
# negatives (spam missed, % of spam) at the tool's threshold, and the ROC
# area of its score. Thresholds: sluice's Bayes alone at p > 0.5 and
# p >= 0.99 (BAYES_99); bogofilter's own verdict (S is spam; U and H are
# not); spamprobe's own verdict (SPAM).
# Then: the time to learn the whole corpus (6,046 messages) with sluice
# (target < 5 s), into LMDB, in groups as `sluice learn` writes.
#
# sluice runs through tests/bench/bayes-harness.c (one process for a
# whole list, as `sluice learn` does). When the build has no message side
# yet (no score_msg_new in libsluice_score.a) the harness is built with
# tests/unit/fake-sm.c instead, and says so: numbers then measure the
# tokenizer and classifier over a crude renderer.
#
# Settings: TOOLS="sluice bogofilter spamprobe", PROTOCOLS="half hard",
# KEEP=1 keeps the scratch directory, BAYES_GROUP=500 messages per write.
set -u

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
: "${TOOLS:=sluice bogofilter spamprobe}"
: "${PROTOCOLS:=half hard}"
: "${BAYES_GROUP:=500}"
export BAYES_GROUP
SALT=${1:-sluice}
. "$TOP_SRCDIR/tests/integ/lib.sh"

CORPUS=$(corpus_dir) || bail "cannot fetch the corpus"
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-bayes.XXXXXX") || exit 1
[ "${KEEP:-0}" = 1 ] && echo "# scratch: $W" || trap 'rm -rf "$W"' EXIT

for t in $TOOLS; do
	case $t in
	bogofilter|spamprobe)
		command -v "$t" >/dev/null 2>&1 ||
		    DEBIAN_FRONTEND=noninteractive apt-get install -y "$t" \
		    >/dev/null 2>&1 || bail "cannot install $t" ;;
	esac
done

# ---- the harness ----
CFLAGS_H="-std=gnu99 -O2 -D_GNU_SOURCE -I$TOP_SRCDIR/src -I$TOP_BUILDDIR"
LIBS_H="$TOP_BUILDDIR/libsluice_store.a $TOP_BUILDDIR/libsluice_msg.a \
    $TOP_BUILDDIR/libsluice_lib.a -llmdb -lhiredis -lpcre2-8 -lm"
if nm "$TOP_BUILDDIR/libsluice_score.a" 2>/dev/null |
    grep -q ' T score_msg_new$' &&
    cc $CFLAGS_H -o "$W/harness" "$TOP_SRCDIR/tests/bench/bayes-harness.c" \
    "$TOP_BUILDDIR/libsluice_score.a" $LIBS_H 2>"$W/cc.log"; then
	echo "# sluice: the real message side (prepare.c)"
else
	cc $CFLAGS_H -DFAKE_SM -o "$W/harness" \
	    "$TOP_SRCDIR/tests/bench/bayes-harness.c" $LIBS_H ||
	    bail "cannot build the harness"
	echo "# sluice: tests/unit/fake-sm.c stands in for prepare.c"
fi

# ---- lists ----
find "$CORPUS" -name '*.txt' -type f | sort >"$W/all"
python3 - "$W" "$SALT" <<'EOF'
import hashlib, os, sys
w, salt = sys.argv[1], sys.argv[2]
files = [l.rstrip("\n") for l in open(os.path.join(w, "all"))]
out = {}
def put(name, f):
    out.setdefault(name, []).append(f)
for f in files:
    d = os.path.basename(os.path.dirname(f))
    kind = "spam" if d.startswith("spam") else "ham"
    h = hashlib.sha256((salt + "/" + d + "/" + os.path.basename(f)).encode())
    half = "A" if h.digest()[0] & 1 == 0 else "B"
    put("half%s.%s" % (half, kind), f)
    if d in ("easy-ham-1",):
        put("hard.train.ham", f)
    elif d == "spam-1":
        put("hard.train.spam", f)
    elif d in ("easy-ham-2", "hard-ham-1"):
        put("hard.test.ham", f)
    elif d == "spam-2":
        put("hard.test.spam", f)
for k, v in out.items():
    open(os.path.join(w, k), "w").write("".join(x + "\n" for x in v))
EOF

# run TOOL TRAIN_SPAM TRAIN_HAM TEST_SPAM TEST_HAM OUT: "LABEL SCORE VERDICT"
run() {
	tool=$1 trs=$2 trh=$3 tes=$4 teh=$5 out=$6
	db="$W/db.$tool"
	rm -rf "$db"
	mkdir -p "$db"
	: >"$out"
	case $tool in
	sluice)
		"$W/harness" "lmdb:$db/state" learn-spam <"$trs" 2>>"$W/log" &&
		"$W/harness" "lmdb:$db/state" learn-ham <"$trh" 2>>"$W/log" ||
		    bail "sluice learn failed: $(tail -1 "$W/log")"
		for l in spam ham; do
			[ $l = spam ] && f=$tes || f=$teh
			"$W/harness" "lmdb:$db/state" classify <"$f" |
			    awk -v l=$l '{ p = $1; if (p < 0) p = 0.5
				a = p > 0.5 ? "spam" : "ham"
				b = p >= 0.99 ? "spam" : "ham"
				print l, p, a, b }' >>"$out"
		done ;;
	bogofilter)
		xargs bogofilter -d "$db" -s -B <"$trs" &&
		xargs bogofilter -d "$db" -n -B <"$trh" || bail "bogofilter"
		for l in spam ham; do
			[ $l = spam ] && f=$tes || f=$teh
			xargs bogofilter -d "$db" -T -B <"$f" |
			    awk -v l=$l '{ v = $2 == "S" ? "spam" : "ham"
				print l, $3, v }' >>"$out"
		done ;;
	spamprobe)
		xargs spamprobe -d "$db" spam <"$trs" &&
		xargs spamprobe -d "$db" good <"$trh" || bail "spamprobe"
		for l in spam ham; do
			[ $l = spam ] && f=$tes || f=$teh
			xargs spamprobe -d "$db" score <"$f" |
			    awk -v l=$l '{ v = $1 == "SPAM" ? "spam" : "ham"
				print l, $2, v }' >>"$out"
		done ;;
	esac
}

# report NAME FILE...: FP/FN per verdict column, ROC area of the score
report() {
	name=$1
	shift
	cat "$@" | python3 -c '
import sys
name = sys.argv[1]
rows = [l.split() for l in sys.stdin if l.strip()]
spam = [float(r[1]) for r in rows if r[0] == "spam"]
ham = [float(r[1]) for r in rows if r[0] == "ham"]
# ROC area: P(score(spam) > score(ham)), ties count one half (ranks)
allv = sorted([(s, 1) for s in spam] + [(h, 0) for h in ham])
rank, i, rsum = 1, 0, 0.0
while i < len(allv):
    j = i
    while j < len(allv) and allv[j][0] == allv[i][0]:
        j += 1
    avg = (rank + rank + (j - i) - 1) / 2.0
    rsum += avg * sum(1 for k in range(i, j) if allv[k][1] == 1)
    rank += j - i
    i = j
ns, nh = len(spam), len(ham)
auc = (rsum - ns * (ns + 1) / 2.0) / (ns * nh) if ns and nh else float("nan")
cols = len(rows[0]) - 2 if rows else 0
for c in range(cols):
    fp = sum(1 for r in rows if r[0] == "ham" and r[2 + c] == "spam")
    fn = sum(1 for r in rows if r[0] == "spam" and r[2 + c] == "ham")
    label = name + ("" if cols == 1 else [" p>0.5", " p>=0.99"][c])
    print("%-28s ham %5d spam %5d  FP %6.2f %%  FN %6.2f %%  ROC area %.5f"
        % (label, nh, ns, 100.0 * fp / nh, 100.0 * fn / ns, auc))
' "$name"
}

echo "# corpus: $CORPUS ($(wc -l <"$W/all") messages), salt \"$SALT\""
for p in $PROTOCOLS; do
	for t in $TOOLS; do
		case $p in
		half)
			run "$t" "$W/halfA.spam" "$W/halfA.ham" "$W/halfB.spam" \
			    "$W/halfB.ham" "$W/r.$t.AB"
			run "$t" "$W/halfB.spam" "$W/halfB.ham" "$W/halfA.spam" \
			    "$W/halfA.ham" "$W/r.$t.BA"
			report "half $t" "$W/r.$t.AB" "$W/r.$t.BA" ;;
		hard)
			run "$t" "$W/hard.train.spam" "$W/hard.train.ham" \
			    "$W/hard.test.spam" "$W/hard.test.ham" "$W/r.$t.hard"
			report "hard $t" "$W/r.$t.hard" ;;
		esac
	done
done

case " $TOOLS " in *" sluice "*)
	rm -rf "$W/db.time"
	mkdir -p "$W/db.time"
	grep '/spam' "$W/all" >"$W/all.spam"
	grep -v '/spam' "$W/all" >"$W/all.ham"
	t0=$(date +%s.%N)
	"$W/harness" "lmdb:$W/db.time/state" learn-spam <"$W/all.spam" \
	    2>"$W/t1" &&
	"$W/harness" "lmdb:$W/db.time/state" learn-ham <"$W/all.ham" \
	    2>"$W/t2" || bail "learn failed"
	t1=$(date +%s.%N)
	echo "learn the whole corpus ($(wc -l <"$W/all") messages, LMDB," \
	    "groups of $BAYES_GROUP): $(echo "$t1 - $t0" | bc) s" \
	    "($(cat "$W/t1"); $(cat "$W/t2"))"
esac
