#!/bin/sh
# t-milter-redis.sh - two sluice-milter instances sharing one Redis
# (issue 6, "Shared state"), driven by tests/milter/milterc.py as
# t-milter-proto.sh does. A triplet first seen by milter A is deferred
# and, retried after greylist_delay through milter B, accepted; a client
# rate limit is spent across A and B. Then redis-server is killed with
# SIGKILL during concurrent traffic: every message gets an answer, and
# then both milters answer each message within a bounded time and fail
# open (accepted, headers added, no greylisting, logged); with
# milter_store_fail = tempfail the answer is 451 4.3.0. Redis restarted
# on the same port: greylisting works again without restarting the
# milters, also when Redis restarted while idle store connections sat
# in the pool. No milter crashed, both exit cleanly on SIGTERM, and
# under the sanitizer build neither prints a report.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integ/lib.sh"

need_root
scratch
: "${SLUICE_MILTER:=$TOP_BUILDDIR/sluice-milter}"
[ -x "$SLUICE_MILTER" ] || bail "no sluice-milter at $SLUICE_MILTER"
command -v python3 >/dev/null 2>&1 || bail "python3 is needed"
command -v redis-server >/dev/null 2>&1 ||
    bail "redis-server is not installed (tests/install-deps.sh)"
command -v redis-cli >/dev/null 2>&1 ||
    bail "redis-cli is not installed (tests/install-deps.sh)"
MC="python3 $TOP_SRCDIR/tests/milter/milterc.py"
MUSER=nobody
id "$MUSER" >/dev/null 2>&1 || bail "no user $MUSER"
WAIT_MAX=60		# seconds, per wait for a start or an exit
GREY_DELAY=4		# seconds: greylist_delay, short for the test (the
		# retry at once via B must come within it, under load too)
# Store down: the Redis backend's own deadline is 1 s per connect or
# command; a message may meet it at MAIL FROM and at end of message,
# so 5 s (10 under the sanitizers) is a generous bound that still
# catches a milter that hangs on a dead store.
ANSWER_MAX_MS=5000
[ "$SANITIZERS" = yes ] && ANSWER_MAX_MS=10000
DOWN_MSGS=3		# messages per milter while Redis is down
POOL_FILL=20		# concurrent messages that leave idle store connections
KILL_CONC=40		# concurrent messages per milter while Redis is killed

# --- redis-server on a free loopback port, stopped by PID --------------------

RPORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || bail "no free port"
RDIR="$SCRATCH/redis"
mkdir -p "$RDIR" || bail "cannot create $RDIR"
RPID=""
on_exit '[ -n "$RPID" ] && kill -9 $RPID'
redis_start() {		# no persistence: a restart comes back empty
	redis-server --port "$RPORT" --bind 127.0.0.1 --save "" \
	    --appendonly no --dir "$RDIR" --daemonize no \
	    --loglevel warning >>"$RDIR/redis.log" 2>&1 &
	RPID=$!
	i=0
	while [ "$(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null)" != PONG ] &&
	    [ $i -lt $((WAIT_MAX * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null)" = PONG ]
}
redis_start || { cat "$RDIR/redis.log"; bail "redis-server did not start"; }

# --- two milters: same store and policy, own socket, pid file, log ----------

RUN="$SCRATCH/run"
mkdir -p "$RUN" && chown "$MUSER" "$RUN" || bail "cannot create $RUN"
write_conf() {		# write_conf NAME [EXTRA-LINE]
	cat >"$SCRATCH/$1.conf" <<EOF
score_rules = $TOP_SRCDIR/filters/sluice-default.cf
store = redis://127.0.0.1:$RPORT/0
milter_socket = unix:$RUN/$1.sock
milter_user = $MUSER
milter_pid_file = $RUN/$1.pid
milter_stats_interval = 0
authserv_id = mx.sluice.test
reject_score = 15
greylist_score = -50
greylist_delay = ${GREY_DELAY}s
ratelimit_client = 4/1h
spf = no
${2:-}
EOF
}
write_conf a
write_conf b

milter_start() {	# milter_start NAME: sets PID_<NAME>
	: >"$SCRATCH/$1.log"
	"$SLUICE_MILTER" -f -c "$SCRATCH/$1.conf" >"$SCRATCH/$1.log" 2>&1 &
	eval "PID_$1=$!"
	i=0
	while [ ! -S "$RUN/$1.sock" ] && [ $i -lt $((WAIT_MAX * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$RUN/$1.sock" ]
}
PID_a=""
PID_b=""
on_exit '[ -n "$PID_a" ] && kill $PID_a; [ -n "$PID_b" ] && kill $PID_b'
milter_start a || { cat "$SCRATCH/a.log"; bail "milter A did not start"; }
milter_start b || { cat "$SCRATCH/b.log"; bail "milter B did not start"; }
ok 0 "redis-server on 127.0.0.1:$RPORT, milters A ($PID_a) and B ($PID_b) started"

# send NAME [milterc run options]: one message through milter NAME; the
# output in OUT, the time it took in MS.
send() {
	s_sock="unix:$RUN/$1.sock"
	shift
	s_t0=$(date +%s%N)
	OUT=$($MC "$s_sock" run "$@" 2>&1)
	s_t1=$(date +%s%N)
	MS=$(((s_t1 - s_t0) / 1000000))
}

# expect PATTERN DESCRIPTION: the last send's output matches (case glob)
expect() {
	case $OUT in
	$1) e_r=0 ;;
	*) e_r=1; diag "$OUT" ;;
	esac
	ok $e_r "$2"
}

GREYLISTED='*reply 451 4.7.1 Greylisted*verdict tempfail*'
RATELIMITED='*reply 451 4.7.1 Rate limit exceeded*verdict tempfail*'
ACCEPTED='*insheader 0 X-Spam-Status No, score=*verdict accept*'
STORE_TEMPFAIL='*reply 451 4.3.0 *verdict tempfail*'

# --- shared greylisting ----------------------------------------------------------

T1="--client 203.0.113.5 --from g1@example.com --rcpt r1@example.org"
send a $T1
expect "$GREYLISTED" "greylisting: a new triplet at A: 451 4.7.1 Greylisted"
send b $T1
expect "$GREYLISTED" "greylisting: retried at once via B: still deferred (B sees A's entry)"
n=$(redis-cli -h 127.0.0.1 -p "$RPORT" --scan 2>/dev/null | grep -c .)
[ "${n:-0}" -ge 1 ]
ok $? "greylisting: the entries are in Redis ($n keys)"
sleep $((GREY_DELAY + 1))
send b $T1
expect "$ACCEPTED" "greylisting: retried after the delay via B: accepted, headers added"
send a $T1
expect "$ACCEPTED" "greylisting: then via A too (the pass entry is shared)"
# the same network (/24), sender and recipient: one triplet
send b --client 203.0.113.77 --from g1@example.com --rcpt r1@example.org
expect "$ACCEPTED" "greylisting: another client of the same /24 via B: accepted"

# --- shared rate limit -------------------------------------------------------------
# ratelimit_client = 4/1h: two messages through each milter spend it,
# the 5th is refused at MAIL FROM whichever milter gets it. (Every
# message is greylisted at the end too: that is the other 451 4.7.1.)

RL="--client 198.51.100.7 --from rl@example.com --rcpt r2@example.org"
r=0
for m in a b a b; do
	send $m $RL
	case $OUT in
	*"Rate limit"*) r=1; diag "$m: $OUT" ;;
	esac
done
ok $r "rate limit 4/1h: 4 messages from one client via A, B, A, B not limited"
send a $RL
expect "$RATELIMITED" "rate limit: the 5th via A: 451 4.7.1 at MAIL FROM"
send b $RL
expect "$RATELIMITED" "rate limit: the 6th via B: limited as well (shared bucket)"
grep -q 'rate limit client 198.51.100.7 exceeded, action=ratelimit' "$SCRATCH/b.log"
ok $? "rate limit: logged by B"
send b --client 198.51.100.8 --from rl@example.com --rcpt r2@example.org
case $OUT in *"Rate limit"*) r=1; diag "$OUT" ;; *) r=0 ;; esac
ok $r "rate limit: another client is not limited"

