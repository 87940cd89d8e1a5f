#!/bin/sh
# bench-sieve.sh - per-delivery cost of Sieve filtering: sluice deliver
# against dovecot-lda + Pigeonhole, with the same generated 30-rule and
# 1,000-rule scripts (issue 3, "Benchmark").
#
# Not part of make check: run it by hand, as root, on an otherwise quiet
# machine (it creates the user "sluicetest" if missing and runs every
# contender as that ordinary user):
#
#   SLUICE=/path/to/build/sluice TOP_SRCDIR=/path/to/src \
#       sh tests/bench/bench-sieve.sh
#
# Settings (environment):
#   N=300         messages per run, from the SpamAssassin corpus
#                 (corpus_files in tests/integ/lib.sh; cycled if short)
#   ROUNDS=3      rounds; every round runs every contender over the same
#                 messages, in an order rotated by one each round, so that
#                 ratios survive a noisy machine; results are medians
#   CONTENDERS="sluice-30 sluice-1000 dovecot-30 dovecot-1000"
#   LDA=/usr/lib/dovecot/dovecot-lda
#   KEEP=1        keep the scratch directory (printed) for inspection
#   BENCH_DIR=/tmp where the Maildirs go; BENCH_DIR=/dev/shm measures the
#                 CPU and system-call cost without the disk's fsync time
#
# The scripts (written into the scratch directory; KEEP=1 to read them)
# are what users' filter editors produce: "if <test> { fileinto "F"; }"
# blocks, no stop, so every rule is evaluated for every message. The
# tests vary: header :contains on Subject (most), address :domain :is on
# From, header :contains on List-Id, header :matches on X-Mailer,
# header :is on To, over 25 folders. A few words are common enough that
# some corpus messages are filed; most rules never match, as in life.
#
# Contenders, each one process per message, as Postfix's local(8) runs a
# mailbox_command, each into a fresh Maildir per run:
#   sluice-R     sluice deliver -c CONF --maildir DIR --rules R.sieve
#                (CONF empty: no sieve_before/after). sluice compiles the
#                script on every delivery.
#   dovecot-R    dovecot-lda -c CONF -e, CONF: mail_location=maildir:DIR,
#                mail_plugins=sieve, plugin { sieve = R.sieve },
#                lda_mailbox_autocreate = yes (sluice's default). Pigeonhole
#                caches the compiled script as R.svbin next to it (made
#                before the first timed run), as it does in production.
#
# Output: messages/s per contender (median over rounds, and every round);
# then sluice against dovecot-lda at each size (median of the per-round
# ratios, > 1 is faster) and the 1000-rule cost over the 30-rule cost for
# each program (cost = 1 / rate). Targets for sluice beside the results:
# faster than dovecot-lda; 1000-rule < 2x the 30-rule cost. The folder
# counts of round 1 are compared (sluice vs dovecot, same script): a
# mismatch is printed, since it means the two did not do the same work.
# Exit status 0 when every run delivered every message and the folders
# agree (targets do not change it).
set -u
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP_SRCDIR/tests/integ/lib.sh"

N="${N:-300}"
ROUNDS="${ROUNDS:-3}"
CONTENDERS="${CONTENDERS:-sluice-30 sluice-1000 dovecot-30 dovecot-1000}"
LDA="${LDA:-/usr/lib/dovecot/dovecot-lda}"

need_root
ensure_user
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE (set SLUICE)"
for c in $CONTENDERS; do
	case "$c" in
	sluice-30 | sluice-1000) ;;
	dovecot-30 | dovecot-1000) [ -x "$LDA" ] ||
	    bail "dovecot-lda missing ($LDA)" ;;
	*) bail "unknown contender $c" ;;
	esac
done

B=$(mktemp -d "${BENCH_DIR:-/tmp}/sluice-bench-sieve.XXXXXX") ||
    bail "mktemp failed"
chmod 755 "$B"
if [ "${KEEP:-0}" = 1 ]; then
	echo "# scratch: $B"
else
	trap 'rm -rf "$B"' EXIT
