# mailbox (RFC 5490): mailboxexists.
require ["mailbox", "fileinto"];
if mailboxexists "Lists.exmh" {
  if header :contains "List-Id" "exmh" { fileinto "Lists.exmh"; }
}
if not mailboxexists "Nope" {
  if header :contains "List-Id" "fork" { fileinto :create "Lists.fork"; }
}
