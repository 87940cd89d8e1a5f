#!/bin/sh
# t-sieve-lda.sh - Sieve under `sluice deliver` (DESIGN.md "Contracts with
# users' rule files"): ~/.dovecot.sieve files and flags mail, a broken
# script or a regex over the match limit keeps to INBOX with the error
# (file:line:col) in ~/.dovecot.sieve.log and exit 0, an unsafe script is
# refused; `sluice check` exit codes; `sluice test` prints actions, writes
# nothing, and its --json parses.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
H="$SCRATCH/home"
mkdir -p "$H" && chown "$TEST_UID:$TEST_GID" "$H"

deliver() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$SLUICE" deliver -c /dev/null "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
}
asu() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" PATH=/usr/bin:/bin \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@"
}
count() { find "$1" -type f 2>/dev/null | wc -l | tr -d ' '; }
reset() { rm -rf "$H/Maildir" "$H/.dovecot.sieve.log"; }
script() {	# script TEXT: install ~/.dovecot.sieve owned by the user, 0600
	printf '%s\n' "$1" >"$H/.dovecot.sieve"
	chown "$TEST_UID:$TEST_GID" "$H/.dovecot.sieve"
	chmod 600 "$H/.dovecot.sieve"
}

LIST="$SCRATCH/list.eml"
cat >"$LIST" <<'EOF'
From: Alice <alice@example.org>
To: exmh-users@example.org
Subject: [exmh] release
List-Id: <exmh-users.example.org>
Message-ID: <list1@example.org>

hello list
EOF
PLAIN="$SCRATCH/plain.eml"
cat >"$PLAIN" <<'EOF'
From: Bob <bob@example.net>
To: sluicetest@example.net
Subject: important meeting
Message-ID: <plain1@example.org>
X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab

body
EOF
chmod 644 "$LIST" "$PLAIN"

# -- a script that files list mail and flags a message
reset
script 'require ["fileinto", "imap4flags"];
if header :contains "list-id" "exmh-users" {
	fileinto "Lists.exmh";
} elsif header :contains "subject" "important" {
	addflag "\\Flagged";
	keep :flags ["\\Seen", "\\Flagged"];
}'
deliver <"$LIST"
is "$?" 0 "list message: exit 0"
is "$(count "$H/Maildir/.Lists.exmh/new")" 1 "list message filed into .Lists.exmh/new"
is "$(count "$H/Maildir/new")" 0 "list message: nothing in INBOX"
deliver <"$PLAIN"
is "$?" 0 "flagged message: exit 0"
f=$(find "$H/Maildir/cur" -type f | head -1)
case "$f" in
*:2,FS) ok 0 "keep :flags: INBOX cur/ with :2,FS" ;;
*) ok 1 "keep :flags: INBOX cur/ with :2,FS (got '$f')" ;;
esac
[ ! -s "$H/.dovecot.sieve.log" ]; ok $? "no errors logged for a good script"

# -- syntax errors: INBOX, exit 0, error with line:col in the user log
reset
script 'require "fileinto";
if header :contains "subject" "x" {
	fileinto "A"
}
keep ];'
deliver <"$LIST"
is "$?" 0 "broken script: exit 0"
is "$(count "$H/Maildir/new")" 1 "broken script: message in INBOX"
grep -q '\.dovecot\.sieve:[0-9]*:[0-9]*: error:' "$H/.dovecot.sieve.log"
ok $? "broken script: error with line:col in ~/.dovecot.sieve.log"
grep -q ':5:6: error: expected end of command' "$H/.dovecot.sieve.log"
ok $? "broken script: several errors reported (the second one at 5:6)"

# -- a regex that blows the match limit: runtime error -> INBOX + logged
reset
script 'require ["regex", "fileinto"];
if header :regex "x-long" "(a+)+$" { fileinto "Never"; }'
deliver <"$PLAIN"
is "$?" 0 "regex over the match limit: exit 0"
is "$(count "$H/Maildir/new")" 1 "regex over the match limit: INBOX"
[ ! -d "$H/Maildir/.Never" ]; ok $? "regex over the match limit: no fileinto"
grep -q ':2:4: error: regex match failed' "$H/.dovecot.sieve.log"
ok $? "regex over the match limit: logged with its position"