fi
trap 'exit 130' INT TERM
BOX="$B/box"

# The messages, copied where the ordinary user can read them.
mkdir -p "$B/msgs"
corpus_files >"$B/corpus" || bail "no corpus (see corpus_dir in lib.sh)"
[ -s "$B/corpus" ] || bail "empty corpus"
awk -v n="$N" -v d="$B/msgs" '{ f[NR] = $0 } END {
	for (i = 0; i < n; i++) printf "%s %s/%05d\n", f[i % NR + 1], d, i
}' "$B/corpus" | while read -r src dst; do cp "$src" "$dst"; done
ls "$B/msgs" | sed "s|^|$B/msgs/|" >"$B/list"
[ "$(wc -l <"$B/list")" -eq "$N" ] || bail "could not copy $N messages"
bytes=$(cat "$B"/msgs/* | wc -c)

# gen_script RULES: a filter-editor style script on stdout.
gen_script() {
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
		print "# generated by bench-sieve.sh: " rules " rules"
		print "require [\"fileinto\"];"
		for (i = 0; i < rules; i++) {
			# one word for the first rules, then two-word phrases
			# that rarely hit: most rules never match
			a = w[i % nw + 1]
			t = (i < nw) ? a : a " " w[int(i / nw) % nw + 1]
			f = sprintf("F%02d", i % 25)
			k = i % 20
			if (k < 12)
				printf "if header :contains \"subject\" \"%s\" {\n", t
			else if (k < 15)
				printf "if address :domain :is \"from\" \"%s%d.example.com\" {\n", a, i
			else if (k < 17)
				printf "if header :contains \"list-id\" \"%s-%d\" {\n", a, i
			else if (k < 19)
				printf "if header :matches \"x-mailer\" \"*%s %d*\" {\n", a, i
			else
				printf "if header :is \"to\" \"%s%d@example.org\" {\n", a, i
			printf "\tfileinto \"%s\";\n}\n", f
		}
	}'
}
for r in 30 1000; do
	mkdir -p "$B/sieve-$r"
	gen_script "$r" >"$B/sieve-$r/rules.sieve"
	: >"$B/sluice-$r.conf"
	cat >"$B/dovecot-$r.conf" <<EOF
mail_location = maildir:$BOX
base_dir = $B/dovecot-run
log_path = $B/dovecot.log
info_log_path = $B/dovecot.log
ssl = no
protocols =
lda_mailbox_autocreate = yes
protocol lda {
  mail_plugins = sieve
}
plugin {
  sieve = file:$B/sieve-$r/rules.sieve
  sieve_user_log = $B/sieve-$r/rules.sieve.log
}
EOF
done

# The runner, executed as the ordinary user:
#   run.sh CONTENDER LIST -> "ELAPSED_NS FAILURES DELIVERED"; folder
#   counts ("FOLDER COUNT" lines) into $B/folders.CONTENDER
cat >"$B/run.sh" <<EOF
#!/bin/sh
c=\$1 input=\$2
r=\${c#*-}
case "\$c" in
sluice-*) set -- "$SLUICE" deliver -c "$B/sluice-\$r.conf" --maildir "$BOX" \
    --rules "$B/sieve-\$r/rules.sieve" ;;
dovecot-*) set -- "$LDA" -c "$B/dovecot-\$r.conf" -e ;;
esac
rm -rf "$BOX" && mkdir -p "$BOX/tmp" "$BOX/new" "$BOX/cur" || exit 1
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
chmod 644 "$B"/msgs/* "$B/list" "$B"/*.conf "$B"/sieve-*/rules.sieve
chown -R "$TEST_UID:$TEST_GID" "$B"

# Pigeonhole compiles a script once and reuses R.svbin while it is newer
# than the script: make it now, untimed, as a running system would have.
for c in $CONTENDERS; do
	case "$c" in dovecot-*)
		head -n 1 "$B/list" >"$B/one"
		chmod 644 "$B/one"
		as_user "$B/run.sh" "$c" "$B/one" >/dev/null
		[ -f "$B/sieve-${c#*-}/rules.svbin" ] ||
		    diag "$c: Pigeonhole left no rules.svbin (it compiles every time)"
		;;
	esac
