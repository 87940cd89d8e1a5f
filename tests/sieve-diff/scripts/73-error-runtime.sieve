# A runtime failure (fileinto a missing folder after keep): the whole
# transaction fails, implicit keep into INBOX.
require ["fileinto"];
if header :contains "Subject" "Re:" {
  fileinto "Lists.exmh";
  fileinto "Missing.Folder";
}
