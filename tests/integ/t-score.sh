#!/bin/sh
# t-score.sh - `sluice score`: --lint over Debian's stock SpamAssassin
# rules and our own filters/, --explain/--json/--filter, the X-Spam-*
# fields byte for byte against SpamAssassin 4.0.1 itself, spamc's exit
# codes and safe fallback, and `sluice deliver` scoring in-process
# (score_in_deliver) so that Sieve spamtest sees the score, unless our
# milter already did (score_trusted_authserv_id).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
need_root
ensure_user
scratch
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
STOCK=/usr/share/spamassassin
[ -f "$STOCK/50_scores.cf" ] || bail "SpamAssassin's rules are not installed ($STOCK)"
command -v spamassassin >/dev/null 2>&1 || bail "spamassassin is not installed"
FILTERS="$TOP_SRCDIR/filters"
S="$SCRATCH"
: >"$S/empty.conf"
sc() { "$SLUICE" score -c "$S/empty.conf" "$@"; }

# ---- --lint ----

sc --rules "$STOCK" --lint >"$S/lint" 2>"$S/lint.err"
ok $? "--lint over $STOCK: exit 0 (no errors)"
sum=$(grep '^files ' "$S/lint")
diag "stock rules: $sum"
set -- $(echo "$sum" | tr -c '0-9\n' ' ')
# files lines defined scored loaded scored_loaded unsupported errors
[ $# -eq 8 ] || bail "unexpected --lint summary: $sum"
files=$1 defined=$3 scored=$4 loaded=$5 scored_loaded=$6 unsup=$7 errors=$8
ok $([ "$files" -ge 50 ] && [ "$defined" -ge 2000 ] && [ "$scored" -ge 900 ]; echo $?) \
    "stock rules: $files files, $defined rules, $scored scored"
ok $([ "$loaded" -le "$defined" ] && [ "$scored_loaded" -le "$scored" ] &&
    [ $((scored_loaded + unsup)) -le "$scored" ]; echo $?) \
    "report is consistent (loaded <= defined, scored_loaded + unsupported <= scored)"
ok $([ "$scored_loaded" -ge 821 ]; echo $?) \
    "at least the 821 regex/meta scored rules run ($scored_loaded)"
is "$errors" 0 "no errors in the stock rules"
ok $(grep -q '^required_score 5.0$' "$S/lint"; echo $?) "required_score 5.0"
[ "$unsup" -gt 0 ] && { grep -q 'check_' "$S/lint"; ok $? "unsupported eval functions are listed"; }

sc --rules "$FILTERS" --lint >"$S/lint2" 2>&1
ok $? "--lint over filters/: exit 0"
ok $(grep -q 'errors 0$' "$S/lint2"; echo $?) "filters/ has no errors"

printf 'body BAD_RE /a(b/\nscore BAD_RE 1\nbody GOOD_RE /ok/\n' >"$S/bad.cf"
sc --rules "$S/bad.cf" --lint >"$S/lint3" 2>&1
is $? 1 "--lint with a bad regex: exit 1"
ok $(grep -q "bad.cf:1:" "$S/lint3"; echo $?) "the error names file:line"

sc --rules "$S/nonexistent" --lint >/dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "--lint over a missing path fails"

# ---- messages ----

GTUBE_STR='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
# A forged verdict comes in: it must go (folded continuation too).
cat >"$S/gtube.eml" <<EOF
From sender@example.com  Mon Jan  1 00:00:00 2024
Return-Path: <sender@example.com>
X-Spam-Status: No, score=-5.0 required=5.0 tests=ALL_TRUSTED
	autolearn=no version=4.0.1
From: Sender <sender@example.com>
X-Spam-Flag: NO
To: rcpt@example.org
x-spam-score: -5.0
Subject: Test spam mail (GTUBE)
Date: Wed, 23 Jul 2003 23:30:00 +0200
Message-ID: <GTUBE1.1010101@example.net>
X-Spam-Prev-Subject: kept

This is the GTUBE, the
	Generic
	Test for
	Unsolicited
	Bulk
	Email

$GTUBE_STR

X-Spam-Status: No (in the body: kept)
EOF
cat >"$S/ham.eml" <<'EOF'
From: Alice <alice@example.org>
To: bob@example.org
Subject: lunch tomorrow?
Date: Wed, 23 Jul 2003 23:30:00 +0200
Message-ID: <lunch.1@example.org>

Shall we meet at noon at the usual place?
Alice
EOF

out=$(sc --rules "$FILTERS" <"$S/gtube.eml")
is $? 0 "GTUBE: exit 0 (spam is not an error)"
case $out in 1000.0/5.0|100[0-9].[0-9]/5.0) r=0 ;; *) r=1 ;; esac
ok $r "GTUBE scores 1000 or more against 5.0 ($out)"
sc --rules "$FILTERS" --explain <"$S/gtube.eml" >"$S/explain"
ok $(grep -Eq '^1000 SLUICE_GTUBE +Generic Test for Unsolicited Bulk Email$' "$S/explain"; echo $?) \
    "--explain lists the hit with its score and description"
