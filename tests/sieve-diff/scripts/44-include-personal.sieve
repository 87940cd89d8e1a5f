# include :personal (RFC 6609) with return.
require ["include", "fileinto"];
include :personal "lists";
if header :contains "Subject" "Re:" {
  fileinto "Replies";
}
