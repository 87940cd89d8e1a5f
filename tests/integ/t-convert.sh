#!/bin/sh
# t-convert.sh - `sluice convert` (procmailrc -> Sieve): for rc files that
# translate fully (our own, and every case of the procmail differential
# suite that does), the same messages are delivered once by the real
# procmail 3.22 (-m, MAILDIR=~/Maildir DEFAULT=~/Maildir/, as sluice
# deliver runs a .procmailrc) and once by `sluice deliver --rules
# converted.sieve`, and every folder must receive the same messages
# (compared by content, CR removed: sluice stores LF). The untranslatable
# parts get their comments and the exit status 1; every converted script
# passes `sluice check`; `sluice check` / `sluice test` on procmailrc.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
PROCMAIL=/usr/bin/procmail
[ -x "$PROCMAIL" ] || bail "the differential needs procmail 3.22 ($PROCMAIL)"

RC="$SCRATCH/rc"
MS="$SCRATCH/msgs"
mkdir -p "$RC" "$MS"

# as HOME CMD...: run as the test user with that HOME.
as() {
	as_home=$1
	shift
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$as_home" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin SHELL=/bin/sh \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@"
}
fresh_home() {	# fresh_home DIR: an empty home with an empty Maildir
	rm -rf "$1"
	mkdir -p "$1/Maildir"
	chown -R "$TEST_UID:$TEST_GID" "$1"
}
# listing HOME: "FOLDER MD5" for every message in the Maildir, sorted.
listing() {
	(cd "$1/Maildir" 2>/dev/null &&
	    find . \( -path '*/new/*' -o -path '*/cur/*' \) -type f |
	    while IFS= read -r f; do
		printf '%s %s\n' "${f%/*/*}" \
		    "$(tr -d '\r' <"$f" | md5sum | cut -c1-32)"
	    done | sort)
}