done
rm -f "$B"/err.* "$B"/folders.*

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
echo "# sluice Sieve benchmark: $N messages ($bytes bytes), $ROUNDS rounds, $(nproc) CPUs, $(uname -r), ${BENCH_DIR:-/tmp}"
echo "# $SLUICE; dovecot $(dovecot --version 2>/dev/null || echo "?")"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	order=$(rotate "$((r - 1))" $CONTENDERS)
	for c in $order; do
		set -- $(as_user "$B/run.sh" "$c" "$B/list")
		ns=${1:-0} fails=${2:-?} got=${3:-0}
		rate=$(awk -v n="$N" -v ns="$ns" 'BEGIN { printf "%.1f", (ns > 0 ? n / (ns / 1e9) : 0) }')
		echo "$rate" >>"$B/rate.$c"
		echo "$r $rate" >>"$B/rr.$c"
		[ "$r" = 1 ] && cp "$B/folders.$c" "$B/folders1.$c"
		if [ "$fails" != 0 ] || [ "$got" != "$N" ]; then
			echo "# round $r $c: $fails failures, $got of $N delivered (see below)"
			status=1
		fi
	done
	echo "# round $r done ($order)"
	r=$((r + 1))
done

echo
printf '%-13s %10s  %s\n' contender "msgs/s" "rounds (msgs/s)"
for c in $CONTENDERS; do
	m=$(median <"$B/rate.$c" | awk '{ printf "%.1f", $1 }')
	printf '%-13s %10s  %s\n' "$c" "$m" "$(tr '\n' ' ' <"$B/rate.$c")"
done

# ratio A B: median over rounds of rate(A) / rate(B) in the same round
ratio() {
	[ -f "$B/rr.$1" ] && [ -f "$B/rr.$2" ] || { echo nan; return; }
	awk 'NR == FNR { b[$1] = $2; next } b[$1] > 0 { print $2 / b[$1] }' \
	    "$B/rr.$2" "$B/rr.$1" | median | awk '{ printf "%.2f", $1 }'
}
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN {
	if (x == "nan") print "n/a"
	else print ((op == ">" ? x > t : x < t) ? "met" : "MISSED") }'; }
echo
x30=$(ratio sluice-30 dovecot-30)
x1k=$(ratio sluice-1000 dovecot-1000)
c_s=$(ratio sluice-30 sluice-1000)
c_d=$(ratio dovecot-30 dovecot-1000)
printf '%-36s %6s  %s\n' "sluice-30 / dovecot-30 (speed)" "$x30" "> 1.00: $(verdict "$x30" '>' 1)"
printf '%-36s %6s  %s\n' "sluice-1000 / dovecot-1000 (speed)" "$x1k" "> 1.00: $(verdict "$x1k" '>' 1)"
printf '%-36s %6s  %s\n' "sluice cost 1000 / 30 rules" "$c_s" "< 2.00: $(verdict "$c_s" '<' 2)"
printf '%-36s %6s\n' "dovecot cost 1000 / 30 rules" "$c_d"

for r in 30 1000; do
	if [ -f "$B/folders1.sluice-$r" ] && [ -f "$B/folders1.dovecot-$r" ]; then
		if cmp -s "$B/folders1.sluice-$r" "$B/folders1.dovecot-$r"; then
			echo "# $r rules: same folders and counts in both ($(tr '\n' ' ' <"$B/folders1.sluice-$r"))"
		else
			echo "# $r rules: folders DIFFER (sluice | dovecot):"
			diff "$B/folders1.sluice-$r" "$B/folders1.dovecot-$r" | sed 's/^/#   /'
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
for r in 30 1000; do
	if [ -s "$B/sieve-$r/rules.sieve.log" ]; then
		echo "# sieve log, $r rules (first lines):"
		head -n 5 "$B/sieve-$r/rules.sieve.log" | sed 's/^/#   /'
	fi
done
exit "$status"
