# body (RFC 5173) :text over the decoded text parts.
require ["body", "fileinto"];
if body :text :contains ["unsubscribe", "remove you from"] {
  fileinto "Bulk";
} elsif body :contains "cvs" {
  fileinto "Work";
}
