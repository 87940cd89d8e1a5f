# relational :value on header text.
require ["relational", "fileinto"];
if header :value "lt" "Subject" "M" {
  fileinto "A-L";
} else {
  fileinto "M-Z";
}
