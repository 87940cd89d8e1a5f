#!/bin/sh
# t-procmail-hostile.sh - hostile .procmailrc files and hostile messages
# through sluice's procmailrc support. Each case must end with the mail
# delivered intact (exit 0; byte-identical to the input minus its From_
# line, in $DEFAULT unless the case says where), in bounded wall time
# (every run is under `timeout`, and the elapsed time is asserted well
# below it) and bounded memory (peak RSS from /usr/bin/time), and, where
# the rc file is at fault, with a diagnostic naming file:line.
#
# Every case runs two ways, as the test user, each in a fresh HOME that
# holds the rc as ~/.procmailrc (and any file it includes) and an
# existing ~/Maildir:
#   link     the procmail symlink to $SLUICE with Postfix's arguments,
#            plus LOGFILE on the command line so that diagnostics of an
#            rc file that never runs have somewhere to go:
#            procmail -a "" DEFAULT=$HOME/Maildir/ MAILDIR=$HOME/Maildir LOGFILE=$HOME/pm.log
#   deliver  sluice deliver -e (diagnostics also on stderr), which picks
#            ~/.procmailrc; DEFAULT is ~/Maildir/ there too. -e copies
#            every log line to stderr, so its output bound is looser.
# Diagnostics are looked for in pm.log (link), in anything the rc set as
# LOGFILE, and in the program's stdout/stderr. Parse errors are also
# checked with `sluice check FILE` (exit 1, "file:line:col: error:").
#
# Cases: an unterminated block, 10,000 nested braces, INCLUDERC of itself
# and A->B->A, regexes that backtrack catastrophically on a big message,
# a 1 MB line in the rc and in a header, 30,000 recipes, binary garbage,
# variable expansion bombs, programs that never exit (TIMEOUT: plain,
# ignoring SIGTERM, leaving a grandchild that holds the pipe), programs
# that spew output (backquote, filter, delivering pipe), and message text
# that looks like shell commands used in a folder name, LOG and program
# arguments: nothing may run (sluice never pastes message text into a
# shell command; Debian's procmail does not either).
#
# WAYS="link deliver" and CASES="..." (names below) select what runs;
# WAYS=procmail runs Debian's procmail instead (rc file named on its
# command line: it takes HOME from the password file), to check the
# expectations of the cases it survives; it is no part of the test.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"

need_root
ensure_user
command -v python3 >/dev/null 2>&1 || bail "python3 is needed to generate inputs"
[ -x /usr/bin/time ] || bail "/usr/bin/time is needed to measure peak RSS (Debian package \"time\")"
command -v timeout >/dev/null 2>&1 || bail "timeout(1) is needed (coreutils)"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
scratch

# Bounds. A hostile rc file or message may cost at most this much.
RSS_LIMIT_KIB=65536		# 64 MiB: rc files are <= 1 MiB, messages a few MiB
# A spewing program may fill the capture buffer up to
# PM_MAX_PROGRAM_OUTPUT (64 MiB, procmailrc.h) before it is cut off; a
# growing buffer may briefly hold twice that.
SPEW_RSS_LIMIT_KIB=$((3 * 65536))
if [ "$SANITIZERS" = yes ]; then	# ASan: shadow memory and quarantine
	RSS_LIMIT_KIB=$((RSS_LIMIT_KIB * 3))
	SPEW_RSS_LIMIT_KIB=$((SPEW_RSS_LIMIT_KIB * 3))
fi
WALL_LIMIT=20		# seconds a case may take (asserted)
HARD_LIMIT=${HARD_LIMIT:-120}	# timeout(1) kills the run here (then the case fails)
OUT_LIMIT=65536		# bytes on stdout+stderr: a diagnostic, not a program's output
# sluice deliver -e and sluice check print every log line (LOG= text up
# to PM_MAX_VAR_LEN) or error: bounded, not short.
LOG_OUT_LIMIT=$((4 * 1024 * 1024))
PM_TIMEOUT=3		# TIMEOUT= in the rc files whose programs never end

IN="$SCRATCH/in"
mkdir "$IN" || bail "cannot create $IN"
MARK="/tmp/sluice-pwned-$$"	# files the injection case must not create
on_exit "rm -f $MARK-*"

