# address :localpart and :all on To/Cc, several keys.
require ["fileinto"];
if address :localpart :is ["to", "cc"] ["zzzz", "yyyy", "jm"] {
  fileinto "Personal";
} elsif address :all :matches "to" "*@*.sourceforge.net" {
  fileinto "Lists";
}
