# 06-subaddress.sieve - plus addressing (RFC 5233): mail to
# bob+shop@example.net goes to folder "Plus.shop", created on demand
# (RFC 5490 :create). Postfix passes the detail with -a "$EXTENSION";
# the separator is recipient_delimiter ("+"). The detail becomes part of
# the folder name through a match variable (RFC 5229), lower-cased so
# that +Shop and +shop end up together. Only a plain word is used: a
# detail with dots or slashes (bob+a.b.c) stays in INBOX rather than
# creating a folder hierarchy a sender chose.
require ["envelope","subaddress","variables","regex","fileinto","mailbox"];
# rule:[plus address to folder]
if envelope :detail :regex "to" "^([A-Za-z0-9][A-Za-z0-9_-]{0,30})$"
{
	set :lower "folder" "${1}";
	fileinto :create "Plus.${folder}";
}
