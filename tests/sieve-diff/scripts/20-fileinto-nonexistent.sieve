# fileinto a folder that does not exist with lda_mailbox_autocreate = no:
# the store fails and the implicit keep takes over (INBOX).
require ["fileinto"];
if header :contains "List-Id" "fork" {
  fileinto "NoSuchFolder";
}
