#!/bin/sh
# t-milter-spf.sh - SPF through the milter's isolated helper, driven by
# `sluice-milter --spf-check` against DNS servers this test starts on
# loopback: dnsmasq (Debian's dnsmasq-base) serving the test records, a
# port where nothing listens, and a UDP black hole that never answers.
# Results pass, fail, softfail, neutral, none, permerror, temperror for
# MAIL FROM and HELO; records with hostile macros (deep and reversed
# %{...} expansions, the CVE-2023-42118 style %{l1r-} underflow inputs,
# labels and names over the DNS limits) end in a clean result; every
# check stays within its deadline; the worker runs as the unprivileged
# user; a worker killed mid-check gives temperror and is replaced.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integ/lib.sh"

need_root
scratch
: "${SLUICE_MILTER:=$TOP_BUILDDIR/sluice-milter}"
[ -x "$SLUICE_MILTER" ] || bail "no sluice-milter at $SLUICE_MILTER"
DNSMASQ=/usr/sbin/dnsmasq
[ -x "$DNSMASQ" ] || bail "no $DNSMASQ (tests/install-deps.sh installs dnsmasq-base)"
command -v python3 >/dev/null 2>&1 || bail "python3 is needed"
id nobody >/dev/null 2>&1 || bail "no user nobody"
SLACK=700		# ms a check may take past its deadline (fork, exec)

free_port() {		# a free UDP+TCP port on 127.0.0.1
	python3 -c 'import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break'
}

DNS_PORT=$(free_port)
DEAD_PORT=$(free_port)
HOLE_PORT=$(free_port)
[ -n "$DNS_PORT" ] && [ -n "$DEAD_PORT" ] && [ -n "$HOLE_PORT" ] ||
    bail "no free ports"

LONG_LABEL=$(printf '%070d' 0 | tr 0 a)
LONG_LOCAL=$(printf '%0200d' 0 | tr 0 b)
# 11 include: mechanisms: one over RFC 7208 4.6.4's 10 lookups
MANY=""
i=0
while [ $i -lt 11 ]; do MANY="$MANY include:i$i.test"; i=$((i + 1)); done

# Over 512 bytes: dnsmasq truncates the UDP answer, the helper must ask
# again over TCP (RFC 7766) to see the last mechanism.
BIG1="v=spf1"
BIG2=""
i=1
while [ $i -le 12 ]; do BIG1="$BIG1 ip4:198.51.100.$i/32"; i=$((i + 1)); done
while [ $i -le 24 ]; do BIG2="$BIG2 ip4:198.51.100.$i/32"; i=$((i + 1)); done
BIG3=""
while [ $i -le 36 ]; do BIG3="$BIG3 ip4:198.51.100.$i/32"; i=$((i + 1)); done
BIG3="$BIG3 ip4:192.0.2.5 -all"

"$DNSMASQ" --no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 \
    --bind-interfaces --no-resolv --no-hosts --pid-file= --local=/test/ \
    --log-facility=- \
    --txt-record=pass.test,"v=spf1 ip4:192.0.2.0/24 -all" \
    --txt-record=fail.test,"v=spf1 -all" \
    --txt-record=soft.test,"v=spf1 ~all" \
    --txt-record=neutral.test,"v=spf1 ?all" \
    --txt-record=notspf.test,"hello world" \
    --txt-record=helo.test,"v=spf1 ip4:192.0.2.1 -all" \
    --txt-record=badhelo.test,"v=spf1 -all" \
    --txt-record=two.test,"v=spf1 -all" \
    --txt-record=two.test,"v=spf1 +all" \
    --txt-record=badmech.test,"v=spf1 foo:bar -all" \
    --txt-record=badcidr.test,"v=spf1 ip4:192.0.2.0/99 -all" \
    --txt-record=mx.test,"v=spf1 mx a:host.mx.test -all" \
    --mx-host=mx.test,mail.mx.test,10 \
    --address=/mail.mx.test/192.0.2.8 --address=/host.mx.test/192.0.2.9 \
    --txt-record=split.test,"v=spf1 ip4:192.0.2.7"," -all" \
    --txt-record=big.test,"$BIG1","$BIG2","$BIG3" \
    --txt-record=loop.test,"v=spf1 include:loop.test -all" \
    --txt-record=many.test,"v=spf1$MANY -all" \
    --txt-record=refused.test,"v=spf1 include:nowhere.invalid -all" \
    --txt-record=m1.test,"v=spf1 exists:%{l1r-}.%{d}.x.test -all" \
    --txt-record=m2.test,"v=spf1 exists:%{l2147483647r-}.%{d1000000r}.x.test -all" \
    --txt-record=m3.test,"v=spf1 exists:%{ir}.%{v}.%{h}.%{o}.%{d}.%{s}.%{l}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.x.test -all" \
    --txt-record=m4.test,"v=spf1 exists:%{l0r-} -all" \
    --txt-record=m5.test,"v=spf1 exists:%{lr-.+,/_=}.%{lr-}.%{lr-}.%{lr-}.%{lr-}.%{lr-}.x.test -all" \
    --txt-record=m6.test,"v=spf1 exists:%{l}.x.test -all" \
    --txt-record=m7.test,"v=spf1 exists:$LONG_LABEL.x.test -all" \
    --txt-record=m8.test,"v=spf1 exists:%{p}.%{p}.%{p}.x.test -all exp=e.m8.test" \
    --txt-record=e.m8.test,"%{l1r-}%{d2147483647}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}%{s}" \
    --txt-record=m9.test,"v=spf1 exists:%{x} -all" \
    --txt-record=m10.test,"v=spf1 exists:%% -all" \
    --txt-record=m11.test,"v=spf1 exists:%{l1r-}%{l1r-}%{l1r-}%{l1r-}%{l1r-}%{l1r-}%{l1r-}%{l1r-}.x.test redirect=m1.test" \
    >"$SCRATCH/dnsmasq.log" 2>&1 &
