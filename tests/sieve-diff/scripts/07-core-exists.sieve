# exists (RFC 5228 5.5): all named headers must be present.
require ["fileinto"];
if exists ["List-Id", "List-Post"] {
  fileinto "Lists";
} elsif exists "X-Mailing-List" {
  fileinto "Lists.other";
}
