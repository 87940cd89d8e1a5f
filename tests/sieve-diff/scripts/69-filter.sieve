# vnd.dovecot.filter replaces the message for later actions.
require ["vnd.dovecot.filter", "fileinto"];
if header :contains "List-Id" "ilug" {
  filter "tag-filter" ["ilug"];
  fileinto "Lists.ilug";
}
