#!/bin/sh
# bench-rspamd.sh - CPU time per message of rspamd 3.4 (Debian's package)
# with Debian's stock SpamAssassin rules and Bayes, on the same training
# and test sets as bench-score.sh (issue 5's peer benchmark; issue 6
# compares the milter with rspamd's milter mode, see
# tests/bench/rspamd/README-milter.md).
#
#   tests/bench/bench-rspamd.sh [--milter] [BUILDDIR]
#	BUILDDIR is not used (rspamd only); the argument keeps the calling
#	convention of the other benches. --milter: measure rspamd's milter
#	(rspamd_proxy, self-scan) instead of the rspamc scan, for issue 6.
#
# Needs: rspamd and rspamc (apt-get install rspamd), redis-server, the
# corpus (tests/integ/lib.sh corpus_dir), root or the rights to run
# rspamd as the current user. Nothing touches the system's rspamd: the
# daemon runs from tests/bench/rspamd/rspamd.conf with every variable
# directory (local.d/override.d, DBDIR, RUNDIR, LOGDIR) in a scratch dir,
# workers on free 127.0.0.1 ports, as _rspamd (-u/-g) when run as root.
#
# No network at all: every module that does DNS, HTTP or remote maps is
# disabled (tests/bench/rspamd/disabled-modules says which and why), the
# resolver is 127.0.0.1 on a port nothing listens on, with 0.1 s
# timeouts. rspamd's own content rules (regexp, Lua rules, chartable,
# mime_types with the local map) stay on: that is what an rspamd user
# runs (they cannot be turned off without editing its Lua rules).
# BENCH_RSPAMD_SA=0 leaves the SpamAssassin rules out: rspamd's own rules
# and Bayes only, the setup behind the usual "2 to 4 ms" rspamd figures,
# to show what the SA rules cost it.
#
# Corpus and sets, as bench-score.sh: training set BENCH_TRAIN (default
# 250) messages from spam-1 and as many from easy-ham-1 (evenly spaced in
# name order), learned with `rspamc learn_spam/learn_ham` into a scratch
# redis-server on a free loopback port; test set easy-ham-2, hard-ham-1,
# spam-2 (3046 messages), or BENCH_RSPAMD_N of them evenly spaced.
#
# Measured:
#  - CPU (user+sys) of the rspamd processes only (main, normal workers,
#    controller, hs_helper, reaped children), from /proc, while `rspamc`
#    scans the test set with BENCH_RSPAMD_PAR (default 4) requests in
#    flight: ms CPU per message and messages per second per core. The
#    rspamc client and redis-server are not counted (redis-server's CPU
#    is printed separately). Measured after the Hyperscan databases are
#    compiled and loaded and after a warm-up pass, so start-up costs
#    are not per message.
#  - CPU of learning the training set (rspamd processes only).
#  - rule coverage: of SpamAssassin's scored rules (tests/score/sa-hits.pl
#    --rules: non-zero score in any score set), how many rspamd
#    registered as symbols (`rspamc counters`), how many of those are
#    eval rules it cannot run, how many hit at least once on the test
#    set; what its spamassassin module refused at load time (its log).
#  - with --milter: the same CPU measure while miltertest(8)
#    (tests/bench/rspamd/milter-scan.lua, one connection per message as
#    Postfix makes) feeds BENCH_RSPAMD_MILTER_N (default 300) test
#    messages, evenly spaced, to rspamd's milter; first a check that it
#    answers: a GTUBE message must be rejected, a ham one accepted with
#    an X-Spam-Status header added, by miltertest and (as root, with
#    Postfix installed) through a scratch Postfix on the loopback.
#  - accuracy at rspamd's own thresholds (add header at 6, the spam
#    action it reports): FP/FN on the test set, for orientation only
#    (bench-score.sh's numbers are the protocol of record).
#
# Other knobs: BENCH_RSPAMD_HS_CACHE=DIR keeps the compiled Hyperscan
# databases between runs (the first start compiles them: about 100 s of
# CPU); BENCH_KEEP=1 copies the scratch rspamd dir (logs, per-message
# results, coverage.tsv: each scored rule and what rspamd made of it) to
# /tmp/bench-rspamd.PID.
#
# Everything started here is stopped by its PID at exit.
set -u
MILTER=no
if [ "${1:-}" = --milter ]; then
	MILTER=yes
	shift
