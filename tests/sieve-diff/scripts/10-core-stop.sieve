# stop ends the script; later rules must not run.
require ["fileinto"];
if header :contains "Precedence" "bulk" {
  fileinto "Bulk";
  stop;
}
fileinto "Personal";