DNS_PID=$!
on_exit "kill $DNS_PID 2>/dev/null; wait $DNS_PID 2>/dev/null"

# A DNS server that reads and never answers.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[1])))
t.listen(8)
end = time.time() + 600
s.settimeout(1)
while time.time() < end:
    try:
        s.recv(4096)
    except socket.timeout:
        pass' "$HOLE_PORT" &
HOLE_PID=$!
on_exit "kill $HOLE_PID 2>/dev/null; wait $HOLE_PID 2>/dev/null"

n=0
while :; do
	if python3 -c 'import socket, sys
q = bytes.fromhex("abcd01000001000000000000") + b"\x04pass\x04test\x00\x00\x10\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
s.recv(512)' "$DNS_PORT" 2>/dev/null; then
		break
	fi
	n=$((n + 1))
	[ $n -lt 50 ] || bail "dnsmasq does not answer on port $DNS_PORT: $(cat "$SCRATCH/dnsmasq.log")"
	sleep 0.1
done

# spf [-t MS] [-r RESOLVER] IP HELO FROM...: the lines of --spf-check
spf() {
	"$SLUICE_MILTER" --spf-check -r "127.0.0.1:$DNS_PORT" "$@" \
	    2>>"$SCRATCH/spf.err"
}

field() {		# field NAME LINE
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

# ---- one row per result: IP HELO FROM want-mailfrom want-helo ----
while read -r ip helo from wmf whelo why; do
	[ "$from" = "<>" ] && from=""
	out=$(spf -t 3000 "$ip" "$helo" "$from")
	rc=$?
	got="$(field mailfrom "$out") $(field helo "$out")"
	is "$rc $got" "0 $wmf $whelo" "$why: $ip $helo <$from> ($out)"
	ms=$(field ms "$out")
	[ "${ms:-99999}" -le $((3000 + SLACK)) ]
	ok $? "$why: within the deadline (${ms} ms)"
done <<EOF
192.0.2.1 helo.test a@pass.test pass pass pass for MAIL FROM and HELO
192.0.2.1 badhelo.test a@fail.test fail fail fail
192.0.2.1 x.test a@soft.test softfail none softfail (no HELO record)
192.0.2.1 x a@neutral.test neutral none neutral (HELO not a domain)
192.0.2.1 [192.0.2.1] a@notspf.test none none none: TXT but no SPF record
192.0.2.1 x a@nxdomain.test none none none: the domain does not exist
192.0.2.1 x a@two.test permerror none permerror: two SPF records
192.0.2.1 x a@badmech.test permerror none permerror: unknown mechanism
192.0.2.1 x a@badcidr.test permerror none permerror: bad CIDR length
192.0.2.9 x a@mx.test pass none pass through a:
192.0.2.8 x a@mx.test pass none pass through mx
192.0.2.7 x a@split.test pass none pass: record in two strings
192.0.2.6 x a@split.test fail none fail: record in two strings
192.0.2.5 x a@big.test pass none pass: a record over 512 bytes (TCP)
198.51.100.3 x a@big.test pass none pass: ... its first string
192.0.2.4 x a@big.test fail none fail: ... and its end
192.0.2.1 x a@loop.test permerror none permerror: include loop
192.0.2.1 x a@many.test permerror none permerror: over 10 DNS lookups
192.0.2.1 x a@refused.test temperror none temperror: resolver refuses
192.0.2.1 helo.test <> pass pass null sender: postmaster@HELO
192.0.2.2 helo.test <> fail fail null sender: postmaster@HELO fails
2001:db8::1 helo.test a@pass.test fail fail IPv6 client, v4-only record
EOF

# ---- hostile macros: a clean answer, never a crash or a hang ----
for row in \
    "m1:a-b-c" "m1:-" "m1:---" "m1:" "m2:a-b" "m2:-" "m3:a.b-c" \
    "m4:a-b" "m5:a-b.c+d" "m5:-.-+-" "m6:$LONG_LOCAL" "m7:a" "m8:a-b" \
    "m9:a" "m10:a" "m11:-" "m11:a-b-c-d-e-f-g-h"; do
	dom=${row%%:*}
	lp=${row#*:}
	out=$(spf -t 3000 2001:db8::1 "$dom.test" "$lp@$dom.test" \
	    192.0.2.1 x "a@pass.test")
	rc=$?
	first=$(echo "$out" | sed -n 1p)
	second=$(echo "$out" | sed -n 2p)
	res=$(field mailfrom "$first")
	case "$res" in
	none|neutral|fail|softfail|pass|permerror|temperror) good=0 ;;
	*) good=1 ;;
	esac
	ok $good "hostile $dom <$(printf '%.12s' "$lp")@$dom.test>: rc $rc, $res ($first)"
	ms=$(field ms "$first")
	[ "${ms:-99999}" -le $((3000 + SLACK)) ]
	ok $? "hostile $dom: within the deadline (${ms} ms)"
	is "$(field mailfrom "$second")" "pass" \
	    "hostile $dom: the next check still works"
