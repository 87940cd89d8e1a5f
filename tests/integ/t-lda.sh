#!/bin/sh
# t-lda.sh - the `sluice deliver` contract with Postfix (DESIGN.md):
# privileges, options, environment, exit codes, the one-line reason,
# the log line, configuration errors, quota, the deadline.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
MSG="$TOP_SRCDIR/examples/messages"
H="$SCRATCH/home"
mkdir -p "$H" && chown "$TEST_UID:$TEST_GID" "$H"

# deliver [ARGS...] < msg: as the user, Postfix-like env, HOME=$H.
deliver() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" ${ENVX:-} \
	    "$SLUICE" deliver "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
}
count() { find "$1" -type f 2>/dev/null | wc -l | tr -d ' '; }
reset() { rm -rf "$H/Maildir"; }

# -- privileges
"$SLUICE" deliver <"$MSG/01-plain.eml" >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 75 "as root without -d: exit 75 (never deliver as root)"
grep -q '^4\.3\.0 .*root' "$SCRATCH/err"; ok $? "as root: one-line 4.3.0 reason"
is "$(count /root/Maildir/new)" 0 "as root: nothing written to root's Maildir"

"$SLUICE" deliver -d no-such-user-xyz <"$MSG/01-plain.eml" >/dev/null 2>"$SCRATCH/err"
is "$?" 67 "unknown -d user: exit 67 (EX_NOUSER)"
grep -q '^5\.1\.1 ' "$SCRATCH/err"; ok $? "unknown user: 5.1.1 reason"

"$SLUICE" deliver -d root <"$MSG/01-plain.eml" >/dev/null 2>&1
is "$?" 75 "-d root: refused with 75"

rm -rf "$TEST_HOME/Maildir.lda"
"$SLUICE" deliver -d "$TEST_USER" --maildir "$TEST_HOME/Maildir.lda" \
    <"$MSG/01-plain.eml" >/dev/null 2>"$SCRATCH/err"
is "$?" 0 "-d USER as root: delivered"
f=$(find "$TEST_HOME/Maildir.lda/new" -type f | head -1)
is "$(stat -c %U "$f" 2>/dev/null)" "$TEST_USER" "-d USER: message owned by the user, not root"
is "$(stat -c %U "$TEST_HOME/Maildir.lda" 2>/dev/null)" "$TEST_USER" "-d USER: Maildir created by the user"
rm -rf "$TEST_HOME/Maildir.lda"

# -- plain delivery like Postfix: HOME from the environment
reset
deliver <"$MSG/01-plain.eml"
is "$?" 0 "as the user: exit 0"
is "$(count "$H/Maildir/new")" 1 "INBOX has the message"
for d in cur new tmp; do
	[ -d "$H/Maildir/$d" ]; ok $? "INBOX $d/ created"
done
f=$(find "$H/Maildir/new" -type f | head -1)
tail -n +2 "$MSG/01-plain.eml" | cmp -s - "$f"; ok $? "stored bytes = input minus the From_ line"
case "$(basename "$f")" in
*,S=$(stat -c %s "$f"),W=*) ok 0 "S= is the file size" ;;
*) ok 1 "S= is the file size ($(basename "$f"))" ;;
esac
perm=$(stat -c %a "$f")
is "$perm" 600 "message file mode 0600"
is "$(count "$H/Maildir/tmp")" 0 "tmp/ empty after delivery"

# -- CRLF is stored as LF, W= counts CRLF
reset
deliver <"$MSG/02-crlf-mime.eml"
is "$?" 0 "CRLF message delivered"
f=$(find "$H/Maildir/new" -type f | head -1)
tail -n +2 "$MSG/02-crlf-mime.eml" | tr -d '\r' | cmp -s - "$f"; ok $? "CRLF stored as LF"
size=$(stat -c %s "$f"); lines=$(wc -l <"$f" | tr -d ' ')
case "$(basename "$f")" in
*,S=$size,W=$((size + lines))) ok 0 "W= = size + line count" ;;
*) ok 1 "W= = size + line count ($(basename "$f"), size $size, lines $lines)" ;;
esac

# -- the log line (-e copies it to stderr)
reset
deliver -e <"$MSG/01-plain.eml"
grep -q 'msgid=<20261123061512.1@example.org> from=<alice@example.org> to=<sluicetest> folders=INBOX size=[0-9]* score=- status=delivered' "$SCRATCH/err"
ok $? "one log line: msgid from to folders size score status"
reset
deliver -e -f bounce@example.net <"$MSG/01-plain.eml"
grep -q 'from=<bounce@example.net>' "$SCRATCH/err"; ok $? "-f overrides the From_ line sender"
reset
ENVX="SENDER=env@example.net RECIPIENT=bob+x@example.net EXTENSION=x" deliver -e <"$MSG/03-list.eml"
grep -q 'from=<env@example.net> to=<bob+x@example.net>' "$SCRATCH/err"; ok $? "SENDER and RECIPIENT from local(8)'s environment"

