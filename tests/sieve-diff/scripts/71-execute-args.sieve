# vnd.dovecot.execute with arguments only.
require ["vnd.dovecot.execute", "variables", "envelope", "fileinto", "mailbox"];
if envelope :matches "from" "*" { set "sender" "${1}"; }
execute :output "dom" "domain-of" ["${sender}"];
if string :is "${dom}" ["spamassassin.taint.org", "example.sourceforge.net"] {
  fileinto "Lists";
}
