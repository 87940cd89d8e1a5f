# allof / anyof / not nesting (RFC 5228 5.2, 5.3, 5.8).
require ["fileinto"];
if allof (exists "List-Id",
          not header :contains "Subject" "Re:",
          anyof (header :contains "List-Id" "ilug", header :contains "List-Id" "fork")) {
  fileinto "Lists.new-threads";
}
