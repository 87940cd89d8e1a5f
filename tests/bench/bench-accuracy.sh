#!/bin/sh
# bench-accuracy.sh - accuracy of sluice (rules + Bayes) on the
# SpamAssassin public corpus against bogofilter, spamprobe and
# SpamAssassin itself, trained and tested on exactly the same files
# (issue 5, "Accuracy").
#
#   tests/bench/bench-accuracy.sh [BUILDDIR]	(default: the current dir)
#
# Protocols:
#   half   every message goes to half A or B by a salted hash of its
#          name (SHA-256 of SALT + "/" + "DIR/FILE", low bit of the first
#          byte; the same split as bench-bayes.sh); train on A and test on
#          B, then the other way round: every message is tested once, and
#          the figures are over both test halves.
#   hard   train easy-ham-1 + spam-1, test easy-ham-2 + hard-ham-1 + spam-2.
#   hardswap  the other way round, a check that a change tuned on "hard"
#          is not fitted to it: train easy-ham-2 + spam-2, test
#          easy-ham-1 + hard-ham-1 + spam-1.
#
# Tools (TOOLS, default all):
#   sluice          filters/sluice-default.cf, then Debian's stock
#                   SpamAssassin rules (/usr/share/spamassassin,
#                   /etc/spamassassin), score set 2 (Bayes, no network),
#                   Bayes trained on the training half: what a user gets
#                   with score_rules = FILTERS /usr/share/spamassassin
#                   /etc/spamassassin. Spam at score >= required_score.
#   sluice-default  filters/sluice-default.cf alone + Bayes.
#   sluice-bayes    sluice's Bayes probability alone (same run as
#                   sluice), spam at p > 0.5.
#   bogofilter      its own verdict (S spam; U and H not), score its
#                   spamicity.
#   spamprobe       its own verdict (SPAM), score its probability.
#   spamassassin    SpamAssassin 4.0.1: sa-learn into a scratch Bayes
#                   database (bayes_auto_learn 0), then spamd -L (no
#                   network tests) on loopback, one child, spamc -c per
#                   message; spam at score >= 5.0.
# All run by tests/bench/accuracy/acc-score.c (sluice: rules loaded once,
# training and scoring in one process) or the tool's own batch mode.
#
# SpamAssassin costs ~0.1 s of CPU per message (about 15 minutes for
# both protocols), so its per-message scores are cached in
# ~/.cache/sluice/accuracy/ (SA_CACHE), one file per protocol run keyed by
# run and salt; an interrupted run resumes where it stopped. SA_SAMPLE=N
# scores only the test messages whose salted name hash is 0 mod N (a
# deterministic 1/N subset; its row says how many ham/spam it saw) and
# then adds rows for sluice on exactly that subset, for a fair comparison.
#
# Settings: SALT (default "sluice"), PROTOCOLS="half hard" (any of half,
# hard, hardswap), TOOLS="...", SA_SAMPLE=1, SA_CACHE=DIR, KEEP=1 (keep
# the scratch directory; sluice's per-message scores and hits are in
# res.*).
# Output: one table: tool, protocol, ham, spam, FP %, FN %, ROC area,
# threshold.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-.}" && pwd)
TOP_SRCDIR=$TOP
TOP_BUILDDIR=$B
export TOP_SRCDIR TOP_BUILDDIR
. "$TOP/tests/integ/lib.sh"

: "${SALT:=sluice}"
: "${PROTOCOLS:=half hard}"
: "${TOOLS:=sluice sluice-default sluice-bayes bogofilter spamprobe spamassassin}"
: "${SA_SAMPLE:=1}"
: "${SA_CACHE:=${HOME:-/tmp}/.cache/sluice/accuracy}"
STOCK="/usr/share/spamassassin /etc/spamassassin"
METRICS="python3 $TOP/tests/bench/accuracy/metrics.py"

die() { echo "bench-accuracy.sh: $*" >&2; exit 1; }
has() { case " $TOOLS " in *" $1 "*) return 0 ;; esac; return 1; }

CORPUS=$(corpus_dir) || die "cannot fetch the corpus"
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-accuracy.XXXXXX") || exit 1
[ "${KEEP:-0}" = 1 ] && echo "# scratch: $W" || trap 'rm -rf "$W"' EXIT

