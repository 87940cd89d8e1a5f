# date (RFC 5260) on the Date header: year and weekday.
require ["date", "relational", "fileinto"];
if date :value "lt" "date" "year" "2002" {
  fileinto "Old";
} elsif date :is "date" "weekday" ["0", "6"] {
  fileinto "Weekend";
}
