# discard cancels the implicit keep (RFC 5228 4.5).
if anyof (header :contains "Subject" ["viagra", "mortgage", "$$$", "FREE"],
          header :contains "From" "newsletter") {
  discard;
}
