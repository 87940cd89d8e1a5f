# size :over / :under with quantifiers (RFC 5228 5.9).
require ["fileinto"];
if size :over 20K {
  fileinto "Large";
} elsif size :under 2000 {
  fileinto "Small";
}
