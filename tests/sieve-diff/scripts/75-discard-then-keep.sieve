# keep after discard still stores (discard only cancels the implicit keep).
if header :contains "Precedence" "bulk" {
  discard;
}
if header :contains "Subject" "Re:" {
  keep;
}
