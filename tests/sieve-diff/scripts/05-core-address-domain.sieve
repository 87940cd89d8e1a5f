# address :domain over From/Sender (RFC 5228 5.1).
require ["fileinto"];
if address :domain :is "from" ["hotmail.com", "yahoo.com", "aol.com", "msn.com"] {
  fileinto "Freemail";
} elsif address :domain :contains "from" "spamassassin.taint.org" {
  fileinto "Work";
}
