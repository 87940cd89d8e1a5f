# mime (RFC 5703): header :mime :type/:subtype/:param, :anychild.
# :anychild (RFC 5703 4.1) looks at the current part and every part below
# it: at the top level (HTML below a multipart message) and, inside
# foreverypart, below a nested part (the $label1 flag). Pigeonhole 0.5.19
# does the same (checked with sieve-test on nested multipart/mixed >
# multipart/alternative > text/html and message/rfc822 parts).
require ["mime", "fileinto", "foreverypart", "imap4flags"];
if header :mime :type "Content-Type" "multipart" {
  foreverypart {
    if allof (header :mime :subtype "Content-Type" "alternative",
              header :mime :anychild :subtype "Content-Type" "html") {
      addflag "$label1";
    }
  }
  if header :mime :anychild :subtype "Content-Type" "html" {
    fileinto "HTML";
  } else {
    fileinto "Multipart";
  }
} elsif header :mime :param "charset" :contains "Content-Type" "iso-8859" {
  fileinto "Latin1";
}
