#!/bin/sh
# t-procmail-score.sh - the .procmailrc of issue 4 with `sluice score
# --filter` in place of spamc:
#
#	:0fw
#	* < 280000
#	| sluice score -c CONF --filter
#
#	:0:
#	* ^X-Spam-Status: Yes, score=([5-9]|1[0-9]|[2-9][0-9])
#	.junk/
#
# (PATH= is procmail's own default otherwise; -c names the test's scratch sluice.conf: our filters/ plus Debian's
# stock SpamAssassin rules; a real rc says `| sluice score --filter` and
# the system sluice.conf applies.) Run two ways as the test user, each
# with its own HOME: the `procmail` symlink to $SLUICE with Postfix's
# mailbox_command arguments, and `sluice deliver` picking ~/.procmailrc.
#
# Messages: GTUBE; a ham with a forged "X-Spam-Status: Yes, score=9.9"
# (the filter removes it: INBOX); a 300 KB GTUBE (over "< 280000": not
# filtered, INBOX, stored intact); corpus messages that `sluice score`
# itself, asked first, scores >= 7 (spam) or <= 3 (ham): the expectation
# is the scorer's own verdict with a margin, not a hard-coded list.
# Checks: exit 0, exactly one new file in the expected folder, spam
# carries "X-Spam-Status: Yes" and its body byte for byte.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
STOCK=/usr/share/spamassassin
[ -f "$STOCK/50_scores.cf" ] || bail "SpamAssassin's rules are not installed ($STOCK)"
S="$SCRATCH"
B="$S/bin"
mkdir -p "$B"
ln -s "$SLUICE" "$B/procmail"
ln -s "$SLUICE" "$B/sluice"
printf 'score_rules = %s %s\n' "$TOP_SRCDIR/filters" "$STOCK" >"$S/sluice.conf"
chmod 644 "$S/sluice.conf"

# procmail sets its own PATH; rc files name where their programs are
RC="PATH=$B:/usr/bin:/bin

:0fw
* < 280000
| sluice score -c $S/sluice.conf --filter

:0:
* ^X-Spam-Status: Yes, score=([5-9]|1[0-9]|[2-9][0-9])
.junk/
"
FROM_LINE='From sender@example.org  Mon Jan  1 00:00:00 2024'

home() {	# home WAY: a fresh HOME with the rc and an empty Maildir
	rm -rf "$S/h.$1"
	mkdir -p "$S/h.$1/Maildir"
	printf '%s' "$RC" >"$S/h.$1/.procmailrc"
	chmod 644 "$S/h.$1/.procmailrc"
	chown -R "$TEST_UID:$TEST_GID" "$S/h.$1"
}
run() {		# run WAY FILE
	h="$S/h.$1"
	# link: Postfix's mailbox_command line; deliver: sluice deliver
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$h" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH="$B:/usr/bin:/bin" SENDER=sender@example.org \
	    SLUICE_PROCMAIL_GLOBALRC="$S/none" \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    sh -c 'if [ "$1" = link ]; then exec "$2" -a "" DEFAULT="$3/Maildir/" MAILDIR="$3/Maildir"; else exec "$4" deliver; fi' \
	    sh "$1" "$B/procmail" "$h" "$SLUICE" <"$2" >"$S/out" 2>"$S/err"
}
snap() { find "$S/h.$1/Maildir" -path '*/new/*' -type f 2>/dev/null | sort; }
newfiles() { snap "$1" | comm -13 "$S/before" -; }
# The body; trailing empty lines dropped: procmail (3.22 as well as
# ours) ends a message that went through a filter with an empty line.
body() { awk 'f{print} /^\r?$/ && !f {f=1}' "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }

# check WAY FILE WANT(junk|inbox) WHAT
check() {
	snap "$1" >"$S/before"
	run "$1" "$2"
	rc=$?
	files=$(newfiles "$1")
	n=$(printf '%s' "$files" | grep -c .)
	f=$(printf '%s\n' "$files" | head -n 1)
	case $f in
	*/.junk/new/*) got=junk ;;
	*/Maildir/new/*) got=inbox ;;
	*) got=none ;;
	esac
	is "$rc:$n:$got" "0:1:$3" "$1: $4 -> $3"
	[ "$rc" -ne 0 ] && while IFS= read -r l; do diag "stderr: $l"; done <"$S/err"
	if [ "$3" = junk ] && [ -n "$f" ]; then
		body "$2" >"$S/b1"
		body "$f" >"$S/b2"
		ok $(grep -q '^X-Spam-Status: Yes, score=' "$f" && cmp -s "$S/b1" "$S/b2"; echo $?) \
		    "$1: $4 carries X-Spam-Status: Yes and its body intact"
	fi
}

GTUBE_STR='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
{ echo "$FROM_LINE"; printf 'From: a@example.org\nTo: b@example.org\nSubject: gtube\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <g1@example.org>\n\n%s\n' "$GTUBE_STR"; } >"$S/gtube.eml"
{ echo "$FROM_LINE"; printf 'From: a@example.org\nTo: b@example.org\nSubject: hello\nX-Spam-Status: Yes, score=9.9 required=5.0 tests=FORGED\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <h1@example.org>\n\nSee you tomorrow at the station.\n'; } >"$S/forged.eml"
{ echo "$FROM_LINE"; printf 'From: a@example.org\nTo: b@example.org\nSubject: big\nMessage-ID: <b1@example.org>\n\n%s\n' "$GTUBE_STR"
  i=0; while [ $i -lt 5000 ]; do echo "line $i of a big message padding padding padding padding pad"; i=$((i + 1)); done; } >"$S/big.eml"
chmod 644 "$S"/*.eml
ok $([ "$(wc -c <"$S/big.eml")" -gt 280000 ]; echo $?) "the big message is over 280000 bytes"

# Corpus messages with the scorer's own verdict (a margin of 2 around 5).
: >"$S/corpus"
if d=$(corpus_dir 2>/dev/null); then
	for sub in spam-2 easy-ham-2; do
		find "$d/$sub" -name '*.txt' | sort | head -n 10
	done | while IFS= read -r f; do
		s=$("$SLUICE" score -c "$S/sluice.conf" <"$f" 2>/dev/null | cut -d/ -f1)
		case $s in ''|*[!0-9.-]*) continue ;; esac
		if awk -v s="$s" 'BEGIN{exit !(s >= 7)}'; then echo "junk $f"
		elif awk -v s="$s" 'BEGIN{exit !(s <= 3)}'; then echo "inbox $f"
		fi
	done >"$S/corpus"
else
	diag "corpus not available (npm): local messages only"
fi
diag "corpus: $(grep -c '^junk' "$S/corpus") spam >= 7, $(grep -c '^inbox' "$S/corpus") ham <= 3"

for way in link deliver; do
	home $way
	check $way "$S/gtube.eml" junk "GTUBE"
	check $way "$S/forged.eml" inbox "ham with a forged X-Spam-Status: Yes"
	check $way "$S/big.eml" inbox "300 KB GTUBE (not filtered)"
	f=$(newfiles $way | head -n 1)	# still the last check's "before"
	ok $([ -n "$f" ] && ! grep -q '^X-Spam-' "$f" && [ "$(wc -c <"$f")" -eq $(($(wc -c <"$S/big.eml") - ${#FROM_LINE} - 1)) ]; echo $?) \
	    "$way: the big message is stored intact, without X-Spam fields"
	while read -r want f; do
		check $way "$f" "$want" "$(basename "$(dirname "$f")")/$(basename "$f" | cut -c1-5)"
	done <"$S/corpus"
done

done_testing
