# envelope "to": the recipient with its +detail.
require ["envelope", "fileinto"];
if envelope :all :is "to" "sluicetest+lists@example.org" {
  fileinto "Lists";
} elsif envelope :localpart :is "to" "sluicetest" {
  fileinto "Personal";
}
