# mime (RFC 5703): header :mime :type/:subtype/:param, :anychild.
require ["mime", "fileinto"];
if header :mime :type "Content-Type" "multipart" {
  if header :mime :anychild :subtype "Content-Type" "html" {
    fileinto "HTML";
  } else {
    fileinto "Multipart";
  }
} elsif header :mime :param "charset" :contains "Content-Type" "iso-8859" {
  fileinto "Latin1";
}
