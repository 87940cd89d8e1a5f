#!/bin/sh
# t-faults.sh - sluice deliver under failing system calls and SIGKILL.
#
# DESIGN.md "Contracts with Dovecot": safe write (tmp/ O_EXCL, write,
# fsync, rename/link into new/, fsync the directory); a failure at any
# point leaves no partial message in new/ or cur/ and exits 75 with a
# "4.x.x reason" line on stderr (DESIGN.md "Contracts with Postfix").
#
# Part 1: for every system call on the delivery path, strace injects
# ENOSPC and EIO into exactly that call (the Nth call of that syscall,
# N found by tracing a normal run of the same scenario first, so the
# numbering holds for the plain and the sanitizer build alike). After
# each: exit 75, a "4." line on stderr, nothing in new/ or cur/ of INBOX
# or of the folder, tmp/ empty; then a clean delivery into the same,
# possibly half-made, Maildir works (exit 0, exactly one message).
# Part 2: ~200 deliveries of a 2 MB message killed by SIGKILL at a
# pseudo-random moment (fixed seed); after each, every file in new/ and
# cur/ is complete (size equals S=, bytes equal the input).
#
# Needs root (strace on a process that drops privileges; the test user).
# Standalone: SLUICE=/path/to/sluice TOP_SRCDIR=/path/to/src sh t-faults.sh
# Knobs: FAULT_KILLS (default 200), FAULT_SEED (default 20240601).
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integ/lib.sh"

need_root
command -v strace >/dev/null 2>&1 || bail "strace is not installed"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
ensure_user
scratch

# LeakSanitizer cannot run under ptrace ("LeakSanitizer does not work
# under ptrace" and exit 86 even without a leak): leak checks stay on for
# every run that strace does not watch.
STRACE_ASAN="$ASAN_OPTIONS:detect_leaks=0"
KILLS="${FAULT_KILLS:-200}"
SEED="${FAULT_SEED:-20240601}"
MD="$SCRATCH/Maildir"
ERR="$SCRATCH/stderr"
TRACE="$SCRATCH/trace"

# Test messages, stored form (LF line ends, no From_ line), so the bytes
# in the Maildir must equal the input. SMALL spans several 64 KiB write
# chunks, so that the first and the last write() are different calls.
SMALL="$SCRATCH/small.eml"
BIG="$SCRATCH/big.eml"
mkmsg() {	# mkmsg FILE LINES
	awk -v n="$2" 'BEGIN {
		printf "From: Fault Test <ft@example.org>\n"
		printf "To: sluicetest@example.org\n"
		printf "Subject: fault injection\n"
		printf "Message-ID: <fault-%d@example.org>\n\n", n
		for (i = 0; i < n; i++)
			printf "line %08d the quick brown fox jumps over the lazy dog 0123456789\n", i
	}' >"$1"
}
mkmsg "$SMALL" 3000		# ~228 KB: 4 write() calls
mkmsg "$BIG" 27500		# ~2 MB
chmod 644 "$SMALL" "$BIG"

# Run sluice deliver as the test user (-d drops privileges itself, so
# strace can run as root around it). Extra arguments are sluice options.
deliver() {	# deliver MSG [sluice-args...]
	msg=$1
	shift
	"$SLUICE" deliver -d "$TEST_USER" --maildir "$MD" "$@" <"$msg"
}

# ---- fixtures: the Maildir state a scenario starts from ----
mkmd() {	# mkmd DIR [folder]: a Maildir (folder: with maildirfolder)
	mkdir -p "$1/tmp" "$1/new" "$1/cur" || return 1
	[ "${2:-}" = folder ] && : >"$1/maildirfolder"
	return 0
}
setup() {	# setup STATE: fresh | inbox | newfolder | folder
	rm -rf "$MD"
	case "$1" in
	fresh) mkdir -p "$SCRATCH" ;;
	inbox | newfolder) mkmd "$MD" ;;
	folder) mkmd "$MD" && mkmd "$MD/.Old" folder ;;
	*) bail "unknown state $1" ;;
	esac
	[ -d "$MD" ] && chown -R "$TEST_UID:$TEST_GID" "$MD"
	return 0
}
args_of() {	# the sluice arguments of a state
	case "$1" in
	newfolder) echo "-m New" ;;
	folder) echo "-m Old" ;;
	*) echo "" ;;
	esac
}
target_of() {	# the Maildir that should receive the message
	case "$1" in
	newfolder) echo "$MD/.New" ;;
	folder) echo "$MD/.Old" ;;
	*) echo "$MD" ;;
	esac
}