# ---- generate every case: $IN/NAME/.procmailrc, msg, other files ----
python3 - "$IN" "$MARK" "$PM_TIMEOUT" <<'EOF' || bail "cannot generate the hostile inputs"
import os, random, sys
d, mark, tmo = sys.argv[1], sys.argv[2], sys.argv[3]
FROM = b"From sender@example.org  Thu Jan  1 00:00:00 2024\n"
HDR = (b"From: sender@example.org\nTo: sluicetest@example.org\n"
       b"Subject: hostile\nMessage-ID: <hostile@example.org>\n\n")
MSG = FROM + HDR + b"An ordinary body.\n"
MAILDIR = b"MAILDIR=$HOME/Maildir\n"
PM_MAX_RC_SIZE = 1024 * 1024

def case(name, rc, msg=MSG, **files):
    c = os.path.join(d, name)
    os.mkdir(c)
    assert len(rc) <= PM_MAX_RC_SIZE or name == "rc-too-big", name
    with open(os.path.join(c, ".procmailrc"), "wb") as f:
        f.write(rc)
    with open(os.path.join(c, "msg"), "wb") as f:
        f.write(msg)
    for fn, data in files.items():
        with open(os.path.join(c, fn.replace("_", ".")), "wb") as f:
            f.write(data)

# -- broken structure
# (the block's condition does not match: procmail closes a block at the
# end of the file, sluice may refuse the file; either way, DEFAULT)
case("unterminated", MAILDIR +
     b":0\n* ^Subject: not this one\n{\n  :0\n  never/\n")
case("nested-10000", MAILDIR + b":0\n{\n" * 10000 + b"never/\n" +
     b"}\n" * 10000)
case("close-only", MAILDIR + b"}\n" * 1000 + b":0\nnever/\n")
case("include-self", MAILDIR + b"INCLUDERC=$HOME/.procmailrc\n")
case("include-ab", MAILDIR + b"INCLUDERC=$HOME/a.rc\n",
     a_rc=b"INCLUDERC=$HOME/b.rc\n", b_rc=b"INCLUDERC=$HOME/a.rc\n")
case("switchrc-self", MAILDIR + b"SWITCHRC=$HOME/.procmailrc\n")
# -- regexes that backtrack, on a big message (about 2 MiB of body)
aaa = (b"a" * 20000 + b"!\n") * 100
case("backtrack", MAILDIR +
     b":0B\n* (a|aa)+$\nnever/\n"
     b":0B\n* (a*)*b\nnever/\n"
     b":0B\n* ^(a+)+$\nnever/\n"
     b":0\n* ^Subject:.*(.*)*x\nnever/\n",
     msg=FROM + b"Subject: " + b"a" * 60000 + b"\n\n" + aaa)
# -- 1 MB lines
case("rc-line-1m", MAILDIR + b"X=\"" + b"x" * 1000000 + b"\"\n"
     b":0\n* ^Subject: hostile\nnever/\n")
case("rc-too-big", MAILDIR + b"# " + b"y" * (PM_MAX_RC_SIZE + 10) + b"\n")
case("header-line-1m", MAILDIR + b":0\n* ^Subject:.*MARKER\nmatched/\n",
     msg=FROM + b"Subject: " + b"z" * 1000000 + b" MARKER\n\nbody\n")
# -- 30,000 recipes, none matches but the last
many = b"".join(b":0\n* ^X-Never-%d: yes\nnever/\n" % i for i in range(30000))
case("recipes-30000", MAILDIR + many + b":0\n* ^Subject: hostile\nlast/\n")
# -- binary garbage, and garbage after a good start
rnd = random.Random(4)
case("garbage", bytes(rnd.getrandbits(8) for _ in range(65536)))
case("garbage-nul", MAILDIR + b":0\n* ^Subject: \0hostile\nnever/\n" +
     b"\0" * 4096 + b":0\n* ^X-Nothing\0\nnever\0/\n")
# -- variable expansion bombs
bomb = MAILDIR + b"A=xxxxxxxxxxxxxxxx\n" + b"A=" + b"$A" * 16 + b"\n"
bomb = MAILDIR + b"A=xxxxxxxxxxxxxxxx\n" + (b"A=" + b"$A" * 16 + b"\n") * 8
case("bomb-16x", bomb + b":0\n* A ?? y\nnever/\n:0\n* $ ${A}${A}y\nnever/\n")
case("bomb-double", MAILDIR + b"A=x\n" + b"A=$A$A\n" * 64 +
     b"B=\"$A$A$A$A\"\nLOG=$A\n:0\n* $ $A$A\nnever/\n")