sc --rules "$FILTERS" --json <"$S/gtube.eml" >"$S/json"
ok $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["is_spam"] and any(t["name"]=="SLUICE_GTUBE" for t in d["tests"]) else 1)' "$S/json"; echo $?) \
    "--json is valid JSON with is_spam and the test"
out=$(sc --rules "$FILTERS" <"$S/ham.eml")
is "$?/$(echo "$out" | cut -d/ -f2)" "0/5.0" "ham: exit 0"
ok $(echo "$out" | awk -F/ '{exit !($1 < 5)}'; echo $?) "ham scores under 5 ($out)"

# ---- --filter ----

sc --rules "$FILTERS" --filter <"$S/gtube.eml" >"$S/gtube.out"
is $? 0 "--filter: exit 0"
# the body after the first empty line, byte for byte
body() { awk 'f{print} /^\r?$/ && !f {f=1}' "$1"; }
body "$S/gtube.eml" >"$S/b1"
body "$S/gtube.out" >"$S/b2"
ok $(cmp -s "$S/b1" "$S/b2"; echo $?) "--filter: body byte-identical"
is "$(head -n 1 "$S/gtube.out")" "$(head -n 1 "$S/gtube.eml")" "From_ line stays first"
is "$(sed -n 2p "$S/gtube.out")" "Return-Path: <sender@example.com>" \
    "a leading Return-Path stays above the X-Spam fields (as SpamAssassin)"
hdr() { awk '/^\r?$/{exit} {print}' "$1"; }
is "$(hdr "$S/gtube.out" | grep -ic '^x-spam-\(status\|flag\|score\|level\):')" 4 \
    "exactly four X-Spam fields (incoming copies removed)"
ok $(hdr "$S/gtube.out" | grep -q 'No, score=-5.0\|ALL_TRUSTED\|^x-spam-score: -5'; [ $? -ne 0 ]; echo $?) \
    "the forged verdict and its continuation line are gone"
ok $(hdr "$S/gtube.out" | grep -q '^X-Spam-Status: Yes, score=1000.0 required=5.0 tests=SLUICE_GTUBE'; echo $?) \
    "X-Spam-Status: Yes, score=1000.0 required=5.0 tests=..."
ok $(hdr "$S/gtube.out" | grep -q '^X-Spam-Prev-Subject: kept$'; echo $?) \
    "X-Spam-Prev-* is kept (as SpamAssassin)"
# every other header line, in order
hdr "$S/gtube.eml" | grep -iv '^x-spam-\(status\|flag\|score\|level\)' |
    grep -v '^	autolearn=no version' >"$S/h1"
hdr "$S/gtube.out" | grep -iv '^x-spam-\(status\|flag\|score\|level\)' |
    grep -v '^	' >"$S/h2"
ok $(cmp -s "$S/h1" "$S/h2"; echo $?) "other header fields unchanged and in order"
ok $(grep -q '^X-Spam-Status: No (in the body: kept)$' "$S/gtube.out"; echo $?) \
    "an X-Spam line in the body is not touched"

