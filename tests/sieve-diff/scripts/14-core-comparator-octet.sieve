# i;octet is case-sensitive, the default i;ascii-casemap is not.
require ["fileinto"];
if header :comparator "i;octet" :contains "Subject" "RE:" {
  fileinto "Upper";
} elsif header :contains "Subject" "re:" {
  fileinto "Lower";
}
