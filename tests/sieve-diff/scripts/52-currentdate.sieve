# currentdate: conditions true whenever the test runs.
require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2020" {
  if header :contains "List-Id" "ilug" { fileinto "Lists.ilug"; }
}