fi
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-.}" && pwd)
TOP_SRCDIR=$TOP
TOP_BUILDDIR=$B
export TOP_SRCDIR TOP_BUILDDIR
. "$TOP/tests/integ/lib.sh"
CONFSRC="$TOP/tests/bench/rspamd"
RULES=${BENCH_SA_RULES:-/usr/share/spamassassin}
SITE=${BENCH_SA_SITE:-/etc/spamassassin}
TRAIN=${BENCH_TRAIN:-250}
N=${BENCH_RSPAMD_N:-0}
PAR=${BENCH_RSPAMD_PAR:-4}
MILTER_N=${BENCH_RSPAMD_MILTER_N:-300}
WITH_SA=${BENCH_RSPAMD_SA:-1}
# Hyperscan databases: compiled afresh in the scratch dir (about 100 s
# of CPU for the stock SA rules), or kept in BENCH_RSPAMD_HS_CACHE
# across runs (rspamd checks each cached database against its regexes).
HS_CACHE=${BENCH_RSPAMD_HS_CACHE:-}
# Limits of the waits below, in half seconds.
START_WAIT=240		# daemon up and answering
HS_WAIT=600		# Hyperscan compiled and loaded by the workers

die() { echo "bench-rspamd.sh: $*" >&2; exit 1; }
tools="rspamd rspamc redis-server redis-cli python3"
[ "$MILTER" = yes ] && tools="$tools miltertest"
for t in $tools; do
	command -v "$t" >/dev/null 2>&1 ||
	    die "$t not installed (apt-get install rspamd redis-server miltertest)"
done

scratch
chmod 755 "$SCRATCH"
# a signal (or a reader that went away) still stops the daemons: the
# exit trap runs only on exit
trap 'exit 1' HUP INT TERM PIPE

