# duplicate (RFC 7352) on Message-ID; first delivery is never a duplicate.
require ["duplicate", "fileinto"];
if duplicate {
  fileinto "Duplicates";
} elsif duplicate :header "Subject" :seconds 60 {
  fileinto "SameSubject";
}
