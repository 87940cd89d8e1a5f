# 03-vacation.sieve - an out-of-office reply (RFC 5230), as Roundcube's
# "Out of Office" tab writes it. The reply goes once per sender every
# :days, only to mail addressed to one of :addresses (so not to lists or
# Bcc copies), never to lists, bulk mail, daemons or <> senders; it is
# sent through sendmail with envelope sender <> and
# "Auto-Submitted: auto-replied". The message itself is still kept.
require ["vacation"];
# rule:[Out of office]
if true
{
	vacation :days 7 :addresses ["bob@example.net","robert.smith@example.net"] :subject "Out of office: back on 4 January" "Hello,

I am out of the office until 4 January and do not read my mail.
For anything urgent, please write to helpdesk@example.net.

Bob";
}