# -- group-writable script: refused, INBOX, logged
reset
script 'require "fileinto"; fileinto "Refused";'
chmod 620 "$H/.dovecot.sieve"
deliver <"$LIST"
is "$?" 0 "group-writable script: exit 0"
is "$(count "$H/Maildir/new")" 1 "group-writable script: INBOX"
[ ! -d "$H/Maildir/.Refused" ]; ok $? "group-writable script: not run"
grep -q 'refused: writable by group' "$H/.dovecot.sieve.log"
ok $? "group-writable script: refusal logged"

# -- discard and ereject
reset
script 'discard;'
deliver <"$LIST"
is "$?" 0 "discard: exit 0"
is "$(count "$H/Maildir/new")" 0 "discard: nothing stored"
script 'require "ereject"; ereject "no thanks";'
deliver <"$LIST"
is "$?" 77 "ereject: exit 77"

# -- --rules and --lang
reset
printf 'require "fileinto"; fileinto "ByRules";\n' >"$SCRATCH/r.txt"
chown "$TEST_UID:$TEST_GID" "$SCRATCH/r.txt"; chmod 600 "$SCRATCH/r.txt"
rm -f "$H/.dovecot.sieve"
deliver --rules "$SCRATCH/r.txt" <"$LIST"
is "$(count "$H/Maildir/new")" 1 "--rules FILE without .sieve: procmailrc (not yet): kept"
reset
deliver --rules "$SCRATCH/r.txt" --lang sieve <"$LIST"
is "$(count "$H/Maildir/.ByRules/new")" 1 "--lang sieve: the file runs as Sieve"

# -- sluice check
printf 'keep;\n' >"$SCRATCH/good.sieve"
printf 'keep\nfoo;\n' >"$SCRATCH/bad.sieve"
"$SLUICE" check -c /dev/null "$SCRATCH/good.sieve" >"$SCRATCH/out" 2>&1
is "$?" 0 "sluice check: good script exits 0"
"$SLUICE" check -c /dev/null "$SCRATCH/bad.sieve" >"$SCRATCH/out" 2>&1
is "$?" 1 "sluice check: bad script exits 1"
grep -q "bad.sieve:2:1: error:" "$SCRATCH/out"; ok $? "sluice check: file:line:col: error:"

# -- sluice test: actions, trace, nothing written
reset
printf 'require ["fileinto","imap4flags"];\nif header :contains "subject" "release" { fileinto :flags "\\\\Seen" "Junk"; }\n' \
    >"$SCRATCH/t.sieve"
chmod 644 "$SCRATCH/t.sieve"
asu "$SLUICE" test -c /dev/null "$SCRATCH/t.sieve" "$LIST" "$PLAIN" >"$SCRATCH/out" 2>&1
is "$?" 0 "sluice test: exit 0"
grep -q '^  fileinto "Junk" :flags "\\\\Seen"$' "$SCRATCH/out"; ok $? "sluice test: prints the fileinto action"
grep -q '^  keep (implicit)$' "$SCRATCH/out"; ok $? "sluice test: implicit keep for the other message"
grep -q 't.sieve:2: *header :contains "subject" "release" -> true (\[exmh\] release)' "$SCRATCH/out"
ok $? "sluice test: trace shows what matched"
[ ! -e "$H/Maildir" ]; ok $? "sluice test: writes nothing"
asu "$SLUICE" test -c /dev/null --json "$SCRATCH/t.sieve" "$LIST" >"$SCRATCH/json" 2>&1
python3 -m json.tool "$SCRATCH/json" >/dev/null 2>&1; ok $? "sluice test --json parses"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); a=d["messages"][0]["actions"][0]; sys.exit(0 if a["action"]=="fileinto" and a["arg"]=="Junk" else 1)' \
    "$SCRATCH/json"; ok $? "sluice test --json: the action and its mailbox"

# -- editheader (RFC 5293): the edits reach the stored file; spamtest sees
# the milter's X-Spam-Score against X-Spam-Status required= (defaults)
reset
cat >"$SCRATCH/spam.eml" <<'EOF'
Received: from mx.example.org by mx.example.net; Mon, 23 Nov 2026 06:15:12 +0000
From: Spammer <spam@example.com>
To: bob@example.net
Subject: cheap pills
X-Spam-Score: 7.3
X-Spam-Status: Yes, score=7.3 required=5.0 tests=A
X-Old: remove me
X-Old: keep me