# ---- messages: the examples, a few of our own, some of the corpus ----
cp "$TOP_SRCDIR"/examples/messages/*.eml "$MS/"
cat >"$MS/10-list.eml" <<'EOF'
From: Alice <alice@example.org>
To: exmh-users@example.org
Cc: bob@example.net
Subject: [exmh] release
List-Id: exmh users <exmh-users.example.org>
Message-ID: <list10@example.org>

hello list
EOF
cat >"$MS/11-boss.eml" <<'EOF'
From: The Boss <boss@example.com>
To: sluicetest@example.net
Subject: URGENT: budget
X-Priority: 1
Message-ID: <boss11@example.com>

Please send me the numbers.
Unsubscribe: never
EOF
cat >"$MS/12-reply.eml" <<'EOF'
From: The Boss <boss@example.com>
To: sluicetest@example.net
Subject: Re: budget
Message-ID: <boss12@example.com>

Thanks. Buy cheap VIAGRA now.
EOF
cat >"$MS/13-resent.eml" <<'EOF'
From: carol@example.com
To: someone@example.org
Resent-To: sluicetest@example.net
Subject: fwd: minutes
Message-ID: <resent13@example.com>

minutes attached
EOF
n=0
if files=$(corpus_files); then
	# a fixed stride: ham, spam and lists all come up
	total=$(printf '%s\n' "$files" | wc -l)
	step=$((total / 25 + 1))
	printf '%s\n' "$files" | awk -v s="$step" 'NR % s == 1' | head -n 25 |
	    while IFS= read -r f; do
		n=$((n + 1))
		cp "$f" "$MS/c$(printf %02d "$n").eml"
	    done
else
	bail "the corpus could not be fetched (tests/integ/lib.sh corpus_dir)"
fi
chmod 644 "$MS"/*
nmsg=$(ls "$MS" | wc -l)
[ "$nmsg" -ge 20 ] || bail "expected at least 20 messages, got $nmsg"

# ---- our rc files: everything here must translate fully ----
cat >"$RC/lists.rc" <<'EOF'
MAILDIR=$HOME/Maildir
DEFAULT=$MAILDIR/
LOGFILE=/dev/null
VERBOSE=off
LISTS=lists

:0:
* ^X-Spam-Flag: *YES
.Junk/

:0
* ^List-Id:.*exmh-users
.$LISTS.exmh/

:0
* ^TO_announce@lists\.example\.org
.$LISTS.announce/

:0 c
* ^From:.*boss@example\.com
.Boss/

:0
* ^Subject: *re:
* ^From:.*boss@
.Boss.replies/

:0
* ^Subject:.*(urgent|important)
{
	:0 c
	.Urgent/

	:0
	* ^X-Priority: *1
	.Urgent.top/
}

:0
* ^Resent-To:.*sluicetest
.Resent/
EOF
cat >"$RC/chains.rc" <<'EOF'
MAILDIR=$HOME/Maildir

# E: else-if, A: and-also
:0
* ^Subject:.*\[exmh\]
.exmh/
:0 E
* ^Subject:.*\[announce\]
.announce/
:0 E
* ^From:.*@example\.com
.dotcom/

:0 c
* ^Subject:.*budget
.budget/
:0 A
* ^X-Priority:
.budget.prio/
:0 A
.budget.all/

:0
* ! ^Message-ID:
.noid/
EOF
cat >"$RC/body.rc" <<'EOF'
MAILDIR=$HOME/Maildir

:0 B
* viagra|cialis
/dev/null

:0 BD
* ^Unsubscribe
.Unsub/

:0 B
* \<numbers\>
.Numbers/

:0
* > 5000
.Big/

:0
* < 300
.Small/
EOF
cat >"$RC/default.rc" <<'EOF'
MAILDIR=$HOME/Maildir
DEFAULT=$HOME/Maildir/.Rest/

:0
* ^From:.*alice
$HOME/Maildir/
EOF

# ---- the cases of the procmail differential suite that translate ----
DIFF="$TOP_SRCDIR/tests/procmail-diff"
if [ -f "$DIFF/run.py" ]; then
	python3 - "$DIFF" "$RC" <<'EOF' || bail "cannot read the differential cases"
import os, sys
sys.path.insert(0, sys.argv[1])
import run
out = sys.argv[2]
cases = []
for fn in sorted(os.listdir(os.path.join(sys.argv[1], "cases"))):
    if fn.endswith(".cases"):
        cases += run.parse_cases(os.path.join(sys.argv[1], "cases", fn))
for c in cases:
    # only self-contained rc files (no files, options, arguments)
    if c.files or c.opts or c.args or c.vars or c.mkdirs or "@" in c.rc:
        continue
    name = "diff-" + "".join(ch if ch.isalnum() or ch in "-_" else "_"
                             for ch in c.name) + ".rc"
    with open(os.path.join(out, name), "w") as f:
        f.write(c.rc)
EOF
fi
chmod 644 "$RC"/*

# ---- convert, check, deliver both ways, compare ----
full=0
for rc in "$RC"/*.rc; do
	name=${rc##*/}
	"$SLUICE" convert "$rc" >"$rc.sieve" 2>"$SCRATCH/conv.err"
	code=$?
	case $name in
	diff-*)
		# the suite's own cases: only those that translate fully
		[ "$code" -eq 0 ] || continue ;;
	*)
		is "$code" 0 "convert $name: fully translated"
		[ "$code" -eq 0 ] || sed 's/^/#   /' "$SCRATCH/conv.err" ;;
	esac
	full=$((full + 1))
	"$SLUICE" check -c /dev/null "$rc.sieve" >"$SCRATCH/check.out" 2>&1
	is "$?" 0 "convert $name: the Sieve script passes sluice check"
	grep -q 'cannot translate' "$rc.sieve"
	is "$?" 1 "convert $name: no untranslated parts marked"

	P="$SCRATCH/home-p"
	S="$SCRATCH/home-s"
	fresh_home "$P"
	fresh_home "$S"
	chmod 644 "$rc.sieve"
	bad=0
	for m in "$MS"/*.eml; do
		# procmail takes HOME from the passwd entry: set it
		as "$P" "$PROCMAIL" -m HOME="$P" MAILDIR="$P/Maildir" \
		    DEFAULT="$P/Maildir/" "$rc" <"$m" >/dev/null 2>&1
		pc=$?
		as "$S" "$SLUICE" deliver -c /dev/null --rules "$rc.sieve" \
		    <"$m" >"$SCRATCH/deliver.out" 2>&1
		sc=$?
		if [ "$pc" -ne 0 ] || [ "$sc" -ne 0 ]; then
			diag "$name ${m##*/}: procmail exit $pc, sluice exit $sc"
			sed 's/^/#   /' "$SCRATCH/deliver.out"
			bad=1
		fi
	done
	listing "$P" >"$SCRATCH/list-p"
	listing "$S" >"$SCRATCH/list-s"
	if ! cmp -s "$SCRATCH/list-p" "$SCRATCH/list-s"; then
		diff "$SCRATCH/list-p" "$SCRATCH/list-s" | sed 's/^/#   /'
		bad=1
	fi
	# our own rc files deliver somewhere (a diff case may discard all)
	case $name in diff-*) ;; *) [ -s "$SCRATCH/list-p" ] || bad=1 ;; esac
	is "$bad" 0 "convert $name: $nmsg messages, same folders as procmail ($(wc -l <"$SCRATCH/list-p") stored)"
done
[ "$full" -ge 6 ] || ok 1 "at least 6 rc files translate fully (got $full)"
diag "$full rc files translated fully and compared"