# --- Redis killed: fail open -------------------------------------------------------

# killed while both milters are busy: every message still gets an
# answer (accepted, greylisted, rate limited: whatever the store said
# or failed to say), none is left without one. The kill comes once the
# first of them have written to Redis.
keys0=$(redis-cli -h 127.0.0.1 -p "$RPORT" dbsize 2>/dev/null)
$MC "unix:$RUN/a.sock" concurrent $KILL_CONC --client 192.0.2.210 \
    >"$SCRATCH/kill-a.out" 2>&1 &
CA=$!
$MC "unix:$RUN/b.sock" concurrent $KILL_CONC --client 192.0.2.211 \
    >"$SCRATCH/kill-b.out" 2>&1 &
CB=$!
i=0
while [ "$(redis-cli -h 127.0.0.1 -p "$RPORT" dbsize 2>/dev/null)" = "$keys0" ] &&
    [ $i -lt $((WAIT_MAX * 100)) ]; do
	sleep 0.01
	i=$((i + 1))
done
kill -9 "$RPID"
wait "$RPID" 2>/dev/null
RPID=""
wait $CA
wait $CB
redis-cli -h 127.0.0.1 -p "$RPORT" ping >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "redis-server killed with SIGKILL during $KILL_CONC + $KILL_CONC concurrent messages"
for m in a b; do
	n=$(awk '$1 ~ /^(accept|tempfail)$/ { n += $2 } END { print n + 0 }' \
	    "$SCRATCH/kill-$m.out")
	r=0
	[ "$n" -eq "$KILL_CONC" ] || r=1
	grep -q '^error' "$SCRATCH/kill-$m.out" && r=1
	[ $r -eq 0 ] || while IFS= read -r l; do diag "$l"; done <"$SCRATCH/kill-$m.out"
	ok $r "Redis killed mid-traffic: all $KILL_CONC messages via $m answered ($(tr '\n' ' ' <"$SCRATCH/kill-$m.out"))"
done

for m in a b; do
	r=0
	slow=0
	max_ms=0
	k=1
	while [ $k -le $DOWN_MSGS ]; do
		# a new triplet each time: it would be greylisted if the
		# store answered
		send $m --client 192.0.2.$k --from down$k@example.com \
		    --rcpt $m@example.org
		case $OUT in
		$ACCEPTED) ;;
		*) r=1; diag "$m $k: $OUT" ;;
		esac
		[ "$MS" -le "$ANSWER_MAX_MS" ] || { slow=1; diag "$m $k: ${MS} ms"; }
		[ "$MS" -gt "${max_ms:-0}" ] && max_ms=$MS
		k=$((k + 1))
	done
	ok $r "store down: $DOWN_MSGS new triplets via $m accepted with headers, not greylisted"
	ok $slow "store down: each answered by $m within $ANSWER_MAX_MS ms (slowest ${max_ms} ms)"
done
grep -q 'store: .*redis\|store: .*127.0.0.1' "$SCRATCH/a.log" &&
    grep -q 'store: .*redis\|store: .*127.0.0.1' "$SCRATCH/b.log"
r=$?
[ $r -eq 0 ] || { tail -5 "$SCRATCH/a.log" | while IFS= read -r l; do diag "$l"; done; }
ok $r "store down: the store error is logged by both milters"
grep -q 'client=unknown\[192.0.2.2\] .*action=accept .*greylist=skipped' \
    "$SCRATCH/a.log"
ok $? "store down: the verdict line says action=accept greylist=skipped"

