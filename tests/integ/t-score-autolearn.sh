#!/bin/sh
# t-score-autolearn.sh - autolearn (SpamAssassin's learn_timed with the
# AutoLearnThreshold defaults): `sluice score` and in-process scoring in
# `sluice deliver` learn the messages the score decides (spam at >= 12
# points with 3 header and 3 body points, ham below 0.1) into the
# configured Bayes store, once per message, and X-Spam-Status says what
# happened: autolearn=spam|ham|no|disabled|unavailable|failed, as
# SpamAssassin 4.0.1 writes it (a message already learned: "unavailable",
# as its did_learn() is false then). A store that cannot be used never
# changes the exit status of `sluice score` (spamc drop-in) nor loses
# mail in deliver. `sluice learn` reports "already N" for a message the
# store holds the same way: that is how the store's contents are checked.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
S="$SCRATCH"

# Rules with known points: H (header, 6), B (body, 6), HB (header, 13).
cat >"$S/al.cf" <<'EOF'
header AL_HEAD Subject =~ /\bwinner\b/
score AL_HEAD 6
body AL_BODY /\bprize money\b/
score AL_BODY 6
header AL_ONLY_HEAD Subject =~ /\bheadonly\b/
score AL_ONLY_HEAD 13
EOF
cat >"$S/conf" <<EOF
score_rules = $S/al.cf
store = lmdb:$S/state
EOF
msg() {	# msg ID SUBJECT BODY
	printf 'From: a%s@example.com\nTo: b@example.org\nSubject: %s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.com>\n\n%s\n' \
	    "$1" "$2" "$1" "$3"
}
msg spam1 "you are a winner" "claim your prize money today" >"$S/spam1.eml"
msg spam2 "winner again" "more prize money" >"$S/spam2.eml"
msg ham1 "lunch" "see you at noon" >"$S/ham1.eml"
msg head1 "headonly offer" "nothing in the body" >"$S/head1.eml"
msg seed "seed" "the first message learned creates the store" >"$S/seed.eml"
status() {	# the autolearn= word of X-Spam-Status in file $1
	awk '/^\r?$/{exit} {print}' "$1" | tr -d '\n' |
	    sed -n 's/.*X-Spam-Status:.*[[:space:]]autolearn=\([a-z]*\).*/\1/p'
}
sc() { "$SLUICE" score -c "$S/${CONF:-conf}" --filter <"$1" >"$2" 2>"$S/err"; }
learned() {	# learned --spam|--ham FILE: "learned N, already M"
	"$SLUICE" learn -c "$S/conf" "$1" "$2" 2>&1 |
	    sed -n 's/^\(learned [0-9]*, already [0-9]*\).*/\1/p'
}

# -- no store yet: scoring creates none, and says autolearn=disabled
sc "$S/spam1.eml" "$S/o0"
is $? 0 "no store: exit 0"
is "$(status "$S/o0")" disabled "no store: autolearn=disabled"
ok $([ ! -e "$S/state" ]; echo $?) "scoring created no store"

is "$(learned --ham "$S/seed.eml")" "learned 1, already 0" "sluice learn creates the store"

# -- spam: learned once; scored again, nothing more to learn
sc "$S/spam1.eml" "$S/o1"
is $? 0 "spam: exit 0"
is "$(status "$S/o1")" spam "spam (12 points, 6 header, 6 body): autolearn=spam"
sc "$S/spam1.eml" "$S/o2"
is "$(status "$S/o2")" unavailable "the same spam again: autolearn=unavailable (already learned)"
is "$(learned --spam "$S/spam1.eml")" "learned 0, already 1" "the store holds that spam once"

# -- ham: below 0.1 points
sc "$S/ham1.eml" "$S/o3"
is "$(status "$S/o3")" ham "no hits: autolearn=ham"
is "$(learned --ham "$S/ham1.eml")" "learned 0, already 1" "the store holds that ham once"

# -- 13 points all from headers: not learned (3 body points needed)
sc "$S/head1.eml" "$S/o4"
is "$(status "$S/o4")" no "13 header points, 0 body: autolearn=no"
is "$(learned --spam "$S/head1.eml")" "learned 1, already 0" "that message was not learned"

# -- bayes_auto_learn = no
{ cat "$S/conf"; echo "bayes_auto_learn = no"; } >"$S/conf.off"
CONF=conf.off sc "$S/spam2.eml" "$S/o5"
is "$(status "$S/o5")" disabled "bayes_auto_learn = no: autolearn=disabled"
is "$(learned --spam "$S/spam2.eml")" "learned 1, already 0" "nothing learned with autolearn off"

# -- a store that exists but cannot be used: exit 0, message intact
mkdir -p "$S/broken"
printf 'this is not an LMDB file' >"$S/broken/data.mdb"
printf 'score_rules = %s\nstore = lmdb:%s/broken\n' "$S/al.cf" "$S" >"$S/conf.broken"
CONF=conf.broken sc "$S/spam2.eml" "$S/o6"
is $? 0 "broken store: sluice score --filter still exits 0"
is "$(status "$S/o6")" unavailable "broken store: autolearn=unavailable"
awk 'f; /^\r?$/{f=1}' "$S/o6" >"$S/b6"
awk 'f; /^\r?$/{f=1}' "$S/spam2.eml" >"$S/b2"
ok $(cmp -s "$S/b6" "$S/b2"; echo $?) "broken store: the body comes back unchanged"
printf 'score_rules = %s\nstore = redis://127.0.0.1:1/0\n' "$S/al.cf" >"$S/conf.redis"
CONF=conf.redis sc "$S/spam2.eml" "$S/o7"
is $? 0 "Redis store down: sluice score --filter exits 0"
is "$(status "$S/o7")" unavailable "Redis store down: autolearn=unavailable"

# -- sluice deliver, scoring in-process: learns, delivers (as the
# recipient, who owns the home and the store)
H="$S/home"
mkdir -p "$H/Maildir"
chown -R "$TEST_UID:$TEST_GID" "$H" "$S/state" "$S/broken"
chmod 755 "$S"
dl() {	# dl CONF < message
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$SLUICE" deliver -c "$1"
}
chmod 644 "$S"/*.eml "$S"/al.cf
cat >"$S/conf.deliver" <<EOF
score_in_deliver = yes
score_rules = $S/al.cf
store = lmdb:$S/state
EOF
msg spam3 "winner" "prize money inside" >"$S/spam3.eml"
dl "$S/conf.deliver" <"$S/spam3.eml" >"$S/dl.out" 2>&1
is $? 0 "deliver with scoring: exit 0"
f=$(ls "$H/Maildir/new" | head -1)
ok $([ -n "$f" ]; echo $?) "deliver: the message is in INBOX"
[ -n "$f" ] && is "$(status "$H/Maildir/new/$f")" spam "deliver: autolearn=spam"
is "$(learned --spam "$S/spam3.eml")" "learned 0, already 1" "deliver learned it into the store"
cat >"$S/conf.deliver2" <<EOF
score_in_deliver = yes
score_rules = $S/al.cf
store = lmdb:$S/broken
EOF
msg spam4 "winner" "prize money again" >"$S/spam4.eml"
dl "$S/conf.deliver2" <"$S/spam4.eml" >"$S/dl2.out" 2>&1
is $? 0 "deliver with a broken store: exit 0"
is "$(ls "$H/Maildir/new" | wc -l | tr -d ' ')" 2 "deliver with a broken store: delivered"
cat "$S/dl.out" "$S/dl2.out" | sed "s/^/# /"
done_testing
