#!/bin/sh
# t-procmail-lda.sh - procmailrc through the LDA: the `procmail` symlink
# with Postfix's mailbox_command arguments, -d as root, and `sluice
# deliver` with a ~/.procmailrc. Folder types, the From_ line, exit codes,
# refused and broken rc files, /etc/procmailrc (moved with
# SLUICE_PROCMAIL_GLOBALRC), pipes, TIMEOUT, forwarding through $SENDMAIL.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
H="$SCRATCH/home"
B="$SCRATCH/bin"
mkdir -p "$H" "$B"
ln -s "$SLUICE" "$B/procmail"
chown -R "$TEST_UID:$TEST_GID" "$H"
export SLUICE_PROCMAIL_GLOBALRC="$SCRATCH/globalrc"

# Programs the rc files call: print argv, environment and stdin.
cat >"$B/argv" <<'EOF'
#!/bin/sh
out=$1
shift
for a in "$@"; do printf '[%s]\n' "$a"; done >"$out"
env >"$out.env"
cat >"$out.in"
EOF
cat >"$B/fakesendmail" <<EOF
#!/bin/sh
for a in "\$@"; do printf '[%s]\n' "\$a"; done >"$SCRATCH/sent.args"
cat >"$SCRATCH/sent.in"
EOF
cat >"$B/hang" <<EOF
#!/bin/sh
sleep 300 &
echo \$! >"$SCRATCH/hang.pid"
sleep 300
EOF
chmod 755 "$B/argv" "$B/fakesendmail" "$B/hang"

