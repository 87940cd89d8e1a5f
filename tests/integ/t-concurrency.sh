#!/bin/sh
# t-concurrency.sh - parallel `sluice deliver` runs into ONE Maildir, as
# Postfix does with several local(8) processes for one recipient:
#  1. 8 deliverers x 500 messages (each with a unique X-Seq header) into
#     INBOX: all exit 0; exactly 4000 files, distinct unique names, every
#     X-Seq stored exactly once and byte-identical, tmp/ empty.
#  2. 8 simultaneous `-m FOLDER` deliveries into a folder that does not
#     exist yet (race on creating it and on the subscriptions file), for a
#     few folders: all succeed, the folder is made once and complete, and
#     ~/Maildir/subscriptions lists it exactly once.
. "$(dirname "$0")/lib.sh"

need_root
ensure_user
command -v python3 >/dev/null 2>&1 || bail "python3 is needed to generate and check messages"
command -v mkfifo >/dev/null 2>&1 || bail "mkfifo is needed for the start barrier"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
CHECK="$TOP_SRCDIR/tests/integ/corpus_check.py"	# used by check_maildir (lib.sh)
[ -f "$CHECK" ] || bail "missing $CHECK"
scratch

WORKERS=8
PER=500
TOTAL=$((WORKERS * PER))
IN="$SCRATCH/in"

# ---- generate the messages: IN/wW/NNN, From_ line, X-Seq W-N, bodies of
# varied sizes (0..24 KB), LF or CRLF line ends ----
python3 - "$IN" "$WORKERS" "$PER" <<'EOF' || bail "cannot generate messages"
import os, random, sys
d, workers, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(4242)
pool = bytes(33 + b % 94 for b in rnd.getrandbits(8 * 65536).to_bytes(65536, "little"))
for w in range(1, workers + 1):
    os.makedirs(os.path.join(d, "w%d" % w))
    for i in range(1, per + 1):
        nl = b"\r\n" if (w + i) % 3 == 0 else b"\n"
        body = []
        for _ in range(rnd.randrange(0, 300)):
            o = rnd.randrange(0, len(pool) - 78)
            body.append(pool[o:o + rnd.randrange(0, 78)])
        msg = (b"From sender-%d@example.org Thu Jan  1 00:00:00 2024\n" % w +
               nl.join([b"Return-Path: <sender-%d@example.org>" % w,
                        b"Message-ID: <%d.%d@example.org>" % (w, i),
                        b"X-Seq: %d-%d" % (w, i),
                        b"Subject: concurrency %d/%d" % (w, i), b""] + body) +
               nl)
        with open(os.path.join(d, "w%d" % w, "%03d" % i), "wb") as f:
            f.write(msg)
EOF
find "$IN" -type f | sort >"$SCRATCH/inputs"
n=$(wc -l <"$SCRATCH/inputs")
[ "$n" -eq "$TOTAL" ] || bail "generated $n messages, want $TOTAL"