# evenly spaced K of the files in folder F (name order), as bench-score.sh
pick() {
	find "$CORPUS/$1" -name '*.txt' -type f | LC_ALL=C sort |
	    awk -v k="$2" '{ a[NR] = $0 }
		END { for (i = 0; i < k && i < NR; i++) print a[int(i * NR / k) + 1] }'
}
# PIDs of process P and all its descendants
tree() {
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		tree "$c"
	done
}
# CPU seconds (user+sys) of process P, its live descendants and the
# children they reaped, from /proc (fields 14-17, in clock ticks)
proc_cpu() {
	tck=$(getconf CLK_TCK)
	for p in $(tree "$1"); do
		cat "/proc/$p/stat" 2>/dev/null
	done | sed 's/^.*) //' |
	    awk -v t="$tck" '{ s += $12 + $13 + $14 + $15 } END { printf "%.3f\n", s / t }'
}
row() {		# tool messages cpu_seconds note
	awk -v t="$1" -v n="$2" -v c="$3" -v note="$4" 'BEGIN {
		printf "%-34s %6d msgs %9.2f s CPU %8.3f ms/msg %8.0f msgs/s/core  %s\n",
		    t, n, c, (n ? c * 1000 / n : 0), ((c > 0) ? n / c : 0), note }'
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# stop process P and every descendant by PID: TERM to the top (rspamd's
# main process stops its workers), then KILL whatever is left
stop_tree() {
	st_pids=$(tree "$1")
	kill "$1" 2>/dev/null
	i=0
	while [ "$i" -lt 20 ]; do
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

# postfix_check MILTER_PORT FILE...: a scratch Postfix (root only) with
# smtpd on a free loopback port and rspamd's milter as smtpd_milters,
# as README-milter.md says; each FILE is sent over SMTP; what passes the
# milter is held in the queue (nothing is delivered and nothing leaves:
# every transport discards) and its X-Spam-Status is read back.
# Prints FILE<TAB>SMTP reply<TAB>X-Spam-Status ("-": none), one a line.
postfix_check() {
	pc_port=$1
	shift
	PF="$R/postfix"
	mkdir -p "$PF/etc" "$PF/spool" "$PF/data" || return 1
	chown postfix "$PF/data" || return 1
	chmod 755 "$PF" "$PF/etc"
	SP=$(free_port)
	cat >"$PF/etc/main.cf" <<MAINCF
compatibility_level = 3.6
config_directory = $PF/etc
queue_directory = $PF/spool
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
relayhost =
default_transport = discard:bench
relay_transport = discard:bench
local_transport = discard:bench
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_end_of_data_restrictions = check_client_access static:HOLD
smtpd_milters = inet:127.0.0.1:$pc_port
non_smtpd_milters = \$smtpd_milters
milter_protocol = 6
milter_default_action = tempfail
milter_mail_macros = i {mail_addr} {client_addr} {client_name} {auth_authen}
MAINCF
	# Debian's master.cf, no chroot (the scratch queue has no chroot
	# tree), smtpd on the free port, no pipe transports
	awk -v port="$SP" 'NF >= 8 && $1 !~ /^#/ {
		if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" port
		$5 = "n" } { print }' /etc/postfix/master.cf |
	    grep -v 'flags=\|maildrop\|uucp' >"$PF/etc/master.cf"
	postfix -c "$PF/etc" start >"$PF/start.out" 2>&1 || return 1
	python3 - "$SP" "$@" >"$PF/smtp.out" <<'PYEOF' ||
import smtplib, sys, time
port = int(sys.argv[1])
for i in range(100):		# smtpd up: 10 s at most
    try:
        smtplib.SMTP('127.0.0.1', port, timeout=10).quit()
        break
    except OSError:
        time.sleep(0.1)
for f in sys.argv[2:]:
    data = open(f, 'rb').read()
    if data.startswith(b'From '):	# mbox separator, not a header
        data = data.split(b'\n', 1)[1]
    s = smtplib.SMTP('127.0.0.1', port, timeout=60)
    try:
        s.sendmail('<bench@example.org>', ['<user@bench.test>'], data)
        print('%s\t250' % f)
    except smtplib.SMTPResponseException as e:
        print('%s\t%d %s' % (f, e.smtp_code, e.smtp_error.decode()))
    s.quit()
PYEOF
	    { postfix -c "$PF/etc" stop >/dev/null 2>&1; return 1; }
	# the held messages: Message-ID and X-Spam-Status of each
	sleep 1
	for id in $(postqueue -c "$PF/etc" -j |
	    sed -n 's/.*"queue_id": *"\([^"]*\)".*/\1/p'); do
		postcat -c "$PF/etc" -hq "$id" | awk '
		    /^X-Spam-Status:/ { sub(/^X-Spam-Status: */, ""); st = $0 }
		    /^Message-I[Dd]:/ { mid = $2 }
		    END { print mid "\t" st }'
	done >"$PF/held"
	while IFS="$(printf '\t')" read -r f reply; do
		mid=$(sed -n 's/^Message-I[Dd]: *//p' "$f" | head -1)
		st=$(awk -F'\t' -v m="$mid" '$1 == m { print $2 }' "$PF/held")
		printf '%s\t%s\t%s\n' "$f" "$reply" "${st:--}"
	done <"$PF/smtp.out"
	postfix -c "$PF/etc" stop >/dev/null 2>&1
}

CORPUS=$(corpus_dir) || die "cannot fetch the corpus"
pick spam-1 "$TRAIN" >"$SCRATCH/train.spam"
pick easy-ham-1 "$TRAIN" >"$SCRATCH/train.ham"
for f in easy-ham-2 hard-ham-1 spam-2; do
	find "$CORPUS/$f" -name '*.txt' -type f | LC_ALL=C sort
