# copy (RFC 3894): fileinto :copy and redirect :copy keep the implicit keep.
require ["copy", "fileinto"];
if exists "List-Id" {
  fileinto :copy "Archive";
}
if header :contains "Subject" "[SAtalk]" {
  redirect :copy "sa-archive@example.net";
}
