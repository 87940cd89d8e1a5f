# :flags on fileinto and keep, removeflag, hasflag.
require ["imap4flags", "fileinto"];
addflag ["\\Seen", "\\Flagged"];
if exists "List-Id" {
  removeflag "\\Flagged";
  fileinto :flags ["\\Seen", "$label1"] "Lists";
}
if hasflag :contains "\\Flagged" {
  keep :flags "\\Flagged";
}
