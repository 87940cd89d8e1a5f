#!/bin/sh
# bench-milter.sh - issue 6's benchmark: messages per second through a
# real Postfix on the loopback with no milter, with sluice-milter, and
# with rspamd 3.4's milter (rspamd_proxy, self-scan), the same stock
# SpamAssassin rules in both; the throughput cost of each milter, the
# end-of-DATA latency seen by the SMTP client, sluice-milter's own
# per-message times (its log's ms=) and the CPU per message of each
# milter's processes.
#
#   tests/bench/bench-milter.sh [BUILDDIR]
#	BUILDDIR holds sluice and sluice-milter (default: .)
#
# The bed (root only: Postfix): a scratch Postfix instance (own
# config_directory, queue, data dir and log; smtpd on a free 127.0.0.1
# port, no chroot) relays every message to Postfix's smtp-sink on
# another free loopback port (relayhost = [127.0.0.1]:PORT), so that
# delivery costs little. A python3 SMTP client (smtp-source sends no
# corpus files: -F is one file for all) sends BENCH_MILTER_N (default
# 300) corpus messages, evenly spaced over easy-ham-2, hard-ham-1 and
# spam-2 as bench-rspamd.sh picks them, over BENCH_MILTER_CONC (default
# 4) parallel sessions, one SMTP connection per message as ordinary
# clients make (so the milter sees one connection per message too).
#
# Measured per run, after a warm-up of BENCH_MILTER_WARM (default 40)
# messages (caches, Lua, workers started) and an empty queue:
#  - msgs/s: N / (first connect .. the queue empty again, i.e. every
#    message relayed to smtp-sink; Postfix's log must say status=sent N
#    times);
#  - end-of-DATA latency at the client: from the last byte of the
#    message to Postfix's reply (the milter's whole end-of-message work
#    plus Postfix's queue-file commit), p50/p90/p99;
#  - sluice-milter: the ms= of its per-message log lines (time spent
#    in the milter for that message), p50/p90/p99;
#  - CPU (user+sys, from /proc) of the milter's processes over the run,
#    per message.
#
# The milters score and add headers, and reject nothing (every message
# must reach the sink to count): sluice-milter with reject_score
# BENCH_REJECT (1000), no greylisting (greylist_score off), no SPF, no
# rate limits, LMDB store in the scratch dir, rules filters/sluice-
# default.cf + /usr/share/spamassassin, score_cache_dir in the scratch
# dir (or BENCH_MILTER_CACHE=DIR to keep it) warmed by `sluice score
# --lint` before the milter starts, so the Hyperscan compilation is not
# timed;
# rspamd from tests/bench/rspamd/ (rspamd.conf, local.d, override.d,
# disabled-modules, milter/*: see README-milter.md) with a scratch
# local.d/actions.conf raising reject to BENCH_REJECT, a scratch
# redis-server for its Bayes (untrained in both: same footing),
# BENCH_RSPAMD_HS_CACHE=DIR to reuse its Hyperscan databases (copy one:
# rspamd prunes the dir). BENCH_MILTER_RSPAMD=0 skips the rspamd run.
# BENCH_MILTER_RULES="FILE..." replaces sluice-milter's score_rules (e.g.
# a file with only "required_score 5": the milter protocol's own cost,
# what any milter costs Postfix here).
# BENCH_KEEP=1 copies the scratch dir (logs, latencies) to
# /tmp/bench-milter.PID.
#
# sluice-milter runs once per socket kind in BENCH_MILTER_SOCKS (default
# "unix inet"): unix as examples/postfix/milter.cf ships it, inet
# (127.0.0.1) the transport rspamd's milter has here. On TCP, the
# milter's replies at end of message (one packet per header change)
# meet Nagle and delayed ACKs: the inet row shows what that costs.
#
# Everything listens on 127.0.0.1 only; every process started here is
# stopped by its PID at exit; the scratch dir is removed.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-.}" && pwd)
TOP_SRCDIR=$TOP
TOP_BUILDDIR=$B
export TOP_SRCDIR TOP_BUILDDIR
. "$TOP/tests/integ/lib.sh"