# -- -m FOLDER: created, Maildir++ flat, subscribed
reset
deliver -m Lists.exmh <"$MSG/03-list.eml"
is "$?" 0 "-m Lists.exmh: exit 0"
is "$(count "$H/Maildir/.Lists.exmh/new")" 1 "-m: message in .Lists.exmh/new"
[ ! -e "$H/Maildir/.Lists" ]; ok $? "-m: Maildir++ is flat, no .Lists created"
[ -f "$H/Maildir/.Lists.exmh/maildirfolder" ]; ok $? "-m: maildirfolder file"
grep -q "$(printf 'Lists\texmh')" "$H/Maildir/subscriptions"; ok $? "-m: folder subscribed (Dovecot format)"
is "$(count "$H/Maildir/new")" 0 "-m: nothing in INBOX"
deliver -m 'Entwürfe' <"$MSG/03-list.eml"
is "$(count "$H/Maildir/.Entw&APw-rfe/new")" 1 "-m non-ASCII: modified UTF-7 on disk"
deliver -m '../escape' <"$MSG/03-list.eml"
is "$?" 0 "-m ../escape: delivered (to INBOX)"
is "$(count "$H/Maildir/new")" 1 "-m ../escape: refused name, message in INBOX"
[ ! -e "$H/escape" ] && [ ! -e "$H/Maildir/..escape" ]; ok $? "-m ../escape: nothing outside the Maildir"
deliver -m INBOX <"$MSG/03-list.eml"
is "$(count "$H/Maildir/new")" 2 "-m INBOX is the root"

# -- options and usage
deliver --no-such-option <"$MSG/01-plain.eml"
is "$?" 64 "bad option: exit 64 (EX_USAGE)"
grep -q '^5\.3\.5 ' "$SCRATCH/err"; ok $? "bad option: 5.3.5 reason"
reset
deliver -a ext <"$MSG/01-plain.eml"
is "$?" 0 "-a EXT accepted"

# -- configuration
cat >"$SCRATCH/bad.conf" <<'CONF'
# comment
maildir = ~/Maildir
no_such_key = 1
CONF
chmod 644 "$SCRATCH/bad.conf"
reset
deliver -c "$SCRATCH/bad.conf" <"$MSG/01-plain.eml"
is "$?" 75 "unknown config key: 75 (the admin must fix it; mail waits)"
grep -q "bad.conf:3: unknown setting" "$SCRATCH/err"; ok $? "config error names file:line"
deliver -c "$SCRATCH/missing.conf" <"$MSG/01-plain.eml"
is "$?" 75 "-c missing file: 75"
printf 'maildir = ~/Other\nlda_mailbox_autocreate = no\n' >"$SCRATCH/ok.conf"
chmod 644 "$SCRATCH/ok.conf"
deliver -c "$SCRATCH/ok.conf" -m NotThere <"$MSG/01-plain.eml"
is "$?" 0 "config maildir and autocreate=no: delivered"
is "$(count "$H/Other/new")" 1 "autocreate=no: missing -m folder falls back to INBOX"
[ ! -e "$H/Other/.NotThere" ]; ok $? "autocreate=no: folder not created"

# -- Maildir++ quota
reset
deliver <"$MSG/03-list.eml"
f=$(find "$H/Maildir/new" -type f | head -1)
# 500 bytes allowed; the first message (already counted) leaves too little.
printf '500S\n%s 1\n' "$(stat -c %s "$f")" >"$H/Maildir/maildirsize"
chown "$TEST_UID:$TEST_GID" "$H/Maildir/maildirsize"
deliver <"$MSG/01-plain.eml"
is "$?" 77 "over quota: bounce 77 (quota_full_tempfail = no, Dovecot's default)"
grep -q '^5\.2\.2 ' "$SCRATCH/err"; ok $? "over quota: 5.2.2 reason"
printf 'quota_full_tempfail = yes\n' >"$SCRATCH/q.conf"; chmod 644 "$SCRATCH/q.conf"
deliver -c "$SCRATCH/q.conf" <"$MSG/01-plain.eml"
is "$?" 75 "over quota, quota_full_tempfail = yes: 75"
grep -q '^4\.2\.2 ' "$SCRATCH/err"; ok $? "over quota tempfail: 4.2.2 reason"
is "$(count "$H/Maildir/new")" 1 "over quota: nothing more stored"
printf '100000S\n' >"$H/Maildir/maildirsize"
deliver <"$MSG/01-plain.eml"
is "$?" 0 "under quota: delivered"
grep -q '^[0-9]* 1$' "$H/Maildir/maildirsize"; ok $? "maildirsize records the delivery"

# -- transient faults: unwritable Maildir
reset
deliver <"$MSG/01-plain.eml"
chmod 500 "$H/Maildir/tmp"
deliver <"$MSG/01-plain.eml"
is "$?" 75 "unwritable tmp/: exit 75"
grep -q '^4\.' "$SCRATCH/err"; ok $? "unwritable tmp/: 4.x.x reason"
chmod 700 "$H/Maildir/tmp"
is "$(count "$H/Maildir/new")" 1 "unwritable tmp/: no new message"

# -- the deadline
printf 'deliver_timeout = 1\n' >"$SCRATCH/t.conf"; chmod 644 "$SCRATCH/t.conf"
reset
start=$(date +%s)
(printf 'Subject: slow\n\n'; sleep 4) | {
	deliver -c "$SCRATCH/t.conf"
	echo "$? $(date +%s)" >"$SCRATCH/deadline"
}
read -r rc end <"$SCRATCH/deadline"
is "$rc" 75 "deadline: exit 75"
grep -q '^4\.4\.7 ' "$SCRATCH/err"; ok $? "deadline: 4.4.7 reason"
[ $((end - start)) -le 3 ]; ok $? "deadline: gave up after ~1 s, not 4"
is "$(count "$H/Maildir/new")$(count "$H/Maildir/tmp")" 00 "deadline: nothing in new/ or tmp/"

# -- no message at all, or just a From_ line
reset
printf '' | deliver
is "$?" 0 "empty input: delivered"
f=$(find "$H/Maildir/new" -type f | head -1)
is "$(stat -c %s "$f" 2>/dev/null)" 0 "empty input: 0-byte message"
reset
printf 'From a@b  Mon Nov 23 05:15:12 2026\n' | deliver
is "$?" 0 "From_ line only: delivered (empty)"

done_testing
