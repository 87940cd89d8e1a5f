# Explicit keep plus fileinto: the message is stored twice.
require ["fileinto"];
if header :contains "Subject" "Re:" {
  keep;
  fileinto "Replies";
}