N=${BENCH_MILTER_N:-300}
CONC=${BENCH_MILTER_CONC:-4}
WARM=${BENCH_MILTER_WARM:-40}
DO_RSPAMD=${BENCH_MILTER_RSPAMD:-1}
# unix: as examples/postfix/milter.cf; inet: the transport rspamd uses
SOCKS=${BENCH_MILTER_SOCKS:-unix inet}
REJECT=${BENCH_REJECT:-1000}
SA_RULES=${BENCH_SA_RULES:-/usr/share/spamassassin}
SA_SITE=${BENCH_SA_SITE:-/etc/spamassassin}
HS_CACHE=${BENCH_RSPAMD_HS_CACHE:-}
SLUICE_MILTER="$B/sluice-milter"
MUSER=nobody
# waits, in tenths of a second
START_WAIT=600		# a daemon up and answering (rule load included)
HS_WAIT=3000		# rspamd's Hyperscan databases loaded

die() { echo "bench-milter.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (it runs a scratch Postfix)"
for t in postfix postconf smtp-sink python3; do
	command -v "$t" >/dev/null 2>&1 || die "$t not installed"
done
[ -x "$SLUICE_MILTER" ] || die "no sluice-milter in $B"
[ -x "$SLUICE" ] || die "no sluice in $B"
if [ "$DO_RSPAMD" = 1 ]; then
	for t in rspamd redis-server redis-cli; do
		command -v "$t" >/dev/null 2>&1 ||
		    die "$t not installed (BENCH_MILTER_RSPAMD=0 skips rspamd)"
	done
fi

scratch
chmod 755 "$SCRATCH"
trap 'exit 1' HUP INT TERM PIPE
S=$SCRATCH

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
tree() {	# PIDs of process P and its descendants
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		tree "$c"
	done
}
proc_cpu() {	# CPU seconds of P, its descendants and their reaped children
	tck=$(getconf CLK_TCK)
	for p in $(tree "$1"); do
		cat "/proc/$p/stat" 2>/dev/null
	done | sed 's/^.*) //' |
	    awk -v t="$tck" '{ s += $12 + $13 + $14 + $15 } END { printf "%.3f\n", s / t }'
}
stop_tree() {	# TERM to the top, then KILL what is left, by PID
	st_pids=$(tree "$1")
	kill "$1" 2>/dev/null
	i=0
	while [ "$i" -lt 40 ]; do
		alive=
		for p in $st_pids; do
			kill -0 "$p" 2>/dev/null && alive="$alive $p"
		done
		[ -z "$alive" ] && return 0
		sleep 0.25
		i=$((i + 1))
	done
	for p in $alive; do
		kill -9 "$p" 2>/dev/null
	done
}
wait_port() {	# wait_port PORT PID: until PORT accepts (PID must live)
	i=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1).close()" 2>/dev/null; do
		kill -0 "$2" 2>/dev/null || return 1
		i=$((i + 1))
		[ "$i" -gt "$START_WAIT" ] && return 1
		sleep 0.1
	done
}

# -- corpus: N + WARM messages, evenly spaced (as bench-rspamd.sh)
CORPUS=$(corpus_dir) || die "cannot fetch the corpus"
for f in easy-ham-2 hard-ham-1 spam-2; do
	find "$CORPUS/$f" -name '*.txt' -type f | LC_ALL=C sort
done >"$S/all"
awk -v k="$((N + WARM))" '{ a[NR] = $0 }
    END { for (i = 0; i < k && i < NR; i++) print a[int(i * NR / k) + 1] }' \
    "$S/all" >"$S/picked"
head -n "$WARM" "$S/picked" >"$S/warm.list"
tail -n +"$((WARM + 1))" "$S/picked" >"$S/run.list"
N=$(wc -l <"$S/run.list")

# -- the SMTP client: one connection per message, CONC sessions at once;
# prints "sent OK of TOTAL", the reply codes, elapsed until the queue
# is empty again, and the end-of-DATA latencies (ms, one a line) to
# the file named by its 4th argument.
cat >"$S/client.py" <<'PYEOF'
import os, re, smtplib, socket, sys, threading, time
port, listfile, qdir, latfile, conc = sys.argv[1:6]
port, conc = int(port), int(conc)
DRAIN_MAX = 300.0	# seconds for the queue to empty after the last send
msgs = []
for f in open(listfile).read().split():
    d = open(f, 'rb').read()
    if d.startswith(b'From '):		# mbox separator, not a header
        d = d.split(b'\n', 1)[1] if b'\n' in d else b''
    d = re.sub(rb'\r?\n', b'\r\n', d)
    if not d.endswith(b'\r\n'):
        d += b'\r\n'
    d = re.sub(rb'(?m)^\.', b'..', d)	# dot-stuffing
    msgs.append(d)
