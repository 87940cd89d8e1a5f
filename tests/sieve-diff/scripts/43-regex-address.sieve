# regex on address parts, case-insensitive through the comparator.
require ["regex", "fileinto"];
if address :regex :domain "from" "(^|\\.)(hotmail|yahoo|msn)\\.(com|co\\.uk)$" {
  fileinto "Freemail";
}