done >"$SCRATCH/test.all"
if [ "$N" -gt 0 ]; then
	awk -v k="$N" '{ a[NR] = $0 }
	    END { for (i = 0; i < k && i < NR; i++) print a[int(i * NR / k) + 1] }' \
	    "$SCRATCH/test.all" >"$SCRATCH/test"
else
	cp "$SCRATCH/test.all" "$SCRATCH/test"
fi
NTEST=$(wc -l <"$SCRATCH/test")

echo "# bench-rspamd: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(rspamd --version 2>&1 | head -1); SA rules: $( [ "$WITH_SA" = 0 ] && echo none || echo "$RULES/*.cf + $SITE/*.cf"); Bayes trained on $TRAIN spam + $TRAIN ham"

# -- scratch layout and the user rspamd runs as
R="$SCRATCH/rspamd"
mkdir -p "$R/conf/local.d" "$R/conf/override.d" "$R/db" "$R/run" \
    "$R/log" "$R/redis"
cp "$CONFSRC"/local.d/* "$R/conf/local.d/"
cp "$CONFSRC"/override.d/* "$R/conf/override.d/"
what="SA rules + Bayes"
if [ "$WITH_SA" = 0 ]; then
	# no ruleset: the module disables itself ("Module is unconfigured")
	rm -f "$R/conf/local.d/spamassassin.conf"
	what="own rules + Bayes, no SA rules"
fi
PPORT=0
if [ "$MILTER" = yes ]; then
	cp "$CONFSRC/milter/worker-milter.conf" "$R/conf/"
	cp "$CONFSRC/milter/milter_headers.conf" "$R/conf/local.d/"
	PPORT=$(free_port)
fi
sed 's/#.*//' "$CONFSRC/disabled-modules" | while read -r m; do
	[ -n "$m" ] || continue
	[ -f "$R/conf/local.d/$m.conf" ] &&
	    die "local.d/$m.conf exists and $m is in disabled-modules"
	echo "enabled = false;" >"$R/conf/local.d/$m.conf"
done
HS_DIR="$R/db"
if [ -n "$HS_CACHE" ]; then
	# one cache per rule set: rspamd deletes the databases it does not
	# use from its cache dir at start-up
	mkdir -p "$HS_CACHE/sa$WITH_SA" || die "cannot create $HS_CACHE"
	HS_DIR=$(cd "$HS_CACHE/sa$WITH_SA" && pwd)
fi
ugopt=
if [ "$(id -u)" -eq 0 ]; then
	ru=_rspamd
	id "$ru" >/dev/null 2>&1 || { ensure_user; ru=$TEST_USER; }
	chown -R "$ru:$(id -gn "$ru")" "$R/db" "$R/run" "$R/log" "$HS_DIR"
	ugopt="-u $ru -g $(id -gn "$ru")"
fi

# -- redis-server for Bayes
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$R/redis" --daemonize no --loglevel warning \
    >"$R/log/redis.log" 2>&1 &
rpid=$!
on_exit "kill $rpid; wait $rpid"
i=0
until [ "$(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null)" = PONG ]; do
	i=$((i + 1))
	[ "$i" -gt 40 ] && die "redis-server did not start: $(tail -3 "$R/log/redis.log")"
	sleep 0.25
done

# -- rspamd
NPORT=$(free_port)
CPORT=$(free_port)
DPORT=$(free_port)	# nothing listens there: every DNS query fails at once
# shellcheck disable=SC2086
rspamd -f $ugopt -c "$CONFSRC/rspamd.conf" \
    --var "LOCAL_CONFDIR=$R/conf" --var "DBDIR=$R/db" \
    --var "RUNDIR=$R/run" --var "LOGDIR=$R/log" \
    --var "NORMAL_PORT=$NPORT" --var "CONTROLLER_PORT=$CPORT" \
    --var "PROXY_PORT=$PPORT" \
    --var "REDIS_PORT=$RPORT" --var "DNS_PORT=$DPORT" \
    --var "SA_RULES=$RULES" --var "SA_SITE=$SITE" --var "HS_DIR=$HS_DIR" \
    >"$R/log/stdout.log" 2>&1 &
