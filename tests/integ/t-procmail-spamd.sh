#!/bin/sh
# t-procmail-spamd.sh - the .procmailrc of issue 4, unchanged, with
# Debian's spamd: spam is filed into .junk/, ham into INBOX.
#
#	:0fw
#	* < 280000
#	| spamc -u simon-mail -d localhost
#
#	:0:
#	* ^X-Spam-Status: Yes, score=([5-9]|1[0-9]|[2-9][0-9])
#	.junk/
#
# The test starts its own spamd on 127.0.0.1:783 (spamc's default port:
# the rc must stay unchanged, so "-d localhost" has to reach it) with a
# scratch site config (no Bayes, no auto-learning, no network tests, no
# rule updates), --nouser-config so that "-u simon-mail" (no such user)
# is harmless, running as the unprivileged test user, and stops it by its
# PID at the end. If something else already listens on port 783 the test
# bails out rather than trust a server it does not control.
#
# Messages: GTUBE, a forged "X-Spam-Status: Yes" on a ham (spamd removes
# it), a 400 KB GTUBE message (over the "< 280000" condition: not
# filtered, so INBOX, stored intact), and corpus messages (corpus_files,
# lib.sh) that this very spamd scores >= 7 (spam) or <= 3 (ham), asked
# with "spamc -c" first, so the expectation is spamd's verdict with a
# margin of 2 around the threshold, not a hard-coded list.
#
# Each message is delivered, one process each, as the test user, three
# ways, each with its own HOME holding the rc as ~/.procmailrc and an
# existing ~/Maildir (as Dovecot leaves it):
#   procmail  Debian's procmail 3.22, the reference: the run checks the
#             test itself. procmail takes HOME from the password file,
#             not from the environment, so the rc file is named on its
#             command line after Postfix's arguments.
#   link      the procmail symlink to $SLUICE, with Postfix's line, run
#             through sh as local(8) runs a mailbox_command:
#             procmail -a "$EXTENSION" DEFAULT=$HOME/Maildir/ MAILDIR=$HOME/Maildir
#   deliver   sluice deliver -a "$EXTENSION", which picks ~/.procmailrc
#             and runs it as Postfix's procmail line would
#             (sluice-procmailrc(7) "From sluice deliver": MAILDIR is the
#             INBOX Maildir, DEFAULT the same with a "/"), so ".junk/" is
#             ~/Maildir/.junk/ there too.
# Checks per message: exit 0; exactly one new file, in the expected
# folder and nowhere else; ham stored as spamd returned it (the input
# without its From_ line, plus spamd's X-Spam-* fields: compared byte for
# byte once every X-Spam-* field is removed from both); spam carries
# "X-Spam-Status: Yes" and still holds the original (its Message-ID).
#
# Issue 4 also asks for "| sluice score --filter" in place of spamc in
# the same rc; "sluice score" arrives with a later issue, and that half
# of the test comes with it.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"

need_root
ensure_user
for p in spamd spamc procmail python3; do
	command -v "$p" >/dev/null 2>&1 ||
	    bail "$p is not installed (tests/install-deps.sh test installs it)"
done
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
scratch

SPAMD_PORT=783		# spamc's default: the rc says only "-d localhost"
SPAM_MIN=7		# corpus spam: spamd score at least this
HAM_MAX=3		# corpus ham: at most this (threshold 5.0)
CORPUS_TRY=40		# candidates looked at in each corpus directory
PICK=8			# messages kept of each kind
PICK_MIN=5		# fewer than this: the corpus or spamd is not usable
SPAMD_START_SECS=90	# spamd compiles its rules at start

# ---- spamd on 127.0.0.1:783 ----
port_open() {	# port_open PORT: 0 if something accepts on 127.0.0.1:PORT
	python3 -c 'import socket, sys
s = socket.socket()
s.settimeout(2)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}
port_open "$SPAMD_PORT" &&
    bail "something already listens on 127.0.0.1:$SPAMD_PORT (a system spamd? tests/install-deps.sh stops it)"