lock = threading.Lock()
nxt = [0]
lat, codes = [], {}
def worker():
    while True:
        with lock:
            i = nxt[0]
            nxt[0] += 1
        if i >= len(msgs):
            return
        code = '000'
        try:
            s = smtplib.SMTP('127.0.0.1', port, local_hostname='client.bench.test', timeout=300)
            c, _ = s.mail('<bench@example.org>')
            if c == 250:
                c, _ = s.rcpt('<user%d@bench.test>' % i)
            if c == 250:
                s.putcmd('data')
                c, _ = s.getreply()
            if c == 354:
                s.send(msgs[i] + b'.\r\n')
                t0 = time.monotonic()
                c, _ = s.getreply()
                t1 = time.monotonic()
                with lock:
                    lat.append((t1 - t0) * 1000.0)
            code = str(c)
            try:
                s.quit()
            except Exception:
                pass
        except (smtplib.SMTPException, OSError) as e:
            code = 'err'
        with lock:
            codes[code] = codes.get(code, 0) + 1
def queued():
    n = 0
    for sub in ('maildrop', 'incoming', 'active', 'deferred', 'hold'):
        for _, _, fs in os.walk(os.path.join(qdir, sub)):
            n += len(fs)
    return n
t0 = time.monotonic()
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts:
    t.start()
for t in ts:
    t.join()
tsent = time.monotonic()
while queued() and time.monotonic() - tsent < DRAIN_MAX:
    time.sleep(0.02)
tend = time.monotonic()
with open(latfile, 'w') as fh:
    for v in lat:
        fh.write('%.3f\n' % v)
print('ok %d total %d sent_s %.3f elapsed_s %.3f left %d codes %s' % (
    codes.get('250', 0), len(msgs), tsent - t0, tend - t0, queued(),
    ','.join('%s:%d' % kv for kv in sorted(codes.items()))))
PYEOF

pct() {		# pct FILE: p50 p90 p99 max of the numbers in FILE
	sort -n "$1" | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "- - - -"; exit }
		split("50 90 99", p, " ")
		for (j = 1; j <= 3; j++) { k = int(p[j] * NR / 100 + 0.999999); if (k < 1) k = 1
			printf "%.1f ", a[k] }
		printf "%.1f\n", a[NR] }'
}

# -- smtp-sink: the next hop, accepts everything, keeps nothing
SINKPORT=$(free_port)
smtp-sink -u "$MUSER" "127.0.0.1:$SINKPORT" 256 >"$S/sink.log" 2>&1 &
sinkpid=$!
on_exit "kill $sinkpid"
wait_port "$SINKPORT" "$sinkpid" || die "smtp-sink did not start"

# -- the scratch Postfix
PF="$S/postfix"
CONF="$PF/etc"
QDIR="$PF/spool"
mkdir -p "$CONF" "$QDIR" "$PF/data" || die "cannot create $PF"
chown postfix "$PF/data" || die "cannot chown $PF/data"
chmod 755 "$PF" "$CONF"
PORT=$(free_port)
cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $CONF
queue_directory = $QDIR
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
myhostname = mx.bench.test
mydomain = bench.test
myorigin = bench.test
mydestination =
relay_domains =
relayhost = [127.0.0.1]:$SINKPORT
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtp_host_lookup = native
disable_dns_lookups = yes
smtputf8_enable = no
biff = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
message_size_limit = 52428800
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
EOF
# Debian's master.cf without chroot (the scratch queue has no chroot
# tree), smtpd on the free port, no pipe transports
awk -v port="$PORT" 'NF >= 8 && $1 !~ /^#/ {
	if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" port
	$5 = "n" } { print }' /etc/postfix/master.cf |
    grep -v 'flags=\|maildrop\|uucp' >"$CONF/master.cf"
grep -q "^127.0.0.1:$PORT" "$CONF/master.cf" || die "no smtpd line in master.cf"
pf_stop() {
	postfix -c "$CONF" stop >/dev/null 2>&1
	if [ -f "$QDIR/pid/master.pid" ]; then
		pid=$(tr -cd 0-9 <"$QDIR/pid/master.pid")
		i=0
		while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	fi
}
on_exit pf_stop
postfix -c "$CONF" check >"$PF/check.out" 2>&1 || die "postfix check: $(tail -3 "$PF/check.out")"
postfix -c "$CONF" start >"$PF/start.out" 2>&1 || die "postfix start: $(tail -3 "$PF/start.out")"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 100 ] && die "smtpd not listening on 127.0.0.1:$PORT"
	sleep 0.1
