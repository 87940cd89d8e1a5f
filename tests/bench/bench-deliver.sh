#!/bin/sh
# bench-deliver.sh - how fast sluice deliver writes Maildir, against the
# floor (a bare safe write) and the usual local delivery agents.
#
# Not part of make check: run it by hand, as root, on an otherwise quiet
# machine (it creates the user "sluicetest" if missing and runs every
# contender as that ordinary user):
#
#   SLUICE=/path/to/build/sluice TOP_SRCDIR=/path/to/src \
#       sh tests/bench/bench-deliver.sh
#
# Settings (environment):
#   N=1000        messages per run, from the SpamAssassin corpus
#                 (corpus_files in tests/integ/lib.sh; cycled if short)
#   ROUNDS=5      rounds; every round runs every contender over the same
#                 messages, in an order rotated by one each round, so that
#                 ratios survive a noisy machine; results are medians
#   BIG_MB=100    size of the big message (0 skips that part)
#   CONTENDERS="bare sluice procmail maildrop dovecot-lda"
#   LDA=/usr/lib/dovecot/dovecot-lda
#   KEEP=1        keep the scratch directory (printed) for inspection
#   BENCH_DIR=/tmp where the Maildirs go; BENCH_DIR=/dev/shm measures the
#                 CPU and system-call cost without the disk's fsync time
#                 (the ratios on a real disk swing with the disk's mood)
#
# Contenders, each one process per message, as Postfix's local(8) runs a
# mailbox_command, each into a fresh Maildir per run:
#   bare         tests/bench/barewrite.c (cc -O2): read stdin, write to
#                tmp/ O_EXCL, fsync, rename into new/, fsync new/.
#   sluice       sluice deliver --maildir DIR (default config)
#   procmail     procmail -m RC, RC: one recipe delivering to DIR/
#   maildrop     maildrop FILTER, FILTER: to "DIR/"
#   dovecot-lda  dovecot-lda -c CONF -e, CONF: mail_location=maildir:DIR,
#                indexes included (what Dovecot really does)
#
# Output: messages/s per contender (median over rounds, and every round),
# ratio to bare; then for the big message: wall time (median), ratio to
# bare, peak RSS (/usr/bin/time %M, largest over rounds) in MiB. Targets
# for sluice are printed beside the results: >= 0.9x bare messages/s;
# big message < 1.2x bare time and < 4 MiB peak RSS. Exit status 0 when
# every run delivered every message (targets do not change it).
set -u
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP_SRCDIR/tests/integ/lib.sh"

N="${N:-1000}"
ROUNDS="${ROUNDS:-5}"
BIG_MB="${BIG_MB:-100}"
CONTENDERS="${CONTENDERS:-bare sluice procmail maildrop dovecot-lda}"
LDA="${LDA:-/usr/lib/dovecot/dovecot-lda}"

need_root
ensure_user
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE (set SLUICE)"
[ -x /usr/bin/time ] || bail "/usr/bin/time is not installed"
for c in $CONTENDERS; do
	case "$c" in
	procmail) command -v procmail >/dev/null || bail "procmail missing" ;;
	maildrop) command -v maildrop >/dev/null || bail "maildrop missing" ;;
	dovecot-lda) [ -x "$LDA" ] || bail "dovecot-lda missing ($LDA)" ;;
	bare | sluice) ;;
	*) bail "unknown contender $c" ;;
	esac
done

B=$(mktemp -d "${BENCH_DIR:-/tmp}/sluice-bench.XXXXXX") || bail "mktemp failed"
chmod 755 "$B"
if [ "${KEEP:-0}" = 1 ]; then
	echo "# scratch: $B"
else
	trap 'rm -rf "$B"' EXIT
fi
trap 'exit 130' INT TERM
BOX="$B/box"

cc -O2 -o "$B/barewrite" "$TOP_SRCDIR/tests/bench/barewrite.c" ||
    bail "cannot compile barewrite.c"

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

if [ "$BIG_MB" -gt 0 ]; then
	awk -v mb="$BIG_MB" 'BEGIN {
		printf "From: Big <big@example.org>\nTo: sluicetest@example.org\n"
		printf "Subject: big\nMessage-ID: <big@example.org>\n\n"
		line = "the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrs"
		n = mb * 1048576 / (length(line) + 10)
		for (i = 0; i < n; i++) printf "%08d: %s\n", i, line
	}' >"$B/big.eml"
fi

# The contenders' configurations, all pointing at $BOX.
cat >"$B/procmailrc" <<EOF
MAILDIR=$BOX
:0
$BOX/
EOF
printf 'to "%s/"\n' "$BOX" >"$B/mailfilter"
cat >"$B/dovecot.conf" <<EOF
mail_location = maildir:$BOX
base_dir = $B/dovecot-run
log_path = $B/dovecot.log
info_log_path = $B/dovecot.log
ssl = no
protocols =
EOF