Buy now.
EOF
script 'require ["editheader", "spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "10" {
	addheader "X-Sluice-Verdict" "spam";
	addheader :last "X-Sluice-Note" "café";
	deleteheader :index 1 "X-Old";
	deleteheader "Received";
	if header :is "x-sluice-verdict" "spam" { fileinto "Junk"; }
}'
deliver <"$SCRATCH/spam.eml"
is "$?" 0 "editheader: exit 0"
f=$(find "$H/Maildir/.Junk/new" -type f 2>/dev/null | head -1)
[ -n "$f" ]; ok $? "editheader: spamtest 10 filed into Junk, the added header was seen"
head -1 "${f:-/dev/null}" | grep -q '^X-Sluice-Verdict: spam$'
ok $? "editheader: addheader prepends in the stored file"
grep -q '^X-Sluice-Note: =?' "${f:-/dev/null}"
ok $? "editheader: :last, 8-bit value stored RFC 2047 encoded"
! grep -q '^X-Old: remove me' "${f:-/dev/null}" && grep -q '^X-Old: keep me' "${f:-/dev/null}"
ok $? "editheader: deleteheader :index 1 removed only the first"
grep -q '^Received: ' "${f:-/dev/null}"; ok $? "editheader: Received is protected (RFC 5293 6)"

# ---- include (RFC 6609), sequences, -m, outbound mail ----
denv() {	# deliver with RECIPIENT/SENDER as local(8) sets them
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin RECIPIENT=sluicetest@example.net \
	    SENDER=bob@example.net ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$SLUICE" deliver "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
}
userfile() {	# userfile PATH TEXT: a file owned by the user, 0600
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1"
	chown "$TEST_UID:$TEST_GID" "$(dirname "$1")" "$1"
	chmod 600 "$1"
}

# -- personal include: ~/sieve/NAME.sieve (sieve_dir's default)
reset
userfile "$H/sieve/lists.sieve" 'require "fileinto";
if header :contains "list-id" "exmh-users" { fileinto "Lists.exmh"; }'
script 'require "include";
include :personal "lists";'
deliver <"$LIST"
is "$?" 0 "include: exit 0"
is "$(count "$H/Maildir/.Lists.exmh/new")" 1 "include: the included script filed the message"
is "$(count "$H/Maildir/new")" 0 "include: nothing in INBOX"

# -- Pigeonhole's location syntax: sieve = file:DIR;active=SCRIPT, DIR holds
#    the :personal scripts; without active= the script is ~/.dovecot.sieve
reset
userfile "$H/store/lists.sieve" 'require "fileinto";
if header :contains "list-id" "exmh-users" { fileinto "Lists.store"; }'
userfile "$H/store/main.sieve" 'require ["include", "fileinto", "copy"];
fileinto :copy "Active";
include :personal "lists";'
printf 'sieve = file:~/store;active=~/store/main.sieve\n' >"$SCRATCH/loc.conf"
printf 'sieve = file:~/store\n' >"$SCRATCH/loc2.conf"
chmod 644 "$SCRATCH/loc.conf" "$SCRATCH/loc2.conf"
deliver -c "$SCRATCH/loc.conf" <"$LIST"
is "$(count "$H/Maildir/.Active/new")" 1 "sieve = file:DIR;active=: the active script ran"
is "$(count "$H/Maildir/.Lists.store/new")" 1 "sieve = file:DIR: include :personal reads DIR"
reset
script 'require "include";
include :personal "lists";'
deliver -c "$SCRATCH/loc2.conf" <"$LIST"
is "$(count "$H/Maildir/.Lists.store/new")" 1 "sieve = file:DIR: ~/.dovecot.sieve runs, includes from DIR"

# -- missing include: compile error at the include, INBOX, exit 0
reset
script 'require ["include", "fileinto"];
fileinto "Never";
  include "nope";'
deliver <"$LIST"
is "$?" 0 "missing include: exit 0"
is "$(count "$H/Maildir/new")" 1 "missing include: message in INBOX"
[ ! -d "$H/Maildir/.Never" ]; ok $? "missing include: nothing of the script ran"
grep -q "\.dovecot\.sieve:3:3: error: included personal script 'nope' does not exist" \
    "$H/.dovecot.sieve.log"
