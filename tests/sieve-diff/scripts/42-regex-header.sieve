# regex (draft-ietf-sieve-regex) on headers, with match groups.
require ["regex", "variables", "fileinto"];
if header :regex "Subject" "^\\[([A-Za-z]+)\\]" {
  set :lower "tag" "${1}";
  fileinto "Tagged";
} elsif header :regex "From" "[0-9]{3,}@" {
  fileinto "Junk";
}