# The runner, executed as the ordinary user:
#   run.sh CONTENDER many LIST  -> "ELAPSED_NS FAILURES DELIVERED"
#   run.sh CONTENDER big FILE   -> "ELAPSED_NS STATUS DELIVERED %e %M"
cat >"$B/run.sh" <<EOF
#!/bin/sh
c=\$1 mode=\$2 input=\$3
case "\$c" in
bare) set -- "$B/barewrite" "$BOX" ;;
sluice) set -- "$SLUICE" deliver --maildir "$BOX" ;;
procmail) set -- procmail -m "$B/procmailrc" ;;
maildrop) set -- maildrop "$B/mailfilter" ;;
dovecot-lda) set -- "$LDA" -c "$B/dovecot.conf" -e ;;
esac
rm -rf "$BOX" && mkdir -p "$BOX/tmp" "$BOX/new" "$BOX/cur" || exit 1
sync
fails=0
if [ "\$mode" = many ]; then
	t0=\$(date +%s%N)
	while read -r f; do
		"\$@" <"\$f" >/dev/null 2>>"$B/err.\$c" || fails=\$((fails + 1))
	done <"\$input"
	t1=\$(date +%s%N)
	echo "\$((t1 - t0)) \$fails \$(find "$BOX/new" "$BOX/cur" -type f | wc -l)"
else
	t0=\$(date +%s%N)
	/usr/bin/time -f '%e %M' -o "$B/time.out" "\$@" <"\$input" \
	    >/dev/null 2>>"$B/err.\$c"
	st=\$?
	t1=\$(date +%s%N)
	got=\$(find "$BOX/new" "$BOX/cur" -type f -size +$((BIG_MB / 2))M | wc -l)
	echo "\$((t1 - t0)) \$st \$got \$(tail -n 1 "$B/time.out")"
fi
EOF
chmod 755 "$B/run.sh"
chmod 644 "$B"/msgs/* "$B/list" "$B/dovecot.conf"
[ -f "$B/big.eml" ] && chmod 644 "$B/big.eml"
chown -R "$TEST_UID:$TEST_GID" "$B"
# procmail and maildrop refuse a filter file others can write or read.
chmod 600 "$B/procmailrc" "$B/mailfilter"

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
echo "# sluice deliver benchmark: $N messages ($bytes bytes), $ROUNDS rounds, $(nproc) CPUs, $(uname -r)"
echo "# $SLUICE"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	order=$(rotate "$((r - 1))" $CONTENDERS)
	for c in $order; do
		set -- $(as_user "$B/run.sh" "$c" many "$B/list")
		ns=${1:-0} fails=${2:-?} got=${3:-0}
		rate=$(awk -v n="$N" -v ns="$ns" 'BEGIN { printf "%.1f", (ns > 0 ? n / (ns / 1e9) : 0) }')
		echo "$rate" >>"$B/rate.$c"
		echo "$r $rate" >>"$B/rr.$c"
		if [ "$fails" != 0 ] || [ "$got" != "$N" ]; then
			echo "# round $r $c: $fails failures, $got of $N delivered (see below)"
			status=1
		fi
	done
	if [ "$BIG_MB" -gt 0 ]; then
		for c in $order; do
			set -- $(as_user "$B/run.sh" "$c" big "$B/big.eml")
			echo "${1:-0}" >>"$B/bigns.$c"
			echo "${5:-0}" >>"$B/bigrss.$c"
			if [ "${2:-1}" != 0 ] || [ "${3:-0}" != 1 ]; then
				echo "# round $r $c big: exit ${2:-?}, ${3:-0} delivered"
				status=1
			fi
		done
	fi
	echo "# round $r done ($order)"
	r=$((r + 1))
done

bare_rate=$(median <"$B/rate.bare" 2>/dev/null || echo 0)
echo
# "x bare" is the median of the per-round ratios (contender / bare in the
# same round): pairing cancels most of the drift between rounds.
printf '%-12s %10s %8s  %-36s %s\n' contender "msgs/s" "x bare" "rounds (msgs/s)" target
for c in $CONTENDERS; do
	m=$(median <"$B/rate.$c" | awk '{ printf "%.1f", $1 }')
	x=$(awk 'NR == FNR { b[$1] = $2; next } b[$1] > 0 { print $2 / b[$1] }' \
	    "$B/rr.bare" "$B/rr.$c" | median | awk '{ printf "%.2f", $1 }')
	t=""
	[ "$c" = sluice ] && t=">= 0.90x: $(awk -v x="$x" 'BEGIN { print (x >= 0.9 ? "met" : "MISSED") }')"
	printf '%-12s %10s %8s  %-36s %s\n' "$c" "$m" "$x" "$(tr '\n' ' ' <"$B/rate.$c")" "$t"
done

if [ "$BIG_MB" -gt 0 ]; then
	bare_s=$(median <"$B/bigns.bare" | awk '{ printf "%.3f", $1 / 1e9 }')
	echo
	printf '%-12s %9s %8s %13s  %s\n' "${BIG_MB} MB msg" "time s" "x bare" "peak RSS MiB" target
	for c in $CONTENDERS; do
		s=$(median <"$B/bigns.$c" | awk '{ printf "%.3f", $1 / 1e9 }')
		x=$(awk -v a="$s" -v b="$bare_s" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		rss=$(sort -n "$B/bigrss.$c" | tail -n 1 | awk '{ printf "%.1f", $1 / 1024 }')
		t=""
		[ "$c" = sluice ] && t="< 1.20x: $(awk -v x="$x" 'BEGIN { print (x < 1.2 ? "met" : "MISSED") }'), < 4 MiB: $(awk -v m="$rss" 'BEGIN { print (m < 4 ? "met" : "MISSED") }')"
		printf '%-12s %9s %8s %13s  %s\n' "$c" "$s" "$x" "$rss" "$t"
	done
fi

for c in $CONTENDERS; do
	if [ -s "$B/err.$c" ]; then
		echo "# $c stderr (first lines):"
		sort "$B/err.$c" | uniq -c | sort -rn | head -5 | sed 's/^/#   /'
	fi
done
exit "$status"
