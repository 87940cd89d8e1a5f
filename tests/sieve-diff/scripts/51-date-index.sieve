# index (RFC 5260 6): the first and the last Received header.
require ["index", "fileinto"];
if header :index 1 :contains "Received" "localhost" {
  fileinto "Fetched";
} elsif header :index 1 :last :contains "Received" "hotmail" {
  fileinto "FromHotmail";
}
