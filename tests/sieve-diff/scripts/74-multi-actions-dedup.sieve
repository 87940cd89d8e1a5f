# Duplicate actions are merged (RFC 5228 2.10.3): one copy per folder.
require ["fileinto"];
fileinto "Archive";
fileinto "Archive";
keep;
keep;
if exists "List-Id" { redirect "a@example.net"; redirect "a@example.net"; }
