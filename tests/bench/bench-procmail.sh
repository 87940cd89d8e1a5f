#!/bin/sh
# bench-procmail.sh - per-delivery cost of procmailrc filtering: sluice
# (through its procmail symlink) against Debian's procmail 3.22, with the
# same rc files (issue 4, "Benchmark": sluice at least 2x faster).
#
# Not part of make check: run it by hand, as root, on an otherwise quiet
# machine (it creates the user "sluicetest" if missing and runs every
# contender as that ordinary user):
#
#   SLUICE=/path/to/build/sluice TOP_SRCDIR=/path/to/src \
#       sh tests/bench/bench-procmail.sh
#
# Settings (environment):
#   N=300         messages per run, spread over the SpamAssassin corpus
#                 (corpus_files in tests/integ/lib.sh: ham and spam)
#   ROUNDS=3      rounds; every round runs every contender over the same
#                 messages, in an order rotated by one each round, so that
#                 ratios survive a noisy machine; results are medians
#   CONTENDERS="sluice-25 sluice-1000 procmail-25 procmail-1000"
#   PROCMAIL=/usr/bin/procmail
#   KEEP=1        keep the scratch directory (printed) for inspection
#   BENCH_DIR=/tmp where the Maildirs go; BENCH_DIR=/dev/shm measures the
#                 CPU and system-call cost without the disk's fsync time
#
# The rc files:
#   25    tests/bench/procmail-25.rc, a realistic personal .procmailrc
#         (one :0c backup, spam headers, lists by List-Id with MATCH and
#         by ^TO_, senders, body and header+body conditions, a size test,
#         a nested block; no programs)
#   1000  generated here (KEEP=1 to read it): what filter editors write,
#         one ":0 / * condition / .Folder/" recipe per rule over 25
#         folders; the conditions vary like bench-sieve.sh's (Subject
#         words, most; From domains, List-Id, X-Mailer, To); a few words
#         are common enough that some corpus messages are filed, most
#         recipes never match, and the rest goes to DEFAULT
#
# Contenders, each one process per message, as Postfix's local(8) runs a
# mailbox_command, each into a fresh Maildir per run, with the same
# command line (procmail's -m mode: the rc file named, no /etc/procmailrc,
# nothing from the password file):
#   sluice-R     B/bin/procmail, a symlink to $SLUICE:
#                procmail -m MAILDIR=BOX DEFAULT=BOX/ R.rc
#   procmail-R   $PROCMAIL -m MAILDIR=BOX DEFAULT=BOX/ R.rc
#
# Output: ms per delivery per contender (median over rounds, and every
# round); then procmail's cost over sluice's at each size (median of the
# per-round ratios; the target is >= 2.00), and the 1000-recipe cost over
# the 25-recipe cost for each. The folder counts of round 1 are compared
# (sluice vs procmail, same rc): a mismatch is printed, since it means
# the two did not do the same work. Exit status 0 when every run
# delivered every message and the folders agree (targets do not change
# it).
set -u
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP_SRCDIR/tests/integ/lib.sh"

N="${N:-300}"
ROUNDS="${ROUNDS:-3}"
CONTENDERS="${CONTENDERS:-sluice-25 sluice-1000 procmail-25 procmail-1000}"
PROCMAIL="${PROCMAIL:-/usr/bin/procmail}"
RC25="$TOP_SRCDIR/tests/bench/procmail-25.rc"

need_root
ensure_user
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE (set SLUICE)"
[ -f "$RC25" ] || bail "missing $RC25"
for c in $CONTENDERS; do
	case "$c" in
	sluice-25 | sluice-1000) ;;
	procmail-25 | procmail-1000) [ -x "$PROCMAIL" ] ||
	    bail "procmail missing ($PROCMAIL)" ;;
	*) bail "unknown contender $c" ;;
	esac
done

B=$(mktemp -d "${BENCH_DIR:-/tmp}/sluice-bench-procmail.XXXXXX") ||
    bail "mktemp failed"
chmod 755 "$B"
if [ "${KEEP:-0}" = 1 ]; then
	echo "# scratch: $B"
else
	trap 'rm -rf "$B"' EXIT
fi
trap 'exit 130' INT TERM
BOX="$B/box"

