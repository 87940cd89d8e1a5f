# A whole Roundcube managesieve script, as the plugin writes it.
require ["fileinto","imap4flags","copy","reject"];
# rule:[exmh]
if header :contains "list-id" "exmh"
{
	fileinto "Lists.exmh";
	stop;
}
# rule:[spamassassin lists]
if anyof (header :contains "list-id" "spamassassin-talk", header :contains "list-id" "spamassassin-devel")
{
	fileinto "Lists.spamassassin";
	stop;
}
# rule:[bulk]
if header :is "precedence" ["bulk","junk","list"]
{
	addflag "\\Seen";
	fileinto "Bulk";
}
# rule:[big]
if size :over 100K
{
	reject "Too big";
}
