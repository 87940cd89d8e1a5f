# encoded-character (RFC 5228 2.4.2.4): ${hex:...} and ${unicode:...}.
require ["fileinto", "encoded-character"];
if header :contains "Subject" "${hex:5B 49 4C 55 47 5D}" {
  fileinto "Lists.ilug";
} elsif header :contains "Subject" "${unicode:0046}REE" {
  fileinto "Junk";
}
