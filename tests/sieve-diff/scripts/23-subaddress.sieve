# subaddress (RFC 5233): :detail and :user of the envelope recipient.
require ["envelope", "subaddress", "fileinto"];
if envelope :detail "to" "spam" {
  fileinto "Junk";
} elsif envelope :detail :matches "to" "*" {
  fileinto "Work";
} elsif envelope :user "to" "sluicetest" {
  keep;
}