case("bomb-default", MAILDIR + b"A=xxxxxxxxxxxxxxxx\n" +
     b"A=${A:-$A}${A-$A}${A:+$A$A}${A+$A$A}\n" * 30 + b":0\n* $ ^$A\nnever/\n")
# -- programs that never end
t = tmo.encode()
case("timeout-backquote", MAILDIR + b"TIMEOUT=" + t + b"\nX=`sleep 60`\n")
case("timeout-pipe", MAILDIR + b"TIMEOUT=" + t + b"\n:0w\n| sleep 60\n")
case("timeout-filter", MAILDIR + b"TIMEOUT=" + t + b"\n:0fw\n| sleep 60\n")
case("timeout-condition", MAILDIR + b"TIMEOUT=" + t +
     b"\n:0\n* ? sleep 60\nnever/\n")
case("timeout-ignore-term", MAILDIR + b"TIMEOUT=" + t +
     b"\n:0w\n| trap '' TERM; sleep 60\n")
case("timeout-grandchild", MAILDIR + b"TIMEOUT=" + t +
     b"\nX=`sleep 60 | cat`\n:0fw\n| sleep 60 | cat\n")
# -- programs that spew output (a hard cap, or TIMEOUT, ends them)
case("spew-backquote", MAILDIR + b"TIMEOUT=10\nX=`yes`\n")
case("spew-capture", MAILDIR + b"TIMEOUT=10\n:0\nX=| yes\n")
case("spew-filter", MAILDIR + b"TIMEOUT=10\n:0fw\n| yes\n")
# (reads the mail, writes 100 MB, fails: the mail goes on to DEFAULT)
case("spew-deliver", MAILDIR + b"TIMEOUT=10\n:0w\n"
     b"| cat >/dev/null; head -c 100000000 /dev/zero; exit 1\n")
# -- message text that looks like shell: never run
subj = (b"$(touch %s-1) `touch %s-2` ; touch %s-3 | touch %s-4 && touch %s-5"
        % ((mark.encode(),) * 5))
case("injection", MAILDIR + b"LOGFILE=$HOME/inj.log\n"
     b":0\n* ^Subject: \\/.*\n{\n"
     b"  SUBJ=$MATCH\n"
     b"  LOG=\"subject: $SUBJ\n\"\n"
     b"  :0c\n  | /bin/echo $SUBJ\n"
     b"  :0c\n  | /bin/cat >/dev/null; /bin/echo \"$SUBJ\" >>$HOME/echo.out\n"
     b"  :0c\n  | /bin/cat >/dev/null; /bin/echo $SUBJ >>$HOME/echo.out\n"
     b"  :0wc\n  * ? /bin/echo $SUBJ\n  | /bin/cat >/dev/null\n"
     b"}\n",
     msg=FROM + b"Subject: " + subj + b"\n\nbody\n")
case("injection-folder", MAILDIR + b":0\n* ^Subject: \\/[^ ]+\ninj.$MATCH/\n",
     msg=FROM + b"Subject: $(touch${IFS}pwned-6)`touch${IFS}pwned-7`\n\nbody\n")
EOF

