#!/bin/sh
# t-milter-proto.sh - sluice-milter driven at the protocol level, without
# Postfix, by tests/milter/milterc.py (a milter client that speaks like
# Postfix's milter8.c): the header changes of a full transaction, GTUBE
# rejected with 550 5.7.1, forged X-Spam-* / Authentication-Results
# removed (by index, last first), malformed and truncated packets, an
# oversized header and body (kept up to milter_max_size, still scored),
# abort mid-message, 1,000 concurrent connections; then SIGHUP (reload,
# not stop), a reload that fails (old configuration kept), SIGUSR1
# (stats file), SIGTERM (clean exit, pid file removed, and under the
# sanitizer build no leak or error report). After each hostile step the
# milter must still answer.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integ/lib.sh"

need_root
scratch
: "${SLUICE_MILTER:=$TOP_BUILDDIR/sluice-milter}"
[ -x "$SLUICE_MILTER" ] || bail "no sluice-milter at $SLUICE_MILTER"
command -v python3 >/dev/null 2>&1 || bail "python3 is needed"
MC="python3 $TOP_SRCDIR/tests/milter/milterc.py"
MUSER=nobody
id "$MUSER" >/dev/null 2>&1 || bail "no user $MUSER"
CONCURRENT=1000
WAIT_MAX=60		# seconds, per wait

# 1,000 connections on both sides, and a thread each in the milter
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null ||
    bail "cannot raise the open files limit"

RUN="$SCRATCH/run"
mkdir -p "$RUN" && chown "$MUSER" "$RUN" || bail "cannot create $RUN"
SOCK="unix:$RUN/milter.sock"
PIDF="$RUN/milter.pid"
LOG="$SCRATCH/milter.log"
CONF="$SCRATCH/sluice.conf"
write_conf() {		# write_conf [EXTRA-LINE]
	cat >"$CONF" <<EOF
score_rules = $TOP_SRCDIR/filters/sluice-default.cf
store = lmdb:$RUN/state
milter_socket = $SOCK
milter_user = $MUSER
milter_pid_file = $PIDF
milter_max_size = 64k
milter_stats_interval = 0
milter_stats_file = $RUN/stats
authserv_id = mx.sluice.test
reject_score = 15
spf = no
${1:-}
EOF
}
write_conf
# POLICY's "spf" key may not be there yet: drop it if conf rejects it
if ! "$SLUICE_MILTER" -n -c "$CONF" >/dev/null 2>&1 &&
    "$SLUICE_MILTER" -n -c "$CONF" 2>&1 | grep -q 'unknown setting "spf"'; then
	sed -i '/^spf = /d' "$CONF"
fi

# --- -n ----------------------------------------------------------------

out=$("$SLUICE_MILTER" -n -c "$CONF" 2>&1)
ok $? "-n accepts the configuration"
case $out in *"configuration $CONF ok"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "-n says so"
cp "$CONF" "$SCRATCH/bad.conf"
echo "reject_score = lots" >>"$SCRATCH/bad.conf"
out=$("$SLUICE_MILTER" -n -c "$SCRATCH/bad.conf" 2>&1)
is "$?" 1 "-n: a bad value exits 1"
case $out in *"bad.conf:"*"reject_score"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "-n: the error names file:line and the key"
sed -i 's/^reject_score = lots/trusted_networks = 10.0.0.0\/33/' \
    "$SCRATCH/bad.conf"
"$SLUICE_MILTER" -n -c "$SCRATCH/bad.conf" >/dev/null 2>&1
is "$?" 1 "-n: a bad trusted network exits 1"

# --- start ---------------------------------------------------------------

"$SLUICE_MILTER" -f -c "$CONF" >"$LOG" 2>&1 &
MPID=$!
on_exit "kill $MPID 2>/dev/null"
i=0
while [ ! -S "$RUN/milter.sock" ] && [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -S "$RUN/milter.sock" ] || { cat "$LOG"; bail "the milter did not start"; }
is "$(cat "$PIDF" 2>/dev/null)" "$MPID" "pid file written"
is "$(ps -o user= -p "$MPID" | tr -d ' ')" "$MUSER" \
    "privileges dropped to $MUSER"

alive() {	# alive DESCRIPTION: a plain message still gets its headers
	a_out=$($MC "$SOCK" run 2>&1)
	case $a_out in
	*"insheader 0 X-Spam-Status No, score="*"verdict accept"*) a_r=0 ;;
	*) a_r=1; diag "$a_out" ;;
	esac
	ok $a_r "$1"
}

# --- a full transaction ----------------------------------------------------

