# vnd.dovecot.execute :pipe :output into a variable.
require ["vnd.dovecot.execute", "variables", "fileinto", "mailbox"];
execute :pipe :output "class" "classify";
if string :is "${class}" "list" {
  fileinto "Lists";
} elsif string :is "${class}" "bulk" {
  fileinto "Bulk";
}