# milter_store_fail = tempfail on B (a reload, Redis still down)
write_conf b "milter_store_fail = tempfail"
kill -HUP "$PID_b"
i=0
while ! grep -q 'reloaded: generation 2' "$SCRATCH/b.log" &&
    [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q 'reloaded: generation 2' "$SCRATCH/b.log"
ok $? "B reloaded with milter_store_fail = tempfail while Redis is down"
send b --client 192.0.2.50 --from tf@example.com --rcpt b@example.org
expect "$STORE_TEMPFAIL" "milter_store_fail = tempfail: 451 4.3.0"
[ "$MS" -le "$ANSWER_MAX_MS" ]
ok $? "milter_store_fail = tempfail: answered within $ANSWER_MAX_MS ms (${MS} ms)"
send a --client 192.0.2.50 --from tf@example.com --rcpt a@example.org
expect "$ACCEPTED" "meanwhile A (milter_store_fail = open) still accepts"
# trusted clients never touch the store: accepted even under tempfail
send b --client 127.0.0.1 --from tf@example.com --rcpt b@example.org
expect "$ACCEPTED" "milter_store_fail = tempfail: a trusted client is still accepted"

# --- Redis back on the same port: recovery -------------------------------------------

redis_start || { cat "$RDIR/redis.log"; bail "redis-server did not restart"; }
ok 0 "redis-server restarted on 127.0.0.1:$RPORT"
T2="--client 203.0.113.9 --from g2@example.com --rcpt r3@example.org"
send a $T2
expect "$GREYLISTED" "Redis back: a new triplet at A is greylisted again (no milter restart)"
send b $T2
expect "$GREYLISTED" "Redis back: and B sees it (still deferred)"
sleep $((GREY_DELAY + 1))
send b $T2
expect "$ACCEPTED" "Redis back: retried after the delay via B (tempfail policy): accepted"
send a --client 192.0.2.1 --from down1@example.com --rcpt a@example.org
expect "$GREYLISTED" "Redis back: a triplet accepted while the store was down is greylisted now"

# --- Redis restarted while the milters are idle ---------------------------------------
# Concurrent traffic leaves several idle store connections in A's pool;
# Redis dies and comes back with no message in between: each pooled
# connection is stale once. The next messages must still be greylisted
# (a stale connection is retried, not taken for a store failure).

$MC "unix:$RUN/a.sock" concurrent $POOL_FILL --client 192.0.2.200 \
    --from pool@example.com >"$SCRATCH/conc.out" 2>&1
grep -q "Greylisted\|tempfail $POOL_FILL" "$SCRATCH/conc.out" ||
    grep -q "tempfail" "$SCRATCH/conc.out"
ok $? "$POOL_FILL concurrent messages via A (fills its store pool)"
kill -9 "$RPID"
wait "$RPID" 2>/dev/null
RPID=""
redis_start || { cat "$RDIR/redis.log"; bail "redis-server did not restart"; }
r=0
k=1
while [ $k -le 5 ]; do
	send a --client 203.0.113.$((100 + k)) --from idle$k@example.com \
	    --rcpt r4@example.org
	case $OUT in
	$GREYLISTED) ;;
	*) r=1; diag "$k: $OUT" ;;
	esac
	k=$((k + 1))
done
ok $r "Redis restarted while idle: the next 5 new triplets via A are all greylisted"

# --- no crash; clean exits ------------------------------------------------------------

for m in a b; do
	eval "p=\$PID_$m"
	kill -0 "$p" 2>/dev/null
	ok $? "milter $m (pid $p) still running"
	send $m --client 127.0.0.1
	expect "$ACCEPTED" "milter $m still answers"
done

for m in a b; do
	eval "p=\$PID_$m"
	kill -TERM "$p"
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt $((WAIT_MAX * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$p"
	is "$?" 0 "milter $m: SIGTERM, clean exit"
	eval "PID_$m="
	if grep -Eq 'Sanitizer|runtime error:' "$SCRATCH/$m.log"; then
		grep -E -A12 'Sanitizer|runtime error' "$SCRATCH/$m.log" |
		    head -40 | while IFS= read -r l; do diag "$l"; done
		ok 1 "milter $m: no sanitizer report"
	else
		ok 0 "milter $m: no sanitizer report (sanitizers: $SANITIZERS)"
	fi
done

kill "$RPID"
wait "$RPID" 2>/dev/null
RPID=""

done_testing
