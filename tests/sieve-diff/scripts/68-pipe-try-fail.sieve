# pipe :try to a failing program: the failure is ignored; without :try
# the failure makes the whole transaction fail (implicit keep).
require ["vnd.dovecot.pipe", "copy", "fileinto"];
if size :under 3000 {
  pipe :try :copy "fail";
  fileinto "Small";
} elsif header :contains "List-Id" "fork" {
  pipe "fail";
}
