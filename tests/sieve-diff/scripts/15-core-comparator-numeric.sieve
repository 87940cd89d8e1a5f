# i;ascii-numeric (RFC 4790): a leading number compares, no number is +inf.
require ["fileinto", "comparator-i;ascii-numeric"];
if header :comparator "i;ascii-numeric" :is "X-Priority" "3" {
  fileinto "Normal-Priority";
} elsif header :comparator "i;ascii-numeric" :is "X-Priority" "1" {
  fileinto "Urgent";
}