# The messages, spread over the whole (sorted: ham, then spam) corpus,
# copied where the ordinary user can read them.
mkdir -p "$B/msgs"
corpus_files >"$B/corpus" || bail "no corpus (see corpus_dir in lib.sh)"
[ -s "$B/corpus" ] || bail "empty corpus"
awk -v n="$N" -v d="$B/msgs" '{ f[NR] = $0 } END {
	step = int(NR / n); if (step < 1) step = 1
	for (i = 0; i < n; i++)
		printf "%s %s/%05d\n", f[(i * step) % NR + 1], d, i
}' "$B/corpus" | while read -r src dst; do cp "$src" "$dst"; done
ls "$B/msgs" | sed "s|^|$B/msgs/|" >"$B/list"
[ "$(wc -l <"$B/list")" -eq "$N" ] || bail "could not copy $N messages"
bytes=$(cat "$B"/msgs/* | wc -c)

# gen_rc RECIPES: a filter-editor style rc file on stdout.
gen_rc() {
	awk -v rules="$1" 'BEGIN {
		nw = split("invoice meeting newsletter offer urgent report " \
		    "free money viagra mortgage lottery winner account " \
		    "password security update order shipping delivery " \
		    "receipt payment refund discount sale weekly digest " \
		    "summary agenda minutes project release patch bug " \
		    "review deadline conference webinar survey feedback " \
		    "subscription renewal expired confirm verify holiday " \
		    "vacation birthday party dinner lunch travel flight " \
		    "hotel booking ticket insurance loan credit debt " \
		    "investment stock crypto bitcoin pharmacy casino " \
		    "dating singles diet weight replica watches degree " \
		    "diploma cheap bargain", w, " ")
		print "# generated by bench-procmail.sh: " rules " recipes"
		for (i = 0; i < rules; i++) {
			# one word for the first rules, then two-word phrases
			# that rarely hit: most recipes never match
			a = w[i % nw + 1]
			t = (i < nw) ? a : a " " w[int(i / nw) % nw + 1]
			print ""
			print ":0"
			k = i % 20
			if (k < 12)
				printf "* ^Subject:.*%s\n", t
			else if (k < 15)
				printf "* ^From:.*@%s%d\\.example\\.com\n", a, i
			else if (k < 17)
				printf "* ^List-Id:.*%s-%d\n", a, i
			else if (k < 19)
				printf "* ^X-Mailer:.*%s %d\n", a, i
			else
				printf "* ^To:.*%s%d@example\\.org\n", a, i
			printf ".F%02d/\n", i % 25
		}
	}'
}
mkdir -p "$B/rc" "$B/bin"
cp "$RC25" "$B/rc/25.rc"
gen_rc 1000 >"$B/rc/1000.rc"
[ "$(grep -c '^:0' "$B/rc/1000.rc")" -eq 1000 ] || bail "gen_rc made a bad rc file"
ln -s "$SLUICE" "$B/bin/procmail"

# The runner, executed as the ordinary user:
#   run.sh CONTENDER LIST -> "ELAPSED_NS FAILURES DELIVERED"; folder
#   counts ("FOLDER COUNT" lines) into $B/folders.CONTENDER
cat >"$B/run.sh" <<EOF
#!/bin/sh
c=\$1 input=\$2
r=\${c#*-}
case "\$c" in
sluice-*) set -- "$B/bin/procmail" ;;
procmail-*) set -- "$PROCMAIL" ;;
esac
set -- "\$@" -m MAILDIR="$BOX" DEFAULT="$BOX/" "$B/rc/\$r.rc"
rm -rf "$BOX" && mkdir -p "$BOX/tmp" "$BOX/new" "$BOX/cur" || exit 1
cd "$B" || exit 1
sync
fails=0
t0=\$(date +%s%N)
while read -r f; do
	"\$@" <"\$f" >/dev/null 2>>"$B/err.\$c" || fails=\$((fails + 1))
done <"\$input"
t1=\$(date +%s%N)
(cd "$BOX" && find . -path '*/new/*' -type f -o -path '*/cur/*' -type f) |
    awk -F/ '{ n[NF == 3 ? "INBOX" : \$2]++ }
    END { for (f in n) print f, n[f] }' | sort >"$B/folders.\$c"
echo "\$((t1 - t0)) \$fails \$(awk '{ s += \$2 } END { print s + 0 }' "$B/folders.\$c")"
EOF
chmod 755 "$B/run.sh"
chmod 644 "$B"/msgs/* "$B/list" "$B"/rc/*.rc
chown -R "$TEST_UID:$TEST_GID" "$B"

median() { sort -n | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "nan"; exit }
	if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

rotate() {	# rotate K WORDS...: the words starting at the K-th (mod)
	k=$1
	shift
	n=$#
	i=0
	out=""
	while [ "$i" -lt "$n" ]; do
		j=$(((k + i) % n + 1))
		eval "out=\"\$out \${$j}\""
		i=$((i + 1))
	done
	echo $out
}

status=0
echo "# sluice procmailrc benchmark: $N messages ($bytes bytes), $ROUNDS rounds, $(nproc) CPUs, $(uname -r), ${BENCH_DIR:-/tmp}"
echo "# $SLUICE; $("$PROCMAIL" -v 2>&1 | head -n 1)"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	order=$(rotate "$((r - 1))" $CONTENDERS)
	for c in $order; do
		set -- $(as_user "$B/run.sh" "$c" "$B/list")
		ns=${1:-0} fails=${2:-?} got=${3:-0}
		ms=$(awk -v n="$N" -v ns="$ns" 'BEGIN { printf "%.3f", (n > 0 ? ns / 1e6 / n : 0) }')
		echo "$ms" >>"$B/ms.$c"
		echo "$r $ms" >>"$B/rr.$c"
		[ "$r" = 1 ] && cp "$B/folders.$c" "$B/folders1.$c"
		# procmail-25.rc keeps a :0c backup copy of every message
		want=$N
		case $c in *-25) want=$((2 * N)) ;; esac
		if [ "$fails" != 0 ] || [ "$got" != "$want" ]; then
			echo "# round $r $c: $fails failures, $got of $want files delivered (see below)"
			status=1
		fi
	done
	echo "# round $r done ($order)"
	r=$((r + 1))
done

echo
printf '%-14s %12s  %s\n' contender "ms/delivery" "rounds (ms/delivery)"
for c in $CONTENDERS; do
	m=$(median <"$B/ms.$c" | awk '{ printf "%.3f", $1 }')
	printf '%-14s %12s  %s\n' "$c" "$m" "$(tr '\n' ' ' <"$B/ms.$c")"
done

# ratio A B: median over rounds of cost(A) / cost(B) in the same round
ratio() {
	[ -f "$B/rr.$1" ] && [ -f "$B/rr.$2" ] || { echo nan; return; }
	awk 'NR == FNR { b[$1] = $2; next } b[$1] > 0 { print $2 / b[$1] }' \
	    "$B/rr.$2" "$B/rr.$1" | median | awk '{ printf "%.2f", $1 }'
}
verdict() { awk -v x="$1" -v t="$2" 'BEGIN {
	if (x == "nan") print "n/a"; else print (x >= t ? "met" : "MISSED") }'; }
echo
x25=$(ratio procmail-25 sluice-25)
x1k=$(ratio procmail-1000 sluice-1000)
c_s=$(ratio sluice-1000 sluice-25)
c_p=$(ratio procmail-1000 procmail-25)
printf '%-42s %6s  %s\n' "procmail-25 / sluice-25 (cost ratio)" "$x25" ">= 2.00: $(verdict "$x25" 2)"
printf '%-42s %6s  %s\n' "procmail-1000 / sluice-1000 (cost ratio)" "$x1k" ">= 2.00: $(verdict "$x1k" 2)"
printf '%-42s %6s\n' "sluice cost 1000 / 25 recipes" "$c_s"
printf '%-42s %6s\n' "procmail cost 1000 / 25 recipes" "$c_p"

for r in 25 1000; do
	if [ -f "$B/folders1.sluice-$r" ] && [ -f "$B/folders1.procmail-$r" ]; then
		if cmp -s "$B/folders1.sluice-$r" "$B/folders1.procmail-$r"; then
			echo "# $r recipes: same folders and counts in both ($(tr '\n' ' ' <"$B/folders1.sluice-$r"))"
		else
			echo "# $r recipes: folders DIFFER (sluice | procmail):"
			diff "$B/folders1.sluice-$r" "$B/folders1.procmail-$r" | sed 's/^/#   /'
			status=1
		fi
	fi
done
for c in $CONTENDERS; do
	if [ -s "$B/err.$c" ]; then
		echo "# $c stderr (first lines):"
		sort "$B/err.$c" | uniq -c | sort -rn | head -5 | sed 's/^/#   /'
	fi
done
exit "$status"