# ---- what cannot be translated is marked and counted ----
cat >"$RC/partial.rc" <<'EOF'
MAILDIR=$HOME/Maildir
:0
* ^Subject:.*\/[a-z]+
.x$MATCH/
:0
* 100^0 ^Subject:.*money
.Scored/
:0 c
| /usr/bin/logger -t mail
:0
* ? /bin/false
.Prog/
:0
mbox-file
:0
* ^Subject:.*=\?utf-8
.Encoded/
:0 h
.Heads/
:0 c
{
	:0
	.Clone/
}
:0
* ^Subject:.*keep
.Kept/
EOF
chmod 644 "$RC/partial.rc"
"$SLUICE" convert "$RC/partial.rc" >"$SCRATCH/partial.sieve" 2>"$SCRATCH/partial.err"
is "$?" 1 "convert partial.rc: exit 1"
is "$(grep -c '^# sluice convert: cannot translate (.*partial.rc:[0-9]*): ' "$SCRATCH/partial.sieve")" 8 \
    "convert partial.rc: each of the 8 untranslatable recipes has its comment"
grep -q '8 parts not translated' "$SCRATCH/partial.err"
ok $? "convert partial.rc: the count on stderr"
for why in 'procmail sets itself' 'weighted' 'vnd.dovecot.pipe' \
    'program as a condition' 'mbox file' 'RFC 2047' 'h or b alone' \
    'clones itself'; do
	grep -q "cannot translate.*$why" "$SCRATCH/partial.sieve"
	ok $? "convert partial.rc: reason '$why'"
done
grep -q '^#   \* 100^0 \^Subject:\.\*money$' "$SCRATCH/partial.sieve"
ok $? "convert partial.rc: the recipe is kept as a comment"
grep -q 'fileinto :create "Kept"' "$SCRATCH/partial.sieve"
ok $? "convert partial.rc: what translates is still there"
"$SLUICE" check -c /dev/null "$SCRATCH/partial.sieve" >/dev/null 2>&1
is "$?" 0 "convert partial.rc: the partial script passes sluice check"
"$SLUICE" convert --pipes "$RC/partial.rc" >"$SCRATCH/pipes.sieve" 2>/dev/null
grep -q 'pipe :copy "logger" \["-t", "mail"\];' "$SCRATCH/pipes.sieve"
ok $? "convert --pipes: a pipe becomes vnd.dovecot.pipe"
printf 'sieve_extensions = +vnd.dovecot.pipe +vnd.dovecot.filter\n' \
    >"$SCRATCH/pipes.conf"
"$SLUICE" check -c "$SCRATCH/pipes.conf" "$SCRATCH/pipes.sieve" \
    >"$SCRATCH/out" 2>&1
is "$?" 0 "convert --pipes: passes sluice check (extprograms enabled)"
grep -q 'sieve_extensions' "$SCRATCH/pipes.sieve"
ok $? "convert --pipes: the script says which settings it needs"
"$SLUICE" convert >/dev/null 2>&1
is "$?" 64 "convert without a file: usage (64)"

# ---- sluice check / test on procmailrc files ----
"$SLUICE" check -c /dev/null "$RC/lists.rc" >"$SCRATCH/out" 2>&1
is "$?" 0 "sluice check lists.rc: no errors"
printf ':0\n* ^Subject:.*(unclosed\n.x/\n' >"$SCRATCH/bad.rc"
"$SLUICE" check -c /dev/null "$SCRATCH/bad.rc" >"$SCRATCH/out" 2>&1
is "$?" 1 "sluice check: a bad regex is an error"
grep -q "bad.rc:2:[0-9]*: error: " "$SCRATCH/out"
ok $? "sluice check: error as file:line:col"
"$SLUICE" check -c /dev/null --lang procmail "$RC/lists.rc.sieve" >/dev/null 2>&1
is "$?" 1 "sluice check --lang procmail on a Sieve script: errors"
as "$SCRATCH" "$SLUICE" test -c /dev/null "$RC/lists.rc" "$MS/10-list.eml" \
    >"$SCRATCH/out" 2>&1
is "$?" 0 "sluice test lists.rc: exit 0"
grep -q '^Actions:' "$SCRATCH/out" && grep -q '^  deliver ".*exmh' "$SCRATCH/out"
ok $? "sluice test lists.rc: the delivery it would make"
[ ! -e "$SCRATCH/Maildir" ]; ok $? "sluice test: writes nothing"
as "$SCRATCH" "$SLUICE" test -c /dev/null --json "$RC/lists.rc" \
    "$MS/10-list.eml" "$MS/01-plain.eml" >"$SCRATCH/json" 2>&1
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["language"] == "procmail" and d["compiled"]
assert len(d["messages"]) == 2
assert any("exmh" in a["arg"] for a in d["messages"][0]["actions"])
assert d["messages"][0]["trace"]
' "$SCRATCH/json"
ok $? "sluice test --json: parses, actions and trace"

done_testing
