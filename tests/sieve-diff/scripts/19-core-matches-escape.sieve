# :matches with escaped wildcards and an empty-string key.
require ["fileinto"];
if header :matches "Subject" "*\\?*" {
  fileinto "Questions";
} elsif header :matches "X-Nothing" "" {
  fileinto "Never";
}
