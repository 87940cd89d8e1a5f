# text: multi-line strings with dot-stuffing (RFC 5228 2.4.2), as the
# reason of a reject; a text: key ends with CRLF, so it never matches a
# one-line Subject.
require ["reject"];
if anyof (header :is "X-Spam-Flag" "YES",
          header :contains "Subject" text:
ADV
.
) {
  reject text:
Your advertisement was not accepted.
..and this line started with a dot.
.
;
}
