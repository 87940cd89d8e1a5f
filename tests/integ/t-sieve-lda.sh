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

done_testing