spid=$!
on_exit "stop_tree $spid"
ctl() { rspamc -h "127.0.0.1:$CPORT" -t 60 "$@"; }
i=0
until ctl stat >/dev/null 2>&1 &&
    rspamc -h "127.0.0.1:$NPORT" -t 5 symbols </dev/null >/dev/null 2>&1; do
	i=$((i + 1))
	kill -0 "$spid" 2>/dev/null ||
	    die "rspamd exited: $(tail -5 "$R/log/rspamd.log" "$R/log/stdout.log")"
	[ "$i" -gt "$START_WAIT" ] && die "rspamd did not start"
	sleep 0.5
done
# The hs_helper process compiles the Hyperscan databases after start-up
# and tells the workers, which load them (a "full hyperscan database ...
# loaded" line per worker); until then the workers run every regex with
# PCRE. With a valid cache (BENCH_RSPAMD_HS_CACHE) the main process loads
# the databases before it forks the workers, and hs_helper finds nothing
# to compile. Wait for either.
i=0
while :; do
	nl=$(grep -c '(normal).*full hyperscan database.*loaded' \
	    "$R/log/rspamd.log" 2>/dev/null)
	[ "${nl:-0}" -ge 2 ] && break
	grep -q '(main).*full hyperscan database.*loaded' "$R/log/rspamd.log" &&
	    grep -q '(hs_helper).*compiled 0 regular expressions' \
	    "$R/log/rspamd.log" && break
	i=$((i + 1))
	[ "$i" -gt "$HS_WAIT" ] && { echo "# warning: Hyperscan not loaded after $((HS_WAIT / 2)) s"; break; }
	sleep 0.5
done
hs_cpu=$(proc_cpu "$spid")
echo "# rspamd start-up incl. Hyperscan compilation: $hs_cpu s CPU (rspamd processes)"

# -- learning
c0=$(proc_cpu "$spid")
# File lists are split on purpose (corpus paths have no blanks).
# shellcheck disable=SC2046
ctl -n "$PAR" learn_spam $(cat "$SCRATCH/train.spam") >"$R/learn.out" 2>&1 ||
    die "learn_spam failed: $(tail -3 "$R/learn.out")"
# shellcheck disable=SC2046
ctl -n "$PAR" learn_ham $(cat "$SCRATCH/train.ham") >>"$R/learn.out" 2>&1 ||
    die "learn_ham failed: $(tail -3 "$R/learn.out")"
c1=$(proc_cpu "$spid")
learned=$(grep -c 'success = true' "$R/learn.out")
row "rspamd learn (rspamc learn_*)" "$((TRAIN * 2))" \
    "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
    "($learned learned; the rest already known or refused)"

# -- warm-up: each worker has seen messages, Lua and caches are warm
head -50 "$SCRATCH/test" >"$SCRATCH/warm"
# shellcheck disable=SC2046
rspamc -h "127.0.0.1:$NPORT" -n "$PAR" symbols $(cat "$SCRATCH/warm") \
    >/dev/null 2>&1

