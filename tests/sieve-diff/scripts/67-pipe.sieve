# vnd.dovecot.pipe to a program from sieve_pipe_bin_dir.
require ["vnd.dovecot.pipe", "copy", "fileinto"];
if header :contains "List-Id" "fork" {
  pipe :copy "archive" ["fork"];
} elsif header :contains "Subject" "[ILUG]" {
  pipe "archive" ["ilug", "--no-keep"];
}
