# reject (RFC 5429): an MDN to the envelope sender, no delivery.
require ["reject"];
if allof (header :is "X-Spam-Flag" "YES", not exists "List-Id") {
  reject "I do not accept unsolicited offers.";
}