done
PFPID=$(tr -cd 0-9 <"$QDIR/pid/master.pid")
[ -n "$PFPID" ] || die "no Postfix master pid"

# set_milter SOCKET|"": smtpd_milters, then reload
set_milter() {
	if [ -n "$1" ]; then
		postconf -c "$CONF" -e "smtpd_milters = $1" \
		    "non_smtpd_milters =" "milter_protocol = 6" \
		    "milter_default_action = tempfail" \
		    "milter_connect_macros = j {daemon_name} v {client_addr} {client_name}" \
		    "milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr}" \
		    "milter_rcpt_macros = i {rcpt_addr}" \
		    "milter_end_of_data_macros = i"
	else
		postconf -c "$CONF" -e "smtpd_milters ="
	fi
	postfix -c "$CONF" reload >/dev/null 2>&1 || die "postfix reload failed"
	sleep 2		# the old smtpd processes finish
}

sent_count() { awk '/ status=sent / { n++ } END { print n + 0 }' "$PF/maillog" 2>/dev/null; }

RESULTS="$S/results"
: >"$RESULTS"
# run NAME CPUPID: warm-up, then the measured run; appends a result row
run() {
	rn=$1
	rpid=$2
	python3 "$S/client.py" "$PORT" "$S/warm.list" "$QDIR" "$S/$rn.warmlat" "$CONC" \
	    >"$S/$rn.warm" 2>&1 || die "$rn: warm-up client failed: $(tail -3 "$S/$rn.warm")"
	echo "# $rn warm-up: $(cat "$S/$rn.warm")"
	[ -n "${MLOG:-}" ] && ml0=$(wc -l <"$MLOG")
	s0=$(sent_count)
	c0=0
	[ -n "$rpid" ] && c0=$(proc_cpu "$rpid")
	p0=$(proc_cpu "$PFPID")
	python3 "$S/client.py" "$PORT" "$S/run.list" "$QDIR" "$S/$rn.lat" "$CONC" \
	    >"$S/$rn.out" 2>&1 || die "$rn: client failed: $(tail -3 "$S/$rn.out")"
	c1=0
	[ -n "$rpid" ] && c1=$(proc_cpu "$rpid")
	p1=$(proc_cpu "$PFPID")
	sleep 0.5
	s1=$(sent_count)
	echo "# $rn run: $(cat "$S/$rn.out"); status=sent $((s1 - s0))"
	[ "$((s1 - s0))" -eq "$N" ] ||
	    echo "# warning: $rn: $((s1 - s0)) of $N messages relayed (status=sent)"
	el=$(sed -n 's/.*elapsed_s \([0-9.]*\).*/\1/p' "$S/$rn.out")
	okn=$(sed -n 's/^ok \([0-9]*\).*/\1/p' "$S/$rn.out")
	# four numbers, split on purpose
	# shellcheck disable=SC2046
	set -- $(pct "$S/$rn.lat")
	own="- - - - 0"
	if [ -n "${MLOG:-}" ]; then
		tail -n +"$((ml0 + 1))" "$MLOG" | sed -n "$OWNRE" >"$S/$rn.own"
		own="$(pct "$S/$rn.own") $(wc -l <"$S/$rn.own")"
		echo "# $rn: $(wc -l <"$S/$rn.own") per-message lines in the milter's log"
	fi
	echo "$rn $okn $el $1 $2 $3 $4 $(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
	    "$(awk -v a="$p0" -v b="$p1" 'BEGIN { print b - a }') $own" >>"$RESULTS"
}

echo "# bench-milter: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(postconf -d mail_version 2>/dev/null); $N messages (+$WARM warm-up) from easy-ham-2, hard-ham-1, spam-2; $CONC SMTP sessions in parallel, one connection per message; relay to smtp-sink"

# -- 1. no milter
MLOG=
set_milter ""
run none ""

# -- 2. sluice-milter, on each socket kind of BENCH_MILTER_SOCKS
RUN="$S/run"
CACHE=${BENCH_MILTER_CACHE:-$S/cache}
mkdir -p "$RUN" "$CACHE" || die "cannot create $RUN"
chown "$MUSER" "$RUN" || die "cannot chown $RUN"
# smtpd runs as postfix and must reach a unix socket in $RUN
chmod 777 "$RUN"
SCONF="$S/sluice.conf"
# write_sconf SOCKET
write_sconf() {
	cat >"$SCONF" <<EOF
score_rules = ${BENCH_MILTER_RULES:-$TOP/filters/sluice-default.cf $SA_RULES}
score_cache_dir = $CACHE
store = lmdb:$RUN/state
milter_socket = $1
milter_user = $MUSER
milter_pid_file = $RUN/milter.pid
authserv_id = mx.bench.test
reject_score = $REJECT
spf = no
EOF
	chmod 644 "$SCONF"
}
write_sconf "unix:$RUN/milter.sock"
# compile (Hyperscan) and cache the rules once, untimed
t0=$(date +%s.%N)
"$SLUICE" score -c "$SCONF" --lint >"$S/warmscore.out" 2>&1 ||
    echo "# warning: sluice score (cache warm-up) failed: $(tail -2 "$S/warmscore.out")"