FROM_LINE='From sender@example.org  Mon Jan  1 00:00:00 2024'
msg() {		# msg SUBJECT: a message as Postfix hands it over
	printf '%s\nReturn-Path: <sender@example.org>\nFrom: a@example.org\nSubject: %s\n\nhello\nFrom me\nbye\n' \
	    "$FROM_LINE" "$1"
}
# pm [ARGS...]: the symlink as Postfix's mailbox_command runs it:
# procmail -a "$EXTENSION" DEFAULT=$HOME/Maildir/ MAILDIR=$HOME/Maildir
# ($OPTS go first: procmail's options end at the first other argument.)
EXT=""
OPTS=""
pm() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin SENDER=sender@example.org \
	    SLUICE_PROCMAIL_GLOBALRC="$SLUICE_PROCMAIL_GLOBALRC" \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$B/procmail" ${OPTS:-} -a "$EXT" DEFAULT="$H/Maildir/" \
	    MAILDIR="$H/Maildir" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
}
deliver() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin SLUICE_PROCMAIL_GLOBALRC="$SLUICE_PROCMAIL_GLOBALRC" \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$SLUICE" deliver "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
}
count() { find "$1" -type f 2>/dev/null | wc -l | tr -d ' '; }
one() { find "$1" -type f 2>/dev/null | head -1; }
rc() { cat >"$H/.procmailrc"; chown "$TEST_UID:$TEST_GID" "$H/.procmailrc"; chmod 644 "$H/.procmailrc"; }
reset() {
	rm -rf "$H/Maildir" "$H/.procmailrc" "$H/log" "$SCRATCH/globalrc" \
	    "$SCRATCH"/*.out* "$SCRATCH"/sent.*
	mkdir -p "$H/Maildir"
	chown "$TEST_UID:$TEST_GID" "$H/Maildir"
}
showerr() { while IFS= read -r l; do diag "stderr: $l"; done <"$SCRATCH/err"; }

# -- command line
msg t | "$B/procmail" >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 75 "as root without -d: 75"
grep -q '^4\.3\.0 .*root' "$SCRATCH/err"; ok $? "as root: a one-line 4.3.0 reason"
OPTS=-Q
msg t | pm
is "$?" 64 "unknown option: 64"
OPTS=-m
msg t | pm
is "$?" 64 "-m with assignments but no rc file: 64"
OPTS=""
"$B/procmail" -v >"$SCRATCH/out" 2>&1
is "$?" 0 "-v: 0"
msg t | "$SLUICE" procmail -d no-such-user-xyz >/dev/null 2>&1
is "$?" 67 "-d unknown user: 67"

# -- no rc file: $DEFAULT, the Maildir, without the From_ line
reset
msg plain | pm
is "$?" 0 "no .procmailrc: exit 0"; [ "$?" -eq 0 ] || showerr
f=$(one "$H/Maildir/new")
is "$(count "$H/Maildir/new")" 1 "no .procmailrc: stored in DEFAULT"
is "$(head -1 "$f" 2>/dev/null)" "Return-Path: <sender@example.org>" "Maildir: From_ line dropped"
msg plain | tail -n +2 | cmp -s - "$f"; ok $? "Maildir: the rest byte for byte"

# -- folder types, LASTFOLDER, $1 from -a
reset
mkdir "$H/Maildir/plain" && chown "$TEST_UID" "$H/Maildir/plain"
rc <<EOF
LOGFILE=$H/log
:0c
md/
:0c
mh/.
LOG="lf_mh=\$LASTFOLDER
"
:0c
mbox
LOG="lf_mbox=\$LASTFOLDER
"
:0c
plain
LOG="lf_plain=\$LASTFOLDER
"
:0c
l1/ l2/.
ARG=\$1
:0
* ARG ?? ^^ext^^
.Ext/
EOF
EXT=ext
msg types | pm
is "$?" 0 "folder types: exit 0"; [ "$?" -eq 0 ] || showerr
EXT=""
is "$(count "$H/Maildir/md/new")" 1 "md/: one Maildir message"
[ -d "$H/Maildir/md/cur" ] && [ -d "$H/Maildir/md/tmp" ]; ok $? "md/: tmp new cur made"
is "$(head -1 "$(one "$H/Maildir/md/new")")" "Return-Path: <sender@example.org>" "md/: no From_ line"
is "$(head -1 "$H/Maildir/mh/1" 2>/dev/null)" "$FROM_LINE" "mh/.: file 1 keeps the From_ line"
is "$(tail -c 2 "$H/Maildir/mh/1" 2>/dev/null | od -An -c | tr -d ' ')" '\n\n' "mh/.: ends in an empty line"
is "$(head -1 "$H/Maildir/mbox" 2>/dev/null)" "$FROM_LINE" "mbox: From_ line first"
grep -q '^>From me$' "$H/Maildir/mbox"; ok $? "mbox: body From quoted"
grep -q '^lf_mh=mh/1$' "$H/log"; ok $? "LASTFOLDER mh/1"
grep -q '^lf_mbox=mbox$' "$H/log"; ok $? "LASTFOLDER mbox"
grep -q '^lf_plain=plain/msg\.....$' "$H/log"; ok $? "LASTFOLDER plain/msg.XXXX"
is "$(stat -c %i "$(one "$H/Maildir/l1/new")" 2>/dev/null)" "$(stat -c %i "$H/Maildir/l2/1" 2>/dev/null)" "two folders: one file, hard-linked"
is "$(count "$H/Maildir/.Ext/new")" 1 "\$1 from -a: the .Ext/ recipe matched"
[ -f "$H/Maildir/.Ext/maildirfolder" ]; ok $? ".Ext/: a Maildir++ folder (maildirfolder)"
grep -q '^Ext$' "$H/Maildir/subscriptions" 2>/dev/null; ok $? ".Ext/: subscribed"
is "$(count "$H/Maildir/new")" 0 "delivered by a recipe: nothing in DEFAULT"

# -- the From_ line: made when missing, -f replaces it
reset
rc <<'EOF'
:0
mbox
EOF
OPTS="-f bob@example.org"
printf 'Subject: nofrom\n\nbody\n' | pm
is "$?" 0 "-f: exit 0"
head -1 "$H/Maildir/mbox" | grep -Eq '^From bob@example\.org  (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$'
ok $? "missing From_ line: made as 'From SENDER  ctime'"
OPTS="-fcarol@example.org"
msg f | pm
OPTS=""
tail -n +6 "$H/Maildir/mbox" | grep -q '^From carol@example\.org  '; ok $? "-f replaces an existing From_ line"

# -- exit codes
reset
rc <<'EOF'
EXITCODE=77
:0
/dev/null
EOF
msg exitcode | pm
is "$?" 77 "EXITCODE=77: exit 77"

# An unwritable folder: the recipe fails, DEFAULT takes the mail.
reset
mkdir -p "$SCRATCH/ro" && chmod 755 "$SCRATCH/ro"
rc <<EOF
:0
$SCRATCH/ro/mbox
EOF
msg ro | pm
is "$?" 0 "unwritable folder: falls back to DEFAULT (0)"
is "$(count "$H/Maildir/new")" 1 "unwritable folder: in DEFAULT"
# DEFAULT and ORGMAIL unwritable too: 75, nothing written anywhere.
msg ro | pm DEFAULT="$SCRATCH/ro/Maildir/" ORGMAIL="$SCRATCH/ro/orgmail"
is "$?" 75 "nothing writable: exit 75"
is "$(ls -A "$SCRATCH/ro" | wc -l | tr -d ' ')" 0 "nothing writable: nothing written"

# A full disk (file size limit): 75, the mbox cut back, no Maildir file.
reset
rc <<'EOF'
:0
mbox
EOF
msg first | pm
size=$(stat -c %s "$H/Maildir/mbox" 2>/dev/null)
{ msg big; head -c 300000 /dev/zero | tr '\0' 'x'; echo; } >"$SCRATCH/big"
setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
    env -i HOME="$H" USER="$TEST_USER" PATH=/usr/bin:/bin \
    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
    sh -c 'ulimit -f 64; exec "$@"' sh "$B/procmail" DEFAULT="$H/Maildir/" \
    MAILDIR="$H/Maildir" ORGMAIL="$SCRATCH/ro/x" <"$SCRATCH/big" \
    >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 75 "file size limit: exit 75"
is "$(stat -c %s "$H/Maildir/mbox")" "$size" "file size limit: mbox cut back to its old size"
is "$(count "$H/Maildir/new")" 0 "file size limit: nothing in the Maildir"
is "$(count "$H/Maildir/tmp")" 0 "file size limit: no temporary file left"

# -- refused and broken rc files: mail to DEFAULT
for mode in 666 664; do
	reset
	rc <<'EOF'
:0
bad/
EOF
	chmod "$mode" "$H/.procmailrc"
	msg perms | pm
	is "$?" 0 "mode $mode .procmailrc: exit 0"
	is "$(count "$H/Maildir/bad")" 0 "mode $mode .procmailrc: not run"
	is "$(count "$H/Maildir/new")" 1 "mode $mode .procmailrc: mail in DEFAULT"
done

reset
rc <<'EOF'
:0
* ^Subject: broken
good/

:0 Q
* ^Subject
bad/
EOF
msg broken | pm
is "$?" 0 "bad rc: exit 0"
grep -q '\.procmailrc:5' "$SCRATCH/err"; ok $? "bad rc: file:line reported"
[ "$?" -eq 0 ] || showerr
is "$(count "$H/Maildir/new")" 1 "bad rc: mail in DEFAULT"
is "$(count "$H/Maildir/good")" 0 "bad rc: no recipe of it ran"

# -- /etc/procmailrc: first, with the user's rights; not with an rc arg
reset
cat >"$SCRATCH/globalrc" <<EOF
:0c
| $B/argv $SCRATCH/global.out
EOF
chmod 644 "$SCRATCH/globalrc"
rc <<'EOF'
:0
user/
EOF
msg global | pm
is "$?" 0 "global rc: exit 0"
[ -f "$SCRATCH/global.out" ]; ok $? "global rc ran"
is "$(stat -c %u "$SCRATCH/global.out" 2>/dev/null)" "$TEST_UID" "global rc: with the user's rights"
is "$(count "$H/Maildir/user")" 1 "then the user's rc"
rm -f "$SCRATCH/global.out"
msg global | pm "$H/.procmailrc"
[ ! -f "$SCRATCH/global.out" ]; ok $? "rc file argument: no global rc"

# -- pipes: argv without a shell, a shell for metacharacters
reset
rc <<EOF
:0c
| $B/argv $SCRATCH/p1.out one "two words" 'three \$HOME'
:0c
| $B/argv $SCRATCH/p2.out a; echo semi >$SCRATCH/semi.out
:0
/dev/null
EOF
msg pipes | pm
is "$?" 0 "pipes: exit 0"
is "$(cat "$SCRATCH/p1.out" 2>/dev/null | tr '\n' ' ')" "[one] [two words] [three \$HOME] " "pipe: argv split as procmail does"
is "$(head -1 "$SCRATCH/p1.out.in" 2>/dev/null)" "$FROM_LINE" "pipe: stdin is the message with its From_ line"
grep -q "^HOME=$H\$" "$SCRATCH/p1.out.env"; ok $? "pipe env: HOME"
grep -q "^LOGNAME=$TEST_USER\$" "$SCRATCH/p1.out.env"; ok $? "pipe env: LOGNAME"
grep -q '^SENDER=' "$SCRATCH/p1.out.env"; ok $((!$?)) "pipe env: the caller's environment cleared (no -p)"
grep -q "^DEFAULT=$H/Maildir/\$" "$SCRATCH/p1.out.env"; ok $? "pipe env: DEFAULT from the command line"
is "$(cat "$SCRATCH/semi.out" 2>/dev/null)" semi "pipe with ';': run by the shell"
is "$(cat "$SCRATCH/p2.out" 2>/dev/null)" "[a]" "pipe with ';': first command's argv"

# -- TIMEOUT kills the pipe's whole process group (procmail kills only
# the program itself) and the w recipe fails: DEFAULT.
reset
rc <<EOF
TIMEOUT=2
:0 w
| $B/hang
EOF
start=$(date +%s)
msg hang | pm
rcode=$?
end=$(date +%s)
is "$rcode" 0 "hanging pipe: exit 0 (DEFAULT)"
ok $((end - start > 30)) "hanging pipe: killed after TIMEOUT ($((end - start)) s)"
is "$(count "$H/Maildir/new")" 1 "hanging pipe: mail in DEFAULT"
sleep 1
pid=$(cat "$SCRATCH/hang.pid" 2>/dev/null)
# Dead: gone, or a zombie waiting for an init that does not reap.
st=$(ps -o stat= -p "${pid:-0}" 2>/dev/null | tr -d ' ')
[ -n "$pid" ] && case $st in ''|Z*) true ;; *) false ;; esac
ok $? "hanging pipe: its background child died too (${st:-gone})"

# -- forwarding through $SENDMAIL
reset
rc <<EOF
SENDMAIL=$B/fakesendmail
:0
! fwd@example.org
EOF
msg fwd | pm
is "$?" 0 "forward: exit 0"
is "$(cat "$SCRATCH/sent.args" 2>/dev/null | tr '\n' ' ')" "[-oi] [fwd@example.org] " "forward: \$SENDMAIL \$SENDMAILFLAGS address"
grep -q '^Subject: fwd$' "$SCRATCH/sent.in" 2>/dev/null; ok $? "forward: the message on stdin"
is "$(count "$H/Maildir/new")" 0 "forward: no local copy"

# -- -d as root: a user of our own with a scratch home
PMUSER=sluicepm
PMHOME="$SCRATCH/pmhome"
id "$PMUSER" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /bin/sh "$PMUSER" >/dev/null 2>&1 ||
    bail "cannot create user $PMUSER"
usermod -d "$PMHOME" "$PMUSER" >/dev/null 2>&1 || bail "cannot set $PMUSER's home"
mkdir -p "$PMHOME"
printf 'DEFAULT=$HOME/Maildir/\n' >"$PMHOME/.procmailrc"
chown -R "$PMUSER:" "$PMHOME"
chmod 644 "$PMHOME/.procmailrc"
msg dmode | "$B/procmail" -d "$PMUSER" >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 0 "-d USER as root: exit 0"; [ "$?" -eq 0 ] || showerr
f=$(one "$PMHOME/Maildir/new")
is "$(stat -c %U "$f" 2>/dev/null)" "$PMUSER" "-d USER: written as the user"
msg dmode2 | "$B/procmail" -d "$PMUSER" "$PMUSER" >"$SCRATCH/out" 2>"$SCRATCH/err"
is "$?" 0 "-d USER USER: exit 0"
is "$(count "$PMHOME/Maildir/new")" 3 "-d twice: one delivery each"
usermod -d /nonexistent "$PMUSER" >/dev/null 2>&1

# -- sluice deliver with a ~/.procmailrc: the engine delivers itself
reset
rc <<'EOF'
:0
* ^Subject: deliver
.Sub/
EOF
msg deliver | deliver -a ext
is "$?" 0 "deliver: exit 0"; [ "$?" -eq 0 ] || showerr
is "$(count "$H/Maildir/.Sub/new")" 1 "deliver: MAILDIR is the Maildir root"
is "$(count "$H/Maildir/new")" 0 "deliver: no implicit keep besides"
is "$(count "$H/Maildir/tmp")" 0 "deliver: spool removed"
msg other | deliver
is "$(count "$H/Maildir/new")" 1 "deliver: no match -> DEFAULT = INBOX"

rc <<'EOF'
EXITCODE=77
:0
/dev/null
EOF
msg x | deliver
is "$?" 77 "deliver: EXITCODE=77"

reset
cat >"$H/rules.pm" <<'EOF'
:0
* ^Subject: rules
viarules/
EOF
chown "$TEST_UID" "$H/rules.pm"
msg rules | deliver --rules "$H/rules.pm"
is "$(count "$H/Maildir/viarules/new")" 1 "deliver --rules FILE (not .sieve): procmailrc"

# procmail_skip_bad_recipes = yes: the good recipes run.
reset
rc <<'EOF'
:0 Q
* ^Subject
bad/

:0
* ^Subject: skip
good/
EOF
printf 'procmail_skip_bad_recipes = yes\n' >"$SCRATCH/skip.conf"
msg skip | deliver -c "$SCRATCH/skip.conf"
is "$(count "$H/Maildir/good/new")" 1 "procmail_skip_bad_recipes: the good recipe ran"
msg skip | deliver
is "$(count "$H/Maildir/new")" 1 "default: a bad recipe sends the mail to DEFAULT"

done_testing
