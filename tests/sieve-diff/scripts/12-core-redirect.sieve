# redirect cancels the implicit keep; the copy goes through sendmail with
# X-Sieve-Redirected-From.
if header :contains "List-Id" "razor" {
  redirect "razor-archive@example.net";
}
