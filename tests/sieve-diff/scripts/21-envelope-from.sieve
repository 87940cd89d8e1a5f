# envelope (RFC 5228 5.4): the sender given with -f.
require ["envelope", "fileinto"];
if envelope :domain :is "from" ["spamassassin.taint.org", "example.sourceforge.net"] {
  fileinto "Lists";
} elsif envelope :localpart :contains "from" ["bounce", "owner", "admin"] {
  fileinto "Bulk";
}