for t in bogofilter spamprobe; do
	has $t || continue
	command -v $t >/dev/null 2>&1 ||
	    DEBIAN_FRONTEND=noninteractive apt-get install -y $t \
	    >/dev/null 2>&1 || die "cannot install $t"
done

# ---- the driver ----
for l in libsluice_score.a libsluice_store.a libsluice_msg.a libsluice_lib.a; do
	[ -f "$B/$l" ] || die "no $B/$l (run make)"
done
ext_libs() {
	sed -n 's/^\(PCRE2_LIBS\|HS_LIBS\|LMDB_LIBS\|HIREDIS_LIBS\) = //p' \
	    "$B/Makefile" | tr '\n' ' '
}
if has sluice || has sluice-default || has sluice-bayes; then
	cc -std=gnu99 -O2 -D_GNU_SOURCE -I"$B" -I"$TOP/src" -o "$W/acc-score" \
	    "$TOP/tests/bench/accuracy/acc-score.c" "$B/libsluice_score.a" \
	    "$B/libsluice_store.a" "$B/libsluice_msg.a" "$B/libsluice_lib.a" \
	    $(ext_libs) -lm || die "cannot build acc-score"
fi

# ---- lists: W/halfA.spam ... W/hard.test.ham, W/sa.* the SA subset ----
find "$CORPUS" -name '*.txt' -type f | sort >"$W/all"
python3 - "$W" "$SALT" "$SA_SAMPLE" <<'EOF'
import hashlib, os, sys
w, salt, sample = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {}
def put(name, f):
    out.setdefault(name, []).append(f)
for f in (l.rstrip("\n") for l in open(os.path.join(w, "all"))):
    d = os.path.basename(os.path.dirname(f))
    kind = "spam" if d.startswith("spam") else "ham"
    h = hashlib.sha256((salt + "/" + d + "/" + os.path.basename(f)).encode()).digest()
    half = "A" if h[0] & 1 == 0 else "B"
    put("halfA.%s" % kind if half == "A" else "halfB.%s" % kind, f)
    # the SA subset: another part of the same hash, independent of the half
    if int.from_bytes(h[1:5], "big") % sample == 0:
        put("sa.sub", f)
    if d == "easy-ham-1":
        put("hard.train.ham", f)
    elif d == "spam-1":
        put("hard.train.spam", f)
    elif d in ("easy-ham-2", "hard-ham-1"):
        put("hard.test.ham", f)
    elif d == "spam-2":
        put("hard.test.spam", f)
    if d == "easy-ham-2":
        put("swap.train.ham", f)
    elif d == "spam-2":
        put("swap.train.spam", f)
    elif d in ("easy-ham-1", "hard-ham-1"):
        put("swap.test.ham", f)
    elif d == "spam-1":
        put("swap.test.spam", f)
for k, v in out.items():
    open(os.path.join(w, k), "w").write("".join(x + "\n" for x in v))
EOF
touch "$W/sa.sub"

# Runs: NAME TRAIN-SPAM TRAIN-HAM TEST-SPAM TEST-HAM
runs() {
	for p in $PROTOCOLS; do
		case $p in
		half)	echo "halfAB $W/halfA.spam $W/halfA.ham $W/halfB.spam $W/halfB.ham half"
			echo "halfBA $W/halfB.spam $W/halfB.ham $W/halfA.spam $W/halfA.ham half" ;;
		hard)	echo "hard $W/hard.train.spam $W/hard.train.ham $W/hard.test.spam $W/hard.test.ham hard" ;;
		hardswap)
			echo "hardswap $W/swap.train.spam $W/swap.train.ham $W/swap.test.spam $W/swap.test.ham hardswap" ;;
		*)	die "unknown protocol $p" ;;
		esac
	done
}

# rules_args stock|default: the -r options of the two sluice rule sets
rules_args() {
	a="-r $TOP/filters/sluice-default.cf"
	[ "$1" = stock ] && for d in $STOCK; do a="$a -r $d"; done
	echo "$a"
}

