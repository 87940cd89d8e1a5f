# spamtestplus :percent.
require ["spamtestplus", "relational", "comparator-i;ascii-numeric", "fileinto", "imap4flags"];
if spamtest :percent :value "ge" :comparator "i;ascii-numeric" "80" {
  fileinto :flags "\\Seen" "Junk";
} elsif spamtest :percent :value "ge" :comparator "i;ascii-numeric" "40" {
  addflag "$label1";
}