ok $? "missing include: logged with the position of the include"

# -- :optional: a missing script is skipped
reset
script 'require ["include", "fileinto"];
include :optional "nope";
fileinto "Opt";'
deliver <"$LIST"
is "$(count "$H/Maildir/.Opt/new")" 1 "include :optional: the rest of the script ran"
[ ! -s "$H/.dovecot.sieve.log" ]; ok $? "include :optional: no error logged"

# -- sieve_before, the user's script, sieve_after (Pigeonhole multiscript)
reset
mkdir -p "$SCRATCH/before.d"
printf 'require ["fileinto", "copy"]; fileinto :copy "Before";\n' \
    >"$SCRATCH/before.d/10-a.sieve"
printf 'require ["fileinto", "copy"]; fileinto :copy "After";\n' \
    >"$SCRATCH/after.sieve"
printf 'sieve_before = %s\nsieve_after = %s\n' "$SCRATCH/before.d" \
    "$SCRATCH/after.sieve" >"$SCRATCH/seq.conf"
chmod 644 "$SCRATCH/before.d/10-a.sieve" "$SCRATCH/after.sieve" \
    "$SCRATCH/seq.conf"
script 'require ["fileinto", "copy"]; fileinto :copy "User";'
deliver -c "$SCRATCH/seq.conf" <"$LIST"
is "$?" 0 "sieve_before/after: exit 0"
n=$(($(count "$H/Maildir/.Before/new") + $(count "$H/Maildir/.User/new") + \
    $(count "$H/Maildir/.After/new")))
is "$n" 3 "sieve_before/after: the before, user and after scripts all ran"
is "$(count "$H/Maildir/new")" 1 "sieve_before/after: the implicit keep is in INBOX"
reset
script 'discard;'
deliver -c "$SCRATCH/seq.conf" <"$LIST"
is "$(count "$H/Maildir/.Before/new")" 1 "sieve_before runs before a discarding user script"
[ ! -d "$H/Maildir/.After" ]; ok $? "sieve_after does not run once the keep is cancelled"

# -- -m FOLDER with a Sieve script: keep goes to FOLDER, fileinto as written
reset
script 'require "fileinto";
if header :contains "list-id" "exmh-users" { fileinto "Lists"; }'
deliver -m Work <"$LIST"
is "$(count "$H/Maildir/.Lists/new")" 1 "-m with Sieve: fileinto as the script says"
[ ! -d "$H/Maildir/.Work" ]; ok $? "-m with Sieve: no keep, the -m folder is untouched"
deliver -m Work <"$PLAIN"
is "$(count "$H/Maildir/.Work/new")" 1 "-m with Sieve: the implicit keep goes to the -m folder"
is "$(count "$H/Maildir/new")" 0 "-m with Sieve: nothing in INBOX"
grep -qx Work "$H/Maildir/subscriptions"; ok $? "-m with Sieve: the folder is subscribed"

# -- redirect (and vacation) through sendmail_path, in a real delivery
reset
mkdir -p "$H/sent" && chown "$TEST_UID:$TEST_GID" "$H/sent"
printf '#!/bin/sh\nn=$(ls "%s" | grep -c argv)\nprintf "%%s\\n" "$@" >"%s/$n.argv"\ncat >"%s/$n.msg"\n' \
    "$H/sent" "$H/sent" "$H/sent" >"$SCRATCH/sendmail"
chmod 755 "$SCRATCH/sendmail"
printf 'sendmail_path = %s\nstore = lmdb:%s\n' "$SCRATCH/sendmail" \
    "$H/state" >"$SCRATCH/out.conf"
chmod 644 "$SCRATCH/out.conf"
script 'redirect "carol@example.com";'
denv -c "$SCRATCH/out.conf" <"$PLAIN"
is "$?" 0 "redirect: exit 0"
grep -qx 'carol@example.com' "$H/sent/0.argv" 2>/dev/null
ok $? "redirect: sendmail got the address in its argv"
grep -q '^Subject: important meeting' "$H/sent/0.msg" 2>/dev/null
ok $? "redirect: sendmail got the message on stdin"
is "$(count "$H/Maildir/new")" 0 "redirect: no local copy"
printf 'require "vacation";\n' >"$SCRATCH/vac.sieve"
if "$SLUICE" check -c /dev/null "$SCRATCH/vac.sieve" >/dev/null 2>&1; then
	reset
	rm -f "$H/sent/"*
	script 'require "vacation";
