# The Roundcube "plus-addressing to folder" idiom: :detail into a variable.
require ["envelope", "subaddress", "variables", "fileinto", "mailbox"];
if envelope :detail :matches "to" "*" {
  set :lower "box" "${1}";
  if string :is "${box}" "" { stop; }
  fileinto :create "Plus.${box}";
}
