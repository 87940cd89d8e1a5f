# 04-redirect-copy.sieve - send a copy of some mail elsewhere and keep the
# original (RFC 3894 :copy): mail from the family goes to a second
# mailbox too, and invoices go to the accountant. Without :copy a
# redirect cancels the keep and the message leaves this mailbox. At most
# sieve_max_redirects (4) redirects per message; sluice adds
# X-Sieve-Redirected-From and hands the message to sendmail with an argv.
require ["copy"];
# rule:[family]
if address :domain :is "from" "family.example.org"
{
	redirect :copy "bob.private@example.org";
}
# rule:[invoices]
if anyof (header :contains "subject" ["invoice","Rechnung","facture"], address :is "from" "billing@supplier.example.com")
{
	redirect :copy "accounting@example.net";
}
