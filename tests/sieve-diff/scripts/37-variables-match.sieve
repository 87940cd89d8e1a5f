# variables (RFC 5229): match variables from :matches, modifiers.
require ["variables", "fileinto", "mailbox"];
if header :matches "List-Id" "*<*.*>*" {
  set :lower :upperfirst "list" "${2}";
  fileinto :create "Lists.${list}";
}