# ---- sluice: train once per run, test with both rule sets ----
run_sluice() {
	name=$1 trs=$2 trh=$3 tes=$4 teh=$5
	db="$W/db.sluice.$name"
	rm -rf "$db"
	mkdir -p "$db"
	"$W/acc-score" -b "lmdb:$db/state" --learn-spam "$trs" \
	    --learn-ham "$trh" 2>>"$W/log" || die "learn: $(tail -2 "$W/log")"
	cat "$tes" "$teh" >"$W/test.$name"
	for rs in stock default; do
		case $rs in
		stock) has sluice || has sluice-bayes || continue ;;
		default) has sluice-default || continue ;;
		esac
		"$W/acc-score" $(rules_args $rs) -s 2 -b "lmdb:$db/state" \
		    --test "$W/test.$name" >"$W/res.$rs.$name" 2>>"$W/log" ||
		    die "test: $(tail -2 "$W/log")"
	done
}

# score lines -> "LABEL SCORE VERDICT" (spam at >= 5.0, or Bayes > 0.5:
# 0.5 is "no opinion")
sluice_rows() {	# RESFILE COLUMN THRESHOLD [SUBSET]
	awk -F '\t' -v col="$2" -v thr="$3" -v subf="${4:-}" '
	    BEGIN { if (subf != "") while ((getline l < subf) > 0) keep[l] = 1 }
	    subf != "" && !($3 in keep) { next }
	    { lab = $3 ~ /\/spam-[0-9]+\// ? "spam" : "ham"
	      s = $col; if (col == 2 && s < 0) s = 0.5
	      v = col == 2 ? s > thr : s >= thr
	      print lab, s, (v ? "spam" : "ham") }' "$1"
}

# ---- bogofilter, spamprobe: their own batch modes ----
run_peer() {
	tool=$1 name=$2 trs=$3 trh=$4 tes=$5 teh=$6 out=$7
	db="$W/db.$tool.$name"
	rm -rf "$db"
	mkdir -p "$db"
	: >"$out"
	case $tool in
	bogofilter)
		xargs bogofilter -d "$db" -s -B <"$trs" 2>>"$W/log" &&
		xargs bogofilter -d "$db" -n -B <"$trh" 2>>"$W/log" ||
		    die "bogofilter"
		for l in spam ham; do
			[ $l = spam ] && f=$tes || f=$teh
			xargs bogofilter -d "$db" -T -B <"$f" 2>>"$W/log" |
			    awk -v l=$l '{ print l, $3, ($2 == "S" ? "spam" : "ham") }' >>"$out"
		done ;;
	spamprobe)
		# (its image parser complains about corpus JPEGs on stderr)
		xargs spamprobe -d "$db" spam <"$trs" 2>>"$W/log" &&
		xargs spamprobe -d "$db" good <"$trh" 2>>"$W/log" ||
		    die "spamprobe"
		for l in spam ham; do
			[ $l = spam ] && f=$tes || f=$teh
			xargs spamprobe -d "$db" score <"$f" 2>>"$W/log" |
			    awk -v l=$l '{ print l, $2, ($1 == "SPAM" ? "spam" : "ham") }' >>"$out"
		done ;;
	esac
}

