# date :zone and :originalzone; the hour of writing.
require ["date", "relational", "fileinto"];
if date :zone "+0000" :value "ge" "date" "hour" "18" {
  fileinto "Evening";
} elsif date :originalzone :matches "date" "zone" "-*" {
  fileinto "Americas";
}