# -- the milter (--milter): check it answers, then measure it
if [ "$MILTER" = yes ]; then
	MS="inet:$PPORT@127.0.0.1"
	{ printf 'From: bench@example.org\nTo: user@example.org\n'
	  printf 'Subject: GTUBE\nMessage-ID: <gtube@example.org>\n\n'
	  printf 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n'
	} >"$R/gtube.eml"
	{ echo "$R/gtube.eml"; grep '/easy-ham-2/' "$SCRATCH/test" | head -1; } \
	    >"$R/smoke.list"
	MILTER_SOCK=$MS MILTER_LIST="$R/smoke.list" \
	    miltertest -s "$CONFSRC/milter-scan.lua" >"$R/smoke.out" 2>&1 ||
	    die "miltertest failed: $(tail -3 "$R/smoke.out")"
	grep "$(printf '\t')" "$R/smoke.out" | sed 's/^/# milter check: /' 
	# rspamd rejects with its own text: a replycode (554 5.7.1), not
	# a plain reject
	grep "$(printf '\t')" "$R/smoke.out" |
	    awk -F'\t' 'NR == 1 && $2 != "reject" && $2 != "replycode" { bad = 1 }
	    NR == 2 && ($2 != "accept" && $2 != "continue" || $3 !~ /^No, score=/) { bad = 1 }
	    END { exit bad || NR != 2 }' ||
	    die "rspamd's milter did not answer as expected (GTUBE rejected, ham accepted with X-Spam-Status)"
	# the same through a real Postfix, when there is one and we are root
	if [ "$(id -u)" -eq 0 ] && command -v postfix >/dev/null 2>&1; then
		# postfix_check runs in a subshell: its exit traps are lost
		on_exit "postfix -c '$R/postfix/etc' stop >/dev/null 2>&1"
		pc=$(postfix_check "$PPORT" "$R/gtube.eml" \
		    "$(sed -n 2p "$R/smoke.list")" \
		    "$(grep '/spam-2/' "$SCRATCH/test" | head -1)") ||
		    die "scratch Postfix failed: $(tail -3 "$R/postfix/start.out" "$R/postfix/maillog" 2>/dev/null)"
		echo "$pc" | sed 's/^/# postfix check: /'
		echo "$pc" | awk -F'\t' 'NR == 1 && $2 !~ /^554 / { bad = 1 }
		    NR == 2 && ($2 != 250 || $3 !~ /^No, score=/) { bad = 1 }
		    NR == 3 && ($2 != 250 || $3 == "-") { bad = 1 }
		    END { exit bad || NR != 3 }' ||
		    die "Postfix with rspamd's milter did not answer as expected"
	else
		echo "# postfix check: skipped (needs root and postfix)"
	fi
	awk -v k="$MILTER_N" '{ a[NR] = $0 }
	    END { for (i = 0; i < k && i < NR; i++) print a[int(i * NR / k) + 1] }' \
	    "$SCRATCH/test" >"$R/milter.list"
	c0=$(proc_cpu "$spid")
	MILTER_SOCK=$MS MILTER_LIST="$R/milter.list" \
	    miltertest -s "$CONFSRC/milter-scan.lua" >"$R/milter.out" 2>&1 ||
	    die "miltertest failed: $(tail -3 "$R/milter.out")"
	c1=$(proc_cpu "$spid")
	row "rspamd 3.4 milter ($what)" "$(grep -c "$(printf '\t')" "$R/milter.out")" \
	    "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
	    "(rspamd processes only; one miltertest connection per message)"
	grep "$(printf '\t')" "$R/milter.out" | cut -f2 | sort | uniq -c |
	    sed 's/^ */# milter replies: /'
	grep '^# headers cut' "$R/milter.out" |
	    sed 's/$/ (over 900 bytes; miltertest cannot send them whole)/'
	: >"$R/scan.tsv"
else

# -- the measured scan
r0=$(proc_cpu "$rpid")
c0=$(proc_cpu "$spid")
t0=$(date +%s.%N)
# one rspamc for the whole list (3046 paths fit in ARG_MAX)
# shellcheck disable=SC2046
rspamc -h "127.0.0.1:$NPORT" -n "$PAR" -t 60 symbols $(cat "$SCRATCH/test") \
    >"$R/scan.out" 2>"$R/scan.err" || die "rspamc failed: $(tail -3 "$R/scan.err")"
t1=$(date +%s.%N)
c1=$(proc_cpu "$spid")
r1=$(proc_cpu "$rpid")
cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')
scanned=$(grep -c '^Results for file' "$R/scan.out")
[ "$scanned" -eq "$NTEST" ] ||
    echo "# warning: $scanned results for $NTEST messages"