sc --rules "$FILTERS" --filter <"$S/ham.eml" >"$S/ham.out"
ok $(hdr "$S/ham.out" | grep -q '^X-Spam-Flag:'; [ $? -ne 0 ]; echo $?) \
    "ham: no X-Spam-Flag (SpamAssassin adds it to spam only)"
ok $(hdr "$S/ham.out" | grep -q '^X-Spam-Status: No, score='; echo $?) "ham: X-Spam-Status: No"

# CRLF in, CRLF out
sed 's/$/\r/' "$S/gtube.eml" >"$S/crlf.eml"
sc --rules "$FILTERS" --filter <"$S/crlf.eml" >"$S/crlf.out"
is "$(grep -c "$(printf '\r')\$" "$S/crlf.out")" "$(grep -c '' "$S/crlf.out")" \
    "CRLF input: every output line ends in CRLF"
ok $(grep -q "^X-Spam-Status: Yes" "$S/crlf.out"; echo $?) "CRLF input is scored"

# ---- exit codes, safe fallback ----

sc --bogus </dev/null >/dev/null 2>&1
is $? 64 "bad option: 64"
sc --rules "$S/nonexistent" <"$S/ham.eml" >/dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "rules missing, no --filter: non-zero"
sc --rules "$S/nonexistent" --filter <"$S/gtube.eml" >"$S/fb.out" 2>"$S/fb.err"
is $? 0 "rules missing, --filter: exit 0 (spamc's safe fallback)"
ok $(cmp -s "$S/gtube.eml" "$S/fb.out"; echo $?) "... and the message comes back unchanged"
ok $([ -s "$S/fb.err" ]; echo $?) "... with the reason on stderr"
sc --rules "$S/nonexistent" --filter -x <"$S/gtube.eml" >"$S/fbx.out" 2>/dev/null
is "$?:$(wc -c <"$S/fbx.out")" "75:0" "-x (no safe fallback): 75, no output"
printf 'no_such_key = 1\n' >"$S/bad.conf"
"$SLUICE" score -c "$S/bad.conf" --filter <"$S/gtube.eml" >"$S/bc.out" 2>/dev/null
is $? 0 "bad configuration, --filter: exit 0"
ok $(cmp -s "$S/gtube.eml" "$S/bc.out"; echo $?) "... message unchanged"
"$SLUICE" score -c "$S/bad.conf" <"$S/gtube.eml" >/dev/null 2>&1
is $? 75 "bad configuration, no --filter: 75 (err_exit_code: the admin must fix it)"
printf 'score_max_size = 200\nscore_rules = %s\n' "$FILTERS" >"$S/small.conf"
"$SLUICE" score -c "$S/small.conf" --filter <"$S/gtube.eml" >"$S/big.out"
is $? 0 "over score_max_size: exit 0"
ok $(cmp -s "$S/gtube.eml" "$S/big.out"; echo $?) "... passed through unscored (as spamc -s)"

# ---- the X-Spam-* fields against SpamAssassin 4.0.1 ----
# Same input, same rules (the stock set, no Bayes, report_safe 0, plus
# the usual "add_header all Score _SCORE_"): wherever both agree on the
# rules that hit, the whole output must be byte-identical. SpamAssassin's
# X-Spam-Checker-Version and X-Spam-Report are not ours.
sa_filter() {
	spamassassin -L --cf='use_bayes 0' --cf='report_safe 0' \
	    --cf='add_header all Score _SCORE_' <"$1" 2>/dev/null |
	    awk '/^X-Spam-Report:/{s=1;next} s&&/^[ \t]/{next} {s=0}
		/^X-Spam-Checker-Version:/{next} {print}'
}
tests_of() { awk '/^\r?$/{exit} {print}' "$1" | tr -d '\n\t\r' |
    sed -n 's/.*X-Spam-Status: \(.*\) autolearn=.*/\1/p'; }