# name % folder (where the mail must land, under ~/Maildir; "" = INBOX)
#      % diagnostic (grep -E on the logs and output; "" = none asked)
#      % rss limit % sluice check: 1 must fail (exit 1, "file:line:col:
#        error:"), w must say "file:line:col: error:" or "warning:"
cat >"$SCRATCH/cases" <<EOF
unterminated%%\\.procmailrc:[0-9]+%$RSS_LIMIT_KIB%w
nested-10000%%\\.procmailrc:[0-9]+%$RSS_LIMIT_KIB%1
close-only%%\\.procmailrc:2([^0-9]|$)%$RSS_LIMIT_KIB%1
include-self%%\\.procmailrc:2([^0-9]|$)%$RSS_LIMIT_KIB%0
include-ab%%[ab]\\.rc:1([^0-9]|$)%$RSS_LIMIT_KIB%0
switchrc-self%%%$RSS_LIMIT_KIB%0
backtrack%%%$RSS_LIMIT_KIB%0
rc-line-1m%%\\.procmailrc:2([^0-9]|$)%$RSS_LIMIT_KIB%1
rc-too-big%%\\.procmailrc%$RSS_LIMIT_KIB%1
header-line-1m%matched%%$RSS_LIMIT_KIB%0
recipes-30000%last%%$RSS_LIMIT_KIB%0
garbage%%\\.procmailrc:[0-9]+%$RSS_LIMIT_KIB%1
garbage-nul%%%$RSS_LIMIT_KIB%0
bomb-16x%%%$RSS_LIMIT_KIB%0
bomb-double%%%$RSS_LIMIT_KIB%0
bomb-default%%%$RSS_LIMIT_KIB%0
timeout-backquote%%%$RSS_LIMIT_KIB%0
timeout-pipe%%%$RSS_LIMIT_KIB%0
timeout-filter%%%$RSS_LIMIT_KIB%0
timeout-condition%%%$RSS_LIMIT_KIB%0
timeout-ignore-term%%%$RSS_LIMIT_KIB%0
timeout-grandchild%%%$RSS_LIMIT_KIB%0
spew-backquote%%%$SPEW_RSS_LIMIT_KIB%0
spew-capture%%%$SPEW_RSS_LIMIT_KIB%0
spew-filter%%%$SPEW_RSS_LIMIT_KIB%0
spew-deliver%%%$RSS_LIMIT_KIB%0
injection%%%$RSS_LIMIT_KIB%0
injection-folder%inj.\$(touch\${IFS}pwned-6)\`touch\${IFS}pwned-7\`%%$RSS_LIMIT_KIB%0
EOF

mkdir "$SCRATCH/bin"
ln -s "$SLUICE" "$SCRATCH/bin/procmail"

# show FILE...: the first bytes, printable, as TAP comments
show() { cat "$@" 2>/dev/null | head -c 600 | tr -c '[:print:]\n' '?' | sed 's/^/#   /'; }
# strip_from FILE: FILE without a leading From_ line
strip_from() { awk 'NR == 1 && /^From / { next } { print }' "$1"; }
# ok2 COND DESC: ok, and remember whether it failed
ok2() { ok "$1" "$2"; [ "$1" -eq 0 ]; }

run_case() {	# run_case WAY NAME FOLDER DIAG RSSMAX
	way=$1 name=$2 folder=$3 want_diag=$4 rssmax=$5
	H="$SCRATCH/h.$way.$name"
	mkdir -p "$H/Maildir/tmp" "$H/Maildir/new" "$H/Maildir/cur"
	cp -R "$IN/$name/." "$H/"
	rm -f "$H/msg"
	[ "$way" = procmail ] &&	# it takes HOME from the password file
	    sed -i "s|\\\$HOME|$H|g" "$H"/.procmailrc "$H"/*.rc 2>/dev/null
	chmod 644 "$H"/.procmailrc "$H"/*.rc 2>/dev/null
	chmod 700 "$H/Maildir"
	chmod 755 "$H"
	chown -R "$TEST_UID:$TEST_GID" "$H"
	case $way in
	link) set -- procmail -a "" DEFAULT="$H/Maildir/" MAILDIR="$H/Maildir" \
	    LOGFILE="$H/pm.log" ;;
	deliver) set -- "$SLUICE" deliver -e ;;
	procmail) set -- /usr/bin/procmail -a "" DEFAULT="$H/Maildir/" \
	    MAILDIR="$H/Maildir" LOGFILE="$H/pm.log" "$H/.procmailrc" ;;
	esac
	t0=$(date +%s%N)
	(cd "$H" && /usr/bin/time -f %M -o "$SCRATCH/rss" \
	    timeout -k 5 "$HARD_LIMIT" setpriv --reuid="$TEST_UID" \
	    --regid="$TEST_GID" --init-groups env -i HOME="$H" \
	    USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/bin/sh \
	    PATH="$SCRATCH/bin:/usr/bin:/bin" EXTENSION= \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@") \
	    <"$IN/$name/msg" >"$SCRATCH/out" 2>&1
	rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	rss=$(tail -n 1 "$SCRATCH/rss" 2>/dev/null)
	case $rss in '' | *[!0-9]*) rss=0 ;; esac
	outsize=$(wc -c <"$SCRATCH/out")
	label="$way: $name"
	outmax=$OUT_LIMIT
	[ "$way" = deliver ] && outmax=$LOG_OUT_LIMIT

	ok2 "$([ "$rc" -eq 0 ]; echo $?)" "$label: exit 0" ||
	    { diag "exit $rc"; show "$SCRATCH/out"; }
	ok2 "$([ "$ms" -lt $((WALL_LIMIT * 1000)) ]; echo $?)" \
	    "$label: done in ${ms} ms (< ${WALL_LIMIT} s)"
	ok2 "$([ "$rss" -gt 0 ] && [ "$rss" -lt "$rssmax" ]; echo $?)" \
	    "$label: peak RSS $rss KiB (< $rssmax KiB)"
	ok2 "$([ "$outsize" -le "$outmax" ]; echo $?)" \
	    "$label: $outsize bytes of output (<= $outmax)"

	# the mail: exactly one file in the expected folder, none elsewhere
	want_dir="$H/Maildir${folder:+/$folder}/new"
	all=$(find "$H/Maildir" -type f -path '*/new/*' | sort)
	n_all=$(printf '%s' "$all" | grep -c .)
	got=$(find "$want_dir" -type f 2>/dev/null | head -n 1)
	strip_from "$IN/$name/msg" >"$SCRATCH/want"
	[ "$n_all" -eq 1 ] && [ -n "$got" ] && cmp -s "$SCRATCH/want" "$got"
	ok2 $? "$label: mail intact in ${folder:-INBOX} only" ||
	    diag "files: $(echo $all | head -c 400)"

	if [ -n "$want_diag" ]; then
		cat "$H/pm.log" "$SCRATCH/out" 2>/dev/null |
		    grep -Eq "$want_diag"
		ok2 $? "$label: diagnostic names the place (/$want_diag/)" || {
			diag "log and output:"
			show "$H/pm.log" "$SCRATCH/out"
		}
	fi
	# leftovers as information: a program killed at TIMEOUT should
	# not leave its children running for a minute
	left=$(ps -u "$TEST_USER" -o args= 2>/dev/null | grep -c '^sleep 60')
	[ "$left" -eq 0 ] || diag "$label: $left 'sleep 60' process(es) still running"
}

for way in ${WAYS:-link deliver}; do
	while IFS='%' read -r name folder want_diag rssmax parse_err; do
		case " ${CASES:-$name} " in *" $name "*) ;; *) continue ;; esac
		run_case "$way" "$name" "$folder" "$want_diag" "$rssmax"
		case $name in
		injection)
			found=$(ls "$MARK"-* "$H"/pwned-* "$H"/Maildir/pwned-* 2>/dev/null)
			is "$found" "" "$label: message text ran no command"
			# the pipes did run, and got the text as data
			subj=$(sed -n 's/^Subject: //p' "$IN/$name/msg")
			n=$(grep -cxF -- "$subj" "$H/echo.out" 2>/dev/null)
			is "${n:-0}" 2 "$label: both shell pipes saw the subject as plain text"
			grep -qF -- "subject: $subj" "$H/inj.log" 2>/dev/null
			ok $? "$label: LOG wrote the subject as plain text"
			;;
		injection-folder)
			found=$(find "$H" -name 'pwned-*' | head -n 3)
			is "$found" "" "$label: message text in a folder name ran no command"
			;;
		esac
	done <"$SCRATCH/cases"
done

# sluice check reports the parse errors with file:line:col
while IFS='%' read -r name folder want_diag rssmax parse_err; do
	case " ${CASES:-$name} " in *" $name "*) ;; *) continue ;; esac
	case $parse_err in
	1) want_rc=1 kind="error" ;;
	w) want_rc=any kind="(error|warning)" ;;
	*) continue ;;
	esac
	f="$SCRATCH/check.$name.procmailrc"
	cp "$IN/$name/.procmailrc" "$f"
	timeout -k 5 "$HARD_LIMIT" "$SLUICE" check --lang procmail "$f" \
	    >"$SCRATCH/out" 2>&1
	rc=$?
	{ [ "$want_rc" = any ] && [ "$rc" -le 1 ] || [ "$rc" = "$want_rc" ]; } &&
	    grep -Eq "check\\.$name\\.procmailrc:[0-9]+:[0-9]+: $kind: " "$SCRATCH/out" &&
	    [ "$(wc -c <"$SCRATCH/out")" -le "$LOG_OUT_LIMIT" ]
	ok2 $? "sluice check: $name: exit $want_rc, file:line:col: $kind: ..." ||
	    { diag "exit $rc"; show "$SCRATCH/out"; }
done <"$SCRATCH/cases"

done_testing
