# default.sieve - the global Sieve script shipped with sluice: spam to Junk.
#
# Installing it (in /etc/sluice/sluice.conf, see sluice.conf(5) and
# sluice-sieve(7)); copy it somewhere root owns, e.g. /etc/sluice/sieve/:
#
#   sieve_before = /etc/sluice/sieve/default.sieve
#       runs for every user, BEFORE the user's own script. Spam is filed
#       into Junk and the sequence ends there (a fileinto cancels the
#       keep, and Pigeonhole's multiscript rules run the next script only
#       while the keep is in effect). Everything else goes on to the
#       user's ~/.dovecot.sieve (or ~/.procmailrc), then sieve_after.
#   sieve_default = /etc/sluice/sieve/default.sieve
#       runs only for users who have no script of their own; a user who
#       writes one (by hand, Roundcube or ManageSieve) replaces it.
#
# The same lines work in Dovecot's 90-sieve.conf (plugin { sieve_before =
# ... }), so the script can be shared with a Dovecot/Pigeonhole setup,
# given the spamtest settings below.
#
# How the test works (RFC 5235; DESIGN.md "Contracts between the milter
# and the rules"): sluice-milter (or SpamAssassin) writes
#   X-Spam-Score: 7.3
#   X-Spam-Status: Yes, score=7.3 required=5.0 tests=...
# and spamtest normalises the score against the "required" threshold as
# Pigeonhole does: ratio = score / required, clamped to 0..1, and
#   value = floor(9 * ratio + 1.001)
# so a score of 0 or less is 1, half the threshold is 5, and the value is
# 10 exactly when score >= required (more precisely: from 99.99% of
# required up; scores have one decimal, so 4.9 of 5.0 gives 9 and 5.0
# gives 10). A message without the header gives 0 ("not tested"), which
# this script leaves alone. "ge 10" is therefore the milter's own
# verdict, nothing stricter: lower it (e.g. "8" is about 78% of the
# threshold) to be more aggressive. The comparator must be
# i;ascii-numeric: the default, i;ascii-casemap, would compare "10" and
# "9" as strings.
#
# Under Pigeonhole the equivalent settings are
#   sieve_spamtest_status_type = score
#   sieve_spamtest_status_header = X-Spam-Score
#   sieve_spamtest_max_header = X-Spam-Status: [^,]*, score=[^ ]* required=([^ ]+)
require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];

if spamtest :value "ge" :comparator "i;ascii-numeric" "10" {
	fileinto "Junk";
	stop;
}
