# Roundcube-style list filter (RFC 5228 5.7, :contains, i;ascii-casemap).
require ["fileinto"];
if header :contains "List-Id" "exmh" {
  fileinto "Lists.exmh";
} elsif header :contains "List-Id" "spamassassin" {
  fileinto "Lists.spamassassin";
}
