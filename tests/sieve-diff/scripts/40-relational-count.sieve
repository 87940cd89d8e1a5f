# relational (RFC 5231) :count over Received headers.
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "ge" :comparator "i;ascii-numeric" "Received" "8" {
  fileinto "ManyHops";
} elsif address :count "gt" :comparator "i;ascii-numeric" ["to", "cc"] "2" {
  fileinto "ManyRecipients";
}
