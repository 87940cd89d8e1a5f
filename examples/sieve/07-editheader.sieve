# 07-editheader.sieve - tag mail with header fields (RFC 5293) that mail
# clients can show or sort on, and drop a noisy tracking header. The
# edits change the stored message; Received and Auto-Submitted are
# protected and cannot be edited (RFC 5293 section 6). editheader is not
# in Pigeonhole's default set either: the administrator enables it with
# sieve_extensions = +editheader.
require ["editheader","variables"];
# rule:[tag external mail]
if not address :domain :is "from" ["example.net","mail.example.net"]
{
	addheader "X-External" "yes";
}
# rule:[tag the list]
if header :matches "list-id" "*<*>*"
{
	addheader :last "X-List" "${2}";
}
# rule:[drop tracking header]
deleteheader "X-Mailer-Tracking";