out=$($MC "$SOCK" run 2>&1)
case $out in
*"insheader 0 X-Spam-Score 0.0"*"insheader 0 X-Spam-Status No, score=0.0"*"insheader 0 X-Spam-Level "*"verdict accept"*) r=0 ;;
*) r=1; diag "$out" ;;
esac
ok $r "plain message: X-Spam-Score/Status/Level inserted at the top, accepted"
case $out in *X-Spam-Flag*) r=1 ;; *) r=0 ;; esac
ok $r "plain message: no X-Spam-Flag"
# the steps negotiated: no replies to connect (0x1000), HELO (0x2000),
# header fields (0x80) and the end of headers (0x40000); replies to MAIL
# (0x4000 off) and RCPT (0x8000 off), which may refuse, and to body
# chunks (0x80000 off) so that SMFIS_SKIP (0x400) works; the transaction
# above went through with them
proto=$(printf '%s\n' "$out" | sed -n 's/^protocol //p')
r=1
if [ -n "$proto" ] && [ $((proto & 0x1000)) -ne 0 ] &&
    [ $((proto & 0x2000)) -ne 0 ] && [ $((proto & 0x80)) -ne 0 ] &&
    [ $((proto & 0x40000)) -ne 0 ] && [ $((proto & 0x4000)) -eq 0 ] &&
    [ $((proto & 0x8000)) -eq 0 ] && [ $((proto & 0x80000)) -eq 0 ] &&
    [ $((proto & 0x400)) -ne 0 ]; then
	r=0
else
	diag "negotiated protocol: $proto"
fi
ok $r "no replies to connect, HELO and headers; MAIL, RCPT, body answered"

M="$SCRATCH/msgs"
mkdir -p "$M"
printf 'From: a@example.com\nTo: b@example.org\nSubject: gtube\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <g1@example.com>\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n' >"$M/gtube.eml"
out=$($MC "$SOCK" run --msg "$M/gtube.eml" 2>&1)
case $out in
*"reply 550 5.7.1 "*"verdict reject"*) r=0 ;;
*) r=1; diag "$out" ;;
esac
ok $r "GTUBE: 550 5.7.1 at end of message"

printf 'From: a@example.com\nTo: b@example.org\nSubject: forged\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <f1@example.com>\nX-Spam-Flag: NO\nX-Spam-Score: -100\nAuthentication-Results: mx.sluice.test; spf=pass smtp.mailfrom=x@example.com\nAuthentication-Results: other.example; spf=fail\nx-spam-score: -50\nX-Spam-Status: No, score=-100\nAuthentication-Results: MX.SLUICE.TEST;\n\tspf=pass\n\nhello\n' >"$M/forged.eml"
out=$($MC "$SOCK" run --msg "$M/forged.eml" 2>&1)
got=$(printf '%s\n' "$out" | grep '^chgheader' | tr '\n' '|')
is "$got" "chgheader 3 Authentication-Results |chgheader 1 X-Spam-Status |chgheader 2 X-Spam-Score |chgheader 1 Authentication-Results |chgheader 1 X-Spam-Score |chgheader 1 X-Spam-Flag |" \
    "forged X-Spam-* and our Authentication-Results deleted, last first"
case $out in *"Authentication-Results other.example"*) r=1 ;; *) r=0 ;; esac
ok $r "someone else's Authentication-Results kept"

# --- hostile input ------------------------------------------------------------

for k in zero huge unknown truncated short-optneg garbage; do
	$MC "$SOCK" bad $k >/dev/null 2>&1
	alive "malformed packet ($k): the milter still answers"
done

# oversized: 300 header fields of 1000 bytes and a 2 MB body, over the
# 64k milter_max_size
python3 - "$M/big.eml" <<'EOF'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('From: a@example.com\nTo: b@example.org\nSubject: big\n')
    for i in range(300):
        f.write('X-Filler-%d: %s\n' % (i, 'y' * 1000))
    f.write('\n' + ('z' * 76 + '\n') * 27000)
EOF
out=$($MC "$SOCK" run --msg "$M/big.eml" 2>&1)
case $out in *"X-Spam-Status"*"verdict accept"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "oversized header and body: scored on the first 64k, accepted"
grep -q 'truncated (scored on the first bytes)' "$LOG"
ok $? "oversized: the log line says it was truncated"
alive "after the oversized message"

out=$($MC "$SOCK" abort 2>&1)
case $out in *"verdict continue continue accept"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "abort mid-message, then a whole message on the same connection"

# a second client: opendkim-tools' miltertest with a Lua script
if command -v miltertest >/dev/null 2>&1; then
	out=$(MILTER_SOCKET="$SOCK" miltertest -s "$TOP_SRCDIR/tests/milter/basic.lua" 2>&1)
	r=$?
	[ $r -eq 0 ] || diag "$out"
	ok $r "miltertest basic.lua: headers inserted and removed, GTUBE rejected"
else
	ok 1 "miltertest is not installed (Debian package miltertest, tests/install-deps.sh)"
fi

out=$($MC "$SOCK" concurrent $CONCURRENT 2>&1)
is "$out" "accept $CONCURRENT" "$CONCURRENT concurrent connections, each accepted"
alive "after $CONCURRENT concurrent connections"

# --- signals -------------------------------------------------------------------