chmod -R a+rX "$CACHE"
echo "# sluice score cache warm-up: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
for sk in $SOCKS; do
	case $sk in
	unix)	msock="unix:$RUN/milter.sock"
		pfsock="unix:$RUN/milter.sock" ;;
	inet)	MPORT=$(free_port)
		msock="inet:$MPORT@127.0.0.1"
		pfsock="inet:127.0.0.1:$MPORT" ;;
	*)	die "BENCH_MILTER_SOCKS: unix or inet, not $sk" ;;
	esac
	write_sconf "$msock"
	rm -f "$RUN/milter.sock"
	MLOG="$S/milter-$sk.log"
	OWNRE='s/.* action=.* ms=\([0-9]*\) .*/\1/p'	# its per-message line
	"$SLUICE_MILTER" -f -c "$SCONF" >"$MLOG" 2>&1 &
	mpid=$!
	on_exit "stop_tree $mpid"
	if [ "$sk" = unix ]; then
		i=0
		while [ ! -S "$RUN/milter.sock" ] && [ $i -lt "$START_WAIT" ]; do
			kill -0 "$mpid" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		[ -S "$RUN/milter.sock" ] || { tail -5 "$MLOG" >&2; die "sluice-milter did not start"; }
		# the milter makes it 0660 for milter_user's group; smtpd
		# runs as postfix, in no group of nobody's
		chmod 666 "$RUN/milter.sock"
	else
		wait_port "$MPORT" "$mpid" || { tail -5 "$MLOG" >&2; die "sluice-milter did not start"; }
	fi
	echo "# sluice-milter ($sk socket) up: $(proc_cpu "$mpid") s CPU at start (rules loaded)"
	set_milter "$pfsock"
	run "sluice-$sk" "$mpid"
	grep -q 'Sanitizer\|runtime error:' "$MLOG" && echo "# warning: sanitizer report in the milter log"
	set_milter ""
	stop_tree "$mpid"
done
MLOG=

