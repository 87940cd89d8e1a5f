# spamtest (RFC 5235) normalised 0..10 from X-Spam-Score / required.
require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "6" {
  fileinto "Junk";
} elsif spamtest :value "eq" :comparator "i;ascii-numeric" "0" {
  fileinto "Unscanned";
}