SA="$SCRATCH/sa"
mkdir -p "$SA/site" "$SA/home" || bail "cannot create $SA"
# The .pre files load the plugins; local.cf is ours, not the system's.
cp /etc/spamassassin/*.pre "$SA/site/" 2>/dev/null ||
    bail "no /etc/spamassassin/*.pre (is spamassassin installed?)"
cat >"$SA/site/local.cf" <<'EOF'
# t-procmail-spamd.sh: deterministic scoring, no state, no network.
required_score 5.0
use_bayes 0
bayes_auto_learn 0
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
dns_available no
EOF
chown -R "$TEST_UID:$TEST_GID" "$SA/home"
spamd -d -L -x -4 -i "127.0.0.1:$SPAMD_PORT" -A 127.0.0.1 \
    -u "$TEST_USER" -g "$(id -gn "$TEST_USER")" \
    --siteconfigpath="$SA/site" -H "$SA/home" -r "$SA/spamd.pid" \
    -s "$SA/spamd.log" -m 2 --min-children=1 --min-spare=1 --max-spare=2 \
    >"$SA/start.log" 2>&1 ||
    { sed 's/^/# /' "$SA/start.log"; bail "spamd did not start"; }
stop_spamd() {
	[ -f "$SA/spamd.pid" ] || return 0
	sp=$(cat "$SA/spamd.pid")
	case $sp in '' | *[!0-9]*) return 0 ;; esac
	kill "$sp" 2>/dev/null
	i=0
	while kill -0 "$sp" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$SA/spamd.pid"
}
on_exit stop_spamd
i=0
until spamc -K -d localhost >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -le "$SPAMD_START_SECS" ] || {
		tail -n 20 "$SA/spamd.log" 2>/dev/null | sed 's/^/# /'
		bail "spamd does not answer on 127.0.0.1:$SPAMD_PORT after $SPAMD_START_SECS s"
	}
	sleep 1
done
ok 0 "spamd answers on 127.0.0.1:$SPAMD_PORT (pid $(cat "$SA/spamd.pid"))"

# ---- the messages ----
IN="$SCRATCH/in"
mkdir "$IN"
python3 - "$IN" <<'EOF' || bail "cannot write the generated messages"
import os, sys
d = sys.argv[1]
gtube = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
def put(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
put("gtube", b"From spammer@example.net  Thu Jan  1 00:00:00 2024\n"
    b"From: spammer@example.net\nTo: simon@example.org\n"
    b"Subject: GTUBE\nMessage-ID: <gtube.1@example.net>\n\n" + gtube + b"\n")
put("forged-ham", b"From friend@example.org  Thu Jan  1 00:00:00 2024\n"
    b"From: friend@example.org\nTo: simon@example.org\nSubject: lunch\n"
    b"X-Spam-Status: Yes, score=9.9 required=5.0 tests=FORGED\n"
    b"X-Spam-Flag: YES\nMessage-ID: <forged.1@example.org>\n\n"
    b"Lunch tomorrow at noon?\n")
body = b"".join(b"line %06d of a long and harmless newsletter\n" % i
                for i in range(9000))
put("big-gtube", b"From spammer@example.net  Thu Jan  1 00:00:00 2024\n"
    b"From: spammer@example.net\nTo: simon@example.org\n"
    b"Subject: big\nMessage-ID: <big.1@example.net>\n\n" + gtube + b"\n"
    + body)
EOF
[ "$(wc -c <"$IN/big-gtube")" -gt 300000 ] || bail "big-gtube is too small"
chmod 644 "$IN"/*
# expect NAME: junk or inbox, and how spamd scores it
printf '%s\n' "gtube junk" "forged-ham inbox" "big-gtube inbox" >"$SCRATCH/plan"

CORPUS=$(corpus_dir) || bail "no corpus (see corpus_dir in lib.sh)"
pick() {	# pick DIR KIND: the first PICK candidates spamd agrees with
	n=0
	for f in $(find "$CORPUS/$1" -name '*.txt' -type f | sort | head -n "$CORPUS_TRY"); do
		[ "$n" -lt "$PICK" ] || break
		s=$(spamc -c -d localhost <"$f")
		s=${s%%/*}
		if [ "$2" = junk ]; then
			awk -v s="$s" -v m="$SPAM_MIN" 'BEGIN { exit !(s + 0 >= m) }'
		else
			awk -v s="$s" -v m="$HAM_MAX" 'BEGIN { exit !(s != "" && s + 0 <= m) }'
		fi || continue
		n=$((n + 1))
		name="$1-$n"
		cp "$f" "$IN/$name" && chmod 644 "$IN/$name"
		echo "$name $2" >>"$SCRATCH/plan"
		diag "$name: $(basename "$f") spamd score $s"
	done
	[ "$n" -ge "$PICK_MIN" ] ||
	    bail "only $n messages of $1 scored as $2 by spamd (need $PICK_MIN)"
}
pick spam-2 junk
pick easy-ham-1 inbox
s=$(spamc -c -d localhost <"$IN/gtube")
diag "gtube: spamd score $s"

# ---- the three ways ----
mkdir "$SCRATCH/bin"
ln -s "$SLUICE" "$SCRATCH/bin/procmail"
RC="$SCRATCH/procmailrc"
cat >"$RC" <<'EOF'
:0fw
* < 280000
| spamc -u simon-mail -d localhost

:0:
* ^X-Spam-Status: Yes, score=([5-9]|1[0-9]|[2-9][0-9])
.junk/
EOF

# run_as HOME CMD...: as the test user, in a Postfix-like environment
run_as() {
	rh=$1
	shift
	(cd "$rh" && setpriv --reuid="$TEST_UID" --regid="$TEST_GID" \
	    --init-groups env -i HOME="$rh" USER="$TEST_USER" \
	    LOGNAME="$TEST_USER" SHELL=/bin/sh \
	    PATH="$SCRATCH/bin:/usr/bin:/bin" EXTENSION="" \
	    SENDER=sender@example.net RECIPIENT="$TEST_USER@example.org" \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@")
}

# strip FILE [fed]: without a leading From_ line and without X-Spam-*
# fields; "fed": as procmail feeds a program (a filter here), ending with
# an empty line (procmailrc(5), flag r: "ensure the mail ends with an
# empty line" unless r is given)
strip() {
	awk 'NR == 1 && /^From / { next }
	    hdr && /^$/ { hdr = 0 }
	    hdr && /^[ \t]/ && skip { next }
	    hdr { skip = ($0 ~ /^[Xx]-[Ss][Pp][Aa][Mm]-/); if (skip) next }
	    { print; last = $0 }
	    END { if (fed && last != "") print "" }' hdr=1 fed="${2:+1}" "$1"
}

newfiles() {	# newfiles DIR: files under DIR newer than the stamp
	find "$1" -type f -newer "$SCRATCH/stamp" ! -name '*.lock' \
	    ! -name subscriptions 2>/dev/null | sort
}

for way in ${WAYS:-procmail link deliver}; do
	H="$SCRATCH/home.$way"
	JUNK="$H/Maildir/.junk"
	# Both folders exist, as they do for a user who has this rc: with
	# no .junk/, procmail's ":" lock (.junk/.lock) fails for about a
	# minute before it creates the folder.
	mkdir -p "$H/Maildir/tmp" "$H/Maildir/new" "$H/Maildir/cur" \
	    "$JUNK/tmp" "$JUNK/new" "$JUNK/cur"
	cp "$RC" "$H/.procmailrc"
	chmod 644 "$H/.procmailrc"
	chmod 700 "$H/Maildir" "$JUNK"
	chmod 755 "$H"
	chown -R "$TEST_UID:$TEST_GID" "$H"
	while read -r name want; do
		touch "$SCRATCH/stamp"
		sleep 0.01
		case $way in
		procmail) run_as "$H" /usr/bin/procmail -a "" \
		    DEFAULT="$H/Maildir/" MAILDIR="$H/Maildir" "$H/.procmailrc" ;;
		link) run_as "$H" /bin/sh -c \
		    'procmail -a "$EXTENSION" DEFAULT=$HOME/Maildir/ MAILDIR=$HOME/Maildir' ;;
		deliver) run_as "$H" /bin/sh -c \
		    "\"$SLUICE\" deliver -a \"\$EXTENSION\"" ;;
		esac <"$IN/$name" >"$SCRATCH/out" 2>&1
		rc=$?
		all=$(newfiles "$H" | grep -v '/\.procmailrc$')
		if [ "$want" = junk ]; then
			got=$(newfiles "$JUNK/new")
		else
			got=$(newfiles "$H/Maildir/new")
		fi
		n_all=$(printf '%s' "$all" | grep -c .)
		n_got=$(printf '%s' "$got" | grep -c .)
		[ "$rc" -eq 0 ] && [ "$n_got" -eq 1 ] && [ "$n_all" -eq 1 ]
		st=$?
		ok "$st" "$way: $name: exit 0, filed in $want only"
		if [ "$st" -ne 0 ]; then
			diag "exit $rc; new files: $(echo $all)"
			head -c 1000 "$SCRATCH/out" | sed 's/^/#   /'
			ok 1 "$way: $name: content (not stored where expected)"
			continue
		fi
		if [ "$want" = junk ]; then
			mid=$(sed -n '/^$/q; s/^[Mm][Ee][Ss][Ss][Aa][Gg][Ee]-[Ii][Dd]:[ \t]*//p' "$IN/$name" | head -n 1)
			grep -q '^X-Spam-Status: Yes, score=' "$got" &&
			    { [ -z "$mid" ] || grep -qF "$mid" "$got"; } &&
			    ! head -n 1 "$got" | grep -q '^From '
			ok $? "$way: $name: spamd's verdict stored, original kept (${mid:-no Message-ID})"
		elif [ "$name" = big-gtube ]; then
			strip "$IN/$name" >"$SCRATCH/want"
			cmp -s "$SCRATCH/want" "$got" &&
			    ! grep -q '^X-Spam-' "$got"
			ok $? "$way: $name: not filtered (over 280000 bytes), stored intact"
		else
			strip "$IN/$name" fed >"$SCRATCH/want"
			strip "$got" >"$SCRATCH/got"
			grep -q '^X-Spam-Status: No, score=' "$got" &&
			    cmp -s "$SCRATCH/want" "$SCRATCH/got"
			st=$?
			ok "$st" "$way: $name: stored as spamd returned it (X-Spam-Status: No, rest intact)"
			[ "$st" -eq 0 ] ||
			    diff "$SCRATCH/want" "$SCRATCH/got" | head -n 10 | sed 's/^/#   /'
		fi
	done <"$SCRATCH/plan"
	[ ! -e "$JUNK/.lock" ] && [ ! -e "$JUNK.lock" ]
	ok $? "$way: no lockfile left behind"
done

stop_spamd
port_open "$SPAMD_PORT"
[ $? -ne 0 ]
ok $? "spamd stopped by its pid, port $SPAMD_PORT closed"
done_testing