done

# ---- temperror: nothing listens / nothing answers, within the deadline
out=$("$SLUICE_MILTER" --spf-check -r "127.0.0.1:$DEAD_PORT" -t 2000 \
    192.0.2.1 helo.test a@pass.test 2>>"$SCRATCH/spf.err")
is "$(field mailfrom "$out") $(field helo "$out")" "temperror temperror" \
    "temperror: no DNS server on the port ($out)"
ms=$(field ms "$out")
[ "${ms:-99999}" -le $((2000 + SLACK)) ]
ok $? "temperror: refused port answered in ${ms} ms"

out=$("$SLUICE_MILTER" --spf-check -r "127.0.0.1:$HOLE_PORT" -t 1500 \
    192.0.2.1 helo.test a@pass.test 2>>"$SCRATCH/spf.err")
is "$(field mailfrom "$out")" "temperror" \
    "temperror: a DNS server that never answers ($out)"
ms=$(field ms "$out")
[ "${ms:-99999}" -ge 1000 ] && [ "${ms:-99999}" -le $((1500 + SLACK)) ]
ok $? "temperror: the deadline (1500 ms) held: ${ms} ms"

# ---- a worker killed mid-check: temperror, then a fresh worker ----
"$SLUICE_MILTER" --spf-check -r "127.0.0.1:$HOLE_PORT" -t 20000 \
    192.0.2.1 x a@pass.test >"$SCRATCH/kill.out" 2>>"$SCRATCH/spf.err" &
