# 01-lists.sieve - mailing lists into their own folders, as Roundcube's
# managesieve plugin writes them (one "# rule:[name]" block per filter).
# Lists are recognised by List-Id (RFC 2919), which survives Subject
# rewriting; "stop" keeps a list message out of the later rules. Folders
# are created on first use (:create, RFC 5490). Announcement mail is
# marked read: it is for the archive, not for the unread count.
# Try it:  sluice test examples/sieve/01-lists.sieve examples/messages/03-list.eml
require ["fileinto","mailbox","imap4flags"];
# rule:[announce]
if header :contains "list-id" "announce.lists.example.org"
{
	fileinto :create :flags "\\Seen" "Lists.announce";
	stop;
}
# rule:[exmh]
if anyof (header :contains "list-id" "exmh-users", header :contains "subject" "[exmh]")
{
	fileinto :create "Lists.exmh";
	stop;
}
# rule:[debian]
if header :matches "list-id" "*<debian-*.lists.debian.org>*"
{
	fileinto :create "Lists.debian";
	stop;
}
# rule:[other lists]
if anyof (exists "list-id", header :is "precedence" ["list","bulk"])
{
	fileinto :create "Lists";
}
