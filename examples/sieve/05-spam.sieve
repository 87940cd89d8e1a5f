# 05-spam.sieve - a user's own spam handling, for users who want more
# than the global default (filters/default.sieve). sluice-milter and
# SpamAssassin add X-Spam-Flag and X-Spam-Score; a sender cannot forge
# them (the milter removes incoming copies). spamtestplus's :percent
# (RFC 5235 3.2) is the score as a percentage of the milter's "required"
# threshold, clamped to 0..100: 100 means "at or over the threshold".
# Spam goes to Junk; "likely spam" (70% of the threshold and up) goes to
# Junk.Maybe marked read, so it does not nag but mistakes can be found.
# Known senders are never treated as spam.
require ["fileinto","imap4flags","spamtestplus","relational","comparator-i;ascii-numeric"];
# rule:[whitelist]
if address :domain :is "from" ["example.net","partner.example.com"]
{
	keep;
	stop;
}
# rule:[spam]
if anyof (header :is "x-spam-flag" "YES", spamtest :percent :value "ge" :comparator "i;ascii-numeric" "100")
{
	fileinto "Junk";
	stop;
}
# rule:[likely spam]
if spamtest :percent :value "ge" :comparator "i;ascii-numeric" "70"
{
	fileinto :flags "\\Seen" "Junk.Maybe";
}