CLI_PID=$!
on_exit "kill $CLI_PID 2>/dev/null"
worker=""
n=0
while [ -z "$worker" ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
	sup=$(pgrep -P $CLI_PID | head -1)
	[ -n "$sup" ] && worker=$(pgrep -P "$sup" | head -1)
done
ok $([ -n "$worker" ]; echo $?) "the helper supervisor ($sup) forked a worker ($worker)"
if [ -n "$worker" ]; then
	is "$(ps -o user= -p "$worker" | tr -d ' ')" "nobody" \
	    "the worker runs as nobody"
	is "$(ps -o user= -p "$sup" | tr -d ' ')" "nobody" \
	    "the supervisor runs as nobody"
	lim=$(sed -n 's/^Max open files *\([0-9]*\).*/\1/p' "/proc/$worker/limits")
	is "$lim" "8" "the worker's RLIMIT_NOFILE is 8"
	lim=$(sed -n 's/^Max file size *\([0-9]*\).*/\1/p' "/proc/$worker/limits")
	is "$lim" "0" "the worker's RLIMIT_FSIZE is 0"
	kill -KILL "$worker"
fi
n=0
while kill -0 $CLI_PID 2>/dev/null && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
wait $CLI_PID
out=$(cat "$SCRATCH/kill.out")
is "$(field mailfrom "$out")" "temperror" \
    "a worker killed mid-check: temperror ($out)"
ms=$(field ms "$out")
[ "${ms:-99999}" -le 5000 ]
ok $? "... at once (${ms} ms), not at the 20 s deadline"

# A worker that hangs (SIGSTOP) past the deadline: the milter side
# gives up at the deadline, the supervisor kills and reaps it, and the
# next check of the same client gets a fresh worker.
"$SLUICE_MILTER" --spf-check -r "127.0.0.1:$HOLE_PORT" -t 3000 \
    192.0.2.1 x a@pass.test 192.0.2.1 x a@pass.test \
    >"$SCRATCH/stop.out" 2>>"$SCRATCH/spf.err" &
CLI_PID=$!
on_exit "kill $CLI_PID 2>/dev/null"
worker=""
n=0
while [ -z "$worker" ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
	sup=$(pgrep -P $CLI_PID | head -1)
	[ -n "$sup" ] && worker=$(pgrep -P "$sup" | head -1)
done
[ -n "$worker" ] && kill -STOP "$worker"
sleep 3.5
w2=$(pgrep -P "$sup" | head -1)
ok $([ -n "$worker" ] && [ -n "$w2" ] && [ "$w2" != "$worker" ] &&
    ! kill -0 "$worker" 2>/dev/null; echo $?) \
    "a hung worker ($worker) was killed and reaped, a new one ($w2) runs"
wait $CLI_PID
out=$(sed -n 1p "$SCRATCH/stop.out")
is "$(field mailfrom "$out")" "temperror" "hung worker: temperror ($out)"
ms=$(field ms "$out")
[ "${ms:-99999}" -ge 2900 ] && [ "${ms:-99999}" -le $((3000 + SLACK)) ]
ok $? "hung worker: the milter side gave up at the deadline (${ms} ms)"
out=$(sed -n 2p "$SCRATCH/stop.out")
is "$(field mailfrom "$out")" "temperror" "the next check ran on the new worker ($out)"

# One client, a check that times out (worker killed by the milter side)
# and then a good one: the pool replaces the worker.
out=$(spf -t 400 192.0.2.1 x a@pass.test)
is "$(field mailfrom "$out")" "pass" "a short deadline still fits a quick check ($out)"
out=$("$SLUICE_MILTER" --spf-check -r "127.0.0.1:$HOLE_PORT" -t 800 \
    192.0.2.1 x a@pass.test 192.0.2.1 x a@pass.test 2>>"$SCRATCH/spf.err")
is "$(echo "$out" | sed -n 1p | cut -d' ' -f1)" "mailfrom=temperror" \
    "black hole, 800 ms: temperror"
ms=$(field ms "$(echo "$out" | sed -n 2p)")
[ "${ms:-99999}" -le $((800 + SLACK)) ]
ok $? "... and the next check on a fresh worker also ends in time (${ms} ms)"

# Bad command lines and configuration.
"$SLUICE_MILTER" --spf-check 192.0.2.1 x >/dev/null 2>&1
is "$?" "64" "--spf-check with two arguments: usage, 64"
"$SLUICE_MILTER" --spf-check -r "not-an-address" 192.0.2.1 x a@b >/dev/null 2>&1
is "$?" "1" "--spf-check with a bad spf_resolver: 1"
"$SLUICE_MILTER" --spf-check -u no-such-user-xyz -r "127.0.0.1:$DNS_PORT" \
    192.0.2.1 x a@b >/dev/null 2>&1
is "$?" "1" "--spf-check with an unknown spf_user: 1 (the helper refuses to run as root)"

# Every process of the run (client, supervisor, workers) wrote its
# stderr here: no sanitizer report, no crash message.
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error\|Segmentation" \
    "$SCRATCH/spf.err"
ok $((1 - $?)) "no sanitizer report or crash in any helper: $(grep -m3 "Sanitizer\|runtime error" "$SCRATCH/spf.err")"

done_testing
