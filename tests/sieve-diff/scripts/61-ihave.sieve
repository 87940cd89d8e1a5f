# ihave (RFC 5463): run code only if an extension is there.
require ["ihave", "fileinto"];
if ihave "spamtest" {
  if exists "X-Spam-Score" { fileinto "Scored"; }
} elsif ihave "nonexistent-ext" {
  error "cannot happen";
}
