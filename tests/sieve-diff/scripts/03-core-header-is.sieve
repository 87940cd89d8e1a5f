# :is is a whole-value comparison; Precedence values are case-folded.
require ["fileinto"];
if header :is "Precedence" "bulk" {
  fileinto "Bulk";
}
