# :quotewildcard and a variable as a :matches key.
require ["variables", "fileinto"];
if address :domain :matches "from" "*" {
  set :quotewildcard "dom" "${1}";
  if header :matches "Message-Id" "*@${dom}>" {
    fileinto "SameDomainId";
  }
}