# ---- 1. 8 x 500 into one INBOX (the Maildir does not exist yet) ----
MD="$SCRATCH/Maildir"
worker() {	# worker W: deliver IN/wW/* in order, one process each
	for f in "$IN/w$1"/*; do
		out=$(as_user "$SLUICE" deliver --maildir "$MD" <"$f" 2>&1)
		echo "$? $f" >>"$SCRATCH/res.$1"
		[ -z "$out" ] || printf '%s: %s\n' "$f" "$out" | head -n 5 >>"$SCRATCH/out.$1"
	done
}
start=$(date +%s)
pids=""
w=1
while [ "$w" -le "$WORKERS" ]; do
	worker "$w" &
	pids="$pids $!"
	w=$((w + 1))
done
for p in $pids; do
	wait "$p"
done
diag "$TOTAL deliveries by $WORKERS parallel deliverers in $(($(date +%s) - start)) s (SANITIZERS=$SANITIZERS)"

cat "$SCRATCH"/res.* >"$SCRATCH/results" 2>/dev/null
is "$(wc -l <"$SCRATCH/results")" "$TOTAL" "$TOTAL sluice runs"
nok=$(awk '$1 == 0' "$SCRATCH/results" | wc -l)
is "$nok" "$TOTAL" "$WORKERS x $PER parallel deliveries all exit 0"
awk '$1 != 0' "$SCRATCH/results" | head -n 5 | while IFS= read -r l; do diag "failed: $l"; done
nout=$(cat "$SCRATCH"/out.* 2>/dev/null | wc -l)
is "$nout" 0 "nothing printed on stdout/stderr"
cat "$SCRATCH"/out.* 2>/dev/null | head -n 10 | while IFS= read -r l; do diag "$l"; done

check_maildir "INBOX: " --xseq "$MD" "$SCRATCH/inputs"

# ---- 2. 8 simultaneous -m deliveries into a new folder ----
RACE="$SCRATCH/race"		# a fresh Maildir: its root is raced for too
RIN="$SCRATCH/race-in"
mkdir "$RIN" || bail "cannot create $RIN"
round=0
# folder name | directory under the root | subscriptions line (Dovecot v2)
for spec in 'Race1|.Race1|Race1' 'Race.Sub2|.Race.Sub2|Race	Sub2' \
    'Lists.exmh|.Lists.exmh|Lists	exmh' 'Race1|.Race1|Race1'; do
	round=$((round + 1))
	folder=${spec%%|*}
	rest=${spec#*|}
	dir=${rest%%|*}
	subline=${rest#*|}
	fifo="$SCRATCH/go.$round"
	mkfifo "$fifo" || bail "mkfifo $fifo"
	: >"$SCRATCH/race-list.$round"
	k=1
	pids=""
	while [ "$k" -le "$WORKERS" ]; do
		f="$RIN/$round-$k"
		printf 'From race@example.org Thu Jan  1 00:00:00 2024\nX-Seq: race-%s-%s\nSubject: race %s\n\nbody %s\n' \
		    "$round" "$k" "$folder" "$k" >"$f"
		echo "$f" >>"$SCRATCH/race-list.$round"
		(
			read -r _ <"$fifo"	# start barrier
			out=$(as_user "$SLUICE" deliver -m "$folder" --maildir "$RACE" <"$f" 2>&1)
			echo "$? $out" >"$SCRATCH/race-rc.$round.$k"
		) &
		pids="$pids $!"
		k=$((k + 1))
	done
	sleep 0.5
	sleep 1 >"$fifo"		# open the barrier for all at once
	for p in $pids; do
		wait "$p"
	done
	nok=$(cat "$SCRATCH"/race-rc."$round".* | awk '$1 == 0' | wc -l)
	is "$nok" "$WORKERS" "race $round: $WORKERS simultaneous -m $folder deliveries exit 0"
	cat "$SCRATCH"/race-rc."$round".* | awk '$0 != "0 "' | head -n 5 |
	    while IFS= read -r l; do diag "got: $l"; done

	fd="$RACE/$dir"
	good=0
	for sub in cur new tmp maildirfolder; do
		[ -e "$fd/$sub" ] || { good=1; diag "missing $fd/$sub"; }
	done
	ok "$good" "race $round: folder $folder is $dir with cur/ new/ tmp/ maildirfolder"
	ndirs=$(find "$RACE" -mindepth 1 -maxdepth 1 -type d -name '.*' | wc -l)
	extra=$(find "$RACE" -mindepth 1 -maxdepth 1 ! -name cur ! -name new ! -name tmp \
	    ! -name subscriptions ! -name '.Race1' ! -name '.Race.Sub2' ! -name '.Lists.exmh' |
	    sed "s|^$RACE/||" | sort | tr '\n' ' ')
	is "$extra" "" "race $round: no other entries in the Maildir root (no .Race parent, no lock or tmp files left)"
	diag "race $round: $ndirs folder directories so far"

	if [ "$round" -eq 4 ]; then
		# The last round reuses Race1: 16 messages by now.
		cat "$SCRATCH/race-list.1" "$SCRATCH/race-list.4" >"$SCRATCH/race-list.1+4"
		check_maildir "" --compact --label "race $round: $folder (rounds 1 and 4)" \
		    "$fd" "$SCRATCH/race-list.1+4"
	else
		check_maildir "" --compact --label "race $round: $folder" "$fd" \
		    "$SCRATCH/race-list.$round"
	fi

	if [ -f "$RACE/subscriptions" ]; then
		cnt=$(grep -cxF "$subline" "$RACE/subscriptions")
	else
		cnt="no subscriptions file"
	fi
	is "$cnt" 1 "race $round: subscriptions lists $folder exactly once"
done

# The whole subscriptions file: Dovecot's v2 header once, then each folder
# once, in any order, nothing else.
want=$(printf 'V\t2\n\nLists\texmh\nRace\tSub2\nRace1\n')
got=$( { head -n 2 "$RACE/subscriptions"; tail -n +3 "$RACE/subscriptions" | sort; } 2>/dev/null)
is "$got" "$want" "subscriptions file is the v2 header plus the three folders, each once"
[ "$got" = "$want" ] || od -c "$RACE/subscriptions" 2>/dev/null | head -n 20 |
    while IFS= read -r l; do diag "$l"; done
find "$RACE" ! -type d \( -path "$RACE/tmp/*" -o -path "$RACE/.*/tmp/*" \) \
    >"$SCRATCH/race-left"
is "$(wc -l <"$SCRATCH/race-left")" 0 "race: every tmp/ empty"
head -n 5 "$SCRATCH/race-left" | while IFS= read -r l; do diag "left over: $l"; done

done_testing