# ---- SpamAssassin: sa-learn + spamd -L, cached per message ----
SPID=
stop_spamd() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	SPID=
}
run_sa() {
	name=$1 trs=$2 trh=$3 tes=$4 teh=$5
	key=$name
	case $name in half*) key="$name.$SALT" ;; esac
	mkdir -p "$SA_CACHE" || die "cannot create $SA_CACHE"
	cache="$SA_CACHE/sa.$key"
	touch "$cache"
	# what is still to score: in the subset, not yet in the cache
	cat "$tes" "$teh" | awk -v subf="$W/sa.sub" -v cache="$cache" '
	    BEGIN { while ((getline l < subf) > 0) keep[l] = 1
		    while ((getline l < cache) > 0) { split(l, f, " "); done[f[3]] = 1 } }
	    ($0 in keep) && !($0 in done)' >"$W/sa.todo.$name"
	if [ -s "$W/sa.todo.$name" ]; then
		sah="$W/sa.$name"
		mkdir -p "$sah"
		bcf="bayes_path $sah/bayes"
		sa-learn -L --cf="$bcf" --cf="bayes_auto_learn 0" \
		    --no-sync --spam -f "$trs" >/dev/null 2>>"$W/log" &&
		sa-learn -L --cf="$bcf" --cf="bayes_auto_learn 0" \
		    --no-sync --ham -f "$trh" >/dev/null 2>>"$W/log" &&
		sa-learn -L --cf="$bcf" --sync >/dev/null 2>>"$W/log" ||
		    die "sa-learn: $(tail -2 "$W/log")"
		user=
		if [ "$(id -u)" -eq 0 ]; then
			user="-u nobody"
			chown -R nobody "$sah"
			chmod 755 "$W"
		fi
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		spamd -L -x $user -H "$sah" --listen="127.0.0.1:$port" -m 1 \
		    --min-children=1 --min-spare=1 --max-conn-per-child=100000 \
		    --cf="$bcf" --cf="bayes_auto_learn 0" --cf="use_bayes 1" \
		    --cf="bayes_learn_to_journal 0" \
		    -s stderr >"$sah/spamd.log" 2>&1 &
		SPID=$!
		i=0
		until spamc -d 127.0.0.1 -p "$port" -K >/dev/null 2>&1; do
			i=$((i + 1))
			[ "$i" -gt 240 ] && die "spamd did not start"
			kill -0 "$SPID" 2>/dev/null || die "spamd exited: $(tail -3 "$sah/spamd.log")"
			sleep 0.5
		done
		while IFS= read -r f; do
			s=$(spamc -d 127.0.0.1 -p "$port" -s 10485760 -c <"$f")
			s=${s%%/*}
			case $f in */spam-[0-9]*/*) l=spam ;; *) l=ham ;; esac
			[ -n "$s" ] && echo "$l $s $f" >>"$cache"
		done <"$W/sa.todo.$name"
		stop_spamd
	fi
	awk -v subf="$W/sa.sub" 'BEGIN { while ((getline l < subf) > 0) keep[l] = 1 }
	    ($3 in keep) { print $1, $2, ($2 >= 5.0 ? "spam" : "ham") }' \
	    "$cache" >"$W/res.sa.$name"
}
trap 'stop_spamd; [ "${KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT

# ---- run everything ----
runs >"$W/runs"
while read -r name trs trh tes teh proto; do
	if has sluice || has sluice-default || has sluice-bayes; then
		run_sluice "$name" "$trs" "$trh" "$tes" "$teh"
	fi
	for t in bogofilter spamprobe; do
		has $t && run_peer $t "$name" "$trs" "$trh" "$tes" "$teh" \
		    "$W/res.$t.$name"
	done
	has spamassassin && run_sa "$name" "$trs" "$trh" "$tes" "$teh"
done <"$W/runs"

# ---- the table ----
echo "# corpus: $CORPUS ($(wc -l <"$W/all") messages), salt \"$SALT\""
printf '%-26s %-8s %5s %5s %7s %7s %9s  %s\n' tool proto ham spam 'FP%' \
    'FN%' 'ROC area' threshold
for p in $PROTOCOLS; do
	case $p in half) rl="halfAB halfBA" ;; *) rl=$p ;; esac
	rows() {	# KIND COL THR [SUBSET]: the sluice rows of all runs of p
		for n in $rl; do sluice_rows "$W/res.$1.$n" "$2" "$3" ${4:-}; done
	}
	if has sluice; then
		rows stock 1 5.0 >"$W/t"
		$METRICS sluice "$p" "score>=5.0" "$W/t"
	fi
	if has sluice-default; then
		rows default 1 5.0 >"$W/t"
		$METRICS sluice-default "$p" "score>=5.0" "$W/t"
	fi
	if has sluice-bayes; then
		rows stock 2 0.5 >"$W/t"
		$METRICS sluice-bayes "$p" "p>0.5" "$W/t"
	fi
	for t in bogofilter spamprobe; do
		has $t || continue
		files=
		for n in $rl; do files="$files $W/res.$t.$n"; done
		$METRICS $t "$p" "own verdict" $files
	done
	if has spamassassin; then
		files=
		for n in $rl; do files="$files $W/res.sa.$n"; done
		if [ "$SA_SAMPLE" = 1 ]; then
			$METRICS spamassassin "$p" "score>=5.0" $files
		else
			$METRICS "spamassassin 1/$SA_SAMPLE" "$p" "score>=5.0" $files
			if has sluice; then
				rows stock 1 5.0 "$W/sa.sub" >"$W/t"
				$METRICS "sluice 1/$SA_SAMPLE" "$p" "score>=5.0" "$W/t"
			fi
		fi
	fi
done
