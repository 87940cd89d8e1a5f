# :matches with * and ? wildcards (RFC 5228 2.7.1).
require ["fileinto"];
if header :matches "Subject" ["*[ILUG]*", "*[SAtalk]*", "Re: ??? *"] {
  fileinto "Lists";
}
