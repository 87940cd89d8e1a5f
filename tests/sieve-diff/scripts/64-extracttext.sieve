# extracttext: the first 200 characters of each text part into a variable.
require ["foreverypart", "mime", "extracttext", "variables", "fileinto"];
foreverypart {
  if header :mime :type :is "Content-Type" "text" {
    extracttext :first 200 "t";
    if string :contains "${t}" ["remove", "opt-out", "opt out", "click", "free"] {
      fileinto "Bulk";
      break;
    }
    if string :contains "${t}" ["wrote:", "writes:"] {
      fileinto "Replies";
      break;
    }
  }
}
