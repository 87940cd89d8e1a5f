# deleteheader :index / :matches, then fileinto.
require ["editheader", "fileinto", "index"];
deleteheader "X-Spam-Flag";
deleteheader :index 1 "Received";
deleteheader :matches "List-*" "*mailto:*";
if exists "List-Id" { fileinto "Lists"; }