vacation :days 1 :subject "away" "I am away.";'
	denv -c "$SCRATCH/out.conf" <"$PLAIN"
	is "$?" 0 "vacation: exit 0"
	is "$(count "$H/Maildir/new")" 1 "vacation: the message is kept"
	grep -qx 'bob@example.net' "$H/sent/0.argv" 2>/dev/null
	ok $? "vacation: the reply goes to the sender"
	grep -qi '^Auto-Submitted: auto-replied' "$H/sent/0.msg" 2>/dev/null
	ok $? "vacation: the reply is Auto-Submitted: auto-replied"
	denv -c "$SCRATCH/out.conf" <"$PLAIN"
	is "$(ls "$H/sent" | grep -c argv)" 1 "vacation: no second reply within :days"
else
	ok 0 "# SKIP vacation is not in this build"
fi

# -- vacation (RFC 5230) and duplicate (RFC 7352) through a real delivery:
# a fake sendmail records argv and the message; a scratch LMDB store.
reset
OUTBOX="$SCRATCH/outbox"
mkdir -p "$OUTBOX" "$SCRATCH/state"
chown "$TEST_UID:$TEST_GID" "$OUTBOX" "$SCRATCH/state"
printf '#!/bin/sh\nn=$(ls "%s" | grep -c msg)\nprintf "%%s\\n" "$@" >"%s/$n.argv"\ncat >"%s/$n.msg"\n' \
    "$OUTBOX" "$OUTBOX" "$OUTBOX" >"$SCRATCH/sendmail"
chmod 755 "$SCRATCH/sendmail"
printf 'sendmail_path = %s\nstore = lmdb:%s\n' "$SCRATCH/sendmail" \
    "$SCRATCH/state/db" >"$SCRATCH/vac.conf"
chmod 644 "$SCRATCH/vac.conf"
vdeliver() {	# vdeliver SENDER FILE
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" SENDER="$1" \
	    RECIPIENT=sluicetest@example.net \
	    "$SLUICE" deliver -c "$SCRATCH/vac.conf" <"$2" >"$SCRATCH/out" \
	    2>"$SCRATCH/err"
}
replies() { ls "$OUTBOX" | grep -c 'msg$'; }
script 'require "vacation";
vacation :days 7 :subject "Away" "I am away until Monday.";'
vdeliver bob@example.net "$PLAIN"
is "$?" 0 "vacation: delivery exits 0"
is "$(count "$H/Maildir/new")" 1 "vacation: the message is kept"
is "$(replies)" 1 "vacation: one reply sent"
grep -qx -- '<>' "$OUTBOX/0.argv"; ok $? "vacation: envelope sender <> (RFC 5230 5.1)"
grep -qx 'bob@example.net' "$OUTBOX/0.argv"; ok $? "vacation: sent to the envelope sender"
grep -q '^Auto-Submitted: auto-replied' "$OUTBOX/0.msg"; ok $? "vacation: Auto-Submitted: auto-replied (RFC 5230 5.6)"
grep -q '^Subject: Away$' "$OUTBOX/0.msg"; ok $? "vacation: :subject"
grep -q '^In-Reply-To: <plain1@example.org>$' "$OUTBOX/0.msg"; ok $? "vacation: In-Reply-To (RFC 5230 5.8)"
grep -q '^From: <sluicetest@example.net>$' "$OUTBOX/0.msg"; ok $? "vacation: From is the user's address found in To"
vdeliver bob@example.net "$PLAIN"
is "$(replies)" 1 "vacation: no second reply within :days (RFC 5230 4.2)"
is "$(count "$H/Maildir/new")" 2 "vacation: the second message is kept"
sed 's/^Message-ID: .*/Precedence: list/' "$PLAIN" >"$SCRATCH/prec.eml"
chmod 644 "$SCRATCH/prec.eml"
vdeliver carol@example.net "$SCRATCH/prec.eml"
is "$(replies)" 1 "vacation: no reply to Precedence: list"
sed 's/^To: .*/To: someone-else@example.org/' "$PLAIN" >"$SCRATCH/bcc.eml"
chmod 644 "$SCRATCH/bcc.eml"
vdeliver dave@example.net "$SCRATCH/bcc.eml"
is "$(replies)" 1 "vacation: no reply when we are not in To/Cc (RFC 5230 4.5)"
vdeliver erin@example.net "$PLAIN"
is "$(replies)" 2 "vacation: another sender gets a reply"

