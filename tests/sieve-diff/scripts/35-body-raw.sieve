# body :raw sees the undecoded body, MIME boundaries included.
require ["body", "fileinto"];
if body :raw :contains "Content-Transfer-Encoding: base64" {
  fileinto "Attachments";
} elsif body :raw :matches "*<html*" {
  fileinto "HTML";
}
