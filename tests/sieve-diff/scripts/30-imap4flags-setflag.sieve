# imap4flags (RFC 5232): internal variable flags apply to every store.
require ["imap4flags", "fileinto"];
if header :contains "Precedence" "bulk" {
  setflag "\\Seen";
}
if header :contains "Subject" ["urgent", "URGENT", "important"] {
  addflag "\\Flagged";
}
if header :contains "List-Id" "ilug" {
  fileinto "Lists.ilug";
}
