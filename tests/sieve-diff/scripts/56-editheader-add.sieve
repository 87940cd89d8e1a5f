# editheader (RFC 5293): addheader, then store; the stored bytes change.
require ["editheader", "variables"];
if header :matches "List-Id" "*<*>*" {
  addheader "X-List" "${2}";
}
addheader :last "X-Sieve-Filtered" "yes";
