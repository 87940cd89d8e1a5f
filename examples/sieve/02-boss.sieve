# 02-boss.sieve - never miss mail from the boss: flag it (the star in
# Roundcube and Thunderbird, \Flagged in IMAP; RFC 5232) and keep it in
# INBOX, and flag anything the boss marked urgent with a keyword too.
# address :is compares only the mailbox part, so "The Boss <boss@...>" and
# a bare boss@... both match; :domain catches the whole management team.
require ["imap4flags"];
# rule:[boss]
if address :is "from" ["boss@example.com","ceo@example.com"]
{
	addflag "\\Flagged";
}
# rule:[urgent from management]
if allof (address :domain :is "from" "management.example.com", anyof (header :contains "importance" "high", header :is "x-priority" ["1","2"]))
{
	addflag ["\\Flagged","$Urgent"];
}
# the implicit keep stores the message in INBOX with the flags set above