reset
script 'require "duplicate";
if duplicate { discard; }'
vdeliver bob@example.net "$PLAIN"
is "$(count "$H/Maildir/new")" 1 "duplicate: first delivery kept"
vdeliver bob@example.net "$PLAIN"
is "$?" 0 "duplicate: second delivery exits 0"
is "$(count "$H/Maildir/new")" 1 "duplicate: same Message-ID discarded (RFC 7352 3)"
sed 's/^Message-ID: .*/Message-ID: <other@example.org>/' "$PLAIN" >"$SCRATCH/other.eml"
chmod 644 "$SCRATCH/other.eml"
vdeliver bob@example.net "$SCRATCH/other.eml"
is "$(count "$H/Maildir/new")" 2 "duplicate: another Message-ID kept"

# -- vnd.dovecot.filter / vnd.dovecot.pipe (ext-extprograms.c): the filter
# runs during the run, a later test sees its header and the stored message
# is the filtered one; a pipe program gets the stored message on stdin.
reset
XPBIN="$SCRATCH/xpbin"
mkdir -p "$XPBIN" "$SCRATCH/outbox"
chown "$TEST_UID:$TEST_GID" "$SCRATCH/outbox"
printf '#!/bin/sh\nprintf "X-Filtered: %%s\\n" "$1"\nexec cat\n' >"$XPBIN/addhdr"
printf '#!/bin/sh\ncat >"%s/outbox/piped.$1"\n' "$SCRATCH" >"$XPBIN/record"
chmod 755 "$XPBIN" "$XPBIN/addhdr" "$XPBIN/record"
{
	echo "sieve_extensions = +vnd.dovecot.pipe +vnd.dovecot.filter +vnd.dovecot.execute"
	echo "sieve_pipe_bin_dir = $XPBIN"
	echo "sieve_filter_bin_dir = $XPBIN"
	echo "sieve_execute_bin_dir = $XPBIN"
} >"$SCRATCH/xp.conf"
chmod 644 "$SCRATCH/xp.conf"
script 'require ["vnd.dovecot.filter", "vnd.dovecot.pipe", "copy", "fileinto"];
filter "addhdr" ["yes"];
if header :is "X-Filtered" "yes" {
	fileinto "Filtered";
	pipe :copy "record" ["one"];
}'
setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
    PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
    UBSAN_OPTIONS="$UBSAN_OPTIONS" \
    "$SLUICE" deliver -c "$SCRATCH/xp.conf" <"$PLAIN" >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 0 "filter + pipe: exit 0"
is "$(count "$H/Maildir/.Filtered/new")" 1 "filter: a later test saw the added header"
f=$(find "$H/Maildir/.Filtered/new" -type f | head -1)
head -1 "$f" 2>/dev/null | grep -qx 'X-Filtered: yes'; ok $? "filter: the stored message is the filtered one"
sz=$(wc -c <"$f" 2>/dev/null | tr -d ' ')
case "$f" in
*,S="$sz",*|*,S="$sz") ok 0 "filter: S= is the filtered size" ;;
*) ok 1 "filter: S= is the filtered size (got '$f', $sz bytes)" ;;
esac
# Pigeonhole's sieve_pipe_input_eol = crlf: the stored message, CRLF ends.
sed 's/$/\r/' "$f" | cmp -s - "$SCRATCH/outbox/piped.one"
ok $? "pipe: the program recorded the stored message, with CRLF line ends"
is "$(count "$H/Maildir/new")" 0 "pipe :copy after fileinto: nothing in INBOX"
[ -z "$(ls "$H/Maildir/tmp" 2>/dev/null)" ]; ok $? "filter: no spool left in tmp/"

done_testing