printf '%s\n' "$S/gtube.eml" "$S/ham.eml" >"$S/cmp.list"
if d=$(corpus_dir 2>/dev/null); then
	for sub in spam-2 easy-ham-1 hard-ham-1; do
		find "$d/$sub" -name '*.txt' | sort | head -n 8
	done >>"$S/cmp.list"
else
	diag "corpus not available: comparing the two local messages only"
fi
agree=0 same=0 n=0
while IFS= read -r f; do
	n=$((n + 1))
	sc --rules "$STOCK" --filter <"$f" >"$S/o.sl" 2>/dev/null
	sa_filter "$f" >"$S/o.sa"
	if [ "$(tests_of "$S/o.sl")" = "$(tests_of "$S/o.sa")" ]; then
		agree=$((agree + 1))
		if cmp -s "$S/o.sl" "$S/o.sa"; then
			same=$((same + 1))
		else
			diag "differs from SpamAssassin: $f"
			diff "$S/o.sa" "$S/o.sl" | head -n 8 | while IFS= read -r l; do diag "$l"; done
		fi
	fi
done <"$S/cmp.list"
diag "SpamAssassin comparison: $n messages, rule hits agree on $agree, output identical on $same"
ok $([ "$agree" -ge 1 ]; echo $?) "rule hits agree with SpamAssassin on some messages ($agree of $n)"
is "$same" "$agree" "where the hits agree, the output is byte-identical to SpamAssassin's"

# ---- sluice deliver: score_in_deliver ----

H="$S/home"
mkdir -p "$H"
cat >"$H/.dovecot.sieve" <<'EOF'
require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "5" {
	fileinto "Junk";
}
EOF
chown -R "$TEST_UID:$TEST_GID" "$H"
cat >"$S/deliver.conf" <<EOF
score_in_deliver = yes
score_rules = $FILTERS
score_trusted_authserv_id = mx.example.net
EOF
chmod 644 "$S"/*.conf "$S"/*.eml
dl() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$H" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$SLUICE" deliver -c "$S/deliver.conf" "$@"
}
count() { find "$1" -type f 2>/dev/null | wc -l; }
dl <"$S/gtube.eml"
is $? 0 "deliver GTUBE: exit 0"
is "$(count "$H/Maildir/.Junk/new")" 1 "spamtest saw the score: GTUBE filed into Junk"
f=$(find "$H/Maildir/.Junk/new" -type f | head -n 1)
ok $(grep -q '^X-Spam-Status: Yes, score=1000.0' "$f"; echo $?) "the stored message carries the new X-Spam-Status"
ok $(grep -q 'No, score=-5.0' "$f"; [ $? -ne 0 ]; echo $?) "the forged one is gone"
body "$S/gtube.eml" >"$S/b1"
body "$f" >"$S/b2"
ok $(cmp -s "$S/b1" "$S/b2"; echo $?) "body stored byte-identical"
dl <"$S/ham.eml"
is "$(count "$H/Maildir/new")" 1 "deliver ham: INBOX"
f=$(find "$H/Maildir/new" -type f | head -n 1)
ok $(grep -q '^X-Spam-Status: No, score=' "$f"; echo $?) "ham carries X-Spam-Status: No"

# Our milter scored it (its Authentication-Results id): not rescored.
{ printf 'Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.com\n'
  printf 'X-Spam-Status: No, score=0.1 required=5.0 tests=X\nX-Spam-Score: 0.1\n'
  sed 1d "$S/gtube.eml" | grep -iv '^x-spam-\|^	autolearn'; } >"$S/milter.eml"
# Someone else's id: rescored.
sed 's/^Authentication-Results: mx.example.net;/Authentication-Results: evil.example;/' \
    "$S/milter.eml" >"$S/forged.eml"
chmod 644 "$S"/*.eml
dl <"$S/milter.eml"
is "$(count "$H/Maildir/new")" 2 "milter-scored mail (trusted authserv-id) is not rescored: INBOX"
dl <"$S/forged.eml"
is "$(count "$H/Maildir/.Junk/new")" 2 "a foreign authserv-id does not count: rescored, Junk"

done_testing
