# Included by 44-include-personal.sieve (include :personal "lists").
require ["include", "fileinto"];
if header :contains "List-Id" ["fork", "ilug"] {
  fileinto "Lists";
  return;
}
if exists "X-Mailing-List" {
  fileinto "Lists.other";
}