row "rspamd 3.4 ($what)" "$scanned" "$cpu" "(rspamd processes only; -n $PAR)"
awk -v a="$r0" -v b="$r1" -v n="$scanned" -v s="$t0" -v e="$t1" 'BEGIN {
	printf "# redis-server: %.3f ms CPU/msg (not counted above); elapsed %.1f s\n",
	    (n ? (b - a) * 1000 / n : 0), e - s }'

# -- what the scan says: per message the file, the action and the symbols
awk '
/^Results for file: / { f = $4; next }
/^Action: / { sub(/^Action: /, ""); act[f] = $0; next }
/^Symbol: / { s = $2; sub(/[(;].*/, "", s); syms[f] = syms[f] " " s; next }
END { for (f in act) printf "%s\t%s\t%s\n", f, act[f], syms[f] }
' "$R/scan.out" >"$R/scan.tsv"
awk -F'\t' '
{ spam = ($1 ~ /\/spam-/); flagged = ($2 != "no action" && $2 != "greylist")
  if (spam) { ns++; if (!flagged) fn++ } else { nh++; if (flagged) fp++ }
  if ($3 ~ / BAYES_SPAM/) bs++; if ($3 ~ / BAYES_HAM/) bh++ }
END { printf "# accuracy at rspamd'"'"'s actions (add header or worse = spam): FP %d/%d (%.2f %%), FN %d/%d (%.2f %%); BAYES_SPAM on %d, BAYES_HAM on %d\n",
	fp, nh, (nh ? 100 * fp / nh : 0), fn, ns, (ns ? 100 * fn / ns : 0), bs, bh }
' "$R/scan.tsv"
fi

# -- rule coverage
ctl counters >"$R/counters.out" 2>&1
awk -F'|' 'NF > 3 { s = $3; gsub(/ /, "", s); if (s != "" && s != "Symbol") print s }' \
    "$R/counters.out" | LC_ALL=C sort -u >"$R/symbols"
cut -f3 "$R/scan.tsv" | tr ' ' '\n' | grep . | LC_ALL=C sort -u >"$R/hit"
# eval functions the spamassassin module has no code for: it says so at
# scan time, once per message and rule ("cannot find appropriate eval
# rule", "unimplemented mime check")
sed -n 's/.*cannot find appropriate eval rule for function //p
	s/.*unimplemented mime check //p' "$R/log/rspamd.log" |
    LC_ALL=C sort -u >"$R/bad-evals"
# NAME<TAB>function(args) of every eval rule, the last definition winning
# as in SpamAssassin
cat "$RULES"/*.cf "$SITE"/*.cf 2>/dev/null | awk '
	$1 ~ /^(header|body|rawbody|full|uri|mimeheader)$/ && $3 ~ /^eval:/ {
		e = $0; sub(/^[^:]*eval:/, "", e); sub(/[ \t]+$/, "", e); ev[$2] = e }
	END { for (r in ev) print r "\t" ev[r] }' | LC_ALL=C sort >"$R/sa-evals"
if [ "$WITH_SA" = 0 ]; then
	echo "# SpamAssassin rules not loaded (BENCH_RSPAMD_SA=0)"
elif perl "$TOP/tests/score/sa-hits.pl" --rules -r "$RULES" -s "$SITE" \
    >"$R/sa-rules.tsv" 2>/dev/null; then
	# scored: non-zero in some score set; rspamd takes set 3 (Bayes and
	# network on) and registers a non-meta rule as a symbol only when
	# |score| > 0.5 (its "alpha"), otherwise only as a meta atom
	awk -F'\t' '$2 !~ /^__/ { split($5, s, ","); nz = 0
		for (i = 1; i <= 4; i++) if (s[i] + 0 != 0) nz = 1
		if (nz) print $2 "\t" $3 "\t" s[4] }' "$R/sa-rules.tsv" |
	    LC_ALL=C sort >"$R/sa-scored"
	awk -F'\t' -v syms="$R/symbols" -v hit="$R/hit" -v evals="$R/sa-evals" \
	    -v bad="$R/bad-evals" -v out="$R/coverage.tsv" '
	BEGIN {
		while ((getline l < syms) > 0) reg[l] = 1
		while ((getline l < hit) > 0) hits[l] = 1
		while ((getline l < bad) > 0) nogo[l] = 1
		while ((getline l < evals) > 0) { split(l, a, "\t"); ev[a[1]] = a[2] }
	}
	{
		# SpamAssassin passes tflags net on to metas in hash order
		# (a different set each run): only non-meta rules count
		n++; r = $1; net = ($2 ~ /,net/ && $2 !~ /^meta/); s3 = $3 + 0
		if (net) nnet++
		if (r in reg) {
			if (r in ev && ev[r] in nogo) { st = "registered, eval not implemented"; nreg_bad++ }
			else { st = "runs"; nrun++; if ($2 ~ /eval/) nrun_eval++ }
			nreg++
		} else if (net) { st = "not loaded: network test"; nnr_net++ }
		else if ($2 !~ /meta/ && (s3 < 0 ? -s3 : s3) <= 0.5) { st = "atom only: |score| <= 0.5"; nnr_low++ }
		else { st = "not loaded: if/ifplugin block, eval or parse failure"; nnr_other++ }
		if (r in hits) nhit++
		print r "\t" $2 "\t" st > out
	}
	END {
		printf "# SpamAssassin scored rules (non-zero in some score set): %d (%d of them non-meta network tests)\n", n, nnet
		printf "# rspamd runs %d of them (%d eval rules it implements); %d more are registered but their eval function is not implemented\n", nrun, nrun_eval, nreg_bad
		printf "# not registered: %d network tests, %d non-meta rules with |score| <= 0.5 (used as meta atoms only), %d others (skipped if/ifplugin blocks, unsupported eval, failed parse)\n", nnr_net, nnr_low, nnr_other
		if (nhit) printf "# scored SpamAssassin rules that hit at least once on the test set: %d\n", nhit
	}' "$R/sa-scored"
else
	echo "# sa-hits.pl --rules failed: rule coverage not computed"
fi
if [ "$WITH_SA" != 0 ]; then
echo "# eval functions rspamd has no code for (said at scan time): $(wc -l <"$R/bad-evals")"
tr '\n' ' ' <"$R/bad-evals" | fold -s -w 76 | sed 's/^/#   /'
echo
echo "# load-time complaints of the spamassassin module:"
n=$(grep -c 'cannot apply replacement for rule' "$R/log/rspamd.log")
echo "#   replace_rules that rspamd's PCRE refused after tag expansion: $n" \
    "($(sed -n 's/.*cannot apply replacement for rule //p' "$R/log/rspamd.log" | tr '\n' ' '))"
sed -n 's/.*cannot find dependency on symbol \([^ ]*\) .*/\1/p' \
    "$R/log/rspamd.log" | LC_ALL=C sort -u >"$R/missing-atoms"
echo "#   meta atoms defined nowhere rspamd looked (skipped blocks, evals): $(wc -l <"$R/missing-atoms")"
grep -h 'not supported in\|unknown function\|Cannot parse expression\|invalid score\|bad rule definition\|Cannot parse regexp' \
    "$R/log/rspamd.log" | sed 's/^.*spamassassin.lua:[0-9]*: //' |
    LC_ALL=C sort | uniq -c | sort -rn | head -20 | sed 's/^/#   /'
# (said only when hs_helper compiles, not with a valid cache)
nhs=$(grep -c 'compile_timer_cb: cannot compile' "$R/log/rspamd.log")
[ "$nhs" -gt 0 ] &&
    echo "#   regexes Hyperscan cannot compile: $nhs (prefiltered by an approximation, confirmed with PCRE), of which PCRE only: $(grep -c 'cannot approximate' "$R/log/rspamd.log")"
fi

if [ "${BENCH_KEEP:-0}" = 1 ]; then
	cp -r "$R" "/tmp/bench-rspamd.$$"
	echo "# kept: /tmp/bench-rspamd.$$"
fi
stop_tree "$spid"
kill "$rpid" 2>/dev/null
wait "$rpid" 2>/dev/null
exit 0