# -- 3. rspamd 3.4's milter
if [ "$DO_RSPAMD" = 1 ]; then
	CONFSRC="$TOP/tests/bench/rspamd"
	R="$S/rspamd"
	mkdir -p "$R/conf/local.d" "$R/conf/override.d" "$R/db" "$R/run" \
	    "$R/log" "$R/redis"
	cp "$CONFSRC"/local.d/* "$R/conf/local.d/"
	cp "$CONFSRC"/override.d/* "$R/conf/override.d/"
	cp "$CONFSRC/milter/worker-milter.conf" "$R/conf/"
	cp "$CONFSRC/milter/milter_headers.conf" "$R/conf/local.d/"
	sed 's/#.*//' "$CONFSRC/disabled-modules" | while read -r m; do
		[ -n "$m" ] || continue
		echo "enabled = false;" >"$R/conf/local.d/$m.conf"
	done
	# nothing rejected, as with sluice-milter: every message counts
	[ -f "$R/conf/local.d/actions.conf" ] && die "local.d/actions.conf exists upstream"
	echo "reject = $REJECT;" >"$R/conf/local.d/actions.conf"
	HS_DIR="$R/db"
	if [ -n "$HS_CACHE" ]; then
		mkdir -p "$HS_CACHE/sa1" || die "cannot create $HS_CACHE"
		HS_DIR=$(cd "$HS_CACHE/sa1" && pwd)
	fi
	ru=_rspamd
	id "$ru" >/dev/null 2>&1 || ru=$MUSER
	chown -R "$ru:$(id -gn "$ru")" "$R/db" "$R/run" "$R/log" "$HS_DIR"
	RPORT=$(free_port)
	redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
	    --dir "$R/redis" --daemonize no --loglevel warning \
	    >"$R/log/redis.log" 2>&1 &
	redpid=$!
	on_exit "kill $redpid"
	i=0
	until [ "$(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null)" = PONG ]; do
		i=$((i + 1))
		[ "$i" -gt 40 ] && die "redis-server did not start"
		sleep 0.25
	done
	NPORT=$(free_port)
	CPORT=$(free_port)
	DPORT=$(free_port)	# nothing listens: every DNS query fails at once
	PPORT=$(free_port)
	rspamd -f -u "$ru" -g "$(id -gn "$ru")" -c "$CONFSRC/rspamd.conf" \
	    --var "LOCAL_CONFDIR=$R/conf" --var "DBDIR=$R/db" \
	    --var "RUNDIR=$R/run" --var "LOGDIR=$R/log" \
	    --var "NORMAL_PORT=$NPORT" --var "CONTROLLER_PORT=$CPORT" \
	    --var "PROXY_PORT=$PPORT" \
	    --var "REDIS_PORT=$RPORT" --var "DNS_PORT=$DPORT" \
	    --var "SA_RULES=$SA_RULES" --var "SA_SITE=$SA_SITE" --var "HS_DIR=$HS_DIR" \
	    >"$R/log/stdout.log" 2>&1 &
	spid=$!
	on_exit "stop_tree $spid"
	wait_port "$PPORT" "$spid" || die "rspamd did not start: $(tail -3 "$R/log/rspamd.log")"
	# the proxy (milter) workers scan with the Hyperscan databases once
	# they are loaded: wait for the compile (or the cache) as
	# bench-rspamd.sh does
	i=0
	while :; do
		nl=$(grep -c '(rspamd_proxy).*hyperscan database.*loaded' "$R/log/rspamd.log" 2>/dev/null)
		[ "${nl:-0}" -ge 2 ] && break
		grep -q '(main).*full hyperscan database.*loaded' "$R/log/rspamd.log" &&
		    grep -q '(hs_helper).*compiled 0 regular expressions' "$R/log/rspamd.log" && break
		i=$((i + 1))
		[ "$i" -gt "$HS_WAIT" ] && { echo "# warning: rspamd's Hyperscan not loaded after $((HS_WAIT / 10)) s"; break; }
		sleep 0.1
	done
	echo "# rspamd up: $(proc_cpu "$spid") s CPU at start (Hyperscan $( [ -n "$HS_CACHE" ] && echo "cache $HS_CACHE" || echo compiled))"
	set_milter "inet:127.0.0.1:$PPORT"
	# rspamd's per-message task log line: the scan's time
	MLOG="$R/log/rspamd.log"
	OWNRE='/rspamd_task_write_log/s/.*, time: \([0-9.]*\)ms.*/\1/p'
	run rspamd-milter "$spid"
	MLOG=
	set_milter ""
	stop_tree "$spid"
fi

# -- the table
echo "# msgs/s: N / (first connect .. queue empty, all relayed); cost: throughput lost vs no milter; eod: end-of-DATA reply latency at the client (ms); cpu: the milter's processes, pf_cpu: all of Postfix's (ms per message); own: the milter's own time per message from its log (sluice: ms=, rspamd: task time), ms"
awk -v n="$N" '
	{ name[NR] = $1; ok[NR] = $2; el[NR] = $3; p50[NR] = $4; p90[NR] = $5; p99[NR] = $6
	  mx[NR] = $7; cpu[NR] = $8; pf[NR] = $9; o50[NR] = $10; o90[NR] = $11; o99[NR] = $12 }
	END {
		printf "%-14s %4s %7s %6s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n",
		    "run", "ok", "msgs/s", "cost%", "eod_p50", "eod_p90", "eod_p99", "eod_max",
		    "cpu", "pf_cpu", "own_p50", "own_p90", "own_p99"
		base = (el[1] > 0) ? n / el[1] : 0
		for (i = 1; i <= NR; i++) {
			r = (el[i] > 0) ? n / el[i] : 0
			printf "%-14s %4d %7.1f %6s %7s %7s %7s %7s %7s %7.2f %7s %7s %7s\n",
			    name[i], ok[i], r,
			    (i == 1 ? "-" : sprintf("%.1f", (base > 0 ? 100 * (1 - r / base) : 0))),
			    p50[i], p90[i], p99[i], mx[i],
			    (i == 1 ? "-" : sprintf("%.2f", cpu[i] * 1000 / n)), pf[i] * 1000 / n,
			    o50[i], o90[i], o99[i]
		}
	}' "$RESULTS"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
	cp -r "$S" "/tmp/bench-milter.$$" && echo "# kept: /tmp/bench-milter.$$"
fi
exit 0