kill -HUP "$MPID"
i=0
while ! grep -q 'reloaded: generation 2' "$LOG" && [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q 'reloaded: generation 2' "$LOG"
ok $? "SIGHUP: reloaded"
kill -0 "$MPID" 2>/dev/null
ok $? "SIGHUP: still running"
alive "SIGHUP: still answering"

# a reload during traffic: messages in flight finish on the old rules
$MC "$SOCK" concurrent 100 >"$SCRATCH/conc.out" 2>&1 &
CPID=$!
kill -HUP "$MPID"
wait $CPID
is "$(cat "$SCRATCH/conc.out")" "accept 100" "SIGHUP during 100 connections: none dropped"

cp "$CONF" "$SCRATCH/good.conf"
echo "reject_score = lots" >>"$CONF"
kill -HUP "$MPID"
i=0
while ! grep -q 'reload failed' "$LOG" && [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q 'reload failed, keeping the running configuration' "$LOG"
ok $? "a bad configuration: reload fails, logged"
out=$($MC "$SOCK" run --msg "$M/gtube.eml" 2>&1)
case $out in *"reply 550 5.7.1 "*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "a failed reload keeps the old configuration"
cp "$SCRATCH/good.conf" "$CONF"

kill -USR1 "$MPID"
i=0
while [ ! -f "$RUN/stats" ] && [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
n=$(awk '$1 == "messages" { print $2 }' "$RUN/stats" 2>/dev/null)
[ "${n:-0}" -ge $((CONCURRENT + 100)) ]
ok $? "SIGUSR1: stats file written (messages ${n:-none})"
grep -q '^action_reject [1-9]' "$RUN/stats" && grep -q '^p99_ms ' "$RUN/stats" &&
    grep -q '^rule SLUICE_GTUBE ' "$RUN/stats"
ok $? "stats: actions, latency percentiles, rule hits"
grep -q 'stats: messages=' "$LOG"
ok $? "stats: also a log line"

kill -TERM "$MPID"
i=0
while kill -0 "$MPID" 2>/dev/null && [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
wait "$MPID"
rc=$?
is "$rc" 0 "SIGTERM: clean exit"
[ ! -e "$PIDF" ]
ok $? "SIGTERM: pid file removed"
if grep -Eq 'Sanitizer|runtime error:' "$LOG"; then
	grep -E -A12 'Sanitizer|runtime error' "$LOG" | head -40 |
	    while IFS= read -r l; do diag "$l"; done
	ok 1 "no sanitizer report"
else
	ok 0 "no sanitizer report (sanitizers: $SANITIZERS)"
fi

# --- SPF on: the Authentication-Results field ----------------------------------
# (the SPF results themselves are t-milter-spf.sh's; here the resolver is
# a closed loopback port, so the answer is temperror, quickly)

write_conf "spf_resolver = 127.0.0.1:1
ratelimit_client = 2/1h"
sed -i 's/^spf = no$/spf = yes/' "$CONF"
: >"$LOG"
"$SLUICE_MILTER" -f -c "$CONF" >"$LOG" 2>&1 &
MPID=$!
i=0
while [ ! -S "$RUN/milter.sock" ] && [ $i -lt $((WAIT_MAX * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
out=$($MC "$SOCK" run --helo 'odd"helo (x)' --from 'we ird"@example.com' 2>&1)
got=$(printf '%s\n' "$out" | grep '^insheader 0 Authentication-Results')
case $got in
'insheader 0 Authentication-Results mx.sluice.test;\n	spf=temperror '*' smtp.mailfrom="we ird\"@example.com" smtp.helo="odd\"helo (x)"') r=0 ;;
*) r=1; diag "$got" ;;
esac
ok $r "SPF: Authentication-Results with the result, RFC 8601 quoting"
case $out in *"insheader 0 Authentication-Results"*"verdict accept"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "SPF: added last, at index 0 (above the X-Spam-* fields)"
# rate limit per client (2 an hour): the first took one token
out=$($MC "$SOCK" run --client 198.51.100.7 2>&1)
case $out in *"verdict accept"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "ratelimit_client 2/1h: 1st message from a client accepted"
$MC "$SOCK" run --client 198.51.100.7 >/dev/null 2>&1
out=$($MC "$SOCK" run --client 198.51.100.7 2>&1)
case $out in *"reply 451 4.7.1 "*"verdict tempfail"*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "ratelimit_client 2/1h: 3rd message gets 451 4.7.1 at MAIL FROM"
out=$($MC "$SOCK" run --client 127.0.0.1 2>&1; $MC "$SOCK" run --client 127.0.0.1 2>&1; $MC "$SOCK" run --client 127.0.0.1 2>&1)
case $out in *"reply 4"*) r=1; diag "$out" ;; *) r=0 ;; esac
ok $r "ratelimit_client: trusted networks are not limited"
grep -q 'rate limit client 198.51.100.7 exceeded, action=ratelimit' "$LOG"
ok $? "rate limit logged"
kill -TERM "$MPID"
wait "$MPID"
is "$?" 0 "SPF on: clean exit"
if grep -Eq 'Sanitizer|runtime error:' "$LOG"; then
	grep -E -A12 'Sanitizer|runtime error' "$LOG" | head -40 |
	    while IFS= read -r l; do diag "$l"; done
	ok 1 "SPF on: no sanitizer report"
else
	ok 0 "SPF on: no sanitizer report"
fi

done_testing
