# foreverypart and MIME tests on every part.
require ["foreverypart", "mime", "fileinto", "variables"];
foreverypart {
  if header :mime :param "filename" :matches "Content-Disposition" ["*.exe", "*.scr", "*.pif", "*.zip", "*.doc", "*.pdf"] {
    fileinto "Suspicious";
    break;
  }
  if header :mime :type :is "Content-Type" "image" {
    fileinto "Attachments";
    break;
  }
  if header :mime :subtype :is "Content-Type" "html" {
    fileinto "HTML";
  }
}