# Every Maildir under the root (INBOX and folders), one a line.
maildirs() {
	[ -d "$MD" ] || return 0
	echo "$MD"
	for f in "$MD"/.*; do
		case "$f" in "$MD/." | "$MD/..") continue ;; esac
		[ -d "$f" ] && echo "$f"
	done
	return 0
}
# Files (any type) in SUB (new, cur or tmp) of every Maildir, one a line.
files_in() {	# files_in SUB...
	maildirs | while read -r d; do
		for sub in "$@"; do
			[ -d "$d/$sub" ] && find "$d/$sub" -mindepth 1
		done
	done
	return 0
}
count() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi; }

# ---- part 1: injected faults ----
#
# One row per faulted call:
#   name | state | syscall | ERE picking the call in an `strace -y` line
#   | which match (first/last) | errnos | expected exit
# Expected exit 75 means: tempfail, nothing visible, tmp/ empty. A new
# folder is subscribed before it is complete (cur/ is made last), so a
# failed subscriptions write also defers, and the retry redoes the
# folder and the subscription (DESIGN.md: -m subscribes).
FAULTS='
tmp-create        |inbox    |openat|/Maildir/tmp/[^/"]*", O_RDWR.O_CREAT.O_EXCL           |first|ENOSPC EIO|75
spool-write-first |inbox    |write |^write\([0-9]+</.*/Maildir/tmp/                         |first|ENOSPC EIO|75
spool-write-last  |inbox    |write |^write\([0-9]+</.*/Maildir/tmp/                         |last |ENOSPC EIO|75
spool-fsync       |inbox    |fsync |^fsync\([0-9]+</.*/Maildir/tmp/                         |first|ENOSPC EIO|75
rename-new        |inbox    |rename|^rename\(".*/Maildir/tmp/.*/Maildir/new/                |first|ENOSPC EIO|75
open-new-dir      |inbox    |openat|/Maildir/new", O_RDONLY                                 |first|ENOSPC EIO|75
fsync-new-dir     |inbox    |fsync |^fsync\([0-9]+</.*/Maildir/new>\)                       |first|ENOSPC EIO|75
mkdir-root        |fresh    |mkdir |^mkdir\(".*/Maildir"                                    |first|ENOSPC EIO|75
mkdir-root-cur    |fresh    |mkdir |^mkdir\(".*/Maildir/cur"                                |first|ENOSPC EIO|75
fsync-root-dir    |fresh    |fsync |^fsync\([0-9]+</.*/Maildir>\)                           |first|ENOSPC EIO|75
fsync-parent-dir  |fresh    |fsync |^fsync\([0-9]+</tmp/sluice-test\.[A-Za-z0-9]+>\)        |first|ENOSPC EIO|75
mkdir-folder      |newfolder|mkdir |^mkdir\(".*/Maildir/\.New"                              |first|ENOSPC EIO|75
mkdir-folder-tmp  |newfolder|mkdir |^mkdir\(".*/Maildir/\.New/tmp"                          |first|ENOSPC EIO|75
mkdir-folder-cur  |newfolder|mkdir |^mkdir\(".*/Maildir/\.New/cur"                          |first|ENOSPC EIO|75
create-mdfolder   |newfolder|openat|/Maildir/\.New/maildirfolder"                          |first|ENOSPC EIO|75
fsync-folder-dir  |newfolder|fsync |^fsync\([0-9]+</.*/Maildir/\.New>\)                     |first|ENOSPC EIO|75
nf-spool-write    |newfolder|write |^write\([0-9]+</.*/Maildir/tmp/                         |first|ENOSPC EIO|75
nf-link           |newfolder|link  |^link\(".*/Maildir/tmp/.*/\.New/tmp/                    |first|ENOSPC EIO|75
nf-rename         |newfolder|rename|^rename\(".*/\.New/tmp/.*/\.New/new/                    |first|ENOSPC EIO|75
nf-fsync-new-dir  |newfolder|fsync |^fsync\([0-9]+</.*/\.New/new>\)                         |first|ENOSPC EIO|75
subs-rename       |newfolder|rename|/subscriptions\.tmp                                      |first|ENOSPC EIO|75
folder-link       |folder   |link  |^link\(".*/Maildir/tmp/.*/\.Old/tmp/                    |first|ENOSPC EIO|75
folder-rename     |folder   |rename|^rename\(".*/\.Old/tmp/.*/\.Old/new/                    |first|ENOSPC EIO|75
folder-fsync-new  |folder   |fsync |^fsync\([0-9]+</.*/\.Old/new>\)                         |first|ENOSPC EIO|75
'

trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

# find_n STATE SYSCALL ERE WHICH: the ordinal of the wanted call among
# all calls of SYSCALL in a traced normal run (strace counts the same).
find_n() {
	setup "$1"
	# shellcheck disable=SC2046
	ASAN_OPTIONS="$STRACE_ASAN" strace -f -qq -y -e signal=none -e trace="$2" -o "$TRACE" \
	    "$SLUICE" deliver -d "$TEST_USER" --maildir "$MD" $(args_of "$1") \
	    <"$SMALL" >/dev/null 2>&1 || return 1
	# Only the tracee's own lines: "PID syscall(...)" with -f.
	sed 's/^[0-9][0-9]* *//' "$TRACE" | grep -E "^$2\(" |
	    grep -nE -- "$3" | cut -d: -f1 |
	    if [ "$4" = last ]; then tail -n 1; else head -n 1; fi
}

# An unmatched row is a failure, never a silent skip.
faults_run=0
printf '%s\n' "$FAULTS" | while IFS='|' read -r name state sys ere which errnos want; do
	name=$(trim "$name")
	[ -n "$name" ] || continue
	state=$(trim "$state"); sys=$(trim "$sys"); ere=$(trim "$ere")
	which=$(trim "$which"); errnos=$(trim "$errnos"); want=$(trim "$want")
	n=$(find_n "$state" "$sys" "$ere" "$which")
	if [ -z "$n" ]; then
		ok 1 "$name: found the $sys call to fault in a traced run"
		diag "pattern: $ere"
		sed 's/^/#   /' "$TRACE" | grep -E "$sys\(" | head -20
		echo "$TAP_N $TAP_FAILED" >"$SCRATCH/tap.state"
		continue
	fi
	for errno in $errnos; do
		what="$name ($sys #$n = $errno)"
		setup "$state"
		# shellcheck disable=SC2046
		ASAN_OPTIONS="$STRACE_ASAN" strace -f -qq -e signal=none -o /dev/null -e trace="$sys" \
		    -e inject="$sys:error=$errno:when=$n" \
		    "$SLUICE" deliver -d "$TEST_USER" --maildir "$MD" \
		    $(args_of "$state") <"$SMALL" >/dev/null 2>"$ERR"
		rc=$?
		is "$rc" "$want" "$what: exit status $want"
		if [ "$want" = 75 ]; then
			grep -q '^4\.[0-9]' "$ERR"
			ok $? "$what: stderr says 4.x.x"
			[ -s "$ERR" ] && sed 's/^/#   stderr: /' "$ERR" | head -3
			vis=$(files_in new cur)
			is "$(count "$vis")" 0 "$what: nothing in new/ or cur/"
			[ -n "$vis" ] && printf '%s\n' "$vis" | sed 's/^/#   left: /'
			left=$(files_in tmp)
			is "$(count "$left")" 0 "$what: tmp/ is empty"
			[ -n "$left" ] && printf '%s\n' "$left" | sed 's/^/#   tmp leftover: /'
		else
			got=$(find "$(target_of "$state")/new" -type f | wc -l)
			is "$(echo $got)" 1 "$what: delivered all the same"
			rm -f "$(target_of "$state")"/new/*
		fi
		# A clean delivery into whatever state the fault left.
		# shellcheck disable=SC2046
		deliver "$SMALL" $(args_of "$state") >/dev/null 2>"$ERR"
		rc=$?
		is "$rc" 0 "$what: then a clean delivery exits 0"
		[ "$rc" -ne 0 ] && sed 's/^/#   stderr: /' "$ERR" | head -3
		tgt=$(target_of "$state")
		got=$(files_in new cur)
		one=$(find "$tgt/new" "$tgt/cur" -type f 2>/dev/null | wc -l)
		if [ "$(count "$got")" = 1 ] && [ "$one" -eq 1 ] &&
		    cmp -s "$got" "$SMALL"; then
			ok 0 "$what: then exactly one complete message"
		else
			ok 1 "$what: then exactly one complete message"
			printf '%s\n' "$got" | sed 's/^/#   have: /'
		fi
		# A folder made by -m: complete (maildirfolder) and subscribed
		# once a delivery succeeded, even after a half-made attempt
		# that was deferred (the retry must not be worse off).
		if [ "$state" = newfolder ] && [ "$want" = 75 ]; then
			test -f "$tgt/maildirfolder"
			ok $? "$what: then .New/maildirfolder exists"
			grep -qx 'New' "$MD/subscriptions" 2>/dev/null
			ok $? "$what: then New is in subscriptions"
		fi
	done
	faults_run=$((faults_run + 1))
	echo "$TAP_N $TAP_FAILED" >"$SCRATCH/tap.state"
done
# The loop ran in a subshell (pipe): carry its counters out.
if [ -f "$SCRATCH/tap.state" ]; then
	read -r TAP_N TAP_FAILED <"$SCRATCH/tap.state"
else
	ok 1 "the fault table ran"
fi

# ---- part 2: SIGKILL at random moments ----

now_ms() { date +%s%N | cut -c1-13; }

# check_complete: every file in new/ and cur/ has size S= and the input's
# bytes. Prints one line per bad file; empties the Maildir afterwards.
check_complete() {
	files_in new cur | while read -r f; do
		s=$(printf '%s' "$f" | sed -n 's/.*,S=\([0-9]*\).*/\1/p')
		sz=$(wc -c <"$f" | tr -d ' ')
		if [ -z "$s" ] || [ "$s" != "$sz" ]; then
			echo "size $sz != S=$s: $f"
		elif ! cmp -s "$f" "$BIG"; then
			echo "content differs: $f"
		fi
	done
	maildirs | while read -r d; do rm -f "$d"/new/* "$d"/cur/*; done
}

setup inbox
# The normal delivery time: the slowest of three unkilled runs.
t_max=0
for i in 1 2 3; do
	t0=$(now_ms)
	as_user "$SLUICE" deliver --maildir "$MD" <"$BIG" >/dev/null 2>&1
	rc=$?
	t1=$(now_ms)
	[ "$rc" -eq 0 ] || break
	[ $((t1 - t0)) -gt "$t_max" ] && t_max=$((t1 - t0))
done
is "$rc" 0 "2 MB message: unkilled delivery exits 0"
bad=$(check_complete)
is "$bad" "" "2 MB message: unkilled deliveries are complete"
diag "normal delivery of the 2 MB message: ${t_max} ms; $KILLS kills, seed $SEED"

# Delays in seconds, uniform in 0..t_max, from a fixed seed.
awk -v n="$KILLS" -v t="$t_max" -v seed="$SEED" 'BEGIN {
	srand(seed)
	for (i = 0; i < n; i++) printf "%.4f\n", rand() * t / 1000
}' >"$SCRATCH/delays"

i=0 delivered=0 killed=0 tmpleft=0 badruns=0
: >"$SCRATCH/kill.bad"
while read -r delay; do
	i=$((i + 1))
	as_user "$SLUICE" deliver --maildir "$MD" <"$BIG" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	case "$rc" in
	0) delivered=$((delivered + 1)) ;;
	137) killed=$((killed + 1)) ;;
	*) echo "run $i (delay $delay s): exit $rc" >>"$SCRATCH/kill.bad" ;;
	esac
	t=$(count "$(files_in tmp)")
	tmpleft=$((tmpleft + t))
	rm -f "$MD"/tmp/*
	bad=$(check_complete)
	if [ -n "$bad" ]; then
		badruns=$((badruns + 1))
		printf 'run %d (delay %s s): %s\n' "$i" "$delay" "$bad" \
		    >>"$SCRATCH/kill.bad"
	fi
done <"$SCRATCH/delays"
is "$badruns" 0 "SIGKILL x$KILLS: every visible message is complete"
is "$(cat "$SCRATCH/kill.bad")" "" "SIGKILL x$KILLS: no unexpected exit status or torn file"
sed 's/^/#   /' "$SCRATCH/kill.bad" | head -20
diag "SIGKILL runs: $delivered finished first, $killed killed," \
    "$tmpleft tmp/ leftovers (expected after SIGKILL; Maildir readers ignore tmp/)"

# A killed run never blocks the next one.
setup inbox
deliver "$SMALL" >/dev/null 2>"$ERR"
is "$?" 0 "after all that, a clean delivery exits 0"
is "$(count "$(files_in new cur)")" 1 "... and leaves exactly one message"

done_testing
